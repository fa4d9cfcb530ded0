"""Evidence checks of 1.2.b–e: customer accounts, customer data, segments, updating records."""
from __future__ import annotations

from sqlalchemy import func, select

from ..host import session
from ..models import Company, Contact, Segment, Workspace
from ..services import segments as segment_service
from .base import CheckResult, Verdict, check
from .common import (
    EMPTY_VALUES,
    candidate_statements,
    changes_of,
    existing,
    ids_of,
    record_row,
    result,
    statement_rows,
)


@check("1.2.b")
def company_accounts_created(workspace: Workspace) -> CheckResult:
    """Met when the candidate created at least one company account (typed or imported) that still
    exists: a ``create company`` statement by the candidate whose company is in the workspace.

    Created and then deleted every one: can't tell. None created (the scenario's companies do
    not count): not met.
    """
    statements = candidate_statements(workspace, ["create"], ["company"])
    companies = existing(workspace, Company, ids_of(statements))
    if companies:
        return result("1.2.b", Verdict.MET,
                      f"The candidate created {len(companies)} company account(s).",
                      [record_row(workspace, f"Company: {c.name}", "company", c.id) for c in companies],
                      statement_rows(workspace, statements))
    if statements:
        return result("1.2.b", Verdict.CANT_TELL,
                      "The candidate created company accounts but none of them exists any more.",
                      statement_rows(workspace, statements))
    return result("1.2.b", Verdict.NOT_MET, "The candidate created no company account.")


def _contact_usable(contact: Contact) -> bool:
    """A contact a salesperson can act on lawfully: reachable and with a legal basis of processing."""
    return bool(contact.email or contact.phone) and bool(contact.legal_basis)


def _company_usable(company: Company) -> bool:
    """A company identified (NIP) and reachable (e-mail or phone)."""
    return bool(company.nip) and bool(company.email or company.phone)


@check("1.2.c")
def customer_data_entered(workspace: Workspace) -> CheckResult:
    """Met when a contact or company the candidate entered (typed or imported) holds the data a
    sales goal needs: a contact with an e-mail or phone and a legal basis of processing, or a
    company with a NIP and an e-mail or phone.

    Records entered but none with that data: can't tell (the committee judges what was asked).
    Nothing entered: not met.
    """
    statements = candidate_statements(workspace, ["create", "import"], ["contact", "company", "import_source"])
    creates = [s for s in statements if s.verb == "create" and s.object_type in ("contact", "company")]
    imports = [s for s in statements if s.verb == "import"]
    contacts = existing(workspace, Contact, ids_of(s for s in creates if s.object_type == "contact"))
    companies = existing(workspace, Company, ids_of(s for s in creates if s.object_type == "company"))
    usable_contacts = [c for c in contacts if _contact_usable(c)]
    usable_companies = [c for c in companies if _company_usable(c)]
    rows = ([record_row(workspace, f"Contact: {c.full_name}", "contact", c.id) for c in usable_contacts]
            + [record_row(workspace, f"Company: {c.name}", "company", c.id) for c in usable_companies])
    if rows:
        return result("1.2.c", Verdict.MET,
                      f"The candidate entered {len(usable_contacts)} contact(s) with contact details and a "
                      f"legal basis, and {len(usable_companies)} company(ies) with NIP and contact details.",
                      rows, statement_rows(workspace, imports), statement_rows(workspace, creates))
    if contacts or companies:
        return result("1.2.c", Verdict.CANT_TELL,
                      "The candidate entered customers, but none has contact details with a legal basis "
                      "(contacts) or a NIP with contact details (companies).",
                      [record_row(workspace, f"Contact: {c.full_name}", "contact", c.id) for c in contacts],
                      [record_row(workspace, f"Company: {c.name}", "company", c.id) for c in companies],
                      statement_rows(workspace, creates))
    return result("1.2.c", Verdict.NOT_MET, "The candidate entered no customer data.")


def _member_count(workspace: Workspace, segment: Segment) -> int:
    """How many customers the segment selects now (counted in SQL)."""
    query = segment_service.members_query(workspace, segment).order_by(None).subquery()
    return session().scalar(select(func.count()).select_from(query)) or 0


@check("1.2.d")
def customers_segmented(workspace: Workspace) -> CheckResult:
    """Met when a segment the candidate created or edited has at least one rule (industry, size,
    region, value, tags, consent) and at least one member now.

    Segments without rules or without members, or customers only tagged by the candidate
    (segmentation by tags without a saved segment): can't tell. Nothing: not met.
    """
    statements = candidate_statements(workspace, ["create", "update"], ["segment"])
    segments = existing(workspace, Segment, ids_of(statements))
    with_members = [(s, n) for s in segments if s.rules for n in [_member_count(workspace, s)] if n > 0]
    if with_members:
        return result("1.2.d", Verdict.MET,
                      f"The candidate defined {len(with_members)} segment(s) by rules, with members.",
                      [record_row(workspace, f"Segment: {s.name} ({n} members)", "segment", s.id)
                       for s, n in with_members],
                      statement_rows(workspace, statements))
    tagging = [s for s in candidate_statements(workspace, ["update", "create"], ["company", "contact"])
               if changes_of(s).get("tags") and (changes_of(s)["tags"][1] or [])]
    if segments or tagging:
        return result("1.2.d", Verdict.CANT_TELL,
                      "The candidate saved segments without rules or members, or only tagged customers.",
                      [record_row(workspace, f"Segment: {s.name}", "segment", s.id) for s in segments],
                      statement_rows(workspace, statements), statement_rows(workspace, tagging))
    return result("1.2.d", Verdict.NOT_MET, "The candidate made no segment and tagged no customer.")


def _filled_fields(changes: dict) -> list[str]:
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


@check("1.2.e")
def customer_data_updated(workspace: Workspace) -> CheckResult:
    """Met when the candidate updated a company or contact so that a field empty before is now
    filled in (completing the record): an ``update`` statement whose diff fills an empty field.

    Updates that only change values already there (or only tags): can't tell. No updates: not met.
    """
    statements = candidate_statements(workspace, ["update"], ["company", "contact"])
    completing = [s for s in statements if _filled_fields(changes_of(s))]
    if completing:
        fields = sorted({name for s in completing for name in _filled_fields(changes_of(s))})
        return result("1.2.e", Verdict.MET,
                      f"The candidate completed {len(ids_of(completing))} customer record(s): "
                      f"{', '.join(fields)}.",
                      statement_rows(workspace, completing))
    if statements:
        return result("1.2.e", Verdict.CANT_TELL,
                      "The candidate changed customer records but filled in no empty field.",
                      statement_rows(workspace, statements))
    return result("1.2.e", Verdict.NOT_MET, "The candidate updated no customer record.")
