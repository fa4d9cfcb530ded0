"""Row locks on the rows an audit entry refers to never make the chain's append wait.

A transaction holds the audit chain's head from its first entry to its commit
(``audit.services.record``); the entry's foreign keys (its actor's ``user_account`` row, its
``institution``) take a KEY SHARE lock on the rows they point to when it is flushed. A service
holding one of those rows FOR UPDATE and then recording an entry (waiting for the head) would
deadlock with a transaction that holds the head and whose entry waits for that KEY SHARE. So those
rows are locked FOR NO KEY UPDATE (``with_for_update(key_share=True)``), which excludes every other
locking read and change of the row but not a reference to it (no service changes a primary key).
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from examportal.models import Institution, User

ROOT = Path(__file__).resolve().parents[2]
REFERENCED = re.compile(r"select\((User|Institution)\b|of=(User|Institution)\b")


def _locks_without_key_share(path: Path) -> list[int]:
    """Lines of ``with_for_update(...)`` calls on a User or Institution row without ``key_share=True``."""
    source = path.read_text(encoding="utf-8")
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "with_for_update":
            key_share = any(k.arg == "key_share" and isinstance(k.value, ast.Constant) and k.value.value is True
                            for k in node.keywords)
            if REFERENCED.search(ast.get_source_segment(source, node) or "") and not key_share:
                found.append(node.lineno)
    return found


def test_the_finder_sees_a_plain_lock_on_a_user(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("q = select(User.id).where(User.id == 1).with_for_update()\n"
                      "r = select(User.id).with_for_update(key_share=True)\n"
                      "s = select(Appeal).with_for_update()\n", encoding="utf-8")
    assert _locks_without_key_share(module) == [1]


def test_users_and_institutions_are_locked_for_no_key_update():
    offending = {str(p.relative_to(ROOT)): lines for p in sorted((ROOT / "examportal").rglob("*.py"))
                 if (lines := _locks_without_key_share(p))}
    assert offending == {}, "lock these rows with with_for_update(key_share=True) (see this module's docstring)"


def test_key_share_is_postgresqls_for_no_key_update():
    sql = str(select(User.id).where(User.id == Institution.id).with_for_update(key_share=True)
              .compile(dialect=postgresql.dialect()))
    assert sql.endswith("FOR NO KEY UPDATE")
