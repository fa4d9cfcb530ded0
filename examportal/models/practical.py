"""The practical exam: one attempt per enrolment in a fresh sandbox workspace, and practice workspaces.

The sandbox's workspace is referred to by its id only (a plain integer, no foreign key): the
sandbox owns its tables and examportal reaches them through ``sandbox_crm.api`` alone.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Enum, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model
from .base import LabelledEnum, Timestamped, set_labels
from .people import User
from .qualification import Qualification
from .sessions import Enrolment, ValidationSession


def _enum(cls):
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class PracticalStatus(LabelledEnum):
    IN_PROGRESS = "in_progress"
    FINISHED = "finished"  # the candidate ended it
    TIMED_OUT = "timed_out"  # the deadline ended it


set_labels(PracticalStatus, {PracticalStatus.IN_PROGRESS: _l("in progress"), PracticalStatus.FINISHED: _l("Finished"),
                             PracticalStatus.TIMED_OUT: _l("Ended when the time was up")})


class PracticalAttempt(Timestamped, Model):
    """A candidate's practical exam: the scenario, its workspace and the server-side clock."""

    __tablename__ = "practical_attempt"
    __table_args__ = (
        UniqueConstraint("enrolment_id", name="enrolment"),
        UniqueConstraint("workspace_id", name="workspace"),
        CheckConstraint("deadline_at > started_at", name="deadline_after_start"),
        CheckConstraint("(status = 'in_progress') = (finished_at IS NULL)", name="finished_has_time"),
        CheckConstraint("extra_seconds >= 0", name="extra_non_negative"),
        CheckConstraint("paused_seconds_total >= 0", name="paused_non_negative"),
        CheckConstraint("paused_at IS NULL OR status = 'in_progress'", name="paused_only_running"),
        Index("ix_practical_attempt_status_deadline", "status", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), nullable=False)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    session_id: Mapped[int] = mapped_column(ForeignKey("validation_session.id", ondelete="CASCADE"), index=True,
                                            nullable=False)
    scenario_code: Mapped[str] = mapped_column(String(80), nullable=False)
    workspace_id: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[PracticalStatus] = mapped_column(_enum(PracticalStatus), default=PracticalStatus.IN_PROGRESS,
                                                    nullable=False)
    # The operator's controls, as on the theory test: the time left is
    # ``deadline_at + extra_seconds + paused_seconds_total - now``; while paused (``paused_at`` set)
    # the clock stands still and the workspace takes no changes.
    extra_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds_total: Mapped[float] = mapped_column(Float, default=0.0, server_default="0", nullable=False)
    # The draw of the scenario's variation (names, figures, dates) this attempt works on; None for
    # attempts started before scenarios varied (they work on the sheet as written).
    variant_seed: Mapped[int | None] = mapped_column(Integer)

    enrolment: Mapped[Enrolment] = relationship()
    candidate: Mapped[User] = relationship()
    session: Mapped[ValidationSession] = relationship()

    @property
    def is_running(self) -> bool:
        return self.status == PracticalStatus.IN_PROGRESS


class PracticeWorkspace(Timestamped, Model):
    """A free practice workspace a candidate opened from a scenario (not assessed)."""

    __tablename__ = "practice_workspace"
    __table_args__ = (UniqueConstraint("workspace_id", name="workspace"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True,
                                         nullable=False)
    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualification.id"), index=True, nullable=False)
    scenario_code: Mapped[str] = mapped_column(String(80), nullable=False)
    workspace_id: Mapped[int] = mapped_column(Integer, nullable=False)

    user: Mapped[User] = relationship()
    qualification: Mapped[Qualification] = relationship()
