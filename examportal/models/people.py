"""People, their roles, institutions and who trained whom."""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, Date, Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model
from .base import LabelledEnum, Timestamped, set_labels
from .sealed import SealedString

if TYPE_CHECKING:
    from .qualification import Qualification


class Role(LabelledEnum):
    CANDIDATE = "candidate"
    OPERATOR = "operator"
    ASSESSOR = "assessor"
    APPEALS = "appeals"
    STAFF = "staff"
    ADMIN = "admin"
    #: An external quality-assurance auditor: reads one institution's records of one period
    #: (see AuditorMandate) and changes nothing.
    AUDITOR = "auditor"


set_labels(Role, {
    Role.CANDIDATE: _l("Candidate"), Role.OPERATOR: _l("Exam-system operator"), Role.ASSESSOR: _l("Assessor"),
    Role.APPEALS: _l("Appeals panel member"), Role.STAFF: _l("Institution staff"), Role.ADMIN: _l("Administrator"),
    Role.AUDITOR: _l("External auditor"),
})


# Roles that act on behalf of an institution and so are tied to one.
INSTITUTION_ROLES = {Role.OPERATOR, Role.ASSESSOR, Role.APPEALS, Role.STAFF}
# (An auditor's role names the institution audited, but the auditor does not act for it.)

# Roles whose holders decide about candidates, supervise their tests, audit their records or run
# the platform: they sign in with a password and a second factor. A candidate may opt in.
DECIDING_ROLES = frozenset({Role.OPERATOR, Role.ASSESSOR, Role.APPEALS, Role.STAFF, Role.ADMIN, Role.AUDITOR})


class InstitutionKind(LabelledEnum):
    CERTIFYING = "certifying"
    VALIDATING = "validating"


set_labels(InstitutionKind, {InstitutionKind.CERTIFYING: _l("Certifying institution"),
                             InstitutionKind.VALIDATING: _l("Validating institution")})


class Institution(Timestamped, Model):
    """A certifying institution (IC) or a validating institution linked to one."""

    __tablename__ = "institution"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'validating' AND parent_id IS NOT NULL) OR (kind = 'certifying' AND parent_id IS NULL)",
            name="validating_has_parent",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    short_name: Mapped[str] = mapped_column(String(60), nullable=False)
    kind: Mapped[InstitutionKind] = mapped_column(
        Enum(InstitutionKind, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    )
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)
    city: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))

    parent: Mapped[Institution | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Institution]] = relationship(back_populates="parent")
    #: The qualifications a certifying institution is authorised for.
    qualifications: Mapped[list[Qualification]] = relationship(
        secondary="institution_qualification", back_populates="institutions")

    @property
    def certifying(self) -> Institution:
        """The certifying institution this one acts for (itself if it is one)."""
        return self.parent if self.parent is not None else self

    def __str__(self) -> str:
        return self.short_name


class User(UserMixin, Timestamped, Model):
    """A person: candidate, operator, assessor, staff … (one person may hold several roles)."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(300), nullable=False)
    first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(String(100), nullable=False)
    # Identity data a certificate needs: a PESEL, or for a person without one a document.
    pesel: Mapped[str | None] = mapped_column(String(11), unique=True)
    id_document_type: Mapped[str | None] = mapped_column(String(30))
    id_document_number: Mapped[str | None] = mapped_column(String(40))
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_place: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(30))
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rodo_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rodo_clause_version: Mapped[str | None] = mapped_column(String(20))
    locale: Mapped[str | None] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The base32 secret shared with the person's authenticator app (TOTP, RFC 6238); None while
    #: no second factor is set up. Sealed in the database (models/sealed.py).
    totp_secret: Mapped[str | None] = mapped_column(SealedString())
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The time-step (Unix time // 30) of the last code accepted: a code of that step or an earlier
    #: one is refused, so a code seen over a shoulder or replayed from a proxy works only once.
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    #: When the person's identifying data was replaced after the retention period (or granted
    #: erasure); the account can no longer sign in.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="RecoveryCode.id"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def full_name(self) -> str:
        if self.anonymised_at is not None:  # the stored names are placeholders (records.retention)
            return str(_l("Anonymised person #%(id)s", id=self.id))
        return f"{self.first_name} {self.last_name}"

    def has_role(self, role: Role, institution_id: int | None = None) -> bool:
        """Whether the person holds ``role`` (at ``institution_id`` when given)."""
        return any(
            r.role == role and (institution_id is None or r.institution_id == institution_id) for r in self.roles
        )

    def institution_ids(self, role: Role) -> set[int]:
        """The institutions at which the person holds ``role``."""
        return {r.institution_id for r in self.roles if r.role == role and r.institution_id is not None}

    @property
    def role_names(self) -> list[str]:
        return sorted({r.role.value for r in self.roles})

    @property
    def needs_second_factor(self) -> bool:
        """Whether the person must sign in with a second factor (they hold a deciding role)."""
        return any(r.role in DECIDING_ROLES for r in self.roles)

    @property
    def has_second_factor(self) -> bool:
        return self.totp_secret is not None

    def __str__(self) -> str:
        return self.full_name


class UserRole(Model):
    """A role a person holds, at an institution for the institution-bound roles."""

    __tablename__ = "user_role"
    __table_args__ = (UniqueConstraint("user_id", "role", "institution_id", name="user_role_institution"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True, nullable=False)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]), nullable=False
    )
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"), index=True)

    user: Mapped[User] = relationship(back_populates="roles")
    institution: Mapped[Institution | None] = relationship()


class RecoveryCode(Timestamped, Model):
    """A one-time code that stands in for the authenticator app (lost phone); only its hash is kept."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True, nullable=False)
    code_hash: Mapped[str] = mapped_column(String(300), nullable=False)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="recovery_codes")


class TrainingRecord(Timestamped, Model):
    """A trainer prepared a candidate for the qualification: they may never assess that candidate."""

    __tablename__ = "training_record"
    __table_args__ = (UniqueConstraint("trainer_id", "candidate_id", name="trainer_candidate"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trainer_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True, nullable=False)
    course: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    trainer: Mapped[User] = relationship(foreign_keys=[trainer_id])
    candidate: Mapped[User] = relationship(foreign_keys=[candidate_id])
