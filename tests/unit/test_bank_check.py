"""The real item bank passes the bank check, and the check catches each kind of defect."""
from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from question_bank.items import (
    Item,
    Option,
    Review,
    Text,
    check_bank,
    fingerprint,
    item_from_dict,
    item_to_dict,
    key_response,
    load_items,
    normalize_response,
    score,
    validate,
)

ITEMS_DIR = Path(__file__).resolve().parents[2] / "question_bank" / "items"

TEST_CRITERIA = ["1.1.a", "1.1.b", "1.1.c", "1.1.d", "1.1.e", "1.2.a", "1.3.a", "1.3.b", "2.5.c"]
INTERVIEW_CRITERIA = ["1.3.c", "2.3.e"]
ALL_CRITERIA = [
    "1.1.a", "1.1.b", "1.1.c", "1.1.d", "1.1.e",
    "1.2.a", "1.2.b", "1.2.c", "1.2.d", "1.2.e",
    "1.3.a", "1.3.b", "1.3.c",
    "2.1.a", "2.1.b", "2.1.c", "2.1.d", "2.1.e",
    "2.2.a", "2.2.b", "2.2.c", "2.2.d",
    "2.3.a", "2.3.b", "2.3.c", "2.3.d", "2.3.e",
    "2.4.a", "2.4.b", "2.4.c", "2.4.d", "2.4.e", "2.4.f",
    "2.5.a", "2.5.b", "2.5.c", "2.5.d", "2.5.e", "2.5.f",
]


def _method(code: str) -> str:
    if code in TEST_CRITERIA:
        return "test"
    if code in INTERVIEW_CRITERIA:
        return "interview"
    return "simulation"


KNOWN = {code: _method(code) for code in ALL_CRITERIA}


def test_known_criteria_literal_matches_the_qualification():
    assert len(KNOWN) == 39
    assert Counter(KNOWN.values()) == {"test": 9, "simulation": 28, "interview": 2}


@pytest.fixture(scope="module")
def bank() -> list[Item]:
    return load_items(ITEMS_DIR)


def test_real_bank_passes(bank):
    report = check_bank(bank, KNOWN, min_per_criterion=9)
    assert report.ok, report.render()
    assert [c.code for c in report.coverage] == TEST_CRITERIA


def test_real_bank_uses_every_type_at_least_six_times(bank):
    counts = Counter(item.type for item in bank)
    assert set(counts) == {"single_choice", "multiple_choice", "true_false", "matching", "ordering"}
    assert min(counts.values()) >= 6, counts


def test_real_bank_files_are_named_by_criterion(bank):
    for path in sorted(ITEMS_DIR.glob("*.yaml")):
        items = load_items(path)
        assert items, path.name
        for item in items:
            assert path.stem in item.criteria, (path.name, item.id)
            assert item.id.startswith(f"13881-{path.stem}-"), item.id


def test_real_bank_is_bilingual_with_rationales(bank):
    for item in bank:
        assert item.stem.en and item.rationale is not None and item.rationale.en, item.id
        for part in (*item.options, *item.premises, *item.responses):
            assert part.text.en, (item.id, part.id)


def test_real_bank_correct_single_choice_is_not_systematically_longest(bank):
    # Item writers' classic giveaway: the key as the longest, most careful option.
    singles = [item for item in bank if item.type == "single_choice"]
    longest_is_key = 0
    for item in singles:
        longest = max(item.options, key=lambda option: len(option.text.pl))
        longest_is_key += longest.id == item.key[0]
    assert longest_is_key <= len(singles) // 3, f"{longest_is_key} of {len(singles)}"


def test_real_bank_single_choice_keys_are_spread_over_positions(bank):
    positions = Counter(
        [o.id for o in item.options].index(item.key[0]) for item in bank if item.type == "single_choice"
    )
    assert len(positions) >= 3, positions


# --------------------------------------------------------------------------- defects


