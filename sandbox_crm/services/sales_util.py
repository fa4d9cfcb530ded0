"""Helpers shared by the sales services (pipelines, opportunities, tasks): the rule error,
local time and JSON-safe snapshots for the action log."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, overload
from zoneinfo import ZoneInfo

# The sandbox CRM is used in Poland: calendar days ("today", "this week", due dates) are local.
LOCAL_TZ = ZoneInfo("Europe/Warsaw")
# A task due "on a day" is due at the end of that working day.
DEFAULT_DUE_TIME = time(16, 0)


class SalesError(ValueError):
    """A sales rule was broken; ``field`` names the form field the message belongs to, if any."""

    def __init__(self, message: Any, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
@overload
def as_utc(value: datetime | None) -> datetime | None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """``value`` as aware UTC, for datetimes given to the services; a naive value is taken to be UTC.

    What the database returns needs no such help: :class:`~sandbox_crm.models.base.UTCDateTime`
    hands back aware UTC values.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@overload
def to_local(value: datetime) -> datetime: ...
@overload
def to_local(value: None) -> None: ...
@overload
def to_local(value: datetime | None) -> datetime | None: ...
def to_local(value: datetime | None) -> datetime | None:
    """``value`` in the local (Polish) time zone."""
    utc = as_utc(value)
    return utc.astimezone(LOCAL_TZ) if utc else None


def local_today(at: datetime | None = None) -> date:
    """The local calendar date at ``at`` (default: now)."""
    return to_local(at or now()).date()


def local_datetime(day: date, at: time | None = None) -> datetime:
    """The UTC instant of local ``day`` at ``at`` (default: the end of the working day)."""
    return datetime.combine(day, at or DEFAULT_DUE_TIME, LOCAL_TZ).astimezone(UTC)


def local_day_start(day: date) -> datetime:
    """The UTC instant local ``day`` begins."""
    return datetime.combine(day, time(0, 0), LOCAL_TZ).astimezone(UTC)


def plain(value: Any) -> Any:
    """``value`` in a JSON-safe form for the action log."""
    if isinstance(value, Decimal):
        return format(value.to_integral(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> dict:
    """The JSON-safe values of ``fields`` of ``obj``, for :func:`sandbox_crm.actionlog.diff`."""
    return {name: plain(getattr(obj, name)) for name in fields}


def clean_text(value: Any) -> str | None:
    """A stripped string, or ``None`` for blank input."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def weighted_value(value: Decimal | None, probability: int) -> Decimal:
    """``value × probability`` (a percentage), rounded to grosze."""
    if value is None:
        return Decimal("0.00")
    return money(Decimal(value) * Decimal(probability) / Decimal(100))


def money(value: Decimal) -> Decimal:
    """``value`` rounded to grosze, half up (as money is rounded)."""
    return Decimal(value).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def day_after(day: date) -> date:
    return day + timedelta(days=1)
