"""Rules of applications: which sessions are open, who may apply, the formal check by staff.

The formal check ends in one of three ways: accepted (the candidate is enrolled through the
sessions' own :func:`~examportal.sessions.services.add_enrolment`, with the granted accommodation,
the announced fee and, when asked for, the recognition of an earlier passed theory part), rejected
(with the reason, mailed, appealable), or — when the session is full — the waiting list. Accepting
holds the session's row lock, so two staff members accepting at once cannot overfill it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..audit import services as audit_log
from ..auth.services import RODO_CLAUSE_VERSION
from ..extensions import db
from ..models import (
    Application,
    ApplicationStatus,
    Enrolment,
    EnrolmentStatus,
    Institution,
    InstitutionSettings,
    Role,
    SessionStatus,
    User,
    ValidationSession,
    utcnow,
)
from ..security import staff_institution_ids
from ..sessions import services as sessions
from ..theory import services as theory
from ..validators import is_valid_pesel, pesel_birth_date
from . import seats
from .seats import mail_candidate

#: What the candidate's "My applications" and the staff list show first: open ones, then decided.
OPEN_STATUSES = (ApplicationStatus.SUBMITTED, ApplicationStatus.WAITING, ApplicationStatus.ACCEPTED)
WITHDRAWABLE = (ApplicationStatus.SUBMITTED, ApplicationStatus.WAITING, ApplicationStatus.ACCEPTED)
DECIDABLE = (ApplicationStatus.SUBMITTED, ApplicationStatus.WAITING)
MAX_EXTRA_MINUTES = 240


class ApplicationError(ValueError):
    """A rule of applications refused the request; the message (translated) says why and what to do."""


@dataclass(frozen=True)
class ApplicationRequest:
    """What the candidate declares and asks for in the application form."""

    identity_confirmed: bool
    consent: bool
    rodo_read: bool
    rules_accepted: bool
    extra_time_minutes: int = 0
    needs_large_font: bool = False
    needs_reader: bool = False
    needs_other: str | None = None
    recognition_requested: bool = False
    recognition_note: str | None = None


@dataclass
class Acceptance:
    """How staff's "accept" ended: enrolled, or on the waiting list because the session is full;
    and what staff should know (recognition not found, a fee of 0 zł to record with its reason)."""

    application: Application
    waiting: bool = False
    recognised_from: Enrolment | None = None
    recognition_not_found: bool = False
    fee_to_record: bool = False


# --------------------------------------------------------------------------- sessions open to applications


def is_open(session: ValidationSession, now: datetime) -> bool:
    """Published, planned, not started and before its deadline."""
    return (session.published_at is not None and session.published_at <= now and session.status == SessionStatus.PLANNED
            and session.registration_deadline is not None and now <= session.registration_deadline
            and now < session.starts_at)


def open_sessions(now: datetime | None = None) -> list[ValidationSession]:
    """Sessions candidates may apply to now, soonest first."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(ValidationSession).where(
            ValidationSession.published_at.is_not(None), ValidationSession.published_at <= now,
            ValidationSession.status == SessionStatus.PLANNED, ValidationSession.registration_deadline >= now,
            ValidationSession.starts_at > now)
        .options(selectinload(ValidationSession.institution), selectinload(ValidationSession.qualification))
        .order_by(ValidationSession.starts_at, ValidationSession.id)))


def session_refusal(session: ValidationSession, now: datetime) -> str | None:
    """Why nobody may apply to the session now, or None."""
    if session.published_at is None or session.published_at > now or session.status == SessionStatus.CANCELLED:
        return str(_("This session is not open for applications."))
    if session.starts_at <= now or session.status != SessionStatus.PLANNED:
        return str(_("This session has already started: applications are closed."))
    if session.registration_deadline is None or now > session.registration_deadline:
        return str(_("The deadline for applications to this session has passed."))
    return None