def _item(number: int, code: str = "1.1.a", **changes) -> Item:
    item = Item(
        id=f"t-{code}-{number:03d}", version=1, type="single_choice", criteria=(code,),
        stem=Text(pl=f"Pytanie numer {number} o kryterium {code}?"),
        options=tuple(Option(i, Text(pl=f"Odpowiedź {i}")) for i in "abcd"),
        key=("a",), difficulty=0.6, review=Review(state="approved", author="Autor", reviewer="Recenzent"),
    )
    return dataclasses.replace(item, **changes)


def _full_bank(per_criterion: int = 2) -> list[Item]:
    return [_item(n, code) for code in TEST_CRITERIA for n in range(per_criterion)]


def test_small_sound_bank_passes():
    report = check_bank(_full_bank(), KNOWN, min_per_criterion=2)
    assert report.ok, report.render()
    assert all(c.count == 2 and c.by_type == {"single_choice": 2} for c in report.coverage)
    assert "Bank OK" in report.render()


def test_duplicate_id_is_caught():
    bank = _full_bank()
    bank.append(dataclasses.replace(bank[0], stem=Text(pl="Zupełnie inne pytanie?")))
    report = check_bank(bank, KNOWN, min_per_criterion=2)
    assert report.duplicate_ids == {bank[0].id: 2}
    assert not report.ok
    assert f"duplicate id '{bank[0].id}'" in report.render()


def test_duplicate_polish_stem_is_caught_after_normalising():
    bank = _full_bank()
    twin = dataclasses.replace(bank[0], id="t-twin", stem=Text(pl="  PYTANIE numer 0 o kryterium 1.1.a ? "))
    report = check_bank([*bank, twin], KNOWN, min_per_criterion=2)
    assert report.duplicate_stems == [(bank[0].id, "t-twin")]
    assert not report.ok


def test_item_without_key_is_caught_and_not_counted():
    bank = _full_bank()
    bank[0] = dataclasses.replace(bank[0], key=None)
    report = check_bank(bank, KNOWN, min_per_criterion=2)
    assert (bank[0].id, "key is missing") in report.invalid
    assert report.coverage[0].count == 1 and not report.coverage[0].ok
    assert not report.ok


def test_impossible_key_is_caught():
    bank = _full_bank()
    bank[1] = dataclasses.replace(bank[1], key=("z",))
    bank[2] = dataclasses.replace(bank[2], type="multiple_choice", key=("a", "b", "c", "d"))
    report = check_bank(bank, KNOWN, min_per_criterion=1)
    assert (bank[1].id, "key references unknown option 'z'") in report.invalid
    assert (bank[2].id, "multiple_choice must not key every option") in report.invalid
    assert not report.ok


def test_unknown_criterion_is_caught():
    bank = [*_full_bank(), _item(1, "3.1.a")]
    report = check_bank(bank, KNOWN, min_per_criterion=2)
    assert report.unknown_criteria == [("t-3.1.a-001", "3.1.a")]
    assert not report.ok
    assert "unknown criterion '3.1.a'" in report.render()


def test_item_tagged_with_a_simulation_or_interview_criterion_is_caught():
    bank = [*_full_bank(), _item(1, "2.4.d"), _item(1, "1.3.c")]
    report = check_bank(bank, KNOWN, min_per_criterion=2)
    assert report.non_test_criteria == [("t-2.4.d-001", "2.4.d", "simulation"), ("t-1.3.c-001", "1.3.c", "interview")]
    assert not report.ok


def test_under_coverage_is_caught():
    bank = [item for item in _full_bank(3) if not (item.criteria == ("2.5.c",) and item.id.endswith("2"))]
    report = check_bank(bank, KNOWN, min_per_criterion=3)
    assert [c.code for c in report.short] == ["2.5.c"]
    assert not report.ok
    assert "SHORT (min 3)" in report.render()


def test_criterion_with_no_items_at_all_is_short():
    bank = [item for item in _full_bank() if item.criteria != ("1.3.b",)]
    report = check_bank(bank, KNOWN, min_per_criterion=1)
    assert [(c.code, c.count) for c in report.short] == [("1.3.b", 0)]


# --------------------------------------------------------------------------- review, difficulty, cues


def _true_false(number: int, statement: str, key: bool, code: str = "1.1.a") -> Item:
    return _item(number, code, type="true_false", stem=Text(pl=statement), options=(), key=key)


