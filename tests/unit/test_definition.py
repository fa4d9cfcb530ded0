"""The qualification definition file and its loader.

The first half checks that ``13881.yaml`` says what the official description says; the second
half feeds the loader broken definitions and checks that each is refused with the right place
and a message that says what to write instead.
"""
from __future__ import annotations

import copy
import hashlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank.definition import (
    CRITERION_METHODS,
    EDUCATION_LEVELS,
    STAFF_KINDS,
    Criterion,
    DefinitionError,
    QualificationDefinition,
    StaffRequirement,
    Text,
    available_definitions,
    definition_path,
    load_definition,
    parse_definition,
)

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "question_bank" / "sources" / "13881_opis_kwalifikacji.txt"
# SHA-256 of the official description as published (the seed the project started from).
SOURCE_SHA256 = "9bc7817ca48e883ee55a2b66e890283538ed8bd359718ab8d94b6a5c13f4af04"

TEST_CRITERIA = ["1.1.a", "1.1.b", "1.1.c", "1.1.d", "1.1.e", "1.2.a", "1.3.a", "1.3.b", "2.5.c"]
INTERVIEW_CRITERIA = ["1.3.c", "2.3.e"]
SIMULATION_CRITERIA = [
    "1.2.b", "1.2.c", "1.2.d", "1.2.e",
    "2.1.a", "2.1.b", "2.1.c", "2.1.d", "2.1.e",
    "2.2.a", "2.2.b", "2.2.c", "2.2.d",
    "2.3.a", "2.3.b", "2.3.c", "2.3.d",
    "2.4.a", "2.4.b", "2.4.c", "2.4.d", "2.4.e", "2.4.f",
    "2.5.a", "2.5.b", "2.5.d", "2.5.e", "2.5.f",
]  # fmt: skip
FOLLOW_UP_CRITERIA = ["1.1.c", "1.1.e", "1.3.b"]
POLISH_LETTERS = re.compile("[ąćęłńóśźżĄĆĘŁŃÓŚŹŻ]")

PATH_13881 = definition_path("13881")
RAW_13881: dict[str, Any] = yaml.safe_load(PATH_13881.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def definition() -> QualificationDefinition:
    return load_definition(PATH_13881)


@pytest.fixture(scope="module")
def source_text() -> str:
    # The description wraps lines and breaks pages; compare against its words, not its layout.
    return " ".join(SOURCE.read_text(encoding="utf-8").split())


def raw_copy() -> dict[str, Any]:
    """A fresh copy of the 13881 data as YAML gives it, for a test to break."""
    return copy.deepcopy(RAW_13881)


def _steps(location: str) -> list[str | int]:
    return [
        int(token[1:-1]) if token.startswith("[") else token
        for token in re.findall(r"\[\d+\]|[^.\[\]]+", location)
    ]


def set_at(data: dict[str, Any], location: str, value: Any) -> None:
    """Set the value at a location written the way DefinitionError writes it."""
    *parents, last = _steps(location)
    target: Any = data
    for step in parents:
        target = target[step]
    target[last] = value


def delete_at(data: dict[str, Any], location: str) -> None:
    """Delete the key at a location written the way DefinitionError writes it."""
    *parents, last = _steps(location)
    target: Any = data
    for step in parents:
        target = target[step]
    del target[last]


# -- the definition says what the official description says -------------------------------------


def test_source_is_the_official_description_unchanged() -> None:
    assert hashlib.sha256(SOURCE.read_bytes()).hexdigest() == SOURCE_SHA256


def test_structure_has_2_sets_8_outcomes_39_criteria(definition: QualificationDefinition) -> None:
    assert definition.code == "13881"
    assert [s.number for s in definition.outcome_sets] == [1, 2]
    assert [o.code for o in definition.outcomes()] == [
        "1.1", "1.2", "1.3", "2.1", "2.2", "2.3", "2.4", "2.5",
    ]  # fmt: skip
    assert len(list(definition.criteria())) == 39
    letters = {o.code: "".join(c.letter for c in o.criteria) for o in definition.outcomes()}
    assert letters == {
        "1.1": "abcde", "1.2": "abcde", "1.3": "abc",
        "2.1": "abcde", "2.2": "abcd", "2.3": "abcde", "2.4": "abcdef", "2.5": "abcdef",
    }  # fmt: skip


def test_criteria_know_their_parents(definition: QualificationDefinition) -> None:
    criterion = definition.criterion("1.2.d")
    assert (criterion.set_number, criterion.outcome_code, criterion.letter) == (1, "1.2", "d")
    assert criterion in definition.outcome("1.2").criteria


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("test", TEST_CRITERIA),
        ("simulation", SIMULATION_CRITERIA),
        ("interview", INTERVIEW_CRITERIA),
    ],
)
def test_method_split_is_9_test_28_simulation_2_interview(
    definition: QualificationDefinition, method: str, expected: list[str]
) -> None:
    assert [c.code for c in definition.criteria_by_method(method)] == expected


