"""Rules for validation sessions: who may run them, who may sit on a committee, who may be enrolled."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..applications import seats
from ..audit import services as audit_log
from ..audit.services import snapshot
from ..checkin import services as checkin
from ..competence import services as competence
from ..extensions import db
from ..models import (
    Appeal,
    AppealRemedy,
    AppealStatus,
    AuditEntry,
    CommitteeMember,
    CompetenceKind,
    DecisionProposal,
    Enrolment,
    EnrolmentStatus,
    Institution,
    ProposalStatus,
    Qualification,
    Role,
    Scoresheet,
    SessionMode,
    SessionStatus,
    TrainingRecord,
    User,
    UserRole,
    ValidationDecision,
    ValidationSession,
    utcnow,
)
from ..theory import services as theory
from ..theory.clock import add_months

WARSAW = ZoneInfo("Europe/Warsaw")
SESSION_FIELDS = ("title", "institution_id", "qualification_id", "starts_at", "place", "mode", "capacity", "status", "operator_id",
                  "published_at", "registration_deadline", "fee_pln", "exam_networks")


class SessionRuleError(ValueError):
    """A rule of the validation process refused the change; the message says why (translated).

    ``field`` names the form field the message belongs next to, when the rule is about one.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def local_to_utc(value: datetime) -> datetime:
    """A naive local (Warsaw) date-time from a form as an aware UTC datetime."""
    return value.replace(tzinfo=WARSAW).astimezone(UTC)


def utc_to_local(value: datetime) -> datetime:
    """A stored UTC datetime as the naive local (Warsaw) date-time a form field shows."""
    return value.astimezone(WARSAW).replace(tzinfo=None)


def institution_people(institution: Institution, role: Role) -> list[User]:
    """People holding ``role`` at the institution or at its certifying institution."""
    ids = {institution.id, institution.certifying.id}
    return list(
        db.session.scalars(
            select(User).join(UserRole).where(UserRole.role == role, UserRole.institution_id.in_(ids), User.active.is_(True))
            .order_by(User.last_name, User.first_name).distinct()
        )
    )


def trained_pairs(trainer_ids: Iterable[int], candidate_ids: Iterable[int]) -> list[TrainingRecord]:
    """Training records linking any of the trainers to any of the candidates."""
    trainer_ids, candidate_ids = list(trainer_ids), list(candidate_ids)
    if not trainer_ids or not candidate_ids:
        return []
    return list(
        db.session.scalars(
            select(TrainingRecord).where(
                TrainingRecord.trainer_id.in_(trainer_ids), TrainingRecord.candidate_id.in_(candidate_ids)
            )
        )
    )


def reassessed_enrolments(enrolment: Enrolment) -> list[Enrolment]:
    """The earlier enrolments whose practical work ``enrolment`` assesses again (a new assessment
    ordered by an upheld appeal, ``Enrolment.reassessment_of_id``), nearest first; empty for an
    ordinary enrolment. A reassessment of a reassessment goes back to the work itself."""
    chain: list[Enrolment] = []
    current = enrolment.reassessment_of
    while current is not None and current not in chain and current is not enrolment:
        chain.append(current)
        current = current.reassessment_of
    return chain


def evidence_enrolment(enrolment: Enrolment) -> Enrolment:
    """The enrolment whose practical attempt, workspace and action log the committee of
    ``enrolment`` assesses: for a reassessment the original one (the candidate does not sit the
    practical part again), else the enrolment itself. Scoring, results, the decision and the
    protocol stay on ``enrolment``."""
    chain = reassessed_enrolments(enrolment)
    return chain[-1] if chain else enrolment


def earlier_involvement(session: ValidationSession, user: User) -> str | None:
    """Why ``user`` may not assess a candidate of the session whose practical work is assessed
    again after an upheld appeal: they were on the committee that assessed it first (its standing
    members or the member appointed for that candidate), or its exam-system operator. None: no such tie."""
    for enrolment in active_enrolments(session):
        for original in reassessed_enrolments(enrolment):
            members = select(CommitteeMember.id).where(
                CommitteeMember.session_id == original.session_id, CommitteeMember.assessor_id == user.id,
                or_(CommitteeMember.enrolment_id.is_(None), CommitteeMember.enrolment_id == original.id))
            if db.session.scalar(members.limit(1)) is not None:
                return _("%(name)s cannot sit on this committee: they were on the committee that first assessed "
                         "%(candidate)s (session “%(title)s”), and a new assessment after an appeal is made by new "
                         "people.", name=user.full_name, candidate=enrolment.candidate.full_name,
                         title=original.session.title)
            if user.id in (original.session.operator_id, original.practical_absent_by_id):
                return _("%(name)s cannot sit on this committee: they were the exam-system operator when "
                         "%(candidate)s was first assessed (session “%(title)s”).", name=user.full_name,
                         candidate=enrolment.candidate.full_name, title=original.session.title)
    return None


