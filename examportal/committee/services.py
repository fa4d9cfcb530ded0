"""The committee's work on a candidate: blind scoring, consolidation, results, the decision."""
from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..audit import anchor
from ..audit import services as audit_log
from ..competence import services as competence
from ..extensions import db
from ..mail.services import queue_template
from ..models import (
    AttemptItem,
    CommitteeMember,
    CompetenceKind,
    Criterion,
    CriterionResult,
    CriterionScore,
    DecisionProposal,
    DecisionVote,
    Enrolment,
    EnrolmentStatus,
    PracticalAttempt,
    ProposalStatus,
    Role,
    Scoresheet,
    TheoryAttempt,
    TrainingRecord,
    User,
    ValidationDecision,
    ValidationSession,
    VoidedItem,
    utcnow,
)
from ..sessions.services import (
    declared_for,
    earlier_involvement,
    evidence_enrolment,
    institution_people,
    member_enrolments,
    min_committee_size,
    trained_pairs,
    training_recorded,
)
from ..theory.scoring import criteria_confirmed_together
from ..theory.services import counted_attempt
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
    test criteria the committee may take a second look at in the interview (optional).

    Without a practical part to assess (absent, or not admitted after a failed theory test) the
    simulation criteria are not met by the system and not scored.
    """
    scored = committee_methods(enrolment)
    return [c for c in all_criteria(enrolment) if c.method in scored or c.interview_follow_up]


def committee_methods(enrolment: Enrolment) -> tuple[str, ...]:
    """The methods whose criteria the committee assesses for this candidate."""
    return ("interview",) if practical_state(enrolment) in NO_PRACTICAL else SCORED_METHODS


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


def extra_member(enrolment: Enrolment) -> CommitteeMember | None:
    """The member the institution appointed for this candidate after a dissent, if any."""
    return next((m for m in enrolment.extra_members if m.replaces_id is None), None)


def committee_for(enrolment: Enrolment) -> list[CommitteeMember]:
    """Everyone on the candidate's committee: the session's committee and the members appointed for
    this candidate (after a dissent, or in place of a member; see :func:`appoint_extra_member`),
    including a member since found unable to assess them (:func:`deciding_members` leaves them out)."""
    return [*enrolment.session.committee, *enrolment.extra_members]


def disqualified(enrolment: Enrolment, members: Collection[CommitteeMember] | None = None) -> set[int]:
    """The ids of the candidate's committee members (``members``: :func:`committee_for`) who may never
    assess them: found to have trained them, or the candidate themself."""
    members = committee_for(enrolment) if members is None else members
    trainers = {r.trainer_id for r in trained_pairs([m.assessor_id for m in members], [enrolment.candidate_id])}
    return {m.id for m in members if m.assessor_id in trainers or m.assessor_id == enrolment.candidate_id}


def deciding_members(enrolment: Enrolment) -> list[CommitteeMember]:
    """The committee that assesses and decides on the candidate: :func:`committee_for` without the
    members who may never assess them (:func:`disqualified`). Their scores, results and votes are
    the ones that count; everyone in it scores, votes and is named in the protocol."""
    members = committee_for(enrolment)
    excluded = disqualified(enrolment, members)
    return [m for m in members if m.id not in excluded]


def to_replace(enrolment: Enrolment, excluded: set[int] | None = None) -> list[CommitteeMember]:
    """Members of the candidate's committee who may never assess them and whom no member appointed
    for the candidate replaces yet (the institution may appoint one in their place; ``excluded``:
    :func:`disqualified`, when the caller has read it)."""
    members = committee_for(enrolment)
    excluded = disqualified(enrolment, members) if excluded is None else excluded
    replaced = {m.replaces_id for m in enrolment.extra_members if m.replaces_id is not None}
    return [m for m in members if m.id in excluded and m.id not in replaced]


def member_of(enrolment: Enrolment, user: User) -> CommitteeMember | None:
    """The user's membership in the candidate's committee, if any."""
    return next((m for m in committee_for(enrolment) if m.assessor_id == user.id), None)


def lock(enrolment: Enrolment) -> None:
    """Serialise the committee's writes on one candidate (a row lock on PostgreSQL; on SQLite the
    database's write lock, see ``extensions._sqlite_locking_read``), so two clicks or two members at
    once cannot both pass a check."""
    db.session.execute(select(Enrolment.id).where(Enrolment.id == enrolment.id).with_for_update())


def quorum_refusal(enrolment: Enrolment) -> str | None:
    """Why the committee cannot act yet: fewer members with a signed declaration than the minimum.

    One person is never a committee: scoring, recording results and deciding all wait until the
    qualification's minimum of members (``min_committee_size``) have declared impartiality.
    """
    minimum = min_committee_size(enrolment.session)
    everyone = committee_for(enrolment)
    excluded = disqualified(enrolment, everyone)  # read once for both questions below
    members = [m for m in everyone if m.id not in excluded]
    declared = [m for m in members if m.has_declared]
    if len(declared) < minimum and to_replace(enrolment, excluded):
        return _("A committee member trained this candidate and may not assess them, which leaves fewer than %(n)d "
                 "members who may. Ask the institution to appoint a member in their place for this candidate.",
                 n=minimum)
    if len(declared) < minimum and len(members) >= minimum:
        return _("The committee acts once at least %(n)d of its members have signed the declaration of impartiality "
                 "(now %(have)d). Still to sign: %(names)s.", n=minimum, have=len(declared),
                 names=", ".join(m.assessor.full_name for m in members if not m.has_declared))
    if len(declared) < minimum:
        return _("The committee needs at least %(n)d members who have signed the declaration of impartiality "
                 "(now %(have)d). Ask the institution to complete the committee.", n=minimum, have=len(declared))
    return None


def scoring_refusal(member: CommitteeMember | None, enrolment: Enrolment,
                    trained: Collection[int] | None = None) -> str | None:
    """Why this member may not assess the candidate, or None when they may (``trained``: the ids of
    the candidates the member trained, when the caller has read them for a list of candidates).

    The same rule decides who scores, records, proposes and votes, and whose vote counts (:func:`_settle`).
    """
    if member is None:
        return _("You are not on this session's committee.")
    if member.assessor_id == enrolment.candidate_id:
        return _("You are the candidate: you may not assess yourself.")
    if not member.has_declared:
        return _("Sign the declaration of impartiality for this session first.")
    if (enrolment.candidate_id in trained if trained is not None
            else trained_pairs([member.assessor_id], [enrolment.candidate_id])):
        return _("You trained this candidate, so you may not assess them.")
    if enrolment.status != EnrolmentStatus.ENROLLED:
        return _("This candidate was withdrawn from the session.")
    if not declared_for(member, enrolment):
        return _("This candidate was enrolled after you signed your declaration of impartiality, which does not "
                 "name them. Sign a declaration for them on the session's page before you assess them.")
    return None


def acting_refusal(member: CommitteeMember | None, enrolment: Enrolment) -> str | None:
    """Why this member may not score, record or decide now: their own eligibility, then the quorum."""
    return scoring_refusal(member, enrolment) or quorum_refusal(enrolment)


def theory_attempt(enrolment: Enrolment) -> TheoryAttempt | None:
    """The theory attempt the committee's test criteria follow: the candidate's own, or the earlier
    passed one their theory part is recognised from (ZSK act art. 49; see theory.services.counted_attempt)."""
    return counted_attempt(enrolment)


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
    if criteria_confirmed_together(enrolment.session.qualification.rules.theory.decision_rule):
        return {c.code: bool(attempt.passed) for c in all_criteria(enrolment) if c.method == "test"}
    scores = attempt.criterion_scores or {}
    return {c.code: (scores[c.code]["passed"] if c.code in scores else None)
            for c in all_criteria(enrolment) if c.method == "test"}


def stored_scoresheet(member: CommitteeMember, enrolment: Enrolment) -> Scoresheet | None:
    return db.session.scalar(select(Scoresheet).where(Scoresheet.enrolment_id == enrolment.id,
                                                      Scoresheet.member_id == member.id))


def scoresheet(member: CommitteeMember, enrolment: Enrolment) -> Scoresheet:
    """The member's scoresheet for the candidate, created empty when their first scores are saved."""
    sheet = stored_scoresheet(member, enrolment)
    if sheet is None:
        sheet = Scoresheet(enrolment_id=enrolment.id, member_id=member.id)
        db.session.add(sheet)
        db.session.flush()
    return sheet


