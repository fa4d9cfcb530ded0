"""Backups: the round trip on the run's own server (SQLite, or PostgreSQL when TEST_DATABASE_URL
names one, as in test_migrations), and every refusal: a database with data, a wrong or missing
key, an altered or cut archive, stored files that differ.

The databases here are scratch ones of this module (PostgreSQL: ``backup_<name>_<pid>``,
dropped at the end), built by the migrations like the test database, each with an app of its own
whose instance folder is a temporary one; the per-test transaction is not used.
"""
from __future__ import annotations

import io
import itertools
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, inspect, make_url, select, table, text
from sqlalchemy.pool import NullPool

from examportal import create_app
from examportal.audit import services as audit
from examportal.backup.archive import ArchiveDamaged, BackupKey, BackupKeyError, DecryptingReader, EncryptingWriter
from examportal.backup.services import _libpq, read_backup
from examportal.demo import load_demo
from examportal.extensions import db
from examportal.models import AuditEntry, Institution, InstitutionKind
from tests.dbtools import reset_postgres_schema

KEY = BackupKey.generate()
PDF = b"%PDF-1.4\n% a signed protocol, kept as a file\n%%EOF\n"
SIGNING_KEY = b"-----BEGIN PRIVATE KEY-----\nbm90IGEgcmVhbCBrZXk=\n-----END PRIVATE KEY-----\n"


class Scratch:
    """Empty databases of the run's kind, and apps on them; everything is dropped at the end."""

    def __init__(self, database_url: str, folder: Path) -> None:
        self.postgres = database_url.startswith("postgresql")
        self.base = database_url.rsplit("/", 1)[0]
        self.folder = folder
        self.counter = itertools.count(1)
        self.databases: list[str] = []
        self.apps: list[Flask] = []

    def _admin(self):
        return create_engine(f"{self.base}/postgres", isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def database(self, name: str, sqlite_path: Path | None = None) -> str:
        """An empty database; on PostgreSQL the same one per name, emptied again (creating and
        dropping a database costs a checkpoint each)."""
        if not self.postgres:
            return f"sqlite:///{sqlite_path or self.folder / f'{name}_{next(self.counter)}.db'}"
        own = f"backup_{name}_{os.getpid()}"
        url = f"{self.base}/{own}"
        if own in self.databases:
            reset_postgres_schema(url)
        else:
            with self._admin().connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{own}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{own}"'))
            self.databases.append(own)
        return url

    def app(self, url: str, instance: Path) -> Flask:
        """An app on ``url`` whose instance folder (stored files, audit checkpoints) is ``instance``."""
        app = create_app({"SQLALCHEMY_DATABASE_URI": url})
        instance.mkdir(parents=True, exist_ok=True)
        app.instance_path = str(instance)
        self.apps.append(app)
        return app

    def dispose(self, app: Flask) -> None:
        with app.app_context():
            db.engine.dispose()

    def drop(self) -> None:
        for app in self.apps:
            self.dispose(app)
        if self.postgres:
            with self._admin().connect() as connection:
                for name in self.databases:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass
class Source:
    app: Flask
    url: str
    instance: Path
    archive: Path
    counts: dict[str, int]


def flask(app: Flask, *args: str, key: str | None = KEY) -> Result:
    """Run ``flask ARGS`` for ``app`` with BACKUP_KEY set to ``key`` (None: unset)."""
    return app.test_cli_runner().invoke(args=list(args), env={"BACKUP_KEY": key})


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return {name: connection.scalar(select(func.count()).select_from(table(name)))
                    for name in inspect(connection).get_table_names()}
    finally:
        engine.dispose()


def rows(url: str) -> int:
    return sum(count for name, count in row_counts(url).items() if name != "alembic_version")


def populate(app: Flask, instance: Path) -> None:
    """Demo data, a few more audit entries, stored files, and a checkpoint of the chain."""
    with app.app_context():
        upgrade()
        load_demo()
        for n in range(3):
            audit.record("test.note", object_type="test", object_id=n, after={"n": n})
        db.session.commit()
    (instance / "protocols").mkdir()
    (instance / "protocols" / "session-1.pdf").write_bytes(PDF)
    (instance / "keys").mkdir()
    (instance / "keys" / "badge-signing.pem").write_bytes(SIGNING_KEY)
    # What never goes into an archive: the development secret, the audit key and the credential key files.
    (instance / "secret_key").write_text("a development session secret")
    (instance / "audit_key").write_text("an audit key that must stay apart from every backup")
    (instance / "credential_key").write_text("a key sealing the signing keys, apart from every backup")
    result = flask(app, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert (instance / "audit-checkpoints.jsonl").is_file()


@pytest.fixture(scope="module")
def scratch(database_url, tmp_path_factory):
    made = Scratch(database_url, tmp_path_factory.mktemp("backup-databases"))
    yield made
    made.drop()


@pytest.fixture(scope="module")
def source(scratch, tmp_path_factory) -> Source:
    """A database with the demo data and its backup (read only: tests restore it elsewhere)."""
    folder = tmp_path_factory.mktemp("backup-source")
    instance = folder / "instance"
    instance.mkdir()
    # SQLite: where the default configuration keeps it, inside the instance folder.
    url = scratch.database("src", sqlite_path=instance / "examportal.db")
    app = scratch.app(url, instance)
    populate(app, instance)
    archive = folder / "demo.backup"
    result = flask(app, "backup", "create", "--output", str(archive))
    assert result.exit_code == 0, result.output
    return Source(app, url, instance, archive, row_counts(url))


@pytest.fixture
def target(scratch, tmp_path):
    """An empty database and an empty instance folder: a new server."""
    url = scratch.database("dst")
    app = scratch.app(url, tmp_path / "instance")
    yield app, url, tmp_path / "instance"
    scratch.dispose(app)


def test_round_trip_into_an_empty_database(source, target):
    app, url, instance = target
    assert rows(url) == 0

    result = flask(app, "backup", "restore", str(source.archive))

    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.output
    restored = row_counts(url)
    expected = dict(source.counts)
    expected["audit_entry"] += 1  # the restore itself
    assert restored == expected
    assert restored["user_account"] > 0 and restored["validation_session"] > 0
    assert (instance / "protocols" / "session-1.pdf").read_bytes() == PDF
    assert (instance / "keys" / "badge-signing.pem").read_bytes() == SIGNING_KEY
    assert stat.S_IMODE((instance / "keys" / "badge-signing.pem").stat().st_mode) == 0o600
    assert not (instance / "secret_key").exists() and not (instance / "audit_key").exists()
    assert not (instance / "credential_key").exists()
    with app.app_context():
        last = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert last.action == "backup.restored"
        assert last.after["restored_seq"] == source.counts["audit_entry"]
    # The new server had no checkpoint file: the archive's copy was put in place and continued.
    assert (instance / "audit-checkpoints.jsonl").is_file()

    verify = flask(app, "audit", "verify")
    assert verify.exit_code == 0, verify.output
    assert "RESTORED" in verify.output
    assert f"audit chain intact: {expected['audit_entry']} entries" in verify.output


def test_the_archive_holds_the_stored_files_and_leaves_out_keys_and_the_database_file(source, tmp_path):
    assert stat.S_IMODE(source.archive.stat().st_mode) == 0o600
    assert PDF not in source.archive.read_bytes()  # encrypted

    manifest = read_backup(source.archive, BackupKey.from_text(KEY), tmp_path)

    assert sorted(stored.path for stored in manifest.files) == ["keys/badge-signing.pem", "protocols/session-1.pdf"]
    assert manifest.checkpoints
    assert manifest.row_counts == source.counts
    assert manifest.dialect == ("postgresql" if source.url.startswith("postgresql") else "sqlite")


def test_a_migrated_database_without_data_counts_as_empty(source, target):
    app, url, _instance = target
    with app.app_context():
        upgrade()  # what a deployment may have run before the restore: tables, no rows
        db.engine.dispose()

    result = flask(app, "backup", "restore", str(source.archive), "--reason", "new server after a disk failure")

    assert result.exit_code == 0, result.output
    assert row_counts(url)["user_account"] == source.counts["user_account"]
    with app.app_context():
        last = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc())).first()
        assert last.after["reason"] == "new server after a disk failure"


