"""The pure validators of Polish customer data (NIP, REGON, PESEL, e-mail, phone, names)."""
from datetime import date

import pytest
from customers_helpers import make_nip, make_pesel, make_regon
from hypothesis import given
from hypothesis import strategies as st

from sandbox_crm import validators as v


@pytest.mark.parametrize("raw", ["5260001246", "526-000-12-46", "526 000 12 46", "PL5260001246", "pl 526-000-12-46"])
def test_nip_accepts_common_spellings(raw):
    assert v.check_nip(raw) == v.Check(True, "5260001246")


@pytest.mark.parametrize("raw,reason", [
    ("5260001247", "checksum"), ("526000124", "10 digits"), ("52600012466", "10 digits"), ("abcdefghij", "10 digits"),
    ("", "10 digits"),
])
def test_nip_rejects_bad_values(raw, reason):
    result = v.check_nip(raw)
    assert not result.ok and reason in result.error


def test_nip_whose_control_would_be_ten_is_invalid():
    body = next(f"{n:09d}" for n in range(10**6, 10**7) if v.nip_checksum(f"{n:09d}") == 10)
    assert all(not v.check_nip(body + str(d)).ok for d in range(10))


@given(st.integers(min_value=0, max_value=10**6))
def test_generated_nips_are_valid_and_one_changed_digit_is_caught(seed):
    nip = make_nip(seed)
    assert v.check_nip(nip).ok
    position = seed % 10
    wrong = nip[:position] + str((int(nip[position]) + 1 + seed % 9) % 10) + nip[position + 1:]
    # Weights 6,5,7,2,3,4,5,6,7 are all non-zero mod 11, so a single changed digit always breaks the sum.
    assert not v.check_nip(wrong).ok


@pytest.mark.parametrize("raw", ["123456785", "12345678512347"])
def test_regon_known_valid(raw):
    assert v.check_regon(raw).ok


@pytest.mark.parametrize("raw", ["123456786", "12345678", "12345678512348", "1234567851234"])
def test_regon_invalid(raw):
    assert not v.check_regon(raw).ok


@given(st.integers(min_value=0, max_value=10**6), st.booleans())
def test_generated_regons_are_valid(seed, long):
    regon = make_regon(seed, long)
    assert v.check_regon(regon) == v.Check(True, regon)


def test_regon14_needs_a_valid_regon9_inside():
    body = "123456786" + "1234"  # invalid 9-digit base
    assert not v.check_regon(body + str(v.regon_checksum(body))).ok


@pytest.mark.parametrize("pesel,born", [
    ("44051401359", date(1944, 5, 14)),
    ("02270803624", date(2002, 7, 8)),
])
def test_pesel_valid_with_birth_date(pesel, born):
    assert v.check_pesel(pesel).ok
    assert v.pesel_birth_date(pesel) == born


@pytest.mark.parametrize("pesel", ["44051401358", "4405140135", "44053201359x", "99023012345"])
def test_pesel_invalid(pesel):
    assert not v.check_pesel(pesel).ok


def test_pesel_with_impossible_date_is_invalid_even_with_right_checksum():
    body = "9902301234"  # 30 February 1999
    assert not v.check_pesel(body + str(v.pesel_checksum(body))).ok


def test_pesel_born_in_the_future_is_invalid():
    pesel = make_pesel(2090, 1, 1)
    assert not v.check_pesel(pesel, today=date(2025, 1, 1)).ok
    assert v.check_pesel(pesel, today=date(2091, 1, 1)).ok


@given(st.dates(min_value=date(1800, 1, 1), max_value=date(2024, 12, 31)), st.integers(0, 9999))
def test_generated_pesels_round_trip_their_birth_date(born, serial):
    pesel = make_pesel(born.year, born.month, born.day, serial)
    assert v.check_pesel(pesel).ok
    assert v.pesel_birth_date(pesel) == born


@pytest.mark.parametrize("raw,stored", [("Jan@Firma.PL", "jan@firma.pl"), (" anna.nowak@x.com.pl ", "anna.nowak@x.com.pl")])
def test_email_valid(raw, stored):
    assert v.check_email(raw) == v.Check(True, stored)


@pytest.mark.parametrize("raw", ["jan@", "jan.firma.pl", "jan@@firma.pl", "jan @firma.pl", "", "jan@firma"])
def test_email_invalid(raw):
    assert not v.check_email(raw).ok


@pytest.mark.parametrize("raw, stored", [
    ("600100200", "+48 600 100 200"), ("600 100 200", "+48 600 100 200"), ("600-100-200", "+48 600 100 200"),
    ("+48 600 100 200", "+48 600 100 200"), ("0048600100200", "+48 600 100 200"), ("48600100200", "+48 600 100 200"),
    ("(22) 555 12 34", "+48 22 555 12 34"), ("+48 81 884 12 13", "+48 81 884 12 13"), ("123456789", "+48 12 345 67 89"),
    ("512 345 678", "+48 512 345 678"),
])
def test_phone_valid(raw, stored):
    """Mobile numbers are grouped 3-3-3, landlines by their area code (2-3-2-2)."""
    result = v.check_phone(raw)
    assert result.ok and result.value == stored


@pytest.mark.parametrize("raw", ["60010020", "6001002001", "060010020", "+49 600 100 200", "tel", ""])
def test_phone_invalid(raw):
    assert not v.check_phone(raw).ok


@given(st.integers(min_value=100_000_000, max_value=999_999_999))
def test_phone_normalisation_is_idempotent(number):
    first = v.check_phone(str(number))
    assert first.ok
    assert v.check_phone(first.value) == first


@pytest.mark.parametrize("a,b", [
    ("Firma X sp. z o.o.", "FIRMA X Sp. z o.o."),
    ("Firma X sp. z o.o.", "Firma X Spółka z ograniczoną odpowiedzialnością"),
    ("Łąka S.A.", "laka sa"),
    ("„Mleczarnia Pod Lasem” s.c.", "Mleczarnia pod lasem"),
])
def test_company_names_normalise_alike(a, b):
    assert v.normalize_company_name(a) == v.normalize_company_name(b)


def test_different_companies_stay_different():
    assert v.normalize_company_name("Firma X sp. z o.o.") != v.normalize_company_name("Firma Y sp. z o.o.")


@given(st.text(max_size=60))
def test_normalised_name_is_stable(text):
    once = v.normalize_company_name(text)
    assert v.normalize_company_name(once) == once


@pytest.mark.parametrize("raw,stored,changed", [
    ('=HYPERLINK("http://evil","x")', '\'=HYPERLINK("http://evil","x")', True),
    ("@SUM(A1)", "'@SUM(A1)", True),
    ("-2+3", "'-2+3", True),
    ("-250", "-250", False),
    ("+48 600 100 200", "+48 600 100 200", False),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0", True),
    ("Firma", "Firma", False),
])
def test_formulas_are_defused(raw, stored, changed):
    assert v.neutralize_formula(raw) == (stored, changed)
    assert v.csv_safe(raw) == stored