def scoresheet_to_show(member: CommitteeMember, enrolment: Enrolment) -> Scoresheet:
    """The member's scoresheet as stored, or an empty one that is never saved: opening a case
    page writes nothing (the sheet is created with the first scores saved)."""
    return stored_scoresheet(member, enrolment) or Scoresheet(enrolment_id=enrolment.id, member_id=member.id)


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
    # The membership's lock, which its removal takes too: scores are never written for a membership
    # being removed, and a removal waits for a submission and then sees it (the sheet stays).
    if db.session.scalar(select(CommitteeMember.id).where(CommitteeMember.id == member.id).with_for_update()) is None:
        raise CommitteeRuleError(_("You are not on this session's committee."))
    sheet = scoresheet(member, enrolment)
    if sheet.is_submitted:
        raise CommitteeRuleError(_("Your scores are already submitted and can no longer be changed."))
    if submit and (refusal := submission_refusal(enrolment)):
        raise CommitteeRuleError(refusal)
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
        # Who submitted, when, for whom, and a keyed digest of the verdicts, never the verdicts: a
        # reader of the log may be a member still scoring blind (the scoresheet holds them).
        audit_log.record("committee.scores_submitted", sheet, after={
            "enrolment_id": enrolment.id, "assessor_id": member.assessor_id, "scores_digest": scores_digest(sheet)},
            institution_id=enrolment.session.institution_id)
    db.session.commit()
    return sheet


