"""The pure rules of certificates: validity dates, numbers, masking, codes, fees and which change a
certificate in each status allows; and the definition's optional PRK level and validity text."""
from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from examportal.certification import rules
from examportal.models import Certificate, CertificateStatus
from question_bank.definition import DefinitionError, definition_path, load_definition, parse_definition

S = CertificateStatus


@pytest.mark.parametrize("issued, years, until", [
    (date(2026, 3, 15), 5, date(2031, 3, 15)),
    (date(2028, 2, 29), 5, date(2033, 2, 28)),  # a leap day has no twin in a common year
    (date(2028, 2, 29), 4, date(2032, 2, 29)),
    (date(2026, 12, 31), 1, date(2027, 12, 31)),
])
def test_valid_until_adds_the_qualifications_years(issued, years, until):
    assert rules.valid_until(issued, years) == until


def test_validity_must_be_positive():
    with pytest.raises(ValueError):
        rules.valid_until(date(2026, 1, 1), 0)


def test_numbers():
    assert rules.format_number("VCC", "13881", 2026, 123) == "VCC/13881/2026/000123"
    assert rules.format_number("VCC", "13881", 2026, 1_234_567) == "VCC/13881/2026/1234567"
    with pytest.raises(ValueError):
        rules.format_number("VCC", "13881", 2026, 0)
    assert rules.number_prefix(" Warto Szkolić / WS ") == "Warto-Szkolic-WS"
    assert rules.number_prefix("Łódzka Żółć") == "Lodzka-Zolc"
    assert rules.number_prefix("VCC") == "VCC"
    with pytest.raises(ValueError):
        rules.number_prefix(" // ")
    assert rules.looks_like_number("VCC/13881/2026/000123") and rules.looks_like_number("Warto-Szkolic-WS/13881/2026/000001")
    for text in ("VCC/13881/2026/123", "VCC/13881/26/000123", "VCC 13881 2026 000123", "/13881/2026/000123", ""):
        assert not rules.looks_like_number(text), text


