"""Backing up and restoring the running configuration: its database and its stored files.

An archive (see ``archive``) holds a tar stream of:

- ``manifest.json``: when, which database kind and schema revision, the row count of every table
  (counted in the same snapshot as the dump), and every stored file with its SHA-256;
- the database: PostgreSQL's own ``pg_dump`` (custom format, one exported snapshot), or a copy of
  the SQLite file made with SQLite's backup API (a consistent copy while the portal runs);
- ``files/``: the instance folder's stored files, except what never goes into a backup: the
  database file itself, the audit key (it must stay apart from the database and its backups, or
  whoever holds a backup could rewrite the audit chain), the development session secret, and
  other backups;
- a kept copy of the audit checkpoint file, put in place on restore only when the server's own
  copy was lost with it (the server's copy, when there, is the better witness of what the
  restore loses).

A restore reads and authenticates the whole archive before it changes anything, refuses a
database that holds data and stored files that differ (unless forced), checks the restored row
counts against the manifest, and records the restore in the audit trail.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path, PurePosixPath

from flask import current_app
from sqlalchemy import Connection, create_engine, func, inspect, select, table, text
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

from .. import keyfiles
from ..audit import anchor
from ..audit.services import AuditRefused, RestoreRecord, record_restore
from ..credentials import keys as credential_keys
from ..extensions import db
from .archive import MAGIC, ArchiveDamaged, BackupError, BackupKey, DecryptingReader, EncryptingWriter

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/examportal.sqlite3"
POSTGRES_MEMBER = "database/examportal.pgdump"
FILES_DIR = "files"
CHECKPOINTS_MEMBER = "audit/checkpoints.jsonl"
#: The development session secret (config.DevelopmentConfig): configuration, made anew per machine.
DEV_SECRET_FILE = "secret_key"  # noqa: S105  (a file name, not a secret)
#: alembic's bookkeeping: one row even in a database that holds nothing yet.
ALEMBIC_TABLE = "alembic_version"
SUFFIX = ".backup"


class DatabaseNotEmpty(BackupError):
    """The restore target holds data."""


@dataclass(frozen=True)
class StoredFile:
    path: str  #: relative to the instance folder, with "/" separators
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    format: int
    created_at: str
    dialect: str
    database: str  #: the archive member holding the database
    revision: str | None
    row_counts: dict[str, int]
    files: tuple[StoredFile, ...]
    checkpoints: bool

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw["format"] != FORMAT:
                raise ArchiveDamaged(f"backup manifest format {raw['format']} is not supported (this version reads {FORMAT})")
            files = tuple(StoredFile(path=_safe_relative(str(f["path"])), size=int(f["size"]), sha256=str(f["sha256"]))
                          for f in raw["files"])
            return cls(format=FORMAT, created_at=str(raw["created_at"]), dialect=str(raw["dialect"]),
                       database=str(raw["database"]),
                       revision=None if raw["revision"] is None else str(raw["revision"]),
                       row_counts={str(name): int(count) for name, count in raw["row_counts"].items()},
                       files=files, checkpoints=bool(raw["checkpoints"]))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ArchiveDamaged(f"the backup's manifest is not readable ({error})") from None

    @property
    def rows(self) -> int:
        return sum(self.row_counts.values())


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    files_written: int
    files_unchanged: int
    record: RestoreRecord
    #: the migrations' head when it is not the restored database's revision (then `flask db upgrade`)
    head_revision: str | None


def _safe_relative(path: str) -> str:
    pure = PurePosixPath(path)
    if pure.is_absolute() or not pure.parts or any(part in ("", ".", "..") for part in pure.parts):
        raise ValueError(f"unsafe stored-file path {path!r}")
    return pure.as_posix()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_output() -> Path:
    """``examportal-<UTC time>.backup`` in the current directory."""
    return Path(f"examportal-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}{SUFFIX}")


# --------------------------------------------------------------------------- the database


def _backend() -> str:
    name = db.engine.url.get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL databases, not {name}")
    return name


def _sqlite_path(url: URL) -> Path:
    database = url.database
    if not database or database == ":memory:" or url.query.get("mode") == "memory":
        raise BackupError("the database is in memory: there is no SQLite file to back up or restore into "
                          "(set DATABASE_URL to a file)")
    return Path(database)


def _row_counts(connection: Connection) -> dict[str, int]:
    """Rows per table of the default schema, alembic's table included."""
    return {name: connection.scalar(select(func.count()).select_from(table(name))) or 0
            for name in sorted(inspect(connection).get_table_names())}


