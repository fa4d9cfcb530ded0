"""Counting what a request asks the database: every statement sent meanwhile, with its verb and
first table (the test harness's savepoints left out)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from examportal.extensions import db

PATTERNS = (("INSERT", re.compile(r"^\s*INSERT INTO (\w+)", re.I)), ("UPDATE", re.compile(r"^\s*UPDATE (\w+)", re.I)),
            ("DELETE", re.compile(r"^\s*DELETE FROM (\w+)", re.I)), ("SELECT", re.compile(r"^\s*SELECT\s.*?\sFROM\s+(\w+)", re.I | re.S)))


def _kind(statement: str) -> tuple[str, str] | None:
    """(verb, first table) of a statement; None for the test harness's savepoints."""
    if re.match(r"^\s*(SAVEPOINT|RELEASE|ROLLBACK)", statement, re.I):
        return None
    for verb, pattern in PATTERNS:
        found = pattern.match(statement)
        if found:
            return verb, found.group(1)
    return "OTHER", statement[:40]


@contextmanager
def statements() -> Iterator[list[tuple[str, str, str]]]:
    """Every statement the application sends meanwhile: (verb, table, SQL)."""
    seen: list[tuple[str, str, str]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        kind = _kind(statement)
        if kind is not None:
            seen.append((*kind, statement))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
