"""Per-attempt variation of a scenario (question_bank/variation.py): names, figures and dates drawn
from the file's ranges; the sheet, the seed and the key change together; the same seed always
gives the same variant; a malformed variation section is refused with the file and the place."""
from __future__ import annotations

import copy
import functools
import re

import pytest

import sandbox_crm.views  # noqa: F401  (importing the views registers every seeder and key target)
from question_bank.definition import definition_path, load_definition
from question_bank.scenarios import SCENARIOS_DIR, ScenarioError, load_scenarios, parse_scenario
from question_bank.variation import Draw, Variation, nip_is_valid, number_pattern, regon_is_valid, whole_word
from sandbox_crm.api import key_target_problems, seed_sections
from sandbox_crm.validators import check_nip, check_regon

DEFINITION = load_definition(definition_path("13881"))
CRITERIA = {c.code: c.method for c in DEFINITION.criteria()}
SIMULATION = [c.code for c in DEFINITION.criteria() if c.method == "simulation"]
SEEDS = range(1, 41)


def _load():
    return load_scenarios(SCENARIOS_DIR, qualification="13881", criteria_methods=CRITERIA, seed_sections=seed_sections(),
                          key_check=key_target_problems)


@functools.cache
def _loaded():
    return _load()


def _exam():
    return {code: s for code, s in _loaded().items() if "exam" in s.purposes}


def _texts(scenario) -> str:
    """Everything a candidate or an assessor reads of a scenario: sheet, seed and key."""
    parts = [scenario.title.pl, scenario.business, scenario.lead_source, scenario.goal, scenario.notes]
    parts += [t.text for t in scenario.tasks] + [t.answer for t in scenario.tasks]
    parts.append(repr(scenario.seed))
    parts.append(repr(scenario.key.check_data()))
    parts += [scenario.key.notes] + [t.notes for t in scenario.key.tasks] + [a for t in scenario.key.tasks for a in t.alternatives]
    return "\n".join(parts)


def _records(scenario) -> set[str]:
    """The records a candidate sees in the workspace: companies, contacts, opportunities, lead files."""
    seed = scenario.seed
    found = {c["name"] for c in seed.get("companies", [])} | {c.get("nip", "") for c in seed.get("companies", [])}
    found |= {f"{c.get('first_name')} {c.get('last_name')}" for c in seed.get("contacts", [])}
    found |= {f"{o['name']} {o.get('value')}" for o in seed.get("opportunities", [])}
    found |= {source["content"] for section in ("leads_csv", "leads_pasted") for source in seed.get(section, [])}
    return found


# --------------------------------------------------------------------------- the shipped exam scenarios


@pytest.mark.parametrize("code", sorted(_exam()))
def test_every_exam_scenario_varies_names_figures_and_dates(code):
    variation = _exam()[code].variation
    assert len(variation.names) >= 5, "several companies and people"
    assert len(variation.figures) >= 2, "opportunity values and the value the sheet asks to set"
    assert len(variation.dates) >= 2
    assert all(len(v.alternatives) >= 3 for v in variation.names)


@pytest.mark.parametrize("code", sorted(_exam()))
def test_two_seeds_give_different_records_and_neighbours_rarely_meet(code):
    scenario = _exam()[code]
    assert _records(scenario.varied(1)) != _records(scenario.varied(2))
    assert scenario.varied(1).tasks != scenario.varied(2).tasks
    # Over forty draws nearly every variant differs from every other in what the candidate works on.
    variants = {frozenset(_records(scenario.varied(seed))) for seed in SEEDS}
    assert len(variants) == len(SEEDS)


@pytest.mark.parametrize("code", sorted(_exam()))
def test_the_same_seed_gives_the_same_variant_in_every_load(code):
    first, second = _load()[code], _load()[code]  # two loads: nothing shared between them
    for seed in (1, 7, 2**31 - 1):
        a, b = first.varied(seed), second.varied(seed)
        assert a.variant == b.variant == seed
        assert a.tasks == b.tasks and a.seed == b.seed and a.key.check_data() == b.key.check_data()
        assert a.varied(seed) is a  # asked again: the variant kept, not drawn anew