def create_session(actor: User, data: dict) -> ValidationSession:
    """Schedule a validation session at one of the actor's institutions."""
    qualification = db.session.get(Qualification, data["qualification_id"])
    institution = db.session.get(Institution, data["institution_id"])
    if qualification is None or institution is None:
        raise SessionRuleError(_("Choose an institution and a qualification from the list."))
    # A validating institution holds its own authorisation (granted by the administrator, and only
    # for what its certifying institution holds): acting for an authorised one is not enough.
    if qualification not in institution.qualifications:
        raise SessionRuleError(_("%(name)s is not authorised to validate %(code)s: the administrator authorises it "
                                 "first.", name=institution.name, code=qualification.code))
    session = ValidationSession(
        institution_id=institution.id,
        qualification_id=qualification.id,
        title=data["title"].strip(),
        starts_at=local_to_utc(data["starts_at"]),
        place=data["place"].strip(),
        mode=SessionMode(data["mode"]),
        capacity=data["capacity"],
        exam_networks=_networks(data),
        created_by_id=actor.id,
    )
    _set_publication(session, data)
    db.session.add(session)
    audit_log.record("session.created", session, after=snapshot(session, SESSION_FIELDS), institution_id=institution.id)
    db.session.commit()
    return session


def _networks(data: dict) -> str | None:
    """The exam room's networks as stored: one CIDR block per line, or None (no restriction)."""
    try:
        networks = checkin.parse_networks(data.get("exam_networks"))
    except ValueError as error:
        raise SessionRuleError(str(error), field="exam_networks") from None
    return "\n".join(str(network) for network in networks) or None


def lock_session(session: ValidationSession) -> ValidationSession:
    """Take the session's row lock (SELECT … FOR UPDATE) and see its enrolments as they are now.
    Every change that counts the session's places takes it first (accepting an application, a
    direct enrolment, a new number of places), so whoever comes next waits until this transaction
    ends and then counts what it changed."""
    locked = db.session.scalars(select(ValidationSession).where(ValidationSession.id == session.id)
                                .with_for_update().execution_options(populate_existing=True)).one()
    db.session.expire(locked, ["enrolments"])
    return locked


def update_session(session: ValidationSession, data: dict) -> ValidationSession:
    """Change a session's date, place, form or capacity (under the session's lock: no enrolment
    lands between counting the enrolled and the new number of places)."""
    session = lock_session(session)
    before = snapshot(session, SESSION_FIELDS)
    session.title = data["title"].strip()
    session.starts_at = local_to_utc(data["starts_at"])
    session.place = data["place"].strip()
    session.mode = SessionMode(data["mode"])
    if data["capacity"] < len(active_enrolments(session)):
        raise SessionRuleError(_("More candidates are enrolled than the new number of places."))
    session.capacity = data["capacity"]
    if "exam_networks" in data:
        session.exam_networks = _networks(data)
    if "published" in data:
        _set_publication(session, data)
    audit_log.record("session.updated", session, before=before, after=snapshot(session, SESSION_FIELDS),
                     institution_id=session.institution_id)
    seats.fill_freed_seats(session)  # more places: the waiting list moves up
    db.session.commit()
    return session


