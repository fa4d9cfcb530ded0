"""Importing leads from a raw source: an uploaded CSV file or a pasted list (one lead a line).

The flow is: store the source (:func:`save_source`), show a :func:`preview` that maps the
columns to fields and checks every row, flagging the suspect ones (a value failing its check,
data a record needs missing, a possible duplicate), then carry out the user's decision on each
row (:func:`decide`): import it as it is, fix its values in the preview and import those, or
skip it. A row is never dropped without a decision, and every decision is logged with the
row's values, so verifying the data is the user's own, recorded act. Nothing is kept in process
memory between the steps: the source text is in the database, the preview is recomputed from
it and the decisions taken are read back from the action log.
"""
from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from .. import validators as v
from ..actionlog import record, split_result
from ..host import session
from ..models import ActionStatement, Company, ImportSource, Workspace
from ..params import parse_number
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
VALUE_KEYS = frozenset(key for key in FIELD_KEYS if key)  # the fields a value can be typed into
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
        if (_EMAIL.match(plain) or re.fullmatch(r"\S+@\S*", plain)) and "contact.email" not in values:
            # A malformed address ("jan@firma", "jan@") is still the card's e-mail: the preview
            # flags it as invalid for the candidate to fix or skip, rather than hiding it in notes.
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

# What is suspect about a row. ``missing``: data a record needs is not there, so the row cannot go
# in as it is; ``invalid``: a value fails its check (a NIP checksum, an e-mail address), so a row
# imported as it is keeps that value in the record's notes, not in its field; ``duplicate``: the
# record may exist already, in the workspace or in an earlier row of the source.
MISSING, INVALID, DUPLICATE = "missing", "invalid", "duplicate"

#: What the user decides about a row: import it as it is, import the values typed over it in the
#: preview, or leave it out. A row without a decision waits; nothing is dropped without one.
DECISIONS = ("import", "fix", "skip")

#: Fields a row of a pasted list can always be fixed in, besides those read from its line (a
#: CSV row is fixed in the fields its columns are mapped to).
PASTED_FIX_FIELDS = ("company.name", "company.nip", "company.email", "company.phone", "company.website",
                     "company.address", "company.city", "contact.full_name", "contact.position", "contact.email",
                     "contact.phone", "notes")

#: The longest text a free-text field takes (as the customer records keep it), for typed fixes;
#: checked fields (NIP, e-mail...) are refused by their own check.
FIX_MAX_LENGTHS = {"company.name": 200, "company.industry": 100, "company.region": 60, "company.city": 100,
                   "company.address": 300, "company.website": 300, "contact.full_name": 201,
                   "contact.first_name": 100, "contact.last_name": 100, "contact.position": 150, "source": 200,
                   "tags": 2000, "notes": 10_000}
FIX_MAX_DEFAULT = 300

#: The action-log object of a decision on a row (``object_id`` is ``"<source id>:<row>"``).
ROW_OBJECT = "import_row"


@dataclass(frozen=True)
class RowFlag:
    """One suspect thing about a row: its kind (``missing``, ``invalid``, ``duplicate``), what
    is wrong (translated) and the field it concerns, if one."""

    kind: str
    text: str
    field: str | None = None

    @property
    def message(self) -> str:
        """The flag as shown in the row's list, e.g. "NIP: The NIP checksum is wrong."."""
        if self.field is None:
            return self.text
        return f"{FIELD_LABELS.get(self.field, self.field)}: {self.text}"

    def logged(self) -> dict[str, Any]:
        return {"kind": self.kind, "field": self.field, "message": self.message}