@pytest.mark.parametrize("code", sorted(_exam()))
def test_no_seed_is_the_scenario_as_written(code):
    scenario = _exam()[code]
    assert scenario.varied(None) is scenario and scenario.varied(0) is scenario
    assert scenario.variant == 0
    assert scenario.varied(5).varied(0) is scenario


@pytest.mark.parametrize("code", sorted(_exam()))
def test_the_key_sheet_and_seed_name_the_same_varied_records(code):
    """No text as written survives where its variable drew another one, and the key's targets name
    records the varied workspace holds and the varied sheet states."""
    scenario = _exam()[code]
    written = scenario.variation
    for seed in SEEDS:
        varied = scenario.varied(seed)
        draw = written.draw(seed)
        texts = _texts(varied)
        for choice in written.names:
            drawn = choice.alternatives[draw.names[choice.label]]
            for field, text in choice.alternatives[0].items():
                if drawn[field] != text:
                    assert not re.search(whole_word(text), texts), (code, seed, text)
                assert re.search(whole_word(drawn[field]), texts), (code, seed, drawn[field])
        opportunities = {o["name"] for o in varied.seed["opportunities"]}
        sheet = "\n".join(t.text for t in varied.tasks)
        for task in varied.key.check_data()["tasks"]:
            for kind in ("won", "lost"):
                for name in task["targets"].get(kind, []):
                    assert name in opportunities, (code, seed, name)
                    assert name in sheet, (code, seed, name)


@pytest.mark.parametrize("code", sorted(_exam()))
def test_figures_and_dates_follow_the_draw(code):
    scenario = _exam()[code]
    for seed in SEEDS:
        varied, draw = scenario.varied(seed), scenario.variation.draw(seed)
        for figure in scenario.variation.figures:
            value = draw.figures[figure.label]
            assert value in figure.choices
            for path in figure.places:
                found = _at(varied, path)
                if isinstance(found, str):
                    assert number_pattern(value).search(found), (code, seed, path)
                elif found is not None:
                    assert found == value, (code, seed, path)
                else:  # a target of the key: the figure is among its data
                    assert value in _numbers(varied.key.check_data()), (code, seed, path)
        for shift in scenario.variation.dates:
            assert shift.minimum <= draw.shifts[shift.label] <= shift.maximum
        # Day offsets keep their meaning: what was overdue stays overdue, what was due later stays later.
        for before, after in zip(scenario.seed.get("tasks", []), varied.seed.get("tasks", []), strict=True):
            if "due_in_days" in before:
                assert (before["due_in_days"] > 0) == (after["due_in_days"] > 0), (code, seed, before["title"])
                assert (before["due_in_days"] < 0) == (after["due_in_days"] < 0), (code, seed, before["title"])


def _at(scenario, path):
    """What a place points at in a built scenario: seed data, a sheet text, or a key text (numbers
    inside the key's targets: None, looked up by :func:`_numbers`)."""
    root, rest = path[0], path[1:]
    if root == "seed":
        data = scenario.seed
        for step in rest:
            data = data[step]
        return data
    if root == "sheet":
        if rest[0] == "tasks":
            task = scenario.tasks[rest[1]]
            return {"text": task.text, "answer": task.answer}[rest[2]]
        return getattr(scenario, rest[0])
    if rest[0] == "notes":
        return scenario.key.notes
    if rest[2] in ("notes", "alternatives"):  # the key's entries are sorted by task: search them all
        return "\n".join([t.notes for t in scenario.key.tasks] + [a for t in scenario.key.tasks for a in t.alternatives])
    return None


def _numbers(value) -> list:
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


