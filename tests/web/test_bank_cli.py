"""`flask bank check|export-qti|import-qti` on the real bank and on a broken one."""
import shutil
from pathlib import Path

import yaml

ITEMS = Path(__file__).resolve().parents[2] / "question_bank" / "items"


def test_real_bank_passes(runner):
    result = runner.invoke(args=["bank", "check"])
    assert result.exit_code == 0, result.output
    assert "Bank OK" in result.output and "2.5.c" in result.output


def test_broken_bank_fails_naming_the_problems(runner, tmp_path):
    bank = tmp_path / "items"
    shutil.copytree(ITEMS, bank)
    items = yaml.safe_load((bank / "1.1.a.yaml").read_text(encoding="utf-8"))
    duplicate = dict(items[0], id="13881-1.1.a-999")
    items.append(duplicate)                                       # same stem as items[0]
    items[1]["criteria"] = ["9.9.z"]                              # unknown criterion
    (bank / "1.1.a.yaml").write_text(yaml.safe_dump(items, allow_unicode=True), encoding="utf-8")
    (bank / "2.5.c.yaml").write_text(yaml.safe_dump(yaml.safe_load((bank / "2.5.c.yaml").read_text(encoding="utf-8"))[:3],
                                                    allow_unicode=True), encoding="utf-8")
    result = runner.invoke(args=["bank", "check", "--items", str(bank)])
    assert result.exit_code == 1
    assert "9.9.z" in result.output
    assert "13881-1.1.a-999" in result.output
    assert "2.5.c" in result.output


def test_qti_round_trip_through_the_commands(runner, tmp_path):
    package = tmp_path / "bank.zip"
    assert runner.invoke(args=["bank", "export-qti", str(package)]).exit_code == 0
    result = runner.invoke(args=["bank", "import-qti", str(package), str(tmp_path / "imported")])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["bank", "check", "--items", str(tmp_path / "imported")]).exit_code == 0
    from question_bank.items import load_items

    assert sorted(load_items(tmp_path / "imported"), key=lambda i: i.id) == sorted(load_items(ITEMS), key=lambda i: i.id)


def test_import_of_a_non_qti_file_is_a_clear_error(runner, tmp_path):
    bogus = tmp_path / "bogus.zip"
    bogus.write_bytes(b"not a zip at all")
    result = runner.invoke(args=["bank", "import-qti", str(bogus), str(tmp_path / "out")])
    assert result.exit_code == 1 and "error" in result.output
