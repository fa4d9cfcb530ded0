"""Rules for validation sessions: who may run them, who may sit on a committee, who may be enrolled."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..audit import services as audit_log
from ..audit.services import snapshot
from ..extensions import db
from ..models import (
    CommitteeMember,
    Enrolment,
    EnrolmentStatus,
    Institution,
    Qualification,
    Role,
    Scoresheet,
    SessionMode,
    TrainingRecord,
    User,
    UserRole,
    ValidationSession,
    utcnow,
)

WARSAW = ZoneInfo("Europe/Warsaw")
SESSION_FIELDS = ("title", "institution_id", "qualification_id", "starts_at", "place", "mode", "capacity", "status", "operator_id")


class SessionRuleError(ValueError):
    """A rule of the validation process refused the change; the message says why (translated)."""


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


def create_session(actor: User, data: dict) -> ValidationSession:
    """Schedule a validation session at one of the actor's institutions."""
    qualification = db.session.get(Qualification, data["qualification_id"])
    institution = db.session.get(Institution, data["institution_id"])
    if qualification is None or institution is None:
        raise SessionRuleError(_("Choose an institution and a qualification from the list."))
    if qualification not in institution.certifying.qualifications:
        raise SessionRuleError(_("This institution is not authorised to validate this qualification."))
    session = ValidationSession(
        institution_id=institution.id,
        qualification_id=qualification.id,
        title=data["title"].strip(),
        starts_at=local_to_utc(data["starts_at"]),
        place=data["place"].strip(),
        mode=SessionMode(data["mode"]),
        capacity=data["capacity"],
        created_by_id=actor.id,
    )
    db.session.add(session)
    audit_log.record("session.created", session, after=snapshot(session, SESSION_FIELDS), institution_id=institution.id)
    db.session.commit()
    return session


def update_session(session: ValidationSession, data: dict) -> ValidationSession:
    """Change a session's date, place, form or capacity."""
    before = snapshot(session, SESSION_FIELDS)
    session.title = data["title"].strip()
    session.starts_at = local_to_utc(data["starts_at"])
    session.place = data["place"].strip()
    session.mode = SessionMode(data["mode"])
    if data["capacity"] < len(active_enrolments(session)):
        raise SessionRuleError(_("More candidates are enrolled than the new number of places."))
    session.capacity = data["capacity"]
    audit_log.record("session.updated", session, before=before, after=snapshot(session, SESSION_FIELDS),
                     institution_id=session.institution_id)
    db.session.commit()
    return session


def assign_operator(session: ValidationSession, operator: User | None) -> None:
    """Make ``operator`` the exam-system operator of the session."""
    if operator is None or operator not in institution_people(session.institution, Role.OPERATOR):
        raise SessionRuleError(_("This person is not an exam-system operator of the institution."))
    before = {"operator_id": session.operator_id}
    session.operator_id = operator.id
    audit_log.record("session.operator_assigned", session, before=before, after={"operator_id": operator.id},
                     institution_id=session.institution_id)
    db.session.commit()


def active_enrolments(session: ValidationSession) -> list[Enrolment]:
    return [e for e in session.enrolments if e.status == EnrolmentStatus.ENROLLED]