@dataclass
class LeadRow:
    """One row of a source as it would be imported, with what is suspect about it."""

    number: int  # 1-based data row
    cells: list[str]
    values: dict[str, str] = field(default_factory=dict)
    company: dict[str, Any] = field(default_factory=dict)
    contact: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    flags: list[RowFlag] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Advice on what the data lacks for a sales goal: coaching, shown only where it is allowed.
    hints: list[str] = field(default_factory=list)
    fix_fields: list[str] = field(default_factory=list)
    # The values read from the source, when values typed in the preview replaced them.
    source_values: dict[str, str] | None = None
    existing_company: Company | None = None
    same_company_as: int | None = None  # an earlier row of this source creating the same company
    imported: bool = False
    skipped: bool = False  # the latest decision on the row was to skip it

    def flag(self, kind: str, text: Any, field_key: str | None = None) -> None:
        self.flags.append(RowFlag(kind, str(text), field_key))

    @property
    def errors(self) -> list[str]:
        """The flags as sentences."""
        return [flag.message for flag in self.flags]

    @property
    def blocked(self) -> bool:
        """Whether the row lacks data a record needs, so it cannot be imported as it is."""
        return any(flag.kind == MISSING for flag in self.flags)

    @property
    def importable(self) -> bool:
        """Not imported yet and nothing suspect: imported as it is unless the user decides otherwise."""
        return not self.flags and not self.imported

    @property
    def pending(self) -> bool:
        """Waiting for a decision: neither imported nor skipped."""
        return not self.imported and not self.skipped

    @property
    def read_values(self) -> dict[str, str]:
        """The values as the source gives them."""
        return self.source_values if self.source_values is not None else self.values

    def field_errors(self) -> dict[str, list[str]]:
        """What is wrong with each field (for the message beside its input in the fix form)."""
        found: dict[str, list[str]] = {}
        for flag in self.flags:
            if flag.field is not None:
                found.setdefault(flag.field, []).append(flag.text)
        return found

    def unverified(self) -> dict[str, str]:
        """The values that fail their check, by field: imported as they are, they go to the notes."""
        return {flag.field: self.values.get(flag.field, "") for flag in self.flags
                if flag.kind == INVALID and flag.field is not None}


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

    @property
    def counts(self) -> dict[str, int]:
        """How many rows are imported, skipped, waiting with flags and waiting without."""
        return {
            "rows": len(self.rows),
            "imported": sum(1 for row in self.rows if row.imported),
            "skipped": sum(1 for row in self.rows if row.skipped and not row.imported),
            "flagged": sum(1 for row in self.rows if row.pending and row.flags),
            "clean": sum(1 for row in self.rows if row.pending and not row.flags),
        }


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


def _verify(workspace: Workspace, source: ImportSource, row: LeadRow, seen: dict[str, Any]) -> None:
    """Fill ``row.company``/``row.contact`` from ``row.values`` and flag what is suspect."""
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
            row.flag(INVALID, _("not a legal basis of processing"), "contact.legal_basis")
        contact_data["legal_basis"] = basis
    consent = False
    if "marketing_consent" in contact_data:
        answer = v.fold(contact_data.pop("marketing_consent")).strip()
        if answer in YES:
            consent = True
        elif answer not in NO:
            row.flag(INVALID, _("write yes or no"), "contact.marketing_consent")
    data_source = values.get("source") or _("Import: %(name)s", name=source.name)
    row.tags = customer_service.parse_tags(values.get("tags"))
    has_company = bool(company_data.get("name"))
    has_contact = bool(contact_data.get("first_name") or contact_data.get("last_name"))
    if not has_company and not has_contact:
        row.flag(MISSING, _("No company name and no person: nothing to import."))
        return
    # The column a company field was read from, when it is not the company's own.
    read_from: dict[str, str] = {}
    if not has_contact:
        # No person in the row: its e-mail and phone are the company's (as on a pasted card),
        # rather than dropped with the person who is not there.
        for key in ("email", "phone"):
            if contact_data.get(key) and not company_data.get(key):
                company_data[key] = contact_data.pop(key)
                read_from[f"company.{key}"] = f"contact.{key}"
    if has_company:
        company_data.setdefault("source", data_source)
        if values.get("notes") and not has_contact:
            company_data["notes"] = values["notes"]
        clean, errors = customer_service.clean_company_data(company_data)
        for key, message in errors.items():
            row.flag(MISSING if key == "name" else INVALID, _(str(message)),
                     read_from.get("company." + key, "company." + key))
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
            row.flag(MISSING, _("Give the person's first and last name."))
        for key, message in errors.items():
            row.flag(MISSING if key in ("first_name", "last_name") else INVALID, _(str(message)), "contact." + key)
        row.contact = clean
        if not clean.get("legal_basis"):
            row.hints.append(_("No legal basis of processing: the contact will be flagged."))
    # A flagged row is still checked for duplicates (so every problem shows at once), but it
    # does not claim its company or person: later rows must not wait for a row that may not go in.
    register = not row.flags
    if has_company:
        _match_company(workspace, row, seen, has_contact, register)
    if has_contact:
        _match_contact(workspace, row, seen, register)


