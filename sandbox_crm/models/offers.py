"""Products and services (price list), offer templates, offers with their lines, and the sandbox outbox."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from .base import Base, UTCDateTime, WorkspaceScoped, code_enum, one_of

VAT_RATES = ("23", "8", "5", "0", "zw")  # "zw" = exempt (zwolniony)
PRODUCT_KINDS = ("product", "service")


class OfferStatus(enum.StrEnum):
    """Drafted, generated (HTML and PDF), sent from the outbox, then accepted or rejected by the customer."""

    DRAFT = "draft"
    GENERATED = "generated"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


# The stored codes as plain strings, for ``in`` tests on input (see sales.TASK_STATUSES).
OFFER_STATUSES = tuple(s.value for s in OfferStatus)


class Product(WorkspaceScoped, Base):
    """An item of the price list: a product or a service with its net unit price and VAT rate."""

    __tablename__ = "crm_product"
    __table_args__ = (
        UniqueConstraint("workspace_id", "sku", name="workspace_sku"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
        Index("ix_crm_product_ws_active_name", "workspace_id", "active", "name"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    sku: Mapped[str | None] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10), nullable=False, default="product", index=True)
    unit: Mapped[str] = mapped_column(String(20), nullable=False, default="szt.")
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    vat_rate: Mapped[str] = mapped_column(String(3), nullable=False, default="23")
    description: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    def __str__(self) -> str:
        return self.name


class OfferTemplate(WorkspaceScoped, Base):
    """A candidate-written offer body with merge tags, rendered by the sandboxed engine."""

    __tablename__ = "crm_offer_template"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="workspace_name"),)

    name: Mapped[str] = mapped_column(String(150), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text, nullable=False, default="")
    validity_days: Mapped[int] = mapped_column(Integer, nullable=False, default=30)

    def __str__(self) -> str:
        return self.name


class Offer(WorkspaceScoped, Base):
    """An offer for one recipient, built from database records; generated to HTML and PDF, then sent.

    The recipient's name and e-mail are copied at generation, so the document and
    its history stay readable even if the customer is edited or deleted later.
    """

    __tablename__ = "crm_offer"
    __table_args__ = (
        UniqueConstraint("workspace_id", "number", name="workspace_number"),
        one_of("status", OfferStatus),
        Index("ix_crm_offer_ws_status", "workspace_id", "status"),
        Index("ix_crm_offer_ws_issue_date", "workspace_id", "issue_date"),
    )

    number: Mapped[str] = mapped_column(String(40), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("crm_company.id", ondelete="SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("crm_contact.id", ondelete="SET NULL"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_opportunity.id", ondelete="SET NULL"), index=True
    )
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_offer_template.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[OfferStatus] = mapped_column(code_enum(OfferStatus, 12), nullable=False, default=OfferStatus.DRAFT)
    issue_date: Mapped[date] = mapped_column(Date, nullable=False)
    valid_until: Mapped[date | None] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="PLN")
    notes: Mapped[str | None] = mapped_column(Text)
    total_net: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, default=Decimal("0"))
    total_vat: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, default=Decimal("0"))
    total_gross: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False, default=Decimal("0"), index=True)
    recipient_name: Mapped[str | None] = mapped_column(String(300))
    recipient_email: Mapped[str | None] = mapped_column(String(254))
    html: Mapped[str | None] = deferred(mapped_column(Text))
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    generated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list[OfferLine]] = relationship(
        back_populates="offer", order_by="OfferLine.position", cascade="all, delete-orphan", passive_deletes=True
    )

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class OfferLine(WorkspaceScoped, Base):
    """One line of an offer: a product (copied from the price list, editable) with quantity and discount."""

    __tablename__ = "crm_offer_line"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("discount_pct >= 0 AND discount_pct <= 100", name="discount_range"),
    )

    offer_id: Mapped[int] = mapped_column(ForeignKey("crm_offer.id", ondelete="CASCADE"), index=True, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("crm_product.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str] = mapped_column(String(20), nullable=False, default="szt.")
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3), nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    discount_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), nullable=False, default=Decimal("0"))
    vat_rate: Mapped[str] = mapped_column(String(3), nullable=False, default="23")

    offer: Mapped[Offer] = relationship(back_populates="lines")


class OutboxMessage(WorkspaceScoped, Base):
    """An e-mail "sent" from the sandbox: it never leaves it, the outbox page shows it."""

    __tablename__ = "crm_outbox_message"
    __table_args__ = (Index("ix_crm_outbox_message_ws_sent", "workspace_id", "sent_at"),)

    to_address: Mapped[str] = mapped_column(String(254), nullable=False)
    to_name: Mapped[str | None] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("crm_offer.id", ondelete="SET NULL"), index=True)
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_sha256: Mapped[str | None] = mapped_column(String(64))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("crm_company.id", ondelete="SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("crm_contact.id", ondelete="SET NULL"), index=True)
    sent_by: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    offer: Mapped[Offer | None] = relationship()