#: The context of :func:`scores_digest` under the audit key (see ``audit.anchor``).
SCORES_CONTEXT = b"examportal-committee-scores\x00"


def scores_digest(sheet: Scoresheet) -> str:
    """A keyed digest (HMAC-SHA256 under the audit key) of the scoresheet's verdicts, comments and
    notes, as the audit entry of its submission keeps them: whoever holds the key can tell whether
    the sheet changed after it was submitted, while no reader of the log can recover the verdicts."""
    codes = {c.id: c.code for c in db.session.scalars(
        select(Criterion).where(Criterion.id.in_([s.criterion_id for s in sheet.scores])))}
    scores = {codes[s.criterion_id]: [s.met, s.comment, s.interview_notes] for s in sheet.scores}
    return anchor.mac(SCORES_CONTEXT, {"scoresheet_id": sheet.id, "enrolment_id": sheet.enrolment_id,
                                       "member_id": sheet.member_id, "scores": scores})


def practical_pending(enrolment: Enrolment) -> str | None:
    """Why the candidate's practical part is not over yet, or None: it is still running, or not
    taken and no absence recorded. Final scores, results and the decision wait for it."""
    state = practical_state(enrolment)
    if state == "missing":
        return _("The candidate has not taken the practical part. If they did not come, the operator or the chair "
                 "records them as absent.")
    if state == "running":
        return _("The candidate's practical part is still running.")
    return None


def submission_refusal(enrolment: Enrolment) -> str | None:
    """Why a member may not submit (make final) their scores on the candidate yet, or None: the
    practical part is not over (:func:`practical_pending`). A draft may be saved meanwhile."""
    state = practical_state(enrolment)
    if state == "running":
        return _("The candidate's practical part is still running: save your scores as a draft and submit them "
                 "once it has ended.")
    if state == "missing":
        return _("The candidate has not taken the practical part yet: save your scores as a draft and submit them "
                 "once it is done or their absence is recorded.")
    return None


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
    members = deciding_members(enrolment)
    for criterion in scored_criteria(enrolment):
        scores = {m.id: (submitted[m.id].score_for(criterion.id) if m.id in submitted else None) for m in members}
        verdicts = {member_id: (score.met if score else None) for member_id, score in scores.items()}
        # Every member submitted and none examined it (an optional interview follow-up): nothing
        # to settle, not a difference.
        unexamined = (bool(scores) and all(member_id in submitted for member_id in scores)
                      and all(score is None or score.met is None for score in scores.values()))
        rows.append({"criterion": criterion, "scores": scores, "agreed": rules.agreement(verdicts),
                     "unexamined": unexamined})
    return rows


def all_submitted(enrolment: Enrolment) -> bool:
    submitted = {s.member_id for s in sheets(enrolment) if s.is_submitted}
    members = deciding_members(enrolment)
    return bool(members) and all(m.id in submitted for m in members)


def may_record(member: CommitteeMember | None, enrolment: Enrolment) -> bool:
    """The chair records the committee's results and decision (any member if no chair is set)."""
    if member is None or member.enrolment_id is not None or acting_refusal(member, enrolment):
        return False
    # A chair who may not assess the candidate does not record for them: then any member who may.
    has_chair = any(m.is_chair for m in deciding_members(enrolment) if m.enrolment_id is None)
    return member.is_chair or not has_chair


def results(enrolment: Enrolment) -> dict[str, CriterionResult]:
    rows = db.session.scalars(select(CriterionResult).where(CriterionResult.enrolment_id == enrolment.id))
    return {r.criterion.code: r for r in rows}


def committee_criteria(enrolment: Enrolment) -> list[Criterion]:
    """The criteria whose result the committee records: simulation and interview ones.

    Test-method criteria follow the released theory result (see :func:`theory_results`); an
    interview follow-up on one of them is a note for the protocol, never a change of its result.
    Without a practical part the simulation criteria are not met (see :func:`system_results`).
    """
    methods = committee_methods(enrolment)
    return [c for c in all_criteria(enrolment) if c.method in methods]


