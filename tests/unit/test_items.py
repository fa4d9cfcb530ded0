"""Question types: validation, presentation, response normalisation and scoring; loading."""
from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from question_bank.items import (
    REGISTRY,
    BankError,
    Item,
    ItemFormatError,
    Option,
    ResponseError,
    Text,
    fingerprint,
    get_type,
    item_from_dict,
    item_to_dict,
    load_items,
    normalize_response,
    present,
    score,
    validate,
)


def _options(*ids: str, prefix: str = "Opcja") -> tuple[Option, ...]:
    return tuple(Option(id=i, text=Text(pl=f"{prefix} {i}", en=f"Option {i}")) for i in ids)


def single(**changes) -> Item:
    item = Item(
        id="t-single-001", version=1, type="single_choice", criteria=("1.1.a",),
        stem=Text(pl="Które źródło jest pierwotne?", en="Which source is primary?"),
        options=_options("a", "b", "c", "d"), key=("b",),
        rationale=Text(pl="Bo dane zbiera się samodzielnie.", en="Collected first-hand."),
    )
    return dataclasses.replace(item, **changes)


def multiple(**changes) -> Item:
    item = Item(
        id="t-multi-001", version=1, type="multiple_choice", criteria=("1.3.a",),
        stem=Text(pl="Które dane są osobowe?"), options=_options("a", "b", "c", "d", "e"),
        key=("a", "c"),
    )
    return dataclasses.replace(item, **changes)


def true_false(**changes) -> Item:
    item = Item(
        id="t-tf-001", version=2, type="true_false", criteria=("1.3.b",),
        stem=Text(pl="Zgodę można wycofać w dowolnym momencie.", en="Consent can be withdrawn at any time."),
        key=True,
    )
    return dataclasses.replace(item, **changes)


def ordering(**changes) -> Item:
    item = Item(
        id="t-order-001", version=1, type="ordering", criteria=("2.5.c",),
        stem=Text(pl="Uporządkuj etapy."), options=_options("a", "b", "c", "d"), key=("c", "a", "d", "b"),
    )
    return dataclasses.replace(item, **changes)


def matching(**changes) -> Item:
    item = Item(
        id="t-match-001", version=1, type="matching", criteria=("1.1.d",),
        stem=Text(pl="Dopasuj kanał do klienta."),
        premises=_options("p1", "p2", "p3", prefix="Przesłanka"),
        responses=_options("r1", "r2", "r3", "r4", prefix="Odpowiedź"),
        key=(("p1", "r3"), ("p2", "r1"), ("p3", "r4")),
    )
    return dataclasses.replace(item, **changes)


SAMPLES = {"single_choice": single, "multiple_choice": multiple, "true_false": true_false,
           "ordering": ordering, "matching": matching}

KEYED_RESPONSES = {
    "single_choice": "b",
    "multiple_choice": ["c", "a"],
    "true_false": "true",
    "ordering": ["c", "a", "d", "b"],
    "matching": {"p1": "r3", "p2": "r1", "p3": "r4"},
}


