"""The validation protocol: a PDF rendered once at the decision and stored unchanged with its hash.

It is printed in two layers (the certificate's technique, :mod:`examportal.pdf`). The table of
results by criterion is most of the document and, but for the results, the same for every
candidate of a qualification: it is laid out once per process from the qualification's text
alone, with a hidden placeholder in each result's cell, and kept. A protocol then lays out only
its own pages (the facts, the decision, the votes, the criteria's notes, the signatures, with an
empty page where the table goes), puts the kept table's pages in that page's place, and draws its
results into the table's placeholders and every page's number in the table's fonts. Its outline
lists the headings of both parts at the pages that print them (:func:`examportal.pdf.write_pages`).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from flask import render_template
from flask_babel import force_locale

from ..models import CommitteeMember, Criterion, CriterionResult, DecisionProposal, Enrolment, TheoryAttempt, ValidationDecision
from ..pdf import Backdrop, Layer, backdrop, kept, write_pages
from ..pdf_text import Fragment, draw, parse, styled
from . import rules

TEMPLATE = "committee/protocol.html"
STYLESHEET = "committee/protocol.css"
PLACE = "criteria-pages"  # the id of the main part's empty page the table's pages replace
FOOTER = "bottom-right"  # the table's hidden page-margin box: where every page's number is drawn


def render_protocol(
    enrolment: Enrolment,
    decision: ValidationDecision,
    summary: rules.Summary,
    *,
    results: Mapping[str, CriterionResult],
    theory: TheoryAttempt | None,
    criteria: Sequence[Criterion],
    members: Sequence[CommitteeMember],
    proposals: Sequence[DecisionProposal],
    practical_state: str,
) -> bytes:
    """The protocol PDF (always in Polish: it is the official record of the validation).

    The committee's records come in from :mod:`.services`, which owns them.
    """
    qualification = enrolment.session.qualification
    notes = [(criterion, results[criterion.code]) for criterion in criteria
             if criterion.code in results and results[criterion.code].note]
    with force_locale("pl"):
        table = render_template(TEMPLATE, part="criteria", qualification=qualification)
        fonts = render_template(TEMPLATE, part="fonts")
        under = kept("protocol-table:" + hashlib.sha256(f"{table}\0{fonts}".encode()).hexdigest(), lambda: backdrop(table, fonts))
        own = backdrop(render_template(
            TEMPLATE, part="main", enrolment=enrolment, session=enrolment.session, qualification=qualification,
            candidate=enrolment.candidate, decision=decision, summary=summary, notes=notes,
            theory=theory, members=members, proposals=proposals, practical_state=practical_state,
        ), css=render_template(STYLESHEET))
        blocks = parse(render_template(TEMPLATE, part="overlay", summary=summary, criteria=criteria, results=results))
    place = next((number for number, anchors in enumerate(own.anchors) if PLACE in anchors), None)
    if place is None:
        raise ValueError(f"the protocol's main part has no page #{PLACE} for its table of results")
    layers: list[Layer] = [*((own, number) for number in range(place)), *((under, number) for number in range(len(under.forms))),
                           *((own, number) for number in range(place + 1, len(own.forms)))]
    footer = under.slots[0][FOOTER]
    drawn: set[str] = set()
    pages: list[tuple[Layer, Backdrop, bytes]] = []
    for position, (layer, number) in enumerate(layers, start=1):
        page_number: Fragment = [(f"Strona {position} z {len(layers)}", ())]
        operators = [draw(styled(page_number, footer), footer, under.faces, layer.heights[number])]
        if layer is under:
            here = [name for name in blocks if name in under.slots[number] and name not in drawn]
            operators += [draw(styled(blocks[name], under.slots[number][name]), under.slots[number][name], under.faces, layer.heights[number])
                          for name in here]
            drawn.update(here)
        pages.append(((layer, number), under, b"\n".join(operators)))
    if missing := set(blocks) - drawn:
        raise ValueError(f"the protocol's table has no place for {sorted(missing)}")
    return write_pages(pages, "Protokół walidacji")
