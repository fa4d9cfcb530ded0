"""Importing leads from a raw source: an uploaded CSV file or a pasted list (one lead a line).

The flow is: store the source (:func:`save_source`), show a :func:`preview` that maps the
columns to fields and verifies every row, then :func:`import_rows` the rows the user
chose. Nothing is kept in process memory between the steps: the source text is in the
database and the preview is recomputed from it.
"""
from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import validators as v
from ..actionlog import record
from ..host import session
from ..models import Company, ImportSource, Workspace
from ..registry import seeder
from ..scoping import scoped
from . import customers as customer_service

MAX_UPLOAD_BYTES = 1_000_000
MAX_PASTE_CHARS = 200_000
MAX_ROWS = 2_000
ALLOWED_EXTENSIONS = {".csv", ".txt"}
ALLOWED_MIMETYPES = {"text/csv", "text/plain", "application/csv", "text/x-csv", "application/vnd.ms-excel",
                     "text/comma-separated-values", "application/octet-stream", ""}

# The fields a column can be mapped to ("" = ignore the column).
FIELDS: list[tuple[str, Any]] = [
    ("", _l("— ignore —")),
    ("company.name", _l("Company name")),
    ("company.nip", _l("NIP")),
    ("company.regon", _l("REGON")),
    ("company.industry", _l("Industry")),
    ("company.size", _l("Size")),
    ("company.region", _l("Region")),
    ("company.city", _l("City")),
    ("company.address", _l("Address")),
    ("company.website", _l("Website")),
    ("company.email", _l("Company e-mail")),
    ("company.phone", _l("Company phone")),
    ("company.potential_value", _l("Potential value (PLN)")),
    ("contact.full_name", _l("Person: full name")),
    ("contact.first_name", _l("Person: first name")),
    ("contact.last_name", _l("Person: last name")),
    ("contact.position", _l("Person: position")),
    ("contact.email", _l("Person: e-mail")),
    ("contact.phone", _l("Person: phone")),
    ("contact.pesel", _l("Person: PESEL")),
    ("contact.legal_basis", _l("Person: legal basis")),
    ("contact.marketing_consent", _l("Person: marketing consent")),
    ("source", _l("Data source")),
    ("tags", _l("Tags")),
    ("notes", _l("Notes")),
]
FIELD_KEYS = {key for key, _label in FIELDS}
FIELD_LABELS = dict(FIELDS)

# Column headers (folded: lower case, no diacritics) a field is recognised by.
HEADER_SYNONYMS: dict[str, str] = {}
for _field, _names in {
    "company.name": ["firma", "nazwa firmy", "nazwa", "company", "company name", "klient", "kontrahent",
                     "organizacja", "przedsiebiorstwo"],
    "company.nip": ["nip", "nip firmy", "vat id", "tax id"],
    "company.regon": ["regon"],
    "company.industry": ["branza", "industry", "sektor"],
    "company.size": ["wielkosc", "wielkosc firmy", "size", "rozmiar"],
    "company.region": ["wojewodztwo", "region"],
    "company.city": ["miasto", "miejscowosc", "city"],
    "company.address": ["adres", "ulica", "address"],
    "company.website": ["www", "strona", "strona www", "website", "witryna"],
    "company.email": ["e-mail firmy", "email firmy", "company email"],
    "company.phone": ["telefon firmy", "company phone"],
    "company.potential_value": ["potencjal", "wartosc", "potencjal sprzedazy", "potential", "potential value",
                                "wartosc potencjalna", "budzet"],
    "contact.full_name": ["imie i nazwisko", "osoba", "osoba kontaktowa", "kontakt", "contact", "full name",
                          "name"],
    "contact.first_name": ["imie", "first name", "firstname"],
    "contact.last_name": ["nazwisko", "last name", "lastname", "surname"],
    "contact.position": ["stanowisko", "funkcja", "position", "job title", "title"],
    "contact.email": ["e-mail", "email", "mail", "adres e-mail", "e-mail osoby"],
    "contact.phone": ["telefon", "tel", "tel.", "phone", "komorka", "telefon komorkowy", "mobile"],
    "contact.pesel": ["pesel"],
    "contact.legal_basis": ["podstawa prawna", "podstawa przetwarzania", "legal basis"],
    "contact.marketing_consent": ["zgoda", "zgoda marketingowa", "zgoda na marketing", "marketing consent",
                                  "consent"],
    "source": ["zrodlo", "zrodlo danych", "source"],
    "tags": ["tagi", "tags", "etykiety"],
    "notes": ["uwagi", "notatki", "notes", "komentarz"],
}.items():
    for _name in _names:
        HEADER_SYNONYMS[_name] = _field

