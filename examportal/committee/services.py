"""The committee's work on a candidate: blind scoring, consolidation, results, the decision."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..audit import services as audit_log
from ..extensions import db
from ..mail.services import queue_template
from ..models import (
    CommitteeMember,
    Criterion,
    CriterionResult,
    CriterionScore,
    Enrolment,
    EnrolmentStatus,
    PracticalAttempt,
    Role,
    Scoresheet,
    TheoryAttempt,
    User,
    ValidationDecision,
    utcnow,
)
from ..sessions.services import min_committee_size, trained_pairs
from ..theory.scoring import criteria_confirmed_together
from ..theory.services import settings as theory_settings
from . import rules
from .protocol import render_protocol

SCORED_METHODS = ("simulation", "interview")


class CommitteeRuleError(ValueError):
    """A rule of the committee's work refused the action; the message says why (translated)."""


def all_criteria(enrolment: Enrolment) -> list[Criterion]:
    """Every criterion of the session's qualification, in the official order."""
    return [c for s in enrolment.session.qualification.outcome_sets for o in s.outcomes for c in o.criteria]


def scored_criteria(enrolment: Enrolment) -> list[Criterion]:
    """Criteria each assessor scores: the practical (simulation) and interview ones, and the
    test criteria the committee may take a second look at in the interview (optional)."""
    return [c for c in all_criteria(enrolment) if c.method in SCORED_METHODS or c.interview_follow_up]


def interview_sets(enrolment: Enrolment) -> dict[str, dict[str, Any]]:
    """The structured interview for the candidate, by criterion code: the rubric and the variant
    of the questions this candidate is asked.

    Variants rotate through the session's candidates (in enrolment order, starting at a place set
    by the session), so candidates of one session do not all get the same questions.
    """
    from question_bank.interview import load_sets

    sets = load_sets(enrolment.session.qualification.code,
                     {c.code: (c.method, c.interview_follow_up) for c in all_criteria(enrolment)})
    order = sorted(e.id for e in enrolment.session.enrolments)
    position = enrolment.session_id + (order.index(enrolment.id) if enrolment.id in order else 0)
    return {code: {"set": qs, "rubric": qs.rubric, "variant": qs.variant_for(position)} for code, qs in sets.items()}


def structure(enrolment: Enrolment):
    """The qualification's shape for :func:`rules.summarise`."""
    return [(s.number, [(o.code, [c.code for c in o.criteria]) for o in s.outcomes])
            for s in enrolment.session.qualification.outcome_sets]


def member_of(enrolment: Enrolment, user: User) -> CommitteeMember | None:
    """The user's committee membership in the candidate's session, if any."""
    return next((m for m in enrolment.session.committee if m.assessor_id == user.id), None)


def quorum_refusal(enrolment: Enrolment) -> str | None:
    """Why the committee cannot act yet: fewer members with a signed declaration than the minimum.

    One person is never a committee: scoring, recording results and deciding all wait until the
    qualification's minimum of members (``min_committee_size``) have declared impartiality.
    """
    minimum = min_committee_size(enrolment.session)
    declared = [m for m in enrolment.session.committee if m.has_declared]
    if len(declared) < minimum:
        return _("The committee needs at least %(n)d members who have signed the declaration of impartiality "
                 "(now %(have)d). Ask the institution to complete the committee.", n=minimum, have=len(declared))
    return None


def scoring_refusal(member: CommitteeMember | None, enrolment: Enrolment) -> str | None:
    """Why this member may not assess the candidate, or None when they may."""
    if member is None:
        return _("You are not on this session's committee.")
    if member.assessor_id == enrolment.candidate_id:
        return _("You are the candidate: you may not assess yourself.")
    if not member.has_declared:
        return _("Sign the declaration of impartiality for this session first.")
    if trained_pairs([member.assessor_id], [enrolment.candidate_id]):
        return _("You trained this candidate, so you may not assess them.")
    if enrolment.status != EnrolmentStatus.ENROLLED:
        return _("This candidate was withdrawn from the session.")
    return None


def acting_refusal(member: CommitteeMember | None, enrolment: Enrolment) -> str | None:
    """Why this member may not score, record or decide now: their own eligibility, then the quorum."""
    return scoring_refusal(member, enrolment) or quorum_refusal(enrolment)


def theory_attempt(enrolment: Enrolment) -> TheoryAttempt | None:
    return db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == enrolment.id))


def _released(attempt: TheoryAttempt | None) -> bool:
    return attempt is not None and attempt.passed is not None and attempt.released_at is not None