@pytest.mark.parametrize("code", sorted(_exam()))
def test_varied_tax_numbers_keep_their_validity(code):
    """Seeded companies keep valid NIP/REGON numbers; the lead file's deliberate faults stay faults."""
    scenario = _exam()[code]
    for seed in SEEDS:
        varied = scenario.varied(seed)
        for company in varied.seed["companies"]:
            assert check_nip(company["nip"]).ok, (code, seed, company["name"])
            if company.get("regon"):
                assert check_regon(company["regon"]).ok, (code, seed, company["name"])
        content = varied.seed["leads_csv"][0]["content"]
        assert any(len(n) == 10 and not check_nip(n).ok for n in re.findall(r"\b\d{10}\b", content))
    for choice in scenario.variation.names:
        for alternative in choice.alternatives:
            for field, text in alternative.items():
                if field == "nip":
                    assert nip_is_valid(text) == check_nip(text).ok
                if field == "regon":
                    assert regon_is_valid(text) == check_regon(text).ok


def test_the_alternatives_share_no_data_with_the_practice_scenario():
    """What a candidate may open for practice never shows a name or number an exam variant can draw."""
    practice = "\n".join(_texts(s) for s in _loaded().values() if "exam" not in s.purposes)
    for code, scenario in _exam().items():
        for choice in scenario.variation.names:
            for alternative in choice.alternatives[1:]:
                for field, text in alternative.items():
                    if field in ("nip", "regon", "brand", "town", "domain", "quarry", "bakery", "person", "surname"):
                        assert not re.search(whole_word(text), practice), (code, choice.label, text)


# --------------------------------------------------------------------------- the rules, on a small file


def _minimal() -> dict:
    return {
        "code": "mini", "qualification": "13881", "title": {"pl": "Hurtownia Rudniki", "en": "Rudniki wholesaler"},
        "time_limit_minutes": 60, "purposes": ["exam"],
        "sheet": {"business": "Firma z miejscowości Rudniki.", "lead_source": "Plik.", "goal": "Cel.",
                  "tasks": [{"number": 1, "criteria": list(SIMULATION),
                             "text": "Szansę „Przekładnie — Cementownia Rudniki” oznacz jako wygraną i popraw wartość "
                                     "szansy „Łożyska — Tartak Jeleśnia” na 48 000 zł."}]},
        "seed": {
            "companies": [{"key": "cem", "name": "Cementownia Rudniki S.A.", "nip": "5834545521",
                           "email": "biuro@cementownia-rudniki.pl", "consent_at": "2023-03-14"},
                          {"key": "tartak", "name": "Tartak Jeleśnia Sp. j.", "nip": "5543384303"}],
            "opportunities": [{"key": "opp-cem", "name": "Przekładnie — Cementownia Rudniki", "value": 58000},
                              {"key": "opp-tartak", "name": "Łożyska — Tartak Jeleśnia", "value": 36000}],
            "tasks": [{"title": "Telefon — Rudniki", "due_in_days": -2}, {"title": "Oferta", "due_in_days": 3}],
            "leads_csv": [{"name": "leady.csv", "content": "Firma;NIP\nRudnikowo Sp. z o.o.;5834545521\n"}],
        },
        "key": {"sale_kind": "b2b_goods",
                "tasks": [{"task": 1, "targets": {"won": ["Przekładnie — Cementownia Rudniki"]}}]},
        "variation": {
            "names": {"cem": [{"town": "Rudniki", "domain": "cementownia-rudniki", "nip": "5834545521"},
                              {"town": "Mstów", "domain": "cementownia-mstow", "nip": "7217660413"},
                              {"town": "Poraj", "domain": "cementownia-poraj", "nip": "7708071979"}]},
            "numbers": {"new-value": {"base": 48000, "min": 40000, "max": 60000, "step": 1000, "at": ["sheet.tasks[0].text"]},
                        "cem-value": {"base": 58000, "min": 50000, "max": 52000, "at": ["seed.opportunities[opp-cem].value"]}},
            "dates": {"call": {"min": -3, "max": 1, "at": ["seed.tasks[0].due_in_days"]},
                      "consent": {"min": -30, "max": 30, "at": ["seed.companies[cem].consent_at"]}},
        },
    }