LEGAL_BASIS_SYNONYMS = {
    "consent": "consent", "zgoda": "consent", "a": "consent",
    "contract": "contract", "umowa": "contract", "b": "contract",
    "legal obligation": "legal_obligation", "legal_obligation": "legal_obligation",
    "obowiazek prawny": "legal_obligation", "c": "legal_obligation",
    "legitimate interest": "legitimate_interest", "legitimate_interest": "legitimate_interest",
    "uzasadniony interes": "legitimate_interest", "prawnie uzasadniony interes": "legitimate_interest",
    "f": "legitimate_interest",
}
YES = {"tak", "yes", "y", "t", "1", "true", "x", "zgoda"}
NO = {"nie", "no", "n", "0", "false", "brak", "-"}
SIZE_SYNONYMS = {"mikro": "micro", "micro": "micro", "mala": "small", "small": "small", "srednia": "medium",
                 "medium": "medium", "duza": "large", "large": "large"}


class LeadImportError(ValueError):
    """A source that cannot be read or stored: too big, not a CSV, unreadable encoding, empty..."""


# --- reading a source -------------------------------------------------------------------------------

def max_upload_bytes() -> int:
    return int(current_app.config.get("SANDBOX_IMPORT_MAX_BYTES", MAX_UPLOAD_BYTES))