def _set_publication(session: ValidationSession, data: dict) -> None:
    """Open the session to candidates' applications (or close it): ``published`` (a checkbox),
    ``registration_deadline`` (naive Warsaw time, as the form gives it) and the announced ``fee_pln``.

    A published session has a deadline, and the deadline comes before the session starts (staff
    still decide applications after it). Publishing again keeps the first moment of publication.
    """
    deadline = data.get("registration_deadline")
    session.registration_deadline = local_to_utc(deadline) if deadline else None
    fee = data.get("fee_pln")
    if fee is not None and fee < 0:
        raise SessionRuleError(_("The fee cannot be negative."), field="fee_pln")
    session.fee_pln = fee
    session.published_at = (session.published_at or utcnow()) if data.get("published") else None
    if session.registration_deadline is not None and session.registration_deadline >= session.starts_at:
        raise SessionRuleError(_("The deadline for applications must be before the session starts."),
                               field="registration_deadline")
    if session.published_at is not None and session.registration_deadline is None:
        raise SessionRuleError(_("Set the deadline for applications before publishing the session."),
                               field="registration_deadline")


def picker_label(session: ValidationSession, user: User, kind: CompetenceKind) -> str:
    """How a person is offered for appointment to the session: their name, marked when their
    competence record would be refused (so staff see why before they choose)."""
    if competence.appointment_refusal(user, kind, session.qualification, session.starts_at) is not None:
        return _("%(name)s — does not meet the requirements", name=user.full_name)
    if kind == CompetenceKind.ASSESSOR and impartiality_refusal(session, user) is not None:
        return _("%(name)s — cannot sit on this committee", name=user.full_name)
    return user.full_name


def assign_operator(session: ValidationSession, operator: User | None) -> None:
    """Make ``operator`` the exam-system operator of the session, refusing anyone whose competence
    record does not meet the qualification's requirements on the session's day."""
    if operator is None or operator not in institution_people(session.institution, Role.OPERATOR):
        raise SessionRuleError(_("This person is not an exam-system operator of the institution."))
    if any(e.candidate_id == operator.id for e in active_enrolments(session)):
        raise SessionRuleError(_("%(name)s is a candidate of this session: the operator does not supervise their own "
                                 "exam.", name=operator.full_name))
    if session.status in (SessionStatus.CLOSED, SessionStatus.CANCELLED):
        raise SessionRuleError(_("The session is closed: the record keeps the operator who supervised it."))
    refusal = competence.appointment_refusal(operator, CompetenceKind.OPERATOR, session.qualification, session.starts_at)
    if refusal:
        raise SessionRuleError(refusal)
    before = {"operator_id": session.operator_id}
    session.operator_id = operator.id
    audit_log.record("session.operator_assigned", session, before=before, after={"operator_id": operator.id},
                     institution_id=session.institution_id)
    db.session.commit()


def active_enrolments(session: ValidationSession) -> list[Enrolment]:
    return [e for e in session.enrolments if e.status == EnrolmentStatus.ENROLLED]


def add_assessor(session: ValidationSession, assessor: User | None, is_chair: bool = False) -> CommitteeMember:
    """Put an assessor on the committee, refusing anyone who trained an enrolled candidate, whose
    competence record does not meet the qualification's requirements on the session's day, or who
    took part in the first assessment of a candidate assessed again after an appeal
    (:func:`earlier_involvement`); and refusing any change once the committee has proposed a decision
    (:func:`membership_change_refusal`)."""
    refusal = membership_change_refusal(session)
    if refusal:
        raise SessionRuleError(refusal)
    if assessor is None or assessor not in institution_people(session.institution, Role.ASSESSOR):
        raise SessionRuleError(_("This person is not an assessor of the institution."))
    if assessor.id in involved_assessors(session):
        raise SessionRuleError(_("This assessor is already on the committee."))
    refusal = competence.appointment_refusal(assessor, CompetenceKind.ASSESSOR, session.qualification, session.starts_at)
    if refusal:
        raise SessionRuleError(refusal)
    refusal = impartiality_refusal(session, assessor)
    if refusal:
        raise SessionRuleError(refusal)
    if is_chair:
        for member in session.committee:
            member.is_chair = False
    member = CommitteeMember(session=session, assessor_id=assessor.id, is_chair=is_chair)
    db.session.add(member)
    audit_log.record("committee.member_added", member, after={"session_id": session.id, "assessor_id": assessor.id,
                                                              "is_chair": is_chair}, institution_id=session.institution_id)
    db.session.commit()
    return member