def test_registry_has_exactly_the_five_types():
    assert sorted(REGISTRY) == sorted(SAMPLES)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_sound_sample_validates_clean(kind):
    assert validate(SAMPLES[kind]()) == []


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (single(key=None), "key is missing"),
        (single(key=()), "key is empty"),
        (single(key=("z",)), "key references unknown option 'z'"),
        (single(key=("a", "b")), "single_choice needs exactly 1 keyed option, found 2"),
        (single(key=True), "key must be a list of option ids"),
        (single(options=_options("a", "b")), "options: at least 3 needed, found 2"),
        (single(options=_options("a", "b", "b", "c")), "options[2].id 'b' repeats options[1]"),
        (single(options=(*_options("a", "b", "c")[:2], Option("c", Text(pl="  ")))), "options[2].text.pl is empty"),
        (single(options=(*_options("a", "b"), Option("c", Text(pl="Opcja a")))), "options[2].text.pl repeats options[0]"),
        (single(options=(*_options("a", "b"), Option("1c", Text(pl="x")))), "options[2].id '1c' must start with a letter"),
        (single(stem=Text(pl="")), "stem.pl is empty"),
        (single(stem=Text(pl="Pytanie?", en=" ")), "stem.en is empty"),
        (single(rationale=Text(pl="")), "rationale.pl is empty"),
        (single(criteria=()), "criteria is empty"),
        (single(criteria=("1.1",)), "criteria[0] '1.1' is not a criterion code"),
        (single(criteria=("1.1.a", "1.1.a")), "criteria lists '1.1.a' more than once"),
        (single(version=0), "version must be a positive integer"),
        (single(id="bad id"), "id 'bad id' must use letters"),
        (single(premises=_options("p1", "p2")), "premises/responses are not used by single_choice items"),
        (multiple(key=("a",)), "multiple_choice needs at least 2 keyed options"),
        (multiple(key=("a", "b", "c", "d", "e")), "multiple_choice must not key every option"),
        (multiple(key=("a", "a")), "key lists option 'a' more than once"),
        (true_false(key=None), "key is missing"),
        (true_false(key=("a",)), "true_false key must be true or false"),
        (true_false(options=_options("a", "b")), "options are not used by true_false items"),
        (ordering(key=("a", "b", "c")), "ordering key must list every option exactly once"),
        (ordering(key=("a", "b", "c", "c")), "key lists option 'c' more than once"),
        (ordering(key=("a", "b", "c", "x")), "key references unknown option 'x'"),
        (matching(key=(("p1", "r3"), ("p2", "r1"))), "key does not cover premise 'p3'"),
        (matching(key=(("p1", "r3"), ("p2", "r1"), ("p3", "r9"))), "key references unknown response 'r9'"),
        (matching(key=(("p1", "r3"), ("p2", "r1"), ("p9", "r4"))), "key references unknown premise 'p9'"),
        (matching(key=(("p1", "r3"), ("p2", "r3"), ("p3", "r4"))), "key uses response 'r3' for more than one premise"),
        (matching(key=("r1", "r2")), "matching key must map each premise id to a response id"),
        (matching(key=None), "key is missing"),
        (matching(responses=_options("r1", "r3", prefix="Odpowiedź")), "at least as many responses as premises"),
        (matching(responses=_options("p1", "r1", "r3", "r4")), "id 'p1' is used by both a premise and a response"),
        (dataclasses.replace(single(), type="essay"), "type 'essay' is not one of"),
    ],
)
def test_validate_reports_each_defect(item, expected):
    problems = validate(item)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_present_is_deterministic_for_a_seed_and_varies_between_seeds(kind):
    item = SAMPLES[kind]()
    first = present(item, random.Random(42))
    assert present(item, random.Random(42)) == first
    assert first["item_id"] == item.id and first["type"] == kind
    orders = {json.dumps(present(item, random.Random(seed)), sort_keys=True) for seed in range(30)}
    if kind == "true_false":
        assert orders == {json.dumps(first, sort_keys=True)}
        assert first["options"] == ["true", "false"]
    else:
        assert len(orders) > 1


@pytest.mark.parametrize("kind", ["single_choice", "multiple_choice", "ordering"])
def test_present_shows_every_option_once(kind):
    item = SAMPLES[kind]()
    shown = present(item, random.Random(7))["options"]
    assert sorted(shown) == sorted(o.id for o in item.options)


def test_present_matching_shows_all_premises_and_responses():
    item = matching()
    shown = present(item, random.Random(3))
    assert sorted(shown["premises"]) == ["p1", "p2", "p3"]
    assert sorted(shown["responses"]) == ["r1", "r2", "r3", "r4"]