def _company_keys(company: dict[str, Any]) -> list[str]:
    """What makes two rows the same company: its NIP, its normalised name."""
    keys = [f"nip:{company['nip']}"] if company.get("nip") else []
    if company.get("name"):
        keys.append("name:" + v.normalize_company_name(company["name"]))
    return keys


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
            row.flag(DUPLICATE, _("Duplicate: the company already exists (%(name)s).", name=existing.name))
        return
    if not company.get("name"):
        return
    keys = _company_keys(company)
    for key in keys:
        if key in seen["companies"]:
            earlier = seen["companies"][key]
            if has_contact:
                row.same_company_as = earlier
                row.warnings.append(_("Same company as row %(n)d.", n=earlier))
            else:
                row.flag(DUPLICATE, _("Duplicate of row %(n)d.", n=earlier))
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
        row.flag(DUPLICATE, _("Duplicate: the person already exists (%(name)s).",
                              name=duplicates[0].record.full_name))
        return
    key = contact.get("email") or "|".join((
        v.normalize_person_name(contact.get("first_name") or "", contact.get("last_name") or ""),
        v.normalize_company_name((row.company or {}).get("name") or "")))
    if key in seen["contacts"]:
        row.flag(DUPLICATE, _("Duplicate of row %(n)d.", n=seen["contacts"][key]))
        return
    if register and key:
        seen["contacts"][key] = row.number


def _fix_fields(source: ImportSource, mapping: list[str], row: LeadRow) -> list[str]:
    """The fields a row can be fixed in, in the order of :data:`FIELDS`."""
    keys = set(PASTED_FIX_FIELDS) | set(row.values) if source.kind == "pasted" else {key for key in mapping if key}
    return [key for key, _label in FIELDS if key in keys]


def _apply_typed(row: LeadRow, typed: Mapping[str, str]) -> None:
    """Replace the row's values with those typed over them (an empty one clears its field)."""
    row.source_values = dict(row.values)
    kept = {key: value for key, value in row.values.items() if key not in typed}
    row.values = kept | {key: value.strip() for key, value in typed.items() if key in VALUE_KEYS and value.strip()}
    for key, value in typed.items():
        limit = FIX_MAX_LENGTHS.get(key, FIX_MAX_DEFAULT)
        if len(value.strip()) > limit:
            row.flag(INVALID, _("Too long: at most %(n)d characters.", n=limit), key)


def _source_rows(source: ImportSource, mapping: list[str] | None,
                 typed: Mapping[int, Mapping[str, str]]) -> tuple[list[str], list[str], list[LeadRow], str | None]:
    if source.kind == "pasted":
        lines = [line for line in source.content.split("\n") if line.strip()]
        if len(lines) > MAX_ROWS:
            raise LeadImportError(_("The list has too many lines: the limit is %(n)d.", n=MAX_ROWS))
        rows = [LeadRow(number=i + 1, cells=[line.strip()], values=parse_pasted_line(line))
                for i, line in enumerate(lines)]
        header: list[str] = []
        mapping = []
        delimiter = None
    else:
        header, data, delimiter = parse_csv(source.content)
        if mapping is None or len(mapping) != len(header):
            mapping = auto_mapping(header)
        mapping = [key if key in FIELD_KEYS else "" for key in mapping]
        rows = [LeadRow(number=i + 1, cells=cells, values=_row_values(cells, mapping)) for i, cells in enumerate(data)]
    for row in rows:
        row.fix_fields = _fix_fields(source, mapping, row)
        if row.number in typed:
            _apply_typed(row, typed[row.number])
    return header, mapping, rows, delimiter


