"""Fixtures for examportal's tests.

The schema is built once per run by the Alembic migrations (not create_all), on
SQLite by default or on PostgreSQL when TEST_DATABASE_URL is set; every test
starts from empty tables.
"""
from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

os.environ["EXAMPORTAL_CONFIG"] = "test"

from examportal import create_app
from examportal.extensions import db, limiter
from sandbox_crm.models import Base as SandboxBase


def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        _reset_postgres(url)
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "examportal-test.db")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


def _all_tables():
    return list(reversed(db.metadata.sorted_tables)) + list(reversed(SandboxBase.metadata.sorted_tables))


def _empty_tables() -> None:
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in _all_tables())
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in _all_tables():
                conn.execute(table.delete())


@pytest.fixture
def app(database_url):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url})
    from tests.factories import fresh_globals_per_request

    with app.app_context(), fresh_globals_per_request(app):
        _empty_tables()
        limiter.reset()
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def db_session(app):
    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def qualification(app):
    """The 13881 qualification loaded from its definition file."""
    from examportal.qualifications.services import load_file
    from question_bank.definition import definition_path

    qualification, _changed = load_file(definition_path("13881"))
    return qualification


@pytest.fixture
def login(client):
    """Log ``user`` in through the real login form (password from the factories)."""
    from tests.factories import PASSWORD

    def _login(user, password: str = PASSWORD):
        response = client.post("/auth/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return _login
