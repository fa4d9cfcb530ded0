"""Evidence checks of 2.2.a–d: offer template, merge tags, an offer generated from database
records for a chosen recipient, sent and recorded in the customer's history.

A template is the candidate's work where they wrote it: the new-template form starts from the
sandbox's starter text (``DEFAULT_TEMPLATE_BODY``), a scenario may seed templates, so the lines
of a body the candidate started from are not theirs; their lines are the ones not in the text
they started from. What a template *shows* is read from its merge tags (``klient.nip``,
``p.nazwa`` inside a loop over ``pozycje``, ``tabela_pozycji`` …) as items a sheet names
(:data:`ITEMS`: client name, NIP, contact person, lines, totals, validity …).

Key targets read here (task 7 of the exam sheets): ``offer_tags`` (the items the template must
show), ``offer_company`` and ``offer_contact`` (who the offer is for and goes to),
``offer_lines`` (what it offers, as word stems).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, cast

from flask_babel import lazy_gettext as _l
from jinja2 import TemplateSyntaxError, nodes
from sqlalchemy import select

from ..host import session
from ..models import ActionStatement, Company, Contact, CustomerEvent, Offer, OfferTemplate, OutboxMessage, Workspace
from ..services import templating
from ..services.offers import DEFAULT_TEMPLATE_BODY
from .base import CheckResult, EvidenceRow, Verdict, check
from .common import (
    candidate_statements,
    changes_of,
    details_of,
    existing,
    ids_of,
    object_id_of,
    pair,
    record_row,
    result,
    statement_rows,
)
from .key import ScenarioKey, target_kind
from .wording import joined, loose, matches, real_words, stems_problem, text_problem

# What an offer template may show, as a sheet names it: item -> (label, alternatives), an
# alternative being the tag paths that together show the item.
ITEMS: dict[str, tuple[Any, tuple[frozenset[str], ...]]] = {
    "client_name": (_l("client name"), (frozenset({"klient.nazwa"}),)),
    "nip": (_l("NIP"), (frozenset({"klient.nip"}),)),
    "regon": (_l("REGON"), (frozenset({"klient.regon"}),)),
    "address": (_l("client address"), (frozenset({"klient.adres"}),)),
    "contact_person": (_l("contact person"), (frozenset({"kontakt.imie_nazwisko"}),
                                             frozenset({"kontakt.imie", "kontakt.nazwisko"}))),
    "lines": (_l("offer lines"), (frozenset({"pozycje.nazwa"}), frozenset({"tabela_pozycji"}))),
    "line_prices": (_l("prices of the lines"), (frozenset({"pozycje.cena_netto"}), frozenset({"pozycje.wartosc_netto"}),
                                                frozenset({"pozycje.wartosc_brutto"}), frozenset({"tabela_pozycji"}))),
    "line_discounts": (_l("discounts of the lines"), (frozenset({"pozycje.rabat"}), frozenset({"tabela_pozycji"}))),
    "line_vat_rates": (_l("VAT rates of the lines"), (frozenset({"pozycje.stawka_vat"}),
                                                      frozenset({"tabela_pozycji"}))),
    "line_gross_values": (_l("gross values of the lines"), (frozenset({"pozycje.wartosc_brutto"}),
                                                            frozenset({"tabela_pozycji"}))),
    "net_total": (_l("net total"), (frozenset({"suma_netto"}), frozenset({"tabela_pozycji"}))),
    "vat_total": (_l("VAT total"), (frozenset({"suma_vat"}),)),
    "gross_total": (_l("gross total"), (frozenset({"suma_brutto"}), frozenset({"tabela_pozycji"}))),
    "validity": (_l("validity date"), (frozenset({"waznosc_do"}),)),
    "offer_date": (_l("offer date"), (frozenset({"data_oferty"}),)),
    "offer_number": (_l("offer number"), (frozenset({"oferta.numer"}),)),
    "seller": (_l("seller (account manager)"), (frozenset({"sprzedawca.imie_nazwisko"}),)),
    "currency": (_l("currency"), (frozenset({"waluta"}),)),
}
# An offer shows what is offered: its lines or their total.
OFFER_CONTENT = ("lines", "line_prices", "net_total", "gross_total")
# A prepared template has text of the candidate's own: at least this many real words, or tags
# for this many different things, on the lines they wrote.
MIN_OWN_WORDS = 5
MIN_OWN_TAGS = 2


def _items_problem(value: object) -> str | None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v in ITEMS for v in value):
        return f"expected a list of items from: {', '.join(ITEMS)}"
    return None


OFFER_TAGS = target_kind("offer_tags", "what the offer template must show through merge tags, from: "
                                       + ", ".join(ITEMS), _items_problem)
OFFER_COMPANY = target_kind("offer_company", "the company the sheet says to make the offer for and send it to "
                                             "(its name)", text_problem)
OFFER_CONTACT = target_kind("offer_contact", "the contact person the sheet says to send the offer to (first and "
                                             "last name)", text_problem)
OFFER_LINES = target_kind("offer_lines", "what the offer's lines must offer, each as word stems with alternatives "
                                         "('łożysk', 'regenerac')", stems_problem)


# --- what a template shows, and what of it the candidate wrote ---------------------------------

def _tag_paths(body: str) -> list[tuple[str, int]]:
    """The tag paths a body uses (``klient.nip``, ``pozycje.nazwa``, ``suma_netto``) with their line."""
    try:
        ast = templating.OfferTemplateEnvironment().parse(body)
    except TemplateSyntaxError:
        return []
    loop_items: dict[str, str] = {}
    for loop in ast.find_all(nodes.For):
        if isinstance(loop.iter, nodes.Name) and isinstance(loop.target, nodes.Name):
            group = templating.TAG_ROOTS.get(loop.iter.name)
            if group is not None and group.is_list:
                loop_items[loop.target.name] = group.root
    paths: list[tuple[str, int]] = []
    accesses = cast("list[nodes.Getattr | nodes.Getitem]", list(ast.find_all((nodes.Getattr, nodes.Getitem))))
    for node in accesses:
        if not isinstance(node.node, nodes.Name):
            continue
        if isinstance(node, nodes.Getattr):
            attr = node.attr
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            attr = node.arg.value
        else:
            continue
        root = loop_items.get(node.node.name, node.node.name)
        if root in templating.TAG_ROOTS:
            paths.append((f"{root}.{attr}", node.lineno))
    for name in ast.find_all(nodes.Name):
        group = templating.TAG_ROOTS.get(name.name)
        if name.ctx == "load" and group is not None and not group.fields:
            paths.append((name.name, name.lineno))
    return paths


_MARKUP = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|<[^>]*>", re.DOTALL)


@dataclass
class _TemplateWork:
    """A template the candidate created or edited, read as the candidate's work."""

    template: OfferTemplate
    statements: list[ActionStatement]
    renders: bool
    paths: frozenset[str]  # every tag path the body uses
    own_paths: frozenset[str]  # those on lines the candidate wrote
    own_words: int  # real words the candidate wrote outside tags and markup
    changed: bool  # the candidate wrote something in the body at all

    def shows(self, item: str) -> bool:
        return any(alternative <= self.paths for alternative in ITEMS[item][1])

    def own(self, item: str) -> bool:
        """The item is shown, and the candidate wrote (part of) its tags."""
        return any(alternative <= self.paths and alternative & self.own_paths for alternative in ITEMS[item][1])

    @property
    def substantial(self) -> bool:
        return self.own_words >= MIN_OWN_WORDS or len(self.own_paths) >= MIN_OWN_TAGS

    @property
    def is_offer(self) -> bool:
        return any(self.shows(item) for item in OFFER_CONTENT)


