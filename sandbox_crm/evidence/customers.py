"""Evidence checks of 1.2.b–e: customer accounts, customer data, segments, updating records.

Where the scenario's key names them, the checks judge against the records the sheet asks for:
the accounts to create by hand (``new_customers``), the lead rows not to import
(``faulty_import_rows``), the records and values to update (``record_updates``) and the segments
with the customers that belong in them (``segments``). Names and values are compared as a person
would (:mod:`.matching`); entering a faulty row, a wrong value or a customer in the wrong segment
is not met, work on records the sheet does not name does not count.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..host import session
from ..models import ActionStatement, Company, Contact, ImportSource, Segment, Tag, Workspace
from ..models.customers import company_tag, contact_tag
from ..scoping import scoped
from ..services import customers as customer_service
from ..services import imports as import_service
from ..services import segments as segment_service
from .base import CheckResult, EvidenceRow, Verdict, check
from .common import (
    EMPTY_VALUES,
    candidate_statements,
    changes_of,
    details_of,
    existing,
    ids_of,
    object_id_of,
    record_row,
    result,
)
from .key import ScenarioKey, target_kind
from .matching import Match, fields_problem, judge_value, logged_rows, same_name, same_words
from .wording import joined

Customer = Company | Contact
COMPANY_FIELDS = tuple(f for f in customer_service.COMPANY_FIELDS)
CONTACT_FIELDS = tuple(f for f in customer_service.CONTACT_FIELDS if f != "company_id")


# --- the key's targets --------------------------------------------------------------------------

def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _records_problem(value: object, *, contacts_allowed: bool) -> str | None:
    if not isinstance(value, list) or not value:
        return "expected a list of records: {company: name, fields: {...}} or {contact: name, fields: {...}}"
    for index, entry in enumerate(value):
        where = f"[{index}]"
        if not isinstance(entry, Mapping):
            return f"{where}: expected a mapping naming a company or a contact"
        kinds = [kind for kind in ("company", "contact") if kind in entry]
        if len(kinds) != 1 or not _text(entry[kinds[0]]):
            return f"{where}: name either a company or a contact (its name as the sheet gives it)"
        allowed = {kinds[0], "fields"} | ({"contacts"} if contacts_allowed and kinds[0] == "company" else set())
        unknown = sorted(set(entry) - allowed)
        if unknown:
            return f"{where}: unknown key(s) {', '.join(unknown)} (expected: {', '.join(sorted(allowed))})"
        names = COMPANY_FIELDS if kinds[0] == "company" else CONTACT_FIELDS
        if "fields" in entry or not contacts_allowed:
            problem = fields_problem(entry.get("fields"), names)
            if problem:
                return f"{where}: {problem}"
        people = entry.get("contacts", [])
        if not isinstance(people, list):
            return f"{where}.contacts: expected a list of {{name, fields}}"
        for number, person in enumerate(people):
            if not isinstance(person, Mapping) or not _text(person.get("name")) or set(person) - {"name", "fields"}:
                return f"{where}.contacts[{number}]: expected {{name: full name, fields: {{...}}}}"
            if "fields" in person:
                problem = fields_problem(person["fields"], CONTACT_FIELDS)
                if problem:
                    return f"{where}.contacts[{number}]: {problem}"
    return None


def _faulty_rows_problem(value: object) -> str | None:
    if not isinstance(value, list) or not value:
        return "expected a list of rows: {source: file name, row: number, name?, reason?, duplicate?}"
    for index, entry in enumerate(value):
        where = f"[{index}]"
        if not isinstance(entry, Mapping):
            return f"{where}: expected a mapping"
        unknown = sorted(set(entry) - {"source", "row", "name", "reason", "duplicate"})
        if unknown:
            return f"{where}: unknown key(s) {', '.join(unknown)}"
        if not _text(entry.get("source")):
            return f"{where}.source: expected the lead source's name as the import page shows it"
        row = entry.get("row")
        if isinstance(row, bool) or not isinstance(row, int) or row < 1:
            return f"{where}.row: expected the row's number among the source's data rows (1 = first)"
        if "name" in entry and not _text(entry["name"]):
            return f"{where}.name: expected the company (or person) the row names"
        if "reason" in entry and not _text(entry["reason"]):
            return f"{where}.reason: expected a text"
        if "duplicate" in entry and not isinstance(entry["duplicate"], bool):
            return f"{where}.duplicate: expected true or false"
    return None


def _segments_problem(value: object) -> str | None:
    if not isinstance(value, list) or not value:
        return "expected a list of segments: {name, members?: [names], not_members?: [names]}"
    for index, entry in enumerate(value):
        where = f"[{index}]"
        if not isinstance(entry, Mapping) or not _text(entry.get("name")):
            return f"{where}: expected a mapping with the segment's name as the sheet gives it"
        unknown = sorted(set(entry) - {"name", "members", "not_members"})
        if unknown:
            return f"{where}: unknown key(s) {', '.join(unknown)}"
        for part in ("members", "not_members"):
            names = entry.get(part, [])
            if not isinstance(names, list) or not all(_text(n) for n in names):
                return f"{where}.{part}: expected a list of company or person names"
    return None


NEW_CUSTOMERS = target_kind(
    "new_customers",
    "customers the sheet asks to enter by hand: a list of {company: name, fields: {nip: …, city: …}, "
    "contacts: [{name, fields: {phone: …, legal_basis: …}}]} or {contact: name, fields: {…}} (a person "
    "without a company). A field's value is the sheet's text, a list of acceptable texts, or true (any "
    "value: the candidate decides it). 1.2.b counts the companies, 1.2.c the data entered.",
    lambda value: _records_problem(value, contacts_allowed=True))
FAULTY_IMPORT_ROWS = target_kind(
    "faulty_import_rows",
    "lead rows the sheet says not to import: a list of {source: the lead source's name, row: its number "
    "among the source's data rows, name: the company or person it names, reason: why (for assessors), "
    "duplicate: true when it repeats a valid record (typing that name by hand is then no fault)}. The "
    "other rows of the scenario's lead sources are the valid ones.",
    _faulty_rows_problem)
RECORD_UPDATES = target_kind(
    "record_updates",
    "existing records the sheet asks to update or complete: a list of {company: name, fields: {address: "
    "…, regon: …}} or {contact: name, fields: {legal_basis: […]}}; a value is the sheet's text, a list of "
    "acceptable texts, true (any value) or true/false for yes/no fields.",
    lambda value: _records_problem(value, contacts_allowed=False))
SEGMENTS = target_kind(
    "segments",
    "segments the sheet asks for: a list of {name: as the sheet gives it, members: companies or people "
    "that belong in it, not_members: ones that do not}. A saved segment or a tag of that name counts; "
    "listed members not in the workspace (e.g. leads not imported) are not required.",
    _segments_problem)


@dataclass(frozen=True)
class NamedRecord:
    """A company or person the key names, with the values the sheet gives for it."""

    object_type: str  # company | contact
    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    contacts: tuple[NamedRecord, ...] = ()


def _named_records(key: ScenarioKey, kind: str) -> list[NamedRecord]:
    records = []
    for entries in key.values(kind):
        for entry in entries:
            object_type = "company" if "company" in entry else "contact"
            people = tuple(NamedRecord("contact", p["name"], p.get("fields") or {}) for p in entry.get("contacts", []))
            records.append(NamedRecord(object_type, entry[object_type], entry.get("fields") or {}, people))
    return records


@dataclass(frozen=True)
class FaultyRow:
    source: str
    row: int
    name: str | None
    duplicate: bool


def _faulty_rows(key: ScenarioKey) -> list[FaultyRow]:
    return [FaultyRow(e["source"], e["row"], e.get("name"), bool(e.get("duplicate")))
            for entries in key.values(FAULTY_IMPORT_ROWS) for e in entries]


# --- the workspace --------------------------------------------------------------------------------

def _all(workspace: Workspace, model: type[Customer]) -> list[Any]:
    return list(session().scalars(scoped(model, workspace).order_by(model.id)))


def _name_of(record: Customer) -> str:
    return record.name if isinstance(record, Company) else record.full_name


def _row(workspace: Workspace, record: Customer, note: Any = None) -> EvidenceRow:
    if isinstance(record, Company):
        label = (_l("Company: %(name)s (%(note)s)", name=record.name, note=note) if note is not None
                 else _l("Company: %(name)s", name=record.name))
        return record_row(workspace, label, "company", record.id)
    label = (_l("Contact: %(name)s (%(note)s)", name=record.full_name, note=note) if note is not None
             else _l("Contact: %(name)s", name=record.full_name))
    return record_row(workspace, label, "contact", record.id)


def _changed_fields(workspace: Workspace, object_type: str) -> dict[int, set[str]]:
    """The fields the candidate set on each record of ``object_type`` (all of them when they created it)."""
    changed: dict[int, set[str]] = {}
    for statement in candidate_statements(workspace, ["create", "update"], [object_type]):
        object_id = object_id_of(statement)
        if object_id is not None:
            changed.setdefault(object_id, set()).update(changes_of(statement))
    return changed


@dataclass
class Entered:
    """What the candidate entered: records typed by hand, imports and what they did wrong."""

    typed: list[Customer] = field(default_factory=list)  # created by hand, still there
    typed_statements: list[ActionStatement] = field(default_factory=list)
    imports: list[ActionStatement] = field(default_factory=list)
    decisions: list[ActionStatement] = field(default_factory=list)  # on lead rows: import, fix or skip
    imported: list[Customer] = field(default_factory=list)  # created by the candidate's imports, still there
    valid_rows: int = 0  # valid lead rows imported
    typed_leads: list[Customer] = field(default_factory=list)  # valid leads typed by hand instead
    faulty: list[tuple[FaultyRow, Any]] = field(default_factory=list)  # (row, what entered it)
    duplicates: list[Company] = field(default_factory=list)  # accounts typed for a firm already there


def _created_by(statement: ActionStatement) -> set[tuple[str, int]]:
    """The records an ``import`` statement created, as (object type, id)."""
    outcome = details_of(statement)
    return ({("company", int(i)) for i in outcome.get("companies_created") or []}
            | {("contact", int(i)) for i in outcome.get("contacts_created") or []})


def _entered(workspace: Workspace, key: ScenarioKey) -> Entered:
    faulty_rows = _faulty_rows(key)
    work = Entered(imports=candidate_statements(workspace, ["import"], ["import_source"]),
                   decisions=candidate_statements(workspace, ["decide"], ["import_row"]))
    creates = candidate_statements(workspace, ["create"], ["company", "contact"])
    # A record is the import's when the next import after its creation lists it: an id alone is
    # not enough, SQLite gives a deleted record's id to the next one.
    made_by: dict[int, ActionStatement] = {}
    for statement in creates:
        following = next((i for i in work.imports if i.id > statement.id), None)
        if following is not None and (statement.object_type, object_id_of(statement)) in _created_by(following):
            made_by[statement.id] = following
    latest = {(s.object_type, object_id_of(s) or 0): s for s in creates}
    records: dict[tuple[str, int], Customer] = {
        **{("company", c.id): c for c in existing(workspace, Company, [i for t, i in latest if t == "company"])},
        **{("contact", c.id): c for c in existing(workspace, Contact, [i for t, i in latest if t == "contact"])}}
    work.typed_statements = [s for s in creates if s.id not in made_by]
    work.typed = [records[ref] for ref, s in latest.items() if ref in records and s.id not in made_by]
    work.imported = [records[ref] for ref, s in latest.items() if ref in records and s.id in made_by]
    for statement in work.imports:
        created = _created_by(statement)
        still = [records[ref] for ref in created
                 if ref in records and made_by.get(latest[ref].id) is statement]
        deleted_since = len(still) < len(created)
        here = {f.row: f for f in faulty_rows if same_words(f.source, statement.object_name)}
        for number in (int(r) for r in details_of(statement).get("rows_imported") or []):
            row = here.get(number)
            if row is None:
                work.valid_rows += 1
            elif not (deleted_since and row.name and not any(same_name(_name_of(r), row.name) for r in still)):
                # Entered, unless the candidate deleted what this import made of it (put right).
                work.faulty.append((row, statement))
    for row in faulty_rows:
        if row.name and not row.duplicate:
            work.faulty.extend((row, record) for record in work.typed if same_name(_name_of(record), row.name))
    for company in (r for r in work.typed if isinstance(r, Company)):
        twins = customer_service.find_company_duplicates(workspace, name=company.name, nip=company.nip,
                                                         exclude_id=company.id)
        if twins:
            work.duplicates.append(company)
    if faulty_rows:
        leads = _valid_lead_names(workspace, faulty_rows)
        work.typed_leads = [r for r in work.typed if any(same_name(_name_of(r), name) for name in leads)]
    return work


def _valid_lead_names(workspace: Workspace, faulty_rows: Sequence[FaultyRow]) -> list[str]:
    """The companies and people of the scenario's lead rows that are not faulty."""
    names: list[str] = []
    for source in session().scalars(scoped(ImportSource, workspace).where(ImportSource.origin == "seed")):
        faulty = {f.row for f in faulty_rows if same_words(f.source, source.name)}
        try:
            rows = import_service.preview(workspace, source).rows
        except import_service.LeadImportError:
            continue
        for row in rows:
            if row.number in faulty:
                continue
            names.extend(n for n in (row.values.get("company.name"), row.values.get("contact.full_name"),
                                     " ".join(filter(None, (row.values.get("contact.first_name"),
                                                            row.values.get("contact.last_name"))))) if n)
    return names