def test_interview_follow_up_is_marked_on_the_agreed_criteria(
    definition: QualificationDefinition,
) -> None:
    assert [c.code for c in definition.criteria() if c.interview_follow_up] == FOLLOW_UP_CRITERIA
    with_follow_up = definition.criteria_by_method("interview", include_follow_up=True)
    assert [c.code for c in with_follow_up] == ["1.1.c", "1.1.e", "1.3.b", "1.3.c", "2.3.e"]
    assert definition.criterion("1.1.c").verification_methods == ("test", "interview")
    assert definition.criteria_by_method("evidence") == ()


def test_polish_criterion_texts_are_verbatim(
    definition: QualificationDefinition, source_text: str
) -> None:
    for outcome in definition.outcomes():
        for index, criterion in enumerate(outcome.criteria):
            # In the description each criterion ends with "," and the last of an outcome with ".".
            separator = "." if index == len(outcome.criteria) - 1 else ","
            line = f"{criterion.letter}. {criterion.text.pl}{separator}"
            assert line in source_text, criterion.code


def test_polish_names_are_verbatim(definition: QualificationDefinition, source_text: str) -> None:
    for outcome_set in definition.outcome_sets:
        assert f"{outcome_set.number}) {outcome_set.name.pl} " in source_text
        for outcome in outcome_set.outcomes:
            number = outcome.code.split(".")[1]
            assert f"{number}. {outcome.name.pl} Kryteria weryfikacji:" in source_text
    assert f'kwalifikację "{definition.name.pl}"' in source_text
    assert definition.characteristic.pl in source_text
    for method in definition.methods:
        assert method.name.pl in source_text, method.key


def test_method_names(definition: QualificationDefinition) -> None:
    names = {method.key: method.name.pl for method in definition.methods}
    assert names == {
        "test": "test teoretyczny",
        "simulation": "obserwacja w warunkach symulowanych (symulacja)",
        "interview": "wywiad swobodny lub ustrukturyzowany (rozmowa z komisją)",
        "evidence": "analiza dowodów i deklaracji",
    }
    assert definition.method_name("evidence").en


def test_english_is_present_and_is_english(definition: QualificationDefinition) -> None:
    texts: list[tuple[str, Text]] = [
        ("name", definition.name),
        ("characteristic", definition.characteristic),
        ("validation", definition.validation),
    ]
    texts += [(f"methods.{m.key}", m.name) for m in definition.methods]
    texts += [(f"set {s.number}", s.name) for s in definition.outcome_sets]
    texts += [(o.code, o.name) for o in definition.outcomes()]
    texts += [(c.code, c.text) for c in definition.criteria()]
    for where, text in texts:
        assert text.en.strip(), where
        assert text.en != text.pl, where
        assert not POLISH_LETTERS.search(text.en), where


def test_validation_text_covers_the_rules_of_the_description(
    definition: QualificationDefinition,
) -> None:
    for fragment in (
        "operator systemu egzaminacyjnego",
        "warunkach symulowanych",
        "co najmniej 2 osób",
        "uzasadnienie decyzji",
        "odwołać",
        "ważny 5 lat",
        "co najmniej 1 rok",
        "analizy dowodów i deklaracji",
        "wyłącznie przy przedłużaniu",
    ):
        assert fragment in definition.validation.pl
    for fragment in ("exam-system operator", "at least 2 members", "impartial", "appeal",
                     "valid for 5 years", "at least 1 year", "assessor"):
        assert fragment in definition.validation.en


