"""Evidence checks 1.2.b–e and 2.5.a–f judged against a real exam scenario's key.

Every workspace here is built from a shipped exam scenario's seed, and the candidate's work is
done through the sandbox's services as a signed-in candidate (so the action log holds it). For
each check: the sheet's work → met; a token action → not met or can't tell; work on the wrong
target (a faulty lead row, an unrelated record, another filter value) → not met; correct work
done another way the sheet allows → met. The keys of every exam scenario are checked against
their own seeds (the faulty rows are the rows they say, the named records exist).
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from exam_scenarios import exam_codes, key_of, scenario
from flask import session as flask_session
from flask_babel import force_locale
from sqlalchemy import select

import sandbox_crm
from sandbox_crm.api import create_workspace, key_target_problems
from sandbox_crm.evidence import CHECKS, CheckResult, ScenarioKey, Verdict
from sandbox_crm.evidence.matching import Match, judge_value, same_name
from sandbox_crm.evidence.reports import form_problem
from sandbox_crm.models import ActionStatement, Company, Contact, ImportSource, Segment
from sandbox_crm.services import customers as customer_service
from sandbox_crm.services import imports as import_service
from sandbox_crm.services import reports as report_service
from sandbox_crm.services import segments as segment_service

CANDIDATE = "user:7"
EXAM_CODES = exam_codes()


@pytest.fixture
def candidate(sandbox_app):
    """A request in which the services act as the signed-in candidate."""
    with sandbox_app.test_request_context():
        flask_session["actor"] = CANDIDATE
        yield


def workspace_of(code: str, sandbox_session):
    ws = create_workspace(code, CANDIDATE, seed=scenario(code).seed, purpose="exam", scenario_code=code)
    sandbox_session.flush()
    return ws


@pytest.fixture
def hurtownia(candidate, sandbox_session):
    return workspace_of("hurtownia-czesci", sandbox_session)


def judge(ws, code: str, scenario_code: str = "hurtownia-czesci") -> CheckResult:
    result = CHECKS[code](ws, key_of(scenario_code))
    # Lazy messages, rendered in the reader's language (never a text formatted before translation).
    assert not isinstance(result.summary, str)
    assert not any(isinstance(row.label, str) for row in result.evidence)
    with force_locale("en"):
        assert str(result.summary).endswith("."), result.summary
        for row in result.evidence:
            assert str(row.label)
    return result


def rows_of(ws, model) -> list[Any]:
    return list(sandbox_crm.session().scalars(select(model).where(model.workspace_id == ws.id).order_by(model.id)))


def company_named(ws, name: str) -> Company:
    return next(c for c in rows_of(ws, Company) if same_name(c.name, name))


def contact_named(ws, name: str) -> Contact:
    return next(c for c in rows_of(ws, Contact) if same_name(c.full_name, name))


def import_lead_rows(ws, source_name: str, rows: list[int]) -> import_service.ImportResult:
    source = next(s for s in rows_of(ws, ImportSource) if s.name == source_name)
    return import_service.import_rows(ws, source, rows)


# --- the sheet's work in hurtownia-czesci, task by task ---------------------------------------------

def import_valid_leads(ws) -> None:
    """Task 1: import only the valid lead rows, then give the business-card contact a legal basis."""
    import_lead_rows(ws, "leady_targi.csv", [1, 2])
    import_lead_rows(ws, "wizytówki.txt", [1])
    customer_service.update_contact(ws, contact_named(ws, "Beata Wilk"), {"legal_basis": "legitimate_interest"})


def enter_odlewnia(ws, **changes: Any) -> tuple[Company, Contact]:
    """Task 2: the foundry typed by hand, with its contact person."""
    data = {"name": "Odlewnia Żeliwa Śrem-Bis Sp. z o.o.", "nip": "7791787453", "city": "Śrem",
            "region": "wielkopolskie", "industry": "odlewnictwo"} | changes.pop("company", {})
    foundry = customer_service.create_company(ws, data)
    person = customer_service.create_contact(ws, {
        "company_id": foundry.id, "first_name": "Wiesław", "last_name": "Pająk",
        "position": "kierownik utrzymania ruchu", "phone": "605 221 847", "legal_basis": "legitimate_interest",
    } | changes.pop("contact", {}))
    return foundry, person


def update_records(ws, address: str = "ul. Hutnicza 12", basis: str = "legitimate_interest") -> None:
    """Task 3: the glassworks' new address, REGONs and size from the notes, legal bases."""
    customer_service.update_company(ws, company_named(ws, "Huta Szkła Kryształ-Bis"),
                                    {"address": address, "regon": "772808253", "size": "large"})
    customer_service.update_company(ws, company_named(ws, "Kopalnia Wapienia Górażdże"), {"regon": "383125667"})
    for name in ("Tadeusz Wróbel", "Józef Górski"):
        customer_service.update_contact(ws, contact_named(ws, name), {"legal_basis": basis})