def test_ordering_is_never_presented_already_solved():
    item = ordering()
    for seed in range(300):
        assert tuple(present(item, random.Random(seed))["options"]) != item.key


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("single_choice", "b", "b"),
        ("single_choice", [" c "], "c"),
        ("multiple_choice", ["c", "a", "c"], ["a", "c"]),
        ("multiple_choice", "d,a", ["a", "d"]),
        ("multiple_choice", None, []),
        ("multiple_choice", [], []),
        ("true_false", "true", True),
        ("true_false", "Fałsz", False),
        ("true_false", ["0"], False),
        ("true_false", True, True),
        ("ordering", "b,a,d,c", ["b", "a", "d", "c"]),
        ("ordering", ["a", "b", "c", "d"], ["a", "b", "c", "d"]),
        ("matching", {"p2": "r1", "p1": ["r3"], "p3": ""}, {"p1": "r3", "p2": "r1"}),
        ("matching", [["p1", "r2"]], {"p1": "r2"}),
    ],
)
def test_normalize_accepts_form_shapes(kind, raw, expected):
    assert normalize_response(SAMPLES[kind](), raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("single_choice", None, "Choose an option"),
        ("single_choice", "", "Choose an option"),
        ("single_choice", ["a", "b"], "exactly one"),
        ("single_choice", "z", "'z' is not an option"),
        ("single_choice", 3, "must be an option identifier"),
        ("single_choice", "a<script>", "not a valid option identifier"),
        ("multiple_choice", {"a": 1}, "must be a list"),
        ("multiple_choice", ["a", 5], "must be an option identifier"),
        ("multiple_choice", ["a", "x"], "'x' is not an option"),
        ("multiple_choice", ["a"] * 100, "too many entries"),
        ("true_false", "maybe", "true or false"),
        ("true_false", 2, "true or false"),
        ("true_false", ["true", "false"], "true or false"),
        ("ordering", None, "Put the options in order"),
        ("ordering", "", "Put the options in order"),
        ("ordering", ["a", "a", "b", "c"], "appears more than once"),
        ("ordering", ["a", "b", "c"], "every option exactly once"),
        ("matching", "p1=r1", "pairs of identifiers"),
        ("matching", [["p1"]], "pair of identifiers"),
        ("matching", {"p1": ["r1", "r2"]}, "one answer for each item"),
        ("matching", {"p9": "r1"}, "'p9' is not an item to match"),
        ("matching", {"p1": "r9"}, "'r9' is not an answer"),
        ("matching", [["p1", "r1"], ["p1", "r2"]], "matched more than once"),
    ],
)
def test_normalize_rejects_bad_input_with_a_clear_message(kind, raw, message):
    with pytest.raises(ResponseError, match=message):
        normalize_response(SAMPLES[kind](), raw)


def test_normalize_without_item_checks_shape_only():
    assert get_type("single_choice").normalize_response("z") == "z"
    with pytest.raises(ResponseError):
        get_type("ordering").normalize_response(["a", "a"])


@pytest.mark.parametrize(
    ("kind", "response", "expected"),
    [
        ("single_choice", "b", 1.0),
        ("single_choice", "a", 0.0),
        ("multiple_choice", ["a", "c"], 1.0),
        ("multiple_choice", ["a"], 0.0),
        ("multiple_choice", ["a", "c", "d"], 0.0),
        ("multiple_choice", [], 0.0),
        ("true_false", True, 1.0),
        ("true_false", False, 0.0),
        ("ordering", ["c", "a", "d", "b"], 1.0),
        ("ordering", ["c", "a", "b", "d"], 0.0),
        ("matching", {"p1": "r3", "p2": "r1", "p3": "r4"}, 1.0),
        ("matching", {"p1": "r3", "p2": "r1"}, 0.0),
        ("matching", {"p1": "r3", "p2": "r1", "p3": "r2"}, 0.0),
    ],
)
def test_score_is_all_or_nothing(kind, response, expected):
    assert score(SAMPLES[kind](), response) == expected