def test_verification_codes_are_long_random_and_url_safe():
    codes = {rules.new_verification_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 32 and rules.looks_like_code(code)  # 24 random bytes: 192 bits
    assert rules.CODE_BYTES * 8 >= 128
    assert not rules.looks_like_code("short") and not rules.looks_like_code("x" * 65) and not rules.looks_like_code("ą" * 40)


@pytest.mark.parametrize("pesel, masked", [("90051701234", "*******1234"), (None, None), ("", None)])
def test_pesel_is_masked_to_its_last_four_digits(pesel, masked):
    assert rules.mask_pesel(pesel) == masked


@pytest.mark.parametrize("typed, amount", [
    ("350", Decimal("350")), ("350,00", Decimal("350.00")), ("1 250,50", Decimal("1250.50")), ("1\u00a0250.5", Decimal("1250.5")),
    ("0", Decimal("0")), ("99 zł", Decimal("99")), ("-5", Decimal("-5")),
    ("abc", None), ("1,2,3", None), ("", None), ("1e3", None), ("NaN", None), ("٣٥٠", None),
])
def test_amounts_as_people_type_them(typed, amount):
    assert rules.parse_amount(typed) == amount


@pytest.mark.parametrize("amount, reason, problem", [
    ("350.00", None, None),
    ("0", rules.FREE_OF_CHARGE_122A, None),
    ("0.00", "Uchwała zarządu", None),
    ("120", "zniżka dla bezrobotnych", None),
    ("0", None, "needs its reason"),
    ("0", "  ", "needs its reason"),
    ("-1", None, "cannot be negative"),
    ("1.005", None, "two decimal places"),
    ("100000.01", None, "cannot exceed"),
    ("50", rules.FREE_OF_CHARGE_122A, "means a fee of 0"),
])
def test_fee_rules(amount, reason, problem):
    found = rules.fee_problem(Decimal(amount), reason)
    assert (found is None) if problem is None else (problem in found)


# Which change each status allows (None: allowed; else the start of the refusal).
MATRIX = {
    S.VALID: {"suspend": None, "lift": "Only a suspended", "revoke": None, "correct": None, "duplicate": None, "reprint": None},
    S.SUSPENDED: {"suspend": "already suspended", "lift": None, "revoke": None, "correct": "lift the suspension first",
                  "duplicate": "lift the suspension first", "reprint": "lift the suspension first"},
    S.REVOKED: dict.fromkeys(rules.ACTIONS, "final"),
    S.EXPIRED: {"suspend": "nothing to suspend", "lift": "Only a suspended", "revoke": None, "correct": "has expired",
                "duplicate": None, "reprint": None},
    S.SUPERSEDED: dict.fromkeys(rules.ACTIONS, "replaced by a newer one"),
}


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("action", rules.ACTIONS)
def test_which_change_each_status_allows(status, action):
    expected = MATRIX[status][action]
    refusal = rules.action_refusal(action, status)
    if expected is None:
        assert refusal is None
    else:
        assert refusal is not None and expected in refusal


def test_a_revocation_is_never_undone():
    for action in rules.ACTIONS:
        assert rules.action_refusal(action, S.REVOKED) is not None
    with pytest.raises(ValueError):
        rules.action_refusal("unrevoke", S.REVOKED)


def test_no_correction_on_the_last_day():
    last = date(2031, 3, 15)
    assert rules.action_refusal("correct", S.VALID, valid_until=last, on=date(2031, 3, 14)) is None
    assert "expires today" in rules.action_refusal("correct", S.VALID, valid_until=last, on=last)


@pytest.mark.parametrize("state, day, status", [
    (S.VALID, date(2031, 3, 15), S.VALID), (S.VALID, date(2031, 3, 16), S.EXPIRED),
    (S.SUSPENDED, date(2030, 1, 1), S.SUSPENDED), (S.SUSPENDED, date(2031, 3, 16), S.EXPIRED),
    (S.REVOKED, date(2040, 1, 1), S.REVOKED), (S.SUPERSEDED, date(2040, 1, 1), S.SUPERSEDED),
])
def test_the_status_on_a_day(state, day, status):
    certificate = Certificate(state=state, issued_on=date(2026, 3, 15), valid_until=date(2031, 3, 15))
    assert certificate.status_on(day) == status


# -- the definition: an optional PRK level and the description's validity text -----------------


@pytest.fixture
def data() -> dict:
    import yaml

    return yaml.safe_load(definition_path("13881").read_text(encoding="utf-8"))


def test_13881_states_no_prk_level_and_quotes_its_validity(data):
    definition = load_definition(definition_path("13881"))
    assert definition.prk_level is None
    source = " ".join((Path(__file__).resolve().parents[2] / "question_bank" / "sources" / "13881_opis_kwalifikacji.txt")
                      .read_text(encoding="utf-8").split())
    assert definition.validity is not None and " ".join(definition.validity.pl.split()) in source
    assert "valid for 5 years" in definition.validity.en


def test_a_prk_level_is_kept_and_round_trips(data):
    data["prk_level"] = 4
    definition = parse_definition(copy.deepcopy(data), "13881.yaml")
    assert definition.prk_level == 4
    assert parse_definition(definition.to_dict(), "again") == definition
    assert definition.content_hash != load_definition(definition_path("13881")).content_hash


@pytest.mark.parametrize("level", [0, 9, "4", 4.0, True, None])
def test_a_bad_prk_level_is_refused(data, level):
    data["prk_level"] = level
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data, "13881.yaml")
    assert caught.value.location == "prk_level" and "from 1 to 8" in caught.value.message


def test_the_validity_text_is_optional_and_needs_both_languages(data):
    without = copy.deepcopy(data)
    del without["validity"]
    assert parse_definition(without, "13881.yaml").validity is None
    data["validity"] = {"pl": "Ważny 5 lat."}
    with pytest.raises(DefinitionError, match="missing required key 'en'"):
        parse_definition(data, "13881.yaml")