def system_results(enrolment: Enrolment) -> dict[str, bool | None]:
    """The results the committee cannot set, by criterion code: the test criteria from the released
    theory result, and the simulation criteria as not met when there is no practical part to assess."""
    fixed = dict(theory_results(enrolment))
    if practical_state(enrolment) in NO_PRACTICAL:
        fixed.update({c.code: False for c in all_criteria(enrolment) if c.method == "simulation"})
    return fixed


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
    lock(enrolment)
    if not may_record(member, enrolment):
        raise CommitteeRuleError(acting_refusal(member, enrolment)
                                 or _("Only the chair of the committee records the results."))
    if not all_submitted(enrolment):
        raise CommitteeRuleError(_("Every member must submit their scores first."))
    pending = practical_pending(enrolment)
    if pending:
        raise CommitteeRuleError(pending)
    if decision_for(enrolment) is not None:
        raise CommitteeRuleError(_("The decision has been made; the results can no longer change."))
    if open_proposal(enrolment) is not None:
        raise CommitteeRuleError(_("A decision has been proposed on these results: they cannot change while the "
                                   "committee votes on it."))
    every = {c.id: c for c in all_criteria(enrolment)}
    criteria = {c.id: c for c in committee_criteria(enrolment)}
    fixed = sorted(every[k].code for k in verdicts if k in every and k not in criteria)
    if fixed:
        raise CommitteeRuleError(_("These results are set by the system and cannot be changed by the committee "
                                   "(the test criteria follow the released theory test; without a practical part "
                                   "its criteria are not met): %(codes)s", codes=", ".join(fixed)))
    if set(verdicts) != set(criteria) or any(met is None for met, _note in verdicts.values()):
        raise CommitteeRuleError(_("Record a result for every criterion."))
    if not theory_released(enrolment):
        raise CommitteeRuleError(_("The theory result has not been released yet; the results wait for it."))
    unexplained = override_problems(enrolment, verdicts)
    if unexplained:
        raise CommitteeRuleError(_("A result that differs from a member's score needs the reason in its note: %(codes)s",
                                   codes=", ".join(unexplained)))
    fixed_results = system_results(enrolment)
    rows: dict[int, tuple[bool, str | None]] = {k: (bool(met), (note or "").strip() or None)  # None refused above
                                                for k, (met, note) in verdicts.items()}
    for criterion_id, criterion in every.items():
        if criterion_id not in criteria:
            rows[criterion_id] = (bool(fixed_results.get(criterion.code)), None)
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
    """The practical attempt the committee assesses: the candidate's own, or — for a new assessment
    ordered by an upheld appeal — the original enrolment's (:func:`evidence_enrolment`)."""
    return db.session.scalar(select(PracticalAttempt)
                             .where(PracticalAttempt.enrolment_id == evidence_enrolment(enrolment).id))


# The practical part's states with no work to assess: its simulation criteria are then not met.
NO_PRACTICAL = ("absent", "not_admitted")


def practical_state(enrolment: Enrolment) -> str:
    """Where the candidate's practical part stands for the committee.

    ``taken`` (finished), ``running``, ``absent`` (recorded by the operator or the chair),
    ``not_admitted`` (the qualification opens the practical only after a passed theory test, and
    the released result is a fail), or ``missing`` (not taken yet).
    """
    attempt = practical_attempt(enrolment)
    if attempt is not None:
        return "running" if attempt.is_running else "taken"
    if enrolment.absent_from_practical:
        return "absent"
    theory = theory_attempt(enrolment)
    required = enrolment.session.qualification.rules.theory_required_for_practical
    if required and _released(theory) and theory is not None and theory.passed is False:
        return "not_admitted"
    return "missing"


def record_practical_absence(actor: User, enrolment: Enrolment, note: str) -> None:
    """Record that the candidate did not come to the practical part (the session's operator or the
    committee's chair); its simulation criteria are then not met. Audited."""
    lock(enrolment)
    member = member_of(enrolment, actor)
    if actor.id != enrolment.session.operator_id and not may_record(member, enrolment):
        raise CommitteeRuleError(_("Only the session's operator or the committee's chair records an absence."))
    if enrolment.status != EnrolmentStatus.ENROLLED:
        raise CommitteeRuleError(_("This candidate was withdrawn from the session."))
    if enrolment.absent_from_practical:
        raise CommitteeRuleError(_("The absence has already been recorded."))
    if practical_attempt(enrolment) is not None:
        raise CommitteeRuleError(_("The candidate has started the practical part: they are not absent."))
    if decision_for(enrolment) is not None or open_proposal(enrolment) is not None:
        raise CommitteeRuleError(_("A decision has already been proposed or made for this candidate."))
    note = (note or "").strip()
    if not note:
        raise CommitteeRuleError(_("Say how the absence was established (e.g. the candidate did not come by the start)."))
    enrolment.practical_absent_at = utcnow()
    enrolment.practical_absent_by_id = actor.id
    enrolment.practical_absent_note = note
    audit_log.record("practical.absence_recorded", enrolment, after={
        "enrolment_id": enrolment.id, "by": actor.id, "note": note}, institution_id=enrolment.session.institution_id)
    db.session.commit()


def missing_parts(enrolment: Enrolment) -> str | None:
    """What the decision still waits for, or None: a decision never rests on a part not taken.

    The released theory result, a finished practical attempt, and notes from at least one member
    on every interview criterion.
    """
    if not theory_released(enrolment):
        return _("The theory result has not been released yet.")
    pending = practical_pending(enrolment)
    if pending:
        return pending
    submitted = [s for s in sheets(enrolment) if s.is_submitted]
    without_notes = [
        c.code for c in all_criteria(enrolment) if c.method == "interview"
        and not any((score := sheet.score_for(c.id)) is not None and (score.interview_notes or "").strip()
                    for sheet in submitted)
    ]
    if without_notes:
        return _("No member has written interview notes for: %(codes)s", codes=", ".join(without_notes))
    return None