def test_true_false_keyed_false_scores_false_answer():
    item = true_false(key=False)
    assert score(item, "false") == 1.0
    assert score(item, "true") == 0.0


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_keyed_response_scores_one(kind):
    assert score(SAMPLES[kind](), KEYED_RESPONSES[kind]) == 1.0


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_wrong_ordering_scores_below_one(data):
    item = ordering()
    order = data.draw(st.permutations(list(item.key)))
    expected = 1.0 if tuple(order) == item.key else 0.0
    assert score(item, order) == expected


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_other_option_set_scores_below_one(data):
    item = multiple()
    chosen = data.draw(st.sets(st.sampled_from([o.id for o in item.options])))
    expected = 1.0 if chosen == set(item.key) else 0.0
    assert score(item, sorted(chosen)) == expected


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_other_matching_scores_below_one(data):
    item = matching()
    responses = data.draw(st.permutations([r.id for r in item.responses]))
    answer = dict(zip(["p1", "p2", "p3"], responses, strict=False))
    expected = 1.0 if answer == item.key_map else 0.0
    assert score(item, answer) == expected


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_presented_ordering_never_scores(seed):
    # The order a candidate is first shown must never be the answer of an ordering item.
    item = ordering()
    shown = present(item, random.Random(seed))["options"]
    assert score(item, shown) < 1.0


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=8), children, max_size=6),
    max_leaves=20,
)


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@settings(max_examples=150, deadline=None)
@given(raw=_json_values)
def test_normalize_raises_only_response_error(kind, raw):
    question_type = get_type(kind)
    for item in (None, SAMPLES[kind]()):
        try:
            result = question_type.normalize_response(raw, item)
        except ResponseError:
            continue
        json.dumps(result)  # the canonical form is storable as JSON
        assert question_type.normalize_response(result, item) == result  # and idempotent


# --------------------------------------------------------------------------- dicts, fingerprints


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_dict_round_trip(kind):
    item = SAMPLES[kind]()
    assert item_from_dict(item_to_dict(item)) == item
    json.dumps(item_to_dict(item))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": "x"}, "version is missing"),
        ({**item_to_dict(single()), "rationel": {"pl": "x"}}, "unknown field 'rationel'"),
        ({**item_to_dict(single()), "version": "1"}, "version must be an integer"),
        ({**item_to_dict(single()), "stem": "Pytanie?"}, "stem must be a mapping"),
        ({**item_to_dict(single()), "stem": {"en": "Q"}}, "stem.pl is missing"),
        ({**item_to_dict(single()), "options": [{"id": 1, "text": {"pl": "x"}}]}, "options[0].id must be a string"),
        ({**item_to_dict(single()), "key": "b"}, "key must be a list of ids"),
        ({**item_to_dict(single()), "criteria": "1.1.a"}, "criteria must be a list"),
    ],
)
def test_item_from_dict_rejects_wrong_shapes(data, message):
    with pytest.raises(ItemFormatError, match=message.replace("[", r"\[").replace("]", r"\]")):
        item_from_dict(data)


def test_fingerprint_pins_the_exact_version():
    item = single()
    assert fingerprint(item) == fingerprint(item_from_dict(item_to_dict(item)))
    assert len(fingerprint(item)) == 64
    reworded = single(options=(*_options("a", "b", "c"), Option("d", Text(pl="Opcja D"))))
    assert fingerprint(reworded) != fingerprint(item)
    assert fingerprint(single(version=2)) != fingerprint(item)