def _parse(data, key_check=key_target_problems):
    return parse_scenario(data, "mini.yaml", qualification="13881", criteria_methods=CRITERIA,
                          seed_sections=seed_sections(), key_check=key_check)


def _seed_drawing(scenario, **wanted) -> int:
    """The first seed whose draw has the wanted alternative indexes / figures."""
    for seed in range(1, 5000):
        draw = scenario.variation.draw(seed)
        if all({**draw.names, **draw.figures, **draw.shifts}.get(k) == v for k, v in wanted.items()):
            return seed
    raise AssertionError(f"no seed draws {wanted}")


def test_one_substitution_reaches_title_sheet_seed_and_key():
    scenario = _parse(_minimal())
    seed = _seed_drawing(scenario, cem=1, **{"new-value": 51000})
    varied = scenario.varied(seed)
    assert varied.title.pl == "Hurtownia Mstów" and varied.business == "Firma z miejscowości Mstów."
    assert "„Przekładnie — Cementownia Mstów”" in varied.tasks[0].text
    assert "na 51 000 zł." in varied.tasks[0].text  # written as the sheet writes it
    company = varied.seed["companies"][0]
    assert company["name"] == "Cementownia Mstów S.A." and company["nip"] == "7217660413"
    assert company["email"] == "biuro@cementownia-mstow.pl"
    assert varied.seed["opportunities"][0]["name"] == "Przekładnie — Cementownia Mstów"
    assert varied.seed["tasks"][0]["title"] == "Telefon — Mstów"
    # Whole words only: a lead whose name merely begins with the text keeps it, the NIP follows.
    assert varied.seed["leads_csv"][0]["content"] == "Firma;NIP\nRudnikowo Sp. z o.o.;7217660413\n"
    assert varied.key.check_data()["tasks"][0]["targets"] == {"won": ["Przekładnie — Cementownia Mstów"]}
    # The file as written is untouched by the draw.
    assert scenario.seed["companies"][0]["name"] == "Cementownia Rudniki S.A."
    assert scenario.tasks[0].text.endswith("na 48 000 zł.")


def test_figures_dates_and_the_draw_itself_are_stable():
    scenario = _parse(_minimal())
    # The draw is a hash of the seed per variable: pinned, so a change that would give attempts
    # already started another variant than their workspace holds is caught here.
    assert scenario.variation.draw(2024) == Draw(names={"cem": 0}, figures={"new-value": 45000, "cem-value": 51149},
                                                 shifts={"call": -3, "consent": -28})
    assert scenario.variation.draw(777).names == {"cem": 1}
    varied = scenario.varied(2024)
    assert varied.tasks[0].text.endswith("na 45 000 zł.")
    assert varied.seed["opportunities"][0]["value"] == 51149
    assert varied.seed["opportunities"][1]["value"] == 36000  # not a place: as written
    assert varied.seed["tasks"][0]["due_in_days"] == -5 and varied.seed["tasks"][1]["due_in_days"] == 3
    assert varied.seed["companies"][0]["consent_at"] == "2023-02-14"


def test_every_alternative_is_built_when_the_file_loads():
    data = _minimal()
    data["variation"]["names"]["cem"][2]["town"] = "Zła Góra"

    def no_bad_targets(targets):
        return [f"refused {name}" for names in targets.values() for name in names if "Zła" in name]

    with pytest.raises(ScenarioError) as caught:
        _parse(data, key_check=no_bad_targets)
    assert caught.value.location == "variation"
    assert "cem=Zła Góra" in caught.value.message and "key.tasks[0].targets" in caught.value.message


def test_number_pattern_matches_whole_figures_only():
    pattern = number_pattern(48000)
    assert pattern.search("do 48 000 zł") and pattern.search("(48000,00 zł)") and pattern.search("48\u00a0000")
    for text in ("1 248 000 zł", "48 000 500", "tel. 648 000", "480001", "4 800"):
        assert not pattern.search(text), text