def impartiality_refusal(session: ValidationSession, assessor: User) -> str | None:
    """Why ``assessor`` may not sit on the session's committee for want of impartiality: they
    trained an enrolled candidate, or took part in the first assessment of a candidate assessed
    again after an appeal (:func:`earlier_involvement`); None when nothing stands in the way."""
    if any(e.candidate_id == assessor.id for e in active_enrolments(session)):
        return _("%(assessor)s is a candidate of this session: nobody sits on the committee that assesses them.",
                 assessor=assessor.full_name)
    conflicts = trained_pairs([assessor.id], [e.candidate_id for e in active_enrolments(session)])
    if conflicts:
        names = ", ".join(sorted(record.candidate.full_name for record in conflicts))
        return _("%(assessor)s cannot sit on this committee: they trained the enrolled candidate(s) %(names)s.",
                 assessor=assessor.full_name, names=names)
    return earlier_involvement(session, assessor)


def membership_change_refusal(session: ValidationSession) -> str | None:
    """Why the session's committee can no longer gain or lose a member, or None while it can.

    Once the committee has proposed a decision for any candidate of the session, the committee that
    proposed it is the one whose votes decide: a member added or taken off afterwards would change
    the majority (after a dissent, the institution appoints one more member for that candidate
    through :func:`examportal.committee.services.appoint_extra_member`, the one change allowed). A
    decision recorded without a proposal (older data) fixes it too, and so does the session's end.
    """
    if session.status in (SessionStatus.CLOSED, SessionStatus.CANCELLED):
        return _("The session is closed: its committee no longer changes.")
    proposed = db.session.scalar(
        select(DecisionProposal.id).join(Enrolment, DecisionProposal.enrolment_id == Enrolment.id)
        .where(Enrolment.session_id == session.id).limit(1))
    if proposed is None:
        proposed = db.session.scalar(
            select(ValidationDecision.id).join(Enrolment, ValidationDecision.enrolment_id == Enrolment.id)
            .where(Enrolment.session_id == session.id).limit(1))
    if proposed is not None:
        return _("The committee has already proposed a decision for a candidate of this session, so its members "
                 "can no longer change. After a dissent, appoint one more member for that candidate instead.")
    return None


def involved_assessors(session: ValidationSession) -> set[int]:
    """Everyone on the session's committee, including members appointed for one candidate."""
    return set(db.session.scalars(select(CommitteeMember.assessor_id).where(CommitteeMember.session_id == session.id)))


def membership(session: ValidationSession, user: User) -> CommitteeMember | None:
    """The user's place on the session's committee (standing, or for one candidate), if any."""
    return db.session.scalar(select(CommitteeMember).where(CommitteeMember.session_id == session.id,
                                                           CommitteeMember.assessor_id == user.id))


def member_enrolments(member: CommitteeMember) -> list[Enrolment]:
    """The candidates the member assesses: one for a member appointed for a candidate, else all enrolled."""
    if member.enrolment_id is not None:
        enrolment = db.session.get(Enrolment, member.enrolment_id)
        return [enrolment] if enrolment is not None and enrolment.status == EnrolmentStatus.ENROLLED else []
    return active_enrolments(member.session)


def remove_assessor(member: CommitteeMember) -> None:
    """Take an assessor off the committee, unless they have submitted scores (their scoresheets
    are part of the validation record and would go with the membership) or the committee has
    proposed a decision (:func:`membership_change_refusal`)."""
    refusal = membership_change_refusal(member.session)
    if refusal:
        raise SessionRuleError(refusal)
    # The membership's lock, which a submission of scores takes too: a submission committing between
    # this check and the removal would otherwise go with the membership (its scoresheets cascade).
    db.session.execute(select(CommitteeMember.id).where(CommitteeMember.id == member.id).with_for_update())
    if db.session.scalar(select(Scoresheet.id).where(Scoresheet.member_id == member.id,
                                                     Scoresheet.submitted_at.is_not(None)).limit(1)):
        raise SessionRuleError(_("This assessor has already submitted scores: they stay on the committee."))
    session = member.session
    audit_log.record("committee.member_removed", member, before={"session_id": session.id, "assessor_id": member.assessor_id},
                     institution_id=session.institution_id)
    db.session.delete(member)
    db.session.commit()


def enrol_candidate(session: ValidationSession, candidate: User | None) -> Enrolment:
    """Enrol a registered candidate, refusing one trained by a committee member (under the
    session's lock, as accepting an application: the places are counted once)."""
    enrolment = add_enrolment(lock_session(session), candidate)
    db.session.commit()
    return enrolment