def proposals(enrolment: Enrolment) -> list[DecisionProposal]:
    """Every decision proposed for the candidate, oldest first."""
    return list(db.session.scalars(select(DecisionProposal).where(DecisionProposal.enrolment_id == enrolment.id)
                                   .order_by(DecisionProposal.id)))


def open_proposal(enrolment: Enrolment) -> DecisionProposal | None:
    """The proposal the committee is voting on (or waiting for one more member on), if any."""
    return next((p for p in proposals(enrolment) if p.is_open), None)


def _check_decision(enrolment: Enrolment, positive: bool, justification: str | None) -> rules.Summary:
    """Refuse a decision the results do not support: missing parts or results, a positive decision with
    an unmet criterion, a negative one with none unmet or without a justification naming every unmet
    criterion (the qualification's rule: granted exactly when every learning outcome is confirmed)."""
    missing_part = missing_parts(enrolment)
    if missing_part:
        raise CommitteeRuleError(missing_part)
    result = summary(enrolment)
    if result.missing:
        raise CommitteeRuleError(_("Record the results of all criteria first."))
    if positive and not result.granted:
        raise CommitteeRuleError(_("A positive decision needs every learning outcome confirmed. Unmet: %(codes)s",
                                   codes=", ".join(result.unmet)))
    if not positive and result.granted:
        raise CommitteeRuleError(_("A negative decision needs a criterion not met, and every criterion is recorded as "
                                   "met: every learning outcome is confirmed. If a result is wrong, record the results "
                                   "again before proposing the decision."))
    if not positive:
        problems = rules.justification_problems(justification, result.unmet)
        if problems == ["__empty__"]:
            raise CommitteeRuleError(_("A negative decision needs a written justification (at least a few sentences)."))
        if problems:
            raise CommitteeRuleError(_("The justification must name every unmet criterion. Not named: %(codes)s",
                                       codes=", ".join(problems)))
    return result


def recorder_refusal(enrolment: Enrolment) -> str | None:
    """Why no decision may be proposed on the recorded results, or None: they were recorded by
    someone who may not assess the candidate (a member since found to have trained them)."""
    excluded = {m.assessor_id for m in committee_for(enrolment) if m.id in disqualified(enrolment)}
    if excluded and any(row.recorded_by_id in excluded for row in results(enrolment).values()):
        return _("The results were recorded by a member who may not assess this candidate: record them again.")
    return None


def propose(member: CommitteeMember, enrolment: Enrolment, positive: bool, justification: str | None) -> DecisionProposal:
    """The chair proposes the decision; it counts as the chair's approval.

    The decision is final only when the committee approves it (see :func:`vote`); until then the
    candidate is told nothing.
    """
    lock(enrolment)
    if not may_record(member, enrolment):
        raise CommitteeRuleError(acting_refusal(member, enrolment)
                                 or _("Only the chair of the committee proposes the decision."))
    if decision_for(enrolment) is not None:
        raise CommitteeRuleError(_("The decision has already been made."))
    if open_proposal(enrolment) is not None:
        raise CommitteeRuleError(_("A decision has already been proposed; the committee is voting on it."))
    refusal = own_assessment_refusal(member, enrolment) or recorder_refusal(enrolment)
    if refusal:
        raise CommitteeRuleError(refusal)
    _check_decision(enrolment, positive, justification)
    now = utcnow()
    proposal = DecisionProposal(enrolment_id=enrolment.id, positive=positive,
                                justification=(justification or "").strip() or None,
                                proposed_by_id=member.assessor_id, proposed_at=now, status=ProposalStatus.OPEN)
    proposal.votes.append(DecisionVote(member_id=member.id, approve=True, voted_at=now))
    db.session.add(proposal)
    db.session.flush()
    audit_log.record("committee.decision_proposed", proposal, after={
        "enrolment_id": enrolment.id, "positive": positive, "justification": proposal.justification},
        institution_id=enrolment.session.institution_id)
    _settle(proposal, enrolment)
    db.session.commit()
    return proposal


def vote_refusal(member: CommitteeMember | None, enrolment: Enrolment) -> str | None:
    """Why this member may not vote on the open proposal now, or None."""
    refusal = acting_refusal(member, enrolment)
    if refusal or member is None:
        return refusal
    proposal = open_proposal(enrolment)
    if proposal is None:
        return _("There is no proposed decision to vote on.")
    if any(v.member_id == member.id for v in proposal.votes):
        return _("You have already voted on this proposal; a vote cannot be changed.")
    if proposal.status == ProposalStatus.DISPUTED:
        return _("A member dissented: the institution appoints one more member, who votes next.")
    return own_assessment_refusal(member, enrolment)


