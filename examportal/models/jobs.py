"""Background jobs as the portal sees them: progress, errors and the result of long work, and the
scheduler's record of which periodic run has been claimed (so two schedulers never run one twice)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Enum, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model
from .base import LabelledEnum, set_labels, utcnow
from .people import User


class JobStatus(LabelledEnum):
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"  # an attempt failed; the queue tries again after a pause
    FINISHED = "finished"
    FAILED = "failed"  # every attempt failed: staff see the error


set_labels(JobStatus, {
    JobStatus.QUEUED: _l("waiting"), JobStatus.RUNNING: _l("running"), JobStatus.RETRYING: _l("retrying"),
    JobStatus.FINISHED: _l("finished"), JobStatus.FAILED: _l("failed"),
})


class BackgroundJob(Model):
    """One piece of long work started by someone (or by the scheduler), run by a worker."""

    __tablename__ = "background_job"
    __table_args__ = (
        CheckConstraint("done >= 0 AND total >= 0", name="progress_non_negative"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60), index=True, nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=JobStatus.QUEUED, index=True, nullable=False)
    total: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    done: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # Per-item problems that did not stop the job: [{"item": "...", "error": "..."}].
    problems: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[bytes | None] = mapped_column(LargeBinary)
    result_name: Mapped[str | None] = mapped_column(String(200))
    result_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by: Mapped[User | None] = relationship()

    @property
    def percent(self) -> int:
        if self.status == JobStatus.FINISHED:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class ScheduledRun(Model):
    """A periodic task's run for one time slot, claimed by the scheduler that enqueued it."""

    __tablename__ = "scheduled_run"
    __table_args__ = (UniqueConstraint("task", "slot", name="task_slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task: Mapped[str] = mapped_column(String(60), nullable=False)
    slot: Mapped[str] = mapped_column(String(40), nullable=False)
    claimed_by: Mapped[str] = mapped_column(String(120), nullable=False)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
