"""What the law asks an institution to report and keep: internal evaluations (art. 64 of the ZSK
act), the external auditor's mandate, and people's requests about their personal data (RODO
art. 15-17)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, Date, Enum, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model
from .base import LabelledEnum, Timestamped, set_labels
from .people import Institution, User
from .qualification import Qualification


def _enum(cls: type[LabelledEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class EvaluationReport(Timestamped, Model):
    """An internal evaluation of how one qualification is validated and certified (art. 64): the
    figures as computed when it was made (so the document does not drift when later data arrives)
    and the evaluators' conclusions and actions."""

    __tablename__ = "evaluation_report"
    __table_args__ = (CheckConstraint("period_from <= period_to", name="evaluation_period_ordered"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True, nullable=False)
    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualification.id"), index=True, nullable=False)
    period_from: Mapped[date] = mapped_column(Date, nullable=False)
    period_to: Mapped[date] = mapped_column(Date, nullable=False)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    conclusions: Mapped[str | None] = mapped_column(Text)
    actions: Mapped[str | None] = mapped_column(Text)
    made_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    #: When the evaluators signed it off; None while it is a draft (conclusions may still change).
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    institution: Mapped[Institution] = relationship()
    qualification: Mapped[Qualification] = relationship()
    made_by: Mapped[User] = relationship()


class AuditorMandate(Timestamped, Model):
    """An external quality-assurance auditor may read one institution's records of one period
    (sessions held and entries logged within it), and change nothing."""

    __tablename__ = "auditor_mandate"
    __table_args__ = (CheckConstraint("period_from <= period_to", name="mandate_period_ordered"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True, nullable=False)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True, nullable=False)
    period_from: Mapped[date] = mapped_column(Date, nullable=False)
    period_to: Mapped[date] = mapped_column(Date, nullable=False)
    #: The last day the auditor may sign in to read (the audit visit's end).
    expires_on: Mapped[date] = mapped_column(Date, nullable=False)
    granted_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    institution: Mapped[Institution] = relationship()
    granted_by: Mapped[User] = relationship(foreign_keys=[granted_by_id])

    def active_on(self, day: date) -> bool:
        return self.revoked_at is None and day <= self.expires_on


class DataRequestKind(LabelledEnum):
    ACCESS = "access"  # art. 15: a copy of everything held
    CORRECTION = "correction"  # art. 16
    ERASURE = "erasure"  # art. 17


set_labels(DataRequestKind, {DataRequestKind.ACCESS: _l("copy of my data"),
                             DataRequestKind.CORRECTION: _l("correction"), DataRequestKind.ERASURE: _l("erasure")})


class DataRequestStatus(LabelledEnum):
    OPEN = "open"
    GRANTED = "granted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


set_labels(DataRequestStatus, {DataRequestStatus.OPEN: _l("awaiting review"), DataRequestStatus.GRANTED: _l("granted"),
                               DataRequestStatus.REFUSED: _l("refused"), DataRequestStatus.WITHDRAWN: _l("withdrawn")})


class DataRequest(Timestamped, Model):
    """A person's request about the personal data the institution holds about them."""

    __tablename__ = "data_request"
    __table_args__ = (
        CheckConstraint("kind <> 'correction' OR (details IS NOT NULL AND details <> '')", name="correction_says_what"),
        CheckConstraint("status <> 'refused' OR (reason IS NOT NULL AND reason <> '')", name="refusal_has_reason"),
        CheckConstraint("status = 'open' OR decided_at IS NOT NULL", name="decided_has_time"),
        CheckConstraint("extended_at IS NULL OR (extension_reason IS NOT NULL AND extension_reason <> '')",
                        name="extension_has_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    kind: Mapped[DataRequestKind] = mapped_column(_enum(DataRequestKind), nullable=False)
    status: Mapped[DataRequestStatus] = mapped_column(_enum(DataRequestStatus), default=DataRequestStatus.OPEN,
                                                      nullable=False)
    #: What the person asks to correct (a correction), or anything they add.
    details: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why it was refused (or what was done).
    reason: Mapped[str | None] = mapped_column(Text)
    #: For a refused erasure: the first day the records may be erased (the retention period's end).
    possible_on: Mapped[date | None] = mapped_column(Date)
    #: The time to answer extended by two months (RODO art. 12(3)), when and by whom, and why (the
    #: person receives it).
    extended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    extended_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    extension_reason: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    institution: Mapped[Institution | None] = relationship()
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