def _logged_decisions(workspace: Workspace, source: ImportSource) -> dict[int, str]:
    """The latest decision logged on each row of ``source`` (the log is where decisions are kept)."""
    prefix = f"{source.id}:"
    statements = session().execute(
        select(ActionStatement.object_id, ActionStatement.result)
        .where(ActionStatement.workspace_id == workspace.id, ActionStatement.verb == "decide",
               ActionStatement.object_type == ROW_OBJECT, ActionStatement.object_id.startswith(prefix, autoescape=True))
        .order_by(ActionStatement.id))
    latest: dict[int, str] = {}
    for object_id, result in statements:
        number = parse_number(str(object_id or "")[len(prefix):], 1, MAX_ROWS)
        if number is not None and isinstance(result, dict):
            latest[number] = str(split_result(result)[1].get("decision"))
    return latest


def preview(workspace: Workspace, source: ImportSource, mapping: list[str] | None = None,
            typed: Mapping[int, Mapping[str, str]] | None = None) -> Preview:
    """Every row of ``source`` mapped to fields and checked (NIP, e-mail, duplicates...).

    ``typed`` holds values typed over rows in the preview (``{row: {field: text}}``): those rows
    are checked with them instead of the source's.
    """
    header, mapping, rows, delimiter = _source_rows(source, mapping, typed or {})
    seen: dict[str, Any] = {"companies": {}, "contacts": {}}
    done = set(source.imported_rows or [])
    decided = _logged_decisions(workspace, source)
    for row in rows:
        if row.number in done:
            row.imported = True
            continue
        row.skipped = decided.get(row.number) == "skip"
        _verify(workspace, source, row, seen)
    return Preview(source=source, header=header, mapping=mapping, rows=rows, delimiter=delimiter)


# --- deciding and importing ------------------------------------------------------------------

@dataclass
class ImportResult:
    companies: list[Company] = field(default_factory=list)
    contacts: list[Any] = field(default_factory=list)
    imported_rows: list[int] = field(default_factory=list)
    # Rows not imported, with why: chosen but not passing the checks (import_rows), or skipped
    # by the user (decide), with the row's flags.
    skipped: dict[int, list[str]] = field(default_factory=dict)
    decisions: dict[int, str] = field(default_factory=dict)


class DecisionError(LeadImportError):
    """Decisions that cannot all be carried out; nothing was changed.

    ``preview`` holds the rows checked with the values typed over them, ``problems`` what stands
    in the way, by row (0: the decisions as a whole).
    """

    def __init__(self, current: Preview, problems: dict[int, list[str]]):
        super().__init__(_("Nothing was imported or skipped: see the rows marked below."))
        self.preview = current
        self.problems = problems


def _same_text(a: str, b: str) -> bool:
    """Whether a value came back from the form as it was sent: a browser strips the line breaks
    of a one-line input (a CSV cell may have some), so white space does not count."""
    return "".join(a.split()) == "".join(b.split())