def test_a_database_that_holds_data_is_refused(source, target):
    app, url, _instance = target
    assert flask(app, "backup", "restore", str(source.archive)).exit_code == 0
    before = row_counts(url)

    again = flask(app, "backup", "restore", str(source.archive))

    assert again.exit_code == 1
    assert "is not empty" in again.output and "--force" in again.output
    assert row_counts(url) == before


def test_force_replaces_the_data_and_the_audit_trail_explains_what_was_lost(scratch, tmp_path):
    instance = tmp_path / "instance"
    url = scratch.database("force", sqlite_path=instance / "examportal.db")
    instance.mkdir()
    app = scratch.app(url, instance)
    populate(app, instance)
    archive = tmp_path / "before.backup"
    assert flask(app, "backup", "create", "--output", str(archive)).exit_code == 0
    backed_up = row_counts(url)
    with app.app_context():
        db.session.add(Institution(name="Added after the backup", short_name="LATE", kind=InstitutionKind.CERTIFYING))
        audit.record("test.note", object_type="test", object_id="late", after={"n": 99})
        db.session.commit()
    assert flask(app, "audit", "verify").exit_code == 0  # a checkpoint now names the entry the restore loses

    result = flask(app, "backup", "restore", str(archive), "--force")

    assert result.exit_code == 0, result.output
    assert "lost with the restore" in result.output
    restored = row_counts(url)
    assert restored["institution"] == backed_up["institution"]
    assert restored["audit_entry"] == backed_up["audit_entry"] + 1
    verify = flask(app, "audit", "verify")
    assert verify.exit_code == 0, verify.output
    assert "were lost with the restore" in verify.output


def test_a_wrong_key_is_refused_and_nothing_changes(source, target):
    app, url, instance = target

    result = flask(app, "backup", "restore", str(source.archive), key=BackupKey.generate())

    assert result.exit_code == 1
    assert "encrypted with another key" in result.output
    assert rows(url) == 0
    assert list(instance.iterdir()) == []


