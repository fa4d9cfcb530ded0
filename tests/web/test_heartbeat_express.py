"""The heartbeat's express lane (examportal/theory/express.py) changes nothing the portal answers.

As for the autosave's lane (test_autosave_express.py): each case is played on fresh, identical
tests with the lane and without it (``THEORY_EXPRESS_AUTOSAVE`` off) and must answer alike — the
same status and body, the same attempt afterwards (its status, whether its last contact was
written), the same question remembered for "Continue the test". An ordinary heartbeat takes the
lane (one query, and a write only when the last contact is old); everything else the full view.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import g, request, request_finished
from sqlalchemy import select

from examportal.extensions import db
from examportal.metrics import AUTOSAVE_LANE
from examportal.models import AttemptStatus, Role, TheoryAttempt, User, UserRole, ValidationSession, utcnow
from examportal.theory import clock, express
from tests.web.test_autosave_express import Exam, _comparable, _set, new_exam  # noqa: F401  (the fixture, used below)


@pytest.fixture
def exams(request):
    """test_autosave_express's ``new_exam``: a fresh running test of a new candidate per call."""
    return request.getfixturevalue("new_exam")


def _beat(exam: Exam, **fields: Any) -> tuple[int, Any]:
    attempt_id = fields.pop("attempt_id", exam.attempt_id)
    data = {"position": exam.position} | fields
    data = {k: v for k, v in data.items() if v is not None}
    seen: list[str] = []

    def record(sender, response, **extra):
        if request.endpoint == express.HEARTBEAT:
            seen.append(g.get(AUTOSAVE_LANE, "full"))

    request_finished.connect(record)
    try:
        response = exam.client.post(f"/theory/attempts/{attempt_id}/heartbeat", data=data, headers={"Accept": "application/json"})
    finally:
        request_finished.disconnect(record)
    exam.lane = seen[-1] if seen else None
    body = response.get_json(silent=True)
    return response.status_code, body if body is not None else response.headers.get("Location")


def _old_contact(exam: Exam) -> None:
    _set(TheoryAttempt, exam.attempt_id, last_contact_at=utcnow() - timedelta(seconds=clock.CONTACT_WRITE_SECONDS + 5))


def _ordinary(exam: Exam) -> tuple[int, Any]:
    exam.post(seq=7)
    return _beat(exam)


def _contact_old(exam: Exam) -> tuple[int, Any]:
    _old_contact(exam)
    return _beat(exam)


def _contact_fresh(exam: Exam) -> tuple[int, Any]:
    _set(TheoryAttempt, exam.attempt_id, last_contact_at=utcnow() - timedelta(seconds=5))
    return _beat(exam)


def _another_question(exam: Exam) -> tuple[int, Any]:
    return _beat(exam, position=2)


def _junk_position(exam: Exam) -> tuple[int, Any]:
    return _beat(exam, position="2x")


def _no_such_question(exam: Exam) -> tuple[int, Any]:
    return _beat(exam, position=999)


def _no_position(exam: Exam) -> tuple[int, Any]:
    return _beat(exam, position=None)


def _inside_the_room(exam: Exam) -> tuple[int, Any]:
    _old_contact(exam)
    _set(ValidationSession, exam.session_id, exam_networks=f"{exam.client.environ_base['REMOTE_ADDR']}/32")
    return _beat(exam)


def _paused(exam: Exam) -> tuple[int, Any]:
    _old_contact(exam)
    _set(TheoryAttempt, exam.attempt_id, status=AttemptStatus.PAUSED, paused_at=utcnow())
    return _beat(exam)


def _submitted(exam: Exam) -> tuple[int, Any]:
    _set(TheoryAttempt, exam.attempt_id, status=AttemptStatus.SUBMITTED, submitted_at=utcnow())
    return _beat(exam)


def _time_up(exam: Exam) -> tuple[int, Any]:
    _set(TheoryAttempt, exam.attempt_id, deadline_at=utcnow() - timedelta(seconds=1))
    return _beat(exam)