def _decision_problems(current: Preview, decisions: Mapping[int, str],
                       typed: Mapping[int, Mapping[str, str]]) -> dict[int, list[str]]:
    """What stands in the way of the decisions, by row (0: the decisions as a whole)."""
    problems: dict[int, list[str]] = {}
    rows = {row.number: row for row in current.rows}
    if not decisions:
        problems[0] = [_("Decide on at least one row: import it, fix it or skip it.")]
    for number, decision in sorted(decisions.items()):
        row = rows.get(number)
        if row is None:
            problems.setdefault(0, []).append(_("There is no row %(n)d in this source.", n=number))
        elif row.imported:
            problems.setdefault(number, []).append(_("This row is already imported."))
        elif decision == "import" and row.blocked:
            problems.setdefault(number, []).append(
                _("This row lacks data a record needs: fix it or skip it."))
        elif decision == "fix" and row.flags:
            problems.setdefault(number, []).append(
                _("The fixed values do not pass the checks: correct them, import the row as it is or skip it."))
    for number, values in sorted(typed.items()):
        row = rows.get(number)
        if row is None or row.imported or decisions.get(number) in ("fix", "skip"):
            continue
        if any(not _same_text(value, row.values.get(key, "")) for key, value in values.items()):
            problems.setdefault(number, []).append(
                _("You changed this row's values: choose Fix to import them, or Skip."))
    return problems


def decide(workspace: Workspace, source: ImportSource, decisions: Mapping[int, str],
           typed: Mapping[int, Mapping[str, str]] | None = None, mapping: list[str] | None = None) -> ImportResult:
    """Carry out the user's decision on rows of ``source``, each one logged with the row's values.

    ``decisions`` maps a row to ``import`` (as it is: a value failing its check goes to the
    record's notes), ``fix`` (import ``typed[row]``, the values typed over the row, which must pass
    the checks) or ``skip``; a row without a decision waits. All or nothing: when any decision
    cannot be carried out, :class:`DecisionError` says why and nothing is changed.
    """
    typed = typed or {}
    decisions = {number: decision for number, decision in decisions.items() if decision in DECISIONS}
    fixes = {number: dict(typed.get(number, {})) for number, decision in decisions.items() if decision == "fix"}
    current = preview(workspace, source, mapping, fixes)
    problems = _decision_problems(current, decisions, typed)
    if problems:
        raise DecisionError(current, problems)
    as_read = preview(workspace, source, mapping) if fixes else current
    flags = {row.number: row.flags for row in as_read.rows}
    chosen = {number for number, decision in decisions.items() if decision != "skip"}
    return _carry_out(workspace, source, current, decisions, chosen, {}, flags)


def import_rows(workspace: Workspace, source: ImportSource, selected: Iterable[int],
                mapping: list[str] | None = None) -> ImportResult:
    """Import the chosen rows that pass the checks, as they are; a chosen row that does not is left
    waiting and reported in ``skipped`` with its reasons. Recorded like :func:`decide`.

    A shortcut for a caller that picks rows (the host, a test); the preview page decides row by row.
    """
    chosen = set(selected)
    if not chosen:
        raise LeadImportError(_("Choose at least one row to import."))
    current = preview(workspace, source, mapping)
    decisions: dict[int, str] = {}
    refused: dict[int, list[str]] = {}
    for row in current.rows:
        if row.number not in chosen:
            continue
        if row.importable:
            decisions[row.number] = "import"
        else:
            refused[row.number] = row.errors or [_("Already imported.")]
    return _carry_out(workspace, source, current, decisions, chosen, refused,
                      {row.number: row.flags for row in current.rows})


