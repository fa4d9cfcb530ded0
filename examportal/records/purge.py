"""The purge of exam records past retention: who is due, what would go, and the purge itself.

``flask records purge --dry-run`` lists the people due (:func:`due`, :func:`preview`);
``flask records purge`` and the scheduler's ``records.purge`` run :func:`purge_past_retention` as
a background job, which anonymises each person in a transaction of their own: a failure stops
only that person, a retried or repeated run skips everyone anonymised already.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError

from ..certification.rules import WARSAW, add_years
from ..certification.rules import today as warsaw_today
from ..extensions import db
from ..jobs.core import JobError, Progress
from ..models import Application, Certificate, Complaint, Enrolment, Role, User, UserRole, ValidationSession
from .retention import Retention, anonymise, preview, retention_of, retention_years


@dataclass(frozen=True)
class Due:
    """A person past the retention of their exam records."""

    user_id: int
    kept_until: date
    #: What anonymising them would remove or clear, by kind (see retention.preview).
    would_remove: dict[str, int]


def _purgeable_people(today: date | None) -> list[int]:
    """People who may be past retention on ``today``, for :func:`retention_of` to decide: not
    anonymised yet, acting for no institution, with exam records, and without a certificate or a
    session recent enough to keep them anyway (those two checks only spare the work; around 29
    February they may keep someone a day longer, never purge anyone early)."""
    since = add_years(today or warsaw_today(), -retention_years())
    staff = select(UserRole.id).where(UserRole.user_id == User.id, UserRole.role != Role.CANDIDATE).exists()
    certificate_kept = select(Certificate.id).where(Certificate.holder_id == User.id,
                                                    Certificate.valid_until >= since).exists()
    session_kept = (select(Enrolment.id).join(ValidationSession, Enrolment.session_id == ValidationSession.id)
                    .where(Enrolment.candidate_id == User.id, ValidationSession.starts_at >= _midnight(since)).exists())
    has_records = or_(select(Enrolment.id).where(Enrolment.candidate_id == User.id).exists(),
                      select(Application.id).where(Application.candidate_id == User.id).exists(),
                      select(Certificate.id).where(Certificate.holder_id == User.id).exists(),
                      select(Complaint.id).where(Complaint.user_id == User.id).exists())
    return list(db.session.scalars(select(User.id).where(User.anonymised_at.is_(None), ~staff, has_records,
                                                         ~certificate_kept, ~session_kept).order_by(User.id)))


def _midnight(day: date) -> datetime:
    """The start of ``day`` in Warsaw (a session on that calendar day counts)."""
    return datetime.combine(day, time(0), WARSAW)


def _past(user_id: int, today: date | None) -> tuple[User, Retention] | None:
    user = db.session.get(User, user_id)
    if user is None or user.anonymised_at is not None:
        return None
    retention = retention_of(user, today)
    return (user, retention) if retention.past() else None


def due(today: date | None = None) -> list[Due]:
    """Everyone whose exam records are past retention on ``today``, with what would go; changes nothing."""
    found = []
    for user_id in _purgeable_people(today):
        past = _past(user_id, today)
        if past is None:
            continue
        user, retention = past
        if retention.kept_until is not None:  # always: past() needs a kept_until
            found.append(Due(user_id=user.id, kept_until=retention.kept_until, would_remove=preview(user)))
    return found


def purge_past_retention(progress: Progress | None = None, *, actor: User | None = None,
                         today: date | None = None) -> int:
    """Anonymise everyone past retention, each in their own transaction; returns how many.

    Retention is checked again for each person just before (an appeal filed since the listing
    keeps their records). A person whose anonymisation fails is rolled back and reported as a
    problem of the job; the others go on.
    """
    people = [user_id for user_id in _purgeable_people(today) if _past(user_id, today) is not None]
    db.session.rollback()  # the listing's reads end here; each person gets a transaction of their own
    if progress is not None:
        progress.total(len(people))
    done, failed = 0, []
    for user_id in people:
        try:
            past = _past(user_id, today)
            if past is not None:
                anonymise(past[0], actor=actor, cause="retention")
                done += 1
            db.session.commit()
        except SQLAlchemyError as error:
            db.session.rollback()
            message = f"{type(error).__name__}: {error}"[:500]
            current_app.logger.warning("records purge: user #%s not anonymised: %s", user_id, message)
            failed.append(user_id)
            if progress is not None:
                progress.problem(f"user #{user_id}", message)
        if progress is not None:
            progress.step()
    if failed and progress is None:
        # The others are anonymised and committed; the job fails so that someone looks (a retry skips them).
        raise JobError(f"{len(failed)} people could not be anonymised: " + ", ".join(f"#{i}" for i in failed[:20]))
    return done