def test_settings(definition: QualificationDefinition) -> None:
    settings_ = definition.settings
    assert settings_.certificate_validity_years == 5
    assert (settings_.theory.item_count, settings_.theory.time_limit_minutes) == (36, 54)
    assert settings_.theory.pass_mark_percent == 60
    assert settings_.theory.decision_rule == "compensatory"
    assert settings_.practical.time_limit_minutes == 120
    assert settings_.practical.pass_mark_percent == 75
    assert (
        settings_.appeal_window_days,
        settings_.review_request_days,
        settings_.appeal_decision_days,
    ) == (14, 7, 30)
    assert settings_.renewal_min_crm_work_months == 12
    assert settings_.carry_over_months == 12
    assert settings_.min_committee_size == 2
    assert settings_.theory_required_for_practical is True



def test_staff_requirements_are_the_official_descriptions(definition: QualificationDefinition) -> None:
    """"Zasoby kadrowe": a committee member has at least secondary education and 5 years directing or
    supervising CRM operators; the operator has at least secondary education, computer skills and
    solves connection and browser problems."""
    requirements = definition.settings.staff_requirements
    assert requirements is not None
    assert requirements.assessor == StaffRequirement(min_education="secondary", min_crm_supervision_months=60)
    assert requirements.operator == StaffRequirement(min_education="secondary", computer_skills=True,
                                                     troubleshooting_skills=True)
    assert definition.to_dict()["settings"]["staff_requirements"] == RAW_13881["settings"]["staff_requirements"]
    source = SOURCE.read_text(encoding="utf-8")
    for fragment in ("wykształcenie minimum", "staż pracy minimum 5 lat", "kierowaniem/nadzorowaniem pracy",
                     "znajomość obsługi komputera", "zanikiem połączenia internetowego"):
        assert fragment in " ".join(source.split())


def test_staff_requirements_may_be_left_out_and_keep_the_hash_of_a_file_without_them() -> None:
    data = raw_copy()
    delete_at(data, "settings.staff_requirements")
    definition = parse_definition(data, "copy")
    assert definition.settings.staff_requirements is None
    assert "staff_requirements" not in definition.to_dict()["settings"]
    assert parse_definition(definition.to_dict(), "round trip") == definition


def test_education_levels_match_the_portals() -> None:
    from examportal.models import Education

    assert EDUCATION_LEVELS == tuple(level.value for level in Education)
    assert STAFF_KINDS == ("assessor", "operator")


def test_text_for_locale() -> None:
    text = Text(pl="tak", en="yes")
    assert [text.for_locale(x) for x in ("en", "en_GB", "pl", None)] == ["yes", "yes", "tak", "tak"]


def test_lookups_refuse_unknown_codes(definition: QualificationDefinition) -> None:
    with pytest.raises(KeyError, match=re.escape("9.9.z")):
        definition.criterion("9.9.z")
    with pytest.raises(KeyError, match=re.escape("3.1")):
        definition.outcome("3.1")
    with pytest.raises(ValueError, match="unknown method 'quiz'"):
        definition.criteria_by_method("quiz")


def test_paths() -> None:
    assert PATH_13881 in available_definitions()
    assert PATH_13881.name == "13881.yaml"
    with pytest.raises(ValueError, match="invalid qualification code"):
        definition_path("../../etc/passwd")


def test_module_needs_no_flask() -> None:
    code = "import sys, question_bank.definition; assert 'flask' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


# -- content hash ---------------------------------------------------------------------------------


def test_content_hash_is_deterministic(definition: QualificationDefinition) -> None:
    again = load_definition(PATH_13881)
    assert again == definition
    assert again.content_hash == definition.content_hash
    assert re.fullmatch(r"[0-9a-f]{64}", definition.content_hash)


def test_content_hash_ignores_layout_and_defaults(definition: QualificationDefinition) -> None:
    data = raw_copy()
    data = dict(reversed(list(data.items())))  # key order is not content
    data["settings"] = dict(sorted(data["settings"].items()))
    set_at(data, "outcome_sets[0].outcomes[0].criteria[0].interview_follow_up", False)
    assert parse_definition(data, "copy").content_hash == definition.content_hash


def test_content_hash_changes_with_content(definition: QualificationDefinition) -> None:
    data = raw_copy()
    set_at(data, "outcome_sets[1].outcomes[4].criteria[2].text.en", "names ways to show data")
    assert parse_definition(data, "copy").content_hash != definition.content_hash
    data = raw_copy()
    set_at(data, "settings.theory.pass_mark_percent", 65)
    assert parse_definition(data, "copy").content_hash != definition.content_hash


