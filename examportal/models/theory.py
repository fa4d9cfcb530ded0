"""The theory test: attempts, the items as shown, autosaved answers and operator actions."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model
from .base import LabelledEnum, Timestamped, set_labels, utcnow
from .people import User
from .sessions import Enrolment, ValidationSession

if TYPE_CHECKING:
    from .practical import PracticalAttempt


def _enum(cls):
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class AttemptStatus(LabelledEnum):
    NOT_STARTED = "not_started"
    UNLOCKED = "unlocked"
    IN_PROGRESS = "in_progress"
    PAUSED = "paused"
    SUBMITTED = "submitted"


set_labels(AttemptStatus, {
    AttemptStatus.NOT_STARTED: _l("locked"), AttemptStatus.UNLOCKED: _l("unlocked"),
    AttemptStatus.IN_PROGRESS: _l("in progress"), AttemptStatus.PAUSED: _l("paused"),
    AttemptStatus.SUBMITTED: _l("submitted"),
})


class TheoryAttempt(Timestamped, Model):
    """One candidate's theory test in one session; all clock arithmetic is server-side.

    The time left is ``deadline_at + extra_seconds + paused_seconds_total - now`` (and, while
    paused, the clock stands still at ``paused_at``).
    """

    __tablename__ = "theory_attempt"
    __table_args__ = (
        UniqueConstraint("enrolment_id", name="enrolment"),
        CheckConstraint("paused_seconds_total >= 0", name="paused_non_negative"),
        CheckConstraint("extra_seconds >= 0", name="extra_non_negative"),
        CheckConstraint("status <> 'paused' OR paused_at IS NOT NULL", name="paused_has_time"),
        CheckConstraint(
            "status NOT IN ('in_progress', 'paused', 'submitted') OR started_at IS NOT NULL", name="started_has_time"
        ),
        CheckConstraint("status <> 'submitted' OR submitted_at IS NOT NULL", name="submitted_has_time"),
        Index("ix_theory_attempt_session_status", "session_id", "status"),
        Index("ix_theory_attempt_status_deadline", "status", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), nullable=False)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    session_id: Mapped[int] = mapped_column(ForeignKey("validation_session.id", ondelete="CASCADE"), index=True,
                                            nullable=False)
    status: Mapped[AttemptStatus] = mapped_column(_enum(AttemptStatus), default=AttemptStatus.NOT_STARTED,
                                                  nullable=False)
    seed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    time_limit_seconds: Mapped[int] = mapped_column(Integer, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds_total: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    extra_seconds: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    submitted_by_deadline: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    last_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    score_points: Mapped[float | None] = mapped_column(Float)
    score_max: Mapped[int | None] = mapped_column(Integer)
    score_percent: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool | None] = mapped_column(Boolean)
    criterion_scores: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    enrolment: Mapped[Enrolment] = relationship()
    candidate: Mapped[User] = relationship(foreign_keys=[candidate_id])
    session: Mapped[ValidationSession] = relationship()
    items: Mapped[list[AttemptItem]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan", order_by="AttemptItem.position"
    )


class AttemptItem(Model):
    """One drawn item as the candidate saw it (snapshot incl. shuffled order) and its current answer."""

    __tablename__ = "attempt_item"
    __table_args__ = (
        UniqueConstraint("attempt_id", "position", name="attempt_position"),
        UniqueConstraint("attempt_id", "item_id", name="attempt_item_id"),
        CheckConstraint("position >= 1", name="position_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("theory_attempt.id", ondelete="CASCADE"), index=True,
                                            nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    item_id: Mapped[str] = mapped_column(String(80), index=True, nullable=False)
    item_version: Mapped[int] = mapped_column(Integer, nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    # {"item": item_to_dict(item), "presented": present(item, rng)}: frozen when drawn.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    # The current answer: the one with the highest client sequence number seen so far.
    response: Mapped[Any | None] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    answer_seq: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    points: Mapped[float | None] = mapped_column(Float)

    attempt: Mapped[TheoryAttempt] = relationship(back_populates="items")

    @property
    def is_answered(self) -> bool:
        return is_answer(self.response)


#: How a response that answers nothing is stored: none, an empty choice, order or text ...
EMPTY_ANSWERS: tuple[Any, ...] = (None, [], {}, "")
#: ... and the same as the database holds them (JSON text), for counting answers in SQL.
EMPTY_ANSWERS_JSON = ("null", "[]", "{}", '""')


def is_answer(response: Any) -> bool:
    """Whether a stored response answers the question (the map, the review and the console count it)."""
    return response not in EMPTY_ANSWERS


class AttemptAnswer(Model):
    """Every autosave as received (the history); unique per (attempt, seq) so a replay is a no-op."""

    __tablename__ = "attempt_answer"
    __table_args__ = (
        UniqueConstraint("attempt_id", "seq", name="attempt_seq"),
        CheckConstraint("seq >= 1", name="seq_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("theory_attempt.id", ondelete="CASCADE"), index=True,
                                            nullable=False)
    attempt_item_id: Mapped[int] = mapped_column(ForeignKey("attempt_item.id", ondelete="CASCADE"), index=True,
                                                 nullable=False)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    response: Mapped[Any | None] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    applied: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    attempt_item: Mapped[AttemptItem] = relationship()


class OperatorActionKind(LabelledEnum):
    UNLOCK = "unlock"
    EXTRA_TIME = "extra_time"
    PAUSE = "pause"
    RESUME = "resume"
    INCIDENT = "incident"


# As the session record names them (nouns; the action form asks in verbs).
set_labels(OperatorActionKind, {
    OperatorActionKind.UNLOCK: _l("test unlocked"), OperatorActionKind.EXTRA_TIME: _l("time added"),
    OperatorActionKind.PAUSE: _l("test paused"), OperatorActionKind.RESUME: _l("test resumed"),
    OperatorActionKind.INCIDENT: _l("incident"),
})


class OperatorAction(Model):
    """What the exam-system operator did, to whom (one attempt, or the whole session) and why."""

    __tablename__ = "operator_action"
    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="reason_given"),
        CheckConstraint("kind <> 'extra_time' OR (minutes IS NOT NULL AND minutes > 0)", name="extra_time_minutes"),
        CheckConstraint("attempt_id IS NULL OR practical_attempt_id IS NULL", name="one_part"),
        Index("ix_operator_action_session_at", "session_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("validation_session.id", ondelete="CASCADE"), nullable=False)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("theory_attempt.id", ondelete="CASCADE"), index=True)
    # An action on a candidate's practical exam (extra time, pause/resume, incident) names it here.
    practical_attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("practical_attempt.id", ondelete="CASCADE"), index=True)
    kind: Mapped[OperatorActionKind] = mapped_column(_enum(OperatorActionKind), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    minutes: Mapped[int | None] = mapped_column(Integer)
    operator_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    operator: Mapped[User] = relationship()
    attempt: Mapped[TheoryAttempt | None] = relationship()
    practical_attempt: Mapped[PracticalAttempt | None] = relationship()


class VoidedItem(Model):
    """A bank item found faulty: it is no longer drawn, and every attempt that drew it is rescored without it."""

    __tablename__ = "voided_item"
    __table_args__ = (
        UniqueConstraint("item_id", name="item"),
        CheckConstraint("length(trim(reason)) > 0", name="reason_given"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[str] = mapped_column(String(80), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    voided_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    voided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    voided_by: Mapped[User] = relationship()