def decode_bytes(data: bytes) -> str:
    """Text of an uploaded file: UTF-8 (with or without BOM), else Windows-1250; else an error."""
    if b"\x00" in data:
        raise LeadImportError(_("This is not a text file. Save the sheet as CSV and upload that."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1250")
        except UnicodeDecodeError:
            raise LeadImportError(
                _("The file's encoding cannot be read. Save it as CSV in UTF-8 (or Windows-1250).")) from None
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        raise LeadImportError(_("The file contains control characters: it does not look like a CSV file."))
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_upload(filename: str, mimetype: str | None, data: bytes) -> str:
    """Check an uploaded CSV file (name, type, size, encoding) and return its text."""
    extension = os.path.splitext(filename or "")[1].lower()
    if extension not in ALLOWED_EXTENSIONS:
        raise LeadImportError(_("Upload a .csv (or .txt) file."))
    if (mimetype or "").split(";")[0].strip().lower() not in ALLOWED_MIMETYPES:
        raise LeadImportError(_("Upload a CSV file: this file's type is %(type)s.", type=mimetype))
    limit = max_upload_bytes()
    if len(data) > limit:
        raise LeadImportError(_("The file is too big: the limit is %(kb)d kB.", kb=limit // 1000))
    text = decode_bytes(data)
    if not text.strip():
        raise LeadImportError(_("The file is empty."))
    return text


def save_source(workspace: Workspace, *, name: str, kind: str, content: str, origin: str = "upload") -> ImportSource:
    """Store a lead source of the workspace (``kind`` csv | pasted) and record it."""
    if kind not in ("csv", "pasted"):
        raise ValueError(kind)
    if kind == "pasted" and len(content) > MAX_PASTE_CHARS:
        raise LeadImportError(_("The pasted text is too long: the limit is %(n)d characters.", n=MAX_PASTE_CHARS))
    if not content.strip():
        raise LeadImportError(_("There is nothing to import: the text is empty."))
    source = ImportSource(workspace_id=workspace.id, name=(name or kind)[:200], kind=kind, origin=origin,
                          content=content.replace("\r\n", "\n"), imported_rows=[])
    session().add(source)
    session().flush()
    if origin != "seed":
        record(workspace, "create", "import_source", source.id, source.name,
               {"kind": kind, "characters": len(source.content)})
    return source


def list_sources(workspace: Workspace) -> list[ImportSource]:
    return list(session().scalars(scoped(ImportSource, workspace).order_by(ImportSource.origin.desc(),
                                                                         ImportSource.id)))


# --- parsing ---------------------------------------------------------------------------------

def sniff_delimiter(text: str) -> str:
    """The CSV delimiter (``;`` ``,`` tab or ``|``), from the first lines."""
    sample = "\n".join(text.split("\n")[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        first = text.split("\n", 1)[0]
        return max(";,\t|", key=first.count)


def parse_csv(text: str) -> tuple[list[str], list[list[str]], str]:
    """``(header, data rows, delimiter)``; raises :class:`LeadImportError` on a broken file."""
    delimiter = sniff_delimiter(text)
    try:
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in row)]
    except csv.Error as error:
        raise LeadImportError(_("The CSV file is broken: %(error)s", error=str(error))) from None
    if not rows:
        raise LeadImportError(_("The file has no rows."))
    if len(rows) > MAX_ROWS + 1:
        raise LeadImportError(_("The file has too many rows: the limit is %(n)d.", n=MAX_ROWS))
    first = [cell.strip() for cell in rows[0]]
    recognised = sum(1 for cell in first if v.fold(cell) in HEADER_SYNONYMS)
    if recognised and recognised * 2 >= len([c for c in first if c]):
        return first, rows[1:], delimiter
    width = max(len(r) for r in rows)
    return [_("Column %(n)d", n=i + 1) for i in range(width)], rows, delimiter


def auto_mapping(header: list[str]) -> list[str]:
    """The field each header most likely holds ("" when unknown); a field is used once."""
    used: set[str] = set()
    mapping: list[str] = []
    for cell in header:
        key = HEADER_SYNONYMS.get(v.fold(cell.strip()), "")
        if key in used:
            key = ""
        used.add(key)
        mapping.append(key)
    return mapping


_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
_POSTAL = re.compile(r"\b\d{2}-\d{3}\s+([^\d,]+)$")
_COMPANY_WORDS = ("firma", "spolka", "sp. z o.o", "sp.z o.o", " s.a.", " sa", "sp.j.", "sp.k.", " s.c.", "p.h.u",
                  "phu", "fhu", "ppuh", "zaklad", "hurtownia", "przedsiebiorstwo", "sklep", "biuro", "studio",
                  "grupa", "ltd", "gmbh", "fundacja", "stowarzyszenie", "urzad", "szpital", "gmina")
_PERSON = re.compile(r"^[A-ZŁŚŻŹĆŃÓĄĘ][a-ząćęłńóśźż]+(?:-[A-ZŁŚŻŹĆŃÓĄĘ][a-ząćęłńóśźż]+)?"
                     r"(?:\s+[A-ZŁŚŻŹĆŃÓĄĘ][a-ząćęłńóśźż]+(?:-[A-ZŁŚŻŹĆŃÓĄĘ][a-ząćęłńóśźż]+)?){1,2}$")


def _looks_like_company(token: str) -> bool:
    folded = " " + v.fold(token) + " "
    return any(word in folded for word in _COMPANY_WORDS)


def parse_pasted_line(line: str) -> dict[str, str]:
    """Fields of one business-card style line, e.g.
    ``Jan Kowalski, Kierownik zakupów, Firma X sp. z o.o., jan@x.pl, +48 600 100 200``."""
    separator = "\t" if "\t" in line else (";" if ";" in line else ",")
    tokens = [t.strip() for t in line.split(separator) if t.strip()]
    values: dict[str, str] = {}
    rest: list[str] = []
    for token in tokens:
        plain = re.sub(r"^(e-?mail|tel\.?|telefon|kom\.?|nip|regon)\s*[:.]?\s*", "", token, flags=re.I)
        label = v.fold(token.split(":")[0]) if ":" in token else ""
        if _EMAIL.match(plain) and "contact.email" not in values:
            values["contact.email"] = plain
        elif label == "nip" or (re.fullmatch(r"(PL)?[\d\s-]{10,13}", plain) and v.check_nip(plain).ok
                                and "company.nip" not in values):
            values["company.nip"] = plain
        elif label == "regon":
            values["company.regon"] = plain
        elif re.fullmatch(r"[+\d\s()-]{9,}", plain) and "contact.phone" not in values:
            values["contact.phone"] = plain
        elif re.match(r"^(https?://|www\.)", plain, re.I) and "company.website" not in values:
            values["company.website"] = plain
        elif _looks_like_company(token) and "company.name" not in values:
            values["company.name"] = token
        elif (postal := _POSTAL.search(token)) and "company.address" not in values:
            values["company.address"] = token
            values["company.city"] = postal.group(1).strip()
        elif _PERSON.match(token) and "contact.full_name" not in values:
            values["contact.full_name"] = token
        elif "contact.position" not in values and "contact.full_name" in values and not any(c.isdigit() for c in token):
            values["contact.position"] = token
        else:
            rest.append(token)
    if rest:
        if "company.name" not in values and "contact.full_name" in values:
            values["company.name"] = rest.pop(0)
        if rest:
            values["notes"] = ", ".join(rest)
    if "contact.full_name" not in values:
        # No person on the card: its e-mail and phone are the company's.
        for key in ("email", "phone"):
            if f"contact.{key}" in values:
                values.setdefault(f"company.{key}", values.pop(f"contact.{key}"))
        values.pop("contact.position", None)
    return values


# --- preview ---------------------------------------------------------------------------------

@dataclass
class LeadRow:
    """One row of a source as it would be imported, with what is wrong with it."""

    number: int  # 1-based data row
    cells: list[str]
    values: dict[str, str] = field(default_factory=dict)
    company: dict[str, Any] = field(default_factory=dict)
    contact: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    existing_company: Company | None = None
    same_company_as: int | None = None  # an earlier row of this source creating the same company
    imported: bool = False

    @property
    def importable(self) -> bool:
        return not self.errors and not self.imported


@dataclass
class Preview:
    source: ImportSource
    header: list[str]
    mapping: list[str]
    rows: list[LeadRow]
    delimiter: str | None = None

    @property
    def importable_count(self) -> int:
        return sum(1 for row in self.rows if row.importable)


def _split_name(full: str) -> tuple[str, str]:
    parts = full.split()
    if len(parts) == 1:
        return "", parts[0]
    return " ".join(parts[:-1]), parts[-1]


def _row_values(cells: list[str], mapping: list[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for index, key in enumerate(mapping):
        if not key or index >= len(cells):
            continue
        cell = cells[index].strip()
        if cell:
            values[key] = f"{values[key]} {cell}" if key in values else cell
    return values


def _field_error(key: str, message: Any) -> str:
    return f"{FIELD_LABELS.get(key, key)}: {_(str(message))}"


def _verify(workspace: Workspace, source: ImportSource, row: LeadRow, seen: dict[str, Any]) -> None:
    """Fill ``row.company``/``row.contact`` from ``row.values`` and list what is wrong."""
    values = {}
    for key, raw in row.values.items():
        safe, changed = v.neutralize_formula(raw)
        if changed:
            row.warnings.append(_("%(field)s looked like a spreadsheet formula and was defused.",
                                  field=FIELD_LABELS.get(key, key)))
        values[key] = safe
    company_data: dict[str, Any] = {k.split(".", 1)[1]: val for k, val in values.items() if k.startswith("company.")}
    contact_data: dict[str, Any] = {k.split(".", 1)[1]: val for k, val in values.items() if k.startswith("contact.")}
    if "full_name" in contact_data:
        first, last = _split_name(contact_data.pop("full_name"))
        contact_data.setdefault("first_name", first)
        contact_data.setdefault("last_name", last)
    if "size" in company_data:
        company_data["size"] = SIZE_SYNONYMS.get(v.fold(company_data["size"]), company_data["size"])
    if "legal_basis" in contact_data:
        basis = LEGAL_BASIS_SYNONYMS.get(v.fold(contact_data["legal_basis"]).strip())
        if basis is None:
            row.errors.append(_field_error("contact.legal_basis", _("not a legal basis of processing")))
        contact_data["legal_basis"] = basis
    consent = False
    if "marketing_consent" in contact_data:
        answer = v.fold(contact_data.pop("marketing_consent")).strip()
        if answer in YES:
            consent = True
        elif answer not in NO:
            row.errors.append(_field_error("contact.marketing_consent", _("write yes or no")))
    data_source = values.get("source") or _("Import: %(name)s", name=source.name)
    row.tags = customer_service.parse_tags(values.get("tags"))
    has_company = bool(company_data.get("name"))
    has_contact = bool(contact_data.get("first_name") or contact_data.get("last_name"))
    if not has_company and not has_contact:
        row.errors.append(_("No company name and no person: nothing to import."))
        return
    if has_company:
        company_data.setdefault("source", data_source)
        if values.get("notes") and not has_contact:
            company_data["notes"] = values["notes"]
        clean, errors = customer_service.clean_company_data(company_data)
        row.errors.extend(_field_error("company." + k, msg) for k, msg in errors.items())
        row.company = clean
    if has_contact:
        contact_data["source"] = data_source
        contact_data["marketing_consent"] = consent
        if consent:
            contact_data["consent_at"] = datetime.now(UTC)
            contact_data["consent_method"] = _("Stated in the lead source %(name)s", name=source.name)
        if values.get("notes"):
            contact_data["notes"] = values["notes"]
        clean, errors = customer_service.clean_contact_data(contact_data)
        if "first_name" in errors and clean.get("last_name"):
            errors.pop("first_name")
            row.errors.append(_("Give the person's first and last name."))
        row.errors.extend(_field_error("contact." + k, msg) for k, msg in errors.items())
        row.contact = clean
        if not clean.get("legal_basis"):
            row.warnings.append(_("No legal basis of processing: the contact will be flagged."))
    # A row with errors is still checked for duplicates (so every problem shows at once), but it
    # does not claim its company or person: later rows must not wait for a row that cannot go in.
    register = not row.errors
    if has_company:
        _match_company(workspace, row, seen, has_contact, register)
    if has_contact:
        _match_contact(workspace, row, seen, register)


def _match_company(workspace: Workspace, row: LeadRow, seen: dict[str, Any], has_contact: bool,
                   register: bool) -> None:
    company = row.company
    duplicates = customer_service.find_company_duplicates(
        workspace, name=company.get("name"), nip=company.get("nip"), email=company.get("email"))
    if duplicates:
        existing = duplicates[0].record
        if has_contact:
            row.existing_company = existing
            row.warnings.append(_("The company already exists (%(name)s): the person will be added to it.",
                                  name=existing.name))
        else:
            row.errors.append(_("Duplicate: the company already exists (%(name)s).", name=existing.name))
        return
    if not company.get("name"):
        return
    keys = [f"nip:{company['nip']}"] if company.get("nip") else []
    keys.append("name:" + v.normalize_company_name(company["name"]))
    for key in keys:
        if key in seen["companies"]:
            earlier = seen["companies"][key]
            if has_contact:
                row.same_company_as = earlier
                row.warnings.append(_("Same company as row %(n)d.", n=earlier))
            else:
                row.errors.append(_("Duplicate of row %(n)d.", n=earlier))
            return
    if register:
        for key in keys:
            seen["companies"][key] = row.number


def _match_contact(workspace: Workspace, row: LeadRow, seen: dict[str, Any], register: bool) -> None:
    contact = row.contact
    company_id = row.existing_company.id if row.existing_company is not None else None
    duplicates = customer_service.find_contact_duplicates(
        workspace, first_name=contact.get("first_name"), last_name=contact.get("last_name"),
        email=contact.get("email"), pesel=contact.get("pesel"), company_id=company_id)
    if duplicates:
        row.errors.append(_("Duplicate: the person already exists (%(name)s).", name=duplicates[0].record.full_name))
        return
    key = contact.get("email") or "|".join((
        v.normalize_person_name(contact.get("first_name") or "", contact.get("last_name") or ""),
        v.normalize_company_name((row.company or {}).get("name") or "")))
    if key in seen["contacts"]:
        row.errors.append(_("Duplicate of row %(n)d.", n=seen["contacts"][key]))
        return
    if register and key:
        seen["contacts"][key] = row.number


def _source_rows(source: ImportSource, mapping: list[str] | None) -> tuple[list[str], list[str], list[LeadRow], str | None]:
    if source.kind == "pasted":
        lines = [line for line in source.content.split("\n") if line.strip()]
        if len(lines) > MAX_ROWS:
            raise LeadImportError(_("The list has too many lines: the limit is %(n)d.", n=MAX_ROWS))
        rows = [LeadRow(number=i + 1, cells=[line.strip()], values=parse_pasted_line(line))
                for i, line in enumerate(lines)]
        return [], [], rows, None
    header, data, delimiter = parse_csv(source.content)
    if mapping is None or len(mapping) != len(header):
        mapping = auto_mapping(header)
    mapping = [key if key in FIELD_KEYS else "" for key in mapping]
    rows = [LeadRow(number=i + 1, cells=cells, values=_row_values(cells, mapping)) for i, cells in enumerate(data)]
    return header, mapping, rows, delimiter


def preview(workspace: Workspace, source: ImportSource, mapping: list[str] | None = None) -> Preview:
    """Every row of ``source`` mapped to fields and verified (NIP, e-mail, duplicates...)."""
    header, mapping, rows, delimiter = _source_rows(source, mapping)
    seen: dict[str, Any] = {"companies": {}, "contacts": {}}
    done = set(source.imported_rows or [])
    for row in rows:
        if row.number in done:
            row.imported = True
            continue
        _verify(workspace, source, row, seen)
    return Preview(source=source, header=header, mapping=mapping, rows=rows, delimiter=delimiter)


@dataclass
class ImportResult:
    companies: list[Company] = field(default_factory=list)
    contacts: list[Any] = field(default_factory=list)
    imported_rows: list[int] = field(default_factory=list)
    skipped: dict[int, list[str]] = field(default_factory=dict)


def import_rows(workspace: Workspace, source: ImportSource, selected: Iterable[int],
                mapping: list[str] | None = None) -> ImportResult:
    """Import the chosen rows that verify; the others are skipped with their reasons. Recorded as "import"."""
    chosen = set(selected)
    result = ImportResult()
    if not chosen:
        raise LeadImportError(_("Choose at least one row to import."))
    current = preview(workspace, source, mapping)
    created_by_row: dict[int, Company] = {}
    label = _("Imported from %(name)s", name=source.name)
    for row in current.rows:
        if row.number not in chosen:
            continue
        if not row.importable:
            result.skipped[row.number] = row.errors or [_("Already imported.")]
            continue
        if row.same_company_as is not None and row.same_company_as not in created_by_row:
            earlier = next(r for r in current.rows if r.number == row.same_company_as)
            if not earlier.imported:
                result.skipped[row.number] = [_("Import row %(n)d too: it creates the company.",
                                                n=row.same_company_as)]
                continue
        company = row.existing_company or created_by_row.get(row.same_company_as or -1)
        if company is None and row.same_company_as is not None:
            company = _company_from_earlier_import(workspace, row)
        if row.company and company is None:
            company = customer_service.create_company(workspace, row.company, row.tags if not row.contact else (),
                                                      event_summary=label)
            created_by_row[row.number] = company
            result.companies.append(company)
        if row.contact:
            contact = customer_service.create_contact(
                workspace, row.contact | {"company_id": company.id if company is not None else None}, row.tags,
                event_summary=label)
            result.contacts.append(contact)
        result.imported_rows.append(row.number)
    source.imported_rows = sorted(set(source.imported_rows or []) | set(result.imported_rows))
    source.last_imported_at = datetime.now(UTC)
    record(workspace, "import", "import_source", source.id, source.name, {
        "rows_chosen": sorted(chosen), "rows_imported": result.imported_rows,
        "rows_skipped": {str(k): [str(m) for m in msgs] for k, msgs in result.skipped.items()},
        "companies_created": [c.id for c in result.companies],
        "contacts_created": [c.id for c in result.contacts],
        "mapping": current.mapping,
    })
    session().flush()
    return result


def _company_from_earlier_import(workspace: Workspace, row: LeadRow) -> Company | None:
    duplicates = customer_service.find_company_duplicates(
        workspace, name=row.company.get("name"), nip=row.company.get("nip"))
    return duplicates[0].record if duplicates else None


# --- seeding ---------------------------------------------------------------------------------

def _seed_sources(workspace: Workspace, rows: list, kind: str, default_name: str) -> None:
    """Rows are either lines of one source (strings) or sources ``{"name": ..., "content": ...}``."""
    if all(isinstance(row, str) for row in rows):
        content = "\n".join(rows)
        if content.strip():
            save_source(workspace, name=default_name, kind=kind, content=content, origin="seed")
        return
    for index, row in enumerate(rows):
        if not isinstance(row, dict) or not str(row.get("content", "")).strip():
            from ..errors import SeedError

            raise SeedError(f"leads_{kind}[{index}]: expected a string or {{'name', 'content'}}")
        save_source(workspace, name=row.get("name") or default_name, kind=kind, content=str(row["content"]),
                    origin="seed")


@seeder("leads_csv", order=30)
def seed_leads_csv(workspace: Workspace, rows: list, context: dict) -> None:
    """The scenario's raw lead file, offered on the import page."""
    _seed_sources(workspace, rows, "csv", "leady.csv")


@seeder("leads_pasted", order=31)
def seed_leads_pasted(workspace: Workspace, rows: list, context: dict) -> None:
    """The scenario's pasted lead list (e.g. business cards typed in), offered on the import page."""
    _seed_sources(workspace, rows, "pasted", "wizytówki.txt")
