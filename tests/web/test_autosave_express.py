"""The autosave's express lane (examportal/theory/express.py) changes no answer the portal gives.

Each case is played twice on fresh, identical tests — once with the lane, once with every autosave
going the full way (``THEORY_EXPRESS_AUTOSAVE`` off) — and must answer alike: the same status,
the same refusal, the same acknowledgement, the same stored answer. Ordinary autosaves must take
the lane (in front of Flask); everything else must reach the full view. Each case is played on a
test the lane has not seen and again after it took an ordinary answer to the same question — when
it keeps the attempt and the question and writes a later answer in one statement, on condition
that what it kept is still so.

The lane runs on PostgreSQL, the production database: its statements are PostgreSQL's. On SQLite
(and inside another transaction, as the tests that roll back run) it hands every autosave to
Flask, so there every case must reach the full view. These tests commit, as production does, so
that the lane's own connections see their data.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask import request, request_finished
from flask_login.utils import _create_identifier
from sqlalchemy import select, text, update

from examportal.extensions import db
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

pytestmark = pytest.mark.committing


def postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def lane_for_ordinary() -> str:
    """The lane an ordinary autosave takes on this database."""
    return "express" if postgres() else "full"


@contextmanager
def lanes_answering() -> Iterator[list[str]]:
    """The lane of each autosave answered meanwhile: the express lane's signal, or Flask's."""
    seen: list[str] = []

    def ahead(sender, **extra):
        seen.append("express")

    def full(sender, response, **extra):
        if request.endpoint == express.ENDPOINT:
            seen.append("full")

    express.answered.connect(ahead)
    request_finished.connect(full)
    try:
        yield seen
    finally:
        express.answered.disconnect(ahead)
        request_finished.disconnect(full)


@dataclass
class Exam:
    client: Any
    candidate: User
    attempt_id: int
    position: int
    options: list[str]
    session_id: int

    lane: str | None = None
    #: Added to every sequence number a case sends (its answers come after those sent before it).
    seq_base: int = 0

    def post(self, **fields: Any) -> tuple[int, Any]:
        """An autosave (``lane``: the lane that answered it, as the metrics count it)."""
        attempt_id = fields.pop("attempt_id", self.attempt_id)
        data = {"position": self.position, "seq": 1, "answer": self.options[0]} | fields
        if isinstance(data["seq"], int) and data["seq"] > 0:
            data["seq"] += self.seq_base
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


TAKEN = [_ordinary, _flagged, _cleared, _inside_the_room]
# An older sequence number than the item's is kept in the history only: the full view's to record.
CASES = [*TAKEN, _older_sequence, _replay, _stale_window, _paused, _submitted, _time_up, _last_seconds, _no_such_question,
                 _no_position, _junk_sequence, _zero_sequence, _not_an_option, _outside_the_room, _deactivated,
                 _no_longer_a_candidate, _owes_a_second_factor, _from_another_browser, _logged_out]


def _new(new_exam, seen: bool) -> Exam:
    """A new test; ``seen``: after an ordinary answer to the question the cases answer (taken by
    the lane, which then keeps the attempt and the question)."""
    exam = new_exam()
    if seen:
        assert exam.post(seq=1)[0] == 200
        exam.seq_base = 1
    return exam


def _play(app, new_exam, case, lane: bool, seen: bool) -> tuple[tuple[int, Any], tuple[Any, int, int]]:
    app.config["THEORY_EXPRESS_AUTOSAVE"] = lane
    exam = _new(new_exam, seen)
    if case is _someone_elses:  # seen: the other attempt kept by the lane (its owner's answer taken)
        result = case(exam, _new(new_exam, seen))
    else:
        result = case(exam)
    return _comparable(result), _stored(exam)


SEEN = pytest.mark.parametrize("seen", [False, True], ids=["new", "seen"])


@SEEN
@pytest.mark.parametrize("case", [*CASES, _someone_elses], ids=lambda case: case.__name__.strip("_"))
def test_the_lane_answers_as_the_full_view_does(app, new_exam, case, seen):
    with_lane = _play(app, new_exam, case, lane=True, seen=seen)
    without = _play(app, new_exam, case, lane=False, seen=seen)
    assert with_lane == without


@SEEN
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__.strip("_"))
def test_ordinary_autosaves_take_the_lane_and_the_rest_the_full_view(app, new_exam, case, seen):
    app.config["THEORY_EXPRESS_AUTOSAVE"] = True
    exam = _new(new_exam, seen)
    assert not seen or exam.lane == lane_for_ordinary()
    case(exam)
    assert exam.lane == (lane_for_ordinary() if case in TAKEN else "full")


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
                                  ({"X-CSRFToken": token}, 200, lane_for_ordinary())):
        with lanes_answering() as seen:
            response = exam.client.post(url, data=data, headers={"Accept": "application/json", **headers})
        assert (response.status_code, seen) == (status, [lane]), response.get_data(as_text=True)[:300]


# --------------------------------------------------------------------------- what the lane checks in front of Flask


def _answer_url(exam: Exam) -> str:
    return f"/theory/attempts/{exam.attempt_id}/answer"


def _fields(exam: Exam, seq: int = 1, option: int = 0) -> dict[str, Any]:
    return {"position": exam.position, "seq": seq, "answer": exam.options[option]}


def _posted(exam: Exam, **kwargs: Any) -> tuple[int, list[str], Any]:
    with lanes_answering() as seen:
        response = exam.client.post(_answer_url(exam), **kwargs)
    return response.status_code, seen, response


@pytest.mark.parametrize("headers", [
    {},
    {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"},
    {"User-Agent": "Przeglądarka — zażółć"},
    {"X-Forwarded-For": "203.0.113.7"},
    {"X-Forwarded-For": "203.0.113.7, 10.0.0.1", "User-Agent": "curl/8"},
    {"X-Forwarded-For": "  198.51.100.2 ,10.0.0.1"},
], ids=range(6))
def test_the_session_is_bound_to_the_browser_as_flask_login_binds_it(app, headers):
    """The lane's own reading of strong session protection's identifier is Flask-Login's."""
    with app.test_request_context("/", headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.9"}) as context:
        assert express._session_identifier(context.request.environ) == _create_identifier()


def test_the_lane_answers_as_the_portal_answers_every_request(app, new_exam, caplog):
    """Security headers, the request id (a sane one sent by a proxy is kept), one log line."""
    exam = new_exam()
    caplog.set_level("INFO", logger="examportal.request")
    status, seen, response = _posted(exam, data=_fields(exam), headers={"Accept": "application/json",
                                                                       "X-Request-ID": "proxy-id-12345678"})
    assert (status, seen) == (200, [lane_for_ordinary()])
    assert response.headers["X-Request-ID"] == "proxy-id-12345678"
    for name in ("X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy", "Content-Security-Policy",
                 "Permissions-Policy"):
        assert response.headers.get(name), name
    assert response.mimetype == "application/json" and response.get_json()["applied"] is True
    lines = [r for r in caplog.records if r.name == "examportal.request" and r.endpoint == express.ENDPOINT]
    assert [(r.status, r.method, r.request_id) for r in lines] == [(200, "POST", "proxy-id-12345678")]


def test_a_form_the_lane_does_not_read_goes_the_full_way(app, new_exam):
    """Multipart, another charset or a body over the lane's limit: Flask reads it, nothing is lost."""
    exam = new_exam()
    status, seen, response = _posted(exam, data=_fields(exam, seq=1), content_type="multipart/form-data",
                                     headers={"Accept": "application/json"})
    assert (status, seen, response.get_json()["applied"]) == (200, ["full"], True)
    big = _fields(exam, seq=2) | {"padding": "x" * (express.BODY_LIMIT + 1)}
    status, seen, response = _posted(exam, data=big, headers={"Accept": "application/json"})
    assert (status, seen, response.get_json()["seq"]) == (200, ["full"], 2)
    status, seen, _response = _posted(exam, data=_fields(exam, seq=3), headers={"Accept": "application/json"})
    assert (status, seen) == (200, [lane_for_ordinary()])
    assert _stored(exam)[1:] == (3, 3)


def test_a_forged_session_cookie_goes_the_full_way(app, new_exam):
    exam = new_exam()
    cookie = exam.client.get_cookie("session")
    exam.client.set_cookie("session", cookie.value[:-2] + ("AA" if not cookie.value.endswith("AA") else "BB"))
    status, seen, response = _posted(exam, data=_fields(exam), headers={"Accept": "application/json"})
    assert (status, seen) == (302, ["full"]) and "/auth/login" in response.headers["Location"]
    assert _stored(exam)[2] == 0


def test_over_https_the_referrer_must_be_the_portal(app, new_exam):
    """As Flask-WTF's strict check: an autosave over HTTPS without the portal as its referrer is
    the full way's to refuse; with it, the lane takes it."""
    exam = new_exam()
    app.config["WTF_CSRF_ENABLED"] = True
    page = exam.client.get(f"/theory/attempts/{exam.attempt_id}/q/{exam.position}").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
    headers = {"Accept": "application/json", "X-CSRFToken": token}
    https = {"base_url": "https://localhost"}
    for seq, referrer, status, lane in ((1, None, 400, "full"), (2, "https://elsewhere.example/", 400, "full"),
                                        (3, "https://localhost:99999/", 400, "full"),  # not a URL: refused, not a 500
                                        (4, "https://localhost/theory/", 200, lane_for_ordinary())):
        sent = headers | ({"Referer": referrer} if referrer else {})
        got, seen, _response = _posted(exam, data=_fields(exam, seq=seq), headers=sent, **https)
        assert (got, seen) == (status, [lane]), (seq, referrer)


def test_a_redrawn_question_is_read_from_its_new_item(app, new_exam):
    """The lane keeps each question's item by attempt and position; when the item at a position is
    another one (drawn again), its answers are read against the new item, never the kept one."""
    exam = new_exam()
    assert _posted(exam, data=_fields(exam, seq=1), headers={"Accept": "application/json"})[:2] == (200, [lane_for_ordinary()])
    old = db.session.scalar(select(AttemptItem).where(AttemptItem.attempt_id == exam.attempt_id,
                                                      AttemptItem.position == exam.position))
    snapshot = old.snapshot
    db.session.execute(AttemptItem.__table__.delete().where(AttemptItem.id == old.id))
    again = AttemptItem(attempt_id=exam.attempt_id, position=exam.position, item_id=old.item_id, item_version=old.item_version,
                        fingerprint=old.fingerprint, snapshot=snapshot)
    db.session.add(again)
    db.session.commit()
    options = [oid for oid, _text in services.candidate_display(again, "pl")["options"]]
    assert set(options).isdisjoint(exam.options)  # page ids are the item's own
    stale = _posted(exam, data=_fields(exam, seq=2), headers={"Accept": "application/json"})
    assert stale[:2] == (400, ["full"])  # the old page's option is not one of the new item's
    fresh = _posted(exam, data={"position": exam.position, "seq": 3, "answer": options[1]},
                    headers={"Accept": "application/json"})
    assert fresh[:2] == (200, [lane_for_ordinary()])
    db.session.expire_all()
    assert db.session.get(AttemptItem, again.id).response == snapshot["presented"]["options"][1]


def test_behind_a_proxy_the_lane_sees_the_client(app_factory, qualification, tmp_path):
    """With TRUSTED_PROXIES the lane runs inside the proxy fix: the exam room's networks and the
    session's binding are checked against the client's address, not the proxy's."""
    proxied = app_factory(TRUSTED_PROXIES=1, THEORY_ITEM_BANK=factories.write_theory_bank(tmp_path))
    with proxied.app_context():
        qualification = db.session.merge(qualification)
        institution = factories.make_institution(qualifications=[qualification])
        session = factories.make_session(institution, qualification)
        session.exam_networks = "192.0.2.0/24"
        candidate = factories.make_user(Role.CANDIDATE)
        attempt = factories.make_attempt(factories.enrol(session, candidate), status=AttemptStatus.UNLOCKED)
        services.start(attempt)
        item = next(i for i in attempt.items if i.snapshot["item"]["type"] == "single_choice")
        option = services.candidate_display(item, "pl")["options"][0][0]
        db.session.commit()
        client = proxied.test_client()
        client.environ_base["REMOTE_ADDR"] = "10.0.0.2"  # the proxy
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "192.0.2.15"  # the candidate in the exam room
        client.post("/lang/en")
        assert client.post("/auth/login", data={"email": candidate.email, "password": factories.PASSWORD}).status_code == 302
        url = f"/theory/attempts/{attempt.id}/answer"
        with lanes_answering() as seen:
            inside = client.post(url, data={"position": item.position, "seq": 1, "answer": option},
                                 headers={"Accept": "application/json"})
        assert (inside.status_code, seen) == (200, [lane_for_ordinary()])
        client.environ_base["HTTP_X_FORWARDED_FOR"] = "198.51.100.20"  # the same session from outside the room
        with lanes_answering() as seen:
            outside = client.post(url, data={"position": item.position, "seq": 2, "answer": option},
                                  headers={"Accept": "application/json"})
        assert outside.status_code != 200 and seen == ["full"]


@pytest.fixture
def lane_in_use(app, new_exam) -> tuple[Exam, Any]:
    """A test whose first answer the lane took, and the lane's engine (PostgreSQL only)."""
    if not postgres():
        pytest.skip("the lane runs on PostgreSQL only; SQLite's autosaves all go the full way (above)")
    exam = new_exam()
    assert _posted(exam, data=_fields(exam, seq=1), headers={"Accept": "application/json"})[:2] == (200, ["express"])
    lane = next(m for m in _middleware(app) if isinstance(m, express.AutosaveLane))
    (lane_engine,) = lane._engines.values()
    return exam, lane_engine


def test_a_broken_connection_of_the_lane_goes_the_full_way(app, lane_in_use):
    """The lane's connections are not pinged: one the server ended fails the lane's statement, and
    the full way (whose pool pings) stores the answer."""
    exam, lane_engine = lane_in_use
    assert lane_engine.pool.checkedin() == 1
    with lane_engine.connect() as own:  # the lane's one connection, as the next autosave will get it
        pid = own.execute(text("SELECT pg_backend_pid()")).scalar()
    with db.engine.connect() as admin:
        assert admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar() is True
    status, seen, response = _posted(exam, data=_fields(exam, seq=2), headers={"Accept": "application/json"})
    assert (status, seen, response.get_json()["seq"]) == (200, ["full"], 2)
    assert _stored(exam)[1:] == (2, 2)


def test_the_lane_s_connections_close_with_the_app_s_engine(app, lane_in_use):
    _exam, lane_engine = lane_in_use
    assert lane_engine.pool.checkedin() == 1
    db.session.close()  # the test's own connection back in the pool, to be closed with it
    db.engine.dispose()
    assert lane_engine.pool.checkedin() == 0


def _middleware(app) -> Iterator[Any]:
    """The WSGI layers in front of Flask, outermost first."""
    layer = app.wsgi_app
    while layer is not None:
        yield layer
        layer = getattr(layer, "wsgi_app", None) or getattr(layer, "app", None)


def test_a_session_signed_in_the_future_goes_the_full_way(app, monkeypatch):
    """As itsdangerous refuses it to Flask (another host's clock ahead): the lane does not take it."""
    from itsdangerous import BadData, URLSafeTimedSerializer

    lane = next(m for m in _middleware(app) if isinstance(m, express.AutosaveLane))
    serializer = URLSafeTimedSerializer("a secret of this test", salt="cookie-session")
    now = __import__("time").time()
    with monkeypatch.context() as patched:
        patched.setattr("itsdangerous.timed.time.time", lambda: now + 600)
        ahead = serializer.dumps({"_user_id": "1"})
    with pytest.raises(BadData):
        lane._verified(serializer, ahead, 8 * 3600)
    assert lane._verified(serializer, serializer.dumps({"_user_id": "1"}), 8 * 3600) == {"_user_id": "1"}


def test_a_host_the_portal_does_not_serve_goes_the_full_way(app, new_exam):
    exam = new_exam()
    app.config["TRUSTED_HOSTS"] = ["portal.example.pl"]
    status, seen, _response = _posted(exam, data=_fields(exam), headers={"Accept": "application/json"})
    assert (status, seen) == (400, [])  # Flask refuses it before it reaches any view
    app.config["TRUSTED_HOSTS"] = ["localhost"]
    status, seen, _response = _posted(exam, data=_fields(exam), headers={"Accept": "application/json"})
    assert (status, seen) == (200, [lane_for_ordinary()])


def test_a_failure_in_the_lane_is_logged_and_the_full_way_answers(app, new_exam, monkeypatch, caplog):
    exam = new_exam()

    def broken(*args: Any) -> bool:
        raise ValueError("a stored network the lane cannot read")

    monkeypatch.setattr(express, "networks_allow", broken)
    status, seen, response = _posted(exam, data=_fields(exam), headers={"Accept": "application/json"})
    assert (status, seen, response.get_json()["applied"]) == (200, ["full"], True)
    if postgres():  # only there does the lane get as far as the read
        assert any(r.levelname == "ERROR" and "autosave lane failed" in r.getMessage() for r in caplog.records)


def test_when_every_connection_of_the_lane_is_busy_the_full_way_answers(app, lane_in_use):
    exam, lane_engine = lane_in_use
    held = [lane_engine.raw_connection() for _ in range(express.LANE_POOL["pool_size"])]
    try:
        status, seen, response = _posted(exam, data=_fields(exam, seq=2), headers={"Accept": "application/json"})
        assert (status, seen, response.get_json()["seq"]) == (200, ["full"], 2)
    finally:
        for connection in held:
            connection.close()
    assert _posted(exam, data=_fields(exam, seq=3), headers={"Accept": "application/json"})[:2] == (200, ["express"])
