"""Saved reports: a name and the report builder's configuration."""
from __future__ import annotations

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, WorkspaceScoped


class SavedReport(WorkspaceScoped, Base):
    """A report the candidate saved to run again: ``config`` is what :mod:`sandbox_crm.services.reports` reads."""

    __tablename__ = "crm_saved_report"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="workspace_name"),)

    name: Mapped[str] = mapped_column(String(150), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)

    def __str__(self) -> str:
        return self.name
