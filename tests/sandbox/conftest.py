"""A minimal host application for the sandbox CRM, with no examportal in it.

Running the sandbox's tests against this host shows the sandbox stands on its own:
it needs only a session, an actor and an authorization callback.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask, session as flask_session
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import create_engine, text

import sandbox_crm
from sandbox_crm import Actor, SandboxHost
from sandbox_crm.models import Base

ROOT = Path(__file__).resolve().parents[2]


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url and url.startswith("postgresql"):
        # A database of its own, so the sandbox's create_all never meets examportal's migrations:
        # "test" (examportal's) becomes "test_sandbox"; any other name is taken as the sandbox's
        # own, so runs on separate databases (e.g. in parallel) do not drop each other's tables.
        base, name = url.rsplit("/", 1)
        name = "test_sandbox" if name == "test" else name
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return f"{base}/{name}"
    return "sqlite:///" + str(tmp_path_factory.mktemp("sandbox") / "sandbox.db")


@pytest.fixture(scope="session")
def sandbox_db_url(tmp_path_factory):
    """The sandbox test database, with the schema built once per run."""
    url = _database_url(tmp_path_factory)
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


def _empty_tables(engine) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


@pytest.fixture
def sandbox_app(sandbox_db_url):
    app = Flask(__name__, template_folder=str(ROOT / "templates"))
    app.config.update(
        TESTING=True,
        SECRET_KEY="sandbox-tests",
        SQLALCHEMY_DATABASE_URI=sandbox_db_url,
        WTF_CSRF_ENABLED=False,
        BABEL_DEFAULT_LOCALE="pl",
    )
    db = SQLAlchemy()
    db.init_app(app)
    Babel(app)
    CSRFProtect(app)

    def actor():
        ref = flask_session.get("actor")
        return Actor(ref=ref, name=ref.title()) if ref else None

    def can_access(workspace, write):
        current = actor()
        return current is not None and workspace.owner_ref == current.ref

    sandbox_crm.init_app(app, SandboxHost(session=lambda: db.session, actor=actor, can_access=can_access))
    with app.app_context():
        _empty_tables(db.engine)
        yield app
        db.session.remove()
        _empty_tables(db.engine)
        db.engine.dispose()


@pytest.fixture
def sandbox_session(sandbox_app):
    return sandbox_crm.session()


@pytest.fixture
def login_as(sandbox_app):
    """Return a test client acting as ``ref`` (e.g. ``"user:1"``)."""

    def _client(ref: str):
        client = sandbox_app.test_client()
        with client.session_transaction() as s:
            s["actor"] = ref
        return client

    return _client


@pytest.fixture
def workspace(sandbox_app, sandbox_session):
    """An empty workspace owned by ``user:1`` (log in with ``login_as("user:1")``)."""
    from sandbox_crm.api import create_workspace

    ws = create_workspace("Test workspace", "user:1")
    sandbox_session.commit()
    return ws