def theory_released(enrolment: Enrolment) -> bool:
    """Whether the candidate's theory result is scored and released by the institution."""
    return _released(theory_attempt(enrolment))


def theory_results(enrolment: Enrolment) -> dict[str, bool | None]:
    """Per test criterion: met by the released theory test (None while there is no released result).

    These are the only source of the test criteria's results: the committee cannot edit them.
    Under a compensatory decision rule the test criteria are confirmed together by passing the
    theory part (their sub-scores are diagnostics); under a per-criterion rule each by its own.
    """
    attempt = theory_attempt(enrolment)
    if attempt is None or not _released(attempt):
        return {c.code: None for c in all_criteria(enrolment) if c.method == "test"}
    if criteria_confirmed_together(theory_settings(enrolment.session)["decision_rule"]):
        return {c.code: bool(attempt.passed) for c in all_criteria(enrolment) if c.method == "test"}
    scores = attempt.criterion_scores or {}
    return {c.code: (scores[c.code]["passed"] if c.code in scores else None)
            for c in all_criteria(enrolment) if c.method == "test"}


def scoresheet(member: CommitteeMember, enrolment: Enrolment) -> Scoresheet:
    """The member's scoresheet for the candidate (created empty on first use)."""
    sheet = db.session.scalar(select(Scoresheet).where(Scoresheet.enrolment_id == enrolment.id,
                                                        Scoresheet.member_id == member.id))
    if sheet is None:
        sheet = Scoresheet(enrolment_id=enrolment.id, member_id=member.id)
        db.session.add(sheet)
        db.session.flush()
    return sheet


@dataclass
class ScoreEntry:
    met: bool | None
    comment: str = ""
    interview_notes: str = ""


def save_scores(member: CommitteeMember, enrolment: Enrolment, entries: dict[int, ScoreEntry], submit: bool) -> Scoresheet:
    """Save the member's verdicts (a draft, or submitted and then final).

    Submitting needs a verdict on every practical and interview criterion; a "not met" needs
    a comment, since it may end up in the justification.
    """
    refusal = acting_refusal(member, enrolment)
    if refusal:
        raise CommitteeRuleError(refusal)
    sheet = scoresheet(member, enrolment)
    if sheet.is_submitted:
        raise CommitteeRuleError(_("Your scores are already submitted and can no longer be changed."))
    criteria = {c.id: c for c in scored_criteria(enrolment)}
    if set(entries) - set(criteria):
        raise CommitteeRuleError(_("Unknown criterion in the form. Reload the page."))
    for criterion_id, entry in entries.items():
        score = sheet.score_for(criterion_id)
        if score is None:
            score = CriterionScore(criterion_id=criterion_id)
            sheet.scores.append(score)
        score.met, score.comment = entry.met, entry.comment.strip() or None
        score.interview_notes = entry.interview_notes.strip() or None
    if submit:
        missing = [c.code for c in criteria.values() if not c.interview_follow_up
                   and ((score := sheet.score_for(c.id)) is None or score.met is None)]
        if missing:
            raise CommitteeRuleError(_("Give a verdict on every criterion before submitting. Missing: %(codes)s",
                                       codes=", ".join(missing)))
        uncommented = [criteria[s.criterion_id].code for s in sheet.scores if s.met is False and not s.comment]
        if uncommented:
            raise CommitteeRuleError(_("Explain every “not met” in a comment. Missing for: %(codes)s",
                                       codes=", ".join(uncommented)))
        sheet.submitted_at = utcnow()
        audit_log.record("committee.scores_submitted", sheet, after={
            "enrolment_id": enrolment.id, "assessor_id": member.assessor_id,
            "scores": {criteria[s.criterion_id].code: s.met for s in sheet.scores}},
            institution_id=enrolment.session.institution_id)
    db.session.commit()
    return sheet


def sheets(enrolment: Enrolment) -> list[Scoresheet]:
    return list(db.session.scalars(select(Scoresheet).where(Scoresheet.enrolment_id == enrolment.id)))


def can_see_others(member: CommitteeMember, enrolment: Enrolment) -> bool:
    """Blind scoring: others' verdicts are hidden until the member has submitted their own."""
    own = next((s for s in sheets(enrolment) if s.member_id == member.id), None)
    return own is not None and own.is_submitted


def consolidation(enrolment: Enrolment) -> list[dict]:
    """Per scored criterion: each member's submitted verdict and comment, and whether they agree."""
    submitted = {s.member_id: s for s in sheets(enrolment) if s.is_submitted}
    rows = []
    for criterion in scored_criteria(enrolment):
        scores = {m.id: (submitted[m.id].score_for(criterion.id) if m.id in submitted else None)
                  for m in enrolment.session.committee}
        verdicts = {member_id: (score.met if score else None) for member_id, score in scores.items()}
        rows.append({"criterion": criterion, "scores": scores, "agreed": rules.agreement(verdicts)})
    return rows


