"""Practical-exam scenarios: the shipped ones validate and cover every simulation criterion;
malformed files are refused with the file, the place and what is wrong."""
from __future__ import annotations

import copy
import re

import pytest
import yaml

import sandbox_crm.views  # noqa: F401  (importing the views registers every seeder)
from question_bank.definition import definition_path, load_definition
from question_bank.scenarios import (
    SALE_KINDS,
    SCENARIOS_DIR,
    ScenarioError,
    load_scenario,
    load_scenarios,
    parse_scenario,
)
from sandbox_crm.api import seed_sections

DEFINITION = load_definition(definition_path("13881"))
CRITERIA = {c.code: c.method for c in DEFINITION.criteria()}
SIMULATION = [c.code for c in DEFINITION.criteria() if c.method == "simulation"]
SECTIONS = seed_sections()


def _load(directory=SCENARIOS_DIR):
    return load_scenarios(directory, qualification="13881", criteria_methods=CRITERIA, seed_sections=SECTIONS)


def _minimal() -> dict:
    return {
        "code": "mini", "qualification": "13881", "title": {"pl": "Mała firma", "en": "Small firm"},
        "time_limit_minutes": 60, "purposes": ["exam"],
        "sheet": {"business": "Firma.", "lead_source": "Plik.", "goal": "Cel.",
                  "tasks": [{"number": 1, "text": "Wszystko.", "criteria": list(SIMULATION)}]},
        "seed": {"companies": [{"name": "Firma A"}]},
        "key": {"sale_kind": "b2b_goods", "tasks": [{"task": 1, "notes": "Dowolna poprawna praca."}]},
    }


def _parse(data):
    return parse_scenario(data, "mini.yaml", qualification="13881", criteria_methods=CRITERIA, seed_sections=SECTIONS)


def test_the_simulation_criteria_are_the_agreed_28():
    assert len(SIMULATION) == 28
    assert {"1.2.b", "1.2.e", "2.1.a", "2.4.f", "2.5.a", "2.5.f"} <= set(SIMULATION)
    assert "2.5.c" not in SIMULATION  # a test criterion


def test_the_shipped_scenarios_validate_and_are_distinct():
    scenarios = _load()
    assert len(scenarios) >= 3
    assert len({s.title.pl for s in scenarios.values()}) == len(scenarios)
    assert len({s.business for s in scenarios.values()}) == len(scenarios)
    for scenario in scenarios.values():
        assert scenario.title.en and scenario.title.pl
        assert 1 <= scenario.time_limit_minutes <= 480
        assert [t.number for t in scenario.tasks] == list(range(1, len(scenario.tasks) + 1))
        assert {"companies", "contacts", "leads_csv", "leads_pasted", "products"} <= set(scenario.seed)