def test_to_dict_round_trips(definition: QualificationDefinition) -> None:
    assert parse_definition(definition.to_dict(), "round trip") == definition


# -- malformed definitions ------------------------------------------------------------------------


def _set(location: str, value: Any):
    return lambda data: set_at(data, location, value)


def _delete(location: str):
    return lambda data: delete_at(data, location)


C = "outcome_sets[0].outcomes[0].criteria[0]"  # criterion 1.1.a

MALFORMED = [
    # (id, mutation, expected location, expected message fragment)
    ("method-unknown", _set("outcome_sets[1].outcomes[0].criteria[3].method", "quiz"),
     "outcome_sets[1].outcomes[0].criteria[3].method",
     "unknown method 'quiz' (expected one of: interview, simulation, test)"),
    ("method-renewal-only", _set(f"{C}.method", "evidence"), f"{C}.method",
     "'evidence' is used only to renew a certificate"),
    ("method-not-a-string", _set(f"{C}.method", ["test"]), f"{C}.method",
     "expected a method name, got a list"),
    ("method-missing", _delete(f"{C}.method"), C, "missing required key 'method'"),
    ("method-undeclared", _delete("methods.simulation"),
     "outcome_sets[0].outcomes[1].criteria[1].method", "method 'simulation' is not declared"),
    ("follow-up-needs-interview", _delete("methods.interview"),
     "outcome_sets[0].outcomes[0].criteria[2].interview_follow_up", "needs methods.interview"),
    ("criterion-unknown-key", _set(f"{C}.weight", 2), C,
     "unknown key 'weight' (expected one of: code, interview_follow_up, method, text)"),
    ("criterion-code-uppercase", _set(f"{C}.code", "1.1.A"), f"{C}.code",
     "invalid criterion code '1.1.A' (expected the form '1.2.d'"),
    ("criterion-code-two-letters", _set(f"{C}.code", "1.1.aa"), f"{C}.code",
     "invalid criterion code '1.1.aa'"),
    ("criterion-code-no-letter", _set(f"{C}.code", "1.1"), f"{C}.code",
     "invalid criterion code '1.1'"),
    ("criterion-code-not-string", _set(f"{C}.code", 1.1), f"{C}.code",
     "expected a code as a string, got a number (1.1)"),
    ("criterion-in-wrong-outcome", _set("outcome_sets[0].outcomes[2].criteria[0].code", "1.4.a"),
     "outcome_sets[0].outcomes[2].criteria[0].code",
     "criterion '1.4.a' does not belong to learning outcome '1.3' "
     "(expected a code starting with '1.3.')"),
    ("criterion-in-wrong-set", _set(f"{C}.code", "2.1.a"), f"{C}.code",
     "criterion '2.1.a' does not belong to learning outcome '1.1'"),
    ("criterion-duplicate", _set("outcome_sets[0].outcomes[1].criteria[1].code", "1.2.a"),
     "outcome_sets[0].outcomes[1].criteria[1].code",
     "duplicate criterion code '1.2.a' "
     "(first used at outcome_sets[0].outcomes[1].criteria[0].code)"),
    ("criterion-out-of-order", _set("outcome_sets[0].outcomes[0].criteria[1].code", "1.1.c"),
     "outcome_sets[0].outcomes[0].criteria[1].code",
     "criterion '1.1.c' is out of order (expected '1.1.b'"),
    ("criterion-text-pl-blank", _set(f"{C}.text.pl", "   "), f"{C}.text.pl",
     "expected a non-empty string, got an empty one"),
    ("criterion-text-en-missing", _delete(f"{C}.text.en"), f"{C}.text",
     "missing required key 'en'"),
    ("criterion-text-en-none", _set(f"{C}.text.en", None), f"{C}.text.en",
     "expected a non-empty string, got an empty value"),
    ("criterion-text-extra-language", _set(f"{C}.text.de", "x"), f"{C}.text",
     "unknown key 'de' (expected one of: en, pl)"),
    ("follow-up-not-boolean", _set(f"{C}.interview_follow_up", "yes"),
     f"{C}.interview_follow_up", "expected true or false, got a string ('yes')"),
    ("follow-up-on-interview",
     _set("outcome_sets[0].outcomes[2].criteria[2].interview_follow_up", True),
     "outcome_sets[0].outcomes[2].criteria[2].interview_follow_up",
     "verified by interview already"),
    ("criteria-empty", _set("outcome_sets[0].outcomes[0].criteria", []),
     "outcome_sets[0].outcomes[0].criteria", "expected at least one of the criteria"),
    ("outcome-code-float", _set("outcome_sets[0].outcomes[0].code", 1.1),
     "outcome_sets[0].outcomes[0].code", 'quote it in YAML, e.g. "1.1"'),
    ("outcome-code-form", _set("outcome_sets[0].outcomes[0].code", "1-1"),
     "outcome_sets[0].outcomes[0].code", "invalid learning outcome code '1-1'"),
    ("outcome-in-wrong-set", _set("outcome_sets[1].outcomes[0].code", "1.4"),
     "outcome_sets[1].outcomes[0].code",
     "learning outcome '1.4' does not belong to outcome set 2 "
     "(expected a code starting with '2.')"),
    ("outcome-duplicate", _set("outcome_sets[0].outcomes[1].code", "1.1"),
     "outcome_sets[0].outcomes[1].code", "duplicate learning outcome code '1.1'"),
    ("outcome-out-of-order", _set("outcome_sets[0].outcomes[1].code", "1.3"),
     "outcome_sets[0].outcomes[1].code", "learning outcome '1.3' is out of order (expected '1.2'"),
    ("outcome-name-a-string", _set("outcome_sets[0].outcomes[0].name", "Pozyskuje dane"),
     "outcome_sets[0].outcomes[0].name", "expected a mapping with keys pl, en, got a string"),
    ("set-number-duplicate", _set("outcome_sets[1].number", 1), "outcome_sets[1].number",
     "duplicate outcome set number 1 (first used at outcome_sets[0].number)"),
    ("set-number-out-of-order", _set("outcome_sets[1].number", 3), "outcome_sets[1].number",
     "outcome set number 3 is out of order (expected 2"),
    ("set-number-string", _set("outcome_sets[0].number", "1"), "outcome_sets[0].number",
     "expected a positive integer, got a string ('1')"),
    ("outcome-sets-not-a-list", _set("outcome_sets", {"1": "x"}), "outcome_sets",
     "expected a list of outcome sets, got a mapping"),
    ("code-an-integer", _set("code", 13881), "code",
     'expected a code as a string, got an integer (13881) (quote it in YAML, e.g. "13881")'),
    ("code-with-slash", _set("code", "../13881"), "code", "invalid qualification code"),
    ("name-en-empty", _set("name.en", ""), "name.en", "expected a non-empty string"),
    ("validation-missing", _delete("validation"), "", "missing required key 'validation'"),
    ("top-level-unknown-key", _set("notes", "x"), "", "unknown key 'notes'"),
    ("methods-unknown-key", _set("methods.quiz", {"pl": "quiz", "en": "quiz"}), "methods",
     "unknown key 'quiz' (expected one of: evidence, interview, simulation, test)"),
    ("methods-empty", _set("methods", {}), "methods", "expected names for at least one method"),
    ("settings-missing", _delete("settings"), "", "missing required key 'settings'"),
    ("settings-unknown-key", _set("settings.grace_days", 3), "settings",
     "unknown key 'grace_days'"),
    ("settings-key-missing", _delete("settings.appeal_window_days"), "settings",
     "missing required key 'appeal_window_days'"),
    ("settings-theory-missing-key", _delete("settings.theory.item_count"), "settings.theory",
     "missing required key 'item_count'"),
    ("settings-zero", _set("settings.theory.item_count", 0), "settings.theory.item_count",
     "expected a positive integer, got an integer (0)"),
    ("settings-negative", _set("settings.appeal_window_days", -14),
     "settings.appeal_window_days", "expected a positive integer, got an integer (-14)"),
    ("settings-boolean-as-number", _set("settings.min_committee_size", True),
     "settings.min_committee_size", "expected a positive integer, got a boolean (true)"),
    ("settings-float", _set("settings.certificate_validity_years", 5.0),
     "settings.certificate_validity_years", "expected a positive integer, got a number (5.0)"),
    ("pass-mark-above-100", _set("settings.theory.pass_mark_percent", 120),
     "settings.theory.pass_mark_percent", "expected a whole percentage from 1 to 100"),
    ("pass-mark-zero", _set("settings.practical.pass_mark_percent", 0),
     "settings.practical.pass_mark_percent", "expected a whole percentage from 1 to 100"),
    ("pass-mark-fraction", _set("settings.practical.pass_mark_percent", 75.5),
     "settings.practical.pass_mark_percent", "got a number (75.5)"),
    ("flag-not-boolean", _set("settings.theory_required_for_practical", "true"),
     "settings.theory_required_for_practical", "expected true or false, got a string ('true')"),
    ("theory-not-a-mapping", _set("settings.theory", 30), "settings.theory",
     "expected a mapping with keys item_count, time_limit_minutes, pass_mark_percent, decision_rule, "
     "partial_credit, got an integer (30)"),
    ("theory-unknown-partial-credit", _set("settings.theory.partial_credit", "half"), "settings.theory.partial_credit",
     "expected one of all_or_nothing, per_pair, got a string ('half')"),
    ("theory-unknown-rule", _set("settings.theory.decision_rule", "majority"), "settings.theory.decision_rule",
     "expected one of compensatory, per_criterion, got a string ('majority')"),
    ("staff-requirements-a-list", _set("settings.staff_requirements", ["assessor"]), "settings.staff_requirements",
     "expected a mapping with keys assessor, operator, got a list"),
    ("staff-requirements-empty", _set("settings.staff_requirements", {}), "settings.staff_requirements",
     "expected the requirements of at least one of: assessor, operator"),
    ("staff-requirements-unknown-kind", _set("settings.staff_requirements.trainer", {"min_education": "higher"}),
     "settings.staff_requirements", "unknown key 'trainer' (expected one of: assessor, operator)"),
    ("staff-requirement-unknown-key", _set("settings.staff_requirements.assessor.min_age", 30),
     "settings.staff_requirements.assessor", "unknown key 'min_age'"),
    ("staff-education-unknown", _set("settings.staff_requirements.assessor.min_education", "średnie"),
     "settings.staff_requirements.assessor.min_education",
     "expected one of primary, vocational, secondary, higher, got a string ('średnie')"),
    ("staff-education-empty", _set("settings.staff_requirements.operator.min_education", None),
     "settings.staff_requirements.operator.min_education", "got an empty value"),
    ("staff-months-in-years", _set("settings.staff_requirements.assessor.min_crm_supervision_months", 5.0),
     "settings.staff_requirements.assessor.min_crm_supervision_months",
     "expected a whole number of months from 1 to 720, got a number (5.0)"),
    ("staff-months-zero", _set("settings.staff_requirements.assessor.min_crm_supervision_months", 0),
     "settings.staff_requirements.assessor.min_crm_supervision_months", "got an integer (0)"),
    ("staff-months-too-many", _set("settings.staff_requirements.assessor.min_crm_supervision_months", 721),
     "settings.staff_requirements.assessor.min_crm_supervision_months", "got an integer (721)"),
    ("staff-months-a-string", _set("settings.staff_requirements.assessor.min_crm_supervision_months", "60"),
     "settings.staff_requirements.assessor.min_crm_supervision_months", "got a string ('60')"),
    ("staff-skills-not-boolean", _set("settings.staff_requirements.operator.computer_skills", "yes"),
     "settings.staff_requirements.operator.computer_skills", "expected true or false, got a string ('yes')"),
    ("staff-requirement-requires-nothing", _set("settings.staff_requirements.operator",
                                                {"computer_skills": False}),
     "settings.staff_requirements.operator", "this requirement requires nothing"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "location", "message"),
    [pytest.param(m, loc, msg, id=case_id) for case_id, m, loc, msg in MALFORMED],
)
def test_malformed_definition_is_refused_with_location(
    mutate, location: str, message: str
) -> None:
    data = raw_copy()
    mutate(data)
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data, "13881.yaml")
    error = caught.value
    assert error.source == "13881.yaml"
    assert error.location == location
    assert message in error.message
    assert str(error) == ": ".join(p for p in ("13881.yaml", location, error.message) if p)