def own_assessment_refusal(member: CommitteeMember, enrolment: Enrolment) -> str | None:
    """Why the member may not take part in the decision yet: they have not submitted their own scores.
    A member proposes (which counts as their approval) or votes only after their independent assessment."""
    if not any(s.member_id == member.id and s.is_submitted for s in sheets(enrolment)):
        return _("Submit your own scores first: you vote on the decision after your independent assessment.")
    return None


def vote(member: CommitteeMember, enrolment: Enrolment, approve: bool, reason: str | None) -> DecisionProposal:
    """A member approves the proposed decision or dissents from it with a reason."""
    lock(enrolment)
    refusal = vote_refusal(member, enrolment)
    if refusal:
        raise CommitteeRuleError(refusal)
    proposal = open_proposal(enrolment)
    if proposal is None:  # vote_refusal checked it; a concurrent change may have closed it since
        raise CommitteeRuleError(_("There is no proposed decision to vote on."))
    reason = (reason or "").strip() or None
    if not approve and reason is None:
        raise CommitteeRuleError(_("A dissent needs its reason: it goes into the protocol."))
    proposal.votes.append(DecisionVote(member_id=member.id, approve=approve, reason=reason, voted_at=utcnow()))
    db.session.flush()
    audit_log.record("committee.decision_vote", proposal, after={
        "enrolment_id": enrolment.id, "assessor_id": member.assessor_id, "approve": approve, "reason": reason},
        institution_id=enrolment.session.institution_id)
    _settle(proposal, enrolment)
    db.session.commit()
    return proposal


def _settle(proposal: DecisionProposal, enrolment: Enrolment) -> None:
    """Once every member has voted: all approving makes the proposal final; a dissent asks the
    institution for one more member; with that member, the majority of the enlarged committee decides.
    The members are those who may assess the candidate (:func:`deciding_members`), and a vote counts
    only while its member may still vote (:func:`scoring_refusal`): a member found to have trained
    the candidate withdraws the proposal they took part in (:func:`_member_disqualified`)."""
    members = deciding_members(enrolment)
    eligible = {m.id for m in members if scoring_refusal(m, enrolment, trained=()) is None}
    votes = {v.member_id: v for v in proposal.votes if v.member_id in eligible}
    if any(m.id not in votes for m in members):
        return
    approvals = sum(1 for m in members if votes[m.id].approve)
    if approvals == len(members):
        _finalise(proposal, enrolment)
    elif extra_member(enrolment) is None:
        proposal.status = ProposalStatus.DISPUTED
        audit_log.record("committee.decision_disputed", proposal, after={
            "enrolment_id": enrolment.id, "dissents": len(members) - approvals},
            institution_id=enrolment.session.institution_id)
    elif 2 * approvals > len(members):
        _finalise(proposal, enrolment)
    else:
        proposal.status, proposal.closed_at = ProposalStatus.REJECTED, utcnow()
        audit_log.record("committee.decision_rejected", proposal, after={
            "enrolment_id": enrolment.id, "approvals": approvals, "members": len(members)},
            institution_id=enrolment.session.institution_id)


def _finalise(proposal: DecisionProposal, enrolment: Enrolment) -> ValidationDecision:
    """The approved proposal becomes the decision: the protocol is rendered and stored, the candidate told."""
    result = summary(enrolment)
    proposal.status, proposal.closed_at = ProposalStatus.FINAL, utcnow()
    decision = ValidationDecision(enrolment_id=enrolment.id, positive=proposal.positive,
                                  justification=proposal.justification, decided_by_id=proposal.proposed_by_id,
                                  decided_at=proposal.closed_at, proposal_id=proposal.id)
    decision.enrolment, decision.proposal = enrolment, proposal
    decision.protocol_pdf = protocol_pdf(enrolment, decision, result)
    decision.protocol_sha256 = hashlib.sha256(decision.protocol_pdf).hexdigest()
    db.session.add(decision)
    queue_template(enrolment.candidate, _("The result of your validation"), "validation_result", decision=decision,
                   enrolment=enrolment, appeal_days=enrolment.session.qualification.rules.appeal_window_days)
    decision.notified_at = utcnow()
    audit_log.record("committee.decision", decision, after={
        "enrolment_id": enrolment.id, "positive": decision.positive, "justification": decision.justification,
        "unmet": result.unmet, "protocol_sha256": decision.protocol_sha256,
        "votes": {v.member.assessor_id: v.approve for v in proposal.votes}},
        institution_id=enrolment.session.institution_id)
    return decision


def extra_member_candidates(enrolment: Enrolment) -> list[User]:
    """Assessors the institution may appoint as the extra member: eligible and not involved so far."""
    involved = set(db.session.scalars(select(CommitteeMember.assessor_id)
                                      .where(CommitteeMember.session_id == enrolment.session_id)))
    assessors = institution_people(enrolment.session.institution, Role.ASSESSOR)
    trainers = {r.trainer_id for r in trained_pairs([u.id for u in assessors], [enrolment.candidate_id])}
    return [u for u in assessors if u.id not in involved and u.id not in trainers and u.id != enrolment.candidate_id
            and earlier_involvement(enrolment.session, u) is None]


