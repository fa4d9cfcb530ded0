"""Validation sessions, their committees and enrolled candidates."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from .base import Timestamped, UTCDateTime
from .people import Institution, User
from .qualification import Qualification


def _enum(cls):
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class SessionMode(str, enum.Enum):
    ONSITE = "onsite"
    REMOTE = "remote"


class SessionStatus(str, enum.Enum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ValidationSession(Timestamped, Model):
    __tablename__ = "validation_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True, nullable=False)
    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualification.id"), index=True, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, nullable=False)
    place: Mapped[str] = mapped_column(String(300), nullable=False)
    mode: Mapped[SessionMode] = mapped_column(_enum(SessionMode), nullable=False)
    status: Mapped[SessionStatus] = mapped_column(_enum(SessionStatus), default=SessionStatus.PLANNED, nullable=False)
    capacity: Mapped[int] = mapped_column(Integer, default=20, nullable=False)
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    institution: Mapped[Institution] = relationship()
    qualification: Mapped[Qualification] = relationship()
    operator: Mapped[User | None] = relationship(foreign_keys=[operator_id])
    committee: Mapped[list[CommitteeMember]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="CommitteeMember.id"
    )
    enrolments: Mapped[list[Enrolment]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="Enrolment.id"
    )


class CommitteeMember(Timestamped, Model):
    """An assessor on a session's committee, and their declaration of impartiality."""

    __tablename__ = "committee_member"
    __table_args__ = (UniqueConstraint("session_id", "assessor_id", name="session_assessor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("validation_session.id", ondelete="CASCADE"), index=True, nullable=False
    )
    assessor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    is_chair: Mapped[bool] = mapped_column(default=False, nullable=False)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declaration_text: Mapped[str | None] = mapped_column(Text)

    session: Mapped[ValidationSession] = relationship(back_populates="committee")
    assessor: Mapped[User] = relationship()

    @property
    def has_declared(self) -> bool:
        return self.declared_at is not None


class EnrolmentStatus(str, enum.Enum):
    ENROLLED = "enrolled"
    WITHDRAWN = "withdrawn"


class Enrolment(Timestamped, Model):
    __tablename__ = "enrolment"
    __table_args__ = (UniqueConstraint("session_id", "candidate_id", name="session_candidate"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("validation_session.id", ondelete="CASCADE"), index=True, nullable=False
    )
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    status: Mapped[EnrolmentStatus] = mapped_column(
        _enum(EnrolmentStatus), default=EnrolmentStatus.ENROLLED, nullable=False
    )

    session: Mapped[ValidationSession] = relationship(back_populates="enrolments")
    candidate: Mapped[User] = relationship()
