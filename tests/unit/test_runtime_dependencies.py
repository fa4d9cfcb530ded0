"""The app runs on its declared dependencies alone: `scripts/demo.sh` installs the project without
the dev extras, so a module of the app importing a dev-only package (pypdf once did) breaks the
README's run command while every test, run with the extras, still passes."""
from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("examportal", "question_bank", "sandbox_crm")


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=~!; ]", requirement, maxsplit=1)[0].lower().replace("-", "_") for requirement in requirements}


def _imported_top_level_names() -> dict[str, str]:
    found: dict[str, str] = {}
    for package in APP_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0].lower(), str(path.relative_to(ROOT)))
    return found


def test_the_app_imports_no_dev_only_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = _names(project["dependencies"])
    dev_only = _names(project["optional-dependencies"]["dev"]) - runtime
    imported = _imported_top_level_names()
    offending = {name: where for name, where in imported.items() if name in dev_only}
    assert not offending, f"the app imports dev-only packages (move them to [project] dependencies): {offending}"
    assert "pypdf" in runtime and "pypdf" in imported  # the protocol annexes are appended at runtime