def appointment_needed(enrolment: Enrolment) -> str | None:
    """Why the institution may appoint a member for this candidate now, or None: ``"replacement"``
    while a member of their committee may not assess them and nobody replaces them yet
    (:func:`to_replace`), ``"dispute"`` while a dissent waits for one more member."""
    need = appointment_needs([enrolment]).get(enrolment.id)
    return need[0] if need is not None else None


def appointment_needs(enrolments: Sequence[Enrolment]) -> dict[int, tuple[str, list[CommitteeMember]]]:
    """:func:`appointment_needed` for a page of candidates (one session's), in three queries
    whatever their number: enrolment id → (the need, the members to replace)."""
    if not enrolments:
        return {}
    ids = [e.id for e in enrolments]
    decided = set(db.session.scalars(select(ValidationDecision.enrolment_id).where(ValidationDecision.enrolment_id.in_(ids))))
    disputed = set(db.session.scalars(select(DecisionProposal.enrolment_id).where(
        DecisionProposal.enrolment_id.in_(ids), DecisionProposal.status == ProposalStatus.DISPUTED)))
    committees = {e.id: committee_for(e) for e in enrolments}
    pairs = {(r.trainer_id, r.candidate_id) for r in trained_pairs(
        {m.assessor_id for members in committees.values() for m in members}, {e.candidate_id for e in enrolments})}
    needs: dict[int, tuple[str, list[CommitteeMember]]] = {}
    for enrolment in enrolments:
        if enrolment.id in decided:
            continue
        members = committees[enrolment.id]
        replaced = {m.replaces_id for m in enrolment.extra_members if m.replaces_id is not None}
        missing = [m for m in members if m.id not in replaced and (
            (m.assessor_id, enrolment.candidate_id) in pairs or m.assessor_id == enrolment.candidate_id)]
        if missing:
            needs[enrolment.id] = ("replacement", missing)
        elif enrolment.id in disputed and extra_member(enrolment) is None:
            needs[enrolment.id] = ("dispute", [])
    return needs


def appoint_extra_member(actor: User, enrolment: Enrolment, assessor: User | None) -> CommitteeMember:
    """The institution appoints one more member for the candidate: in place of a member found to
    have trained them (:func:`to_replace`; the committee then assesses the candidate again: a
    proposal open is withdrawn), or after a dissent (they vote on the proposal).

    They must be an assessor of the institution, impartial (not the candidate's trainer), not
    involved in the session so far, and meet the qualification's requirements on committee members
    (their competence record, reviewed in time); they declare impartiality, score independently and vote.
    """
    lock(enrolment)
    need = appointment_needed(enrolment)
    if need is None and decision_for(enrolment) is not None:
        raise CommitteeRuleError(_("The candidate has been decided: their committee no longer changes."))
    if need is None and extra_member(enrolment) is not None:
        raise CommitteeRuleError(_("One more member has already been appointed for this candidate."))
    if need is None:
        raise CommitteeRuleError(_("One more member is appointed only when a member has dissented from the proposed "
                                   "decision, or in place of a member who may not assess the candidate."))
    if assessor is None or assessor not in extra_member_candidates(enrolment):
        raise CommitteeRuleError(_("Choose an assessor of the institution who has not been involved in this session "
                                   "and did not train the candidate."))
    session = enrolment.session
    refusal = competence.appointment_refusal(assessor, CompetenceKind.ASSESSOR, session.qualification, session.starts_at)
    if refusal:
        raise CommitteeRuleError(refusal)
    replaced = to_replace(enrolment)[0] if need == "replacement" else None
    member = CommitteeMember(session_id=enrolment.session_id, assessor_id=assessor.id, enrolment_id=enrolment.id,
                             replaces_id=replaced.id if replaced is not None else None)
    db.session.add(member)
    proposal = open_proposal(enrolment)
    if replaced is None and proposal is not None:
        proposal.status = ProposalStatus.OPEN  # the new member votes on it after their own assessment
    elif proposal is not None:  # the committee without the member replaced assesses again, and proposes
        _withdraw(proposal, enrolment, "member replaced")
    db.session.flush()
    db.session.expire(enrolment, ["extra_members"])
    audit_log.record("committee.extra_member_appointed", member, after={
        "enrolment_id": enrolment.id, "assessor_id": assessor.id, "appointed_by": actor.id,
        "replaces_assessor_id": replaced.assessor_id if replaced is not None else None},
        institution_id=enrolment.session.institution_id)
    queue_template(assessor, _("You have been appointed to a validation committee"), "extra_member",
                   enrolment=enrolment, member=member, replaced=replaced)
    db.session.commit()
    return member


