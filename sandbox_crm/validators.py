"""Pure validators and normalisers of Polish customer data (no Flask, no database).

Each ``check_*`` function takes what a user typed and returns a :class:`Check`:
``ok``, the normalised value to store, and the reason when it is not valid.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email


def N_(message: str) -> str:
    """Mark an English msgid for extraction; it is translated where it is displayed."""
    return message


@dataclass(frozen=True)
class Check:
    ok: bool
    value: str | None = None  # normalised form, when ok
    error: str | None = None  # English reason, when not ok (translated by the caller)


NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
REGON9_WEIGHTS = (8, 9, 2, 3, 4, 5, 6, 7)
REGON14_WEIGHTS = (2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8)
PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)

_SEPARATORS = re.compile(r"[\s\-./]")


def _digits(value: str) -> str:
    return _SEPARATORS.sub("", value or "")


def nip_checksum(first9: str) -> int:
    """The NIP control digit for the first nine digits (10 means: no valid NIP exists)."""
    return sum(int(d) * w for d, w in zip(first9, NIP_WEIGHTS, strict=False)) % 11


def check_nip(value: str) -> Check:
    """A Polish tax id: 10 digits (dashes, spaces and a ``PL`` prefix allowed), mod-11 checksum."""
    raw = _digits(value).upper()
    if raw.startswith("PL"):
        raw = raw[2:]
    if not re.fullmatch(r"\d{10}", raw):
        return Check(False, error=N_("NIP must have 10 digits."))
    control = nip_checksum(raw[:9])
    if control == 10 or control != int(raw[9]):
        return Check(False, error=N_("NIP checksum is wrong: check the digits."))
    return Check(True, raw)


def regon_checksum(body: str) -> int:
    """The REGON control digit for an 8- or 13-digit body."""
    weights = REGON9_WEIGHTS if len(body) == 8 else REGON14_WEIGHTS
    return sum(int(d) * w for d, w in zip(body, weights, strict=False)) % 11 % 10


def check_regon(value: str) -> Check:
    """A REGON: 9 digits, or 14 digits whose first nine are themselves a valid REGON."""
    raw = _digits(value)
    if not re.fullmatch(r"\d{9}|\d{14}", raw):
        return Check(False, error=N_("REGON must have 9 or 14 digits."))
    if regon_checksum(raw[:8]) != int(raw[8]):
        return Check(False, error=N_("REGON checksum is wrong: check the digits."))
    if len(raw) == 14 and regon_checksum(raw[:13]) != int(raw[13]):
        return Check(False, error=N_("REGON checksum is wrong: check the digits."))
    return Check(True, raw)


def pesel_checksum(first10: str) -> int:
    return (10 - sum(int(d) * w for d, w in zip(first10, PESEL_WEIGHTS, strict=False)) % 10) % 10


_PESEL_CENTURY = {0: 1900, 20: 2000, 40: 2100, 60: 2200, 80: 1800}


def pesel_birth_date(pesel: str) -> date | None:
    """The birth date a PESEL encodes (the month carries the century), or ``None`` if impossible."""
    year, month, day = int(pesel[0:2]), int(pesel[2:4]), int(pesel[4:6])
    offset = (month // 20) * 20
    try:
        return date(_PESEL_CENTURY[offset] + year, month - offset, day)
    except ValueError:
        return None


def check_pesel(value: str, today: date | None = None) -> Check:
    """A PESEL: 11 digits, a valid checksum and a real birth date not in the future."""
    raw = _digits(value)
    if not re.fullmatch(r"\d{11}", raw):
        return Check(False, error=N_("PESEL must have 11 digits."))
    if pesel_checksum(raw[:10]) != int(raw[10]):
        return Check(False, error=N_("PESEL checksum is wrong: check the digits."))
    born = pesel_birth_date(raw)
    if born is None or born > (today or date.today()):
        return Check(False, error=N_("PESEL encodes an impossible birth date."))
    return Check(True, raw)


def check_email(value: str) -> Check:
    """An e-mail address by its syntax (no DNS look-up: the sandbox has no network)."""
    value = (value or "").strip()
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        return Check(False, error=N_("Enter a valid e-mail address, e.g. jan.kowalski@firma.pl."))
    return Check(True, result.normalized.lower())


_PHONE_CHARS = re.compile(r"[\s\-().]")


# Prefixes of Polish mobile numbers (the rest of the 9-digit numbers are landlines with a 2-digit area code).
_MOBILE_PREFIXES = ("45", "50", "51", "53", "57", "60", "66", "69", "72", "73", "78", "79", "88")


def check_phone(value: str) -> Check:
    """A Polish phone number: 9 digits, optionally after +48 / 0048 / 48.

    Stored grouped as people write them: mobile ``+48 600 100 200``, landline with its area code
    ``+48 12 345 67 89``.
    """
    raw = _PHONE_CHARS.sub("", value or "")
    if raw.startswith("+48"):
        raw = raw[3:]
    elif raw.startswith("0048"):
        raw = raw[4:]
    elif len(raw) == 11 and raw.startswith("48"):
        raw = raw[2:]
    if not re.fullmatch(r"[1-9]\d{8}", raw):
        return Check(False, error=N_("Enter a Polish phone number: 9 digits, optionally with +48."))
    if raw.startswith(_MOBILE_PREFIXES):
        return Check(True, f"+48 {raw[0:3]} {raw[3:6]} {raw[6:9]}")
    return Check(True, f"+48 {raw[0:2]} {raw[2:5]} {raw[5:7]} {raw[7:9]}")


# Legal forms removed before names are compared, longest first so "sp. z o.o." wins over "sp.".
_LEGAL_FORMS = sorted(
    [
        "spolka z ograniczona odpowiedzialnoscia", "spolka akcyjna", "spolka jawna",
        "spolka komandytowa", "spolka komandytowo-akcyjna", "spolka cywilna", "spolka partnerska",
        "sp. z o.o.", "sp. z o. o.", "sp.z o.o.", "sp z oo", "sp. zo.o.", "s.a.", "sa", "sp.j.", "sp. j.",
        "sp.k.", "sp. k.", "s.k.a.", "s.c.", "sc", "sp.p.", "p.p.h.u.", "phu", "fhu", "ppuh", "ltd", "gmbh",
        "inc",
    ],
    key=len,
    reverse=True,
)


def fold(text: str) -> str:
    """Lower-case ``text`` and strip Polish diacritics (ł included, which NFKD leaves alone)."""
    text = text or ""
    # Twice: lower-casing can produce decomposable letters (İ) and decomposing can produce upper case (𝑨).
    for _ in range(2):
        text = unicodedata.normalize("NFKD", text.lower().replace("ł", "l"))
        text = "".join(c for c in text if not unicodedata.combining(c))
    return text


def normalize_company_name(name: str) -> str:
    """The form duplicate detection compares: folded, legal form and punctuation removed."""
    previous, text = None, fold(name)
    # Removing one form can bring two words together into another ("sp sa z oo"): repeat until stable.
    while text != previous:
        previous = text
        text = " " + re.sub(r"\s+", " ", text) + " "
        for form in _LEGAL_FORMS:
            text = re.sub(r"(?<=[\s,\"'])" + re.escape(form) + r"(?=[\s,\"'])", " ", text)
        text = re.sub(r"\s+", " ", re.sub(r"[^\w]+", " ", fold(text))).strip()
    return text


def normalize_person_name(first_name: str, last_name: str) -> str:
    """``first last`` folded and with single spaces, for duplicate detection of contacts."""
    text = fold(f"{first_name or ''} {last_name or ''}")
    return re.sub(r"\s+", " ", re.sub(r"[^\w]+", " ", text)).strip()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formula(value: str) -> tuple[str, bool]:
    """Defuse a spreadsheet formula (``=HYPERLINK(...)``) by prefixing an apostrophe.

    Returns the value to store and whether it was changed. A leading ``+`` or ``-``
    followed by a digit is a phone number or an amount, not a formula, and is kept.
    """
    if not value or not value.startswith(_FORMULA_START):
        return value, False
    if value[0] in "+-" and re.fullmatch(r"[+-][\d\s().,-]*", value):
        return value, False
    return "'" + value, True


def csv_safe(value: object) -> str:
    """A cell for a CSV export that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return neutralize_formula(text)[0]


#: The largest amount the sandbox stores (its money columns are NUMERIC(14, 2)).
MAX_AMOUNT = Decimal("999999999999.99")


def parse_amount(value: object) -> Decimal:
    """An amount as typed in Poland (``25 000,50``, ``25000.5``) as a Decimal with 2 places.

    Raises ``ValueError`` for text that is not a finite number, or one beyond :data:`MAX_AMOUNT`
    (the database could not store it; rounding it to grosze would overflow Decimal's precision).
    """
    text = str(value).strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(value) from None
    if not amount.is_finite() or abs(amount) > MAX_AMOUNT:
        raise ValueError(value)
    return amount.quantize(Decimal("0.01"))
