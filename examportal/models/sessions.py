"""Validation sessions, their committees and enrolled candidates."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Enum, ForeignKey, Integer, String, Text, UniqueConstraint, and_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import Model
from .base import LabelledEnum, Timestamped, UTCDateTime, set_labels
from .money import PLN
from .people import Institution, User
from .qualification import Qualification


def _enum(cls):
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class SessionMode(LabelledEnum):
    ONSITE = "onsite"
    REMOTE = "remote"


set_labels(SessionMode, {SessionMode.ONSITE: _l("On site"), SessionMode.REMOTE: _l("Remote")})


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
    # The standing committee; a member appointed for one candidate after a dissent is not on it
    # (see :attr:`CommitteeMember.enrolment_id`).
    committee: Mapped[list[CommitteeMember]] = relationship(
        primaryjoin=lambda: and_(CommitteeMember.session_id == ValidationSession.id, CommitteeMember.enrolment_id.is_(None)),
        cascade="all, delete-orphan", order_by="CommitteeMember.id", overlaps="session",
    )
    enrolments: Mapped[list[Enrolment]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="Enrolment.id"
    )


class CommitteeMember(Timestamped, Model):
    """An assessor on a session's committee, and their declaration of impartiality.

    With ``enrolment_id`` set, a member appointed by the institution for that one candidate when a
    member dissented from the proposed decision: they score independently and vote on it.
    """

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
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True)

    session: Mapped[ValidationSession] = relationship(overlaps="committee")
    assessor: Mapped[User] = relationship()

    @property
    def has_declared(self) -> bool:
        return self.declared_at is not None


class EnrolmentStatus(LabelledEnum):
    ENROLLED = "enrolled"
    WITHDRAWN = "withdrawn"


set_labels(EnrolmentStatus, {EnrolmentStatus.ENROLLED: _l("enrolled"),
                             EnrolmentStatus.WITHDRAWN: _l("withdrawn from the session")})


class Enrolment(Timestamped, Model):
    __tablename__ = "enrolment"
    __table_args__ = (
        UniqueConstraint("session_id", "candidate_id", name="session_candidate"),
        CheckConstraint("practical_absent_at IS NULL OR practical_absent_by_id IS NOT NULL", name="absence_recorded_by"),
        CheckConstraint("fee_grosze IS NULL OR fee_grosze >= 0", name="fee_not_negative"),
        CheckConstraint("fee_grosze IS NULL OR fee_grosze > 0 OR (fee_reason IS NOT NULL AND fee_reason <> '')",
                        name="free_of_charge_has_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("validation_session.id", ondelete="CASCADE"), index=True, nullable=False
    )
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    status: Mapped[EnrolmentStatus] = mapped_column(
        _enum(EnrolmentStatus), default=EnrolmentStatus.ENROLLED, nullable=False
    )
    # Recorded by the operator or the chair when the candidate did not come to the practical part:
    # its criteria are then not met.
    practical_absent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    practical_absent_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    practical_absent_note: Mapped[str | None] = mapped_column(Text)
    #: The fee charged for the validation (złoty, stored as grosze; see examportal.certification.fees).
    #: Zero only with the reason it was free of charge (e.g. art. 122a of the education law).
    fee_pln: Mapped[Decimal | None] = mapped_column("fee_grosze", PLN())
    fee_reason: Mapped[str | None] = mapped_column(Text)

    session: Mapped[ValidationSession] = relationship(back_populates="enrolments")
    candidate: Mapped[User] = relationship(foreign_keys=[candidate_id])
    # The member appointed for this candidate after a dissent (at most one; see CommitteeMember.enrolment_id),
    # loaded with the enrolments so a page listing candidates asks once.
    extra_members: Mapped[list[CommitteeMember]] = relationship(
        primaryjoin="CommitteeMember.enrolment_id == Enrolment.id", viewonly=True, lazy="selectin",
        order_by="CommitteeMember.id")

    @property
    def absent_from_practical(self) -> bool:
        return self.practical_absent_at is not None
