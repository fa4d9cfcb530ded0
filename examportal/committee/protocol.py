"""The validation protocol: a PDF rendered by WeasyPrint and stored unchanged with its hash."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask import render_template
from flask_babel import force_locale

from ..models import CommitteeMember, Criterion, CriterionResult, DecisionProposal, Enrolment, TheoryAttempt, ValidationDecision
from ..pdf import render_pdf
from . import rules


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
    with force_locale("pl"):
        html = render_template(
            "committee/protocol.html", enrolment=enrolment, session=enrolment.session,
            qualification=enrolment.session.qualification, candidate=enrolment.candidate,
            decision=decision, summary=summary, results=results,
            theory=theory, criteria=criteria, members=members, proposals=proposals, practical_state=practical_state,
            outcomes_by_code={o.code: o for s in summary.sets for o in s.outcomes},
        )
    return render_pdf(html)
