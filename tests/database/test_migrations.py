"""The schema is built by the migrations, the migrations match the models, and a database built
by an earlier revision, full of data, upgrades to head.

These tests open their own engines (the migrated test database and scratch ones), so they do not
need the per-test transaction.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, inspect, select

from examportal import ROOT, create_app
from examportal.extensions import db
from sandbox_crm.models import Base as SandboxBase
from tests.database.snapshot import SNAPSHOTS, dump, load
from tests.dbtools import own_postgres_database, reset_postgres_schema

VERSIONS = ROOT / "migrations" / "versions"
FROZEN = ROOT / "migrations" / "frozen.txt"
METADATAS = [db.metadata, SandboxBase.metadata]
# The one revision written before the history was frozen keeps its original file name.
DATE_PREFIXED = re.compile(r"^\d{8}_\d{4}_[0-9a-f]+_[a-z0-9_]+\.py$")


@pytest.fixture
def engine(database_url):
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def _scratch_url(database_url: str, tmp_path: Path, name: str) -> str:
    """An empty database of the same kind as the test database."""
    if database_url.startswith("postgresql"):
        url = own_postgres_database(database_url, name)
        reset_postgres_schema(url)
        return url
    return f"sqlite:///{tmp_path / name}.db"


def _script_directory() -> ScriptDirectory:
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        return ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())


def test_migrations_built_every_table(engine):
    tables = set(inspect(engine).get_table_names())
    expected = {t.name for metadata in METADATAS for t in metadata.sorted_tables}
    assert expected <= tables
    assert "alembic_version" in tables


def test_models_and_migrations_agree(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, METADATAS)
    assert diff == [], f"models differ from the migrations; add a migration (flask db migrate): {diff}"


def _check_constraints(url: str) -> dict[str, dict[str | None, str]]:
    engine = create_engine(url)
    try:
        inspector = inspect(engine)
        return {
            table: {ck["name"]: " ".join(ck["sqltext"].split()) for ck in inspector.get_check_constraints(table)}
            for table in inspector.get_table_names() if table != "alembic_version"
        }
    finally:
        engine.dispose()


def test_check_constraints_agree_with_the_models(database_url, tmp_path):
    """Alembic's comparison cannot see a CHECK constraint; compare them against create_all's.

    The reference database is built from the models by the same database server, so both
    sides come back in that server's own normal form.
    """
    reference = _scratch_url(database_url, tmp_path, "reference")
    engine = create_engine(reference)
    for metadata in METADATAS:
        metadata.create_all(engine)
    engine.dispose()
    migrated, expected = _check_constraints(database_url), _check_constraints(reference)
    differences = {
        table: {"migrations": migrated.get(table), "models": expected.get(table)}
        for table in set(migrated) | set(expected) if migrated.get(table) != expected.get(table)
    }
    assert differences == {}, f"CHECK constraints differ between the migrations and the models: {differences}"


def test_the_history_is_linear_frozen_and_date_prefixed():
    """One revision per change, never edited once landed, named by date (alembic.ini's file_template)."""
    script = _script_directory()
    assert len(script.get_heads()) == 1, "the migration history has branched: merge the heads"
    frozen = dict(line.split() for line in FROZEN.read_text().splitlines() if line and not line.startswith("#"))
    for revision in script.walk_revisions():
        path = Path(revision.path)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert frozen.get(path.name) == digest, (
            f"{path.name} is not in migrations/frozen.txt or was edited after it landed; "
            "add a new revision instead, and list a new file with its sha256 there"
        )
        if revision.down_revision is not None:
            assert DATE_PREFIXED.match(path.name), f"{path.name}: name it by alembic.ini's file_template"


def test_upgrade_from_the_previous_revision_with_demo_data(database_url, tmp_path):
    """A database filled with the demo data at the revision before head upgrades to head and works."""
    script = _script_directory()
    head = script.get_revision(script.get_current_head())
    start = head.down_revision or head.revision
    snapshot = SNAPSHOTS / f"{start}.json"
    assert snapshot.exists(), (
        f"no demo-data snapshot for revision {start}: check it out and run python -m tests.database.snapshot"
    )
    data = json.loads(snapshot.read_text(encoding="utf-8"))

    url = _scratch_url(database_url, tmp_path, "upgrade")
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(revision=start)
        with db.engine.begin() as connection:
            load(connection, data)
        upgrade()
        with db.engine.connect() as connection:
            assert connection.scalar(select(_version_table(connection).c.version_num)) == head.revision
            after = dump(connection)
        for table, rows in data.items():
            assert len(after[table]) == len(rows), f"{table} lost or gained rows in the upgrade"

        # The upgraded database serves the application at head: the demo loader finds
        # everything in place and the demo staff member sees the session.
        from examportal.demo import DEMO_TOTP_SECRET, load_demo

        # The demo may have grown since the snapshot (it adds what is new), but it loses nothing
        # of it and a second load duplicates nothing (the audit log may record a definition that
        # changed since the snapshot).
        load_demo()
        with db.engine.connect() as connection:
            first = dump(connection)
        load_demo()
        with db.engine.connect() as connection:
            again = dump(connection)
        audit = {"audit_entry", "audit_head"}
        assert all(len(first[table]) >= len(rows) for table, rows in after.items()), "the demo loader removed rows"
        assert {t: len(r) for t, r in again.items() if t not in audit} == {t: len(r) for t, r in first.items() if t not in audit}
        client = app.test_client()
        response = client.post("/auth/login", data={"email": "staff.vcc@demo.examportal.pl",
                                                    "password": "demo-haslo-2026"})
        assert response.status_code == 302
        # The demo loader gave the staff member the demo authenticator key (outside production).
        response = client.post("/auth/two-factor", data={"code": pyotp.TOTP(DEMO_TOTP_SECRET).now()})
        assert response.status_code == 302
        page = client.get("/sessions/")
        assert page.status_code == 200
        assert "Sesja walidacyjna CRM — demo" in page.get_data(as_text=True)
        db.session.remove()
        db.engine.dispose()


def _version_table(connection):
    metadata = MetaData()
    metadata.reflect(connection, only=["alembic_version"])
    return metadata.tables["alembic_version"]
