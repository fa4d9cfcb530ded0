"""The test suite's guard of the commit rule notices a request that commits twice what it wrote."""
from __future__ import annotations

from sqlalchemy import update

from examportal.extensions import db
from examportal.models import OutboxMail


def _mail(n: int) -> OutboxMail:
    return OutboxMail(recipient=f"guard{n}@example.org", subject="s", body="b")


def test_a_request_that_commits_twice_is_reported_and_one_commit_is_not(app):
    from tests import commit_guard

    @app.route("/_test/commits/<int:times>")
    def commits(times: int) -> str:
        for n in range(times):
            db.session.add(_mail(n))
            db.session.commit()
        return "ok"

    @app.route("/_test/statements")
    def statements() -> str:
        db.session.add(_mail(9))
        db.session.commit()
        db.session.execute(update(OutboxMail).values(subject="t"))
        db.session.commit()
        return "ok"

    client = app.test_client()
    assert client.get("/_test/commits/1").get_data(as_text=True) == "ok"
    assert commit_guard.take() == []
    assert client.get("/_test/commits/2").get_data(as_text=True) == "ok"
    assert commit_guard.take() == ["GET /_test/commits/2 (commits)"]
    assert client.get("/_test/statements").get_data(as_text=True) == "ok"
    assert commit_guard.take() == ["GET /_test/statements (statements)"]


def test_empty_commits_savepoints_and_commits_outside_a_request_are_not_counted(app):
    from tests import commit_guard

    @app.route("/_test/empty-commits")
    def empty_commits() -> str:
        db.session.add(_mail(1))
        db.session.commit()
        db.session.commit()
        return "ok"

    @app.route("/_test/savepoints")
    def savepoints() -> str:
        for n in (4, 5):
            with db.session.begin_nested():
                db.session.add(_mail(n))
        db.session.commit()
        return "ok"

    assert app.test_client().get("/_test/empty-commits").get_data(as_text=True) == "ok"
    assert app.test_client().get("/_test/savepoints").get_data(as_text=True) == "ok"
    with app.test_request_context("/"):
        db.session.add(_mail(2))
        db.session.commit()
        db.session.add(_mail(3))
        db.session.commit()
    assert commit_guard.take() == []
