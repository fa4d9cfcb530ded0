"""Declarative base of the sandbox CRM: its own metadata, every table prefixed ``crm_``."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

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

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, nullable=False
    )