def test_a_scenario_without_variation_never_varies():
    data = _minimal()
    del data["variation"]
    scenario = _parse(data)
    assert not scenario.variation and scenario.varied(99) is scenario
    assert not Variation()


@pytest.mark.parametrize("change, location, words", [
    (lambda v: v.update(names=[1]), "variation.names", "mapping of variable names"),
    (lambda v: v.update(colours={}), "variation", "unknown key 'colours'"),
    (lambda v: v["names"].update(cem=[{"town": "Rudniki"}]), "variation.names.cem", "at least two alternatives"),
    (lambda v: v["names"]["cem"][1].pop("domain"), "variation.names.cem[1]", "same fields as the first"),
    (lambda v: v["names"]["cem"][2].update(town="Mstów", domain="cementownia-mstow", nip="7217660413"),
     "variation.names.cem[2]", "repeats alternative 1"),
    (lambda v: v["names"]["cem"][1].update(town=""), "variation.names.cem[1].town", "non-empty text"),
    (lambda v: v["names"]["cem"][0].update(town="Rudnik"), "variation.names.cem[0].town", "does not occur"),
    (lambda v: v["names"]["cem"][1].update(nip="7217660414"), "variation.names.cem[1].nip", "must be a valid NIP"),
    (lambda v: v["names"].update(tartak=[{"town": "Jeleśnia"}, {"town": "Mstów"}]), "variation.names.tartak[1].town",
     "also one of variable 'cem'"),
    (lambda v: v["names"].update(opp=[{"name": "Przekładnie — Cementownia Rudniki"}, {"name": "Łożyska — Tartak Jeleśnia"}]),
     "variation.names.opp[1].name", "already occurs"),
    (lambda v: v["numbers"]["cem-value"].update(at=["seed.opportunities[opp-x].value"]), "variation.numbers.cem-value.at[0]",
     "no row with key 'opp-x'"),
    (lambda v: v["numbers"]["cem-value"].update(at=["seed.opportunities[1].value"]), "variation.numbers.cem-value.at[0]",
     "expected the figure 58000"),
    (lambda v: v["numbers"]["cem-value"].update(at=["seed.opportunities[9].value"]), "variation.numbers.cem-value.at[0]",
     "has 2 entries"),
    (lambda v: v["numbers"]["cem-value"].update(at=["companies[0].name"]), "variation.numbers.cem-value.at[0]",
     "starts with one of: sheet, seed, key"),
    (lambda v: v["numbers"]["cem-value"].update(at=["seed.opportunities[opp-cem].value.x y"]),
     "variation.numbers.cem-value.at[0]", "cannot read"),
    (lambda v: v["numbers"]["new-value"].update(at=["seed.opportunities[opp-tartak].value"]), "variation.numbers.new-value.at[0]",
     "expected the figure 48000"),
    (lambda v: v["numbers"].update(**{"tartak-value": {"base": 58000, "min": 1, "max": 9, "at": ["seed.opportunities[opp-cem].value"]}}),
     "variation.numbers.tartak-value.at[0]", "already varied by 'cem-value'"),
    (lambda v: v["numbers"]["cem-value"].update(max=50000), "variation.numbers.cem-value", "at least two figures"),
    (lambda v: v["numbers"]["cem-value"].update(step=True), "variation.numbers.cem-value.step", "whole number"),
    (lambda v: v["numbers"]["cem-value"].pop("base"), "variation.numbers.cem-value", "missing required key 'base'"),
    (lambda v: v["dates"]["call"].update(max=2), "variation.dates.call.at[0]", "would change its meaning"),
    (lambda v: v["dates"]["call"].update(min=3), "variation.dates.call", "min < max"),
    (lambda v: v["dates"]["call"].update(at=["seed.companies[cem].name"]), "variation.dates.call.at[0]",
     "a day offset (a whole number) or a date"),
])
def test_invalid_variation_sections_name_the_place(change, location, words):
    data = copy.deepcopy(_minimal())
    change(data["variation"])
    with pytest.raises(ScenarioError) as caught:
        _parse(data)
    assert caught.value.source == "mini.yaml"
    assert caught.value.location == location, caught.value.message
    assert words in caught.value.message