def _withdraw(proposal: DecisionProposal, enrolment: Enrolment, reason: str) -> None:
    """Close an open proposal without a decision (in the caller's transaction, audited)."""
    proposal.status, proposal.closed_at = ProposalStatus.WITHDRAWN, utcnow()
    audit_log.record("committee.decision_withdrawn", proposal, after={"enrolment_id": enrolment.id, "reason": reason},
                     institution_id=enrolment.session.institution_id)


@training_recorded.connect
def _member_disqualified(record: TrainingRecord, **_kw: Any) -> None:
    """A committee member found to have trained a candidate not yet decided: a proposal on that
    candidate which they made or voted on is withdrawn (the others propose again without them, or —
    fewer than the minimum left — after the institution appoints a member in their place). In the
    transaction that records the training."""
    members = db.session.scalars(select(CommitteeMember).where(CommitteeMember.assessor_id == record.trainer_id)).all()
    for member in members:
        for enrolment in member_enrolments(member):
            if enrolment.candidate_id != record.candidate_id or decision_for(enrolment) is not None:
                continue
            proposal = open_proposal(enrolment)
            if proposal is not None and (proposal.proposed_by_id == member.assessor_id
                                         or any(v.member_id == member.id for v in proposal.votes)):
                _withdraw(proposal, enrolment, "a member found to have trained the candidate took part")


def test_results_changed(enrolment: Enrolment) -> dict[str, tuple[bool, bool | None]]:
    """Test criteria whose recorded result differs from the theory result now: {code: (recorded, now)}."""
    now = theory_results(enrolment)
    return {code: (row.met, now.get(code)) for code, row in results(enrolment).items()
            if row.criterion.method == "test" and now.get(code) is not None and row.met != now.get(code)}


def follow_rescored_theory(enrolment: Enrolment) -> str | None:
    """Bring the recorded test-criterion results in line with a rescored theory attempt.

    The route by which a test criterion changes (after staff voided a faulty item). A final decision
    is never changed here: ``"decision"`` tells the caller to list it for correction. Results under
    an open proposal are updated and the proposal withdrawn (``"withdrawn"``), since the committee
    voted on other results; otherwise ``"updated"``, or None when nothing differs.
    """
    changed = test_results_changed(enrolment)
    if not changed:
        return None
    if decision_for(enrolment) is not None:
        return "decision"
    rows = results(enrolment)
    for code, (_recorded, now) in changed.items():
        rows[code].met = bool(now)
    audit_log.record("committee.test_results_rescored", enrolment, before={c: r for c, (r, _n) in changed.items()},
                     after={c: n for c, (_r, n) in changed.items()}, institution_id=enrolment.session.institution_id)
    proposal = open_proposal(enrolment)
    if proposal is not None:
        _withdraw(proposal, enrolment, "theory rescored")
        return "withdrawn"
    return "updated"


def decisions_to_correct(institution_ids: set[int]) -> list[tuple[ValidationDecision, dict[str, tuple[bool, bool | None]]]]:
    """Final decisions resting on test results that a rescoring has since changed, with what changed.

    Staff correct them through the recorded-correction route; nothing here changes a decision.
    """
    if not institution_ids:
        return []
    decisions = db.session.scalars(
        select(ValidationDecision).join(Enrolment, ValidationDecision.enrolment_id == Enrolment.id)
        .join(ValidationSession, Enrolment.session_id == ValidationSession.id)
        .join(TheoryAttempt, TheoryAttempt.enrolment_id == Enrolment.id)
        .join(AttemptItem, AttemptItem.attempt_id == TheoryAttempt.id)
        .where(ValidationSession.institution_id.in_(institution_ids), AttemptItem.item_id.in_(select(VoidedItem.item_id)))
        .distinct().order_by(ValidationDecision.id))
    return [(d, changed) for d in decisions if (changed := test_results_changed(d.enrolment))]


def can_read_decision(user: User, enrolment: Enrolment) -> bool:
    """The candidate, the committee, the institution's staff and an external auditor whose mandate
    covers the institution and the day of the decision may read the decision and protocol."""
    from ..certification.rules import WARSAW
    from ..reports.access import reader_scopes

    if user.id == enrolment.candidate_id:
        return True
    if member_of(enrolment, user) is not None:
        return True
    decision = decision_for(enrolment)
    day = decision.decided_at.astimezone(WARSAW).date() if decision is not None else None
    return any(scope.covers(enrolment.session.institution_id) and (day is not None and scope.covers_day(day))
               for scope in reader_scopes(user))


def protocol_pdf(enrolment: Enrolment, decision: ValidationDecision, result: rules.Summary | None = None) -> bytes:
    """The protocol of ``decision`` as a PDF, from the committee's records as they stand
    (``result``: the enrolment's :func:`summary`, when the caller has it already)."""
    return render_protocol(enrolment, decision, result or summary(enrolment), results=results(enrolment),
                           theory=theory_attempt(enrolment), criteria=all_criteria(enrolment),
                           members=deciding_members(enrolment), proposals=proposals(enrolment),
                           practical_state=practical_state(enrolment))
