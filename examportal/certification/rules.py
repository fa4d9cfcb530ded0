"""The rules of certificates that need no database: numbers, validity dates, masking, fees and
which change a certificate in a given status allows. Unit-tested without a request."""
from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext

from ..models.certification import CertificateStatus


def _(text: str, **values: Any) -> str:
    """gettext, typed (Flask-Babel ships no type information)."""
    return str(gettext(text, **values))


WARSAW = ZoneInfo("Europe/Warsaw")
#: 24 random bytes: 192 bits, 32 URL-safe characters (the issue asks for at least 128 bits).
CODE_BYTES = 24
SEQUENCE_DIGITS = 6
MAX_FEE = Decimal("100000.00")

#: The statutory ground for a validation free of charge that institutions name most often.
FREE_OF_CHARGE_122A = "nieodpłatnie na podstawie art. 122a ustawy – Prawo oświatowe"

_NUMBER = re.compile(r"[^/\s]{1,30}/[0-9A-Za-z]{1,20}/[0-9]{4}/[0-9]{6,9}")
_CODE = re.compile(r"[A-Za-z0-9_-]{32,64}")
_PREFIX_JUNK = re.compile(r"[^0-9A-Za-z]+")


def today() -> date:
    """Today's date in Poland (certificates are dated by the Polish calendar day)."""
    return datetime.now(WARSAW).date()


def add_years(day: date, years: int) -> date:
    """``day`` moved ``years`` years on; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def valid_until(issued_on: date, validity_years: int) -> date:
    """The last day a certificate is valid: its issue date plus the qualification's validity."""
    if validity_years <= 0:
        raise ValueError("validity must be at least one year")
    return add_years(issued_on, validity_years)


def number_prefix(short_name: str) -> str:
    """The institution's part of a certificate number: its short name in plain ASCII letters and
    digits (``Warto Szkolić/WS`` → ``Warto-Szkolic-WS``), so that anyone can type the number."""
    folded = unicodedata.normalize("NFKD", short_name.replace("ł", "l").replace("Ł", "L"))
    prefix = _PREFIX_JUNK.sub("-", folded.encode("ascii", "ignore").decode()).strip("-")
    if not prefix:
        raise ValueError(f"the short name {short_name!r} gives no usable number prefix")
    return prefix[:30]


def format_number(prefix: str, qualification_code: str, year: int, sequence: int) -> str:
    """``VCC/13881/2026/000123``: issuer, qualification, year, sequence (six digits at least)."""
    if sequence <= 0:
        raise ValueError("sequence numbers start at 1")
    return f"{prefix}/{qualification_code}/{year}/{sequence:0{SEQUENCE_DIGITS}d}"


def looks_like_number(text: str) -> bool:
    return bool(_NUMBER.fullmatch(text))


def looks_like_code(text: str) -> bool:
    return bool(_CODE.fullmatch(text))


def new_verification_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def mask_pesel(pesel: str | None) -> str | None:
    """The PESEL as a certificate may show it: only its last four digits (``*******0123``)."""
    if not pesel:
        return None
    return "*" * (len(pesel) - 4) + pesel[-4:]


# --------------------------------------------------------------------------- fees


#: The most digits an amount may have before and after its decimal point: far beyond any fee, and
#: within what Decimal's context (28 digits) compares and rounds exactly.
AMOUNT_DIGITS = (12, 12)


def parse_amount(text: str) -> Decimal | None:
    """An amount in złoty as people type it ("350", "350,00", "1 200.50"); None if it is not one
    (or has more digits than :data:`AMOUNT_DIGITS`)."""
    cleaned = text.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    if cleaned.lower().endswith("zł"):
        cleaned = cleaned[:-2]
    whole, decimals = AMOUNT_DIGITS
    if not cleaned or not re.fullmatch(rf"-?[0-9]{{1,{whole}}}(\.[0-9]{{1,{decimals}}})?", cleaned):
        return None
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def fee_problem(amount: Decimal, reason: str | None) -> str | None:
    """Why a fee cannot be recorded (translated), or None.

    A fee is zero or more złoty with at most two decimal places; zero needs the reason the
    validation was free of charge, and the art. 122a ground means zero.
    """
    if amount < 0:
        return _("The fee cannot be negative.")
    if amount != amount.quantize(Decimal("0.01")):
        return _("Give the fee in złoty with at most two decimal places (grosze).")
    if amount > MAX_FEE:
        return _("The fee cannot exceed %(max)s zł.", max=f"{MAX_FEE:.2f}")
    if amount == 0 and not (reason or "").strip():
        return _("A validation free of charge needs its reason: choose art. 122a or type the institution's reason.")
    if amount > 0 and reason == FREE_OF_CHARGE_122A:
        return _("Free of charge under art. 122a means a fee of 0 zł.")
    return None


# --------------------------------------------------------------------------- changes of status

ACTIONS = ("suspend", "lift", "revoke", "correct", "duplicate", "reprint")


def action_refusal(action: str, status: CertificateStatus, *, valid_until: date | None = None,
                   on: date | None = None) -> str | None:
    """Why ``action`` cannot be taken on a certificate whose status is ``status`` (translated), or None.

    Suspension is reversible and revocation final: nothing ever changes a revoked certificate.
    A superseded certificate is changed through the one that replaced it.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if status == CertificateStatus.REVOKED:
        if action == "revoke":
            return _("This certificate is already revoked. A revocation is final.")
        return _("This certificate is revoked. A revocation is final and is never undone.")
    if status == CertificateStatus.SUPERSEDED:
        return _("This certificate has been replaced by a newer one: act on the current certificate.")
    if action == "lift":
        return None if status == CertificateStatus.SUSPENDED else _("Only a suspended certificate can have its suspension lifted.")
    if action == "suspend":
        if status == CertificateStatus.SUSPENDED:
            return _("This certificate is already suspended.")
        if status == CertificateStatus.EXPIRED:
            return _("This certificate has expired: there is nothing to suspend.")
        return None
    if action == "revoke":
        return None  # valid, suspended or expired: a fraud found later still revokes it
    if status == CertificateStatus.SUSPENDED:
        return _("This certificate is suspended: lift the suspension first.")
    if action == "correct":
        if status == CertificateStatus.EXPIRED or (valid_until is not None and on is not None and on >= valid_until):
            return _("This certificate has expired (or expires today): a corrected one would not be valid.")
        return None
    return None  # a duplicate or a reprint of a valid or expired certificate
