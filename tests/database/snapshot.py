"""Demo-data snapshots for the upgrade test: every row of a database built by one revision.

A snapshot is plain JSON (table → rows), so the same file fills a SQLite or a PostgreSQL
database built by the migrations up to the snapshot's revision; ``test_upgrade_from_snapshot``
then upgrades that database to head. Before writing a new revision, snapshot the current head:

    python -m tests.database.snapshot        # writes tests/database/snapshots/<head>.json
"""
from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, LargeBinary, MetaData, Numeric, Table, func, select, text
from sqlalchemy.types import Date, DateTime

SNAPSHOTS = Path(__file__).parent / "snapshots"
SKIP = {"alembic_version"}


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    return value


def _decode(column_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, DateTime):
        moment = datetime.fromisoformat(value)
        # SQLite keeps UTC moments without a zone; a zone-aware column must be told it is UTC.
        if column_type.timezone and moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment
    if isinstance(column_type, Date):
        return date.fromisoformat(value)
    if isinstance(column_type, LargeBinary):
        return base64.b64decode(value)
    if isinstance(column_type, Numeric) and not isinstance(value, int | float):
        return Decimal(value)
    return value


def _tables(connection: Connection) -> list[Table]:
    metadata = MetaData()
    metadata.reflect(connection)
    return [table for table in metadata.sorted_tables if table.name not in SKIP]


def dump(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (but alembic's own), ordered by primary key."""
    data = {}
    for table in _tables(connection):
        rows = connection.execute(select(table).order_by(*table.primary_key.columns)).mappings()
        data[table.name] = [{key: _encode(value) for key, value in row.items()} for row in rows]
    return data


def load(connection: Connection, data: dict[str, list[dict[str, Any]]]) -> None:
    """Insert ``data`` (from :func:`dump`) into the tables as they are at this revision."""
    for table in _tables(connection):
        rows = data.get(table.name) or []
        if rows:
            connection.execute(table.insert(), [
                {key: _decode(table.c[key].type, value) for key, value in row.items()} for row in rows
            ])
        if connection.dialect.name == "postgresql" and rows and "id" in table.c:
            # Rows came with their ids: move the sequence past them, as a real database would be.
            top = connection.scalar(select(func.max(table.c.id)))
            sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
            if sequence:
                connection.execute(text("SELECT setval(:s, :v)"), {"s": sequence, "v": top})


def current_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from examportal import ROOT

    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def main() -> int:
    """Build a SQLite database at head, load the demo data, write its snapshot. With the test
    configuration, as the upgrade test reads it: what the demo seals (the second factors' secrets)
    is sealed under the test's CREDENTIAL_KEY, not this checkout's own key file."""
    os.environ["EXAMPORTAL_CONFIG"] = "test"
    from flask_migrate import upgrade

    from examportal import create_app
    from examportal.demo import load_demo
    from examportal.extensions import db

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/snapshot.db"})
        with app.app_context():
            upgrade()
            load_demo()
            with db.engine.connect() as connection:
                data = dump(connection)
            db.engine.dispose()
    SNAPSHOTS.mkdir(exist_ok=True)
    path = SNAPSHOTS / f"{current_head()}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {path} ({sum(map(len, data.values()))} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