def _carry_out(workspace: Workspace, source: ImportSource, current: Preview, decisions: Mapping[int, str],
               chosen: set[int], refused: dict[int, list[str]], flags: Mapping[int, list[RowFlag]]) -> ImportResult:
    """Import and skip the rows as decided, log each decision and the import as a whole."""
    result = ImportResult(skipped=dict(refused), decisions=dict(decisions))
    label = _("Imported from %(name)s", name=source.name)
    made: dict[str, Company] = {}  # companies created by earlier rows of this import, by _company_keys
    for row in current.rows:
        decision = decisions.get(row.number)
        if decision is None:
            continue
        as_read = flags.get(row.number, [])
        if decision == "skip":
            result.skipped[row.number] = [flag.message for flag in as_read]
            _record_decision(workspace, source, row, decision, as_read)
            continue
        company, contact, created = _import_row(workspace, row, label, made)
        if created and company is not None:
            result.companies.append(company)
        if contact is not None:
            result.contacts.append(contact)
        result.imported_rows.append(row.number)
        _record_decision(workspace, source, row, decision, as_read, company, contact, created)
    source.imported_rows = sorted(set(source.imported_rows or []) | set(result.imported_rows))
    if chosen:
        source.last_imported_at = datetime.now(UTC)
        record(workspace, "import", "import_source", source.id, source.name, {
            "rows_chosen": sorted(chosen), "rows_imported": result.imported_rows,
            "rows_skipped": {str(k): [str(m) for m in msgs] for k, msgs in result.skipped.items()},
            "companies_created": [c.id for c in result.companies],
            "contacts_created": [c.id for c in result.contacts],
            "mapping": current.mapping,
            "decisions": {str(k): d for k, d in sorted(decisions.items())},
        })
    session().flush()
    return result


def _with_unverified(notes: str | None, unverified: Mapping[str, str]) -> str | None:
    """``notes`` with a line listing the values that failed their check (defused like any cell)."""
    if not unverified:
        return notes
    listed = "; ".join(f"{FIELD_LABELS.get(key, key)}: {v.neutralize_formula(value)[0]}"
                       for key, value in unverified.items())
    line = _("Values that failed the checks on import: %(values)s", values=listed)
    return f"{notes}\n\n{line}" if notes else line


def _import_row(workspace: Workspace, row: LeadRow, label: str,
                made: dict[str, Company]) -> tuple[Company | None, Any, bool]:
    """Create the row's company (unless it exists) and person: ``(company, contact, company created)``.

    Values failing their check are left out of their fields and listed in the notes of the record
    they belong to (of the other one when that is not created).
    """
    unverified = row.unverified()
    company_values = {k: val for k, val in row.company.items() if f"company.{k}" not in unverified}
    contact_values = {k: val for k, val in row.contact.items() if f"contact.{k}" not in unverified}
    company: Company | None = None
    if row.contact:
        company = row.existing_company or next(
            (made[key] for key in _company_keys(row.company) if key in made), None)
    creating = bool(row.company) and company is None
    of_company = {k: val for k, val in unverified.items() if k.startswith("company.")}
    of_others = {k: val for k, val in unverified.items() if k not in of_company}
    to_company = (of_company if creating else {}) | ({} if row.contact else of_others)
    to_contact = (of_others if row.contact else {}) | ({} if creating else of_company)
    if creating:
        company_values["notes"] = _with_unverified(company_values.get("notes"), to_company)
        company = customer_service.create_company(workspace, company_values, row.tags if not row.contact else (),
                                                  event_summary=label)
        for key in _company_keys(company_values):
            made.setdefault(key, company)
    contact = None
    if row.contact:
        contact_values["notes"] = _with_unverified(contact_values.get("notes"), to_contact)
        contact = customer_service.create_contact(
            workspace, contact_values | {"company_id": company.id if company is not None else None}, row.tags,
            event_summary=label)
    return company, contact, creating


def _record_decision(workspace: Workspace, source: ImportSource, row: LeadRow, decision: str,
                     flags: list[RowFlag], company: Company | None = None, contact: Any = None,
                     company_created: bool = False) -> None:
    """Log the user's decision on a row, with the row's values as read and the flags it had."""
    details: dict[str, Any] = {"source_id": source.id, "row": row.number, "decision": decision,
                               "values": dict(row.read_values), "flags": [flag.logged() for flag in flags]}
    if decision == "fix":
        details["fixed_values"] = dict(row.values)
    if decision != "skip":
        details["unverified"] = row.unverified()
        details["company_id"] = company.id if company is not None else None
        details["company_created"] = company_created
        details["contact_id"] = contact.id if contact is not None else None
    record(workspace, "decide", ROW_OBJECT, f"{source.id}:{row.number}",
           _("%(name)s, row %(n)d", name=source.name, n=row.number), details)


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
