"""The qualification as data: loaded from question_bank/qualifications/<code>.yaml."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import JSON, Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model, db
from ..qualifications.settings import QualificationSettings
from .base import Timestamped

if TYPE_CHECKING:
    from .people import Institution

institution_qualification = Table(
    "institution_qualification",
    db.metadata,
    Column("institution_id", ForeignKey("institution.id", ondelete="CASCADE"), primary_key=True),
    Column("qualification_id", ForeignKey("qualification.id", ondelete="CASCADE"), primary_key=True),
)


class Qualification(Timestamped, Model):
    __tablename__ = "qualification"
    __table_args__ = (CheckConstraint("prk_level IS NULL OR (prk_level >= 1 AND prk_level <= 8)", name="prk_level_range"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name_pl: Mapped[str] = mapped_column(String(300), nullable=False)
    name_en: Mapped[str] = mapped_column(String(300), nullable=False)
    summary_pl: Mapped[str] = mapped_column(Text, nullable=False)
    summary_en: Mapped[str] = mapped_column(Text, nullable=False)
    validation_pl: Mapped[str] = mapped_column(Text, nullable=False)
    validation_en: Mapped[str] = mapped_column(Text, nullable=False)
    methods: Mapped[dict] = mapped_column(JSON, nullable=False)  # method -> {"pl": ..., "en": ...}
    settings: Mapped[dict] = mapped_column(JSON, nullable=False)
    #: The Polish Qualifications Framework level, when the definition states it (ZSK act art. 10):
    #: certificates print it only then.
    prk_level: Mapped[int | None] = mapped_column(Integer)
    #: The description's "validity of the document and conditions for extending it", verbatim.
    validity_pl: Mapped[str | None] = mapped_column(Text)
    validity_en: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    loaded_at = mapped_column(UTCDateTime, nullable=False)

    outcome_sets: Mapped[list[OutcomeSet]] = relationship(
        back_populates="qualification", order_by="OutcomeSet.number", cascade="all, delete-orphan"
    )
    institutions: Mapped[list[Institution]] = relationship(secondary=institution_qualification, back_populates="qualifications")

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_pl

    @property
    def rules(self) -> QualificationSettings:
        """The settings, typed and with their defaults (read from the JSON on each access: a reader
        that needs several takes this once)."""
        return QualificationSettings.from_json(self.settings)


class OutcomeSet(Model):
    __tablename__ = "outcome_set"
    __table_args__ = (UniqueConstraint("qualification_id", "number", name="qualification_set_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    qualification_id: Mapped[int] = mapped_column(
        ForeignKey("qualification.id", ondelete="CASCADE"), index=True, nullable=False
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    name_pl: Mapped[str] = mapped_column(String(300), nullable=False)
    name_en: Mapped[str] = mapped_column(String(300), nullable=False)

    qualification: Mapped[Qualification] = relationship(back_populates="outcome_sets")
    outcomes: Mapped[list[LearningOutcome]] = relationship(
        back_populates="outcome_set", order_by="LearningOutcome.code", cascade="all, delete-orphan"
    )


class LearningOutcome(Model):
    __tablename__ = "learning_outcome"
    __table_args__ = (UniqueConstraint("outcome_set_id", "code", name="set_outcome_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome_set_id: Mapped[int] = mapped_column(
        ForeignKey("outcome_set.id", ondelete="CASCADE"), index=True, nullable=False
    )
    code: Mapped[str] = mapped_column(String(10), nullable=False)
    name_pl: Mapped[str] = mapped_column(String(300), nullable=False)
    name_en: Mapped[str] = mapped_column(String(300), nullable=False)

    outcome_set: Mapped[OutcomeSet] = relationship(back_populates="outcomes")
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="outcome", order_by="Criterion.code", cascade="all, delete-orphan"
    )


class Criterion(Model):
    """A verification criterion, e.g. ``1.2.d``, with its official Polish wording."""

    __tablename__ = "criterion"
    __table_args__ = (UniqueConstraint("outcome_id", "code", name="outcome_criterion_code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    outcome_id: Mapped[int] = mapped_column(
        ForeignKey("learning_outcome.id", ondelete="CASCADE"), index=True, nullable=False
    )
    code: Mapped[str] = mapped_column(String(12), nullable=False)
    text_pl: Mapped[str] = mapped_column(Text, nullable=False)
    text_en: Mapped[str] = mapped_column(Text, nullable=False)
    method: Mapped[str] = mapped_column(String(20), nullable=False)
    interview_follow_up: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    outcome: Mapped[LearningOutcome] = relationship(back_populates="criteria")

    def text(self, locale: str) -> str:
        return self.text_en if locale == "en" else self.text_pl
