"""What an exam-day request costs the database: an autosave writes the answered item's row and the
answer's history row and nothing else, reads one item (not the whole test), and never writes or
locks the attempt's row; a heartbeat writes the last contact at most every CONTACT_WRITE_SECONDS;
an answer racing the submission is refused, never stored unscored. An ordinary autosave sends one
statement (the express lane, on PostgreSQL; two the first time a process meets its attempt and
question, or when the attempt changed since), four the full way; the start reads the attempt once,
locking it with that read.

Statements are counted with an SQLAlchemy event listener on the engine, so a change that brings
back a statement fails here.
"""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from examportal.extensions import db
from examportal.models import (
    AttemptAnswer,
    AttemptItem,
    AttemptStatus,
    Enrolment,
    OperatorActionKind,
    Role,
    TheoryAttempt,
    ValidationSession,
    utcnow,
)
from examportal.theory import clock, services
from tests import factories
from tests.statements import statements


@pytest.fixture
def running(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    institution = factories.make_institution(qualifications=[qualification])
    session = factories.make_session(institution, qualification)
    candidate = factories.make_user(Role.CANDIDATE)
    enrolment = factories.enrol(session, candidate)
    attempt = factories.make_attempt(enrolment, status=AttemptStatus.UNLOCKED)
    services.start(attempt)
    items = [i for i in attempt.items if i.snapshot["item"]["type"] == "single_choice"][:2]
    options = {i.position: [oid for oid, _text in services.candidate_display(i, "pl")["options"]] for i in items}
    db.session.commit()
    return {"candidate": candidate, "attempt_id": attempt.id, "positions": [i.position for i in items],
            "options": options, "session": session}


def _post(client, data: dict) -> tuple[int, dict]:
    attempt_id = data.pop("attempt_id")
    response = client.post(f"/theory/attempts/{attempt_id}/answer", data=data, headers={"Accept": "application/json"})
    return response.status_code, response.get_json()


def test_an_autosave_writes_the_item_and_its_history_row_only(app, running):
    """The full view (the lane hands it every autosave it does not take)."""
    app.config["THEORY_EXPRESS_AUTOSAVE"] = False
    client = factories.client_as(app, running["candidate"])
    position = running["positions"][0]
    data = {"attempt_id": running["attempt_id"], "position": position, "seq": 1, "answer": running["options"][position][0]}
    db.session.expunge_all()  # the request starts with an empty session, as every request in production does
    with statements() as seen:
        status, ack = _post(client, data)
    assert status == 200 and ack["applied"] is True
    writes = [(verb, table) for verb, table, _sql in seen if verb != "SELECT"]
    assert writes == [("UPDATE", "attempt_item"), ("INSERT", "attempt_answer")], seen
    update_sql = next(sql for verb, _table, sql in seen if verb == "UPDATE")
    assert "answer_seq <" in update_sql  # the conditional statement: the highest sequence wins
    items_read = [sql for verb, table, sql in seen if verb == "SELECT" and table == "attempt_item"]
    # The answered item alone (not the whole test); the user, their roles and running test in one query.
    assert len(items_read) == 1 and "attempt_item.position" in items_read[0], seen
    assert [t for verb, t, _sql in seen if t == "theory_attempt" and verb != "SELECT"] == []
    assert not any("FOR UPDATE" in sql.upper() for _v, _t, sql in seen)  # the attempt's row is not locked
    assert len(seen) == 4, seen
    db.session.expire_all()
    stored = db.session.scalar(select(AttemptItem).where(AttemptItem.attempt_id == running["attempt_id"],
                                                         AttemptItem.position == position))
    assert stored.answer_seq == 1 and stored.response is not None


@pytest.fixture
def sent(monkeypatch) -> list[tuple[str, dict]]:
    """The statements sent on psycopg connections (the express lane's own) meanwhile."""
    import psycopg

    seen: list[tuple[str, dict]] = []
    execute = psycopg.Connection.execute

    def spy(self, query, params=None, **kwargs):
        seen.append((str(query), dict(params or {})))
        return execute(self, query, params, **kwargs)

    monkeypatch.setattr(psycopg.Connection, "execute", spy)
    return seen


def _answers(client, running, *seqs: int) -> list[dict]:
    position = running["positions"][0]
    acks = []
    for seq in seqs:
        status, ack = _post(client, {"attempt_id": running["attempt_id"], "position": position, "seq": seq,
                                     "answer": running["options"][position][seq % 2]})
        assert status == 200 and ack["applied"] is True, ack
        acks.append(ack)
    return acks


def _kinds(sent: list[tuple[str, dict]]) -> list[str]:
    """Each statement the lane sent: its read (the attempt with the answered item alone, the
    account's standing, nothing locked), its write (the item's conditional UPDATE and the history
    row, nothing written to the attempt) or something else."""
    def kind(sql: str) -> str:
        if sql.lstrip().startswith("SELECT") and "attempt_item.position" in sql and "user_account" in sql \
                and "FOR UPDATE" not in sql.upper():
            return "read"
        if sql.lstrip().startswith("WITH") and "UPDATE attempt_item" in sql and "answer_seq <" in sql \
                and "INSERT INTO attempt_answer" in sql and "theory_attempt SET" not in sql and "EXISTS" in sql:
            return "write"
        return sql
    return [kind(sql) for sql, _params in sent]


@pytest.mark.committing
def test_the_express_lane_writes_a_known_attempts_answer_in_one_statement(app, running, sent):
    """On PostgreSQL the lane's first answer to a question is two statements on its own connection:
    one read (the attempt with the answered item alone, its session's networks and the account's
    standing) and one write (the item's row by the conditional UPDATE and the history row, in one
    statement, its own transaction). The next answer to it is the write alone, on condition that
    the attempt is still as read. On SQLite the lane sends nothing of its own: every answer is the
    full view's, on the app's engine."""
    client = factories.client_as(app, running["candidate"])
    with statements() as seen:  # nothing through the app's engine: no ping, no session
        _answers(client, running, 1, 2, 3)
    if db.engine.dialect.name != "postgresql":
        assert sent == [] and len(seen) == 12, seen
        assert [(v, t) for v, t, _sql in seen if v != "SELECT"] == [("UPDATE", "attempt_item"), ("INSERT", "attempt_answer")] * 3
        return
    assert seen == []
    assert _kinds(sent) == ["read", "write", "write", "write"]
    item_id = db.session.scalar(select(AttemptItem.id).where(AttemptItem.attempt_id == running["attempt_id"],
                                                             AttemptItem.position == running["positions"][0]))
    assert sent[0][1]["known_item_id"] == 0  # the snapshot is sent to a process the first time only
    assert all(params["item_id"] == item_id for _sql, params in sent[1:])
    db.session.expire_all()
    stored = db.session.get(AttemptItem, item_id)
    assert stored.answer_seq == 3 and stored.response is not None
    assert db.session.query(AttemptAnswer).filter_by(attempt_id=running["attempt_id"]).count() == 3


@pytest.mark.committing
@pytest.mark.parametrize("change", ["extra_time", "paused_and_resumed", "networks"])
def test_after_the_attempt_changed_the_lane_reads_it_again(app, running, sent, change):
    """The lane's kept attempt is a condition of its write, never a substitute for the attempt: once
    the clock or the room's networks changed, the write finds nothing and the lane reads again — and
    the acknowledgement's clock is the attempt's new one. (On SQLite the full view answers each,
    from the attempt as it is.)"""
    client = factories.client_as(app, running["candidate"])
    before = _answers(client, running, 1)[0]
    attempt_id = running["attempt_id"]
    session = running["session"]
    operator = factories.make_user((Role.OPERATOR, session.institution))
    session.operator_id = operator.id
    attempt = db.session.get(TheoryAttempt, attempt_id)
    paused = 0.0
    if change == "extra_time":
        services.operator_action(session, operator, OperatorActionKind.EXTRA_TIME, "a fire drill", attempt, minutes=10)
    elif change == "paused_and_resumed":  # the operator's own actions: a fraction of a second paused too
        moment = utcnow()
        services.operator_action(session, operator, OperatorActionKind.PAUSE, "power cut", attempt, now=moment)
        paused = 123.456789
        services.operator_action(session, operator, OperatorActionKind.RESUME, "power back", attempt,
                                 now=moment + timedelta(seconds=paused))
    else:
        session.exam_networks = "127.0.0.0/8"
    db.session.commit()
    sent.clear()
    after = _answers(client, running, 2)[0]
    added = {"extra_time": 600, "paused_and_resumed": paused, "networks": 0}[change]
    assert after["time_left"] == pytest.approx(before["time_left"] + added, abs=5)
    if db.engine.dialect.name != "postgresql":
        assert sent == []
        return
    assert _kinds(sent) == ["write", "read", "write"]
    sent.clear()
    _answers(client, running, 3)
    assert _kinds(sent) == ["write"]  # kept again, as read


@pytest.mark.committing
def test_an_answer_the_kept_attempt_refuses_is_read_again_before_the_full_view_answers(app, running, sent):
    """An older sequence number on the one-statement path: the write finds nothing, so the lane
    cannot tell an older answer from a changed attempt and reads again; the full view records it."""
    client = factories.client_as(app, running["candidate"])
    _answers(client, running, 5)
    sent.clear()
    position = running["positions"][0]
    with statements() as seen:
        status, ack = _post(client, {"attempt_id": running["attempt_id"], "position": position, "seq": 4,
                                     "answer": running["options"][position][0]})
    assert status == 200 and ack["applied"] is False
    assert [(v, t) for v, t, _sql in seen if v != "SELECT"] == [("UPDATE", "attempt_item"), ("INSERT", "attempt_answer")]
    if db.engine.dialect.name == "postgresql":
        assert _kinds(sent) == ["write", "read", "write"]
        sent.clear()
        _answers(client, running, 6)
        assert _kinds(sent) == ["write"]  # the attempt read again is kept again


def test_a_late_older_answer_is_kept_in_the_history_without_writing_the_attempt(app, running):
    client = factories.client_as(app, running["candidate"])
    position = running["positions"][0]
    first, second = running["options"][position][:2]
    assert _post(client, {"attempt_id": running["attempt_id"], "position": position, "seq": 5, "answer": first})[0] == 200
    with statements() as seen:
        status, ack = _post(client, {"attempt_id": running["attempt_id"], "position": position, "seq": 4, "answer": second})
    assert status == 200 and ack["applied"] is False
    assert [(v, t) for v, t, _sql in seen if v != "SELECT"] == [("UPDATE", "attempt_item"), ("INSERT", "attempt_answer")]
    heartbeat = client.post(f"/theory/attempts/{running['attempt_id']}/heartbeat").get_json()
    assert heartbeat["last_seq"] == 5  # the history's highest number, for the page's stale-window check
    db.session.expire_all()
    assert db.session.scalar(select(AttemptItem.answer_seq).where(AttemptItem.attempt_id == running["attempt_id"],
                                                                  AttemptItem.position == position)) == 5
    assert db.session.query(AttemptAnswer).filter_by(attempt_id=running["attempt_id"]).count() == 2


def test_a_heartbeat_writes_the_last_contact_at_most_every_few_minutes(app, running):
    client = factories.client_as(app, running["candidate"])
    url = f"/theory/attempts/{running['attempt_id']}/heartbeat"
    with statements() as seen:
        assert client.post(url).status_code == 200  # the test started a moment ago: nothing to write
    assert [(v, t) for v, t, _sql in seen if v != "SELECT"] == []
    earlier = utcnow() - timedelta(seconds=clock.CONTACT_WRITE_SECONDS + 1)
    db.session.execute(update(TheoryAttempt).where(TheoryAttempt.id == running["attempt_id"]).values(last_contact_at=earlier))
    db.session.commit()
    with statements() as seen:
        assert client.post(url).status_code == 200
    assert [(v, t) for v, t, _sql in seen if v != "SELECT"] == [("UPDATE", "theory_attempt")]
    db.session.expire_all()
    assert db.session.get(TheoryAttempt, running["attempt_id"]).last_contact_at > earlier


def test_the_console_sees_the_latest_answer_as_contact(app, running):
    attempt = db.session.get(TheoryAttempt, running["attempt_id"])
    started = attempt.last_contact_at
    position = running["positions"][0]
    item = services.attempt_item_at(attempt, position)
    answered_at = started + timedelta(minutes=10)
    services.save_answer(attempt, position, item.snapshot["presented"]["options"][0], 1, now=answered_at)
    row = next(r for r in services.console_rows(running["session"], now=answered_at + timedelta(seconds=20))
               if r["attempt_id"] == attempt.id)
    # The stored contact is ten minutes old (offline), the answer twenty seconds: online.
    assert row["connection"] == "online" and row["last_contact_at"] == answered_at.isoformat()


@pytest.mark.committing
def test_an_answer_racing_the_submission_is_refused_not_stored_unscored(app, running):
    """The submission scores the items under their row lock; an autosave that reached the server
    before the submission committed waits, then finds the items scored and is refused (409), so
    no answer is stored that the score does not include."""
    client = factories.client_as(app, running["candidate"])
    attempt_id, position = running["attempt_id"], running["positions"][0]
    result: dict[str, tuple[int, dict]] = {}

    def autosave() -> None:
        result["answer"] = _post(client, {"attempt_id": attempt_id, "position": position, "seq": 1,
                                          "answer": running["options"][position][0]})

    with db.engine.connect() as other:
        with other.begin():  # the submission, scoring: items locked and given points, then closed
            other.execute(select(AttemptItem.id).where(AttemptItem.attempt_id == attempt_id).with_for_update())
            other.execute(update(AttemptItem).where(AttemptItem.attempt_id == attempt_id).values(points=0.0))
            other.execute(update(TheoryAttempt).where(TheoryAttempt.id == attempt_id)
                          .values(status=AttemptStatus.SUBMITTED, submitted_at=utcnow()))
            thread = threading.Thread(target=autosave)
            thread.start()
            time.sleep(0.5)  # the autosave has read the attempt as running and waits on the item
        thread.join(timeout=30)
    status, body = result["answer"]
    assert status == 409 and body["status"] == "submitted", body
    db.session.expire_all()
    item = db.session.scalar(select(AttemptItem).where(AttemptItem.attempt_id == attempt_id, AttemptItem.position == position))
    assert item.response is None and item.answer_seq == 0
    assert db.session.query(AttemptAnswer).filter_by(attempt_id=attempt_id).count() == 0


def test_the_start_reads_the_attempt_once_and_locks_it_with_that_read(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    session = factories.make_session(factories.make_institution(qualifications=[qualification]), qualification)
    candidate = factories.make_user(Role.CANDIDATE)
    enrolment = factories.enrol(session, candidate)
    attempt = factories.make_attempt(enrolment, status=AttemptStatus.UNLOCKED)
    services.prepare(enrolment)
    db.session.commit()
    attempt_id, enrolment_id = attempt.id, enrolment.id
    client = factories.client_as(app, candidate)
    db.session.expunge_all()
    with statements() as seen:
        response = client.post(f"/theory/enrolments/{enrolment_id}/start")
    assert response.status_code == 200 and b'id="theory"' in response.data
    attempt_reads = [sql for verb, table, sql in seen if verb == "SELECT" and table == "theory_attempt"]
    # Before the start's commit: one read, FOR UPDATE (a double click waits for it); after it, the
    # attempt comes back with the user in the login's query (user_account first), not on its own.
    assert len(attempt_reads) == 1, attempt_reads
    if db.engine.dialect.name == "postgresql":
        assert "FOR UPDATE" in attempt_reads[0].upper()
    assert [(verb, table) for verb, table, _sql in seen if table == "theory_attempt" and verb != "SELECT"] == [
        ("UPDATE", "theory_attempt")]
    assert db.session.get(TheoryAttempt, attempt_id).status == AttemptStatus.IN_PROGRESS


def test_an_attempt_locked_in_a_transaction_is_read_again_in_the_next(app, qualification):
    session = factories.make_session(factories.make_institution(qualifications=[qualification]), qualification)
    attempt = factories.make_attempt(factories.enrol(session, factories.make_user(Role.CANDIDATE)),
                                     status=AttemptStatus.UNLOCKED)
    db.session.commit()
    enrolment_id = attempt.enrolment_id
    with statements() as seen:
        locked = services._locked(attempt)
        assert services._locked(locked) is locked  # held: nothing read again
    assert len(seen) == 1
    db.session.commit()  # the lock is let go with the transaction
    with statements() as seen:
        services._locked(locked)
    assert [verb for verb, _t, _sql in seen] == ["SELECT"]
    db.session.rollback()
    enrolment = db.session.get(Enrolment, enrolment_id)
    with statements() as seen:
        found = services.attempt_for_enrolment(enrolment, lock=True)
        assert services._locked(found) is found  # read FOR UPDATE by the first: held
    assert len(seen) == 1, seen


def test_the_submission_reads_the_items_once_and_writes_the_attempt_once(app, running):
    client = factories.client_as(app, running["candidate"])
    position = running["positions"][0]
    _post(client, {"attempt_id": running["attempt_id"], "position": position, "seq": 1,
                   "answer": running["options"][position][0]})
    db.session.expunge_all()
    with statements() as seen:
        response = client.post(f"/theory/attempts/{running['attempt_id']}/submit", data={"confirm": "y"})
    assert response.status_code == 302
    item_reads = [sql for verb, table, sql in seen if verb == "SELECT" and table == "attempt_item"]
    assert len(item_reads) == 1, item_reads  # locked and scored as read
    if db.engine.dialect.name == "postgresql":
        assert "FOR UPDATE" in item_reads[0].upper()
    assert [verb for verb, table, _sql in seen if table == "theory_attempt" and verb != "SELECT"] == ["UPDATE"], seen
    db.session.expire_all()
    attempt = db.session.get(TheoryAttempt, running["attempt_id"])
    assert attempt.status == AttemptStatus.SUBMITTED and attempt.score_max and attempt.last_contact_at is not None
    assert all(item.points is not None for item in attempt.items)


def test_the_console_counts_answered_questions_as_the_test_does(app, running):
    """The console's counts come from the database (no item loaded): every way an answer can be
    stored counts as :attr:`AttemptItem.is_answered` says — an empty choice, order or text does not."""
    attempt = db.session.get(TheoryAttempt, running["attempt_id"])
    stored = [None, [], {}, "", "x", ["a"], {"1": "b"}, 0, False]
    items = sorted(attempt.items, key=lambda item: item.position)[:len(stored)]
    for item, response in zip(items, stored, strict=True):
        item.response, item.answered_at = response, utcnow()
    db.session.commit()
    db.session.expire_all()
    expected = sum(1 for item in db.session.get(TheoryAttempt, running["attempt_id"]).items if item.is_answered)
    assert expected == 5
    row = next(r for r in services.console_rows(running["session"]) if r["attempt_id"] == running["attempt_id"])
    assert (row["answered"], row["items"]) == (expected, len(attempt.items))


def test_the_console_asks_the_database_as_often_for_many_candidates_as_for_few(app, running):
    """The operator's console polls every few seconds during the test: its rows are read in a fixed
    number of queries, however many candidates the session has (no item or snapshot is loaded)."""
    session_id = running["session"].id

    def polled() -> list[tuple[str, str, str]]:
        db.session.expunge_all()
        with statements() as seen:
            rows = services.console_rows(db.session.get(ValidationSession, session_id))
        assert all(row["items"] for row in rows)
        return seen

    few = polled()
    session = db.session.get(ValidationSession, session_id)
    for _ in range(6):
        attempt = factories.make_attempt(factories.enrol(session, factories.make_user(Role.CANDIDATE)),
                                         status=AttemptStatus.UNLOCKED)
        services.start(attempt)
    many = polled()
    assert len(many) == len(few), many
    assert not any(table == "attempt_item" and "snapshot" in sql for _verb, table, sql in many)