def all_submitted(enrolment: Enrolment) -> bool:
    submitted = {s.member_id for s in sheets(enrolment) if s.is_submitted}
    return bool(enrolment.session.committee) and all(m.id in submitted for m in enrolment.session.committee)


def may_record(member: CommitteeMember | None, enrolment: Enrolment) -> bool:
    """The chair records the committee's results and decision (any member if no chair is set)."""
    if member is None or acting_refusal(member, enrolment):
        return False
    has_chair = any(m.is_chair for m in enrolment.session.committee)
    return member.is_chair or not has_chair


def results(enrolment: Enrolment) -> dict[str, CriterionResult]:
    rows = db.session.scalars(select(CriterionResult).where(CriterionResult.enrolment_id == enrolment.id))
    return {r.criterion.code: r for r in rows}


def committee_criteria(enrolment: Enrolment) -> list[Criterion]:
    """The criteria whose result the committee records: simulation and interview ones.

    Test-method criteria follow the released theory result (see :func:`theory_results`); an
    interview follow-up on one of them is a note for the protocol, never a change of its result.
    """
    return [c for c in all_criteria(enrolment) if c.method in SCORED_METHODS]


def override_problems(enrolment: Enrolment, verdicts: Mapping[int, tuple[bool | None, str]]) -> list[str]:
    """Codes of criteria whose recorded result differs from a member's submitted score with no reason given."""
    submitted = [s for s in sheets(enrolment) if s.is_submitted]
    codes = {c.id: c.code for c in committee_criteria(enrolment)}
    missing = []
    for criterion_id, (met, note) in verdicts.items():
        scores = [score.met for sheet in submitted if (score := sheet.score_for(criterion_id)) is not None]
        if any(score is not None and score != met for score in scores) and not (note or "").strip():
            missing.append(codes[criterion_id])
    return missing


def record_results(member: CommitteeMember, enrolment: Enrolment, verdicts: dict[int, tuple[bool | None, str]]) -> None:
    """Record the committee's final result on every simulation and interview criterion.

    Only after every member submitted their independent scores. Where the result differs from any
    member's score, the note must give the reason (it is shown in the protocol). The test criteria
    are written from the released theory result; a verdict sent for one of them is refused.
    """
    if not may_record(member, enrolment):
        raise CommitteeRuleError(acting_refusal(member, enrolment)
                                 or _("Only the chair of the committee records the results."))
    if not all_submitted(enrolment):
        raise CommitteeRuleError(_("Every member must submit their scores first."))
    if decision_for(enrolment) is not None:
        raise CommitteeRuleError(_("The decision has been made; the results can no longer change."))
    every = {c.id: c for c in all_criteria(enrolment)}
    criteria = {c.id: c for c in committee_criteria(enrolment)}
    tests = sorted(every[k].code for k in verdicts if k in every and k not in criteria)
    if tests:
        raise CommitteeRuleError(_("The results of the test criteria come from the released theory test and cannot "
                                   "be changed by the committee: %(codes)s", codes=", ".join(tests)))
    if set(verdicts) != set(criteria) or any(met is None for met, _note in verdicts.values()):
        raise CommitteeRuleError(_("Record a result for every criterion."))
    if not theory_released(enrolment):
        raise CommitteeRuleError(_("The theory result has not been released yet; the results wait for it."))
    unexplained = override_problems(enrolment, verdicts)
    if unexplained:
        raise CommitteeRuleError(_("A result that differs from a member's score needs the reason in its note: %(codes)s",
                                   codes=", ".join(unexplained)))
    theory = theory_results(enrolment)
    rows: dict[int, tuple[bool, str | None]] = {k: (bool(met), (note or "").strip() or None)  # None refused above
                                                for k, (met, note) in verdicts.items()}
    for criterion_id, criterion in every.items():
        if criterion_id not in criteria:
            rows[criterion_id] = (bool(theory.get(criterion.code)), None)
    existing = {r.criterion_id: r for r in db.session.scalars(
        select(CriterionResult).where(CriterionResult.enrolment_id == enrolment.id))}
    before = {every[k].code: r.met for k, r in existing.items()}
    now = utcnow()
    for criterion_id, (met, note) in rows.items():
        row = existing.get(criterion_id) or CriterionResult(enrolment_id=enrolment.id, criterion_id=criterion_id)
        row.met, row.note = met, note
        row.recorded_by_id, row.recorded_at = member.assessor_id, now
        db.session.add(row)
    audit_log.record("committee.results_recorded", enrolment, before=before or None,
                     after={every[k].code: v[0] for k, v in rows.items()},
                     institution_id=enrolment.session.institution_id)
    db.session.commit()