def identity_missing(user: User) -> list[str]:
    """The identity data a certificate needs that the account lacks (field names): the date of
    birth, and a PESEL number or an identity document."""
    missing = []
    if user.birth_date is None:
        missing.append("birth_date")
    if not user.pesel and not (user.id_document_type and user.id_document_number):
        missing.append("identity_number")
    return missing


def open_application(candidate: User, session: ValidationSession) -> Application | None:
    """The candidate's application to the session that is not withdrawn or rejected, if any."""
    return db.session.scalar(select(Application).where(
        Application.candidate_id == candidate.id, Application.session_id == session.id,
        Application.status.in_(OPEN_STATUSES)))


def apply_refusal(candidate: User, session: ValidationSession, now: datetime | None = None) -> str | None:
    """Why the candidate may not apply to the session now, or None."""
    now = now or utcnow()
    if not candidate.has_role(Role.CANDIDATE):
        return str(_("Only a candidate's account can apply for validation."))
    refusal = session_refusal(session, now)
    if refusal:
        return refusal
    if open_application(candidate, session) is not None:
        return str(_("You have already applied to this session. Your application is under “My applications”."))
    if any(e.candidate_id == candidate.id and e.status == EnrolmentStatus.ENROLLED for e in session.enrolments):
        return str(_("You are already enrolled in this session."))
    if identity_missing(candidate):
        return str(_("Complete your identity data first: your date of birth and a PESEL number or an identity document."))
    return None


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def apply(candidate: User, session: ValidationSession, request: ApplicationRequest, now: datetime | None = None) -> Application:
    """Submit the candidate's application to a published session (before its deadline).

    Every declaration is required; the RODO information's version is recorded with the consent.
    One open application per candidate and session: a second one is refused, also when two arrive
    at once (the database's unique index decides).
    """
    now = now or utcnow()
    refusal = apply_refusal(candidate, session, now)
    if refusal:
        raise ApplicationError(refusal)
    if not (request.identity_confirmed and request.consent and request.rodo_read and request.rules_accepted):
        raise ApplicationError(_("Confirm your data and make every declaration: the application needs them all."))
    if not 0 <= request.extra_time_minutes <= MAX_EXTRA_MINUTES:
        raise ApplicationError(_("Ask for extra time in whole minutes, from 0 to %(n)d.", n=MAX_EXTRA_MINUTES))
    application = Application(
        session_id=session.id, candidate_id=candidate.id, status=ApplicationStatus.SUBMITTED, submitted_at=now,
        identity_confirmed_at=now, consent_at=now, rodo_clause_version=RODO_CLAUSE_VERSION, rules_accepted_at=now,
        extra_time_minutes=request.extra_time_minutes, needs_large_font=request.needs_large_font,
        needs_reader=request.needs_reader, needs_other=_text(request.needs_other),
        recognition_requested=request.recognition_requested,
        recognition_note=_text(request.recognition_note) if request.recognition_requested else None,
    )
    db.session.add(application)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ApplicationError(_("You have already applied to this session. Your application is under “My applications”.")) from None
    # The needs and the note are free text about the person: the entry keeps flags only.
    audit_log.record("application.submitted", application, after={
        "session_id": session.id, "candidate_id": candidate.id, "rodo_clause_version": RODO_CLAUSE_VERSION,
        "extra_time_minutes": application.extra_time_minutes, "needs_large_font": application.needs_large_font,
        "needs_reader": application.needs_reader, "needs_other": application.needs_other is not None,
        "recognition_requested": application.recognition_requested}, institution_id=session.institution_id)
    mail_candidate(candidate, "application_submitted", lambda: _("Your application has been received"),
                   application=application, session=session)
    db.session.commit()
    return application