def _starting_body(template: OfferTemplate, statements: list[ActionStatement]) -> str:
    """What the candidate started from: the starter text for a template they created, else the
    body before their first change of it (no change: the body as it is)."""
    if any(s.verb == "create" for s in statements):
        return DEFAULT_TEMPLATE_BODY
    for statement in statements:
        change = pair(changes_of(statement), "body")
        if change is not None and isinstance(change[0], str):
            return change[0]
    return template.body


def _template_work(template: OfferTemplate, statements: list[ActionStatement]) -> _TemplateWork:
    start = {line.strip() for line in _starting_body(template, statements).splitlines() if line.strip()}
    lines = template.body.splitlines()
    own_lines = {number for number, line in enumerate(lines, start=1) if line.strip() and line.strip() not in start}
    paths = _tag_paths(template.body)
    own_text = _MARKUP.sub(" ", "\n".join(lines[n - 1] for n in sorted(own_lines)))
    return _TemplateWork(
        template=template, statements=statements,
        renders=templating.render_template(template.body, templating.sample_context()).ok,
        paths=frozenset(path for path, _line in paths),
        own_paths=frozenset(path for path, line in paths if line in own_lines),
        own_words=len(real_words(own_text)), changed=bool(own_lines))


def _candidate_templates(workspace: Workspace) -> tuple[list[_TemplateWork], list[ActionStatement]]:
    statements = candidate_statements(workspace, ["create", "update"], ["offer_template"])
    templates = existing(workspace, OfferTemplate, ids_of(statements))
    return [_template_work(t, [s for s in statements if object_id_of(s) == t.id]) for t in templates], statements


