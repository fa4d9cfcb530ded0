"""The item bank is parsed once per process and file state, and read again when a file changes."""
from __future__ import annotations

import os

import pytest

from examportal.theory import services
from question_bank import items as bank
from tests import factories


def test_the_bank_is_parsed_once_and_again_after_an_edit(app, tmp_path, monkeypatch):
    app.config["THEORY_ITEM_BANK"] = str(factories.write_theory_bank(tmp_path))
    parsed: list[str] = []
    real = bank.load_items
    monkeypatch.setattr(bank, "load_items", lambda path, **kw: parsed.append(str(path)) or real(path, **kw))
    services._load_bank_cached.cache_clear()

    first = services.all_bank_items()
    assert services.all_bank_items() == first
    assert len(parsed) == 1

    bank_file = next(p for p in sorted(tmp_path.rglob("*.yaml")))
    text = bank_file.read_text(encoding="utf-8")
    bank_file.write_text(text + "\n# edited\n", encoding="utf-8")
    os.utime(bank_file, ns=(bank_file.stat().st_atime_ns, bank_file.stat().st_mtime_ns + 1_000_000))
    services.all_bank_items()
    assert len(parsed) == 2


def test_a_missing_bank_is_still_an_error_naming_it(app, tmp_path):
    app.config["THEORY_ITEM_BANK"] = str(tmp_path / "nowhere")
    with pytest.raises(bank.BankError, match="nowhere"):
        services.all_bank_items()