def segment_by_size(ws) -> tuple[Segment, Segment]:
    """Task 4: the two segments by size rules."""
    big = segment_service.create_segment(ws, name="Utrzymanie ruchu — duże zakłady",
                                         rules={"sizes": ["large", "medium"]})
    small = segment_service.create_segment(ws, name="Warsztaty i małe zakłady", rules={"sizes": ["small", "micro"]})
    return big, small


def report(ws, export: str | None = None, **fields: str) -> report_service.ReportResult:
    """Run the report builder with ``fields`` as the candidate; export it in ``export`` format."""
    result = report_service.run_report(ws, report_service.parse_config({"source": "opportunities", **fields}))
    if export:
        report_service.record_export(ws, result, export)
    return result


def report_as_sheet_asks(ws) -> None:
    """Task 10: value by stage comparing won and lost, and by size (the sheet's segments), in śląskie."""
    report(ws, "pdf", group_by="stage", measure="sum_value", f_region="śląskie", compare="values",
           cmp_field="status", cmp_a="won", cmp_b="lost", chart="bar")
    report(ws, "csv", group_by="size", measure="sum_value", f_region="śląskie", chart="table")


def close_as_sheet_asks(ws) -> None:
    from sandbox_crm.models.sales import Opportunity
    from sandbox_crm.services import opportunities as opp_service

    opportunities = {o.name: o for o in rows_of(ws, Opportunity)}
    opp_service.close_opportunity(ws, opportunities["Przekładnie — Cementownia Rudniki"], True, "Podpisana umowa")
    opp_service.close_opportunity(ws, opportunities["Paski klinowe — Tartak Jeleśnia"], False, "Tańszy dostawca")


# --- 1.2.b accounts ---------------------------------------------------------------------------------

def test_1_2_b_the_sheets_accounts_are_met(hurtownia):
    import_valid_leads(hurtownia)
    foundry, _person = enter_odlewnia(hurtownia)
    result = judge(hurtownia, "1.2.b")
    assert result.verdict is Verdict.MET
    assert foundry.id in {r.object_id for r in result.evidence if r.object_type == "company"}


def test_1_2_b_a_token_account_is_not_met(hurtownia):
    customer_service.create_company(hurtownia, {"name": "Test"})
    assert judge(hurtownia, "1.2.b").verdict is Verdict.NOT_MET


def test_1_2_b_only_part_of_the_accounts_cant_tell(hurtownia):
    enter_odlewnia(hurtownia)
    assert judge(hurtownia, "1.2.b").verdict is Verdict.CANT_TELL


def test_1_2_b_importing_a_faulty_row_is_not_met(hurtownia):
    """The business card with a broken e-mail is flagged by the importer; imported as it is all the
    same (the candidate's decision), it is work the sheet says not to do."""
    import_valid_leads(hurtownia)
    assert not import_lead_rows(hurtownia, "wizytówki.txt", [3]).imported_rows  # flagged: it waits
    source = next(s for s in rows_of(hurtownia, ImportSource) if s.name == "wizytówki.txt")
    import_service.decide(hurtownia, source, {3: "import"})
    enter_odlewnia(hurtownia)
    result = judge(hurtownia, "1.2.b")
    assert result.verdict is Verdict.NOT_MET
    with force_locale("en"):
        assert "row 3 of wizytówki.txt" in str(result.summary)


