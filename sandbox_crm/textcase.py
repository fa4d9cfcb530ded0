"""Case-insensitive names and searches that treat Polish capitals like any other letter, on every database.

SQLite's built-in ``lower()`` folds ASCII only: ``lower('ĄĆĘŁŃÓŚŹŻ')`` stays ``'ĄĆĘŁŃÓŚŹŻ'``. A
lookup written as ``lower(column) == value.lower()`` then misses a stored ``ŁÓDŹ`` when ``łódź`` is
typed, and a uniqueness check written that way let a second ``ĄĆĘŁŃÓŚŹŻ`` tag through to the unique
constraint (an IntegrityError: a 500). PostgreSQL's ``lower()`` follows the database's LC_CTYPE:
with a UTF-8 locale (``pl_PL.UTF-8``, ``en_US.UTF-8``, or ICU) it folds Polish letters, with the
plain ``C`` locale only ASCII, like SQLite.

So a rule ("this name is taken") compares :func:`name_key` values in Python, never SQL's
``lower()``; a search or a lookup in SQL uses :class:`unicode_lower`, which is ``lower()`` on
PostgreSQL and, on SQLite, a function backed by Python's ``str.lower`` that every SQLite
connection gets when it opens.
"""
from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import String, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

SQLITE_FUNCTION = "crm_unicode_lower"


def name_key(name: str | None) -> str:
    """What two names must share to be the same name: spaces collapsed, case folded (``Ą`` = ``ą``)."""
    return " ".join((name or "").split()).casefold()


class unicode_lower(FunctionElement[str]):
    """``lower(expression)`` that folds every letter, on SQLite too."""

    type = String()
    inherit_cache = True
    name = "unicode_lower"


@compiles(unicode_lower)
def _lower_default(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(unicode_lower, "sqlite")
def _lower_sqlite(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_FUNCTION}({compiler.process(element.clauses, **kw)})"


def _python_lower(value: str | bytes | int | float | None) -> str | bytes | int | float | None:
    return value.lower() if isinstance(value, str) else value


@event.listens_for(Engine, "connect")
def _register_sqlite_function(dbapi_connection: object, _record: object) -> None:
    """Give every new SQLite connection (of any engine: the host owns it) the Unicode lower()."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function(SQLITE_FUNCTION, 1, _python_lower, deterministic=True)
