"""Signed credentials: the Open Badges 3.0 credential of each certificate, the institution's
signing keys and the Bitstring Status Lists that publish revocation and suspension."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model
from .certification import Certificate
from .people import Institution

#: Bitstring Status List: at least 131,072 entries (16 KiB), so a list says little about how many
#: credentials an institution issued nor which bit is whose.
STATUS_LIST_SIZE = 131_072
STATUS_PURPOSES = ("revocation", "suspension")


class CredentialKey(Model):
    """An institution's Ed25519 signing key. The private key is stored sealed (AES-GCM under the
    key-encryption key kept outside the database, see ``CREDENTIAL_KEY``); the public key is
    published for as long as any credential signed with it may be checked. At most one key of an
    institution signs (``retired_at`` is null); rotation retires it and creates the next one."""

    __tablename__ = "credential_key"
    __table_args__ = (
        UniqueConstraint("institution_id", "kid", name="kid"),
        Index("ix_credential_key_one_active", "institution_id", unique=True,
              sqlite_where=text("retired_at IS NULL"), postgresql_where=text("retired_at IS NULL")),
        CheckConstraint("length(public_key) = 32", name="ed25519_public_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), nullable=False)
    #: The key's id in its URL (``/ob/issuers/<institution>/keys/<kid>``): random, URL-safe.
    kid: Mapped[str] = mapped_column(String(40), nullable=False)
    public_key: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    #: nonce (12 bytes) + AES-256-GCM ciphertext of the raw 32-byte private key.
    sealed_private_key: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: Rotated out: signs nothing more, still verifies what it signed.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    institution: Mapped[Institution] = relationship()


class StatusList(Model):
    """One Bitstring Status List of an institution for one purpose. Revocation bits are never
    cleared; suspension bits are set and cleared. ``published`` is the signed status list
    credential served at the list's URL, signed again whenever a bit changes."""

    __tablename__ = "status_list"
    __table_args__ = (
        CheckConstraint("purpose IN ('revocation', 'suspension')", name="purpose"),
        CheckConstraint(f"size >= {STATUS_LIST_SIZE}", name="size_minimum"),
        CheckConstraint("used >= 0 AND used <= size", name="used_within_size"),
        Index("ix_status_list_institution_purpose", "institution_id", "purpose"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), nullable=False)
    purpose: Mapped[str] = mapped_column(String(20), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False, default=STATUS_LIST_SIZE)
    #: How many entries are given to credentials (the list takes new ones while under half full).
    used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    bits: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    published: Mapped[dict[str, Any] | None] = deferred(mapped_column(JSON))

    institution: Mapped[Institution] = relationship()


class Credential(Model):
    """The signed Open Badges 3.0 credential of a certificate, as issued (never re-signed: a
    change of the certificate's status is published in the status lists instead)."""

    __tablename__ = "credential"
    __table_args__ = (
        UniqueConstraint("revocation_list_id", "revocation_index", name="revocation_entry"),
        UniqueConstraint("suspension_list_id", "suspension_index", name="suspension_entry"),
        CheckConstraint("revocation_index >= 0 AND suspension_index >= 0", name="index_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), unique=True, nullable=False)
    key_id: Mapped[int] = mapped_column(ForeignKey("credential_key.id"), index=True, nullable=False)
    document: Mapped[dict[str, Any]] = deferred(mapped_column(JSON, nullable=False))
    document_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revocation_list_id: Mapped[int] = mapped_column(ForeignKey("status_list.id"), nullable=False)
    revocation_index: Mapped[int] = mapped_column(Integer, nullable=False)
    suspension_list_id: Mapped[int] = mapped_column(ForeignKey("status_list.id"), nullable=False)
    suspension_index: Mapped[int] = mapped_column(Integer, nullable=False)

    certificate: Mapped[Certificate] = relationship()
    key: Mapped[CredentialKey] = relationship()
    revocation_list: Mapped[StatusList] = relationship(foreign_keys=[revocation_list_id])
    suspension_list: Mapped[StatusList] = relationship(foreign_keys=[suspension_list_id])
