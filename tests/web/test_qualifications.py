"""The public qualification page and ``flask qualification load``."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select

from examportal.extensions import db
from examportal.models import AuditEntry, Criterion, LearningOutcome, OutcomeSet, Qualification
from question_bank.definition import definition_path, load_definition
from tests.factories import fresh_globals_per_request


@pytest.fixture(autouse=True)
def _fresh_globals_per_request(app):
    with fresh_globals_per_request(app):
        yield


DEFINITION = load_definition(definition_path("13881"))
RAW = yaml.safe_load(definition_path("13881").read_text(encoding="utf-8"))


def translated(app, msgid: str, locale: str, **variables) -> str:
    with app.test_request_context(), force_locale(locale):
        return str(escape(gettext(msgid, **variables)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def loaded_audit_entries() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "qualification.loaded").order_by(AuditEntry.seq)))


def write_copy(tmp_path: Path, data, name: str = "13881.yaml") -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


# --- the public page ---------------------------------------------------------------------

def test_definition_has_the_expected_shape():
    # The numbers the page test relies on, straight from the file.
    assert len(DEFINITION.outcome_sets) == 2
    assert len(list(DEFINITION.outcomes())) == 8
    assert len(list(DEFINITION.criteria())) == 39


def test_qualification_page_shows_sets_outcomes_and_all_criteria_in_polish(app, client, qualification):
    response = client.get("/qualifications/13881")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'lang="pl"' in html
    assert str(escape(DEFINITION.name.pl)) in html

    for outcome_set in DEFINITION.outcome_sets:
        assert str(escape(outcome_set.name.pl)) in html
    for outcome in DEFINITION.outcomes():
        assert f'<h3 id="efekt-{outcome.code}">{outcome.code} {escape(outcome.name.pl)}</h3>' in html

    shown_codes = re.findall(r"<td><code>([0-9]+\.[0-9]+\.[a-z])</code></td>", html)
    assert len(shown_codes) == 39
    assert shown_codes == [c.code for c in DEFINITION.criteria()]
    for criterion in DEFINITION.criteria():
        assert str(escape(criterion.text.pl)) in html, criterion.code
        assert str(escape(criterion.text.en)) not in html, criterion.code  # Polish page: no translation


def test_qualification_page_shows_methods_and_settings(app, client, qualification):
    html = client.get("/qualifications/13881").get_data(as_text=True)
    for method in DEFINITION.methods:
        assert str(escape(method.name.pl)) in html
    by_method = {"test": 9, "simulation": 28, "interview": 2}
    for method, n in by_method.items():
        assert sum(1 for c in DEFINITION.criteria() if c.method == method) == n
        assert translated(app, "%(n)s criteria", "pl", n=n) in html
    assert translated(app, "%(items)s questions, %(minutes)s minutes, pass mark %(mark)s", "pl",
                      items=36, minutes=54, mark="60\u00a0%") in html
    assert translated(app, "%(n)s years", "pl", n=5) in html
    assert translated(app, "within %(n)s days of receiving the result", "pl", n=14) in html
    # A criterion the committee may follow up in the interview is marked.
    assert html.count(translated(app, "+ interview follow-up if the committee wants one", "pl")) == 3


def test_qualification_page_in_english_adds_the_translation(client, qualification):
    client.post("/lang/en", data={"next": "/qualifications/13881"})
    response = client.get("/qualifications/13881")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'lang="en"' in html
    assert str(escape(DEFINITION.name.en)) in html
    assert "Theory test" in html and "54 minutes" in html and "pass mark 60%" in html
    assert "5 years" in html
    for outcome_set in DEFINITION.outcome_sets:
        assert str(escape(outcome_set.name.en)) in html
    for method in DEFINITION.methods:
        assert str(escape(method.name.en)) in html
    for criterion in DEFINITION.criteria():
        # The official Polish wording stays; the English translation is shown beside it.
        assert str(escape(criterion.text.pl)) in html, criterion.code
        assert f'<span class="muted" lang="en">{escape(criterion.text.en)}</span>' in html, criterion.code


@pytest.mark.parametrize("code", ["99999", "13881x", "..", "13881.yaml"])
def test_unknown_qualification_is_404(client, qualification, code):
    response = client.get(f"/qualifications/{code}")
    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


def test_qualification_page_is_404_before_loading(client):
    assert client.get("/qualifications/13881").status_code == 404


def test_home_page_links_the_loaded_qualification(client, qualification):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/qualifications/13881"' in html


# --- flask qualification load -------------------------------------------------------------

def test_load_command_loads_then_reports_unchanged_without_new_audit_entry(runner):
    result = runner.invoke(args=["qualification", "load"])
    assert result.exit_code == 0, result.output
    assert "13881: loaded (13881.yaml)" in result.output
    assert count(Qualification) == 1
    assert count(OutcomeSet) == 2
    assert count(LearningOutcome) == 8
    assert count(Criterion) == 39
    assert len(loaded_audit_entries()) == 1
    ids_before = dict(db.session.execute(select(Criterion.code, Criterion.id)).all())

    result = runner.invoke(args=["qualification", "load"])
    assert result.exit_code == 0, result.output
    assert "13881: unchanged (13881.yaml)" in result.output
    assert len(loaded_audit_entries()) == 1
    assert count(Criterion) == 39
    assert dict(db.session.execute(select(Criterion.code, Criterion.id)).all()) == ids_before


def test_loaded_rows_match_the_definition(runner):
    runner.invoke(args=["qualification", "load"])
    qualification = db.session.scalar(select(Qualification).where(Qualification.code == "13881"))
    assert qualification.content_hash == DEFINITION.content_hash
    assert qualification.settings["theory"]["item_count"] == 36
    assert qualification.settings["certificate_validity_years"] == 5
    criterion = db.session.scalar(select(Criterion).where(Criterion.code == "1.1.c"))
    source = DEFINITION.criterion("1.1.c")
    assert (criterion.text_pl, criterion.text_en, criterion.method, criterion.interview_follow_up) == (
        source.text.pl, source.text.en, source.method, True)
    assert criterion.outcome.code == "1.1" and criterion.outcome.outcome_set.number == 1


@pytest.mark.parametrize("break_it, place", [
    (lambda d: d["outcome_sets"][0]["outcomes"][1]["criteria"].__getitem__(2).__setitem__("method", "quiz"),
     "outcome_sets[0].outcomes[1].criteria[2].method"),
    (lambda d: d["settings"]["theory"].__setitem__("pass_mark_percent", 150),
     "settings.theory.pass_mark_percent"),
    (lambda d: d["outcome_sets"][1]["outcomes"][0].pop("name"),
     "outcome_sets[1].outcomes[0]"),
], ids=["unknown method", "percent over 100", "missing name"])
def test_malformed_definition_is_refused_naming_the_place(runner, tmp_path, break_it, place):
    data = copy.deepcopy(RAW)
    break_it(data)
    path = write_copy(tmp_path, data)
    result = runner.invoke(args=["qualification", "load", str(path)])
    assert result.exit_code != 0
    assert "13881.yaml" in result.output
    assert place in result.output, result.output
    assert "Traceback" not in result.output
    assert count(Qualification) == 0
    assert loaded_audit_entries() == []


def test_yaml_syntax_error_names_line_and_column(runner, tmp_path):
    text = definition_path("13881").read_text(encoding="utf-8").replace("code: \"13881\"", "code: [\"13881\"", 1)
    path = write_copy(tmp_path, text)
    result = runner.invoke(args=["qualification", "load", str(path)])
    assert result.exit_code != 0
    assert re.search(r"13881\.yaml: line \d+, column \d+", result.output), result.output
    assert count(Qualification) == 0


def test_definition_whose_code_differs_from_the_file_name_is_refused(runner, tmp_path):
    path = write_copy(tmp_path, copy.deepcopy(RAW), name="99999.yaml")
    result = runner.invoke(args=["qualification", "load", str(path)])
    assert result.exit_code != 0
    assert "99999.yaml" in result.output and "code" in result.output
    assert count(Qualification) == 0


def test_broken_file_does_not_touch_a_loaded_qualification(runner, tmp_path, qualification):
    data = copy.deepcopy(RAW)
    data["outcome_sets"][0]["outcomes"][0]["criteria"][0]["text"]["en"] = "changed"
    data["outcome_sets"][0]["outcomes"][0]["criteria"][1]["method"] = "quiz"
    result = runner.invoke(args=["qualification", "load", str(write_copy(tmp_path, data))])
    assert result.exit_code != 0
    db.session.expire_all()
    assert db.session.scalar(select(Criterion.text_en).where(Criterion.code == "1.1.a")) == DEFINITION.criterion("1.1.a").text.en
    assert len(loaded_audit_entries()) == 1


def test_changed_english_text_updates_the_criterion_in_place(runner, tmp_path, qualification):
    ids_before = dict(db.session.execute(select(Criterion.code, Criterion.id)).all())
    hash_before = qualification.content_hash
    data = copy.deepcopy(RAW)
    criterion_data = data["outcome_sets"][0]["outcomes"][1]["criteria"][3]
    assert criterion_data["code"] == "1.2.d"
    criterion_data["text"]["en"] = "segments customers by the sales goals and the product or service offered"

    result = runner.invoke(args=["qualification", "load", str(write_copy(tmp_path, data))])
    assert result.exit_code == 0, result.output
    assert "13881: loaded (13881.yaml)" in result.output

    db.session.expire_all()
    criterion = db.session.scalar(select(Criterion).where(Criterion.code == "1.2.d"))
    assert criterion.id == ids_before["1.2.d"]
    assert criterion.text_en == "segments customers by the sales goals and the product or service offered"
    assert criterion.text_pl == DEFINITION.criterion("1.2.d").text.pl
    assert dict(db.session.execute(select(Criterion.code, Criterion.id)).all()) == ids_before
    assert count(Criterion) == 39

    entries = loaded_audit_entries()
    assert len(entries) == 2
    assert entries[1].before == {"content_hash": hash_before}
    assert entries[1].after["content_hash"] != hash_before

    result = runner.invoke(args=["qualification", "load", str(write_copy(tmp_path, data))])
    assert "unchanged" in result.output
    assert len(loaded_audit_entries()) == 2


def test_load_command_has_help(runner):
    result = runner.invoke(args=["qualification", "load", "--help"])
    assert result.exit_code == 0
    assert "definition" in result.output.lower()
