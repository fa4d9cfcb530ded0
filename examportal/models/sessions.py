"""Validation sessions, their committees and enrolled candidates."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint, and_, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model
from .base import LabelledEnum, Timestamped, set_labels
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
    __table_args__ = (
        CheckConstraint("fee_grosze IS NULL OR fee_grosze >= 0", name="fee_not_negative"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True, nullable=False)
    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualification.id"), index=True, nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, nullable=False)
    place: Mapped[str] = mapped_column(String(300), nullable=False)
    mode: Mapped[SessionMode] = mapped_column(_enum(SessionMode), nullable=False)
    status: Mapped[SessionStatus] = mapped_column(_enum(SessionStatus), default=SessionStatus.PLANNED, nullable=False)
    capacity: Mapped[int] = mapped_column(Integer, default=20, nullable=False)
    #: Open to candidates' applications from this moment (None: not published, staff enrol by hand).
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The last moment an application is accepted (UTC; shown in Europe/Warsaw).
    registration_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The fee announced to applicants (złoty; the fee each enrolment is charged is Enrolment.fee_pln).
    fee_pln: Mapped[Decimal | None] = mapped_column("fee_grosze", PLN())
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    # The exam room's networks (CIDR blocks, one per line): when set, the theory test is taken from them only.
    exam_networks: Mapped[str | None] = mapped_column(Text)
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

    With ``enrolment_id`` set, a member appointed by the institution for that one candidate: when a
    member dissented from the proposed decision (they score independently and vote on it), or —
    with ``replaces_id`` — in place of a member found to have trained the candidate.
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
    #: The member this one replaces for the candidate (``enrolment_id``): one who may not assess them.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("committee_member.id", ondelete="SET NULL"))

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
        CheckConstraint("extra_time_minutes >= 0 AND extra_time_minutes <= 240", name="extra_time_range"),
        CheckConstraint("theory_recognized_from_id IS NULL OR theory_recognized_from_id <> id", name="not_recognized_from_itself"),
        CheckConstraint("reassessment_of_id IS NULL OR reassessment_of_id <> id", name="not_reassessing_itself"),
        CheckConstraint("checked_in_at IS NULL OR (checked_in_by_id IS NOT NULL AND identity_document IS NOT NULL)",
                        name="check_in_recorded_by"),
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
    #: Accommodation granted on the formal check: minutes added to the theory test from its start,
    #: and what else the operator must provide (larger font, a reader, ...), shown on the console.
    extra_time_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    accommodations: Mapped[str | None] = mapped_column(Text)
    #: Recognition of prior achievements (ZSK act art. 49): the earlier enrolment at this institution
    #: whose passed theory part counts here, within the qualification's carry_over_months.
    theory_recognized_from_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id"))
    #: A new assessment ordered by an upheld appeal: the enrolment (in an earlier session) whose
    #: practical work this enrolment's new committee assesses again.
    reassessment_of_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id"), index=True)
    # Check-in on exam day: the operator compared an identity document with the application
    # (the document's kind is kept, not its number); the test is unlocked only for those checked in.
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    identity_document: Mapped[str | None] = mapped_column(String(40))

    session: Mapped[ValidationSession] = relationship(back_populates="enrolments")
    candidate: Mapped[User] = relationship(foreign_keys=[candidate_id])
    theory_recognized_from: Mapped[Enrolment | None] = relationship(remote_side=[id], foreign_keys=[theory_recognized_from_id])
    reassessment_of: Mapped[Enrolment | None] = relationship(remote_side=[id], foreign_keys=[reassessment_of_id])
    # The members appointed for this candidate (after a dissent, at most one; in place of a member who
    # may not assess them; see CommitteeMember.enrolment_id), loaded with the enrolments so a page
    # listing candidates asks once.
    extra_members: Mapped[list[CommitteeMember]] = relationship(
        primaryjoin="CommitteeMember.enrolment_id == Enrolment.id", viewonly=True, lazy="selectin",
        order_by="CommitteeMember.id")

    @property
    def absent_from_practical(self) -> bool:
        return self.practical_absent_at is not None


class ApplicationStatus(LabelledEnum):
    SUBMITTED = "submitted"  # waiting for the formal check
    WAITING = "waiting"  # passed nothing yet: the session is full; moved up when a seat frees
    ACCEPTED = "accepted"  # enrolled (enrolment_id)
    REJECTED = "rejected"  # with the reason, mailed; appealable
    WITHDRAWN = "withdrawn"  # by the candidate


set_labels(ApplicationStatus, {
    ApplicationStatus.SUBMITTED: _l("waiting for the formal check"), ApplicationStatus.WAITING: _l("on the waiting list"),
    # In the application's own grammatical context (Polish agrees with "zgłoszenie").
    ApplicationStatus.ACCEPTED: lazy_pgettext("application", "accepted"),
    ApplicationStatus.REJECTED: lazy_pgettext("application", "rejected"),
    ApplicationStatus.WITHDRAWN: lazy_pgettext("application", "withdrawn"),
})


class Application(Timestamped, Model):
    """A candidate's application to a published session: identity confirmed, declarations made,
    accommodation needs and a request to recognise an earlier part; staff run the formal check."""

    __tablename__ = "application"
    __table_args__ = (
        CheckConstraint("status <> 'rejected' OR (rejection_reason IS NOT NULL AND length(trim(rejection_reason)) > 0)",
                        name="rejection_has_reason"),
        CheckConstraint("status <> 'accepted' OR enrolment_id IS NOT NULL", name="accepted_is_enrolled"),
        CheckConstraint("extra_time_minutes >= 0 AND extra_time_minutes <= 240", name="extra_time_range"),
        Index("ix_application_one_open", "session_id", "candidate_id", unique=True,
              sqlite_where=text("status IN ('submitted', 'waiting', 'accepted')"),
              postgresql_where=text("status IN ('submitted', 'waiting', 'accepted')")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("validation_session.id", ondelete="CASCADE"), index=True, nullable=False)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    status: Mapped[ApplicationStatus] = mapped_column(_enum(ApplicationStatus), default=ApplicationStatus.SUBMITTED,
                                                      nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: The declarations, each with its moment: identity data confirmed, consent and the RODO
    #: information (its version), the rules known.
    identity_confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    rodo_clause_version: Mapped[str] = mapped_column(String(20), nullable=False)
    rules_accepted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: Accommodation needs as asked (the formal check decides what is granted on the enrolment).
    extra_time_minutes: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    needs_large_font: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    needs_reader: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    needs_other: Mapped[str | None] = mapped_column(Text)
    #: Recognition of an earlier part (ZSK act art. 49) asked for, with the candidate's note.
    recognition_requested: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    recognition_note: Mapped[str | None] = mapped_column(Text)
    #: On the waiting list since (its order); None when not waiting.
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id"), unique=True)

    session: Mapped[ValidationSession] = relationship()
    candidate: Mapped[User] = relationship(foreign_keys=[candidate_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    enrolment: Mapped[Enrolment | None] = relationship()