def summary(enrolment: Enrolment) -> rules.Summary:
    return rules.summarise(structure(enrolment), {code: r.met for code, r in results(enrolment).items()})


def decision_for(enrolment: Enrolment) -> ValidationDecision | None:
    return db.session.scalar(select(ValidationDecision).where(ValidationDecision.enrolment_id == enrolment.id))


def practical_attempt(enrolment: Enrolment) -> PracticalAttempt | None:
    return db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == enrolment.id))


def missing_parts(enrolment: Enrolment) -> str | None:
    """What the decision still waits for, or None: a decision never rests on a part not taken.

    The released theory result, a finished practical attempt, and notes from at least one member
    on every interview criterion.
    """
    if not theory_released(enrolment):
        return _("The theory result has not been released yet.")
    attempt = practical_attempt(enrolment)
    if attempt is None:
        return _("The candidate has not taken the practical part.")
    if attempt.is_running:
        return _("The candidate's practical part is still running.")
    submitted = [s for s in sheets(enrolment) if s.is_submitted]
    without_notes = [
        c.code for c in all_criteria(enrolment) if c.method == "interview"
        and not any((score := sheet.score_for(c.id)) is not None and (score.interview_notes or "").strip()
                    for sheet in submitted)
    ]
    if without_notes:
        return _("No member has written interview notes for: %(codes)s", codes=", ".join(without_notes))
    return None


def decide(member: CommitteeMember, enrolment: Enrolment, positive: bool, justification: str | None) -> ValidationDecision:
    """Record the decision, render and store the protocol, notify the candidate.

    Positive only when every outcome is confirmed; negative only with a justification that
    names every unmet criterion.
    """
    if not may_record(member, enrolment):
        raise CommitteeRuleError(acting_refusal(member, enrolment)
                                 or _("Only the chair of the committee records the decision."))
    if decision_for(enrolment) is not None:
        raise CommitteeRuleError(_("The decision has already been made."))
    missing_part = missing_parts(enrolment)
    if missing_part:
        raise CommitteeRuleError(missing_part)
    result = summary(enrolment)
    if result.missing:
        raise CommitteeRuleError(_("Record the results of all criteria first."))
    if positive and not result.granted:
        raise CommitteeRuleError(_("A positive decision needs every learning outcome confirmed. Unmet: %(codes)s",
                                   codes=", ".join(result.unmet)))
    if not positive:
        problems = rules.justification_problems(justification, result.unmet)
        if problems == ["__empty__"]:
            raise CommitteeRuleError(_("A negative decision needs a written justification (at least a few sentences)."))
        if problems:
            raise CommitteeRuleError(_("The justification must name every unmet criterion. Not named: %(codes)s",
                                       codes=", ".join(problems)))
    decision = ValidationDecision(enrolment_id=enrolment.id, positive=positive,
                                  justification=(justification or "").strip() or None,
                                  decided_by_id=member.assessor_id, decided_at=utcnow())
    decision.enrolment = enrolment
    decision.protocol_pdf = render_protocol(enrolment, decision, result, results=results(enrolment),
                                            theory=theory_attempt(enrolment), criteria=all_criteria(enrolment))
    decision.protocol_sha256 = hashlib.sha256(decision.protocol_pdf).hexdigest()
    db.session.add(decision)
    candidate = enrolment.candidate
    queue_template(candidate, _("The result of your validation"), "validation_result", decision=decision,
                   enrolment=enrolment, appeal_days=enrolment.session.qualification.setting("appeal_window_days", default=14))
    decision.notified_at = utcnow()
    audit_log.record("committee.decision", decision, after={
        "enrolment_id": enrolment.id, "positive": positive, "justification": decision.justification,
        "unmet": result.unmet, "protocol_sha256": decision.protocol_sha256},
        institution_id=enrolment.session.institution_id)
    db.session.commit()
    return decision


def can_read_decision(user: User, enrolment: Enrolment) -> bool:
    """The candidate, the committee and the institution's staff may read the decision and protocol."""
    from ..security import staff_institution_ids

    if user.id == enrolment.candidate_id:
        return True
    if member_of(enrolment, user) is not None:
        return True
    return user.has_role(Role.STAFF) and enrolment.session.institution_id in staff_institution_ids(user)