def add_assessor(session: ValidationSession, assessor: User | None, is_chair: bool = False) -> CommitteeMember:
    """Put an assessor on the committee, refusing anyone who trained an enrolled candidate."""
    if assessor is None or assessor not in institution_people(session.institution, Role.ASSESSOR):
        raise SessionRuleError(_("This person is not an assessor of the institution."))
    if assessor.id in involved_assessors(session):
        raise SessionRuleError(_("This assessor is already on the committee."))
    conflicts = trained_pairs([assessor.id], [e.candidate_id for e in active_enrolments(session)])
    if conflicts:
        names = ", ".join(sorted(record.candidate.full_name for record in conflicts))
        raise SessionRuleError(
            _("%(assessor)s cannot sit on this committee: they trained the enrolled candidate(s) %(names)s.",
              assessor=assessor.full_name, names=names)
        )
    if is_chair:
        for member in session.committee:
            member.is_chair = False
    member = CommitteeMember(session=session, assessor_id=assessor.id, is_chair=is_chair)
    db.session.add(member)
    audit_log.record("committee.member_added", member, after={"session_id": session.id, "assessor_id": assessor.id,
                                                              "is_chair": is_chair}, institution_id=session.institution_id)
    db.session.commit()
    return member


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
    are part of the validation record and would go with the membership)."""
    if db.session.scalar(select(Scoresheet.id).where(Scoresheet.member_id == member.id,
                                                     Scoresheet.submitted_at.is_not(None)).limit(1)):
        raise SessionRuleError(_("This assessor has already submitted scores: they stay on the committee."))
    session = member.session
    audit_log.record("committee.member_removed", member, before={"session_id": session.id, "assessor_id": member.assessor_id},
                     institution_id=session.institution_id)
    db.session.delete(member)
    db.session.commit()


def enrol_candidate(session: ValidationSession, candidate: User | None) -> Enrolment:
    """Enrol a registered candidate, refusing one trained by a committee member."""
    if candidate is None or not candidate.has_role(Role.CANDIDATE):
        raise SessionRuleError(_("No candidate account uses this e-mail address. The candidate must register first."))
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
    audit_log.record("session.candidate_enrolled", enrolment, before=before, after=after,
                     institution_id=session.institution_id)
    db.session.commit()
    return enrolment


def withdraw_enrolment(enrolment: Enrolment) -> None:
    """Withdraw a candidate from a session (the record is kept)."""
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        raise SessionRuleError(_("This candidate has already been withdrawn from the session."))
    enrolment.status = EnrolmentStatus.WITHDRAWN
    audit_log.record("session.candidate_withdrawn", enrolment, before={"status": "enrolled"}, after={"status": "withdrawn"},
                     institution_id=enrolment.session.institution_id)
    db.session.commit()


def declare_impartiality(member: CommitteeMember, declaration: str, remarks: str | None,
                         seen_enrolment_ids: Iterable[int] | None = None) -> None:
    """Record the assessor's signed declaration of impartiality towards the candidates it covers
    (:func:`member_enrolments`), named in the declaration's text.

    ``seen_enrolment_ids`` are the candidates the signing page listed: if the list changed since
    (a candidate enrolled or withdrawn meanwhile), nothing is signed, as one cannot declare
    impartiality towards someone one has not seen named. The audit entry refers to them by id only.
    """
    if member.has_declared:
        raise SessionRuleError(_("You have already signed the declaration for this session."))
    covered = member_enrolments(member)
    if seen_enrolment_ids is not None and set(seen_enrolment_ids) != {e.id for e in covered}:
        raise SessionRuleError(_("The candidates of this session changed while the page was open. "
                                 "Read the list again before you sign."))
    conflicts = trained_pairs([member.assessor_id], [e.candidate_id for e in covered])
    if conflicts:
        raise SessionRuleError(_("You cannot declare impartiality: you trained a candidate of this session. Tell the institution."))
    member.declared_at = utcnow()
    names = "; ".join(_("%(name)s (enrolment no. %(id)s)", name=e.candidate.full_name, id=e.id) for e in covered)
    remarks = f"\n\n{remarks.strip()}" if remarks and remarks.strip() else ""
    member.declaration_text = declaration + "\n\n" + (
        _("Candidates covered: %(names)s.", names=names) if covered
        else _("No candidate was enrolled when the declaration was signed.")) + remarks
    audit_log.record("committee.impartiality_declared", member, after={
        "session_id": member.session_id, "declared_at": member.declared_at, "declaration": declaration + remarks,
        "enrolment_ids": [e.id for e in covered]}, institution_id=member.session.institution_id)
    db.session.commit()


def min_committee_size(session: ValidationSession) -> int:
    """The fewest committee members the session's qualification allows (2 for 13881)."""
    return int(session.qualification.setting("min_committee_size", default=2))


def committee_ready(session: ValidationSession) -> bool:
    """At least the qualification's minimum of members, all of whom have declared impartiality."""
    return len(session.committee) >= min_committee_size(session) and all(m.has_declared for m in session.committee)


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
