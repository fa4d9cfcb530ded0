"""Recorded corrections of a final validation decision and of its criterion results.

A final decision is never changed or deleted. A correction is recorded beside it: which criterion
results changed (before → after), whether the decision stands positive before and after — worked
out by the committee's own rule (every learning outcome confirmed, :func:`rules.summarise`), never
chosen — the reason and who recorded it; the criterion results follow, and the candidate is
mailed (told of their right to appeal a result staff corrected to negative). A certificate issued
on a decision corrected to negative is suspended at once; its institution decides on revoking it
(:func:`examportal.certification.services.suspend_on_negative_correction`). Two routes lead here:
an appeal upheld with a correction (:mod:`examportal.appeals.remedies`) and staff correcting a
decision that a voided theory item changed (:func:`correct_after_voiding`).

What the decision means today is :func:`standing_positive`: the last correction's result, else the
decision's own. Certification follows it (:func:`examportal.certification.services.decision_refusal`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from blinker import Namespace
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from ..audit import services as audit_log
from ..extensions import db
from ..mail.services import queue_template
from ..models import Appeal, CriterionResult, DecisionCorrection, User, ValidationDecision, utcnow
from ..security import staff_institution_ids
from . import rules
from . import services as committee

#: A correction left a positive decision negative: ``sender`` is the enrolment, ``actor`` who
#: recorded it; a receiver returns the certificates it suspended (in the correction's transaction).
corrected_to_negative = Namespace().signal("examportal.decision-corrected-to-negative")


class CorrectionError(ValueError):
    """A correction was refused; the message says why (translated)."""


def corrections(decision: ValidationDecision) -> list[DecisionCorrection]:
    """The decision's recorded corrections, oldest first."""
    return list(db.session.scalars(select(DecisionCorrection).where(DecisionCorrection.decision_id == decision.id)
                                   .order_by(DecisionCorrection.corrected_at, DecisionCorrection.id)))


def standing_positive(decision: ValidationDecision) -> bool:
    """Whether the decision stands positive today: as corrected last, else as decided."""
    found = corrections(decision)
    return found[-1].positive_after if found else decision.positive


@dataclass(frozen=True)
class Preview:
    """What a correction would record: the criteria that change, the decision before and after,
    and the criteria left unmet."""

    criteria: dict[str, dict[str, bool | None]]
    positive_before: bool
    positive_after: bool
    unmet_after: list[str]


def preview(decision: ValidationDecision, after: Mapping[str, bool]) -> Preview:
    """The correction that setting the criterion results ``after`` (code → met) would record.

    Refused for an unknown criterion and when nothing would change. The decision after the
    correction is positive only when every learning outcome is confirmed by the results then.
    """
    enrolment = decision.enrolment
    codes = {c.code for c in committee.all_criteria(enrolment)}
    unknown = sorted(set(after) - codes)
    if unknown:
        raise CorrectionError(_("Unknown criterion in the correction: %(codes)s. Reload the page.",
                                codes=", ".join(code[:10] for code in unknown[:5])))
    rows = committee.results(enrolment)
    current: dict[str, bool] = {code: row.met for code, row in rows.items()}
    changed: dict[str, dict[str, bool | None]] = {
        code: {"before": current.get(code), "after": bool(met)}
        for code, met in sorted(after.items()) if current.get(code) != bool(met)}
    if not changed:
        raise CorrectionError(_("The correction changes no criterion result: choose at least one result to correct."))
    summary = rules.summarise(committee.structure(enrolment),
                              {**current, **{code: bool(change["after"]) for code, change in changed.items()}})
    return Preview(criteria=changed, positive_before=standing_positive(decision),
                   positive_after=summary.granted is True, unmet_after=list(summary.unmet))


def own_decision_refusal(actor: User, decision: ValidationDecision) -> str | None:
    """Why ``actor`` may not correct this decision whatever the route (translated), or None: it is
    a decision about them. Nobody changes their own result, least of all a staff member who was
    also the candidate."""
    if actor.id == decision.enrolment.candidate_id:
        return str(_("This decision is about you: nobody corrects their own validation result. Another staff member "
                     "must record the correction."))
    return None


