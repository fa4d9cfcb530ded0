"""Customers: companies and contacts, their verification, completeness, tags, RODO facts and history.

Every function that changes data records an action (with the diff) and, where it
concerns a customer, an entry of the customer's history (:class:`CustomerEvent`).
Functions flush but never commit: the view commits once per request.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any, Generic, TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, and_, delete, exists, func, or_, select, true, tuple_, update
from sqlalchemy.orm import selectinload

from .. import validators as v
from ..actionlog import diff, record
from ..host import host, session
from ..models import Base, Company, Contact, CustomerEvent, Segment, Tag, Workspace
from ..models.customers import company_tag, contact_tag
from ..pagination import Page, paginate
from ..params import parse_id
from ..registry import seeder
from ..scoping import scoped
from ..textcase import name_key, unicode_lower
from . import segments as segment_service

Customer = Company | Contact

SIZES = [
    ("micro", _l("Micro (up to 9 staff)")),
    ("small", _l("Small (10–49 staff)")),
    ("medium", _l("Medium (50–249 staff)")),
    ("large", _l("Large (250+ staff)")),
]
SIZE_LABELS = dict(SIZES)

# Voivodeships are proper names: stored and shown in Polish.
REGIONS = [
    "dolnośląskie", "kujawsko-pomorskie", "lubelskie", "lubuskie", "łódzkie", "małopolskie", "mazowieckie",
    "opolskie", "podkarpackie", "podlaskie", "pomorskie", "śląskie", "świętokrzyskie", "warmińsko-mazurskie",
    "wielkopolskie", "zachodniopomorskie",
]

LEGAL_BASES = [
    ("consent", _l("Consent (Art. 6(1)(a) GDPR)")),
    ("contract", _l("Contract (Art. 6(1)(b) GDPR)")),
    ("legal_obligation", _l("Legal obligation (Art. 6(1)(c) GDPR)")),
    ("legitimate_interest", _l("Legitimate interest (Art. 6(1)(f) GDPR)")),
]
LEGAL_BASIS_LABELS = dict(LEGAL_BASES)

EVENT_KINDS = [
    ("note", _l("Note")),
    ("call", _l("Phone call")),
    ("meeting", _l("Meeting")),
    ("email", _l("E-mail")),
]

COMPANY_FIELDS = ("name", "nip", "regon", "industry", "size", "region", "city", "address", "website", "email",
                  "phone", "source", "potential_value", "notes")
CONTACT_FIELDS = ("company_id", "first_name", "last_name", "position", "email", "phone", "pesel", "source",
                  "legal_basis", "marketing_consent", "consent_at", "consent_method", "notes")

FIELD_LABELS = {
    "name": _l("Name"), "nip": _l("NIP"), "regon": _l("REGON"), "industry": _l("Industry"), "size": _l("Size"),
    "region": _l("Region"), "city": _l("City"), "address": _l("Address"), "website": _l("Website"),
    "email": _l("E-mail"), "phone": _l("Phone"), "source": _l("Data source"),
    "potential_value": _l("Potential value (PLN)"), "notes": _l("Notes"), "company_id": _l("Company"),
    "first_name": _l("First name"), "last_name": _l("Last name"), "position": _l("Position"),
    "pesel": _l("PESEL"), "legal_basis": _l("Legal basis of processing"),
    "marketing_consent": _l("Marketing consent"), "consent_at": _l("Consent date"),
    "consent_method": _l("How consent was obtained"), "tags": _l("Tags"),
}


class CustomerError(ValueError):
    """Data that cannot be saved; ``errors`` maps a field to the reason (English msgid or lazy string)."""

    def __init__(self, errors: dict[str, Any]):
        super().__init__("; ".join(f"{k}: {e}" for k, e in errors.items()))
        self.errors = errors


# --- cleaning and verification ----------------------------------------------------------------

def _text(value: Any, limit: int) -> str | None:
    text = "" if value is None else str(value).strip()
    return text[:limit] or None


def clean_company_data(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Normalise and verify company fields: ``(clean values, errors by field)``.

    Only the keys present in ``data`` are returned, so a partial update stays partial.
    """
    clean: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    limits = {"name": 200, "industry": 100, "region": 60, "city": 100, "address": 300, "website": 300,
              "source": 200, "notes": 10000}
    for key, limit in limits.items():
        if key in data:
            clean[key] = _text(data[key], limit)
    if "name" in data and not clean.get("name"):
        errors["name"] = _l("Enter the company name.")
    checks: dict[str, Callable[[str], v.Check]] = {
        "nip": v.check_nip, "regon": v.check_regon, "email": v.check_email, "phone": v.check_phone,
    }
    for key, check in checks.items():
        if key not in data:
            continue
        raw = _text(data[key], 300)
        if raw is None:
            clean[key] = None
            continue
        result = check(raw)
        if result.ok:
            clean[key] = result.value
        else:
            errors[key] = result.error
    if "size" in data:
        size = _text(data["size"], 20)
        if size is not None and size not in SIZE_LABELS:
            errors["size"] = _l("Choose one of the listed sizes.")
        clean["size"] = size
    if "potential_value" in data:
        raw = data["potential_value"]
        if raw in (None, ""):
            clean["potential_value"] = None
        else:
            try:
                amount = v.parse_amount(raw)
            except ValueError:
                errors["potential_value"] = _l("Enter an amount, e.g. 25000 or 25000.50.")
            else:
                if amount < 0 or amount >= Decimal("1e12"):
                    errors["potential_value"] = _l("Enter an amount between 0 and 999,999,999,999.")
                else:
                    clean["potential_value"] = amount
    return clean, errors