def _revision(counts: dict[str, int], connection: Connection) -> str | None:
    if ALEMBIC_TABLE not in counts:
        return None
    revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    return None if revision is None else str(revision)


def _client_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} was not found: PostgreSQL backups need the PostgreSQL client tools, of the "
                          "server's major version or newer (Debian: apt-get install postgresql-client)")
    return path


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The connection URI for the client tools, and their environment; the password goes in the
    environment, never on a command line that every user of the host can read."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                       query=url.query)
    return plain.render_as_string(hide_password=False), env


def _run(command: list[str], env: dict[str, str]) -> None:
    # The tool's full path (shutil.which) and arguments we build, never a shell.
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        tool = Path(command[0]).name
        raise BackupError(f"{tool} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def _dump_sqlite(staging: Path) -> tuple[str, dict[str, int], str | None]:
    source_path = _sqlite_path(db.engine.url)
    if not source_path.is_file():
        raise BackupError(f"the SQLite database {source_path} does not exist")
    target = staging / SQLITE_MEMBER
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(source_path)
    copy = sqlite3.connect(target)
    try:
        # Page by page under SQLite's own locking: a consistent copy even while the portal writes.
        source.backup(copy)
    finally:
        copy.close()
        source.close()
    engine = create_engine(f"sqlite:///{target}", poolclass=NullPool)
    try:
        with engine.connect() as connection:
            counts = _row_counts(connection)
            return SQLITE_MEMBER, counts, _revision(counts, connection)
    finally:
        engine.dispose()


def _dump_postgres(staging: Path) -> tuple[str, dict[str, int], str | None]:
    pg_dump = _client_tool("pg_dump")
    uri, env = _libpq(db.engine.url)
    target = staging / POSTGRES_MEMBER
    target.parent.mkdir(parents=True, exist_ok=True)
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            # pg_dump reads the snapshot this transaction exports, so the row counts of the
            # manifest are the dump's own, however much the portal writes meanwhile.
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            counts = _row_counts(connection)
            revision = _revision(counts, connection)
            _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", "--no-password",
                  f"--snapshot={snapshot}", f"--file={target}", f"--dbname={uri}"], env)
    return POSTGRES_MEMBER, counts, revision


def _occupied_tables() -> dict[str, int]:
    """Tables of the configured database that hold rows (alembic's bookkeeping aside)."""
    with db.engine.connect() as connection:
        return {name: count for name, count in _row_counts(connection).items() if count and name != ALEMBIC_TABLE}


def _restore_sqlite(dump: Path) -> None:
    target = _sqlite_path(db.engine.url)
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(dump)
    destination = sqlite3.connect(target)
    try:
        # The backup API replaces the whole destination (journal and WAL included) in one step.
        source.backup(destination)
    finally:
        destination.close()
        source.close()


