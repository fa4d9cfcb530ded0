"""Shared column helpers for examportal models."""
from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Mapped, mapped_column

from sandbox_crm.models.base import UTCDateTime


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

    @property
    def lazy_label(self) -> Any:
        """The label as a lazy string, for what is built once and shown in many languages (a filter's
        choices made at import): ``label`` there would be read once, untranslated."""
        return _LABELS[type(self), self.value]


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


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