def add_enrolment(session: ValidationSession, candidate: User | None) -> Enrolment:
    """:func:`enrol_candidate` without the commit, for a caller that changes more in the same
    transaction (accepting an application). The caller holds the session's lock (:func:`lock_session`)."""
    if candidate is None or not candidate.has_role(Role.CANDIDATE):
        raise SessionRuleError(_("No candidate account uses this e-mail address. The candidate must register first."))
    if session.status in (SessionStatus.CLOSED, SessionStatus.CANCELLED):
        raise SessionRuleError(_("The session is closed: nobody can be enrolled in it any more."))
    if candidate.id == session.operator_id:
        raise SessionRuleError(_("%(name)s is the session's exam-system operator, who does not sit the exam they "
                                 "supervise.", name=candidate.full_name))
    if candidate.id in involved_assessors(session):
        raise SessionRuleError(_("%(name)s sits on the session's committee, which does not assess its own members.",
                                 name=candidate.full_name))
    existing = next((e for e in session.enrolments if e.candidate_id == candidate.id), None)
    if existing is not None and existing.status == EnrolmentStatus.ENROLLED:
        raise SessionRuleError(_("This candidate is already enrolled in the session."))
    if len(active_enrolments(session)) >= session.capacity:
        raise SessionRuleError(_("The session is full."))
    conflicts = trained_pairs([m.assessor_id for m in session.committee], [candidate.id])
    if conflicts:
        names = ", ".join(sorted(record.trainer.full_name for record in conflicts))
        raise SessionRuleError(
            _("%(candidate)s cannot be enrolled here: committee member(s) %(names)s trained them. Change the committee or choose another session.",
              candidate=candidate.full_name, names=names)
        )
    before: dict[str, Any] | None = None
    after: dict[str, Any] = {"session_id": session.id, "candidate_id": candidate.id}
    if existing is not None:
        # Enrolled again after a withdrawal: the same row changes status.
        before, after["status"] = {"status": existing.status.value}, EnrolmentStatus.ENROLLED.value
        existing.status = EnrolmentStatus.ENROLLED
        enrolment = existing
    else:
        enrolment = Enrolment(session=session, candidate_id=candidate.id)
        db.session.add(enrolment)
    db.session.flush()
    waiver = retake_waiver(session, candidate.id, enrolment.id, lock=True)
    if waiver is not None:
        _grant_retake(waiver, enrolment)
        after.update(fee_pln=enrolment.fee_pln, theory_recognized_from_id=enrolment.theory_recognized_from_id,
                     appeal_id=waiver.id)
    audit_log.record("session.candidate_enrolled", enrolment, before=before, after=after,
                     institution_id=session.institution_id)
    return enrolment


#: The fee reason of an enrolment that uses a retake without a fee granted by an upheld appeal.
RETAKE_FEE_REASON = "powtórzenie części bez opłaty po uwzględnieniu odwołania"


def retake_waiver(session: ValidationSession, candidate_id: int, enrolment_id: int | None = None, *,
                  lock: bool = False) -> Appeal | None:
    """The upheld appeal whose remedy — a retake of a part without a fee — an enrolment of the
    candidate in ``session`` uses, or None.

    The retake is taken at the institution and in the qualification of the enrolment appealed,
    in a session starting after the remedy was carried out and within the qualification's
    ``carry_over_months`` of it. Each grant serves one enrolment (recorded in the appeal's
    ``remedy_detail`` as ``used_by_enrolment_id``); a withdrawal from that session frees it again.
    ``lock``: for an enrolment that will use it, the appeals are read under their row locks, so two
    enrolments in different sessions accepted at once never both use one grant.
    """
    months = session.qualification.rules.carry_over_months
    query = (select(Appeal).where(Appeal.appellant_id == candidate_id, Appeal.status == AppealStatus.UPHELD,
                                  Appeal.remedy == AppealRemedy.RETAKE, Appeal.remedy_done_at.is_not(None),
                                  Appeal.enrolment_id.is_not(None))
             .order_by(Appeal.remedy_done_at, Appeal.id))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    appeals = db.session.scalars(query).all()
    for appeal in appeals:
        original, done = appeal.enrolment, appeal.remedy_done_at
        if original is None or done is None or original.session_id == session.id:
            continue
        if (original.session.institution_id, original.session.qualification_id) != (
                session.institution_id, session.qualification_id):
            continue
        if not done < session.starts_at <= add_months(done, months):
            continue
        used = (appeal.remedy_detail or {}).get("used_by_enrolment_id")
        if used is not None and used != enrolment_id:
            holder = db.session.get(Enrolment, used)
            if holder is not None and holder.status == EnrolmentStatus.ENROLLED:
                continue
        return appeal
    return None


