"""Outcome confirmation, consensus and the justification rule, without a database."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from examportal.committee import rules

STRUCTURE = [
    (1, [("1.1", ["1.1.a", "1.1.b"]), ("1.2", ["1.2.a"])]),
    (2, [("2.1", ["2.1.a", "2.1.b"])]),
]
CODES = ["1.1.a", "1.1.b", "1.2.a", "2.1.a", "2.1.b"]


def test_all_met_grants_the_qualification():
    summary = rules.summarise(STRUCTURE, dict.fromkeys(CODES, True))
    assert summary.granted is True and summary.unmet == [] and summary.missing == []
    assert all(o.confirmed for s in summary.sets for o in s.outcomes)


def test_one_unmet_criterion_fails_its_outcome_its_set_and_the_whole():
    results = dict.fromkeys(CODES, True) | {"2.1.b": False}
    summary = rules.summarise(STRUCTURE, results)
    assert summary.granted is False
    assert summary.unmet == ["2.1.b"]
    assert summary.sets[0].confirmed is True
    assert summary.sets[1].confirmed is False and summary.sets[1].outcomes[0].confirmed is False


def test_missing_results_leave_the_result_open():
    summary = rules.summarise(STRUCTURE, {"1.1.a": True})
    assert summary.granted is None
    assert summary.missing == ["1.1.b", "1.2.a", "2.1.a", "2.1.b"]


@given(st.dictionaries(st.sampled_from(CODES), st.booleans()))
def test_granted_exactly_when_every_criterion_is_met(results):
    summary = rules.summarise(STRUCTURE, results)
    if len(results) == len(CODES) and all(results.values()):
        assert summary.granted is True
    elif any(v is False for v in results.values()):
        assert summary.granted is False
    else:
        assert summary.granted is None


@pytest.mark.parametrize("verdicts, expected", [
    ({1: True, 2: True}, True), ({1: False, 2: False}, False), ({1: True, 2: False}, None), ({1: True, 2: None}, None),
])
def test_agreement(verdicts, expected):
    assert rules.agreement(verdicts) is expected


def test_justification_must_exist_and_name_every_unmet_criterion():
    assert rules.justification_problems("", ["2.1.b"]) == ["__empty__"]
    assert rules.justification_problems("Za krótko", ["2.1.b"]) == ["__empty__"]
    text = "Kandydat nie wprowadził etapów sprzedaży do systemu (2.1.c) i nie przypisał zadań."
    assert rules.justification_problems(text, ["2.1.c", "2.1.d"]) == ["2.1.d"]
    assert rules.justification_problems(text + " Zadania (2.1.d) nie powstały.", ["2.1.c", "2.1.d"]) == []
    # "12.1.c" is not "2.1.c"
    assert rules.justification_problems("Odniesienie do 12.1.c nie jest kryterium tej kwalifikacji.", ["2.1.c"]) == ["2.1.c"]
