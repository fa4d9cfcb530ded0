"""A session's seats and its waiting list: how many are taken, who waits, who moves up when one frees.

Kept apart from :mod:`.services` because the sessions' own services call it when a candidate is
withdrawn (a seat frees), and :mod:`.services` calls the sessions' services to enrol: this module
depends on neither, so the two areas do not import each other.

The order of the waiting list is ``Application.waiting_since``. An application moved up when a seat
frees goes back to the formal check (status ``submitted``) and keeps its ``waiting_since`` until
staff decide it: the seat is promised to it (see :func:`promised_seats`), and if the session is full
again when staff accept it, it goes back to the waiting list in its old place, not at the end.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..audit import services as audit_log
from ..extensions import db
from ..mail.services import queue_localised
from ..models import Application, ApplicationStatus, Enrolment, EnrolmentStatus, SessionStatus, User, ValidationSession, utcnow
from ..security import public_url


def mail_candidate(user: User, template: str, subject: Callable[[], Any], **context: Any) -> None:
    """Queue ``templates/mail/<template>.txt`` to ``user`` in their own language (``subject`` is called
    under that locale); in the caller's transaction."""
    queue_localised(user, template, subject, mine_link=public_url("applications.mine"), **context)


def seats_taken(session: ValidationSession) -> int:
    """Candidates enrolled in the session now (read from the database, not from a loaded collection)."""
    return int(db.session.scalar(select(func.count(Enrolment.id)).where(
        Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.ENROLLED)) or 0)


def seats_left(session: ValidationSession) -> int:
    """Places not taken by an enrolled candidate (never negative)."""
    return max(0, session.capacity - seats_taken(session))


def waiting_list(session: ValidationSession, lock: bool = False) -> list[Application]:
    """The session's applications on the waiting list, first in line first (``lock``: as they are
    now, under their row locks)."""
    query = (select(Application).where(Application.session_id == session.id, Application.status == ApplicationStatus.WAITING)
             .order_by(Application.waiting_since, Application.id))
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return list(db.session.scalars(query))


def promised_seats(session: ValidationSession) -> int:
    """Applications moved up from the waiting list that staff have not decided yet: a free seat is theirs."""
    return int(db.session.scalar(select(func.count(Application.id)).where(
        Application.session_id == session.id, Application.status == ApplicationStatus.SUBMITTED,
        Application.waiting_since.is_not(None))) or 0)


def fill_freed_seats(session: ValidationSession, now: datetime | None = None) -> list[Application]:
    """Move waiting applications up, one per free seat not yet promised to one moved up before.

    A moved-up application goes back to the formal check (staff accept it as any other, granting
    its accommodation) and its candidate is mailed. Nothing moves once the session has started or
    is no longer planned. Does not commit: the caller's change that freed the seat commits with it.
    """
    now = now or utcnow()
    if session.status != SessionStatus.PLANNED or session.starts_at <= now:
        return []
    db.session.flush()  # the withdrawal that freed the seat counts
    # Under the session's lock, which every change of its seats and applications takes first: two
    # seats freed at once move two up, and nobody decides a waiting application meanwhile.
    db.session.execute(select(ValidationSession.id).where(ValidationSession.id == session.id).with_for_update())
    free = seats_left(session) - promised_seats(session)
    moved = waiting_list(session, lock=True)[:max(0, free)]
    for application in moved:
        application.status = ApplicationStatus.SUBMITTED
        audit_log.record("application.moved_up", application, before={"status": ApplicationStatus.WAITING.value},
                         after={"status": ApplicationStatus.SUBMITTED.value, "session_id": session.id,
                                "candidate_id": application.candidate_id}, institution_id=session.institution_id)
        mail_candidate(application.candidate, "application_moved_up", lambda: _("A place has become free in the session"),
                       application=application, session=session)
    return moved
