"""Declarative base of the sandbox CRM: its own metadata, every table prefixed ``crm_``."""
from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Dialect, Enum, ForeignKey, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION: dict[str, Any] = {
    "ix": "ix_%(column_0_label)s",
    # Unique constraints become indexes, which share one namespace with tables in PostgreSQL:
    # prefix every name (explicit or derived) with the table so "name" never collides.
    "uq": "uq_%(table_name)s_%(constraint_name_or_columns)s",
    "constraint_name_or_columns": lambda constraint, table: (
        constraint.name if isinstance(constraint.name, str) else "_".join(c.name for c in constraint.columns)
    ),
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite forgets the zone).

    A naive datetime is refused on the way in, since nothing says which zone it is in; on the
    way out SQLite's naive values are given back their UTC zone, so no reader has to patch them.
    examportal's models use this type too: one definition, in the package that cannot import the other.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def code_enum(cls: type[enum.StrEnum], length: int) -> Enum:
    """The column type of a stored code: ``cls``'s values in a VARCHAR(length), read back as members.

    The codes are ``StrEnum``s, not examportal's ``(str, Enum)``: they were plain strings here,
    and a StrEnum member still prints, formats and serialises as its code in templates, the
    action log and the evidence. No CHECK comes with the type; :func:`one_of` adds it, named as
    the sandbox names its checks.
    """
    return Enum(cls, native_enum=False, length=length, values_callable=lambda members: [m.value for m in members])


def one_of(column: str, cls: type[enum.StrEnum]) -> CheckConstraint:
    """A CHECK that ``column`` holds one of ``cls``'s values (named ``<column>_known``)."""
    values = ", ".join(f"'{member.value}'" for member in cls)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_known")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class WorkspaceScoped:
    """Mixin for every sandbox row: it belongs to exactly one workspace.

    Queries for scoped rows must always filter by ``workspace_id``; the helpers in
    :mod:`sandbox_crm.scoping` do that, so isolation is enforced in one place.
    """

    id: Mapped[int] = mapped_column(Integer, primary_key=True)

    @declared_attr
    def workspace_id(cls) -> Mapped[int]:
        return mapped_column(
            ForeignKey("crm_workspace.id", ondelete="CASCADE"), index=True, nullable=False
        )

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