def test_1_2_b_a_faulty_row_imported_then_deleted_was_put_right(hurtownia):
    import_valid_leads(hurtownia)
    imported = import_lead_rows(hurtownia, "wizytówki.txt", [3])
    for person in imported.contacts:
        customer_service.delete_contact(hurtownia, person)
    for firm in imported.companies:
        customer_service.delete_company(hurtownia, firm)
    enter_odlewnia(hurtownia)
    assert judge(hurtownia, "1.2.b").verdict is Verdict.MET


def test_1_2_b_decisions_on_the_rows_skipping_faulty_ones_and_fixing_one(hurtownia):
    """The preview's decisions: skipping the faulty rows is the candidate's logged verification; a
    faulty row "fixed" with a guessed phone number is still a row the sheet says not to import."""
    source = next(s for s in rows_of(hurtownia, ImportSource) if s.name == "leady_targi.csv")
    import_service.decide(hurtownia, source, {1: "import", 2: "import", 3: "skip", 4: "skip", 7: "skip"})
    enter_odlewnia(hurtownia)
    result = judge(hurtownia, "1.2.b")
    assert result.verdict is Verdict.MET
    decided = {s.id for s in sandbox_crm.session().scalars(select(ActionStatement).where(
        ActionStatement.workspace_id == hurtownia.id, ActionStatement.verb == "decide"))}
    assert decided and decided <= {r.statement_id for r in result.evidence}
    import_service.decide(hurtownia, source, {7: "fix"}, typed={7: {"contact.phone": "33 845 12 00"}})
    assert judge(hurtownia, "1.2.b").verdict is Verdict.NOT_MET


def test_1_2_b_typing_a_customer_already_in_the_crm_is_not_met(hurtownia):
    import_valid_leads(hurtownia)
    enter_odlewnia(hurtownia)
    customer_service.create_company(hurtownia, {"name": "CEMENTOWNIA RUDNIKI", "nip": "5834545521"})
    assert judge(hurtownia, "1.2.b").verdict is Verdict.NOT_MET


def test_1_2_b_valid_leads_typed_by_hand_instead_of_imported_are_met(hurtownia):
    customer_service.create_company(hurtownia, {"name": "Papiernia Skawina S.A.", "nip": "8940382680"})
    enter_odlewnia(hurtownia)
    assert judge(hurtownia, "1.2.b").verdict is Verdict.MET


# --- 1.2.c customer data ------------------------------------------------------------------------------

def test_1_2_c_the_sheets_data_is_met(hurtownia):
    import_valid_leads(hurtownia)
    foundry, person = enter_odlewnia(hurtownia)
    result = judge(hurtownia, "1.2.c")
    assert result.verdict is Verdict.MET
    assert {foundry.id, person.id} <= {r.object_id for r in result.evidence}


def test_1_2_c_written_another_way_is_met(hurtownia):
    """Capitals, another phone notation and the person's name surname-first are the same data."""
    import_valid_leads(hurtownia)
    enter_odlewnia(hurtownia, company={"name": "ODLEWNIA ŻELIWA ŚREM-BIS SP. Z O.O.", "city": "ŚREM"},
                   contact={"first_name": "Pająk", "last_name": "Wiesław", "phone": "+48 605-221-847"})
    assert judge(hurtownia, "1.2.c").verdict is Verdict.MET


def test_1_2_c_a_name_without_the_data_cant_tell(hurtownia):
    customer_service.create_company(hurtownia, {"name": "Odlewnia Żeliwa Śrem-Bis"})
    assert judge(hurtownia, "1.2.c").verdict is Verdict.CANT_TELL


