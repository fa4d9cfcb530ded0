"""Certification: the institution's decision after validation, the certificates it issues, their
numbering, later changes of status, duplicates and corrections."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model
from .base import LabelledEnum, Timestamped, set_labels
from .committee import ValidationDecision
from .people import Institution, User
from .qualification import Qualification
from .sessions import Enrolment


def _enum(cls: type[LabelledEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class CertificationDecision(Model):
    """The certifying institution's decision on certification, taken after a positive validation
    decision by a staff member who did not examine, operate for, train or score the candidate.

    A negative decision always carries its reason.
    """

    __tablename__ = "certification_decision"
    __table_args__ = (
        # One standing decision per enrolment; a refusal overturned by an upheld appeal is kept
        # (``overturned_at``) beside the positive decision that replaced it.
        Index("uq_certification_decision_standing", "enrolment_id", unique=True,
              sqlite_where=text("overturned_at IS NULL"), postgresql_where=text("overturned_at IS NULL")),
        CheckConstraint("positive OR (reason IS NOT NULL AND reason <> '')", name="negative_has_reason"),
        CheckConstraint("overturned_at IS NULL OR overturned_by_appeal_id IS NOT NULL", name="overturned_by_appeal"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), nullable=False)
    #: The committee's positive decision this one rests on.
    validation_decision_id: Mapped[int] = mapped_column(ForeignKey("validation_decision.id"), index=True, nullable=False)
    positive: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: When the candidate's mail about it was queued (appeal windows count from that day).
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Set when an upheld appeal overturned this (negative) decision: the row is kept as it was.
    overturned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The appeal's id — no foreign key: appeal → certificate → certification_decision would close a
    #: cycle that table sorting (backups, restores, snapshots) cannot order.
    overturned_by_appeal_id: Mapped[int | None] = mapped_column(Integer)

    enrolment: Mapped[Enrolment] = relationship()
    validation_decision: Mapped[ValidationDecision] = relationship()
    decided_by: Mapped[User] = relationship()


class CertificateStatus(LabelledEnum):
    """What a certificate is worth today. ``expired`` is never stored: it follows from the date."""

    VALID = "valid"
    SUSPENDED = "suspended"  # reversible: the institution may lift it
    REVOKED = "revoked"  # final
    EXPIRED = "expired"
    SUPERSEDED = "superseded"  # replaced by a corrected (or renewed) certificate


set_labels(CertificateStatus, {
    CertificateStatus.VALID: _l("valid"), CertificateStatus.SUSPENDED: _l("suspended"),
    CertificateStatus.REVOKED: _l("revoked"), CertificateStatus.EXPIRED: _l("expired"),
    CertificateStatus.SUPERSEDED: _l("superseded"),
})


class Certificate(Timestamped, Model):
    """A certificate as issued: its number, the holder's and the qualification's data as printed,
    its dates and its state.

    ``content`` is the plain data the PDF is rendered from, fixed at issue, so a reprint shows the
    same text whatever changes later in the person's account or the qualification's definition.
    """

    __tablename__ = "certificate"
    __table_args__ = (
        UniqueConstraint("institution_id", "qualification_id", "year", "sequence", name="numbering"),
        # Issued on a certification decision, or replacing an earlier certificate: exactly one.
        CheckConstraint("(decision_id IS NULL AND supersedes_id IS NOT NULL) OR (decision_id IS NOT NULL AND supersedes_id IS NULL)",
                        name="decision_or_predecessor"),
        CheckConstraint("state <> 'expired'", name="expiry_not_stored"),
        CheckConstraint("valid_until > issued_on", name="valid_after_issue"),
        CheckConstraint("sequence > 0", name="sequence_positive"),
        CheckConstraint("(pdf IS NULL AND pdf_sha256 IS NULL) OR (pdf IS NOT NULL AND pdf_sha256 IS NOT NULL)",
                        name="pdf_has_hash"),
        Index("ix_certificate_institution_state", "institution_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``<institution>/<qualification code>/<year>/<6-digit sequence>``, e.g. ``VCC/13881/2026/000123``.
    number: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    year: Mapped[int] = mapped_column(Integer, nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The certifying institution (the issuer).
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True, nullable=False)
    #: The validating institution that ran the session, when it is not the issuer.
    validating_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualification.id"), index=True, nullable=False)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True, nullable=False)
    holder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    #: The decision it was issued on (the first certificate of an enrolment only): unique, so a
    #: retried issuing finds it instead of numbering a second one.
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("certification_decision.id"), unique=True)
    #: The certificate this one replaces (a correction), which is then ``superseded``.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"), unique=True)
    holder_first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    holder_last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    holder_birth_date: Mapped[date | None] = mapped_column(Date)
    #: Only the masked form (``*******0123``): the full PESEL is never on a certificate.
    holder_pesel_masked: Mapped[str | None] = mapped_column(String(11))
    issued_on: Mapped[date] = mapped_column(Date, index=True, nullable=False)
    valid_until: Mapped[date] = mapped_column(Date, index=True, nullable=False)
    state: Mapped[CertificateStatus] = mapped_column(_enum(CertificateStatus), default=CertificateStatus.VALID, nullable=False)
    state_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    state_reason: Mapped[str | None] = mapped_column(Text)
    #: A random URL-safe code (≥ 128 bits) for the verification link and QR code.
    verification_code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    content: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    content_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: The PDF as issued (None until it is rendered; the issuing job renders it right after numbering).
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    institution: Mapped[Institution] = relationship(foreign_keys=[institution_id])
    validating_institution: Mapped[Institution | None] = relationship(foreign_keys=[validating_institution_id])
    qualification: Mapped[Qualification] = relationship()
    enrolment: Mapped[Enrolment] = relationship()
    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    decision: Mapped[CertificationDecision | None] = relationship()
    supersedes: Mapped[Certificate | None] = relationship(remote_side=[id], foreign_keys=[supersedes_id],
                                                          back_populates="superseded_by")
    superseded_by: Mapped[Certificate | None] = relationship(back_populates="supersedes", foreign_keys=[supersedes_id],
                                                             uselist=False)
    events: Mapped[list[CertificateEvent]] = relationship(back_populates="certificate", order_by="CertificateEvent.id")
    duplicates: Mapped[list[CertificateDuplicate]] = relationship(back_populates="certificate",
                                                                  order_by="CertificateDuplicate.id")

    @property
    def holder_name(self) -> str:
        return f"{self.holder_first_name} {self.holder_last_name}"

    def status_on(self, day: date) -> CertificateStatus:
        """The status on ``day``: revoked and superseded stay so; otherwise expired after ``valid_until``."""
        if self.state in (CertificateStatus.REVOKED, CertificateStatus.SUPERSEDED):
            return self.state
        if day > self.valid_until:
            return CertificateStatus.EXPIRED
        return self.state

    def __str__(self) -> str:
        return self.number


class CertificateCounter(Model):
    """The last sequence number used per (issuer, qualification, year).

    Issuing locks the row (FOR UPDATE) until its transaction ends, so two issuers at once take
    consecutive numbers, and a rolled-back issue gives its number back: no gaps, no repeats.
    """

    __tablename__ = "certificate_counter"
    __table_args__ = (CheckConstraint("last_sequence >= 0", name="not_negative"),)

    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), primary_key=True)
    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualification.id"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_sequence: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class CertificateEventKind(LabelledEnum):
    SUSPENDED = "suspended"
    SUSPENSION_LIFTED = "suspension_lifted"
    REVOKED = "revoked"
    CORRECTED = "corrected"  # replaced by a certificate with corrected data


set_labels(CertificateEventKind, {
    CertificateEventKind.SUSPENDED: _l("suspended"), CertificateEventKind.SUSPENSION_LIFTED: _l("suspension lifted"),
    CertificateEventKind.REVOKED: _l("revoked"), CertificateEventKind.CORRECTED: _l("replaced by a corrected certificate"),
})


class CertificateEvent(Model):
    """A change of a certificate's status by the institution, with the reason it gave.

    The reason stays here (the audit log keeps only its digest), where anonymisation can reach it.
    """

    __tablename__ = "certificate_event"
    __table_args__ = (CheckConstraint("length(trim(reason)) > 0", name="reason_given"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True, nullable=False)
    kind: Mapped[CertificateEventKind] = mapped_column(_enum(CertificateEventKind), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    actor_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    certificate: Mapped[Certificate] = relationship(back_populates="events")
    actor: Mapped[User] = relationship()


class CertificateDuplicate(Model):
    """A duplicate of a certificate (the original was lost or destroyed): the same number and data,
    marked "DUPLIKAT" with its own date of issue."""

    __tablename__ = "certificate_duplicate"
    __table_args__ = (CheckConstraint("length(trim(reason)) > 0", name="reason_given"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True, nullable=False)
    issued_on: Mapped[date] = mapped_column(Date, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    pdf: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    pdf_sha256: Mapped[str] = mapped_column(String(64), nullable=False)

    certificate: Mapped[Certificate] = relationship(back_populates="duplicates")
    issued_by: Mapped[User] = relationship()


class DuplicateRequestStatus(LabelledEnum):
    OPEN = "open"
    ISSUED = "issued"
    REFUSED = "refused"


set_labels(DuplicateRequestStatus, {
    DuplicateRequestStatus.OPEN: _l("waiting"), DuplicateRequestStatus.ISSUED: _l("duplicate issued"),
    DuplicateRequestStatus.REFUSED: _l("refused"),
})


class DuplicateRequest(Model):
    """A holder's request for a duplicate of their certificate (the original was lost or
    destroyed), made online; staff of the issuing institution issue the duplicate or refuse with
    a reason. A certificate has at most one open request."""

    __tablename__ = "certificate_duplicate_request"
    __table_args__ = (
        CheckConstraint("length(trim(reason)) > 0", name="reason_given"),
        CheckConstraint("status <> 'refused' OR (response IS NOT NULL AND length(trim(response)) > 0)",
                        name="refusal_has_reason"),
        CheckConstraint("status <> 'issued' OR duplicate_id IS NOT NULL", name="issued_has_duplicate"),
        Index("ix_certificate_duplicate_request_one_open", "certificate_id", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True, nullable=False)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[DuplicateRequestStatus] = mapped_column(_enum(DuplicateRequestStatus),
                                                          default=DuplicateRequestStatus.OPEN, nullable=False)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why staff refused (shown to the holder).
    response: Mapped[str | None] = mapped_column(Text)
    duplicate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate_duplicate.id"), unique=True)

    certificate: Mapped[Certificate] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    handled_by: Mapped[User | None] = relationship(foreign_keys=[handled_by_id])
    duplicate: Mapped[CertificateDuplicate | None] = relationship()