def _restore_postgres(dump: Path) -> None:
    pg_restore = _client_tool("pg_restore")
    uri, env = _libpq(db.engine.url)
    with db.engine.begin() as connection:
        leftovers = connection.scalar(text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'"))
        if leftovers:
            # Only reached for a schema without data (e.g. after `flask db upgrade`) or with --force.
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    db.engine.dispose()
    _run([pg_restore, "--no-owner", "--no-privileges", "--no-password", "--exit-on-error", "--single-transaction",
          f"--dbname={uri}", str(dump)], env)


# --------------------------------------------------------------------------- stored files


def _instance() -> Path:
    return Path(current_app.instance_path)


def _never_archived() -> set[Path]:
    paths = {anchor.key_file_path(), anchor.checkpoint_path(), _instance() / DEV_SECRET_FILE,
             keyfiles.key_file_path("CREDENTIAL_KEY_FILE", credential_keys.KEY_FILE)}
    if db.engine.url.get_backend_name() == "sqlite" and db.engine.url.database not in (None, "", ":memory:"):
        database = _sqlite_path(db.engine.url)
        paths |= {database, *(database.with_name(database.name + suffix) for suffix in ("-journal", "-wal", "-shm"))}
    return {path.resolve() for path in paths}


def _is_backup(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def _stored_files() -> Iterator[tuple[str, Path]]:
    root = _instance()
    excluded = _never_archived()
    for folder, dirs, names in os.walk(root):  # symbolic links to folders are not followed
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if path.is_symlink() or not path.is_file() or path.resolve() in excluded:
                continue
            if _is_backup(path) or name.endswith(f"{SUFFIX}.partial"):
                continue  # a backup never holds another (they would nest, each one larger)
            yield path.relative_to(root).as_posix(), path


def _stage_files(staging: Path) -> tuple[StoredFile, ...]:
    staged = []
    for relative, path in _stored_files():
        copy = staging / FILES_DIR / relative
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
        staged.append(StoredFile(relative, copy.stat().st_size, _sha256(copy)))
    return tuple(staged)


def _stage_checkpoints(staging: Path) -> bool:
    path = anchor.checkpoint_path()
    if not path.is_file():
        return False
    with path.open("rb") as handle:
        # Shared with readers, exclusive of the writer (anchor appends under an exclusive lock):
        # never half a line.
        fcntl.flock(handle, fcntl.LOCK_SH)
        data = handle.read()
    copy = staging / CHECKPOINTS_MEMBER
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_bytes(data)
    return True


def _file_conflicts(manifest: Manifest) -> list[str]:
    root = _instance()
    return [stored.path for stored in manifest.files
            if (root / stored.path).exists() and not ((root / stored.path).is_file() and _sha256(root / stored.path) == stored.sha256)]


def _restore_files(manifest: Manifest, unpacked: Path) -> tuple[int, int]:
    root = _instance()
    written = unchanged = 0
    for stored in manifest.files:
        target = root / stored.path
        if target.is_file() and _sha256(target) == stored.sha256:
            unchanged += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.restoring")
        shutil.copyfile(unpacked / FILES_DIR / stored.path, partial)
        partial.chmod(0o600)  # stored files may be keys
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(partial, target)
        written += 1
    return written, unchanged


# --------------------------------------------------------------------------- archives


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(datetime.now(UTC).timestamp())
    tar.addfile(info, BytesIO(data))


def create_backup(output: Path, key: BackupKey) -> Manifest:
    """Write an encrypted archive of the database and the stored files to ``output`` (a new file,
    mode 0600; never overwrites one)."""
    if output.exists():
        raise BackupError(f"{output} exists: choose another --output (a backup never overwrites a file)")
    dialect = _backend()
    with tempfile.TemporaryDirectory(prefix="examportal-backup-") as tmp:
        staging = Path(tmp)
        # The checkpoints first: then none names an entry the dump lacks.
        checkpoints = _stage_checkpoints(staging)
        member, counts, revision = _dump_sqlite(staging) if dialect == "sqlite" else _dump_postgres(staging)
        files = _stage_files(staging)
        manifest = Manifest(FORMAT, datetime.now(UTC).isoformat(timespec="seconds"), dialect, member, revision,
                            counts, files, checkpoints)
        partial = output.with_name(output.name + ".partial")
        partial.unlink(missing_ok=True)
        try:
            with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
                writer = EncryptingWriter(handle, key)
                with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:
                    _add_bytes(tar, MANIFEST, manifest.to_json())
                    tar.add(staging / member, arcname=member)
                    for stored in files:
                        tar.add(staging / FILES_DIR / stored.path, arcname=f"{FILES_DIR}/{stored.path}")
                    if checkpoints:
                        tar.add(staging / CHECKPOINTS_MEMBER, arcname=CHECKPOINTS_MEMBER)
                writer.finish()
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, output)
        finally:
            partial.unlink(missing_ok=True)
    return manifest


def read_backup(archive: Path, key: BackupKey, into: Path) -> Manifest:
    """Decrypt, authenticate and unpack ``archive`` into the folder ``into``; its manifest.

    Raises BackupKeyError for a wrong key and ArchiveDamaged for anything altered, cut short or
    not a backup; only a manifest that returns vouches for the whole archive.
    """
    with archive.open("rb") as handle:
        reader = DecryptingReader(handle, key)
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                tar.extractall(into, filter="data")
        except tarfile.TarError as error:
            raise ArchiveDamaged(f"the archive's content is not a backup ({error})") from None
        # tar stops at its end-of-archive blocks: the chunks after them must authenticate too.
        reader.read_to_end()
    if not (into / MANIFEST).is_file():
        raise ArchiveDamaged("the archive has no manifest: it is not a backup")
    manifest = Manifest.from_json((into / MANIFEST).read_bytes())
    members = [manifest.database, *(f"{FILES_DIR}/{stored.path}" for stored in manifest.files)]
    if manifest.checkpoints:
        members.append(CHECKPOINTS_MEMBER)
    missing = [member for member in members if not (into / member).is_file()]
    if missing:
        raise ArchiveDamaged(f"the archive lacks what its manifest lists: {', '.join(missing[:5])}")
    for stored in manifest.files:
        if _sha256(into / FILES_DIR / stored.path) != stored.sha256:
            raise ArchiveDamaged(f"stored file {stored.path} does not match the manifest's digest")
    return manifest


def _head_revisions() -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    return tuple(ScriptDirectory.from_config(config).get_heads())


def restore_backup(archive: Path, key: BackupKey, *, reason: str | None = None, force: bool = False) -> RestoreResult:
    """Restore ``archive`` into the configured database (which must hold no data, unless ``force``)
    and the instance folder, then record the restore in the audit trail.

    Nothing changes before the whole archive has authenticated and every check has passed. With
    ``force`` a database that holds data is replaced and stored files that differ are overwritten:
    everything in them is lost.
    """
    with tempfile.TemporaryDirectory(prefix="examportal-restore-") as tmp:
        unpacked = Path(tmp)
        manifest = read_backup(archive, key, unpacked)
        dialect = _backend()
        if manifest.dialect != dialect:
            raise BackupError(f"the archive holds a {manifest.dialect} database but DATABASE_URL names a {dialect} one: "
                              "restore into a database of the same kind")
        occupied = _occupied_tables()
        if occupied and not force:
            listed = ", ".join(f"{name} ({count})" for name, count in sorted(occupied.items())[:6])
            raise DatabaseNotEmpty(
                f"the database {db.engine.url.render_as_string(hide_password=True)} is not empty: {len(occupied)} "
                f"table(s) hold rows ({listed}{', …' if len(occupied) > 6 else ''}). Restore into a new, empty "
                "database; --force replaces this one, and everything in it is lost")
        conflicts = _file_conflicts(manifest)
        if conflicts and not force:
            raise BackupError(f"stored files in {_instance()} differ from the backup's: {', '.join(conflicts[:5])}"
                              f"{' …' if len(conflicts) > 5 else ''}. Move them away, or --force overwrites them")

        db.session.remove()
        db.engine.dispose()
        if dialect == "sqlite":
            _restore_sqlite(unpacked / manifest.database)
        else:
            _restore_postgres(unpacked / manifest.database)
        db.engine.dispose()
        with db.engine.connect() as connection:
            counts = _row_counts(connection)
        if counts != manifest.row_counts:
            differ = sorted(name for name in set(counts) | set(manifest.row_counts)
                            if counts.get(name) != manifest.row_counts.get(name))
            raise BackupError("the restored database does not match the backup's manifest (tables "
                              + ", ".join(f"{name}: {counts.get(name)} rows, backed up {manifest.row_counts.get(name)}"
                                          for name in differ[:5]) + ")")
        written, unchanged = _restore_files(manifest, unpacked)

        record = _record_restore(reason or f"restored from the backup made {manifest.created_at}",
                                 unpacked / CHECKPOINTS_MEMBER if manifest.checkpoints else None)
    heads = _head_revisions()
    head = None if manifest.revision in heads else ", ".join(heads)
    return RestoreResult(manifest, written, unchanged, record, head)


def _record_restore(reason: str, kept_checkpoints: Path | None) -> RestoreRecord:
    configured = anchor.checkpoint_path()
    # The server's own checkpoint file, when it survived, knows what the restore loses; the
    # archive's copy stands in only when it is gone.
    survived = configured.is_file() and configured.read_text(encoding="utf-8").strip() != ""
    try:
        return record_restore(reason, None if survived else kept_checkpoints)
    except AuditRefused as error:
        raise BackupError(f"the database and the stored files were restored, but the restore could not be recorded in "
                          f"the audit trail: {error}. Put that right, then record it with "
                          "`flask audit restored --reason ...`") from None
