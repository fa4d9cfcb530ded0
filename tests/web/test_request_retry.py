"""A request PostgreSQL aborted for another's sake (a deadlock, a serialization failure) runs again.

The routes are the test's own, on an app of its own (``app_factory``): they raise the driver's real
errors, or (on PostgreSQL) really deadlock with each other.
"""
from __future__ import annotations

import io
import threading
from collections import Counter

import psycopg
import psycopg.errors
import pytest
from flask import request
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from examportal import portal
from examportal.extensions import db
from examportal.models import Institution
from tests.factories import make_institution


def _deadlock() -> OperationalError:
    return OperationalError("SELECT 1", {}, psycopg.errors.DeadlockDetected("deadlock detected"))


@pytest.fixture
def flaky(app_factory):
    """An app with routes that fail as told, and how often each ran."""
    app = app_factory()
    calls: Counter[str] = Counter()

    @app.get("/t/deadlock-once")
    def deadlock_once():
        calls["once"] += 1
        if calls["once"] == 1:
            raise _deadlock()
        return "stored"

    @app.get("/t/serialization-always")
    def serialization_always():
        calls["always"] += 1
        raise OperationalError("UPDATE x", {}, psycopg.errors.SerializationFailure("could not serialize access"))

    @app.get("/t/after-a-commit")
    def after_a_commit():
        calls["committed"] += 1
        db.session.execute(text("SELECT 1"))
        db.session.commit()  # a step of the request is kept: running it again would do it twice
        raise _deadlock()

    @app.get("/t/database-gone")
    def database_gone():
        calls["gone"] += 1
        raise OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused"))

    @app.post("/t/upload")
    def upload():
        calls["upload"] += 1
        data = request.files["document"].read()
        if calls["upload"] == 1:
            raise _deadlock()
        return data

    return app, calls


def test_a_request_aborted_by_a_deadlock_runs_again_and_succeeds(flaky):
    app, calls = flaky
    response = app.test_client().get("/t/deadlock-once")
    assert response.status_code == 200 and response.data == b"stored"
    assert calls["once"] == 2


def test_a_request_aborted_again_and_again_gets_the_try_again_page_after_its_retries(flaky):
    app, calls = flaky
    response = app.test_client().get("/t/serialization-always")
    assert response.status_code == 503
    assert "Nic z wpisanych danych nie przepadło" in response.get_data(as_text=True)
    assert calls["always"] == 1 + portal.RETRIES


def test_a_request_that_committed_a_step_is_not_run_again(flaky):
    app, calls = flaky
    assert app.test_client().get("/t/after-a-commit").status_code == 503
    assert calls["committed"] == 1


def test_other_database_errors_are_not_retried(flaky):
    app, calls = flaky
    assert app.test_client().get("/t/database-gone").status_code == 503
    assert calls["gone"] == 1


def test_an_uploaded_file_is_read_whole_again_when_the_request_runs_again(flaky):
    app, calls = flaky
    response = app.test_client().post("/t/upload", data={"document": (io.BytesIO(b"%PDF-1.7 evidence"), "e.pdf")},
                                      content_type="multipart/form-data")
    assert response.status_code == 200 and response.data == b"%PDF-1.7 evidence"
    assert calls["upload"] == 2


@pytest.mark.committing
def test_two_requests_that_really_deadlock_both_succeed(app, app_factory, qualification):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a deadlock needs PostgreSQL's row locks (SQLite takes the database's write lock first)")
    first, second = make_institution("Pierwsza"), make_institution("Druga")
    ids = first.id, second.id
    db.session.commit()
    other = app_factory()
    both_hold_one = threading.Barrier(2, timeout=10)
    calls: Counter[tuple[int, int]] = Counter()

    @other.post("/t/lock/<int:a>/<int:b>")
    def lock(a: int, b: int):
        calls[(a, b)] += 1
        db.session.execute(select(Institution.id).where(Institution.id == a).with_for_update())
        if calls[(a, b)] == 1:
            both_hold_one.wait()  # each holds one row and now asks for the other's: PostgreSQL aborts one
        db.session.execute(select(Institution.id).where(Institution.id == b).with_for_update())
        db.session.commit()
        return "locked both"

    statuses: dict[tuple[int, int], int] = {}

    def post(a: int, b: int) -> None:
        statuses[(a, b)] = other.test_client().post(f"/t/lock/{a}/{b}").status_code

    threads = [threading.Thread(target=post, args=pair) for pair in (ids, ids[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == {ids: 200, ids[::-1]: 200}
    assert sorted(calls.values()) == [1, 2]  # the one PostgreSQL aborted ran again
