"""Pure validators of Polish identity data."""
from __future__ import annotations

from datetime import date

PESEL_WEIGHTS = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
# The month field carries the century: +80 for 1800s, +0 1900s, +20 2000s, +40 2100s, +60 2200s.
CENTURY_OFFSETS = {80: 1800, 0: 1900, 20: 2000, 40: 2100, 60: 2200}


def pesel_birth_date(pesel: str) -> date | None:
    """The birth date encoded in a PESEL, or ``None`` if the date part is impossible."""
    year, month, day = int(pesel[0:2]), int(pesel[2:4]), int(pesel[4:6])
    for offset, century in CENTURY_OFFSETS.items():
        if offset < month <= offset + 12:
            try:
                return date(century + year, month - offset, day)
            except ValueError:
                return None
    return None


def is_valid_pesel(pesel: str) -> bool:
    """Eleven digits, a real birth date and a correct check digit."""
    # isdigit() alone also accepts "²" or Arabic-Indic digits, which int() rejects or stores oddly.
    if len(pesel) != 11 or not (pesel.isascii() and pesel.isdigit()):
        return False
    checksum = sum(int(d) * w for d, w in zip(pesel[:10], PESEL_WEIGHTS, strict=True))
    if (10 - checksum % 10) % 10 != int(pesel[10]):
        return False
    return pesel_birth_date(pesel) is not None


def pesel_with_checksum(first_ten: str) -> str:
    """Append the check digit to ten digits (used by tests and demo data)."""
    checksum = sum(int(d) * w for d, w in zip(first_ten, PESEL_WEIGHTS, strict=False))
    return first_ten + str((10 - checksum % 10) % 10)
