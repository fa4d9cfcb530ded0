"""Workspaces and the action log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, utcnow


class Workspace(Base):
    """One isolated CRM: a practical attempt's or a practice session's."""

    __tablename__ = "crm_workspace"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200), nullable=False)
    owner_ref: Mapped[str] = mapped_column(String(80), index=True, nullable=False)
    purpose: Mapped[str] = mapped_column(String(20), nullable=False, default="practice")  # practice | exam
    scenario_code: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_frozen(self) -> bool:
        return self.frozen_at is not None


class ActionStatement(Base):
    """An xAPI-shaped statement: who did what to which object, with the result."""

    __tablename__ = "crm_action_statement"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("crm_workspace.id", ondelete="CASCADE"), index=True, nullable=False
    )
    actor_ref: Mapped[str] = mapped_column(String(80), nullable=False)
    actor_name: Mapped[str] = mapped_column(String(200), nullable=False)
    verb: Mapped[str] = mapped_column(String(40), index=True, nullable=False)
    object_type: Mapped[str] = mapped_column(String(40), index=True, nullable=False)
    object_id: Mapped[str | None] = mapped_column(String(80))
    object_name: Mapped[str | None] = mapped_column(String(300))
    result: Mapped[dict | None] = mapped_column(JSON)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