def withdraw(candidate: User, application: Application, now: datetime | None = None) -> None:
    """The candidate withdraws their application. An accepted one only before the session starts:
    the candidate is then withdrawn from the session too and the seat goes to the waiting list."""
    now = now or utcnow()
    if application.candidate_id != candidate.id:
        raise ApplicationError(_("This is not your application."))
    sessions.lock_session(application.session)  # the seats' lock first, as accepting takes it
    locked = _locked(application)
    if locked.status not in WITHDRAWABLE:
        raise ApplicationError(_("This application has already been decided or withdrawn."))
    session = locked.session
    if locked.status == ApplicationStatus.ACCEPTED and session.starts_at <= now:
        raise ApplicationError(_("The session has started: tell the institution if you cannot take part."))
    before = {"status": locked.status.value}
    was_accepted = locked.status == ApplicationStatus.ACCEPTED
    locked.status, locked.waiting_since = ApplicationStatus.WITHDRAWN, None
    audit_log.record("application.withdrawn", locked, before=before, after={
        "status": locked.status.value, "session_id": session.id, "candidate_id": candidate.id},
        institution_id=session.institution_id)
    enrolment = locked.enrolment
    if was_accepted and enrolment is not None and enrolment.status == EnrolmentStatus.ENROLLED:
        sessions.withdraw_enrolment(enrolment)  # frees the seat (the waiting list moves up) and commits
        return
    seats.fill_freed_seats(session)  # a seat promised to a moved-up application goes to the next one
    db.session.commit()


# --------------------------------------------------------------------------- the formal check