def _faulty_label(entry: tuple[FaultyRow, Any]) -> Any:
    row = entry[0]
    return _l("row %(row)d of %(source)s (%(name)s)", row=row.row, source=row.source, name=row.name or "—")


def _find(records: Iterable[Customer], name: str) -> Customer | None:
    return next((r for r in records if same_name(_name_of(r), name)), None)


# --- 1.2.b ----------------------------------------------------------------------------------------

@check("1.2.b")
def company_accounts_created(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """With the key's ``new_customers`` (companies) or ``faulty_import_rows``: met when every
    company the sheet asks to enter by hand is an account the candidate created, and (where the
    sheet has a lead import) the candidate imported valid lead rows (or typed those leads), with
    no faulty row entered and no account created twice; not met when a faulty row was entered or
    an account duplicated, or when the candidate created only accounts the sheet does not ask for;
    can't tell when only part is done.

    Without such targets: met when the candidate created at least one company account (typed or
    imported) that still exists; created and then deleted every one: can't tell; none: not met.
    """
    companies = [r for r in _named_records(key, NEW_CUSTOMERS) if r.object_type == "company"]
    if companies or key.targets(FAULTY_IMPORT_ROWS):
        return _accounts_against_key(workspace, key, companies)
    statements = candidate_statements(workspace, ["create"], ["company"])
    created = existing(workspace, Company, ids_of(statements))
    if created:
        return result("1.2.b", Verdict.MET,
                      _l("The candidate created %(count)d company account(s).", count=len(created)),
                      [_row(workspace, c) for c in created], logged_rows(workspace, statements))
    if statements:
        return result("1.2.b", Verdict.CANT_TELL,
                      _l("The candidate created company accounts but none of them exists any more."),
                      logged_rows(workspace, statements))
    return result("1.2.b", Verdict.NOT_MET, _l("The candidate created no company account."))


def _accounts_against_key(workspace: Workspace, key: ScenarioKey, wanted: list[NamedRecord]) -> CheckResult:
    work = _entered(workspace, key)
    mine = [r for r in [*work.typed, *work.imported] if isinstance(r, Company)]
    found = {entry.name: _find_company(mine, entry) for entry in wanted}
    done = [c for c in found.values() if c is not None]
    import_asked = bool(key.targets(FAULTY_IMPORT_ROWS))
    leads = work.valid_rows > 0 or bool(work.typed_leads)
    rows = [*[_row(workspace, c) for c in done], *[_row(workspace, r) for r in work.typed_leads]]
    logged = [*logged_rows(workspace, work.imports), *logged_rows(workspace, work.decisions),
              *logged_rows(workspace, work.typed_statements)]
    if work.faulty or work.duplicates:
        return result("1.2.b", Verdict.NOT_MET,
                      _l("The candidate entered lead rows the sheet marks as faulty, or created an account "
                         "twice: %(rows)s.",
                         rows=joined([*map(_faulty_label, work.faulty), *(c.name for c in work.duplicates)])),
                      [_row(workspace, c, _l("duplicate")) for c in work.duplicates], logged, rows)
    missing = [name for name, company in found.items() if company is None]
    if not missing and (leads or not import_asked):
        return result("1.2.b", Verdict.MET,
                      _l("The candidate created the accounts the sheet asks for (%(names)s) and imported "
                         "%(count)d valid lead row(s), and entered no faulty row.",
                         names=joined(c.name for c in done) if done else "—", count=work.valid_rows),
                      rows, logged)
    if done or leads:
        return result("1.2.b", Verdict.CANT_TELL,
                      _l("The candidate created some of the accounts the sheet asks for; still missing: "
                         "%(missing)s.",
                         missing=joined([*missing, *([_l("the valid lead rows")] if import_asked and not leads
                                                     else [])])),
                      rows, logged)
    if mine:
        return result("1.2.b", Verdict.NOT_MET,
                      _l("The candidate created only accounts the sheet does not ask for."),
                      [_row(workspace, c) for c in mine], logged)
    return result("1.2.b", Verdict.NOT_MET, _l("The candidate created no company account."))


def _find_company(companies: Sequence[Company], entry: NamedRecord) -> Company | None:
    nip = entry.fields.get("nip")
    return next((c for c in companies if same_name(c.name, entry.name)
                 or (isinstance(nip, str) and c.nip and judge_value("nip", c.nip, nip) is Match.RIGHT)), None)


# --- 1.2.c ----------------------------------------------------------------------------------------

def _contact_usable(contact: Contact) -> bool:
    """A contact a salesperson can act on lawfully: reachable and with a legal basis of processing."""
    return bool(contact.email or contact.phone) and bool(contact.legal_basis)


def _company_usable(company: Company) -> bool:
    """A company identified (NIP) and reachable (e-mail or phone)."""
    return bool(company.nip) and bool(company.email or company.phone)


def _judge_fields(record: Customer, fields: Mapping[str, Any]) -> dict[str, Match]:
    return {name: judge_value(name, getattr(record, name, None), expected) for name, expected in fields.items()}


def _verdict_note(matches: Mapping[str, Match]) -> Any:
    """The fields of a record by how they compare with the key, for an evidence row."""
    labels = {Match.RIGHT: _l("as the sheet gives"), Match.WRONG: _l("differs from the sheet"),
              Match.DIFFERENT: _l("worded otherwise"), Match.MISSING: _l("missing")}
    return joined(_l("%(field)s: %(state)s", field=customer_service.FIELD_LABELS.get(name, name), state=labels[match])
                  for name, match in matches.items())


@check("1.2.c")
def customer_data_entered(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """With the key's ``new_customers`` or ``faulty_import_rows``: met when every customer the
    sheet asks to enter by hand holds the values the sheet gives (NIP, phone, legal basis… compared
    as a person would), its contacts entered under it, and (where the sheet has a lead import) the
    candidate imported valid lead rows whose contacts all have a legal basis of processing; not
    met when a value differs from the sheet (a wrong NIP, phone, legal basis) or a faulty row was
    entered; can't tell when part is missing or a description is worded otherwise.

    Without such targets: met when a contact or company the candidate entered holds the data a
    sales goal needs (a contact with an e-mail or phone and a legal basis, or a company with a NIP
    and an e-mail or phone); records entered without that data: can't tell; nothing: not met.
    """
    wanted = _named_records(key, NEW_CUSTOMERS)
    if wanted or key.targets(FAULTY_IMPORT_ROWS):
        return _data_against_key(workspace, key, wanted)
    statements = candidate_statements(workspace, ["create", "import"], ["contact", "company", "import_source"])
    creates = [s for s in statements if s.verb == "create" and s.object_type in ("contact", "company")]
    imports = [s for s in statements if s.verb == "import"]
    contacts = existing(workspace, Contact, ids_of(s for s in creates if s.object_type == "contact"))
    companies = existing(workspace, Company, ids_of(s for s in creates if s.object_type == "company"))
    usable_contacts = [c for c in contacts if _contact_usable(c)]
    usable_companies = [c for c in companies if _company_usable(c)]
    rows = [*(_row(workspace, c) for c in usable_contacts), *(_row(workspace, c) for c in usable_companies)]
    if rows:
        return result("1.2.c", Verdict.MET,
                      _l("The candidate entered %(contacts)d contact(s) with contact details and a legal basis, "
                         "and %(companies)d company(ies) with NIP and contact details.",
                         contacts=len(usable_contacts), companies=len(usable_companies)),
                      rows, logged_rows(workspace, imports), logged_rows(workspace, creates))
    if contacts or companies:
        return result("1.2.c", Verdict.CANT_TELL,
                      _l("The candidate entered customers, but none has contact details with a legal basis "
                         "(contacts) or a NIP with contact details (companies)."),
                      [_row(workspace, c) for c in contacts], [_row(workspace, c) for c in companies],
                      logged_rows(workspace, creates))
    return result("1.2.c", Verdict.NOT_MET, _l("The candidate entered no customer data."))


def _data_against_key(workspace: Workspace, key: ScenarioKey, wanted: list[NamedRecord]) -> CheckResult:
    work = _entered(workspace, key)
    mine: list[Customer] = [*work.typed, *work.imported]
    judged: list[tuple[Customer, dict[str, Match]]] = []
    missing: list[str] = []
    for entry in wanted:
        record: Customer | None
        if entry.object_type == "company":
            record = _find_company([r for r in mine if isinstance(r, Company)], entry)
        else:
            record = _find([r for r in mine if isinstance(r, Contact)], entry.name)
        if record is None:
            missing.append(entry.name)
            continue
        judged.append((record, _judge_fields(record, entry.fields)))
        for person in entry.contacts:
            contact = _find([r for r in mine if isinstance(r, Contact)], person.name)
            if not isinstance(contact, Contact):
                missing.append(person.name)
                continue
            matches = _judge_fields(contact, person.fields)
            if contact.company_id != record.id:
                matches["company_id"] = Match.DIFFERENT
            judged.append((contact, matches))
    import_asked = bool(key.targets(FAULTY_IMPORT_ROWS))
    leads = work.valid_rows > 0 or bool(work.typed_leads)
    without_basis = [c for c in work.imported if isinstance(c, Contact) and not c.legal_basis]
    rows = [*[_row(workspace, r, _verdict_note(m)) for r, m in judged],
            *[_row(workspace, c, _l("no legal basis of processing")) for c in without_basis]]
    logged = [*logged_rows(workspace, work.imports), *logged_rows(workspace, work.decisions),
              *logged_rows(workspace, work.typed_statements)]
    wrong = [r for r, m in judged if Match.WRONG in m.values()]
    if work.faulty or wrong:
        return result("1.2.c", Verdict.NOT_MET,
                      _l("The candidate entered data that differs from the sheet or lead rows the sheet marks "
                         "as faulty: %(items)s.",
                         items=joined([*(_name_of(r) for r in wrong), *map(_faulty_label, work.faulty)])),
                      rows, logged)
    complete = all(match is Match.RIGHT for _, m in judged for match in m.values())
    if not missing and complete and (not import_asked or (leads and not without_basis)):
        return result("1.2.c", Verdict.MET,
                      _l("The candidate entered the customers the sheet asks for with the values it gives, and "
                         "%(count)d valid lead row(s) with a legal basis for every person.", count=work.valid_rows),
                      rows, logged)
    if judged or leads:
        gaps = [*missing, *([_l("the valid lead rows")] if import_asked and not leads else []),
                *([_l("a legal basis for imported contacts")] if without_basis else []),
                *([_l("values worded otherwise or missing")] if not complete else [])]
        return result("1.2.c", Verdict.CANT_TELL,
                      _l("The candidate entered part of the customer data the sheet asks for; to check: %(gaps)s.",
                         gaps=joined(gaps)),
                      rows, logged)
    if mine:
        return result("1.2.c", Verdict.NOT_MET,
                      _l("The candidate entered only customers the sheet does not ask for."),
                      [_row(workspace, r) for r in mine], logged)
    return result("1.2.c", Verdict.NOT_MET, _l("The candidate entered no customer data."))


# --- 1.2.d ----------------------------------------------------------------------------------------

def _member_count(workspace: Workspace, segment: Segment) -> int:
    """How many customers the segment selects now (counted in SQL)."""
    query = segment_service.members_query(workspace, segment).order_by(None).subquery()
    return session().scalar(select(func.count()).select_from(query)) or 0


@dataclass
class Grouping:
    """A set of customers the candidate made: a saved segment, or a tag they put on customers."""

    name: str
    members: list[Customer]
    segment: Segment | None = None
    tag: Tag | None = None

    def holds(self, name: str) -> bool:
        return any(same_name(_name_of(member), name) for member in self.members)


def _groupings(workspace: Workspace) -> tuple[list[Grouping], list[ActionStatement], list[ActionStatement]]:
    """The candidate's segments (with their members now) and tags (with the customers tagged now)."""
    statements = candidate_statements(workspace, ["create", "update"], ["segment"])
    groupings = [Grouping(s.name, _members(workspace, s), segment=s)
                 for s in existing(workspace, Segment, ids_of(statements))]
    tagging = [s for s in candidate_statements(workspace, ["update", "create"], ["company", "contact"])
               if _tags_added(s)]
    names = {name for s in tagging for name in _tags_added(s)}
    for tag in session().scalars(scoped(Tag, workspace).order_by(Tag.name)):
        if tag.name not in names:
            continue
        companies = session().scalars(scoped(Company, workspace).where(
            Company.id.in_(select(company_tag.c.company_id).where(company_tag.c.tag_id == tag.id))))
        contacts = session().scalars(scoped(Contact, workspace).where(
            Contact.id.in_(select(contact_tag.c.contact_id).where(contact_tag.c.tag_id == tag.id))))
        groupings.append(Grouping(tag.name, [*companies, *contacts], tag=tag))
    return groupings, statements, tagging


def _members(workspace: Workspace, segment: Segment) -> list[Customer]:
    return [m for m in session().scalars(segment_service.members_query(workspace, segment))
            if isinstance(m, (Company, Contact))]


def _tags_added(statement: ActionStatement) -> set[str]:
    tags = changes_of(statement).get("tags")
    if not (isinstance(tags, list) and len(tags) == 2):
        return set()
    return set(tags[1] or []) - set(tags[0] or [])


class State(str, Enum):
    MET = "met"
    PARTIAL = "partial"
    WRONG = "wrong"
    NONE = "none"


def _grouping_row(workspace: Workspace, grouping: Grouping, note: Any) -> EvidenceRow:
    if grouping.segment is not None:
        return record_row(workspace, _l("Segment: %(name)s (%(count)d member(s); %(note)s)", name=grouping.name,
                                        count=len(grouping.members), note=note), "segment", grouping.segment.id)
    return EvidenceRow(label=_l("Tag: %(name)s (%(count)d customer(s); %(note)s)", name=grouping.name,
                                count=len(grouping.members), note=note))


@check("1.2.d")
def customers_segmented(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """With the key's ``segments``: met when every segment the sheet names exists as a saved
    segment or a tag of the candidate's (its name compared as a person would; a set of customers
    with exactly the right members under another name counts too) and holds the customers the
    key lists as members that are in the workspace, and none the key lists as not belonging; not
    met when a customer sits in a segment the key says it does not belong to, or when the
    candidate made only other segments; can't tell when segments are missing or lack members.

    Without targets: met when a segment the candidate created or edited has at least one rule and
    at least one member now; segments without rules or members, or customers only tagged: can't
    tell; nothing: not met.
    """
    wanted = [entry for entries in key.values(SEGMENTS) for entry in entries]
    if wanted:
        return _segments_against_key(workspace, wanted)
    statements = candidate_statements(workspace, ["create", "update"], ["segment"])
    segments = existing(workspace, Segment, ids_of(statements))
    with_members = [(s, n) for s in segments if s.rules for n in [_member_count(workspace, s)] if n > 0]
    if with_members:
        return result("1.2.d", Verdict.MET,
                      _l("The candidate defined %(count)d segment(s) by rules, with members.", count=len(with_members)),
                      [record_row(workspace, _l("Segment: %(name)s (%(count)d members)", name=s.name, count=n),
                                  "segment", s.id) for s, n in with_members],
                      logged_rows(workspace, statements))
    tagging = [s for s in candidate_statements(workspace, ["update", "create"], ["company", "contact"])
               if _tags_added(s)]
    if segments or tagging:
        return result("1.2.d", Verdict.CANT_TELL,
                      _l("The candidate saved segments without rules or members, or only tagged customers."),
                      [record_row(workspace, _l("Segment: %(name)s", name=s.name), "segment", s.id) for s in segments],
                      logged_rows(workspace, statements), logged_rows(workspace, tagging))
    return result("1.2.d", Verdict.NOT_MET, _l("The candidate made no segment and tagged no customer."))


def _segments_against_key(workspace: Workspace, wanted: list[Mapping[str, Any]]) -> CheckResult:
    groupings, statements, tagging = _groupings(workspace)
    names = [_name_of(r) for r in [*_all(workspace, Company), *_all(workspace, Contact)]]
    states: list[State] = []
    rows: list[EvidenceRow] = []
    wrong: list[str] = []
    for entry in wanted:
        members = [m for m in entry.get("members", []) if any(same_name(n, m) for n in names)]
        outsiders = list(entry.get("not_members", []))
        named = next((g for g in groupings if same_words(g.name, entry["name"])), None)
        if named is None and members and outsiders:
            named = next((g for g in groupings if all(g.holds(m) for m in members)
                          and not any(g.holds(o) for o in outsiders)), None)
        if named is None:
            states.append(State.NONE)
            continue
        intruders = [o for o in outsiders if named.holds(o)]
        absent = [m for m in members if not named.holds(m)]
        if intruders:
            states.append(State.WRONG)
            wrong.extend(intruders)
            note = _l("should not hold: %(names)s", names=joined(intruders))
        elif absent or not named.members:
            states.append(State.PARTIAL)
            note = _l("missing: %(names)s", names=joined(absent)) if absent else _l("no members")
        else:
            states.append(State.MET)
            note = _l("as the sheet asks for %(name)s", name=entry["name"])
        rows.append(_grouping_row(workspace, named, note))
    logged = [*logged_rows(workspace, statements), *logged_rows(workspace, tagging)]
    if State.WRONG in states:
        return result("1.2.d", Verdict.NOT_MET,
                      _l("The candidate put customers into segments the sheet says they do not belong to: "
                         "%(names)s.", names=joined(wrong)), rows, logged)
    if all(state is State.MET for state in states):
        return result("1.2.d", Verdict.MET,
                      _l("The candidate made the segments the sheet asks for, with the right customers: %(names)s.",
                         names=joined(entry["name"] for entry in wanted)), rows, logged)
    if any(state in (State.MET, State.PARTIAL) for state in states):
        missing = [entry["name"] for entry, state in zip(wanted, states, strict=True) if state is not State.MET]
        return result("1.2.d", Verdict.CANT_TELL,
                      _l("The candidate made part of the segmentation the sheet asks for; incomplete or missing: "
                         "%(names)s.", names=joined(missing)), rows, logged)
    if groupings:
        return result("1.2.d", Verdict.NOT_MET,
                      _l("The candidate made only segments the sheet does not ask for."),
                      [_grouping_row(workspace, g, _l("not asked for")) for g in groupings], logged)
    return result("1.2.d", Verdict.NOT_MET, _l("The candidate made no segment and tagged no customer."))


# --- 1.2.e ----------------------------------------------------------------------------------------

def _filled_fields(changes: dict[str, Any]) -> list[str]:
    """Fields a diff filled in (empty before, non-empty after); booleans are choices, not data."""
    filled = []
    for name, value in changes.items():
        if not (isinstance(value, (list, tuple)) and len(value) == 2):
            continue
        before, after = value
        if isinstance(before, bool) or isinstance(after, bool):
            continue
        if before in EMPTY_VALUES and after not in EMPTY_VALUES:
            filled.append(name)
    return filled


class FieldState(str, Enum):
    DONE = "done"  # the value the sheet gives, set by the candidate
    ALREADY = "already"  # the record held it before (nothing to do)
    WRONG = "wrong"  # set by the candidate to a value that differs from the sheet
    WORDED = "worded"  # set by the candidate, worded otherwise (the committee judges)
    NOT_UPDATED = "not_updated"  # left as it was, though the sheet asks for a change


def _field_state(match: Match, changed: bool) -> FieldState:
    if match is Match.RIGHT:
        return FieldState.DONE if changed else FieldState.ALREADY
    if not changed:
        return FieldState.NOT_UPDATED
    return {Match.WRONG: FieldState.WRONG, Match.DIFFERENT: FieldState.WORDED}.get(match, FieldState.NOT_UPDATED)


FIELD_STATE_LABELS = {
    FieldState.DONE: _l("updated as the sheet says"), FieldState.ALREADY: _l("already right"),
    FieldState.WRONG: _l("differs from the sheet"), FieldState.WORDED: _l("worded otherwise"),
    FieldState.NOT_UPDATED: _l("not updated"),
}


@check("1.2.e")
def customer_data_updated(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """With the key's ``record_updates``: met when every record the sheet names holds the values it
    gives, set by the candidate (compared as a person would: "Hutnicza 12, 43-300 Bielsko-Biała"
    holds "ul. Hutnicza 12"); not met when the candidate set a named field to a value that differs
    from the sheet, or updated only records the sheet does not name; can't tell when part is done.

    Without targets: met when the candidate updated a company or contact so that a field empty
    before is now filled in; updates that only change values already there: can't tell; no
    updates: not met.
    """
    wanted = _named_records(key, RECORD_UPDATES)
    statements = candidate_statements(workspace, ["update"], ["company", "contact"])
    if wanted:
        return _updates_against_key(workspace, wanted, statements)
    completing = [s for s in statements if _filled_fields(changes_of(s))]
    if completing:
        fields = sorted({name for s in completing for name in _filled_fields(changes_of(s))})
        return result("1.2.e", Verdict.MET,
                      _l("The candidate completed %(count)d customer record(s): %(fields)s.",
                         count=len(ids_of(completing)),
                         fields=joined(customer_service.FIELD_LABELS.get(f, f) for f in fields)),
                      logged_rows(workspace, completing))
    if statements:
        return result("1.2.e", Verdict.CANT_TELL,
                      _l("The candidate changed customer records but filled in no empty field."),
                      logged_rows(workspace, statements))
    return result("1.2.e", Verdict.NOT_MET, _l("The candidate updated no customer record."))


def _updates_against_key(workspace: Workspace, wanted: list[NamedRecord],
                         statements: list[ActionStatement]) -> CheckResult:
    records: dict[str, list[Any]] = {"company": _all(workspace, Company), "contact": _all(workspace, Contact)}
    changed = {kind: _changed_fields(workspace, kind) for kind in records}
    states: list[FieldState] = []
    rows: list[EvidenceRow] = []
    named: set[tuple[str, int]] = set()
    not_found: list[str] = []
    for entry in wanted:
        record = _find(records[entry.object_type], entry.name)
        if record is None:
            not_found.append(entry.name)
            states.append(FieldState.NOT_UPDATED)
            continue
        named.add((entry.object_type, record.id))
        touched = changed[entry.object_type].get(record.id, set())
        fields = {name: _field_state(judge_value(name, getattr(record, name, None), expected), name in touched)
                  for name, expected in entry.fields.items()}
        states.extend(fields.values())
        rows.append(_row(workspace, record, joined(
            _l("%(field)s: %(state)s", field=customer_service.FIELD_LABELS.get(n, n), state=FIELD_STATE_LABELS[s])
            for n, s in fields.items())))
    others = [s for s in statements if (s.object_type, object_id_of(s) or 0) not in named]
    ours = [s for s in statements if s not in others]
    logged = logged_rows(workspace, ours)
    if FieldState.WRONG in states:
        return result("1.2.e", Verdict.NOT_MET,
                      _l("The candidate set values that differ from the sheet's on the records it names."),
                      rows, logged)
    if FieldState.DONE in states and all(s in (FieldState.DONE, FieldState.ALREADY) for s in states):
        return result("1.2.e", Verdict.MET,
                      _l("The candidate updated every record the sheet names with the values it gives."),
                      rows, logged)
    if FieldState.DONE in states or FieldState.WORDED in states:
        return result("1.2.e", Verdict.CANT_TELL,
                      _l("The candidate updated part of what the sheet asks (or worded it otherwise); "
                         "the committee judges the rest."),
                      rows, logged)
    if others:
        return result("1.2.e", Verdict.NOT_MET,
                      _l("The candidate updated only records the sheet does not name."),
                      rows, logged_rows(workspace, others))
    if not_found:
        return result("1.2.e", Verdict.NOT_MET,
                      _l("The candidate updated none of the records the sheet names (not in the workspace: "
                         "%(names)s).", names=joined(not_found)), rows)
    return result("1.2.e", Verdict.NOT_MET, _l("The candidate updated none of the records the sheet names."), rows)