@pytest.mark.parametrize("code", sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml")))
def test_every_scenario_covers_all_28_simulation_criteria(code):
    scenario = _load()[code]
    assert scenario.criteria == frozenset(SIMULATION)
    for criterion in SIMULATION:
        assert scenario.tasks_for(criterion), f"{code}: no task for {criterion}"


@pytest.mark.parametrize("code", sorted(p.stem for p in SCENARIOS_DIR.glob("*.yaml")))
def test_every_lead_file_has_faulty_rows_to_catch(code):
    from sandbox_crm.validators import check_nip

    scenario = _load()[code]
    content = scenario.seed["leads_csv"][0]["content"]
    lines = [line for line in content.splitlines() if line.strip()]
    header, rows = lines[0], lines[1:]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    nip_column = [h.strip().lower() for h in header.split(delimiter)].index("nip")
    nips = [row.split(delimiter)[nip_column] for row in rows]
    assert any(nip and not check_nip(nip).ok for nip in nips), "a wrong NIP checksum to catch"
    assert len(set(filter(None, nips))) < len(list(filter(None, nips))), "a duplicated lead to catch"
    assert len(rows) >= 8


def test_seeded_companies_have_valid_tax_numbers():
    from sandbox_crm.validators import check_nip, check_regon

    for scenario in _load().values():
        for company in scenario.seed["companies"]:
            assert check_nip(company["nip"]).ok, (scenario.code, company["name"])
            if company.get("regon"):
                assert check_regon(company["regon"]).ok, (scenario.code, company["name"])


# --------------------------------------------------------------------------- exam and practice apart


def _by_purpose(purpose):
    return {code: s for code, s in _load().items() if purpose in s.purposes}


def test_exam_sheets_are_never_offered_for_practice():
    """Every shipped scenario serves exactly one purpose: what a candidate may open for free practice
    is never a sheet (or seed) they could be given in the exam."""
    exam, practice = _by_purpose("exam"), _by_purpose("practice")
    assert len(exam) >= 3  # neighbours in a session get different exam scenarios
    assert practice, "at least one practice scenario"
    assert not set(exam) & set(practice)
    assert set(exam) | set(practice) == set(_load())
    for code, scenario in practice.items():
        assert scenario.purposes == ("practice",)
        assert code.startswith("praktyka-"), "practice-only files are named praktyka-*.yaml"
    for code, scenario in exam.items():
        assert scenario.purposes == ("exam",)
        assert not code.startswith("praktyka-")


def test_the_exam_scenarios_cover_every_kind_of_sale():
    """Exposure: candidates meet at least six exam businesses, one for each kind of sale the keys
    know (a funnel is judged against its kind of sale), each a different business and sheet."""
    exam = _by_purpose("exam")
    assert len(exam) >= len(SALE_KINDS) == 6
    kinds = {code: scenario.key.sale_kind for code, scenario in exam.items()}
    assert set(kinds.values()) == set(SALE_KINDS), kinds
    assert len({s.title.pl for s in exam.values()}) == len({s.business for s in exam.values()}) == len(exam)


def _seed_names_and_numbers(scenario) -> set[str]:
    """Company names and tax numbers of the seed, lead files and pasted lists (what a candidate sees)."""
    found = set()
    for company in scenario.seed["companies"]:
        found |= {company["name"], company["nip"]} | ({company["regon"]} if company.get("regon") else set())
    for section in ("leads_csv", "leads_pasted"):
        for source in scenario.seed[section]:
            found |= set(re.findall(r"\b\d{10}\b", source["content"]))
    return found


def test_the_practice_scenario_shares_no_data_with_the_exam_scenarios():
    exam = set().union(*(_seed_names_and_numbers(s) for s in _by_purpose("exam").values()))
    for code, scenario in _by_purpose("practice").items():
        shared = _seed_names_and_numbers(scenario) & exam
        assert not shared, f"{code} reveals exam data: {sorted(shared)}"
        assert not {s.business for s in _by_purpose("exam").values()} & {scenario.business}


def test_the_practice_scenario_is_a_full_rehearsal():
    for code, scenario in _by_purpose("practice").items():
        assert scenario.criteria == frozenset(SIMULATION), code
        assert len(scenario.tasks) >= 8
        assert scenario.time_limit_minutes <= min(s.time_limit_minutes for s in _by_purpose("exam").values())
        assert {"companies", "contacts", "leads_csv", "leads_pasted", "products", "pipelines", "opportunities",
                "tasks"} <= set(scenario.seed)
        assert "(ćwiczenie)" in scenario.title.pl and "(practice)" in scenario.title.en


def test_a_minimal_scenario_parses():
    scenario = _parse(_minimal())
    assert scenario.code == "mini"
    assert scenario.purposes == ("exam",)
    assert scenario.tasks[0].criteria == tuple(SIMULATION)


@pytest.mark.parametrize("change, location, words", [
    (lambda d: d.pop("seed"), "", "missing required key 'seed'"),
    (lambda d: d.update(extra=1), "", "unknown key 'extra'"),
    (lambda d: d.update(code="Bad Code"), "code", "lower-case letters"),
    (lambda d: d.update(qualification=13881), "qualification", "quoted string"),
    (lambda d: d.update(time_limit_minutes=0), "time_limit_minutes", "between 1 and 480"),
    (lambda d: d.update(time_limit_minutes="90"), "time_limit_minutes", "whole minutes"),
    (lambda d: d["title"].pop("en"), "title", "missing required key 'en'"),
    (lambda d: d["sheet"].update(goal="  "), "sheet.goal", "non-empty text"),
    (lambda d: d["sheet"].update(tasks=[]), "sheet.tasks", "non-empty list"),
    (lambda d: d["sheet"]["tasks"][0].update(number=2), "sheet.tasks[0].number", "expected task number 1"),
    (lambda d: d["sheet"]["tasks"][0]["criteria"].append("9.9.z"), "sheet.tasks[0].criteria[28]", "unknown criterion '9.9.z'"),
    (lambda d: d["sheet"]["tasks"][0]["criteria"].append("2.5.c"), "sheet.tasks[0].criteria[28]", "verified by test"),
    (lambda d: d["sheet"]["tasks"][0]["criteria"].append("1.2.b"), "sheet.tasks[0].criteria[28]", "listed twice"),
    (lambda d: d["sheet"]["tasks"][0]["criteria"].append(2.1), "sheet.tasks[0].criteria[28]", "quoted string"),
    (lambda d: d["sheet"]["tasks"][0]["criteria"].remove("2.4.f"), "sheet.tasks", "2.4.f"),
    (lambda d: d["seed"].update(invoices=[{"n": 1}]), "seed.invoices", "unknown seed section 'invoices'"),
    (lambda d: d["seed"].update(companies={"name": "x"}), "seed.companies", "non-empty list"),
    (lambda d: d["seed"].update(companies=[7]), "seed.companies[0]", "a mapping"),
    (lambda d: d.update(purposes=["exam", "demo"]), "purposes", "exam, practice"),
    (lambda d: d.pop("purposes"), "", "missing required key 'purposes'"),
    (lambda d: d.update(purposes=[]), "purposes", "non-empty list"),
    (lambda d: d.update(purposes="practice"), "purposes", "non-empty list"),
])
def test_malformed_scenarios_name_the_place(change, location, words):
    data = copy.deepcopy(_minimal())
    change(data)
    with pytest.raises(ScenarioError) as caught:
        _parse(data)
    assert caught.value.source == "mini.yaml"
    assert caught.value.location == location
    assert words in caught.value.message
    assert str(caught.value).startswith("mini.yaml")


def test_missing_coverage_lists_every_missing_criterion():
    data = _minimal()
    data["sheet"]["tasks"][0]["criteria"] = ["1.2.b"]
    with pytest.raises(ScenarioError) as caught:
        _parse(data)
    assert "2.1.a" in caught.value.message and "2.5.f" in caught.value.message and "all 28" in caught.value.message


def test_file_errors_name_the_file_and_line(tmp_path):
    (tmp_path / "broken.yaml").write_text("code: broken\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "broken.yaml", qualification="13881", criteria_methods=CRITERIA, seed_sections=SECTIONS)
    assert caught.value.source == "broken.yaml" and caught.value.location.startswith("line ")

    (tmp_path / "dup.yaml").write_text("code: dup\ncode: dup\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="duplicate key"):
        load_scenario(tmp_path / "dup.yaml", qualification="13881", criteria_methods=CRITERIA, seed_sections=SECTIONS)

    (tmp_path / "latin.yaml").write_bytes("code: zażółć".encode("iso8859_2"))
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_scenario(tmp_path / "latin.yaml", qualification="13881", criteria_methods=CRITERIA, seed_sections=SECTIONS)


def test_the_code_must_match_the_file_name(tmp_path):
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(_minimal(), allow_unicode=True), encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        _load(tmp_path)
    assert caught.value.source == "other.yaml" and caught.value.location == "code"
    assert "mini.yaml" in caught.value.message


def test_an_empty_directory_is_an_error(tmp_path):
    with pytest.raises(ScenarioError, match="no scenario files"):
        _load(tmp_path)


def test_the_seed_sections_are_passed_in_not_imported():
    with pytest.raises(ScenarioError, match="unknown seed section 'companies'"):
        parse_scenario(_minimal(), "mini.yaml", qualification="13881", criteria_methods=CRITERIA,
                       seed_sections={"contacts"})