def _as_datetime(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(12, 0), tzinfo=UTC)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(text) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def clean_contact_data(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Normalise and verify contact fields (the RODO fields included): ``(clean, errors)``."""
    clean: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    limits = {"first_name": 100, "last_name": 100, "position": 150, "source": 200, "consent_method": 200,
              "notes": 10000}
    for key, limit in limits.items():
        if key in data:
            clean[key] = _text(data[key], limit)
    for key, message in (("first_name", _l("Enter the first name.")), ("last_name", _l("Enter the last name."))):
        if key in data and not clean.get(key):
            errors[key] = message
    checks: dict[str, Callable[[str], v.Check]] = {"email": v.check_email, "phone": v.check_phone,
                                                   "pesel": v.check_pesel}
    for key, check in checks.items():
        if key not in data:
            continue
        raw = _text(data[key], 300)
        if raw is None:
            clean[key] = None
            continue
        result = check(raw)
        if result.ok:
            clean[key] = result.value
        else:
            errors[key] = result.error
    if "company_id" in data:
        clean["company_id"] = data["company_id"] or None
    if "legal_basis" in data:
        basis = _text(data["legal_basis"], 30)
        if basis is not None and basis not in LEGAL_BASIS_LABELS:
            errors["legal_basis"] = _l("Choose one of the listed legal bases.")
        clean["legal_basis"] = basis
    if "marketing_consent" in data:
        clean["marketing_consent"] = bool(data["marketing_consent"])
    if "consent_at" in data:
        try:
            clean["consent_at"] = _as_datetime(data["consent_at"])
        except ValueError:
            errors["consent_at"] = _l("Enter a date as YYYY-MM-DD.")
    if clean.get("marketing_consent"):
        if "consent_at" in data and clean.get("consent_at") is None and "consent_at" not in errors:
            errors["consent_at"] = _l("Record when the consent was given.")
        if "consent_method" in data and not clean.get("consent_method"):
            errors["consent_method"] = _l("Record how the consent was obtained (e.g. web form, signed form).")
    return clean, errors


# --- snapshots, events ------------------------------------------------------------------------

def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def company_snapshot(company: Company) -> dict[str, Any]:
    """The company's fields and tags as JSON values (what a diff compares)."""
    snap = {key: _jsonable(getattr(company, key)) for key in COMPANY_FIELDS}
    snap["tags"] = [tag.name for tag in company.tags]
    return snap


def contact_snapshot(contact: Contact) -> dict[str, Any]:
    snap = {key: _jsonable(getattr(contact, key)) for key in CONTACT_FIELDS}
    snap["tags"] = [tag.name for tag in contact.tags]
    return snap


def _actor_name() -> str | None:
    actor = host().actor()
    return actor.name if actor else None


def _changed_summary(changes: dict) -> str:
    return _("Changed: %(fields)s", fields=", ".join(str(FIELD_LABELS.get(k, k)) for k in sorted(changes)))


def add_event(
    workspace: Workspace,
    *,
    kind: str,
    summary: str,
    company: Company | None = None,
    contact: Contact | None = None,
    object_type: str | None = None,
    object_id: Any = None,
) -> CustomerEvent:
    """Add an entry to a customer's history (e.g. kind="offer_sent" by the offers area).

    Given only a contact, the event is also filed under the contact's company.
    """
    if company is None and contact is not None and contact.company_id is not None:
        company = session().get(Company, contact.company_id)
    for row in (company, contact):
        if row is not None and row.workspace_id != workspace.id:
            raise ValueError("customer of another workspace")
    event = CustomerEvent(
        workspace_id=workspace.id, kind=kind, summary=summary[:5000],
        company_id=company.id if company is not None else None,
        contact_id=contact.id if contact is not None else None,
        object_type=object_type, object_id=None if object_id is None else str(object_id),
        actor_name=_actor_name(),
    )
    session().add(event)
    return event


def add_note(workspace: Workspace, customer: Customer, kind: str, text: str | None) -> CustomerEvent:
    """Record a contact with the customer (note, call, meeting, e-mail) in its history."""
    text = (text or "").strip()
    if kind not in dict(EVENT_KINDS):
        raise CustomerError({"kind": _l("Choose one of the listed kinds.")})
    if not text:
        raise CustomerError({"text": _l("Write what happened.")})
    is_company = isinstance(customer, Company)
    event = add_event(workspace, kind=kind, summary=text, company=customer if isinstance(customer, Company) else None,
                      contact=None if isinstance(customer, Company) else customer)
    session().flush()
    record(workspace, "create", "customer_event", event.id, f"{customer}: {kind}",
           {"customer_type": "company" if is_company else "contact", "customer_id": customer.id, "kind": kind,
            "summary": text[:500]})
    return event


# --- tags ---------------------------------------------------------------------------------------

def get_or_create_tag(workspace: Workspace, name: str | None) -> Tag:
    """The workspace's tag called ``name`` (whatever the case: ``ĄĆĘ`` is ``ąćę``), created if new.

    The names are compared in Python: SQLite's lower() leaves Polish capitals as they are, so a
    lookup by lower(name) missed an existing ``ĄĆĘ`` and the insert hit the unique constraint.
    """
    name = " ".join((name or "").split())[:60]
    if not name:
        raise CustomerError({"tag": _l("Enter a tag name.")})
    key = name_key(name)
    tag = next((t for t in session().scalars(scoped(Tag, workspace).order_by(Tag.id)) if name_key(t.name) == key), None)
    if tag is None:
        tag = Tag(workspace_id=workspace.id, name=name)
        session().add(tag)
        session().flush()
    return tag


def parse_tags(text: str | None) -> list[str]:
    """Tag names from a comma- or semicolon-separated text, without repeats (whatever their case)."""
    seen: dict[str, str] = {}
    for part in (text or "").replace(";", ",").split(","):
        name = " ".join(part.split())[:60]
        if name and name_key(name) not in seen:
            seen[name_key(name)] = name
    return list(seen.values())


def _object_type(customer: Customer) -> str:
    return "company" if isinstance(customer, Company) else "contact"


def add_tag(workspace: Workspace, customer: Customer, name: str | None) -> Tag:
    """Put a tag on a company or contact and record it; refused when it already carries that tag
    (in any case: ``ĄĆĘ`` and ``ąćę`` are one tag)."""
    tag = get_or_create_tag(workspace, name)
    if tag in customer.tags:
        raise CustomerError({"tag": _l("%(customer)s already has this tag (%(tag)s).", customer=str(customer), tag=tag.name)})
    before = [t.name for t in customer.tags]
    customer.tags.append(tag)
    customer.tags.sort(key=lambda t: t.name)
    record(workspace, "update", _object_type(customer), customer.id, str(customer),
           {"diff": {"tags": [before, [t.name for t in customer.tags]]}})
    return tag


def remove_tag(workspace: Workspace, customer: Customer, tag_id: int) -> None:
    """Take a tag off a company or contact and record it."""
    before = [t.name for t in customer.tags]
    remaining = [t for t in customer.tags if t.id != tag_id]
    if len(remaining) != len(customer.tags):
        customer.tags = remaining
        record(workspace, "update", _object_type(customer), customer.id, str(customer),
               {"diff": {"tags": [before, [t.name for t in remaining]]}})


def _set_tags(workspace: Workspace, customer: Customer, names: Iterable[str]) -> None:
    customer.tags = sorted({get_or_create_tag(workspace, n) for n in names}, key=lambda t: t.name)


def list_tags(workspace: Workspace) -> list[tuple[Tag, int, int]]:
    """Every tag with how many companies and contacts carry it."""
    companies = (select(company_tag.c.tag_id, func.count().label("n")).group_by(company_tag.c.tag_id)
                 .subquery())
    contacts = (select(contact_tag.c.tag_id, func.count().label("n")).group_by(contact_tag.c.tag_id)
                .subquery())
    company_count: ColumnElement[int] = func.coalesce(companies.c.n, 0)
    contact_count: ColumnElement[int] = func.coalesce(contacts.c.n, 0)
    stmt = (
        select(Tag, company_count, contact_count)
        .outerjoin(companies, companies.c.tag_id == Tag.id)
        .outerjoin(contacts, contacts.c.tag_id == Tag.id)
        .where(Tag.workspace_id == workspace.id)
        .order_by(Tag.name)
    )
    return [(tag, in_companies, in_contacts) for tag, in_companies, in_contacts in session().execute(stmt)]


# --- duplicates -------------------------------------------------------------------------------

CustomerT = TypeVar("CustomerT", Company, Contact)


@dataclass(frozen=True)
class Duplicate(Generic[CustomerT]):
    record: CustomerT
    reason: str  # "nip" | "email" | "name" | "pesel"


def find_company_duplicates(workspace: Workspace, *, name: str | None = None, nip: str | None = None,
                            email: str | None = None, exclude_id: int | None = None) -> list[Duplicate[Company]]:
    """Companies of the workspace with the same NIP, e-mail or normalised name."""
    found: list[Duplicate[Company]] = []
    seen: set[int] = set()
    probes = [("nip", Company.nip, nip), ("email", Company.email, (email or "").lower() or None),
              ("name", Company.name_normalized, v.normalize_company_name(name or "") or None)]
    for reason, column, value in probes:
        if not value:
            continue
        stmt = scoped(Company, workspace).where(column == value).order_by(Company.id).limit(5)
        if exclude_id is not None:
            stmt = stmt.where(Company.id != exclude_id)
        for company in session().scalars(stmt):
            if company.id not in seen:
                seen.add(company.id)
                found.append(Duplicate(company, reason))
    return found


def find_contact_duplicates(workspace: Workspace, *, first_name: str | None = None,
                            last_name: str | None = None, email: str | None = None,
                            pesel: str | None = None, company_id: int | None = None,
                            exclude_id: int | None = None) -> list[Duplicate[Contact]]:
    """Contacts with the same e-mail or PESEL, or the same normalised name at the same company."""
    found: list[Duplicate[Contact]] = []
    seen: set[int] = set()
    name = v.normalize_person_name(first_name or "", last_name or "")
    probes: list[tuple[str, ColumnElement]] = []
    if email:
        probes.append(("email", Contact.email == email.lower()))
    if pesel:
        probes.append(("pesel", Contact.pesel == pesel))
    if name and first_name and last_name:
        probes.append(("name", and_(Contact.name_normalized == name,
                                    Contact.company_id.is_not_distinct_from(company_id))))
    for reason, condition in probes:
        stmt = scoped(Contact, workspace).where(condition).order_by(Contact.id).limit(5)
        if exclude_id is not None:
            stmt = stmt.where(Contact.id != exclude_id)
        for contact in session().scalars(stmt):
            if contact.id not in seen:
                seen.add(contact.id)
                found.append(Duplicate(contact, reason))
    return found


def company_duplicates_to_confirm(workspace: Workspace, clean: Mapping[str, Any],
                                  company: Company | None = None) -> list[Duplicate[Company]]:
    """The companies that a company with the cleaned data ``clean`` would look like, and that the
    user must confirm before saving: for a new company every one; for an edit of ``company`` only
    those the change brings (a likeness it already had was shown, and kept, before)."""
    found = find_company_duplicates(workspace, name=clean.get("name"), nip=clean.get("nip"), email=clean.get("email"),
                                    exclude_id=company.id if company is not None else None)
    if company is None:
        return found
    known = {d.record.id for d in find_company_duplicates(workspace, name=company.name, nip=company.nip,
                                                          email=company.email, exclude_id=company.id)}
    return [d for d in found if d.record.id not in known]


def contact_duplicates_to_confirm(workspace: Workspace, clean: Mapping[str, Any], company_id: int | None,
                                  contact: Contact | None = None) -> list[Duplicate[Contact]]:
    """:func:`company_duplicates_to_confirm` for a contact (at ``company_id``)."""
    found = find_contact_duplicates(workspace, first_name=clean.get("first_name"), last_name=clean.get("last_name"),
                                    email=clean.get("email"), pesel=clean.get("pesel"), company_id=company_id,
                                    exclude_id=contact.id if contact is not None else None)
    if contact is None:
        return found
    known = {d.record.id for d in find_contact_duplicates(
        workspace, first_name=contact.first_name, last_name=contact.last_name, email=contact.email,
        pesel=contact.pesel, company_id=contact.company_id, exclude_id=contact.id)}
    return [d for d in found if d.record.id not in known]


def _repeated(column, workspace: Workspace):
    """The values of ``column`` that occur more than once in the workspace (computed once, not per row)."""
    table = column.class_
    return (select(column).where(table.workspace_id == workspace.id, column.is_not(None), column != "")
            .group_by(column).having(func.count() > 1))


def company_duplicate_condition(workspace: Workspace) -> ColumnElement:
    """SQL: the company shares its NIP, e-mail or normalised name with another company of the workspace."""
    return or_(Company.nip.in_(_repeated(Company.nip, workspace)),
               Company.email.in_(_repeated(Company.email, workspace)),
               Company.name_normalized.in_(_repeated(Company.name_normalized, workspace)))


def contact_duplicate_condition(workspace: Workspace) -> ColumnElement:
    """SQL: same e-mail or PESEL as another contact, or the same normalised name at the same company."""
    company_key = func.coalesce(Contact.company_id, 0)
    same_name = (select(Contact.name_normalized, company_key)
                 .where(Contact.workspace_id == workspace.id, Contact.name_normalized != "")
                 .group_by(Contact.name_normalized, company_key).having(func.count() > 1))
    return or_(Contact.email.in_(_repeated(Contact.email, workspace)),
               Contact.pesel.in_(_repeated(Contact.pesel, workspace)),
               tuple_(Contact.name_normalized, company_key).in_(same_name))


# --- completeness -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Requirement:
    """A piece of data a sales goal needs: how to tell in Python and in SQL that it is missing."""

    key: str
    label: Any
    is_missing: Callable[[Company], bool]
    missing_sql: Callable[[], ColumnElement]


def _field_requirement(name: str) -> Requirement:
    column = getattr(Company, name)

    def missing_sql() -> ColumnElement:
        if name == "potential_value":
            return column.is_(None)
        return or_(column.is_(None), column == "")

    return Requirement(name, FIELD_LABELS[name], lambda c: getattr(c, name) in (None, ""), missing_sql)


def _contact_requirement(key: str, label: Any, condition: Callable[[], ColumnElement],
                         check: Callable[[Contact], bool]) -> Requirement:
    return Requirement(
        key, label,
        lambda c: not any(check(p) for p in c.contacts),
        lambda: ~exists(select(1).where(Contact.company_id == Company.id, condition())),
    )


CONTACT_PERSON = _contact_requirement("contact_person", _l("A contact person"), true, lambda p: True)
CONTACT_EMAIL = _contact_requirement("contact_email", _l("A contact person with an e-mail"),
                                     lambda: Contact.email.is_not(None), lambda p: bool(p.email))
CONTACT_CONSENT = _contact_requirement("marketing_consent", _l("A contact with marketing consent"),
                                       lambda: Contact.marketing_consent.is_(True), lambda p: p.marketing_consent)
LEGAL_BASIS_ALL = Requirement(
    "legal_basis", _l("A legal basis for every contact"),
    lambda c: any(p.legal_basis is None for p in c.contacts),
    lambda: exists(select(1).where(Contact.company_id == Company.id, Contact.legal_basis.is_(None))),
)


@dataclass(frozen=True)
class Profile:
    """The data one sales goal needs about a customer."""

    key: str
    label: Any
    requirements: tuple[Requirement, ...] = field(default_factory=tuple)


def _fields(*names: str) -> tuple[Requirement, ...]:
    return tuple(_field_requirement(n) for n in names)


PROFILES: dict[str, Profile] = {
    p.key: p
    for p in (
        Profile("prospecting", _l("First contact (phone prospecting)"),
                (*_fields("name", "industry", "phone"), CONTACT_PERSON, LEGAL_BASIS_ALL)),
        Profile("offer", _l("Sending a commercial offer"),
                (*_fields("name", "nip", "address", "city", "email"), CONTACT_EMAIL, LEGAL_BASIS_ALL)),
        Profile("contract", _l("Contract and invoicing"),
                _fields("name", "nip", "regon", "address", "city", "email", "phone")),
        Profile("marketing", _l("E-mail marketing campaign"),
                (*_fields("industry", "size", "region"), CONTACT_EMAIL, CONTACT_CONSENT)),
        Profile("segmentation", _l("Segmentation by potential"),
                _fields("industry", "size", "region", "potential_value")),
    )
}


def missing_for(company: Company, profile_key: str) -> list[Requirement]:
    """The requirements of the sales goal ``profile_key`` that ``company`` does not meet yet."""
    profile = PROFILES[profile_key]
    return [r for r in profile.requirements if r.is_missing(company)]


def completeness(company: Company) -> list[tuple[Profile, list[Requirement]]]:
    """For each sales goal: what is missing (an empty list means complete)."""
    return [(profile, missing_for(company, key)) for key, profile in PROFILES.items()]


def incomplete_condition(profile_key: str) -> ColumnElement:
    return or_(*[r.missing_sql() for r in PROFILES[profile_key].requirements])


def contact_flags(contact: Contact) -> list[Any]:
    """What a contact's RODO record lacks: legal basis, data source, consent date or method."""
    flags: list[Any] = []
    if not contact.legal_basis:
        flags.append(_l("No legal basis of processing"))
    if not contact.source:
        flags.append(_l("Data source not recorded"))
    if contact.marketing_consent and (contact.consent_at is None or not contact.consent_method):
        flags.append(_l("Consent without date or method"))
    if not contact.email and not contact.phone:
        flags.append(_l("No e-mail or phone"))
    return flags


def contact_incomplete_condition() -> ColumnElement:
    return or_(Contact.legal_basis.is_(None), Contact.source.is_(None),
               and_(Contact.email.is_(None), Contact.phone.is_(None)))


# --- companies ------------------------------------------------------------------------------

def _apply(row: Any, clean: dict[str, Any]) -> None:
    for key, value in clean.items():
        setattr(row, key, value)


def create_company(workspace: Workspace, data: dict[str, Any], tags: Iterable[str] = (), *,
                   event_summary: str | None = None, log: bool = True) -> Company:
    """Create a customer account from ``data`` (raises :class:`CustomerError` on bad values)."""
    clean, errors = clean_company_data({key: data.get(key) for key in COMPANY_FIELDS if key in data} | {
        "name": data.get("name")})
    if errors:
        raise CustomerError(errors)
    company = Company(workspace_id=workspace.id, **clean)
    company.name_normalized = v.normalize_company_name(company.name)
    session().add(company)
    _set_tags(workspace, company, tags)
    session().flush()
    if log:
        record(workspace, "create", "company", company.id, company.name, {"diff": diff({}, company_snapshot(company))})
        add_event(workspace, kind="created", summary=event_summary or _("Company account created"), company=company)
    return company


def update_company(workspace: Workspace, company: Company, data: dict[str, Any],
                   tags: Iterable[str] | None = None) -> dict:
    """Change a company's fields (and tags, when given); returns and records the diff."""
    clean, errors = clean_company_data({key: data[key] for key in COMPANY_FIELDS if key in data})
    if errors:
        raise CustomerError(errors)
    before = company_snapshot(company)
    _apply(company, clean)
    company.name_normalized = v.normalize_company_name(company.name)
    if tags is not None:
        _set_tags(workspace, company, tags)
    changes = diff(before, company_snapshot(company))
    if changes:
        session().flush()
        record(workspace, "update", "company", company.id, company.name, {"diff": changes})
        add_event(workspace, kind="updated", summary=_changed_summary(changes), company=company)
    return changes


def _references(model: type[Base], row_id: int, skip: set[str]) -> dict[str, int]:
    """Rows of other areas' tables pointing at ``row_id`` (so a delete never breaks them)."""
    counts: dict[str, int] = {}
    target = model.__table__
    for table in Base.metadata.sorted_tables:
        if table.name in skip:
            continue
        for fk in table.foreign_keys:
            if fk.column.table is target:
                n = session().scalar(select(func.count()).select_from(table).where(fk.parent == row_id)) or 0
                if n:
                    counts[table.name] = counts.get(table.name, 0) + n
    return counts


OWN_TABLES = {"crm_company", "crm_contact", "crm_company_tag", "crm_contact_tag", "crm_customer_event"}


def delete_company(workspace: Workspace, company: Company) -> None:
    """Delete a company; its contacts stay (without a company); refused if other records use it."""
    used = _references(Company, company.id, OWN_TABLES)
    if used:
        raise CustomerError({"company": _l("This company is used by other records (%(tables)s): "
                                           "close or move them first.", tables=", ".join(sorted(used)))})
    record(workspace, "delete", "company", company.id, company.name, {"diff": diff(company_snapshot(company), {})})
    db = session()
    db.execute(update(Contact).where(Contact.workspace_id == workspace.id, Contact.company_id == company.id)
               .values(company_id=None))
    db.execute(delete(CustomerEvent).where(CustomerEvent.workspace_id == workspace.id,
                                           CustomerEvent.company_id == company.id))
    db.delete(company)
    db.flush()
    db.expire_all()


# --- contacts -----------------------------------------------------------------------------------

def _check_company(workspace: Workspace, company_id: int | None) -> None:
    if company_id is not None and session().scalar(scoped(Company, workspace).where(Company.id == company_id)) is None:
        raise CustomerError({"company": _l("Choose a company of this workspace.")})


def create_contact(workspace: Workspace, data: dict[str, Any], tags: Iterable[str] = (), *,
                   event_summary: str | None = None, log: bool = True) -> Contact:
    """Create a contact person (raises :class:`CustomerError` on bad values)."""
    clean, errors = clean_contact_data({key: data.get(key) for key in CONTACT_FIELDS if key in data} | {
        "first_name": data.get("first_name"), "last_name": data.get("last_name")})
    if errors:
        raise CustomerError(errors)
    _check_company(workspace, clean.get("company_id"))
    contact = Contact(workspace_id=workspace.id, **clean)
    if contact.marketing_consent and contact.consent_at is None:
        contact.consent_at = datetime.now(UTC)
    contact.name_normalized = v.normalize_person_name(contact.first_name, contact.last_name)
    session().add(contact)
    _set_tags(workspace, contact, tags)
    session().flush()
    if log:
        record(workspace, "create", "contact", contact.id, contact.full_name,
               {"diff": diff({}, contact_snapshot(contact))})
        add_event(workspace, kind="created", summary=event_summary or _("Contact person created"), contact=contact)
    return contact


def update_contact(workspace: Workspace, contact: Contact, data: dict[str, Any],
                   tags: Iterable[str] | None = None) -> dict:
    """Change a contact's fields (RODO fields included); returns and records the diff."""
    clean, errors = clean_contact_data({key: data[key] for key in CONTACT_FIELDS if key in data})
    if errors:
        raise CustomerError(errors)
    if "company_id" in clean:
        _check_company(workspace, clean["company_id"])
    before = contact_snapshot(contact)
    was_consenting = contact.marketing_consent
    _apply(contact, clean)
    if contact.marketing_consent and not was_consenting:
        contact.consent_withdrawn_at = None
        if contact.consent_at is None:
            contact.consent_at = datetime.now(UTC)
    if was_consenting and not contact.marketing_consent:
        contact.consent_withdrawn_at = datetime.now(UTC)
    contact.name_normalized = v.normalize_person_name(contact.first_name, contact.last_name)
    if tags is not None:
        _set_tags(workspace, contact, tags)
    session().flush()
    changes = diff(before, contact_snapshot(contact))
    if changes:
        record(workspace, "update", "contact", contact.id, contact.full_name, {"diff": changes})
        add_event(workspace, kind="updated", summary=_changed_summary(changes), contact=contact)
        if "marketing_consent" in changes:
            add_event(workspace, kind="consent_given" if contact.marketing_consent else "consent_withdrawn",
                      summary=(_("Marketing consent given") if contact.marketing_consent
                               else _("Marketing consent withdrawn")), contact=contact)
    return changes


def withdraw_consent(workspace: Workspace, contact: Contact) -> dict:
    """Record that the contact withdrew marketing consent (the date of withdrawal is kept)."""
    if not contact.marketing_consent:
        return {}
    before = contact_snapshot(contact)
    contact.marketing_consent = False
    contact.consent_withdrawn_at = datetime.now(UTC)
    changes = diff(before, contact_snapshot(contact))
    changes["consent_withdrawn_at"] = [None, contact.consent_withdrawn_at.isoformat()]
    record(workspace, "update", "contact", contact.id, contact.full_name,
           {"diff": changes, "action": "withdraw_consent"})
    add_event(workspace, kind="consent_withdrawn", summary=_("Marketing consent withdrawn"), contact=contact)
    return changes


def delete_contact(workspace: Workspace, contact: Contact) -> None:
    """Delete a contact; refused if other records (opportunities, offers...) use it."""
    used = _references(Contact, contact.id, OWN_TABLES)
    if used:
        raise CustomerError({"contact": _l("This contact is used by other records (%(tables)s): "
                                           "close or move them first.", tables=", ".join(sorted(used)))})
    record(workspace, "delete", "contact", contact.id, contact.full_name,
           {"diff": diff(contact_snapshot(contact), {})})
    db = session()
    db.execute(update(CustomerEvent).where(CustomerEvent.workspace_id == workspace.id,
                                           CustomerEvent.contact_id == contact.id).values(contact_id=None))
    db.delete(contact)
    db.flush()
    db.expire_all()


# --- lists ----------------------------------------------------------------------------------------

@dataclass
class CompanyFilters:
    q: str = ""
    industry: str = ""
    size: str = ""
    region: str = ""
    tag: int | None = None
    segment: int | None = None
    incomplete: str = ""  # a PROFILES key
    duplicates: bool = False
    sort: str = "name"

    def active(self) -> dict[str, Any]:
        return {k: val for k, val in self.__dict__.items() if val not in ("", None, False) and k != "sort"}


@dataclass
class ContactFilters:
    q: str = ""
    company: int | None = None
    legal_basis: str = ""  # a LEGAL_BASES key or "none"
    consent: str = ""  # yes | no
    tag: int | None = None
    segment: int | None = None
    incomplete: bool = False
    duplicates: bool = False

    def active(self) -> dict[str, Any]:
        return {k: val for k, val in self.__dict__.items() if val not in ("", None, False)}


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


COMPANY_SORTS = {
    "name": (Company.name, Company.id),
    "-created": (Company.created_at.desc(), Company.id.desc()),
    "-potential": (Company.potential_value.desc().nulls_last(), Company.id),
    "city": (Company.city, Company.name, Company.id),
}


def companies_query(workspace: Workspace, filters: CompanyFilters) -> Select:
    """The SELECT behind the company list for ``filters``."""
    stmt = scoped(Company, workspace)
    q = filters.q.strip()
    if q:
        folded = _like(v.fold(q))
        digits = "".join(ch for ch in q if ch in "0123456789")
        conditions = [Company.name_normalized.like(folded, escape="\\"),
                      unicode_lower(Company.city).like(_like(q.lower()), escape="\\"),
                      unicode_lower(Company.email).like(_like(q.lower()), escape="\\")]
        if len(digits) >= 3:
            conditions.append(Company.nip.like(_like(digits), escape="\\"))
            conditions.append(Company.regon.like(_like(digits), escape="\\"))
        stmt = stmt.where(or_(*conditions))
    if filters.industry:
        stmt = stmt.where(Company.industry == filters.industry)
    if filters.size:
        stmt = stmt.where(Company.size == filters.size)
    if filters.region:
        stmt = stmt.where(Company.region == filters.region)
    if filters.tag:
        stmt = stmt.where(exists(select(1).where(company_tag.c.company_id == Company.id,
                                                 company_tag.c.tag_id == filters.tag)))
    if filters.segment:
        segment = session().scalar(scoped(Segment, workspace).where(Segment.id == filters.segment,
                                                                    Segment.target == "company"))
        if segment is not None:
            stmt = stmt.where(segment_service.segment_condition(workspace, segment))
    if filters.incomplete in PROFILES:
        stmt = stmt.where(incomplete_condition(filters.incomplete))
    if filters.duplicates:
        stmt = stmt.where(company_duplicate_condition(workspace))
    return stmt.order_by(*COMPANY_SORTS.get(filters.sort, COMPANY_SORTS["name"]))


def list_companies(workspace: Workspace, filters: CompanyFilters, page: int = 1) -> Page:
    """One page of companies with per-row contact counts and duplicate flags; records a filter."""
    result = paginate(companies_query(workspace, filters), page)
    ids = [c.id for c in result.items]
    counts: dict[int | None, int] = {}
    duplicated: set[int] = set()
    if ids:
        counts = dict(session().execute(
            select(Contact.company_id, func.count()).where(Contact.company_id.in_(ids)).group_by(Contact.company_id)
        ).all())
        duplicated = set(session().scalars(
            select(Company.id).where(Company.id.in_(ids), company_duplicate_condition(workspace))))
    result.extra.update(contact_counts=counts, duplicated=duplicated)
    _record_filter(workspace, "company", filters.active(), result.total, page)
    return result


def contacts_query(workspace: Workspace, filters: ContactFilters) -> Select:
    """The SELECT behind the contact list for ``filters``."""
    stmt = scoped(Contact, workspace).options(selectinload(Contact.company))
    q = filters.q.strip()
    if q:
        folded = _like(v.fold(q))
        stmt = stmt.where(or_(Contact.name_normalized.like(folded, escape="\\"),
                              unicode_lower(Contact.email).like(_like(q.lower()), escape="\\"),
                              unicode_lower(Contact.position).like(_like(q.lower()), escape="\\")))
    if filters.company:
        stmt = stmt.where(Contact.company_id == filters.company)
    if filters.legal_basis == "none":
        stmt = stmt.where(Contact.legal_basis.is_(None))
    elif filters.legal_basis:
        stmt = stmt.where(Contact.legal_basis == filters.legal_basis)
    if filters.consent in ("yes", "no"):
        stmt = stmt.where(Contact.marketing_consent.is_(filters.consent == "yes"))
    if filters.tag:
        stmt = stmt.where(exists(select(1).where(contact_tag.c.contact_id == Contact.id,
                                                 contact_tag.c.tag_id == filters.tag)))
    if filters.segment:
        segment = session().scalar(scoped(Segment, workspace).where(Segment.id == filters.segment,
                                                                    Segment.target == "contact"))
        if segment is not None:
            stmt = stmt.where(segment_service.segment_condition(workspace, segment))
    if filters.incomplete:
        stmt = stmt.where(contact_incomplete_condition())
    if filters.duplicates:
        stmt = stmt.where(contact_duplicate_condition(workspace))
    return stmt.order_by(Contact.last_name, Contact.first_name, Contact.id)


def list_contacts(workspace: Workspace, filters: ContactFilters, page: int = 1) -> Page:
    """One page of contacts with duplicate flags; records a filter."""
    result = paginate(contacts_query(workspace, filters), page)
    ids = [c.id for c in result.items]
    duplicated: set[int] = set()
    if ids:
        duplicated = set(session().scalars(
            select(Contact.id).where(Contact.id.in_(ids), contact_duplicate_condition(workspace))))
    result.extra["duplicated"] = duplicated
    _record_filter(workspace, "contact", filters.active(), result.total, page)
    return result


def _record_filter(workspace: Workspace, object_type: str, active: dict[str, Any], total: int, page: int) -> None:
    # Only a fresh filtering is an action; paging through its results is not. A frozen
    # workspace's log is closed, so viewers (e.g. assessors) leave no trace in it.
    if active and page == 1 and not workspace.is_frozen:
        record(workspace, "filter", object_type, None, None, {"filters": _jsonable_dict(active), "count": total})


def _jsonable_dict(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _jsonable(val) for k, val in values.items()}


def distinct_values(workspace: Workspace, column) -> list[str]:
    """The distinct non-empty values of a Company column in the workspace (for filter choices)."""
    stmt = (select(column).where(Company.workspace_id == workspace.id, column.is_not(None), column != "")
            .distinct().order_by(column))
    return list(session().scalars(stmt))


def company_history(workspace: Workspace, company: Company, limit: int = 200) -> list[CustomerEvent]:
    """The company's history, newest first, with events of its contacts."""
    stmt = (scoped(CustomerEvent, workspace)
            .where(or_(CustomerEvent.company_id == company.id,
                       CustomerEvent.contact_id.in_(select(Contact.id).where(Contact.company_id == company.id))))
            .options(selectinload(CustomerEvent.contact))
            .order_by(CustomerEvent.occurred_at.desc(), CustomerEvent.id.desc()).limit(limit))
    return list(session().scalars(stmt))


def contact_history(workspace: Workspace, contact: Contact, limit: int = 200) -> list[CustomerEvent]:
    stmt = (scoped(CustomerEvent, workspace).where(CustomerEvent.contact_id == contact.id)
            .order_by(CustomerEvent.occurred_at.desc(), CustomerEvent.id.desc()).limit(limit))
    return list(session().scalars(stmt))


def find_company_by_reference(workspace: Workspace, reference: str) -> list[Company]:
    """Companies matching what a user typed to pick one: an id ``#12``, a NIP, or a name."""
    reference = (reference or "").strip()
    if not reference:
        return []
    company_id = parse_id(reference[1:]) if reference.startswith("#") else None
    if company_id is not None:
        return list(session().scalars(scoped(Company, workspace).where(Company.id == company_id)))
    nip = v.check_nip(reference)
    if nip.ok:
        return list(session().scalars(scoped(Company, workspace).where(Company.nip == nip.value).limit(5)))
    exact = list(session().scalars(
        scoped(Company, workspace).where(unicode_lower(Company.name) == reference.lower()).limit(5)))
    if exact:
        return exact
    normalized = v.normalize_company_name(reference)
    if not normalized:
        return []
    return list(session().scalars(
        scoped(Company, workspace).where(Company.name_normalized == normalized).limit(5)))


def company_choices(workspace: Workspace, q: str = "", limit: int = 20) -> list[Company]:
    """Companies whose name contains ``q`` (for the company picker)."""
    stmt = scoped(Company, workspace)
    if q.strip():
        stmt = stmt.where(Company.name_normalized.like(_like(v.fold(q.strip())), escape="\\"))
    return list(session().scalars(stmt.order_by(Company.name).limit(limit)))


def counts(workspace: Workspace) -> dict[str, int]:
    """How many companies, contacts and contacts without a legal basis the workspace has."""
    db = session()
    return {
        "companies": db.scalar(select(func.count()).select_from(Company).where(Company.workspace_id == workspace.id)) or 0,
        "contacts": db.scalar(select(func.count()).select_from(Contact).where(Contact.workspace_id == workspace.id)) or 0,
        "no_legal_basis": db.scalar(select(func.count()).select_from(Contact).where(
            Contact.workspace_id == workspace.id, Contact.legal_basis.is_(None))) or 0,
    }


# --- seeding ----------------------------------------------------------------------------------

def _seed_error(section: str, index: int, detail: Any) -> Exception:
    from ..errors import SeedError

    return SeedError(f"{section}[{index}]: {detail}")


@seeder("companies", order=10)
def seed_companies(workspace: Workspace, rows: list, context: dict) -> None:
    """Load the scenario's companies; ``context["companies"][key]`` maps the seed keys to them.

    A row holds the :data:`COMPANY_FIELDS` plus ``key`` and optional ``tags`` (a list of names).
    """
    companies = context.setdefault("companies", {})
    for index, row in enumerate(rows):
        try:
            company = create_company(workspace, row, row.get("tags") or (), log=False)
        except CustomerError as error:
            raise _seed_error("companies", index, error.errors) from None
        companies[row.get("key") or f"#{index}"] = company


@seeder("contacts", order=20)
def seed_contacts(workspace: Workspace, rows: list, context: dict) -> None:
    """Load the scenario's contacts; ``company`` names a company seed key. Kept in ``context["contacts"]``."""
    companies = context.get("companies", {})
    contacts = context.setdefault("contacts", {})
    for index, row in enumerate(rows):
        data = {k: val for k, val in row.items() if k in CONTACT_FIELDS}
        if row.get("company"):
            if row["company"] not in companies:
                raise _seed_error("contacts", index, f"unknown company key {row['company']!r}")
            data["company_id"] = companies[row["company"]].id
        if data.get("marketing_consent") and not data.get("consent_method"):
            data["consent_method"] = "seed"
        try:
            contact = create_contact(workspace, data, row.get("tags") or (), log=False)
        except CustomerError as error:
            raise _seed_error("contacts", index, error.errors) from None
        contacts[row.get("key") or f"#{index}"] = contact