def test_only_approved_items_count_towards_coverage():
    bank = _full_bank()
    bank[0] = dataclasses.replace(bank[0], review=Review(state="draft", author="Autor"))
    report = check_bank(bank, KNOWN, min_per_criterion=2)
    assert not report.ok and [c.code for c in report.short] == ["1.1.a"]


def test_a_live_item_needs_a_difficulty_estimate():
    bank = _full_bank()
    bank[3] = dataclasses.replace(bank[3], difficulty=None)
    report = check_bank(bank, KNOWN, min_per_criterion=2)
    assert report.missing_difficulty == [bank[3].id] and not report.ok
    bank[3] = dataclasses.replace(bank[3], review=Review(state="retired", author="A", reviewer="B"))
    assert check_bank(bank, KNOWN, min_per_criterion=1).missing_difficulty == []


@pytest.mark.parametrize("word", ["zawsze", "wyłącznie", "jak najwięcej", "bezterminowo", "Nigdy"])
def test_a_false_statement_with_an_absolute_word_is_caught(word):
    bank = [*_full_bank(), _true_false(50, f"Zgodę na marketing można {word} przechowywać w CRM.", False)]
    report = check_bank(bank, KNOWN, min_per_criterion=2)
    assert report.absolute_words == [(bank[-1].id, word)] and not report.ok
    assert "gives itself away" in report.render()


def test_a_true_statement_or_a_plain_false_one_is_not_flagged():
    bank = [*_full_bank(), _true_false(50, "Administrator zawsze prowadzi rejestr czynności przetwarzania.", True),
            _true_false(51, "Zgoda na newsletter obejmuje też telefoniczną ofertę handlową.", False)]
    assert check_bank(bank, KNOWN, min_per_criterion=2).absolute_words == []


@pytest.mark.parametrize(("review", "problem"), [
    (Review(state="approved", author="Anna Nowak"), "names its author and its reviewer"),
    (Review(state="approved", author="Anna Nowak", reviewer=" anna nowak "), "another person than the author"),
    (Review(state="published", author="A", reviewer="B"), "review.state 'published' must be one of"),
    (Review(state="draft", author="A", law_as_of="1 listopada"), "must be a date like"),
])
def test_review_records_are_validated(review, problem):
    item = dataclasses.replace(_item(1), review=review)
    assert any(problem in p for p in validate(item)), validate(item)


def test_difficulty_must_be_a_proportion():
    assert any("difficulty" in p for p in validate(dataclasses.replace(_item(1), difficulty=1.5)))


def test_stale_legal_items_and_key_patterns_are_warned_about_but_do_not_fail():
    bank = _full_bank()
    bank[0] = dataclasses.replace(bank[0], review=Review(state="approved", author="A", reviewer="B",
                                                         law_as_of="2023-01-15"))
    shaped = [_item(60 + n, "1.1.b", type="multiple_choice", key=("a", "b", "c"),
                    options=tuple(Option(i, Text(pl=f"Opcja {i}")) for i in "abcde")) for n in range(6)]
    report = check_bank([*bank, *shaped], KNOWN, min_per_criterion=2, today=date(2026, 12, 2))
    assert report.ok, report.render()
    assert any("2023-01-15 is over 2 years old" in w for w in report.warnings)
    assert any("6 of 6 keys select 3 of 5 options" in w for w in report.warnings)
    assert "Warnings (" in report.render() and "Bank OK" in report.render()


def test_review_and_difficulty_survive_the_yaml_round_trip():
    item = dataclasses.replace(_item(1), difficulty=0.55, review=Review(state="approved", author="A", reviewer="B",
                                                                        law_as_of="2026-12-01"))
    again = item_from_dict(item_to_dict(item))
    assert again == item and fingerprint(again) == fingerprint(dataclasses.replace(item, review=Review()))


def test_every_items_key_as_a_response_scores_full_marks(bank):
    """key_response is what a candidate who answers correctly gives, for every type (the demo's
    candidate answers with it): read as the form's answer, it is the key."""
    for item in bank:
        response = key_response(item)
        assert normalize_response(item, response) == response, item.id
        assert score(item, response) == 1.0, item.id
