"""A minimal host application for the sandbox CRM, with no examportal in it.

Running the sandbox's tests against this host shows the sandbox stands on its own:
it needs only a session, an actor and an authorization callback.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask
from flask import session as flask_session
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import create_engine

import sandbox_crm
from sandbox_crm import Actor, SandboxHost
from sandbox_crm.models import Base
from tests.dbtools import own_postgres_database, postgres_url, rolled_back

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sandbox_db_url(tmp_path_factory):
    """The sandbox test database, with the schema built once per run (and per xdist worker).

    On PostgreSQL a database of its own (``<name>_sandbox``), so the sandbox's create_all never
    meets examportal's migrations.
    """
    url = os.environ.get("TEST_DATABASE_URL")
    if url and url.startswith("postgresql"):
        url = own_postgres_database(postgres_url(url), "sandbox")
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("sandbox") / "sandbox.db")
    engine = create_engine(url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


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
    db.session.session_factory.configure(join_transaction_mode="create_savepoint")
    with app.app_context():
        with rolled_back(db):
            yield app
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