def _last_seconds(exam: Exam) -> tuple[int, Any]:
    _set(TheoryAttempt, exam.attempt_id, deadline_at=utcnow() + timedelta(seconds=express.MARGIN_SECONDS / 2))
    return _beat(exam)


def _outside_the_room(exam: Exam) -> tuple[int, Any]:
    _set(ValidationSession, exam.session_id, exam_networks="10.9.8.0/24")
    return _beat(exam)


def _deactivated(exam: Exam) -> tuple[int, Any]:
    _set(User, exam.candidate.id, active=False)
    return _beat(exam)


def _no_longer_a_candidate(exam: Exam) -> tuple[int, Any]:
    db.session.query(UserRole).filter_by(user_id=exam.candidate.id, role=Role.CANDIDATE).delete()
    db.session.commit()
    return _beat(exam)


def _owes_a_second_factor(exam: Exam) -> tuple[int, Any]:
    db.session.add(UserRole(user_id=exam.candidate.id, role=Role.ASSESSOR))
    db.session.commit()
    return _beat(exam)


def _from_another_browser(exam: Exam) -> tuple[int, Any]:
    exam.client.environ_base["REMOTE_ADDR"] = "127.200.200.200"
    return _beat(exam)


def _logged_out(exam: Exam) -> tuple[int, Any]:
    exam.client.post("/auth/logout")
    return _beat(exam)


def _someone_elses(exam: Exam, other: Exam) -> tuple[int, Any]:
    return _beat(exam, attempt_id=other.attempt_id)


TAKEN = [_ordinary, _contact_old, _contact_fresh, _another_question, _junk_position, _no_such_question, _no_position,
         _inside_the_room]
CASES = [*TAKEN, _paused, _submitted, _time_up, _last_seconds, _outside_the_room, _deactivated, _no_longer_a_candidate,
         _owes_a_second_factor, _from_another_browser, _logged_out]


def _after(exam: Exam) -> tuple[Any, ...]:
    """The attempt's status, whether its last contact is recent, and the question "Continue the test" opens."""
    db.session.expire_all()
    attempt = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.id == exam.attempt_id))
    recent = attempt.last_contact_at is not None and (utcnow() - attempt.last_contact_at).total_seconds() < 30
    with exam.client.session_transaction() as cookie:
        remembered = cookie.get(f"theory-position-{exam.attempt_id}")
    return attempt.status, recent, remembered


def _play(app, exams, case, lane: bool) -> tuple[Any, ...]:
    app.config["THEORY_EXPRESS_AUTOSAVE"] = lane
    exam = exams()
    result = case(exam, exams()) if case is _someone_elses else case(exam)
    return _comparable(result), _after(exam)


@pytest.mark.parametrize("case", [*CASES, _someone_elses], ids=lambda case: case.__name__.strip("_"))
def test_the_heartbeat_lane_answers_as_the_full_view_does(app, exams, case):
    assert _play(app, exams, case, lane=True) == _play(app, exams, case, lane=False)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__.strip("_"))
def test_ordinary_heartbeats_take_the_lane_and_the_rest_the_full_view(app, exams, case):
    app.config["THEORY_EXPRESS_AUTOSAVE"] = True
    exam = exams()
    case(exam)
    assert exam.lane == ("express" if case in TAKEN else "full")


def test_an_ordinary_heartbeat_reads_once_and_writes_only_an_old_contact(app, exams):
    from sqlalchemy import event

    app.config["THEORY_EXPRESS_AUTOSAVE"] = True
    exam = exams()
    assert _beat(exam)[0] == 200  # the question shown is remembered: the next beats repeat it
    _set(TheoryAttempt, exam.attempt_id, last_contact_at=utcnow())
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert _beat(exam)[0] == 200 and exam.lane == "express"
        fresh = list(statements)
        statements.clear()
        _old_contact(exam)
        statements.clear()
        assert _beat(exam)[0] == 200 and exam.lane == "express"
        old = list(statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert [s for s in fresh if s in ("SELECT", "UPDATE", "INSERT", "DELETE")] == ["SELECT"]
    assert [s for s in old if s in ("SELECT", "UPDATE", "INSERT", "DELETE")] == ["SELECT", "UPDATE"]
