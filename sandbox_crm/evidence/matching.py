"""Comparing what the candidate entered with what a scenario's key names, as a person would.

A key is written from the task sheet ("ul. Hutnicza 12", "605 221 847", "Zakłady Mięsne Bieruń");
the candidate types the same facts their own way ("Hutnicza 12, 43-300 Bielsko-Biała",
"+48 605 221 847", "ZAKŁADY MIĘSNE BIERUŃ S.A."). These helpers decide when the two are the same
fact: identifiers by their normalised form, codes exactly, texts by their words (case, diacritics,
spacing and punctuation aside). A differing identifier, code or address is wrong data; a
differently worded description (an industry, a position) is for the committee to judge.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any

from ..validators import (
    Check,
    check_email,
    check_nip,
    check_pesel,
    check_phone,
    check_regon,
    fold,
    normalize_company_name,
)

# Identifiers compared in the form the sandbox stores them (the validator's output).
IDENTIFIERS: dict[str, Callable[[str], Check]] = {
    "nip": check_nip, "regon": check_regon, "phone": check_phone, "email": check_email, "pesel": check_pesel,
}
# Codes and choices: the same code, or the same yes/no.
CODES = frozenset({"size", "legal_basis", "region", "marketing_consent", "target"})
# Facts written as text: a different text is a different fact (a wrong address, a wrong city).
FACTS = frozenset({"name", "first_name", "last_name", "address", "city"})
# Words a street address may carry or leave out without changing the address.
STREET_PREFIXES = frozenset({"ul", "ulica", "al", "aleja", "aleje", "pl", "plac", "os", "osiedle"})
EMPTY: tuple[object, ...] = (None, "", [], {})


class Match(str, Enum):
    """How a value the candidate left compares with what the key expects."""

    RIGHT = "right"
    WRONG = "wrong"  # a different identifier, code or fact
    DIFFERENT = "different"  # a description worded otherwise: the committee judges
    MISSING = "missing"  # no value


def words(text: object) -> tuple[str, ...]:
    """The words of ``text``: folded (case and Polish diacritics aside), punctuation dropped."""
    return tuple(re.findall(r"[^\W_]+", fold("" if text is None else str(text))))


def same_words(a: object, b: object) -> bool:
    """Whether two labels (a segment's name, a filter's value) are the same words."""
    first = words(a)
    return bool(first) and first == words(b)


def same_company(a: object, b: object) -> bool:
    """Whether two company names name the same firm (legal form, case and punctuation aside)."""
    first = normalize_company_name("" if a is None else str(a))
    return bool(first) and first == normalize_company_name("" if b is None else str(b))


def same_person(a: object, b: object) -> bool:
    """Whether two full names name the same person (in either order: "Pająk Wiesław")."""
    first = sorted(words(a))
    return bool(first) and first == sorted(words(b))


def same_name(a: object, b: object) -> bool:
    """A company's or a person's name, whichever ``a`` and ``b`` are."""
    return same_company(a, b) or same_person(a, b)


def contains_words(actual: object, expected: object, ignore: Iterable[str] = ()) -> bool:
    """Whether the words of ``expected`` stand together, in order, among the words of ``actual``."""
    skip = frozenset(ignore)
    have = [w for w in words(actual) if w not in skip]
    want = [w for w in words(expected) if w not in skip]
    if not want:
        return False
    return any(have[i:i + len(want)] == want for i in range(len(have) - len(want) + 1))


def _identifier(field: str, value: object) -> str:
    text = str(value).strip()
    checked = IDENTIFIERS[field](text)
    return str(checked.value) if checked.ok and checked.value is not None else text.casefold()


def _matches(field: str, actual: Any, expected: Any) -> bool:
    if expected is True and not isinstance(actual, bool):
        return actual not in EMPTY  # "any value": the sheet asks the candidate to decide it
    if isinstance(expected, bool) or isinstance(actual, bool):
        return actual is expected
    if field in IDENTIFIERS:
        return _identifier(field, actual) == _identifier(field, expected)
    if field in CODES:
        return same_words(actual, expected)
    if field == "name":
        return same_name(actual, expected)
    if field == "address":
        return contains_words(actual, expected, STREET_PREFIXES)
    if field in FACTS:
        return same_words(actual, expected)
    return contains_words(actual, expected) or contains_words(expected, actual)


def judge_value(field: str, actual: Any, expected: Any) -> Match:
    """Compare the value of ``field`` the record holds with the key's ``expected`` value: one value,
    a list of acceptable values, or ``true`` for "any value" (the sheet leaves the choice to the
    candidate, e.g. a legal basis to be determined)."""
    if actual is None or (not isinstance(actual, bool) and actual in EMPTY):
        return Match.MISSING
    options = expected if isinstance(expected, list) else [expected]
    if any(_matches(field, actual, option) for option in options):
        return Match.RIGHT
    if field in IDENTIFIERS or field in CODES or field in FACTS:
        return Match.WRONG
    return Match.DIFFERENT


def fields_problem(fields: object, allowed: Iterable[str]) -> str | None:
    """What is wrong with a key's ``fields`` mapping (field → value, list of values or ``true``)."""
    if not isinstance(fields, Mapping) or not fields:
        return "expected 'fields': a mapping of field names to the values the sheet gives"
    known = set(allowed)
    for name, value in fields.items():
        if name not in known:
            return f"unknown field {name!r} (known: {', '.join(sorted(known))})"
        options = value if isinstance(value, list) else [value]
        if not options or not all(isinstance(o, (str, bool)) and (not isinstance(o, str) or o.strip())
                                  for o in options):
            return f"field {name!r}: expected a text, a list of texts, true or false"
        if value is False and name not in CODES:
            return f"field {name!r}: false is a value for yes/no fields only"
    return None



def logged_rows(workspace: Any, statements: Iterable[Any], limit: int = 10) -> list[Any]:
    """Evidence rows of the candidate's log ``statements`` (the first ``limit``), each labelled with
    its action, its kind of record and the record's name in the reader's language."""
    from .common import statement_row

    return [statement_row(workspace, s) for s in list(statements)[:limit]]