def _grant_retake(appeal: Appeal, enrolment: Enrolment) -> None:
    """The enrolment uses the appeal's retake: no fee, and — for a retake of the practical part —
    the passed theory part recognised (ZSK act art. 49; :func:`theory.recognisable_enrolment`)."""
    detail = dict(appeal.remedy_detail or {})
    enrolment.fee_pln, enrolment.fee_reason = Decimal("0.00"), RETAKE_FEE_REASON
    if detail.get("part") == "practical" and enrolment.theory_recognized_from_id is None:
        source = theory.recognisable_enrolment(enrolment)
        enrolment.theory_recognized_from_id = source.id if source is not None else None
    appeal.remedy_detail = {**detail, "used_by_enrolment_id": enrolment.id}
    audit_log.record("appeal.retake_used", appeal, after={
        "enrolment_id": enrolment.id, "session_id": enrolment.session_id, "part": detail.get("part"),
        "theory_recognized_from_id": enrolment.theory_recognized_from_id}, institution_id=appeal.institution_id)


def withdrawal_refusals(enrolments: Sequence[Enrolment]) -> dict[int, str]:
    """Why each of ``enrolments`` can no longer be withdrawn from its session, by enrolment id (only
    those refused; two queries for the whole list).

    A validation decision is changed only by an appeal or a recorded correction, never by taking the
    candidate off the session (which would also block their certification with nothing to appeal);
    while the committee votes on a proposed decision, the candidate stays for the vote to end.
    """
    ids = [e.id for e in enrolments]
    if not ids:
        return {}
    decided = set(db.session.scalars(select(ValidationDecision.enrolment_id).where(ValidationDecision.enrolment_id.in_(ids))))
    voting = set(db.session.scalars(select(DecisionProposal.enrolment_id).where(
        DecisionProposal.enrolment_id.in_(ids), DecisionProposal.status.in_((ProposalStatus.OPEN, ProposalStatus.DISPUTED)))))
    refusals = {}
    for enrolment_id in ids:
        if enrolment_id in decided:
            refusals[enrolment_id] = _("The committee has decided this candidate's validation, so they can no longer be "
                                       "withdrawn from the session. The decision changes only through an appeal or a "
                                       "recorded correction.")
        elif enrolment_id in voting:
            refusals[enrolment_id] = _("The committee has proposed a decision for this candidate and is voting on it, "
                                       "so they cannot be withdrawn from the session now.")
    return refusals


def withdrawal_refusal(enrolment: Enrolment) -> str | None:
    """Why the candidate can no longer be withdrawn from the session, or None (:func:`withdrawal_refusals`)."""
    return withdrawal_refusals([enrolment]).get(enrolment.id)


def withdraw_enrolment(enrolment: Enrolment) -> None:
    """Withdraw a candidate from a session (the record is kept), unless the committee has decided
    or proposed a decision for them (:func:`withdrawal_refusal`)."""
    lock_session(enrolment.session)  # the seats' lock first: a withdrawal clicked twice withdraws once
    db.session.refresh(enrolment)
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise SessionRuleError(_("This candidate has already been withdrawn from the session."))
    refusal = withdrawal_refusal(enrolment)
    if refusal:
        raise SessionRuleError(refusal)
    enrolment.status = EnrolmentStatus.WITHDRAWN
    audit_log.record("session.candidate_withdrawn", enrolment, before={"status": "enrolled"}, after={"status": "withdrawn"},
                     institution_id=enrolment.session.institution_id)
    seats.fill_freed_seats(enrolment.session)  # the first on the waiting list moves up
    db.session.commit()


#: The audit action of a signed declaration of impartiality; its entry names the candidates the
#: declaration covers (``enrolment_ids``), which is what :func:`declared_enrolment_ids` reads.
DECLARATION_ACTION = "committee.impartiality_declared"