def _locked(application: Application) -> Application:
    return db.session.scalars(select(Application).where(Application.id == application.id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def decide_refusal(actor: User, application: Application) -> str | None:
    """Why the actor may not decide the application: staff of the session's institution (or its
    certifying institution) decide open applications — never their own (nobody decides their own
    case: a staff member applying as a candidate is checked by another)."""
    if application.session.institution_id not in staff_institution_ids(actor):
        return str(_("Only staff of the institution running the session decide its applications."))
    if application.candidate_id == actor.id:
        return str(_("This is your own application: another staff member must decide it."))
    if application.status not in DECIDABLE:
        return str(_("This application has already been decided or withdrawn."))
    return None


def accommodation_summary(needs_large_font: bool, needs_reader: bool, needs_other: str | None) -> str | None:
    """The accommodation asked for, as one line for the operator (in the current language)."""
    parts = []
    if needs_large_font:
        parts.append(_("larger font"))
    if needs_reader:
        parts.append(_("a reader"))
    if (needs_other or "").strip():
        parts.append((needs_other or "").strip())
    return "; ".join(parts) or None


def requested_accommodations(application: Application) -> str | None:
    return accommodation_summary(application.needs_large_font, application.needs_reader, application.needs_other)


def accept(actor: User, application: Application, extra_time_minutes: int | None = None,
           accommodations: str | None = None, now: datetime | None = None) -> Acceptance:
    """The formal check passed: enrol the candidate, granting ``extra_time_minutes`` and
    ``accommodations`` (None: as asked). When the session is full the application goes to the
    waiting list instead (and keeps its place there if it had one). Staff may decide after the
    deadline, but not once the session has started. Mails the candidate either way."""
    now = now or utcnow()
    session = sessions.lock_session(application.session)
    application = _locked(application)
    refusal = decide_refusal(actor, application)
    if refusal:
        raise ApplicationError(refusal)
    if session.status != SessionStatus.PLANNED or session.starts_at <= now:
        raise ApplicationError(_("The session has started or is closed: its applications can no longer be accepted."))
    extra = application.extra_time_minutes if extra_time_minutes is None else extra_time_minutes
    if not 0 <= extra <= MAX_EXTRA_MINUTES:
        raise ApplicationError(_("Grant extra time in whole minutes, from 0 to %(n)d.", n=MAX_EXTRA_MINUTES))
    granted = requested_accommodations(application) if accommodations is None else _text(accommodations)
    before = {"status": application.status.value}
    if seats.seats_taken(session) >= session.capacity:
        return _to_waiting_list(actor, application, before, now)
    try:
        enrolment = sessions.add_enrolment(session, application.candidate)
    except sessions.SessionRuleError as error:
        raise ApplicationError(str(error)) from error
    db.session.flush()
    enrolment.extra_time_minutes, enrolment.accommodations = extra, granted
    outcome = Acceptance(application=application)
    if enrolment.fee_pln is None and session.fee_pln is not None:
        if session.fee_pln > 0:
            enrolment.fee_pln = session.fee_pln
        else:  # free of charge: staff record it with its reason (the database insists on one)
            outcome.fee_to_record = True
    if application.recognition_requested:
        source = theory.recognisable_enrolment(enrolment)
        enrolment.theory_recognized_from_id = source.id if source is not None else None
        outcome.recognised_from, outcome.recognition_not_found = source, source is None
    application.status, application.enrolment_id = ApplicationStatus.ACCEPTED, enrolment.id
    application.decided_by_id, application.decided_at, application.waiting_since = actor.id, now, None
    audit_log.record("application.accepted", application, before=before, after={
        "status": application.status.value, "session_id": session.id, "candidate_id": application.candidate_id,
        "enrolment_id": enrolment.id, "extra_time_minutes": extra, "fee_pln": enrolment.fee_pln,
        "theory_recognized_from_id": enrolment.theory_recognized_from_id}, institution_id=session.institution_id)
    mail_candidate(application.candidate, "application_accepted", lambda: _("Your application has been accepted"),
                   application=application, session=session, enrolment=enrolment,
                   theory=session.qualification.rules.theory, contact=institution_contact(session.institution))
    db.session.commit()
    return outcome


def _to_waiting_list(actor: User, application: Application, before: dict[str, Any], now: datetime) -> Acceptance:
    application.status = ApplicationStatus.WAITING
    application.waiting_since = application.waiting_since or now
    session = application.session
    audit_log.record("application.waitlisted", application, before=before, after={
        "status": application.status.value, "session_id": session.id, "candidate_id": application.candidate_id,
        "waiting_since": application.waiting_since}, institution_id=session.institution_id)
    mail_candidate(application.candidate, "application_waiting", lambda: _("You are on the waiting list"),
                   application=application, session=session)
    db.session.commit()
    return Acceptance(application=application, waiting=True)


def reject(actor: User, application: Application, reason: str | None, now: datetime | None = None) -> Application:
    """The formal check failed: the reason is required, mailed to the candidate with their right to
    appeal (within the qualification's ``appeal_window_days``) and the institution's contact."""
    now = now or utcnow()
    sessions.lock_session(application.session)  # the seats' lock first, as accepting takes it
    application = _locked(application)
    refusal = decide_refusal(actor, application)
    if refusal:
        raise ApplicationError(refusal)
    reason = _text(reason)
    if reason is None:
        raise ApplicationError(_("Give the reason for the rejection: the candidate receives it and may appeal."))
    before = {"status": application.status.value}
    application.status, application.rejection_reason = ApplicationStatus.REJECTED, reason
    application.decided_by_id, application.decided_at, application.waiting_since = actor.id, now, None
    session = application.session
    audit_log.record("application.rejected", application, before=before, after={
        "status": application.status.value, "session_id": session.id, "candidate_id": application.candidate_id,
        "reason": reason}, institution_id=session.institution_id)
    mail_candidate(application.candidate, "application_rejected", lambda: _("Your application has been rejected"),
                   application=application, session=session, appeal_days=appeal_days(application),
                   appeal_until=appeal_until(application), contact=institution_contact(session.institution))
    if before["status"] == ApplicationStatus.SUBMITTED.value:
        seats.fill_freed_seats(session)  # a seat promised to this moved-up application goes to the next one
    db.session.commit()
    return application


# --------------------------------------------------------------------------- what pages show


def appeal_days(application: Application) -> int:
    """The qualification's window for an appeal, in days."""
    return application.session.qualification.rules.appeal_window_days


def appeal_until(application: Application) -> date | None:
    """The last day of the appeal window against the rejection (Warsaw calendar), counted from the decision."""
    if application.decided_at is None:
        return None
    return (application.decided_at.astimezone(sessions.WARSAW) + timedelta(days=appeal_days(application))).date()


@dataclass(frozen=True)
class Contact:
    name: str
    email: str | None = None
    phone: str | None = None
    note: str | None = None
    address: str | None = None


def institution_contact(institution: Institution) -> Contact:
    """Where a candidate writes to the institution: its contact settings, else those of its
    certifying institution, else its address."""
    for source in (institution, institution.certifying):
        settings = db.session.get(InstitutionSettings, source.id)
        if settings is not None and (settings.contact_email or settings.contact_phone):
            return Contact(name=source.name, email=settings.contact_email, phone=settings.contact_phone,
                           note=settings.contact_note)
    for source in (institution, institution.certifying):
        address = ", ".join(part for part in (source.address, source.city) if part)
        if address:
            return Contact(name=source.name, address=address)
    return Contact(name=institution.name)


def candidate_applications(candidate: User) -> list[Application]:
    """The candidate's applications, newest first."""
    return list(db.session.scalars(
        select(Application).where(Application.candidate_id == candidate.id)
        .options(selectinload(Application.session).selectinload(ValidationSession.institution))
        .order_by(Application.submitted_at.desc(), Application.id.desc())))


def session_applications(session: ValidationSession) -> list[Application]:
    """The session's applications for the formal check: moved up from the waiting list first, then
    the others waiting for a decision (oldest first), the waiting list, then the decided ones."""
    rows = list(db.session.scalars(select(Application).where(Application.session_id == session.id)
                                   .options(selectinload(Application.candidate))))
    far = datetime.max.replace(tzinfo=UTC)

    def order(a: Application) -> tuple[Any, ...]:
        rank = {ApplicationStatus.SUBMITTED: 0, ApplicationStatus.WAITING: 1, ApplicationStatus.ACCEPTED: 2,
                ApplicationStatus.REJECTED: 3, ApplicationStatus.WITHDRAWN: 4}[a.status]
        return rank, a.waiting_since or far, a.submitted_at, a.id

    return sorted(rows, key=order)


# --------------------------------------------------------------------------- the candidate's identity data


@dataclass(frozen=True)
class IdentityData:
    """Identity data typed by the candidate; only what the account lacks is taken."""

    birth_date: date | None = None
    birth_place: str | None = None
    pesel: str | None = None
    id_document_type: str | None = None
    id_document_number: str | None = None


def complete_identity(user: User, data: IdentityData) -> list[str]:
    """Fill in the identity data the account lacks (never change what it has: the institution
    corrects that); returns the fields filled. A PESEL must be valid, match the date of birth and
    belong to no other account."""
    filled: list[str] = []
    if user.birth_date is None and data.birth_date is not None:
        user.birth_date = data.birth_date
        filled.append("birth_date")
    if not user.birth_place and _text(data.birth_place):
        user.birth_place = _text(data.birth_place)
        filled.append("birth_place")
    if "identity_number" in identity_missing(user):
        pesel = _text(data.pesel)
        if pesel is not None:
            if not is_valid_pesel(pesel) or (user.birth_date is not None and pesel_birth_date(pesel) != user.birth_date):
                raise ApplicationError(_("This PESEL number is not valid or does not match your date of birth."))
            user.pesel = pesel
            filled.append("pesel")
        elif data.id_document_type and _text(data.id_document_number):
            user.id_document_type, user.id_document_number = data.id_document_type, _text(data.id_document_number)
            filled.append("id_document")
    if identity_missing(user):
        raise ApplicationError(_("Give your date of birth and a PESEL number or an identity document."))
    if not filled:
        return filled
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ApplicationError(_("This PESEL number cannot be saved with your account. If it is yours, write to the "
                                 "institution.")) from None
    # Names of the fields only: the values are personal data.
    audit_log.record("account.identity_completed", user, after={"fields": filled}, actor=user)
    db.session.commit()
    return filled