def test_a_figure_the_sheet_or_key_states_elsewhere_must_be_a_place():
    data = _minimal()
    data["sheet"]["goal"] = "Cel: 48 000 zł w kwartale."
    with pytest.raises(ScenarioError) as caught:
        _parse(data)
    assert caught.value.location == "variation.numbers.new-value.at"
    assert "sheet.goal also states 48000" in caught.value.message
    data["variation"]["numbers"]["new-value"]["at"].append("sheet.goal")
    varied = _parse(data).varied(_seed_drawing(_parse(data), **{"new-value": 44000}))
    assert varied.goal == "Cel: 44 000 zł w kwartale." and varied.tasks[0].text.endswith("na 44 000 zł.")


def test_a_key_entry_is_named_by_its_task_never_by_its_position():
    data = _minimal()
    data["key"]["tasks"][0]["notes"] = "Wartość docelowa: 48 000 zł."
    data["variation"]["numbers"]["new-value"]["at"].append("key.tasks[0].notes")
    with pytest.raises(ScenarioError) as caught:
        _parse(data)
    assert "key.tasks[task=6]" in caught.value.message and "not by its position" in caught.value.message
    data["variation"]["numbers"]["new-value"]["at"][-1] = "key.tasks[task=2].notes"
    with pytest.raises(ScenarioError, match="no entry for task 2"):
        _parse(data)
    data["variation"]["numbers"]["new-value"]["at"][-1] = "key.tasks[task=1].notes"
    scenario = _parse(data)
    varied = scenario.varied(_seed_drawing(scenario, **{"new-value": 44000}))
    assert varied.key.tasks[0].notes == "Wartość docelowa: 44 000 zł."


def test_a_zero_day_offset_and_a_bad_date_are_refused():
    data = _minimal()
    data["seed"]["tasks"][0]["due_in_days"] = 0
    with pytest.raises(ScenarioError, match="would change its meaning"):
        _parse(data)
    data = _minimal()
    data["seed"]["companies"][0]["consent_at"] = "2023-02-30"
    with pytest.raises(ScenarioError) as caught:
        _parse(data)
    assert caught.value.location == "variation.dates.consent.at[0]" and "not a date" in caught.value.message


def test_a_text_stating_several_figures_takes_them_all_at_once():
    """One drawn figure is never taken for another's base: "6 → 41" and "41 → 50" in one note."""
    data = _minimal()
    data["seed"]["companies"][0]["notes"] = "Subskrypcja kończy się za 6 dni; ostatnie logowanie: 41 dni temu."
    data["variation"]["numbers"].update({
        "renewal": {"base": 6, "min": 41, "max": 42, "at": ["seed.companies[cem].notes"]},
        "login": {"base": 41, "min": 50, "max": 51, "at": ["seed.companies[cem].notes"]}})
    scenario = _parse(data)
    varied = scenario.varied(_seed_drawing(scenario, renewal=41, login=50))
    assert varied.seed["companies"][0]["notes"] == "Subskrypcja kończy się za 41 dni; ostatnie logowanie: 50 dni temu."
    data["variation"]["numbers"]["again"] = {"base": 6, "min": 1, "max": 2, "at": ["seed.companies[cem].notes"]}
    with pytest.raises(ScenarioError) as caught:
        _parse(data)
    assert caught.value.location == "variation.numbers.again.at[0]" and "already varies the figure 6" in caught.value.message


def test_small_figures_are_not_searched_for_in_the_sheet():
    """Under 100 a number is a task or row number, a count or days: its mentions are not required places."""
    data = _minimal()
    data["variation"]["numbers"]["call-days"] = {"base": 1, "min": 1, "max": 3, "at": ["seed.opportunities[opp-cem].value"]}
    data["seed"]["opportunities"][0]["value"] = 1
    del data["variation"]["numbers"]["cem-value"]
    assert _parse(data).tasks[0].number == 1  # task 1 is not taken for the figure 1
