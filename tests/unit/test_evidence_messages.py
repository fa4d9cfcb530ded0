"""Everything an evidence check says is a message id with parameters, translated when read.

A summary or an evidence label built as an f-string (or formatted before translation) can never
match a catalogue entry, so the Polish committee would read English. This test reads the check
modules' source and refuses any such text passed to the functions that build results and rows.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

EVIDENCE = Path(__file__).resolve().parents[2] / "sandbox_crm" / "evidence"
# function -> positions of the arguments that are read by a person (summary, label), and keywords.
BUILDERS = {"result": ((2,), ("summary",)), "record_row": ((1,), ("label",)), "page_row": ((1,), ("label",)),
            "statement_row": ((2,), ("label",)), "EvidenceRow": ((0,), ("label",)),
            "CheckResult": ((2,), ("summary",))}


def _is_unlocalised(node: ast.AST) -> bool:
    """An f-string, a %-formatted or concatenated plain string, or a bare string literal."""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(node.value.strip())
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _is_unlocalised(node.left) or _is_unlocalised(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return True
    return False


def _offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name in ("_", "_l", "gettext", "lazy_gettext", "ngettext", "lazy_ngettext") and node.args and (
                isinstance(node.args[0], ast.JoinedStr) or not isinstance(node.args[0], ast.Constant)):
            found.append(f"{path.name}:{node.lineno} {name}(…)")  # a message id must be a literal
            continue
        if name not in BUILDERS:
            continue
        positions, keywords = BUILDERS[name]
        arguments = [node.args[i] for i in positions if i < len(node.args)]
        arguments += [k.value for k in node.keywords if k.arg in keywords]
        found += [f"{path.name}:{node.lineno} {name}(…)" for argument in arguments if _is_unlocalised(argument)]
    return found


@pytest.mark.parametrize("path", sorted(EVIDENCE.glob("*.py")), ids=lambda p: p.name)
def test_no_check_says_anything_untranslatable(path):
    assert not _offences(path)


def test_the_scanner_finds_what_it_must(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('result("2.4.f", V, f"closed {n}")\nrecord_row(ws, "Company: " + name, "company", 1)\n'
                   'statement_row(ws, s, label="done %s" % x)\nresult("2.4.f", V, _l("ok %(n)s", n=1))\n'
                   "_l(" + 'f"closed {n}")\n', encoding="utf-8")  # (split: the sample is not itself code)
    assert [o.split()[1] for o in _offences(bad)] == ["result(…)", "record_row(…)", "statement_row(…)", "_l(…)"]
