"""The autosave's express lane (examportal/theory/express.py) changes no answer the portal gives.

Each case is played twice on fresh, identical tests — once with the lane, once with every autosave
going the full way (``THEORY_EXPRESS_AUTOSAVE`` off) — and must answer alike: the same status,
the same refusal, the same acknowledgement, the same stored answer. Ordinary autosaves must take
the lane (three statements); everything else must reach the full view.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import g, request, request_finished
from sqlalchemy import select, update

from examportal.extensions import db
from examportal.metrics import AUTOSAVE_LANE
from examportal.models import (
    AttemptAnswer,
    AttemptItem,
    AttemptStatus,
    Role,
    TheoryAttempt,
    User,
    UserRole,
    ValidationSession,
    utcnow,
)
from examportal.theory import express, services
from tests import factories


@contextmanager
def lanes_answering() -> Iterator[list[str]]:
    """The lane of each request finished meanwhile (read at the end of the request, from ``g``)."""
    seen: list[str] = []

    def record(sender, response, **extra):
        if request.endpoint == express.ENDPOINT:
            seen.append(g.get(AUTOSAVE_LANE, "full"))

    request_finished.connect(record)
    try:
        yield seen
    finally:
        request_finished.disconnect(record)


@dataclass
class Exam:
    client: Any
    candidate: User
    attempt_id: int
    position: int
    options: list[str]
    session_id: int

    lane: str | None = None

    def post(self, **fields: Any) -> tuple[int, Any]:
        """An autosave (``lane``: the lane that answered it, as the metrics count it)."""
        attempt_id = fields.pop("attempt_id", self.attempt_id)
        data = {"position": self.position, "seq": 1, "answer": self.options[0]} | fields
        data = {k: v for k, v in data.items() if v is not None}
        with lanes_answering() as seen:
            response = self.client.post(f"/theory/attempts/{attempt_id}/answer", data=data,
                                        headers={"Accept": "application/json"})
        self.lane = seen[-1] if seen else None
        body = response.get_json(silent=True)
        return response.status_code, body if body is not None else response.headers.get("Location")


@pytest.fixture
def new_exam(app, qualification, tmp_path) -> Callable[..., Exam]:
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    institution = factories.make_institution(qualifications=[qualification])

    def make(*roles: Role) -> Exam:
        session = factories.make_session(institution, qualification)
        candidate = factories.make_user(Role.CANDIDATE, *roles)
        attempt = factories.make_attempt(factories.enrol(session, candidate), status=AttemptStatus.UNLOCKED)
        services.start(attempt)
        item = next(i for i in attempt.items if i.snapshot["item"]["type"] == "single_choice")
        options = [oid for oid, _text in services.candidate_display(item, "pl")["options"]]
        db.session.commit()
        return Exam(factories.client_as(app, candidate), candidate, attempt.id, item.position, options, session.id)

    return make


def _set(model, row_id: int, **values: Any) -> None:
    db.session.execute(update(model).where(model.id == row_id).values(**values))
    db.session.commit()


def _comparable(result: tuple[int, Any]) -> tuple[int, Any]:
    """The answer without what depends on the moment (the clock, the time of saving)."""
    status, body = result
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k not in ("time_left", "saved_at")}
    elif isinstance(body, str):  # a redirect: to the login page, back to this attempt
        body = re.sub(r"attempts(/|%2F)\d+", r"attempts\1<id>", body)
    return status, body


def _stored(exam: Exam) -> tuple[Any, int, int]:
    db.session.expire_all()
    item = db.session.scalar(select(AttemptItem).where(AttemptItem.attempt_id == exam.attempt_id,
                                                       AttemptItem.position == exam.position))
    history = db.session.query(AttemptAnswer).filter_by(attempt_id=exam.attempt_id).count()
    return item.response, item.answer_seq, history


def _ordinary(exam: Exam) -> tuple[int, Any]:
    return exam.post()


def _older_sequence(exam: Exam) -> tuple[int, Any]:
    exam.post(seq=5)
    return exam.post(seq=4, answer=exam.options[1])


def _replay(exam: Exam) -> tuple[int, Any]:
    exam.post(seq=3)
    return exam.post(seq=3)


def _stale_window(exam: Exam) -> tuple[int, Any]:
    exam.post(seq=3)
    return exam.post(seq=3, answer=exam.options[1])


def _flagged(exam: Exam) -> tuple[int, Any]:
    return exam.post(flagged="1")


def _cleared(exam: Exam) -> tuple[int, Any]:
    exam.post(seq=1)
    return exam.post(seq=2, answer=None)


def _paused(exam: Exam) -> tuple[int, Any]:
    _set(TheoryAttempt, exam.attempt_id, status=AttemptStatus.PAUSED, paused_at=utcnow())
    return exam.post()


def _submitted(exam: Exam) -> tuple[int, Any]:
    _set(TheoryAttempt, exam.attempt_id, status=AttemptStatus.SUBMITTED, submitted_at=utcnow())
    return exam.post()


def _time_up(exam: Exam) -> tuple[int, Any]:
    _set(TheoryAttempt, exam.attempt_id, deadline_at=utcnow() - timedelta(seconds=1))
    return exam.post()


def _last_seconds(exam: Exam) -> tuple[int, Any]:
    _set(TheoryAttempt, exam.attempt_id, deadline_at=utcnow() + timedelta(seconds=express.MARGIN_SECONDS / 2))
    return exam.post()


def _someone_elses(exam: Exam, other: Exam) -> tuple[int, Any]:
    return exam.post(attempt_id=other.attempt_id, position=other.position, answer=other.options[0])


def _no_such_question(exam: Exam) -> tuple[int, Any]:
    return exam.post(position=999)


def _no_position(exam: Exam) -> tuple[int, Any]:
    return exam.post(position=None)


def _junk_sequence(exam: Exam) -> tuple[int, Any]:
    return exam.post(seq="12a")


def _zero_sequence(exam: Exam) -> tuple[int, Any]:
    return exam.post(seq=0)


def _not_an_option(exam: Exam) -> tuple[int, Any]:
    return exam.post(answer="v0000000000000000")


def _outside_the_room(exam: Exam) -> tuple[int, Any]:
    _set(ValidationSession, exam.session_id, exam_networks="10.9.8.0/24")
    return exam.post()


def _inside_the_room(exam: Exam) -> tuple[int, Any]:
    address = exam.client.environ_base["REMOTE_ADDR"]
    _set(ValidationSession, exam.session_id, exam_networks=f"{address}/32")
    return exam.post()


def _deactivated(exam: Exam) -> tuple[int, Any]:
    _set(User, exam.candidate.id, active=False)
    return exam.post()


def _no_longer_a_candidate(exam: Exam) -> tuple[int, Any]:
    db.session.query(UserRole).filter_by(user_id=exam.candidate.id, role=Role.CANDIDATE).delete()
    db.session.commit()
    return exam.post()


def _owes_a_second_factor(exam: Exam) -> tuple[int, Any]:
    """Made an assessor during the test, without an authenticator app: the gate sends them to set one up."""
    db.session.add(UserRole(user_id=exam.candidate.id, role=Role.ASSESSOR))
    db.session.commit()
    return exam.post()


def _from_another_browser(exam: Exam) -> tuple[int, Any]:
    """The session cookie replayed from elsewhere: strong session protection ends it."""
    exam.client.environ_base["REMOTE_ADDR"] = "127.200.200.200"
    return exam.post()


def _logged_out(exam: Exam) -> tuple[int, Any]:
    exam.client.post("/auth/logout")
    return exam.post()


TAKEN = [_ordinary, _older_sequence, _flagged, _cleared, _inside_the_room]
CASES = [*TAKEN, _replay, _stale_window, _paused, _submitted, _time_up, _last_seconds, _no_such_question,
                 _no_position, _junk_sequence, _zero_sequence, _not_an_option, _outside_the_room, _deactivated,
                 _no_longer_a_candidate, _owes_a_second_factor, _from_another_browser, _logged_out]


def _play(app, new_exam, case, lane: bool) -> tuple[tuple[int, Any], tuple[Any, int, int]]:
    app.config["THEORY_EXPRESS_AUTOSAVE"] = lane
    exam = new_exam()
    if case is _someone_elses:
        result = case(exam, new_exam())
    else:
        result = case(exam)
    return _comparable(result), _stored(exam)


@pytest.mark.parametrize("case", [*CASES, _someone_elses], ids=lambda case: case.__name__.strip("_"))
def test_the_lane_answers_as_the_full_view_does(app, new_exam, case):
    with_lane = _play(app, new_exam, case, lane=True)
    without = _play(app, new_exam, case, lane=False)
    assert with_lane == without


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__.strip("_"))
def test_ordinary_autosaves_take_the_lane_and_the_rest_the_full_view(app, new_exam, case):
    app.config["THEORY_EXPRESS_AUTOSAVE"] = True
    exam = new_exam()
    case(exam)
    assert exam.lane == ("express" if case in TAKEN else "full")


def test_the_lane_holds_to_the_csrf_token(app, new_exam):
    """With CSRF protection on (as in production): the page's token takes the lane; an autosave
    without it, or with another, is the full way's to refuse (400)."""
    exam = new_exam()
    app.config["WTF_CSRF_ENABLED"] = True
    page = exam.client.get(f"/theory/attempts/{exam.attempt_id}/q/{exam.position}").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    url = f"/theory/attempts/{exam.attempt_id}/answer"
    data = {"position": exam.position, "seq": 1, "answer": exam.options[0]}
    for headers, status, lane in (({}, 400, "full"), ({"X-CSRFToken": token + "x"}, 400, "full"),
                                  ({"X-CSRFToken": token}, 200, "express")):
        with lanes_answering() as seen:
            response = exam.client.post(url, data=data, headers={"Accept": "application/json", **headers})
        assert (response.status_code, seen) == (status, [lane]), response.get_data(as_text=True)[:300]