def _template_row(workspace: Workspace, work: _TemplateWork, note: Any) -> EvidenceRow:
    return record_row(workspace, _l("Offer template: %(name)s (%(note)s)", name=work.template.name, note=note),
                      "offer_template", work.template.id)


def _required(key: ScenarioKey) -> list[str]:
    return list(dict.fromkeys(item for value in key.values(OFFER_TAGS) for item in value))


def _labels(items: list[str]) -> Any:
    return joined(ITEMS[item][0] for item in items)


# --- 2.2.a -------------------------------------------------------------------------------------

@check("2.2.a")
def offer_template_prepared(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when an offer template the candidate created or edited exists, renders with the
    sandbox's sample data, is an offer (shows its lines or their total) and has text of the
    candidate's own (at least five real words, or tags for two things, on lines they wrote).

    Not met: no template; only templates whose body the candidate did not write (the starter
    text saved as it is, a scenario's template renamed); or templates that are not offers (they
    show neither offer lines nor a total: a letter, not an offer). Can't tell: offer templates
    deleted since, that do not render, or that differ from the text started from only a little.
    """
    works, statements = _candidate_templates(workspace)
    logged = statement_rows(workspace, statements)
    changed = [w for w in works if w.changed]
    sound = [w for w in changed if w.renders and w.substantial and w.is_offer]
    if sound:
        return result("2.2.a", Verdict.MET,
                      _l("The candidate prepared %(count)d offer template(s) of their own.", count=len(sound)),
                      [_template_row(workspace, w, _l("%(words)d words and %(tags)d tag(s) of the candidate's own",
                                                      words=w.own_words, tags=len(w.own_paths))) for w in sound],
                      logged)
    offers = [w for w in changed if w.is_offer]
    if offers:
        def note(w: _TemplateWork) -> Any:
            if not w.renders:
                return _l("does not render with sample data")
            return _l("only %(words)d word(s) and %(tags)d tag(s) of the candidate's own",
                      words=w.own_words, tags=len(w.own_paths))
        return result("2.2.a", Verdict.CANT_TELL,
                      _l("The candidate worked on offer templates, but none is a complete offer template of their own "
                         "(see each template)."), [_template_row(workspace, w, note(w)) for w in offers], logged)
    if changed:
        return result("2.2.a", Verdict.NOT_MET,
                      _l("The candidate's templates are not offers: they show neither offer lines nor a total."),
                      [_template_row(workspace, w, _l("shows neither offer lines nor a total")) for w in changed],
                      logged)
    if works:
        return result("2.2.a", Verdict.NOT_MET,
                      _l("The candidate wrote nothing in a template's text: the starter text or the scenario's "
                         "template, saved as it was, is not a prepared template."),
                      [_template_row(workspace, w, _l("text not changed")) for w in works], logged)
    if statements:
        return result("2.2.a", Verdict.CANT_TELL,
                      _l("The candidate worked on offer templates, but none of them exists any more."), logged)
    return result("2.2.a", Verdict.NOT_MET, _l("The candidate prepared no offer template."))


# --- 2.2.b -------------------------------------------------------------------------------------

@check("2.2.b")
def merge_tags_used(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when a template the candidate created or edited renders with the sandbox's sample data
    and uses merge tags the candidate wrote; with the key's ``offer_tags``, when it shows every
    item the sheet lists and the candidate wrote the tags of at least half of them (the rest may
    come from the text they started from).

    Not met: no tag written by the candidate, or a template showing fewer than half the listed
    items. Can't tell: at least half shown but not all (the missing are listed), all shown but
    mostly from the starter text, or tags that do not render.
    """
    works, statements = _candidate_templates(workspace)
    logged = statement_rows(workspace, statements)
    required = _required(key)
    mine = [w for w in works if w.own_paths]

    def own_tags(w: _TemplateWork) -> Any:
        return _l("tags of the candidate's own: %(tags)s", tags=", ".join(sorted(w.own_paths)))

    if not required:
        rendering = [w for w in mine if w.renders]
        if rendering:
            return result("2.2.b", Verdict.MET,
                          _l("The candidate's template(s) use merge tags that render: %(tags)s.",
                             tags=", ".join(sorted({p for w in rendering for p in w.own_paths}))),
                          [_template_row(workspace, w, own_tags(w)) for w in rendering], logged)
        if mine:
            return result("2.2.b", Verdict.CANT_TELL,
                          _l("The candidate's templates use merge tags but do not render with sample data."),
                          [_template_row(workspace, w, own_tags(w)) for w in mine], logged)
        return result("2.2.b", Verdict.NOT_MET, _l("No template of the candidate uses merge tags they wrote."), logged)

    def judged(w: _TemplateWork) -> tuple[int, int]:
        return len([i for i in required if w.shows(i)]), len([i for i in required if w.own(i)])

    mine.sort(key=lambda w: (w.renders, *judged(w)), reverse=True)
    for w in mine:
        shown, own = judged(w)
        if w.renders and shown == len(required) and own * 2 >= len(required):
            return result("2.2.b", Verdict.MET,
                          _l("The candidate's template %(name)s shows every item the sheet lists through merge tags: "
                             "%(items)s.", name=w.template.name, items=_labels(required)),
                          [_template_row(workspace, w, own_tags(w))], logged)
    best = mine[0] if mine else None
    if best is not None:
        shown, own = judged(best)
        missing = [i for i in required if not best.shows(i)]
        row = [_template_row(workspace, best, own_tags(best))]
        if not best.renders:
            return result("2.2.b", Verdict.CANT_TELL,
                          _l("The candidate's templates use merge tags but do not render with sample data."), row, logged)
        if shown == len(required):
            return result("2.2.b", Verdict.CANT_TELL,
                          _l("The template %(name)s shows every item the sheet lists, but the candidate wrote the tags "
                             "of only %(own)d of the %(count)d; the rest come from the text they started from.",
                             name=best.template.name, own=own, count=len(required)), row, logged)
        if shown * 2 >= len(required):
            return result("2.2.b", Verdict.CANT_TELL,
                          _l("The template %(name)s lacks tags for items the sheet lists: %(missing)s.",
                             name=best.template.name, missing=_labels(missing)), row, logged)
        return result("2.2.b", Verdict.NOT_MET,
                      _l("The candidate's templates show few of the items the sheet lists; missing: %(missing)s.",
                         missing=_labels(missing)), row, logged)
    return result("2.2.b", Verdict.NOT_MET, _l("No template of the candidate uses merge tags they wrote."), logged)


# --- 2.2.c -------------------------------------------------------------------------------------

def _offer_row(workspace: Workspace, offer: Offer, note: Any = None) -> EvidenceRow:
    recipient = offer.recipient_name or ""
    if recipient and note:
        label = _l("Offer %(number)s: %(title)s for %(recipient)s (%(note)s)", number=offer.number, title=offer.title,
                   recipient=recipient, note=note)
    elif recipient:
        label = _l("Offer %(number)s: %(title)s for %(recipient)s", number=offer.number, title=offer.title,
                   recipient=recipient)
    elif note:
        label = _l("Offer %(number)s: %(title)s (%(note)s)", number=offer.number, title=offer.title, note=note)
    else:
        label = _l("Offer %(number)s: %(title)s", number=offer.number, title=offer.title)
    return record_row(workspace, label, "offer", offer.id)


@dataclass(frozen=True)
class _Recipient:
    """Who the key says the offer is for (``None``: anyone): the company, its contact, what it offers."""

    company: str | None
    contact: str | None
    lines: tuple[str, ...]

    @classmethod
    def of(cls, key: ScenarioKey) -> _Recipient:
        companies, contacts = key.values(OFFER_COMPANY), key.values(OFFER_CONTACT)
        return cls(company=companies[0] if companies else None, contact=contacts[0] if contacts else None,
                   lines=tuple(stems for value in key.values(OFFER_LINES) for stems in value))

    def right_company(self, offer: Offer) -> bool:
        if self.company is None:
            return True
        company = session().get(Company, offer.company_id) if offer.company_id else None
        return company is not None and loose(company.name) == loose(self.company)

    def problems(self, offer: Offer) -> list[Any]:
        """What keeps an offer for the right company from being the one the sheet asks for."""
        problems: list[Any] = []
        contact = session().get(Contact, offer.contact_id) if offer.contact_id else None
        if self.contact is not None and (contact is None or loose(contact.full_name) != loose(self.contact)):
            problems.append(_l("not addressed to %(contact)s", contact=self.contact))
        names = " ".join(line.name for line in offer.lines)
        missing = [stems for stems in self.lines if not matches(names, stems)]
        if missing:
            problems.append(_l("its lines do not offer: %(missing)s", missing=", ".join(missing)))
        return problems


@check("2.2.c")
def offer_generated(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when the candidate generated an offer (``generate offer``) that is now a PDF built
    from database records for a chosen recipient: a company, at least one line, a stored PDF,
    made from a template with merge tags. With the key: for the company the sheet names
    (``offer_company``), addressed to its contact person (``offer_contact``), offering what the
    sheet says (``offer_lines``).

    Not met: never generated, or generated only for other companies. Can't tell: generated but
    since changed back to a draft or deleted; for the right company but to another person, with
    other lines, or from a template without merge tags (the document is not built from records).
    """
    recipient = _Recipient.of(key)
    statements = candidate_statements(workspace, ["generate"], ["offer"])
    offers = existing(workspace, Offer, ids_of(statements))
    generated = [o for o in offers if o.pdf_sha256 and o.company_id is not None and o.lines]
    from_tags = {object_id_of(s) for s in statements if details_of(s).get("tags")}
    logged = statement_rows(workspace, statements)

    def pdf_rows(items: list[Offer]) -> list[EvidenceRow]:
        return [record_row(workspace, _l("Offer PDF %(number)s", number=o.number), "offer", o.id, "sandbox.offer_pdf",
                           offer_id=o.id) for o in items]

    right = [o for o in generated if recipient.right_company(o)]
    notes = {o.id: recipient.problems(o) + ([] if o.id in from_tags else [_l("made from a template without tags")])
             for o in right}
    sound = [o for o in right if not notes[o.id]]
    if sound:
        return result("2.2.c", Verdict.MET,
                      _l("The candidate generated %(count)d offer PDF(s) from the records for the recipient the "
                         "sheet names.", count=len(sound)) if recipient.company else
                      _l("The candidate generated %(count)d offer PDF(s) for chosen recipients.", count=len(sound)),
                      [_offer_row(workspace, o, _l("PDF")) for o in sound], pdf_rows(sound), logged)
    if right:
        return result("2.2.c", Verdict.CANT_TELL,
                      _l("The candidate generated an offer for the right company, but not quite the one the sheet "
                         "asks for: %(problems)s.", problems=joined(p for o in right for p in notes[o.id])),
                      [_offer_row(workspace, o, joined(notes[o.id])) for o in right], pdf_rows(right), logged)
    if generated:
        return result("2.2.c", Verdict.NOT_MET,
                      _l("The candidate generated offers only for companies other than %(company)s.",
                         company=recipient.company), [_offer_row(workspace, o, _l("PDF")) for o in generated], logged)
    if statements:
        return result("2.2.c", Verdict.CANT_TELL,
                      _l("The candidate generated offers, but none has its PDF now (changed or deleted since)."),
                      [_offer_row(workspace, o, o.status) for o in offers], logged)
    return result("2.2.c", Verdict.NOT_MET, _l("The candidate generated no offer."))


# --- 2.2.d -------------------------------------------------------------------------------------

@check("2.2.d")
def offer_sent_and_recorded(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when the candidate sent an offer (``send offer``) to its addressee — the e-mail address
    of the offer's contact person (with the key: the person ``offer_contact`` names, of the
    company ``offer_company`` names) — the outbox holds the message with the offer attached and
    the customer's history holds the ``offer_sent`` entry.

    Not met: nothing sent, or sent only for other companies, or to someone else (another person of
    the company included, when the key names the person). Can't tell: sent to the company's
    general address instead of the person, or the outbox message or history entry is missing now.
    """
    statements = candidate_statements(workspace, ["send"], ["offer"])
    if not statements:
        return result("2.2.d", Verdict.NOT_MET, _l("The candidate sent no offer."))
    recipient = _Recipient.of(key)
    db = session()
    offer_ids = ids_of(statements)
    offers = {o.id: o for o in existing(workspace, Offer, offer_ids)}
    message_ids: list[int] = [i for s in statements if isinstance(i := details_of(s).get("outbox_message_id"), int)]
    messages = {m.id: m for m in existing(workspace, OutboxMessage, message_ids)}
    events = list(db.scalars(select(CustomerEvent).where(
        CustomerEvent.workspace_id == workspace.id, CustomerEvent.kind == "offer_sent",
        CustomerEvent.object_type == "offer", CustomerEvent.object_id.in_([str(i) for i in offer_ids]))))
    event_offers = {int(e.object_id) for e in events if e.object_id is not None}  # (none is: see the query)
    message_rows = [record_row(workspace, _l("Outbox: %(subject)s → %(address)s", subject=m.subject,
                                             address=m.to_address), "outbox_message", m.id)
                    for m in messages.values()]
    event_rows = [record_row(workspace, _l("Customer history: %(summary)s", summary=e.summary), "customer_event", e.id,
                             "sandbox.company" if e.company_id else "sandbox.contact",
                             **({"company_id": e.company_id} if e.company_id else {"contact_id": e.contact_id}))
                  for e in events if e.company_id or e.contact_id]

    def addressee(statement: ActionStatement) -> str:
        """person | company | other: whose address the offer went to."""
        offer = offers.get(object_id_of(statement) or 0)
        address = str(details_of(statement).get("to") or "").casefold()
        contact = db.get(Contact, offer.contact_id) if offer is not None and offer.contact_id else None
        company = db.get(Company, offer.company_id) if offer is not None and offer.company_id else None
        if contact is not None and contact.email and contact.email.casefold() == address and (
                recipient.contact is None or loose(contact.full_name) == loose(recipient.contact)):
            return "person"
        if company is not None and company.email and company.email.casefold() == address:
            return "company"
        return "other"

    for_company = [s for s in statements if (o := offers.get(object_id_of(s) or 0)) is not None
                   and recipient.right_company(o)]
    recorded = [s for s in for_company if object_id_of(s) in event_offers
                and details_of(s).get("outbox_message_id") in messages]
    to_person = [s for s in recorded if addressee(s) == "person"]
    rows = (statement_rows(workspace, to_person or recorded or for_company or statements), message_rows, event_rows)
    if to_person:
        return result("2.2.d", Verdict.MET,
                      _l("The candidate sent %(count)d offer(s) to the contact person; each is in the outbox and in "
                         "the customer's history.", count=len(to_person)), *rows)
    if recorded and any(addressee(s) == "company" for s in recorded):
        return result("2.2.d", Verdict.CANT_TELL,
                      _l("The candidate sent the offer to the company's general address, not to the contact person."),
                      *rows)
    if recorded:
        return result("2.2.d", Verdict.NOT_MET,
                      _l("The candidate sent the offer to an address that is not its contact person's: %(addresses)s.",
                         addresses=", ".join(str(details_of(s).get("to") or "") for s in recorded)), *rows)
    if for_company:
        return result("2.2.d", Verdict.CANT_TELL,
                      _l("The candidate sent offers, but the outbox message or the customer history entry is "
                         "missing."), *rows)
    return result("2.2.d", Verdict.NOT_MET,
                  _l("The candidate sent offers only for companies other than %(company)s.", company=recipient.company),
                  *rows)
