"""Customers: companies (accounts), contacts, tags, segments, the customer history and lead sources."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, WorkspaceScoped, utcnow

# Tagging rows carry no workspace of their own: both ends are rows of one workspace,
# and the services only ever link a tag and a record found in the same workspace.
company_tag = Table(
    "crm_company_tag",
    Base.metadata,
    Column("company_id", ForeignKey("crm_company.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("crm_tag.id", ondelete="CASCADE"), primary_key=True, index=True),
)

contact_tag = Table(
    "crm_contact_tag",
    Base.metadata,
    Column("contact_id", ForeignKey("crm_contact.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("crm_tag.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(WorkspaceScoped, Base):
    """A free label put on companies and contacts; segments can select by it."""

    __tablename__ = "crm_tag"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="workspace_name"),)

    name: Mapped[str] = mapped_column(String(60), nullable=False)


class Company(WorkspaceScoped, Base):
    """A customer account (a firm or an institution)."""

    __tablename__ = "crm_company"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    # Lower-cased, diacritics folded, legal form removed: what duplicate detection compares.
    name_normalized: Mapped[str] = mapped_column(String(200), index=True, nullable=False, default="")
    nip: Mapped[str | None] = mapped_column(String(10), index=True)
    regon: Mapped[str | None] = mapped_column(String(14), index=True)
    industry: Mapped[str | None] = mapped_column(String(100), index=True)
    size: Mapped[str | None] = mapped_column(String(20), index=True)  # micro | small | medium | large
    region: Mapped[str | None] = mapped_column(String(60), index=True)
    city: Mapped[str | None] = mapped_column(String(100), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    website: Mapped[str | None] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(200))
    potential_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), index=True)
    notes: Mapped[str | None] = mapped_column(Text)

    tags: Mapped[list[Tag]] = relationship(secondary=company_tag, order_by=Tag.name, lazy="selectin")
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="company", order_by="Contact.last_name", passive_deletes=True
    )

    def __str__(self) -> str:
        return self.name


class Contact(WorkspaceScoped, Base):
    """A person, usually at a company; carries the RODO facts of processing their data."""

    __tablename__ = "crm_contact"

    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_company.id", ondelete="SET NULL"), index=True
    )
    first_name: Mapped[str] = mapped_column(String(100), nullable=False)
    last_name: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    name_normalized: Mapped[str] = mapped_column(String(210), index=True, nullable=False, default="")
    position: Mapped[str | None] = mapped_column(String(150))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    pesel: Mapped[str | None] = mapped_column(String(11), index=True)
    source: Mapped[str | None] = mapped_column(String(200))
    # consent | contract | legitimate_interest | legal_obligation; NULL = no basis (flagged)
    legal_basis: Mapped[str | None] = mapped_column(String(30), index=True)
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False, index=True)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_method: Mapped[str | None] = mapped_column(String(200))
    consent_withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str | None] = mapped_column(Text)

    company: Mapped[Company | None] = relationship(back_populates="contacts")
    tags: Mapped[list[Tag]] = relationship(secondary=contact_tag, order_by=Tag.name, lazy="selectin")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def __str__(self) -> str:
        return self.full_name


class Segment(WorkspaceScoped, Base):
    """A saved selection of customers by rules (industry, size, region, value, tags, consent).

    ``rules`` keys: ``industries``, ``sizes``, ``regions`` (lists), ``min_value``,
    ``max_value`` (numbers as strings), ``tags`` (tag names), ``tag_mode`` (any | all),
    ``marketing_consent`` (true | false | absent). ``target`` says whether the segment
    lists companies or contacts.
    """

    __tablename__ = "crm_segment"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="workspace_name"),)

    name: Mapped[str] = mapped_column(String(150), nullable=False)
    target: Mapped[str] = mapped_column(String(20), nullable=False, default="company")
    sales_goal: Mapped[str | None] = mapped_column(Text)
    product: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    rules: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)

    @property
    def tags(self) -> list[str]:
        return list(self.rules.get("tags") or [])


class CustomerEvent(WorkspaceScoped, Base):
    """One entry of a customer's history: created, updated, imported, consent, note, offer sent..."""

    __tablename__ = "crm_customer_event"
    __table_args__ = (Index("ix_crm_customer_event_ws_occurred", "workspace_id", "occurred_at"),)

    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_company.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contact.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(80))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    company: Mapped[Company | None] = relationship()
    contact: Mapped[Contact | None] = relationship()


class ImportSource(WorkspaceScoped, Base):
    """A raw lead source waiting to be imported: an uploaded CSV, a pasted list, the scenario's file."""

    __tablename__ = "crm_import_source"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(10), nullable=False)  # csv | pasted
    origin: Mapped[str] = mapped_column(String(10), nullable=False, default="upload")  # seed | upload
    content: Mapped[str] = mapped_column(Text, nullable=False)
    # Row numbers (1-based, data rows) already imported, so the preview can mark them.
    imported_rows: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    last_imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