def test_1_2_c_a_wrong_phone_is_not_met(hurtownia):
    import_valid_leads(hurtownia)
    enter_odlewnia(hurtownia, contact={"phone": "605 221 874"})
    result = judge(hurtownia, "1.2.c")
    assert result.verdict is Verdict.NOT_MET
    with force_locale("en"):
        assert "Wiesław Pająk" in str(result.summary)


def test_1_2_c_imported_people_without_a_legal_basis_cant_tell(hurtownia):
    import_lead_rows(hurtownia, "leady_targi.csv", [1, 2])
    import_lead_rows(hurtownia, "wizytówki.txt", [1])
    enter_odlewnia(hurtownia)
    assert judge(hurtownia, "1.2.c").verdict is Verdict.CANT_TELL


def test_1_2_c_a_faulty_row_typed_by_hand_is_not_met(hurtownia):
    import_valid_leads(hurtownia)
    enter_odlewnia(hurtownia)
    customer_service.create_company(hurtownia, {"name": "Walcownia Rur Andrychów S.A."})
    assert judge(hurtownia, "1.2.c").verdict is Verdict.NOT_MET


# --- 1.2.d segments ---------------------------------------------------------------------------------

def test_1_2_d_the_sheets_segments_are_met(hurtownia):
    big, small = segment_by_size(hurtownia)
    result = judge(hurtownia, "1.2.d")
    assert result.verdict is Verdict.MET
    assert {big.id, small.id} == {r.object_id for r in result.evidence if r.object_type == "segment"}


def test_1_2_d_a_segment_of_everyone_is_not_met(hurtownia):
    segment_service.create_segment(hurtownia, name="Wszyscy klienci", rules={})
    assert judge(hurtownia, "1.2.d").verdict is Verdict.NOT_MET


def test_1_2_d_a_large_plant_among_the_small_ones_is_not_met(hurtownia):
    segment_service.create_segment(hurtownia, name="Utrzymanie ruchu — duże zakłady", rules={"sizes": ["large"]})
    for name in ("Tartak Jeleśnia", "Cementownia Rudniki"):
        customer_service.add_tag(hurtownia, company_named(hurtownia, name), "Warsztaty i małe zakłady")
    result = judge(hurtownia, "1.2.d")
    assert result.verdict is Verdict.NOT_MET
    with force_locale("en"):
        assert "Cementownia" in str(result.summary)


def test_1_2_d_tags_and_another_name_with_the_right_members_are_met(hurtownia):
    """Tags named like the sheet's segment (a hyphen for its dash), and a rule segment of the small
    firms under a name of the candidate's own: the right customers in each."""
    for name in ("Zakłady Mięsne Bieruń", "Cementownia Rudniki", "Huta Szkła Kryształ-Bis"):
        customer_service.add_tag(hurtownia, company_named(hurtownia, name), "utrzymanie ruchu - DUŻE zakłady")
    segment_service.create_segment(hurtownia, name="Małe firmy", rules={"sizes": ["small", "micro"]})
    assert judge(hurtownia, "1.2.d").verdict is Verdict.MET


def test_1_2_d_one_segment_of_two_cant_tell(hurtownia):
    segment_service.create_segment(hurtownia, name="Utrzymanie ruchu — duże zakłady",
                                   rules={"sizes": ["large", "medium"]})
    assert judge(hurtownia, "1.2.d").verdict is Verdict.CANT_TELL


# --- 1.2.e updates ------------------------------------------------------------------------------------

def test_1_2_e_the_sheets_updates_are_met(hurtownia):
    update_records(hurtownia)
    result = judge(hurtownia, "1.2.e")
    assert result.verdict is Verdict.MET
    huta = company_named(hurtownia, "Huta Szkła Kryształ-Bis")
    assert huta.id in {r.object_id for r in result.evidence if r.object_type == "company"}


def test_1_2_e_a_website_on_an_unrelated_company_is_not_met(hurtownia):
    customer_service.update_company(hurtownia, company_named(hurtownia, "Tartak Jeleśnia"),
                                    {"website": "https://tartak.example"})
    result = judge(hurtownia, "1.2.e")
    assert result.verdict is Verdict.NOT_MET
    with force_locale("en"):
        assert "does not name" in str(result.summary)


