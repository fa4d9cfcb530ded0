"""Database plumbing shared by the test fixtures: one schema per run (and per xdist worker),
one rolled-back transaction per test, and a real empty-the-tables path for the tests that need
real commits (browser tests, whose live server answers from other threads and connections).

Every test runs inside an outer transaction on a single connection; the Flask-SQLAlchemy
session joins it with a SAVEPOINT (``join_transaction_mode="create_savepoint"``), so the
code under test commits and rolls back as usual while nothing reaches the database for good.
The same recipe as Indico's ``db`` fixture and SQLAlchemy's "joining a session into an
external transaction".
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.engine import Connection


def xdist_worker() -> str:
    """The pytest-xdist worker id ("gw0", "gw1", …), or "" when the run is not distributed."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def postgres_url(url: str) -> str:
    """The URL with the psycopg 3 driver named (``postgresql://`` alone would mean psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def own_postgres_database(url: str, suffix: str = "") -> str:
    """A PostgreSQL database of this run's own, created when missing.

    ``suffix`` names a separate database for another schema (the sandbox's own host);
    under xdist every worker gets its own database, so workers never drop each other's tables.
    """
    base, name = url.rsplit("/", 1)
    parts = [name] + [part for part in (suffix, xdist_worker()) if part]
    own = "_".join(parts)
    if own != name:
        if not re.fullmatch(r"[A-Za-z0-9_]+", own):
            raise ValueError(f"unsupported test database name: {own!r}")
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own}):
                conn.execute(text(f'CREATE DATABASE "{own}"'))
        admin.dispose()
    return f"{base}/{own}"


def reset_postgres_schema(url: str) -> None:
    """Drop everything in the public schema (a run starts from an empty database)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def empty_tables(engine: Engine | Connection, metadatas: Iterable[MetaData]) -> None:
    """Delete every row of every table of ``metadatas`` (children first)."""
    tables = [table for metadata in metadatas for table in reversed(metadata.sorted_tables)]
    with engine.begin() if isinstance(engine, Engine) else nullcontext(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


def _sqlite_savepoints(connection: Connection) -> None:
    """Let pysqlite take part in SAVEPOINTs: it must not begin or end transactions on its own.

    pysqlite's legacy transaction handling emits BEGIN only before DML and COMMITs before DDL,
    which breaks nested transactions; SQLAlchemy's documented recipe hands control back to
    SQLAlchemy (see "Serializable isolation / Savepoints / Transactional DDL").
    """
    connection.connection.driver_connection.isolation_level = None  # type: ignore[union-attr]

    @event.listens_for(connection, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")


@contextmanager
def rolled_back(db: SQLAlchemy) -> Iterator[Connection]:
    """Run the block inside one transaction that is rolled back at the end.

    The application's default engine is swapped for a single connection that holds the outer
    transaction; every session of the app (the test's and each request's) joins it with a
    savepoint, so ``commit()`` in the code under test releases a savepoint and ``rollback()``
    returns to it. Call inside an application context.
    """
    engines = db.engines  # this app's own mapping: bind key → engine
    engine = engines[None]
    connection = engine.connect()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        _sqlite_savepoints(connection)
    outer = connection.begin()
    db.session.remove()
    engines[None] = connection  # type: ignore[index]  (a Connection is a valid bind)
    try:
        yield connection
    finally:
        db.session.remove()
        engines[None] = engine  # type: ignore[index]
        if outer.is_active:
            outer.rollback()
        if sqlite:
            connection.connection.driver_connection.isolation_level = ""  # type: ignore[union-attr]
        connection.close()
