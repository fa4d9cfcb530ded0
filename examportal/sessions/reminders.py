"""Reminders mailed to enrolled candidates before their session, on the days their institution
chose (InstitutionSettings.reminder_days; a validating institution without settings of its own
uses its certifying institution's).

Run once a day by the scheduler (``sessions.remind``). A candidate gets one reminder per session
and per day chosen, however often the task runs: each reminder sent is an audit entry
(``session.reminder_sent`` on the enrolment, with the number of days), written in the same
transaction as the mail it records, and a reminder already in the log is never sent again.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..audit import services as audit_log
from ..extensions import db
from ..institution import settings as institution_settings
from ..mail.services import queue_template
from ..models import AuditEntry, Enrolment, EnrolmentStatus, SessionStatus, ValidationSession, utcnow
from ..security import public_url
from .services import WARSAW

REMINDER_ACTION = "session.reminder_sent"


def local_day(moment: datetime) -> date:
    """The calendar day in Poland of a UTC instant."""
    return moment.astimezone(WARSAW).date()


def days_before(session: ValidationSession, now: datetime) -> int:
    """Whole calendar days (Polish time) from ``now`` to the day the session starts: 1 the day before."""
    return (local_day(session.starts_at) - local_day(now)).days


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=WARSAW).astimezone(UTC)


def _upcoming(now: datetime, furthest: int) -> list[ValidationSession]:
    """Planned sessions starting 1 to ``furthest`` days after today (Polish calendar)."""
    today = local_day(now)
    return list(db.session.scalars(
        select(ValidationSession).where(
            ValidationSession.status == SessionStatus.PLANNED,
            ValidationSession.starts_at >= _day_start(today + timedelta(days=1)),
            ValidationSession.starts_at < _day_start(today + timedelta(days=furthest + 1)))
        .options(selectinload(ValidationSession.enrolments).joinedload(Enrolment.candidate),
                 selectinload(ValidationSession.institution), selectinload(ValidationSession.qualification))
        .order_by(ValidationSession.starts_at, ValidationSession.id)))


def _already_sent(enrolment_ids: Iterable[int], days: int) -> set[int]:
    """The enrolments whose reminder ``days`` before the session is in the audit log."""
    ids = [str(i) for i in enrolment_ids]
    if not ids:
        return set()
    entries = db.session.execute(select(AuditEntry.object_id, AuditEntry.after).where(
        AuditEntry.action == REMINDER_ACTION, AuditEntry.object_type == Enrolment.__tablename__,
        AuditEntry.object_id.in_(ids)))
    return {int(object_id) for object_id, after in entries
            if isinstance(object_id, str) and isinstance(after, dict) and after.get("days") == days}


def _lock(session: ValidationSession) -> None:
    """One reminder run at a time per session (a row lock on PostgreSQL), so two runs at once
    cannot both find a reminder unsent."""
    db.session.execute(select(ValidationSession.id).where(ValidationSession.id == session.id).with_for_update())


def send_reminders(now: datetime | None = None) -> int:
    """Queue today's reminders: to every enrolled candidate of a planned session starting in exactly
    N days, for each N of the reminder days of the session's institution. Returns how many were
    queued (committed session by session); a reminder already sent is skipped."""
    now = now or utcnow()
    sessions = _upcoming(now, institution_settings.REMINDER_RANGE[1])
    settings = institution_settings.effective_settings_for({s.institution_id for s in sessions})
    contacts = institution_settings.contacts_for({s.institution_id for s in sessions})
    queued = 0
    for session in sessions:
        days = days_before(session, now)
        if days not in institution_settings.reminder_days_of(settings.get(session.institution_id)):
            continue
        _lock(session)
        enrolled = [e for e in session.enrolments if e.status == EnrolmentStatus.ENROLLED]
        sent = _already_sent((e.id for e in enrolled), days)
        for enrolment in enrolled:
            if enrolment.id in sent:
                continue
            candidate = enrolment.candidate
            with force_locale(candidate.locale or "pl"):
                queue_template(candidate, _("Reminder: your validation session %(title)s", title=" ".join(session.title.split())),
                               "session_reminder", session=session, contact=contacts.get(session.institution_id),
                               link=public_url("sessions.my_enrolments"))
            audit_log.record(REMINDER_ACTION, enrolment, after={"session_id": session.id, "candidate_id": candidate.id,
                                                                "days": days}, institution_id=session.institution_id)
            queued += 1
        db.session.commit()
    return queued