def test_1_2_e_a_wrong_address_is_not_met(hurtownia):
    update_records(hurtownia, address="ul. Hutnicza 21")
    assert judge(hurtownia, "1.2.e").verdict is Verdict.NOT_MET


def test_1_2_e_the_address_with_its_postcode_and_another_legal_basis_are_met(hurtownia):
    update_records(hurtownia, address="Hutnicza 12, 43-300 Bielsko-Biała", basis="contract")
    assert judge(hurtownia, "1.2.e").verdict is Verdict.MET


def test_1_2_e_only_the_address_cant_tell(hurtownia):
    customer_service.update_company(hurtownia, company_named(hurtownia, "Huta Szkła Kryształ-Bis"),
                                    {"address": "ul. Hutnicza 12"})
    assert judge(hurtownia, "1.2.e").verdict is Verdict.CANT_TELL


# --- 2.5 reports ---------------------------------------------------------------------------------------

REPORT_CHECKS = ("2.5.a", "2.5.b", "2.5.d", "2.5.e", "2.5.f")


def test_2_5_the_sheets_report_meets_every_check(hurtownia):
    report_as_sheet_asks(hurtownia)
    for code in REPORT_CHECKS:
        assert judge(hurtownia, code).verdict is Verdict.MET, code


def test_2_5_b_a_company_list_searched_for_zzz_is_not_met(hurtownia):
    customer_service.list_companies(hurtownia, customer_service.CompanyFilters(q="zzz"))
    assert judge(hurtownia, "2.5.b").verdict is Verdict.NOT_MET
    assert CHECKS["2.5.b"](hurtownia, ScenarioKey()).verdict is Verdict.NOT_MET  # by meaning too


def test_2_5_b_another_region_is_not_met(hurtownia):
    report(hurtownia, "pdf", group_by="stage", f_region="małopolskie")
    assert judge(hurtownia, "2.5.b").verdict is Verdict.NOT_MET


def test_2_5_b_the_region_on_the_company_list_only_cant_tell(hurtownia):
    customer_service.list_companies(hurtownia, customer_service.CompanyFilters(region="śląskie"))
    report(hurtownia, group_by="stage")
    assert judge(hurtownia, "2.5.b").verdict is Verdict.CANT_TELL


def test_2_5_b_exploring_other_regions_first_is_no_fault(hurtownia):
    report(hurtownia, group_by="stage", f_region="opolskie")
    report(hurtownia, group_by="stage", f_region="śląskie", f_status="open")
    assert judge(hurtownia, "2.5.b").verdict is Verdict.MET


def test_2_5_a_builder_defaults_cant_tell_and_other_data_is_not_met(hurtownia):
    report_service.run_report(hurtownia, report_service.parse_config({}))
    assert judge(hurtownia, "2.5.a").verdict is Verdict.CANT_TELL
    other = workspace_of("hurtownia-czesci", sandbox_crm.session())
    report_service.run_report(other, report_service.parse_config({"source": "companies", "group_by": "industry"}))
    assert judge(other, "2.5.a").verdict is Verdict.NOT_MET


def test_2_5_a_segments_compared_side_by_side_are_met(hurtownia):
    big, small = segment_by_size(hurtownia)
    report(hurtownia, group_by="stage", measure="weighted_value", f_region="śląskie", compare="values",
           cmp_field="segment", cmp_a=str(big.id), cmp_b=str(small.id))
    assert judge(hurtownia, "2.5.a").verdict is Verdict.MET
    # Beside a region filter, the segments select their own companies: large and medium, small and micro.
    side_by_side = report(hurtownia, group_by="status", f_region="śląskie", compare="values", cmp_field="segment",
                          cmp_a=str(big.id), cmp_b=str(small.id))
    assert side_by_side.totals == [Decimal("94000"), Decimal("4800")]


def test_2_5_d_comparing_regions_is_not_met(hurtownia):
    report(hurtownia, group_by="stage", compare="values", cmp_field="region", cmp_a="śląskie", cmp_b="opolskie")
    assert judge(hurtownia, "2.5.d").verdict is Verdict.NOT_MET


