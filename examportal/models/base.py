"""Shared column helpers for examportal models."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class LabelledEnum(str, enum.Enum):
    """A stored code that people see: ``member.label`` is its name in the page's language.

    The labels are given by :func:`set_labels` right after the enum, so the code itself (say
    ``extra_time``) never reaches a page, and an enum that gains a member without a label fails
    at import.
    """

    @property
    def label(self) -> str:
        return str(_LABELS[type(self), self.value])


# (enum class, value) → lazy string; a str enum's members compare equal to their values, so
# AttemptStatus.IN_PROGRESS and SessionStatus.IN_PROGRESS would share a plain dict key.
_LABELS: dict[tuple[type, str], Any] = {}


def set_labels(cls: type[LabelledEnum], labels: Mapping[LabelledEnum, Any]) -> None:
    """Give every member of ``cls`` its label (lazy strings, translated when shown)."""
    missing = [member.value for member in cls if member not in labels]
    if missing:
        raise ValueError(f"{cls.__name__} has no label for {missing}")
    for member, label in labels.items():
        _LABELS[cls, member.value] = label


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