def test_error_reads_as_file_location_message() -> None:
    data = raw_copy()
    set_at(data, "outcome_sets[1].outcomes[0].criteria[3].method", "quiz")
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data, "13881.yaml")
    assert str(caught.value) == (
        "13881.yaml: outcome_sets[1].outcomes[0].criteria[3].method: "
        "unknown method 'quiz' (expected one of: interview, simulation, test)"
    )


@pytest.mark.parametrize("document", [None, [], "13881", 13881])
def test_document_that_is_not_a_mapping_is_refused(document: Any) -> None:
    with pytest.raises(DefinitionError, match="expected a mapping with keys code, name") as caught:
        parse_definition(document, "13881.yaml")
    assert caught.value.location == ""


# -- files ----------------------------------------------------------------------------------------


def test_yaml_syntax_error_reports_line_and_column(tmp_path: Path) -> None:
    broken = PATH_13881.read_text(encoding="utf-8").replace(
        "  en: \"Customer relationship management using a CRM system\"",
        "  en: \"Customer relationship management using a CRM system",
    )
    path = tmp_path / "13881.yaml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    error = caught.value
    assert error.source == "13881.yaml"
    assert error.line is not None and error.column is not None
    assert error.location == f"line {error.line}, column {error.column}"
    assert error.message.startswith("invalid YAML: ")


