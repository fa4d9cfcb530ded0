"""Fixtures for examportal's tests.

The schema is built once per run (and per xdist worker) by the Alembic migrations, never by
create_all, on SQLite by default or on PostgreSQL when TEST_DATABASE_URL is set. Each test runs
in one transaction that is rolled back at its end (see tests/dbtools.py); a test marked
``committing`` (every browser test is) really commits, and the tables are emptied after it.
"""
from __future__ import annotations

import os

import pytest
from hypothesis import settings

os.environ["EXAMPORTAL_CONFIG"] = "test"

from examportal import create_app
from examportal.extensions import db, limiter
from sandbox_crm.models import Base as SandboxBase
from tests import commit_guard, routing_cache
from tests.dbtools import (
    empty_tables,
    own_postgres_database,
    postgres_url,
    reset_postgres_schema,
    rolled_back,
    xdist_worker,
)

# A session joining the test's outer transaction does so with a SAVEPOINT; bound to an engine
# (the committing tests), the setting has no effect.
db.session.session_factory.configure(join_transaction_mode="create_savepoint")

# Property tests check what holds, never how fast: a per-example deadline only fails them when the
# machine is busy (CI runs beside other work), as test_statistics_stay_in_range once did.
settings.register_profile("examportal", deadline=None)
settings.load_profile("examportal")


commit_guard.install()
routing_cache.install()


@pytest.fixture(autouse=True)
def _one_commit_per_request():
    """Fail a test whose requests committed more than once (the commit rule, tests/commit_guard.py)."""
    commit_guard.take()
    yield
    found = commit_guard.take()
    assert not found, f"a request committed more than once: {found}"


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "committing: the test needs real commits (other connections or threads must see its data)"
    )


def pytest_collection_modifyitems(items):
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.committing)


def _app_overrides(url: str) -> dict:
    overrides = {"SQLALCHEMY_DATABASE_URI": url}
    worker = xdist_worker()
    if worker:
        # Rate-limit counters of one worker must not be reset by another's limiter.reset().
        overrides["RATELIMIT_STORAGE_OPTIONS"] = {"key_prefix": f"LIMITS-test-{worker}"}
    return overrides


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        url = own_postgres_database(postgres_url(url))
        reset_postgres_schema(url)
    else:
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "examportal-test.db")
    app = create_app(_app_overrides(url))
    with app.app_context():
        if os.environ.get("EXAMPORTAL_TEST_CREATE_ALL"):
            # Only while a new area's tables wait for their migration revision: the schema is built
            # from the models instead. Never set in CI, where the migrations must build it.
            for metadata in _all_metadata():
                metadata.create_all(db.engine)
        else:
            from flask_migrate import upgrade

            upgrade()
        db.engine.dispose()
    return url


def _all_metadata():
    return [db.metadata, SandboxBase.metadata]


@pytest.fixture
def app(database_url, request, tmp_path):
    # The audit log's signed checkpoints of one test must not meet another test's chain.
    app = create_app(_app_overrides(database_url) | {"AUDIT_CHECKPOINT_DIR": str(tmp_path / "audit-checkpoints")})
    from tests.factories import fresh_globals_per_request

    with app.app_context(), fresh_globals_per_request(app):
        limiter.reset()
        if request.node.get_closest_marker("committing"):
            try:
                yield app
            finally:
                db.session.remove()
                empty_tables(db.engine, _all_metadata())
        else:
            with rolled_back(db):
                yield app
        db.engine.dispose()


@pytest.fixture
def app_factory(database_url, tmp_path):
    """Build another app on the test database with config overrides (its engine is disposed after)."""
    made = []

    def make(**config):
        own = {"AUDIT_CHECKPOINT_DIR": str(tmp_path / "audit-checkpoints")}
        made.append(create_app(_app_overrides(database_url) | own | config))
        return made[-1]

    yield make
    for other in made:
        with other.app_context():
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
    """Log ``user`` in through the real login form (password from the factories, then the second
    factor when the account has or needs one)."""
    from tests.factories import PASSWORD, pass_second_step

    def _login(user, password: str = PASSWORD):
        response = client.post("/auth/login", data={"email": user.email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        pass_second_step(client, user, response)
        return client

    return _login


from tests.jobtools import real_queue  # noqa: E402,F401  (the real job queue, for the tests that need it)