def record(actor: User, decision: ValidationDecision, after: Mapping[str, bool], reason: str | None, *,
           appeal: Appeal | None = None) -> DecisionCorrection:
    """Record a correction of the decision's criterion results (``after``: code → met) with its
    reason, update those results, and mail the candidate. The decision row stays as decided.
    Refused to the decision's own candidate (:func:`own_decision_refusal`).

    In the caller's transaction (flushed, not committed).
    """
    refusal = own_decision_refusal(actor, decision)
    if refusal:
        raise CorrectionError(refusal)
    text = (reason or "").strip()
    if not text:
        raise CorrectionError(_("Give the reason for the correction: it is recorded and sent to the candidate."))
    enrolment = decision.enrolment
    committee.lock(enrolment)
    change = preview(decision, after)
    rows = committee.results(enrolment)
    criteria = {c.code: c for c in committee.all_criteria(enrolment)}
    now = utcnow()
    for code, values in change.criteria.items():
        row = rows.get(code) or CriterionResult(enrolment_id=enrolment.id, criterion_id=criteria[code].id)
        row.met, row.recorded_by_id, row.recorded_at = bool(values["after"]), actor.id, now
        db.session.add(row)
    correction = DecisionCorrection(
        decision_id=decision.id, appeal_id=appeal.id if appeal is not None else None, criteria=change.criteria,
        positive_before=change.positive_before, positive_after=change.positive_after, reason=text,
        corrected_by_id=actor.id, corrected_at=now)
    db.session.add(correction)
    db.session.flush()
    audit_log.record("committee.decision_corrected", correction, after={
        "decision_id": decision.id, "enrolment_id": enrolment.id, "candidate_id": enrolment.candidate_id,
        "criteria": change.criteria, "positive_before": change.positive_before,
        "positive_after": change.positive_after, "reason": text, "appeal_id": correction.appeal_id},
        actor=actor, institution_id=enrolment.session.institution_id)
    suspended = []
    if change.positive_before and not change.positive_after:
        # Certification (which reads this module) suspends the certificates issued on the decision.
        suspended = [c for _receiver, certificates in corrected_to_negative.send(enrolment, actor=actor)
                     for c in certificates]
    candidate = enrolment.candidate
    with force_locale(candidate.locale or "pl"):
        queue_template(candidate, str(_("A correction of your validation result")), "decision_corrected",
                       correction=correction, enrolment=enrolment, unmet=change.unmet_after,
                       texts=_criterion_texts(enrolment, candidate.locale or "pl"), suspended=suspended,
                       appeal_days=enrolment.session.qualification.rules.appeal_window_days)
    correction.notified_at = utcnow()
    return correction


def _criterion_texts(enrolment: Any, locale: str) -> dict[str, str]:
    return {c.code: c.text(locale) for c in committee.all_criteria(enrolment)}


# --------------------------------------------------------------------------- after a voided theory item


def voiding_changes(decision: ValidationDecision) -> dict[str, bool]:
    """The test-criterion results a rescoring after a voided item changed for this decision's
    candidate (code → met now); empty when the decision is not affected."""
    return {code: bool(now) for code, (_recorded, now) in committee.test_results_changed(decision.enrolment).items()}


def voiding_refusal(actor: User, decision: ValidationDecision) -> str | None:
    """Why ``actor`` may not correct this decision after a voided item (translated), or None."""
    if decision.enrolment.session.institution_id not in staff_institution_ids(actor):
        return str(_("Only staff of the institution that ran the session correct its decisions."))
    refusal = own_decision_refusal(actor, decision)
    if refusal:
        return refusal
    if not voiding_changes(decision):
        return str(_("No voided theory item changes this decision's results: there is nothing to correct."))
    return None


def correct_after_voiding(actor: User, decision: ValidationDecision, reason: str | None) -> DecisionCorrection:
    """Staff record the correction that rescoring after a voided theory item calls for: the test
    criteria take the rescored results and the decision follows the rule (:func:`record`).

    Refused to anyone but staff of the session's institution, to the decision's own candidate and
    for a decision not affected.
    Commits (the candidate's mail goes out from the outbox after it).
    """
    refusal = voiding_refusal(actor, decision)
    if refusal:
        raise CorrectionError(refusal)
    correction = record(actor, decision, voiding_changes(decision), reason)
    db.session.commit()
    return correction