def test_yaml_syntax_error_points_at_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "13881.yaml"
    path.write_text('code: "13881"\nname:\n  pl: a\n   en: b\n', encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    assert (caught.value.line, caught.value.column) == (4, 6)
    assert str(caught.value).startswith("13881.yaml: line 4, column 6: invalid YAML: ")


def test_duplicate_yaml_key_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "13881.yaml"
    path.write_text('code: "13881"\nname:\n  pl: a\n  pl: b\n', encoding="utf-8")
    with pytest.raises(DefinitionError, match="found duplicate key 'pl'") as caught:
        load_definition(path)
    assert caught.value.line == 4


def test_code_must_match_file_name(tmp_path: Path) -> None:
    path = tmp_path / "13882.yaml"
    path.write_text(PATH_13881.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    assert str(caught.value) == (
        "13882.yaml: code: code '13881' does not match the file name "
        "(expected the file to be named '13881.yaml')"
    )


def test_missing_file_is_a_definition_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="cannot read") as caught:
        load_definition(tmp_path / "99999.yaml")
    assert caught.value.source == "99999.yaml"


# -- properties -----------------------------------------------------------------------------------

CRITERION_LOCATIONS = [
    (f"outcome_sets[{s}].outcomes[{o}].criteria[{c}]", criterion["code"])
    for s, outcome_set in enumerate(RAW_13881["outcome_sets"])
    for o, outcome in enumerate(outcome_set["outcomes"])
    for c, criterion in enumerate(outcome["criteria"])
]

criterion_codes = st.one_of(
    # Well-formed codes, almost always in the wrong place, and then anything at all.
    st.from_regex(r"[0-9]{1,2}\.[0-9]{1,2}\.[a-z]", fullmatch=True),
    st.text(max_size=8),
)


@settings(max_examples=200, deadline=None)
@given(target=st.sampled_from(CRITERION_LOCATIONS), new_code=criterion_codes)
def test_any_changed_criterion_code_is_caught_at_that_criterion(
    target: tuple[str, str], new_code: str
) -> None:
    location, original = target
    data = raw_copy()
    set_at(data, f"{location}.code", new_code)
    if new_code == original:
        parse_definition(data, "13881.yaml")
        return
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data, "13881.yaml")
    assert caught.value.location == f"{location}.code"


SETTINGS_LOCATIONS = [
    "settings.certificate_validity_years",
    "settings.theory.item_count",
    "settings.theory.time_limit_minutes",
    "settings.practical.time_limit_minutes",
    "settings.appeal_window_days",
    "settings.review_request_days",
    "settings.appeal_decision_days",
    "settings.renewal_min_crm_work_months",
    "settings.carry_over_months",
    "settings.min_committee_size",
]


@settings(max_examples=100, deadline=None)
@given(
    location=st.sampled_from(SETTINGS_LOCATIONS),
    value=st.one_of(
        st.integers(max_value=0), st.floats(), st.booleans(), st.text(), st.none()
    ),
)
def test_any_non_positive_or_non_integer_setting_is_caught(location: str, value: Any) -> None:
    data = raw_copy()
    set_at(data, location, value)
    with pytest.raises(DefinitionError, match="expected a positive integer") as caught:
        parse_definition(data, "13881.yaml")
    assert caught.value.location == location


def test_criterion_dataclass_is_frozen(definition: QualificationDefinition) -> None:
    criterion: Criterion = definition.criterion("2.4.f")
    with pytest.raises(AttributeError):
        criterion.method = "test"  # type: ignore[misc]
    assert criterion.method in CRITERION_METHODS
