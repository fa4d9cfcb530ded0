"""Two staff members accepting at the same moment cannot overfill a session: accepting takes the
session's row lock (SELECT … FOR UPDATE) and counts the seats under it.

Real threads, each with its own application context (its own database session and connection),
really committing. On PostgreSQL they start together and the lock decides; SQLite has one writer
at a time, so there the threads take turns (as in tests/web/test_certificate_numbers.py).
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from examportal.applications import services
from examportal.extensions import db
from examportal.models import Application, ApplicationStatus, Enrolment, EnrolmentStatus, Role, User
from tests.factories import (
    make_applicant,
    make_application,
    make_institution,
    make_published_session,
    make_user,
    run_together,
)

THREADS = 6


@pytest.mark.committing
@pytest.mark.parametrize("capacity", [1, 2])
def test_staff_accepting_at_once_never_overfill_the_session(app, qualification, capacity):
    ic = make_institution("Fundacja Miejsc", qualifications=[qualification])
    session = make_published_session(ic, qualification, capacity=capacity)
    staff_ids = [make_user((Role.STAFF, ic)).id for _ in range(THREADS)]
    application_ids = [make_application(session, make_applicant()).id for _ in range(THREADS)]
    db.session.commit()

    def accept(pair):
        staff_id, application_id = pair
        outcome = services.accept(db.session.get(User, staff_id), db.session.get(Application, application_id))
        return outcome.application.status

    results, errors = run_together(app, accept, list(zip(staff_ids, application_ids, strict=True)))
    assert errors == []
    assert sorted(r.value for r in results) == sorted(["accepted"] * capacity + ["waiting"] * (THREADS - capacity))
    db.session.expire_all()
    enrolled = db.session.scalar(select(func.count(Enrolment.id)).where(
        Enrolment.session_id == session.id, Enrolment.status == EnrolmentStatus.ENROLLED))
    assert enrolled == capacity
    statuses = db.session.scalars(select(Application.status).where(Application.session_id == session.id)).all()
    assert statuses.count(ApplicationStatus.ACCEPTED) == capacity
    assert services.seats.seats_left(session) == 0