@pytest.mark.parametrize(("key", "message"), [(None, "BACKUP_KEY is not set"), ("not-a-key", "not a Fernet key")])
def test_a_missing_or_malformed_key_is_refused(source, target, tmp_path, key, message):
    app, url, _instance = target

    create = flask(source.app, "backup", "create", "--output", str(tmp_path / "x.backup"), key=key)
    restore = flask(app, "backup", "restore", str(source.archive), key=key)

    assert create.exit_code == 1 and message in create.output
    assert not (tmp_path / "x.backup").exists()
    assert restore.exit_code == 1 and message in restore.output
    assert rows(url) == 0


def test_create_never_overwrites_a_file(source, tmp_path):
    existing = tmp_path / "kept.backup"
    existing.write_bytes(b"an older backup")

    result = flask(source.app, "backup", "create", "--output", str(existing))

    assert result.exit_code == 1 and "exists" in result.output
    assert existing.read_bytes() == b"an older backup"


def test_an_altered_archive_is_refused_and_nothing_changes(source, target, tmp_path):
    app, url, instance = target
    data = bytearray(source.archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    altered = tmp_path / "altered.backup"
    altered.write_bytes(bytes(data))

    result = flask(app, "backup", "restore", str(altered))

    assert result.exit_code == 1
    assert "does not authenticate" in result.output
    assert rows(url) == 0
    assert list(instance.iterdir()) == []


def test_an_archive_cut_short_is_refused(source, target, tmp_path):
    app, url, _instance = target
    data = source.archive.read_bytes()
    cut = tmp_path / "cut.backup"
    cut.write_bytes(data[: len(data) - 200])

    result = flask(app, "backup", "restore", str(cut))

    assert result.exit_code == 1
    assert "cut short" in result.output
    assert rows(url) == 0


def test_stored_files_that_differ_are_refused_unless_forced(source, target):
    app, url, instance = target
    (instance / "protocols").mkdir()
    (instance / "protocols" / "session-1.pdf").write_bytes(b"another protocol")

    refused = flask(app, "backup", "restore", str(source.archive))

    assert refused.exit_code == 1
    assert "protocols/session-1.pdf" in refused.output
    assert rows(url) == 0
    forced = flask(app, "backup", "restore", str(source.archive), "--force")
    assert forced.exit_code == 0, forced.output
    assert (instance / "protocols" / "session-1.pdf").read_bytes() == PDF


def test_inspect_shows_an_intact_archive(source):
    result = flask(source.app, "backup", "inspect", str(source.archive))

    assert result.exit_code == 0, result.output
    assert "intact backup" in result.output and "protocols/session-1.pdf" in result.output


# --------------------------------------------------------------------------- the container itself


def _archive(payload: bytes, chunk_size: int = 64, key: str = KEY) -> bytes:
    out = io.BytesIO()
    writer = EncryptingWriter(out, BackupKey.from_text(key), chunk_size=chunk_size)
    writer.write(payload)
    writer.finish()
    return out.getvalue()


def _frames(data: bytes) -> tuple[bytes, list[bytes]]:
    header, rest = data.split(b"\n", 1)
    frames = []
    while rest:
        length = int.from_bytes(rest[:4], "big")
        frames.append(rest[: 4 + length])
        rest = rest[4 + length:]
    return header + b"\n", frames


def _read(data: bytes, key: str = KEY) -> bytes:
    reader = DecryptingReader(io.BytesIO(data), BackupKey.from_text(key))
    payload = reader.read()
    assert reader.read_to_end() == 0
    return payload


def test_the_container_reads_back_what_was_written():
    payload = os.urandom(1000)
    assert _read(_archive(payload)) == payload
    assert _read(_archive(b"")) == b""
    assert _read(_archive(b"x" * 128)) == b"x" * 128  # a multiple of the chunk size


@pytest.mark.parametrize("change", ["reorder", "drop", "splice", "trailing", "header"])
def test_the_container_refuses_chunks_moved_dropped_or_spliced(change):
    header, frames = _frames(_archive(os.urandom(300)))
    _other_header, other = _frames(_archive(os.urandom(300)))
    assert len(frames) == len(other) == 5
    if change == "reorder":
        frames[1], frames[2] = frames[2], frames[1]
    elif change == "drop":
        del frames[2]
    elif change == "splice":
        frames[3] = other[3]  # same key, another archive
    elif change == "trailing":
        frames.append(other[4])
    else:
        header = header.replace(b" 1 ", b" 2 ")

    with pytest.raises(ArchiveDamaged):
        _read(header + b"".join(frames))


def test_a_wrong_key_is_told_apart_from_damage():
    with pytest.raises(BackupKeyError, match="another key"):
        _read(_archive(b"secret"), key=BackupKey.generate())


def test_the_database_password_goes_to_pg_dump_in_the_environment_not_on_its_command_line():
    uri, env = _libpq(make_url("postgresql+psycopg://portal:s3cr%40t@db.internal:5433/examportal?sslmode=require"))

    assert uri == "postgresql://portal@db.internal:5433/examportal?sslmode=require"
    assert env["PGPASSWORD"] == "s3cr@t"