def test_2_5_d_a_summary_without_the_comparison_cant_tell(hurtownia):
    report(hurtownia, group_by="stage", f_region="śląskie")
    assert judge(hurtownia, "2.5.d").verdict is Verdict.CANT_TELL


@pytest.mark.parametrize("reports", [
    [{"group_by": "status", "f_region": "śląskie"}],  # won and lost side by side in one table
    [{"group_by": "stage", "f_status": "won"}, {"group_by": "stage", "f_status": "lost"}],  # one report each
], ids=["grouped-by-status", "one-report-per-status"])
def test_2_5_d_won_against_lost_another_way_is_met(hurtownia, reports):
    close_as_sheet_asks(hurtownia)
    for fields in reports:
        report(hurtownia, **fields)
    assert judge(hurtownia, "2.5.d").verdict is Verdict.MET


@pytest.mark.parametrize(("chart", "group_by", "compare", "verdict"), [
    ("table", "stage", False, Verdict.MET),  # the sheet allows a table: a choice, not "can't tell"
    ("funnel", "stage", False, Verdict.MET),
    ("bar", "stage", True, Verdict.MET),
    ("line", "stage", False, Verdict.NOT_MET),  # a trend over time, and stages are no time
    ("pie", "stage", True, Verdict.NOT_MET),  # the shares of one whole cannot show two series
    ("funnel", "size", False, Verdict.NOT_MET),
])
def test_2_5_e_the_form_is_judged_against_the_sheet_and_the_data(hurtownia, chart, group_by, compare, verdict):
    fields = {"group_by": group_by, "f_region": "śląskie", "chart": chart}
    if compare:
        fields |= {"compare": "values", "cmp_field": "status", "cmp_a": "won", "cmp_b": "lost"}
    report(hurtownia, "pdf", **fields)
    assert judge(hurtownia, "2.5.e").verdict is verdict


def test_2_5_e_the_exported_report_is_what_counts(hurtownia):
    """A suitable chart tried on screen does not make up for an unsuitable one delivered."""
    report(hurtownia, group_by="stage", chart="bar")
    report(hurtownia, "pdf", group_by="stage", chart="line")
    assert judge(hurtownia, "2.5.e").verdict is Verdict.NOT_MET


def test_2_5_e_by_meaning_a_chart_must_suit_its_data(hurtownia):
    report(hurtownia, group_by="stage", chart="line")
    assert CHECKS["2.5.e"](hurtownia, ScenarioKey()).verdict is Verdict.NOT_MET
    assert form_problem({"chart": "line", "group_by": "created_month"}) is None
    assert form_problem({"chart": "pie", "group_by": "stage", "measure": "avg_value"}) is not None


def test_2_5_f_csv_is_met_print_cant_tell_other_data_not_met(hurtownia):
    report(hurtownia, "print", group_by="stage", f_region="śląskie")
    assert judge(hurtownia, "2.5.f").verdict is Verdict.CANT_TELL  # the sheet asks for PDF or CSV
    report(hurtownia, "csv", group_by="stage", f_region="śląskie")
    assert judge(hurtownia, "2.5.f").verdict is Verdict.MET
    other = workspace_of("hurtownia-czesci", sandbox_crm.session())
    report_service.record_export(other, report_service.run_report(other, report_service.parse_config(
        {"source": "companies"})), "pdf")
    assert judge(other, "2.5.f").verdict is Verdict.NOT_MET


def test_2_5_f_an_export_without_the_sheets_filter_cant_tell(hurtownia):
    report(hurtownia, "pdf", group_by="stage")
    assert judge(hurtownia, "2.5.f").verdict is Verdict.CANT_TELL


# --- the other exam scenarios' own ways -----------------------------------------------------------------