# --------------------------------------------------------------------------- loading


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_load_items_names_file_item_and_field(tmp_path):
    _write(tmp_path / "1.1.a.yaml", """
- id: "ok-001"
  version: 1
  type: true_false
  criteria: ["1.1.a"]
  stem: {pl: "Zdanie."}
  key: true
- id: "bad-002"
  version: 1
  type: single_choice
  criteria: ["1.1.a"]
  stem: {pl: "Pytanie?"}
  options:
    - {id: a, text: {pl: "A"}}
    - {id: b, text: {pl: "B"}}
    - {id: c, text: {pl: ""}}
  key: ["a"]
""")
    with pytest.raises(BankError) as caught:
        load_items(tmp_path)
    assert caught.value.problems == ["1.1.a.yaml: item[1] (bad-002): options[2].text.pl is empty"]
    assert [item.id for item in load_items(tmp_path, strict=False)] == ["ok-001", "bad-002"]


def test_load_items_reports_every_broken_file(tmp_path):
    _write(tmp_path / "a.yaml", "- id: x\n  id: y\n")
    _write(tmp_path / "b.yaml", "{id: x}\n")
    _write(tmp_path / "c.yaml", "- [1, 2]\n")
    _write(tmp_path / "d.yaml", "- {id: z, version: 1, type: quiz, criteria: [1.1.a], stem: {pl: q}}\n")
    _write(tmp_path / "e.yaml", "")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    with pytest.raises(BankError) as caught:
        load_items(tmp_path)
    problems = caught.value.problems
    assert len(problems) == 4
    assert problems[0].startswith("a.yaml: not valid YAML") and "duplicate key 'id'" in problems[0]
    assert problems[1] == "b.yaml: must be a list of items"
    assert problems[2] == "c.yaml: item[0] (?): an item must be a mapping"
    assert problems[3].startswith("d.yaml: item[0] (z): type 'quiz' is not one of")


def test_load_items_single_file_and_missing_path(tmp_path):
    path = _write(tmp_path / "one.yaml", json.dumps([item_to_dict(single()), item_to_dict(matching())]))
    assert load_items(path) == [single(), matching()]
    with pytest.raises(BankError, match="no such file"):
        load_items(tmp_path / "missing")


# --------------------------------------------------------------------------- partial credit (a setting)


def _keyed(kind: str):
    from question_bank.items import Item, Option, Text

    if kind == "matching":
        return Item(id="m", version=1, type="matching", criteria=("1.1.a",), stem=Text(pl="Dopasuj"),
                    premises=tuple(Option(p, Text(pl=p)) for p in ("p1", "p2", "p3", "p4")),
                    responses=tuple(Option(r, Text(pl=r)) for r in ("r1", "r2", "r3", "r4")),
                    key=(("p1", "r1"), ("p2", "r2"), ("p3", "r3"), ("p4", "r4")))
    return Item(id="o", version=1, type="ordering", criteria=("1.1.a",), stem=Text(pl="Uporządkuj"),
                options=tuple(Option(o, Text(pl=o)) for o in "abcd"), key=("a", "b", "c", "d"))


def test_matching_scores_per_pair_only_when_partial_credit_is_set():
    item = _keyed("matching")
    half = {"p1": "r1", "p2": "r2", "p3": "r4", "p4": "r3"}
    assert score(item, half) == 0.0
    assert score(item, half, partial=True) == 0.5
    assert score(item, dict(item.key), partial=True) == 1.0


def test_ordering_scores_the_key_pairs_kept_in_order():
    item = _keyed("ordering")
    assert score(item, ["b", "a", "c", "d"]) == 0.0
    assert score(item, ["b", "a", "c", "d"], partial=True) == pytest.approx(2 / 3, abs=1e-3)
    assert score(item, ["d", "c", "b", "a"], partial=True) == 0.0
    assert score(item, ["a", "b", "c", "d"], partial=True) == 1.0


def test_other_types_have_no_partial_credit():
    from question_bank.items import Item, Option, Text

    item = Item(id="mc", version=1, type="multiple_choice", criteria=("1.1.a",), stem=Text(pl="?"),
                options=tuple(Option(o, Text(pl=o)) for o in "abcd"), key=("a", "b"))
    assert score(item, ["a"], partial=True) == 0.0