def declared_enrolment_ids(member: CommitteeMember) -> set[int] | None:
    """The enrolments the member's declarations of impartiality name (empty before the first).

    Each declaration names the candidates it covers, and its audit entry records them by id. None:
    the member's declaration names no one (signed before declarations named their candidates), and
    covers the session's candidates as a whole, as such a declaration did.
    """
    if not member.has_declared:
        return set()
    # Read once per declaration as the member row holds it (a list of a thousand candidates asks
    # once): every declaration, first or further, changes the declaration's text.
    key = (member.id, member.declared_at, member.declaration_text)
    read = vars(member).get("_declared_enrolment_ids")
    if read is not None and read[0] == key:
        return set(read[1]) if read[1] is not None else None
    entries: list[dict[str, Any] | None] = list(db.session.scalars(select(AuditEntry.after).where(
        AuditEntry.action == DECLARATION_ACTION, AuditEntry.object_type == CommitteeMember.__tablename__,
        AuditEntry.object_id == str(member.id))))
    lists = [after.get("enrolment_ids") if isinstance(after, dict) else None for after in entries]
    named = ({i for ids in lists if isinstance(ids, list) for i in ids if isinstance(i, int)}
             if lists and all(isinstance(ids, list) for ids in lists) else None)
    vars(member)["_declared_enrolment_ids"] = (key, frozenset(named) if named is not None else None)
    return named


def declared_for(member: CommitteeMember, enrolment: Enrolment, named: set[int] | None = None) -> bool:
    """Whether a declaration of impartiality the member signed covers the candidate (``named``: the
    member's :func:`declared_enrolment_ids`, when the caller has read them)."""
    if not member.has_declared:
        return False
    named = declared_enrolment_ids(member) if named is None else named
    return named is None or enrolment.id in named


def undeclared_enrolments(member: CommitteeMember) -> list[Enrolment]:
    """The candidates the member assesses (:func:`member_enrolments`) whom no declaration of theirs
    covers yet: all of them before the first declaration; afterwards those enrolled since, whom a
    further declaration covers before the member assesses them."""
    named = declared_enrolment_ids(member)
    return [e for e in member_enrolments(member) if not declared_for(member, e, named)]


def declare_impartiality(member: CommitteeMember, declaration: str, remarks: str | None,
                         seen_enrolment_ids: Iterable[int] | None = None) -> None:
    """Record the assessor's signed declaration of impartiality towards the candidates it covers
    (:func:`undeclared_enrolments`), named in the declaration's text.

    A member who has declared signs a further declaration for the candidates enrolled since; it is
    added to the declaration's text (``declared_at`` stays the first signature) and audited as the
    first one. ``seen_enrolment_ids`` are the candidates the signing page listed: if the list changed
    since (a candidate enrolled or withdrawn meanwhile), nothing is signed, as one cannot declare
    impartiality towards someone one has not seen named. The audit entry refers to them by id only.
    """
    covered = undeclared_enrolments(member)
    if member.has_declared and not covered:
        raise SessionRuleError(_("You have already signed the declaration for this session."))
    if seen_enrolment_ids is not None and set(seen_enrolment_ids) != {e.id for e in covered}:
        raise SessionRuleError(_("The candidates of this session changed while the page was open. "
                                 "Read the list again before you sign."))
    conflicts = trained_pairs([member.assessor_id], [e.candidate_id for e in covered])
    if conflicts:
        raise SessionRuleError(_("You cannot declare impartiality: you trained a candidate of this session. Tell the institution."))
    now = utcnow()
    names = "; ".join(_("%(name)s (enrolment no. %(id)s)", name=e.candidate.full_name, id=e.id) for e in covered)
    remarks = f"\n\n{remarks.strip()}" if remarks and remarks.strip() else ""
    text = declaration + "\n\n" + (
        _("Candidates covered: %(names)s.", names=names) if covered
        else _("No candidate was enrolled when the declaration was signed.")) + remarks
    if member.has_declared:
        signed = now.astimezone(WARSAW).strftime("%Y-%m-%d %H:%M")
        member.declaration_text = (member.declaration_text or "") + "\n\n" + _(
            "Further declaration, signed %(at)s:", at=signed) + "\n\n" + text
    else:
        member.declared_at, member.declaration_text = now, text
    audit_log.record(DECLARATION_ACTION, member, after={
        "session_id": member.session_id, "declared_at": now, "declaration": declaration + remarks,
        "enrolment_ids": [e.id for e in covered]}, institution_id=member.session.institution_id)
    db.session.commit()