def test_this_month_against_the_previous_one(candidate, sandbox_session):
    """biuro-rachunkowe asks to compare this month with the previous one (in lubelskie)."""
    ws = workspace_of("biuro-rachunkowe", sandbox_session)
    today = date.today()
    first = today.replace(day=1)
    previous_last = first - timedelta(days=1)
    report(ws, "pdf", group_by="stage", measure="count", f_region="lubelskie", date_field="created_at",
           date_from=first.isoformat(), date_to=today.isoformat(), compare="periods",
           b_from=previous_last.replace(day=1).isoformat(), b_to=previous_last.isoformat())
    assert judge(ws, "2.5.d", "biuro-rachunkowe").verdict is Verdict.MET
    assert judge(ws, "2.5.f", "biuro-rachunkowe").verdict is Verdict.MET
    other = workspace_of("biuro-rachunkowe", sandbox_session)
    report(other, group_by="stage", measure="count", f_region="lubelskie", date_field="created_at",
           date_from="2020-01-01", date_to="2020-01-31", compare="periods", b_from="2020-02-01", b_to="2020-02-29")
    assert judge(other, "2.5.d", "biuro-rachunkowe").verdict is Verdict.NOT_MET


def test_a_segment_filter_named_by_the_sheet(candidate, sandbox_session):
    """sklep-internetowy filters by the candidate's own segment, named as the sheet names it."""
    ws = workspace_of("sklep-internetowy", sandbox_session)
    offices = segment_service.create_segment(ws, name="Biura - abonament", rules={"industries": ["usługi prawne"]})
    report(ws, "print", group_by="stage", f_segment=str(offices.id), compare="values", cmp_field="status",
           cmp_a="lost", cmp_b="won")
    report_service.record_export(ws, report_service.run_report(ws, report_service.parse_config(
        {"source": "tasks", "group_by": "status", "measure": "count"})), "print")
    assert judge(ws, "2.5.b", "sklep-internetowy").verdict is Verdict.MET
    assert judge(ws, "2.5.f", "sklep-internetowy").verdict is Verdict.MET
    other = workspace_of("sklep-internetowy", sandbox_session)
    hotels = segment_service.create_segment(other, name="HoReCa", rules={"industries": ["hotelarstwo"]})
    report(other, group_by="stage", f_segment=str(hotels.id))
    assert judge(other, "2.5.b", "sklep-internetowy").verdict is Verdict.NOT_MET


def test_a_pipeline_filter_named_by_the_sheet(candidate, sandbox_session):
    """dostawca-dla-szkol-i-samorzadow filters by the seeded pipeline, chosen by id in the builder."""
    from sandbox_crm.models.sales import Pipeline

    ws = workspace_of("dostawca-dla-szkol-i-samorzadow", sandbox_session)
    tenders = next(p for p in rows_of(ws, Pipeline) if p.name == "Przetargi i zapytania")
    report(ws, "csv", group_by="stage", f_pipeline=str(tenders.id), compare="values", cmp_field="status",
           cmp_a="won", cmp_b="lost", chart="bar")
    for code in REPORT_CHECKS:
        assert judge(ws, code, "dostawca-dla-szkol-i-samorzadow").verdict is Verdict.MET, code


# --- the keys themselves ----------------------------------------------------------------------------------

def test_values_are_compared_as_a_person_would():
    assert judge_value("phone", "+48 605 221 847", "605 221 847") is Match.RIGHT
    assert judge_value("address", "Hutnicza 12, 43-300 Bielsko-Biała", "ul. Hutnicza 12") is Match.RIGHT
    assert judge_value("address", "ul. Hutnicza 123", "ul. Hutnicza 12") is Match.WRONG
    assert judge_value("legal_basis", "contract", ["legitimate_interest", "contract"]) is Match.RIGHT
    assert judge_value("legal_basis", None, True) is Match.MISSING
    assert judge_value("marketing_consent", False, False) is Match.RIGHT
    assert judge_value("position", "kierownik UR", "kierownik utrzymania ruchu") is Match.DIFFERENT
    assert same_name("ZAKŁADY MIĘSNE BIERUŃ", "Zakłady Mięsne Bieruń S.A.")
    assert not same_name("Zakłady Mięsne Bieruń", "Zakłady Mięsne Tychy")


