"""Where a commit may be written (the rule is in ``examportal/extensions.py``'s docstring).

The portal's views never commit: the service they call does. The sandbox's services, its host API and
its evidence checks never commit: they run inside the host's transaction, and the sandbox's views
commit once. The runtime half of the rule, one commit per request, is ``tests/commit_guard.py``.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _commits(path: Path) -> list[int]:
    """Line numbers of ``<something>.commit()`` calls in the module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
            and not node.args]


def _portal_views() -> list[Path]:
    return sorted(p for p in (ROOT / "examportal").rglob("*.py") if p.name == "views.py" or p.name.endswith("_views.py"))


def _sandbox_below_views() -> list[Path]:
    sandbox = ROOT / "sandbox_crm"
    return sorted([*(sandbox / "services").rglob("*.py"), *(sandbox / "evidence").rglob("*.py"),
                   *(sandbox / "models").rglob("*.py"), sandbox / "api.py", sandbox / "actionlog.py"])


def test_the_finder_sees_a_commit(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f(db):\n    db.session.add(1)\n    db.session.commit()\n", encoding="utf-8")
    assert _commits(module) == [3]


def test_there_are_modules_to_check():
    assert len(_portal_views()) > 20
    assert len(_sandbox_below_views()) > 20


@pytest.mark.parametrize("path", _portal_views(), ids=lambda p: str(p.relative_to(ROOT)))
def test_portal_views_leave_the_commit_to_their_service(path):
    assert _commits(path) == [], f"{path.relative_to(ROOT)} commits; move the commit into the service it calls"


@pytest.mark.parametrize("path", _sandbox_below_views(), ids=lambda p: str(p.relative_to(ROOT)))
def test_sandbox_services_run_in_the_callers_transaction(path):
    assert _commits(path) == [], f"{path.relative_to(ROOT)} commits; the sandbox's view (or the host) commits once"