def min_committee_size(session: ValidationSession) -> int:
    """The fewest committee members the session's qualification allows (2 for 13881)."""
    return session.qualification.rules.min_committee_size


def committee_ready(session: ValidationSession) -> bool:
    """At least the qualification's minimum of members, all of whom have declared impartiality
    towards every candidate (:func:`undeclared_enrolments`)."""
    return len(session.committee) >= min_committee_size(session) and all(
        m.has_declared and not undeclared_enrolments(m) for m in session.committee)


def possible_trainers(institutions: Sequence[Institution]) -> list[User]:
    """Everyone working for the institutions (assessors, operators, staff) who could have trained a
    candidate, by name."""
    people = {u.id: u for i in institutions for role in (Role.ASSESSOR, Role.OPERATOR, Role.STAFF)
              for u in institution_people(i, role)}
    return sorted(people.values(), key=lambda u: (u.last_name, u.first_name))


def trainer_institution(trainer: User, institutions: Sequence[Institution]) -> Institution:
    """Of the staff member's institutions, the one the trainer works for (the record belongs there).

    A trainer with a role at a validating institution is recorded there; one known only through
    the certifying institution, at the certifying institution.
    """
    held = {r.institution_id for r in trainer.roles}
    for institution in sorted(institutions, key=lambda i: i.id):
        if institution.id in held:
            return institution
    certifying = [i for i in institutions if i.parent_id is None]
    return min(certifying or institutions, key=lambda i: i.id)


#: A training was recorded (``sender``: the TrainingRecord), in its transaction: the committee
#: withdraws a proposal its trainer took part in (examportal.committee.services).
training_recorded = Namespace().signal("examportal.training-recorded")


def record_training(actor: User, institution: Institution, trainer: User, candidate: User | None, course: str | None) -> TrainingRecord:
    """Record that ``trainer`` prepared ``candidate``; the trainer may then never assess them."""
    if candidate is None or not candidate.has_role(Role.CANDIDATE):
        raise SessionRuleError(_("No candidate account uses this e-mail address."))
    if db.session.scalar(select(TrainingRecord.id).where(TrainingRecord.trainer_id == trainer.id,
                                                         TrainingRecord.candidate_id == candidate.id)):
        raise SessionRuleError(_("This training is already recorded."))
    record = TrainingRecord(trainer_id=trainer.id, candidate_id=candidate.id, institution_id=institution.id,
                            course=(course or "").strip() or None, recorded_by_id=actor.id)
    db.session.add(record)
    audit_log.record("training.recorded", record, after={"trainer_id": trainer.id, "candidate_id": candidate.id,
                                                         "course": record.course}, institution_id=institution.id)
    training_recorded.send(record)
    db.session.commit()
    return record


def sessions_for_staff(institution_ids: set[int]) -> list[ValidationSession]:
    if not institution_ids:
        return []
    return list(db.session.scalars(
        select(ValidationSession).where(ValidationSession.institution_id.in_(institution_ids))
        .options(selectinload(ValidationSession.committee), selectinload(ValidationSession.enrolments),
                 selectinload(ValidationSession.institution))
        .order_by(ValidationSession.starts_at.desc())
    ))


def sessions_for_assessor(user: User) -> list[CommitteeMember]:
    return list(db.session.scalars(
        select(CommitteeMember).join(ValidationSession).where(CommitteeMember.assessor_id == user.id)
        .order_by(ValidationSession.starts_at.desc())
    ))


def sessions_for_operator(user: User) -> list[ValidationSession]:
    return list(db.session.scalars(
        select(ValidationSession).where(ValidationSession.operator_id == user.id).order_by(ValidationSession.starts_at.desc())
    ))


def enrolments_for_candidate(user: User) -> list[Enrolment]:
    return list(db.session.scalars(
        select(Enrolment).join(ValidationSession).where(Enrolment.candidate_id == user.id)
        .order_by(ValidationSession.starts_at.desc())
    ))
