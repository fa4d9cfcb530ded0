"""PESEL: check digit, the birth date with its century in the month field, impossible dates."""
from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from examportal.validators import CENTURY_OFFSETS, is_valid_pesel, pesel_birth_date, pesel_with_checksum

# The textbook example (a woman born 1944-05-14) and one worked out by hand for 2002-07-12:
# 0*1 + 2*3 + 2*7 + 7*9 + 1*1 + 2*3 + 0*7 + 9*9 + 1*1 + 5*3 = 187 -> (10 - 7) % 10 = 3.
KNOWN_VALID = {"44051401359": date(1944, 5, 14), "02271209153": date(2002, 7, 12)}


def date_part(birth: date) -> str:
    """The first six digits of a PESEL for ``birth`` (the century goes into the month)."""
    offset = {century: offset for offset, century in CENTURY_OFFSETS.items()}[birth.year // 100 * 100]
    return f"{birth.year % 100:02d}{birth.month + offset:02d}{birth.day:02d}"


@pytest.mark.parametrize("pesel, birth", KNOWN_VALID.items())
def test_known_pesel_numbers_are_valid_and_give_their_birth_date(pesel, birth):
    assert is_valid_pesel(pesel)
    assert pesel_birth_date(pesel) == birth


def test_check_digit_is_computed_with_weights_1_3_7_9():
    # 4*1 + 4*3 + 0*7 + 5*9 + 1*1 + 4*3 + 0*7 + 1*9 + 3*1 + 5*3 = 101 -> (10 - 1) % 10 = 9
    assert pesel_with_checksum("4405140135") == "44051401359"
    # A sum ending in 0 gives check digit 0, not 10.
    ten = next(t for t in (f"90051701{n:02d}" for n in range(100))
               if sum(int(d) * w for d, w in zip(t, (1, 3, 7, 9, 1, 3, 7, 9, 1, 3), strict=True)) % 10 == 0)
    assert pesel_with_checksum(ten)[-1] == "0"
    assert is_valid_pesel(pesel_with_checksum(ten))


@pytest.mark.parametrize("birth", [
    date(1800, 1, 1), date(1899, 12, 31),    # months 81-92
    date(1900, 1, 1), date(1999, 12, 31),    # months 01-12
    date(2000, 1, 1), date(2024, 2, 29),     # months 21-32
    date(2100, 6, 15), date(2299, 12, 31),   # months 41-52, 61-72
])
def test_century_is_decoded_from_the_month_offset(birth):
    pesel = pesel_with_checksum(date_part(birth) + "0123")
    assert pesel_birth_date(pesel) == birth
    assert is_valid_pesel(pesel)


def test_same_digits_mean_different_centuries():
    assert pesel_birth_date(pesel_with_checksum("0501010000")) == date(1905, 1, 1)
    assert pesel_birth_date(pesel_with_checksum("0521010000")) == date(2005, 1, 1)
    assert pesel_birth_date(pesel_with_checksum("0581010000")) == date(1805, 1, 1)


@pytest.mark.parametrize("first_ten", [
    "9002300123",  # 30 February 1990
    "0122290123",  # 29 February 2001 (not a leap year)
    "0002290123",  # 29 February 1900 (century, not a leap year)
    "9004310123",  # 31 April
    "9001000123",  # day 0
    "9000100123",  # month 0
    "9013100123",  # month 13: no century uses 13-20
    "9020100123",  # month 20
    "9033100123",  # month 33: between the 2000s and 2100s ranges
    "9080100123",  # month 80: the 1800s start at 81
    "9093100123",  # month 93: past the 1800s range
])
def test_impossible_dates_are_refused_even_with_a_correct_check_digit(first_ten):
    pesel = pesel_with_checksum(first_ten)
    assert pesel_birth_date(pesel) is None
    assert not is_valid_pesel(pesel)


def test_leap_day_of_2000_is_accepted():
    pesel = pesel_with_checksum("0022290123")
    assert pesel_birth_date(pesel) == date(2000, 2, 29)
    assert is_valid_pesel(pesel)


@pytest.mark.parametrize("value", [
    "", "4405140135", "440514013590", "4405140135a", "44051401 59", " 4405140135",
    "4405140135²",                   # a digit for str.isdigit(), not for int()
    "٤٤٠٥١٤٠١٣٥٩",                   # Arabic-Indic digits of a valid number
    "４４０５１４０１３５９",         # full-width digits of a valid number
])
def test_malformed_input_is_refused_without_an_exception(value):
    assert is_valid_pesel(value) is False


def test_wrong_check_digit_is_refused():
    assert not is_valid_pesel("44051401358")


valid_birth_dates = st.dates(min_value=date(1800, 1, 1), max_value=date(2299, 12, 31))
serials = st.text(alphabet="0123456789", min_size=4, max_size=4)


@given(birth=valid_birth_dates, serial=serials)
def test_pesel_with_checksum_always_gives_a_valid_pesel(birth, serial):
    pesel = pesel_with_checksum(date_part(birth) + serial)
    assert len(pesel) == 11
    assert is_valid_pesel(pesel)
    assert pesel_birth_date(pesel) == birth


@given(birth=valid_birth_dates, serial=serials, position=st.integers(0, 10), shift=st.integers(1, 9))
def test_changing_any_single_digit_breaks_the_pesel(birth, serial, position, shift):
    pesel = pesel_with_checksum(date_part(birth) + serial)
    changed = pesel[:position] + str((int(pesel[position]) + shift) % 10) + pesel[position + 1:]
    assert changed != pesel
    assert not is_valid_pesel(changed)