def test_malformed_targets_are_refused_with_the_place():
    assert "row" in " ".join(key_target_problems({"faulty_import_rows": [{"source": "a.csv", "row": 0}]}))
    assert "unknown field" in " ".join(key_target_problems({"record_updates": [{"company": "X", "fields": {"fax": "1"}}]}))
    assert "forms" in " ".join(key_target_problems({"report": {"source": "opportunities", "forms": ["hologram"]}}))
    assert "unknown for opportunities" in " ".join(key_target_problems(
        {"report": {"source": "opportunities", "filters": {"colour": "red"}}}))
    assert key_target_problems({"segments": [{"name": "A", "members": ["B"]}]}) == []


# The kinds each criterion reads, and at least one must be keyed in every exam scenario.
CRITERION_KINDS = {
    "1.2.b": ("new_customers", "faulty_import_rows"), "1.2.c": ("new_customers", "faulty_import_rows"),
    "1.2.d": ("segments",), "1.2.e": ("record_updates",),
    **dict.fromkeys(REPORT_CHECKS, ("report",)),
}


@pytest.mark.parametrize("code", EXAM_CODES)
def test_every_exam_scenario_keys_the_customer_and_report_tasks(code):
    key = scenario(code).key
    for criterion, kinds in CRITERION_KINDS.items():
        tasks = [task.number for task in scenario(code).tasks if criterion in task.criteria]
        keyed = {kind for number in tasks if key.for_task(number) for kind in key.for_task(number).targets}
        assert keyed & set(kinds), f"{code}: no {'/'.join(kinds)} target for {criterion} (tasks {tasks})"


@pytest.mark.parametrize("variant", [0, 11], ids=["as-written", "a-variant"])
@pytest.mark.parametrize("code", EXAM_CODES)
def test_every_exam_key_names_rows_and_records_of_its_own_seed(code, variant, candidate, sandbox_session):
    """The key follows the scenario's per-attempt variation: a variant's key names its own records."""
    drawn = scenario(code).varied(variant)
    ws = create_workspace(code, CANDIDATE, seed=drawn.seed, purpose="exam", scenario_code=code)
    sandbox_session.flush()
    key = ScenarioKey.from_data(drawn.key.check_data())
    sources = {s.name: import_service.preview(ws, s) for s in rows_of(ws, ImportSource)}
    lead_names: list[str] = []
    for source in sources.values():
        for row in source.rows:
            lead_names.extend(filter(None, (row.values.get("company.name"), row.values.get("contact.full_name"))))
    for rows in key.values("faulty_import_rows"):
        for row in rows:
            assert row["source"] in sources, f"{code}: no lead source {row['source']}"
            numbered = {r.number: r for r in sources[row["source"]].rows}
            assert row["row"] in numbered, f"{code}: {row['source']} has no row {row['row']}"
            if "name" in row:
                lead = numbered[row["row"]]
                assert any(same_name(row["name"], n) for n in lead.values.values()) or row["name"] in " ".join(
                    lead.cells), f"{code}: row {row['row']} of {row['source']} is not {row['name']}"
    seeded = [c.name for c in rows_of(ws, Company)] + [c.full_name for c in rows_of(ws, Contact)]
    for records in key.values("record_updates"):
        for record in records:
            name = record.get("company") or record.get("contact")
            assert any(same_name(name, n) for n in seeded), f"{code}: record_updates names {name}, not in the seed"
    typed = [r.get("company") or r.get("contact") for rs in key.values("new_customers") for r in rs]
    typed += [p["name"] for rs in key.values("new_customers") for r in rs for p in r.get("contacts", [])]
    for segments in key.values("segments"):
        for segment in segments:
            for name in [*segment.get("members", []), *segment.get("not_members", [])]:
                assert any(same_name(name, n) for n in [*seeded, *lead_names, *typed]), \
                    f"{code}: segment {segment['name']} names {name}, found nowhere in the scenario"
