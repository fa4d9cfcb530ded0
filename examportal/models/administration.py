"""What administration records about people and institutions: competence records of assessors
and operators (checked against the qualification's requirements before an appointment) and each
institution's runtime settings."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, CheckConstraint, Date, Enum, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model
from .base import LabelledEnum, Timestamped, set_labels
from .people import Institution, User


def _enum(cls: type[LabelledEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class CompetenceKind(LabelledEnum):
    ASSESSOR = "assessor"  # a member of a validation committee
    OPERATOR = "operator"  # an exam-system operator


set_labels(CompetenceKind, {CompetenceKind.ASSESSOR: _l("committee member"),
                            CompetenceKind.OPERATOR: _l("exam-system operator")})


class Education(LabelledEnum):
    """Levels of education, in order (a requirement "at least secondary" admits higher)."""

    PRIMARY = "primary"
    VOCATIONAL = "vocational"
    SECONDARY = "secondary"
    HIGHER = "higher"

    @property
    def rank(self) -> int:
        return list(Education).index(self)


set_labels(Education, {Education.PRIMARY: _l("primary"), Education.VOCATIONAL: _l("basic vocational"),
                       Education.SECONDARY: _l("secondary"), Education.HIGHER: _l("higher")})


class CompetenceRecord(Timestamped, Model):
    """A person's competence for a role, as the institution verified it, with the evidence and the
    date by which it must be reviewed again."""

    __tablename__ = "competence_record"
    __table_args__ = (
        UniqueConstraint("user_id", "kind", name="user_kind"),
        CheckConstraint("crm_supervision_months >= 0 AND crm_supervision_months <= 720", name="months_range"),
        CheckConstraint("(evidence IS NULL AND evidence_sha256 IS NULL) OR (evidence IS NOT NULL AND evidence_sha256 IS NOT NULL)",
                        name="evidence_has_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True, nullable=False)
    kind: Mapped[CompetenceKind] = mapped_column(_enum(CompetenceKind), nullable=False)
    #: The institution whose staff verified the record.
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True, nullable=False)
    education: Mapped[Education] = mapped_column(_enum(Education), nullable=False)
    #: Work in posts directing or supervising CRM operators, in months.
    crm_supervision_months: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    #: Operating a computer: starting and using the system and its applications.
    computer_skills: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    #: Solving a lost connection or a browser's incompatibility with the exam platform.
    troubleshooting_skills: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    evidence_name: Mapped[str | None] = mapped_column(String(200))
    evidence_mimetype: Mapped[str | None] = mapped_column(String(100))
    evidence: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    verified_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: After this date the record no longer qualifies anyone until it is reviewed.
    review_due: Mapped[date] = mapped_column(Date, nullable=False)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    institution: Mapped[Institution] = relationship()
    verified_by: Mapped[User] = relationship(foreign_keys=[verified_by_id])


class InstitutionSettings(Model):
    """What an institution changes without a deploy: its contact details shown to candidates, the
    reminder schedule, and the logo and signature printed on its documents."""

    __tablename__ = "institution_settings"

    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id", ondelete="CASCADE"), primary_key=True)
    contact_email: Mapped[str | None] = mapped_column(String(254))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    contact_note: Mapped[str | None] = mapped_column(Text)
    #: Days before a session when enrolled candidates are reminded (e.g. [7, 1]).
    reminder_days: Mapped[list[Any]] = mapped_column(JSON, default=list, nullable=False)
    logo: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    logo_mimetype: Mapped[str | None] = mapped_column(String(50))
    signature: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    signature_mimetype: Mapped[str | None] = mapped_column(String(50))
    signatory_name: Mapped[str | None] = mapped_column(String(200))
    signatory_title: Mapped[str | None] = mapped_column(String(200))
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    institution: Mapped[Institution] = relationship()
