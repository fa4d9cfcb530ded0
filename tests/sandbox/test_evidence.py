"""Evidence checks: for every simulation criterion a workspace where the candidate did the work
(built through the sandbox's services, as the pages call them) and workspaces where they did not
(empty, seeded only, or the same work done by ``system``), with the evidence rows checked."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from customers_helpers import company, contact, make_nip
from flask import session as flask_session
from flask import url_for
from flask_babel import force_locale
from sales_factories import SEED as SALES_SEED
from sales_factories import make_company, make_opportunity, make_pipeline, stage_named
from sqlalchemy import select

import sandbox_crm
from sandbox_crm.api import action_log, create_workspace, record_answer, run_evidence_checks
from sandbox_crm.evidence import CHECKS, EMPTY_KEY, CheckResult, ScenarioKey, Verdict, run_checks
from sandbox_crm.models import Company, Contact, CustomerEvent, Offer, OfferTemplate, OutboxMessage, Segment
from sandbox_crm.models.sales import Opportunity, Pipeline, Task
from sandbox_crm.services import customers as customer_service
from sandbox_crm.services import offers as offer_service
from sandbox_crm.services import opportunities as opp_service
from sandbox_crm.services import pipelines as pipeline_service
from sandbox_crm.services import reports as report_service
from sandbox_crm.services import segments as segment_service
from sandbox_crm.services import tasks as task_service

ROOT = Path(__file__).resolve().parents[2]
CANDIDATE = "user:1"
# DESIGN.md, "Methods": the criteria verified by observation in the sandbox.
SIMULATION_CRITERIA = (
    "1.2.b", "1.2.c", "1.2.d", "1.2.e",
    "2.1.a", "2.1.b", "2.1.c", "2.1.d", "2.1.e",
    "2.2.a", "2.2.b", "2.2.c", "2.2.d",
    "2.3.a", "2.3.b", "2.3.c", "2.3.d",
    "2.4.a", "2.4.b", "2.4.c", "2.4.d", "2.4.e", "2.4.f",
    "2.5.a", "2.5.b", "2.5.d", "2.5.e", "2.5.f",
)

# A scenario's starting state touching every area: none of it is the candidate's work.
SEED = {
    **SALES_SEED,
    "companies": [
        {"key": "hotel", "name": "Hotel Pod Wawelem sp. z o.o.", "industry": "Hotels", "nip": make_nip(7)},
        {"key": "shop", "name": "Sklep Na Rogu", "industry": "Retail"},
    ],
    "products": [{"name": "Coffee machine", "sku": "CM-1", "unit": "szt.", "unit_price": "4000.00", "vat_rate": "23"}],
    "offer_templates": [{"name": "Standard"}],
}

TEMPLATE_BODY = (
    "<h1>{{ oferta.tytul }}</h1>\n<p>Szanowna Pani {{ kontakt.imie_nazwisko }},</p>\n"
    "<p>oferta dla {{ klient.nazwa }} (NIP {{ klient.nip }}):</p>\n{{ tabela_pozycji }}\n"
    "<p>Razem brutto: {{ suma_brutto }} {{ waluta }}</p>"
)


@pytest.fixture
def act_as(sandbox_app):
    """Run services in a request acting as the given actor (``None``: nobody, logged as system)."""
    with sandbox_app.test_request_context():

        def switch(ref: str | None) -> None:
            if ref is None:
                flask_session.pop("actor", None)
            else:
                flask_session["actor"] = ref

        switch(CANDIDATE)
        yield switch


@pytest.fixture
def seeded(act_as, sandbox_session):
    ws = create_workspace("Seeded", CANDIDATE, seed=SEED)
    sandbox_session.commit()
    return ws


def check(ws, code: str, key: ScenarioKey = EMPTY_KEY) -> CheckResult:
    result = CHECKS[code](ws, key)
    assert result.criterion == code
    assert str(result.summary).endswith(".")
    return result


def statement_ids(result: CheckResult) -> set[int]:
    return {row.statement_id for row in result.evidence if row.statement_id is not None}


def records(result: CheckResult, object_type: str) -> set[int]:
    return {row.object_id for row in result.evidence if row.object_type == object_type and row.object_id is not None}


def logged(ws, verb: str, object_type: str) -> set[int]:
    """Ids of the candidate's statements of ``verb`` on ``object_type``."""
    return {s.id for s in action_log(ws.id)
            if s.verb == verb and s.object_type == object_type and s.actor_ref == CANDIDATE}


def endpoint_of(result: CheckResult, object_type: str) -> set[tuple[str, tuple]]:
    return {(row.endpoint, tuple(sorted(row.endpoint_args.items()))) for row in result.evidence
            if row.object_type == object_type}


# --- the candidate's work, by area -----------------------------------------------------------

@dataclass
class Work:
    """What the candidate made (handles for the assertions)."""

    companies: list[Company]
    contacts: list[Contact]
    segment: Segment | None = None
    pipeline: Pipeline | None = None
    template: OfferTemplate | None = None
    offer: Offer | None = None
    message: OutboxMessage | None = None
    opportunity: Opportunity | None = None
    tasks: tuple[Task, ...] = ()
    reports: tuple[Any, ...] = ()


def customer_work(ws) -> Work:
    """Type a company and a contact, segment by industry, complete a seeded company's phone."""
    acme = company(ws, name="Acme Hotels sp. z o.o.", nip=make_nip(11), email="biuro@acme.pl", industry="Hotels")
    anna = contact(ws, company=acme, first_name="Anna", last_name="Nowak", email="anna@acme.pl",
                   legal_basis="contract")
    segment = segment_service.create_segment(ws, name="Hotels", rules={"industries": ["Hotels"]},
                                             sales_goal="Coffee machines for hotels")
    return Work(companies=[acme], contacts=[anna], segment=segment)


GOAL = {
    "goal_specific": "Sell coffee machines to ten hotels in Kraków",
    "goal_metric": "won_count", "goal_target": Decimal("10"),
    "goal_achievable": "Two reps sold eight machines last quarter",
    "goal_relevance": "Hotels are our most profitable customers",
}


def funnel_work(ws) -> Pipeline:
    """A pipeline with a SMART goal, three stages with rising probabilities and scheduled tasks."""
    return make_pipeline(ws, "Hotels B2B", goal_deadline=date.today() + timedelta(days=90), **GOAL)


def offer_work(ws, customer: Company, person: Contact, send: bool = True) -> Work:
    """Write a template with merge tags, make an offer for a customer, generate the PDF, send it."""
    template = offer_service.create_template(ws, {"name": "Hotel offer", "body": TEMPLATE_BODY})
    offer = offer_service.create_offer(ws, {"title": "Coffee machines", "company_id": customer.id,
                                            "contact_id": person.id, "template_id": template.id})
    offer_service.add_line(ws, offer, {"name": "Coffee machine", "quantity": "2", "unit_price": "4000"})
    assert offer_service.generate_offer(ws, offer).ok
    message = None
    if send:
        message = offer_service.send_offer(ws, offer, to_address="anna@acme.pl", subject="Offer",
                                           body="Please find our offer attached.")
    return Work(companies=[customer], contacts=[person], template=template, offer=offer, message=message)


def sales_work(ws, customer: Company | None = None) -> Work:
    """Add an opportunity, give it a value, move it forward, add a task, and win another one."""
    customer = customer or make_company(ws, "Hotel Kraków")
    pipeline = funnel_work(ws)
    opportunity = make_opportunity(ws, customer, pipeline, name="Coffee for Kraków", value="48000")
    opp_service.update_opportunity(ws, opportunity, {"value": Decimal("52000")})
    opp_service.move_opportunity(ws, opportunity, stage_named(pipeline, "Offer"))
    demo = task_service.create_task(ws, {"title": "Prepare a demo", "opportunity_id": opportunity.id,
                                         "due_at": datetime.now(UTC) + timedelta(days=2),
                                         "priority": "urgent"})
    call = task_service.create_task(ws, {"title": "Call the buyer", "company_id": customer.id,
                                         "due_at": datetime.now(UTC) + timedelta(days=4)})
    task_service.set_progress(ws, demo, 40)
    opp_service.record_filter(ws, "task", {"period": "week"}, 2)
    opp_service.record_filter(ws, "board", {"pipeline_id": pipeline.id}, 1)
    won = make_opportunity(ws, customer, pipeline, name="Second machine", value="9000")
    opp_service.close_opportunity(ws, won, True, "Signed after the demo")
    return Work(companies=[customer], contacts=[], pipeline=pipeline, opportunity=opportunity, tasks=(demo, call))


def report_work(ws) -> Work:
    """Choose data, filter, compare two periods, draw a bar chart, export CSV, save the report.

    The filters and periods select the workspace's records (a filter that finds nothing is no filtering)."""
    today = date.today()
    filtered = report_service.run_report(ws, report_service.parse_config(
        {"source": "tasks", "group_by": "priority", "measure": "count", "chart": "pie", "f_status": "in_progress",
         "date_field": "due_at", "date_from": (today - timedelta(days=30)).isoformat(),
         "date_to": (today + timedelta(days=60)).isoformat()}))
    compared = report_service.run_report(ws, report_service.parse_config(
        {"source": "opportunities", "group_by": "stage", "measure": "sum_value", "chart": "bar",
         "date_field": "created_at", "date_from": (today - timedelta(days=61)).isoformat(),
         "date_to": (today - timedelta(days=31)).isoformat(), "compare": "periods",
         "b_from": (today - timedelta(days=30)).isoformat(), "b_to": (today + timedelta(days=1)).isoformat()}))
    report_service.record_export(ws, compared, "csv")
    report_service.save_report(ws, "Values by stage", compared.config)
    return Work(companies=[], contacts=[], reports=(filtered, compared))


def all_work(ws) -> Work:
    customers = customer_work(ws)
    sales = sales_work(ws, customers.companies[0])
    offers = offer_work(ws, customers.companies[0], customers.contacts[0])
    report_work(ws)
    hotel = next(c for c in ws_rows(ws, Company) if c.name.startswith("Hotel Pod"))
    customer_service.update_company(ws, hotel, {"phone": "+48 12 345 67 89"})
    reading_work(ws, sales.pipeline)
    return Work(companies=customers.companies, contacts=customers.contacts, segment=customers.segment,
                pipeline=sales.pipeline, template=offers.template, offer=offers.offer, message=offers.message,
                opportunity=sales.opportunity, tasks=sales.tasks)


def reading_work(ws, pipeline: Pipeline) -> None:
    """Record in answers to the sheet what the task summary and the board show now (2.3.c, 2.3.d)."""
    totals = task_service.completion_totals(ws, task_service.TaskFilters())
    record_answer(ws.id, 8, f"Wykonane: {totals.done}, zaległe: {totals.overdue}")
    summary = opp_service.pipeline_summary(ws, pipeline)
    record_answer(ws.id, 9, "; ".join(f"{row.stage.name}: {row.value} zł" for row in summary.stages))


def ws_rows(ws, model) -> list:
    """The workspace's rows of ``model``, by id."""
    return list(sandbox_crm.session().scalars(select(model).where(model.workspace_id == ws.id).order_by(model.id)))


# --- the registry ----------------------------------------------------------------------------

def test_every_simulation_criterion_has_exactly_one_check():
    assert sorted(CHECKS) == sorted(SIMULATION_CRITERIA)
    assert len(set(CHECKS.values())) == len(SIMULATION_CRITERIA)
    definition = yaml.safe_load((ROOT / "question_bank/qualifications/13881.yaml").read_text(encoding="utf-8"))
    simulated = sorted(criterion["code"] for outcome_set in definition["outcome_sets"]
                       for outcome in outcome_set["outcomes"] for criterion in outcome["criteria"]
                       if criterion["method"] == "simulation")
    assert simulated == sorted(SIMULATION_CRITERIA)


def test_a_second_check_for_a_criterion_is_refused():
    from sandbox_crm.evidence import check as register

    with pytest.raises(ValueError):
        register("2.4.f")(lambda workspace: None)


def test_host_api_runs_every_check_and_refuses_unknown_workspace(seeded):
    results = run_evidence_checks(seeded.id)
    assert list(results) == sorted(SIMULATION_CRITERIA)
    assert all(isinstance(r, CheckResult) and r.criterion == code for code, r in results.items())
    with pytest.raises(LookupError):
        run_evidence_checks(seeded.id + 1000)


# --- not met: nothing done, or only the scenario's records, or done by "system" --------------

@pytest.mark.parametrize("code", SIMULATION_CRITERIA)
def test_empty_workspace_is_not_met(workspace, act_as, code):
    result = check(workspace, code)
    assert result.verdict is Verdict.NOT_MET
    assert not statement_ids(result)


# Reading completion and stage values is evidenced by the figures the candidate records (2.3.c/d):
# a seeded workspace where nothing was recorded is not met like the rest.
SEEDED_CANT_TELL: set[str] = set()


@pytest.mark.parametrize("code", SIMULATION_CRITERIA)
def test_seed_only_workspace_is_not_the_candidates_work(seeded, code):
    result = check(seeded, code)
    expected = Verdict.CANT_TELL if code in SEEDED_CANT_TELL else Verdict.NOT_MET
    assert result.verdict is expected
    assert not statement_ids(result)


def test_the_same_work_logged_as_system_does_not_count(seeded, act_as, sandbox_session):
    act_as(None)
    all_work(seeded)
    sandbox_session.flush()
    assert {s.actor_ref for s in action_log(seeded.id)} == {"system"}
    results = run_checks(seeded)
    assert [code for code, r in results.items() if r.verdict is Verdict.MET] == []


def test_all_work_meets_every_criterion(seeded, sandbox_session):
    all_work(seeded)
    sandbox_session.commit()
    results = run_evidence_checks(seeded.id)
    assert {code: r.verdict for code, r in results.items()} == dict.fromkeys(SIMULATION_CRITERIA, Verdict.MET)
    candidate = {s.id for s in action_log(seeded.id) if s.actor_ref == CANDIDATE}
    for result in results.values():
        assert statement_ids(result) <= candidate
        for row in result.evidence:
            assert row.endpoint is None or row.endpoint.startswith("sandbox.")
            if row.endpoint:
                assert row.endpoint_args["ws_id"] == seeded.id


def test_evidence_links_resolve_to_pages(seeded, sandbox_app, sandbox_session, login_as):
    all_work(seeded)
    sandbox_session.commit()
    client = login_as(CANDIDATE)
    urls = set()
    for result in run_checks(seeded).values():
        for row in result.evidence:
            if row.endpoint:
                urls.add(url_for(row.endpoint, **row.endpoint_args))
    assert urls
    for url in sorted(urls):
        response = client.get(url)
        assert response.status_code in (200, 302), url


# --- 1.2 customers ---------------------------------------------------------------------------

def test_1_2_b_company_created(workspace, act_as, sandbox_session):
    work = customer_work(workspace)
    result = check(workspace, "1.2.b")
    assert result.verdict is Verdict.MET
    assert records(result, "company") == {work.companies[0].id}
    assert statement_ids(result) == logged(workspace, "create", "company")
    assert ("sandbox.company", (("company_id", work.companies[0].id), ("ws_id", workspace.id))) in \
        endpoint_of(result, "company")


def test_1_2_b_created_then_deleted_cant_tell(workspace, act_as):
    acme = company(workspace, name="Acme")
    customer_service.delete_company(workspace, acme)
    assert check(workspace, "1.2.b").verdict is Verdict.CANT_TELL


def test_1_2_c_contact_with_details_and_legal_basis(workspace, act_as):
    work = customer_work(workspace)
    result = check(workspace, "1.2.c")
    assert result.verdict is Verdict.MET
    assert records(result, "contact") == {work.contacts[0].id}
    assert records(result, "company") == {work.companies[0].id}


def test_1_2_c_imported_leads_count(workspace, act_as):
    from sandbox_crm.services import imports

    source = imports.save_source(workspace, name="leads.csv", kind="csv", content=(
        "Imię;Nazwisko;E-mail;Firma\nPiotr;Zieliński;piotr@beta.pl;Beta sp. z o.o.\n"))
    imported = imports.import_rows(workspace, source, [1])
    assert imported.contacts
    customer_service.update_contact(workspace, imported.contacts[0], {"legal_basis": "legitimate_interest"})
    result = check(workspace, "1.2.c")
    assert result.verdict is Verdict.MET
    assert records(result, "contact") == {imported.contacts[0].id}
    assert logged(workspace, "import", "import_source") <= statement_ids(result)


def test_1_2_c_bare_names_cant_tell(workspace, act_as):
    contact(workspace, first_name="Jan", last_name="Bez Danych")
    assert check(workspace, "1.2.c").verdict is Verdict.CANT_TELL


def test_1_2_d_segment_with_members(seeded, act_as):
    work = customer_work(seeded)
    result = check(seeded, "1.2.d")
    assert result.verdict is Verdict.MET
    assert records(result, "segment") == {work.segment.id}
    assert "2 members" in next(r.label for r in result.evidence if r.object_type == "segment")
    assert statement_ids(result) == logged(seeded, "create", "segment")


def test_1_2_d_segment_without_members_cant_tell(workspace, act_as):
    segment_service.create_segment(workspace, name="Nobody", rules={"industries": ["Mining"]})
    assert check(workspace, "1.2.d").verdict is Verdict.CANT_TELL


def test_1_2_e_completing_a_seeded_company(seeded, act_as):
    shop = next(c for c in ws_rows(seeded, Company) if c.name == "Sklep Na Rogu")
    customer_service.update_company(seeded, shop, {"phone": "+48 12 345 67 89", "city": "Kraków"})
    result = check(seeded, "1.2.e")
    assert result.verdict is Verdict.MET
    with force_locale("en"):
        assert "City" in str(result.summary) and "Phone" in str(result.summary)
    assert statement_ids(result) == logged(seeded, "update", "company")
    assert records(result, "company") == {shop.id}


def test_1_2_e_only_changing_values_cant_tell(seeded, act_as):
    shop = next(c for c in ws_rows(seeded, Company) if c.name == "Sklep Na Rogu")
    customer_service.update_company(seeded, shop, {"industry": "Groceries"})
    assert check(seeded, "1.2.e").verdict is Verdict.CANT_TELL


# --- 2.1 funnels -----------------------------------------------------------------------------

def test_2_1_a_smart_goal(workspace, act_as):
    pipeline = funnel_work(workspace)
    result = check(workspace, "2.1.a")
    assert result.verdict is Verdict.MET
    assert records(result, "pipeline") == {pipeline.id}
    assert statement_ids(result) == logged(workspace, "create", "pipeline")


def test_2_1_a_goal_missing_elements_cant_tell(workspace, act_as):
    pipeline_service.create_pipeline(workspace, {"name": "Vague", "goal_specific": "More sales"})
    result = check(workspace, "2.1.a")
    assert result.verdict is Verdict.CANT_TELL
    assert "Measurable" in result.summary


def test_2_1_a_stage_goal_counts(workspace, act_as):
    pipeline = make_pipeline(workspace, "No goal")
    stage = stage_named(pipeline, "Offer")
    pipeline_service.update_stage(workspace, stage, {**GOAL, "goal_deadline": date.today() + timedelta(days=30)})
    result = check(workspace, "2.1.a")
    assert result.verdict is Verdict.MET
    assert records(result, "pipeline_stage") == {stage.id}


def test_2_1_b_three_stages_with_rising_probabilities(workspace, act_as):
    pipeline = funnel_work(workspace)
    result = check(workspace, "2.1.b")
    assert result.verdict is Verdict.MET
    assert records(result, "pipeline_stage") == {s.id for s in pipeline.stages}
    assert statement_ids(result) == logged(workspace, "create", "pipeline_stage")


def test_2_1_b_falling_probabilities_cant_tell(workspace, act_as):
    make_pipeline(workspace, "Odd", stages=(("A", 80, ()), ("B", 50, ()), ("C", 10, ())))
    assert check(workspace, "2.1.b").verdict is Verdict.CANT_TELL


def test_2_1_c_stages_entered(workspace, act_as):
    pipeline = funnel_work(workspace)
    result = check(workspace, "2.1.c")
    assert result.verdict is Verdict.MET
    assert records(result, "pipeline_stage") == {s.id for s in pipeline.stages}
    assert {row.endpoint for row in result.evidence} == {"sandbox.pipeline"}


def test_2_1_d_tasks_attached_to_stages(workspace, act_as):
    pipeline = funnel_work(workspace)
    result = check(workspace, "2.1.d")
    assert result.verdict is Verdict.MET
    assert records(result, "stage_task") == {t.id for s in pipeline.stages for t in s.task_templates}
    assert statement_ids(result) == logged(workspace, "create", "stage_task")


def test_2_1_e_schedule(workspace, act_as):
    pipeline = funnel_work(workspace)
    result = check(workspace, "2.1.e")
    assert result.verdict is Verdict.MET
    assert ("sandbox.pipeline_schedule", (("pipeline_id", pipeline.id), ("ws_id", workspace.id))) in \
        endpoint_of(result, "pipeline")
    assert len(records(result, "stage_task")) == 3


def test_2_1_e_single_task_cant_tell(workspace, act_as):
    make_pipeline(workspace, "One task", stages=(("Only", 10, ({"title": "Call", "due_offset_days": 1},)),))
    assert check(workspace, "2.1.e").verdict is Verdict.CANT_TELL


# --- 2.2 offers ------------------------------------------------------------------------------

def test_2_2_a_and_b_template_with_merge_tags(workspace, act_as):
    template = offer_service.create_template(workspace, {"name": "Mine", "body": TEMPLATE_BODY})
    for code in ("2.2.a", "2.2.b"):
        result = check(workspace, code)
        assert result.verdict is Verdict.MET
        assert records(result, "offer_template") == {template.id}
        assert statement_ids(result) == logged(workspace, "create", "offer_template")
    assert "klient" in check(workspace, "2.2.b").summary


def test_2_2_b_template_without_tags_not_met(workspace, act_as):
    # Text without tags shows neither offer lines nor a total: a letter, not an offer template.
    offer_service.create_template(workspace, {"name": "Plain", "body": "<p>Our offer of coffee machines for "
                                                                       "your hotel, prices on request.</p>"})
    assert check(workspace, "2.2.a").verdict is Verdict.NOT_MET
    assert check(workspace, "2.2.b").verdict is Verdict.NOT_MET


def test_2_2_a_editing_a_seeded_template_counts(seeded, act_as):
    template = ws_rows(seeded, OfferTemplate)[0]
    offer_service.update_template(seeded, template, {"body": template.body + (
        "<p>Contact e-mail: {{ kontakt.email }}, phone {{ kontakt.telefon }}; we deliver within two weeks.</p>")})
    result = check(seeded, "2.2.a")
    assert result.verdict is Verdict.MET
    assert statement_ids(result) == logged(seeded, "update", "offer_template")


def test_2_2_a_one_tag_added_to_a_seeded_template_cant_tell(seeded, act_as):
    template = ws_rows(seeded, OfferTemplate)[0]
    offer_service.update_template(seeded, template, {"body": template.body + "<p>{{ kontakt.email }}</p>"})
    assert check(seeded, "2.2.a").verdict is Verdict.CANT_TELL


def test_2_2_c_offer_generated_for_recipient(workspace, act_as):
    people = customer_work(workspace)
    work = offer_work(workspace, people.companies[0], people.contacts[0], send=False)
    result = check(workspace, "2.2.c")
    assert result.verdict is Verdict.MET
    assert records(result, "offer") == {work.offer.id}
    assert statement_ids(result) == logged(workspace, "generate", "offer")
    assert "sandbox.offer_pdf" in {row.endpoint for row in result.evidence}
    assert check(workspace, "2.2.d").verdict is Verdict.NOT_MET


def test_2_2_c_stale_offer_cant_tell(workspace, act_as):
    people = customer_work(workspace)
    work = offer_work(workspace, people.companies[0], people.contacts[0], send=False)
    offer_service.update_offer(workspace, work.offer, {"title": "Changed after generating"})
    assert check(workspace, "2.2.c").verdict is Verdict.CANT_TELL


def test_2_2_d_offer_sent_and_in_history(workspace, act_as):
    people = customer_work(workspace)
    work = offer_work(workspace, people.companies[0], people.contacts[0])
    result = check(workspace, "2.2.d")
    assert result.verdict is Verdict.MET
    assert statement_ids(result) == logged(workspace, "send", "offer")
    assert records(result, "outbox_message") == {work.message.id}
    events = [e for e in ws_rows(workspace, CustomerEvent) if e.kind == "offer_sent"]
    assert records(result, "customer_event") == {e.id for e in events}
    assert ("sandbox.company", (("company_id", people.companies[0].id), ("ws_id", workspace.id))) in \
        endpoint_of(result, "customer_event")


# --- 2.3 monitoring --------------------------------------------------------------------------

def test_2_3_a_task_list_for_a_period(seeded, act_as):
    opp_service.record_filter(seeded, "task", {"period": "week"}, 1)
    result = check(seeded, "2.3.a")
    assert result.verdict is Verdict.MET
    assert statement_ids(result) == logged(seeded, "filter", "task")


def test_2_3_a_task_list_filtered_on_the_page(seeded, act_as, login_as):
    response = login_as(CANDIDATE).get(f"/sandbox/w/{seeded.id}/tasks/?period=week&apply=1")
    assert response.status_code == 200
    result = check(seeded, "2.3.a")
    assert result.verdict is Verdict.MET
    assert statement_ids(result) == logged(seeded, "filter", "task") != set()


def test_2_3_a_planned_tasks_with_due_dates(workspace, act_as):
    work = sales_work(workspace)
    result = check(workspace, "2.3.a")
    assert result.verdict is Verdict.MET
    assert records(result, "task") == {t.id for t in work.tasks}


def test_2_3_a_a_filter_without_period_is_not_met(seeded, act_as):
    opp_service.record_filter(seeded, "task", {"priority": "high"}, 0)
    assert check(seeded, "2.3.a").verdict is Verdict.NOT_MET


def test_2_3_b_priorities(workspace, act_as):
    work = sales_work(workspace)
    result = check(workspace, "2.3.b")
    assert result.verdict is Verdict.MET
    demo = work.tasks[0]
    assert demo.id in records(result, "task")
    assert "urgent" in result.summary and "high" in result.summary  # the stage template's "Call the customer"


def test_2_3_b_only_default_priority_cant_tell(workspace, act_as):
    task_service.create_task(workspace, {"title": "Something"})
    assert check(workspace, "2.3.b").verdict is Verdict.CANT_TELL


def test_2_3_c_updating_completion_is_not_reading_it(seeded, act_as):
    """Changing how far a task has got records no reading (tests/sandbox/test_evidence_reading.py)."""
    task = ws_rows(seeded, Task)[0]
    task_service.set_progress(seeded, task, 60)
    assert check(seeded, "2.3.c").verdict is Verdict.NOT_MET


def test_2_3_c_status_filter_without_recorded_figures_cant_tell(seeded, act_as):
    opp_service.record_filter(seeded, "task", {"status": "done"}, 0)
    result = check(seeded, "2.3.c")
    assert result.verdict is Verdict.CANT_TELL
    assert statement_ids(result) == logged(seeded, "filter", "task")


def test_2_3_d_board_read_without_recorded_values_cant_tell(seeded, act_as, login_as):
    pipeline = ws_rows(seeded, Pipeline)[0]
    response = login_as(CANDIDATE).get(f"/sandbox/w/{seeded.id}/board?pipeline={pipeline.id}&apply=1")
    assert response.status_code == 200
    result = check(seeded, "2.3.d")
    assert result.verdict is Verdict.CANT_TELL
    assert statement_ids(result) == logged(seeded, "filter", "board") != set()


def test_2_3_d_report_by_stage_without_recorded_values_cant_tell(seeded, act_as):
    report_service.run_report(seeded, report_service.parse_config(
        {"source": "opportunities", "group_by": "stage", "measure": "sum_value"}))
    result = check(seeded, "2.3.d")
    assert result.verdict is Verdict.CANT_TELL
    assert statement_ids(result) == logged(seeded, "generate", "report")


# --- 2.4 opportunities -----------------------------------------------------------------------

def test_2_4_a_added_and_edited(workspace, act_as):
    work = sales_work(workspace)
    result = check(workspace, "2.4.a")
    assert result.verdict is Verdict.MET
    assert work.opportunity.id in records(result, "opportunity")
    assert logged(workspace, "update", "opportunity") <= statement_ids(result)


def test_2_4_a_only_added_cant_tell(workspace, act_as):
    make_opportunity(workspace, make_company(workspace), make_pipeline(workspace))
    assert check(workspace, "2.4.a").verdict is Verdict.CANT_TELL


def test_2_4_b_activity_added_to_opportunity_stage(workspace, act_as):
    work = sales_work(workspace)
    result = check(workspace, "2.4.b")
    assert result.verdict is Verdict.MET
    demo = work.tasks[0]
    assert records(result, "task") == {demo.id}
    assert demo.stage_id == work.opportunity.stage_id


def test_2_4_b_only_template_tasks_cant_tell(workspace, act_as):
    make_opportunity(workspace, make_company(workspace), make_pipeline(workspace))
    assert check(workspace, "2.4.b").verdict is Verdict.CANT_TELL


def test_2_4_c_value_and_stage(workspace, act_as):
    work = sales_work(workspace)
    result = check(workspace, "2.4.c")
    assert result.verdict is Verdict.MET
    assert work.opportunity.id in records(result, "opportunity")
    assert "52000" in next(r.label for r in result.evidence if r.object_id == work.opportunity.id)


def test_2_4_c_without_value_not_met(workspace, act_as):
    make_opportunity(workspace, make_company(workspace), make_pipeline(workspace), value=None)
    result = check(workspace, "2.4.c")
    assert result.verdict is Verdict.NOT_MET
    assert statement_ids(result) == logged(workspace, "create", "opportunity")


def test_2_4_d_moved_forward(workspace, act_as):
    work = sales_work(workspace)
    result = check(workspace, "2.4.d")
    assert result.verdict is Verdict.MET
    assert statement_ids(result) == logged(workspace, "move", "opportunity")
    assert "Qualification → Offer" in result.evidence[0].label
    assert records(result, "opportunity") == {work.opportunity.id}


def test_2_4_d_moved_back_only_cant_tell(workspace, act_as):
    pipeline = make_pipeline(workspace)
    opportunity = make_opportunity(workspace, make_company(workspace), pipeline, stage=stage_named(pipeline, "Offer"))
    opp_service.move_opportunity(workspace, opportunity, stage_named(pipeline, "Qualification"))
    assert check(workspace, "2.4.d").verdict is Verdict.CANT_TELL


def test_2_4_e_assigned_to_company(workspace, act_as):
    work = sales_work(workspace)
    result = check(workspace, "2.4.e")
    assert result.verdict is Verdict.MET
    assert records(result, "company") == {work.companies[0].id}
    assert work.opportunity.id in records(result, "opportunity")


def test_2_4_f_won_with_reason(workspace, act_as):
    sales_work(workspace)
    result = check(workspace, "2.4.f")
    assert result.verdict is Verdict.MET
    assert statement_ids(result) == logged(workspace, "won", "opportunity")
    assert "Signed after the demo" in result.evidence[0].label


def test_2_4_f_reopened_cant_tell(workspace, act_as):
    pipeline = make_pipeline(workspace)
    opportunity = make_opportunity(workspace, make_company(workspace), pipeline)
    opp_service.close_opportunity(workspace, opportunity, False, "Too expensive")
    opp_service.reopen_opportunity(workspace, opportunity)
    assert check(workspace, "2.4.f").verdict is Verdict.CANT_TELL


# --- 2.5 reports -----------------------------------------------------------------------------

def test_2_5_a_data_chosen(seeded, act_as):
    report_work(seeded)
    result = check(seeded, "2.5.a")
    assert result.verdict is Verdict.MET
    assert statement_ids(result) == logged(seeded, "generate", "report")
    assert "Tasks" in result.summary


def test_2_5_a_builder_defaults_only_cant_tell(seeded, act_as):
    report_service.run_report(seeded, report_service.parse_config({}))
    assert check(seeded, "2.5.a").verdict is Verdict.CANT_TELL


def test_2_5_b_filtered(seeded, act_as):
    report_work(seeded)
    result = check(seeded, "2.5.b")
    assert result.verdict is Verdict.MET
    # The reports themselves are the evidence: each holds its filters and how many rows they found.
    assert logged(seeded, "generate", "report") <= statement_ids(result)


def test_2_5_b_filter_finding_nothing_is_not_met(seeded, act_as):
    customer_service.list_companies(seeded, customer_service.CompanyFilters(q="zzz"))
    report_service.run_report(seeded, report_service.parse_config(
        {"source": "companies", "f_name": "zzz"}))
    assert check(seeded, "2.5.b").verdict is Verdict.NOT_MET


def test_2_5_b_filtered_list_counts(seeded, act_as):
    customer_service.list_companies(seeded, customer_service.CompanyFilters(industry="Hotels"))
    result = check(seeded, "2.5.b")
    assert result.verdict is Verdict.MET
    assert statement_ids(result) == logged(seeded, "filter", "company") != set()


def test_2_5_d_comparison(seeded, act_as):
    work = report_work(seeded)
    result = check(seeded, "2.5.d")
    assert result.verdict is Verdict.MET
    assert len(statement_ids(result)) == 1
    assert work.reports[1].comparing


def test_2_5_d_summary_without_comparison_cant_tell(seeded, act_as):
    report_service.run_report(seeded, report_service.parse_config({"source": "companies", "group_by": "industry"}))
    assert check(seeded, "2.5.d").verdict is Verdict.CANT_TELL


def test_2_5_e_chart_chosen(seeded, act_as):
    report_work(seeded)
    result = check(seeded, "2.5.e")
    assert result.verdict is Verdict.MET
    assert "Bar chart" in result.summary and "Pie chart" in result.summary


def test_2_5_e_tables_only_cant_tell(seeded, act_as):
    report_service.run_report(seeded, report_service.parse_config({"source": "companies", "chart": "table"}))
    assert check(seeded, "2.5.e").verdict is Verdict.CANT_TELL


def test_2_5_f_exported_and_saved(seeded, act_as):
    report_work(seeded)
    result = check(seeded, "2.5.f")
    assert result.verdict is Verdict.MET
    assert logged(seeded, "export", "report") | logged(seeded, "create", "saved_report") == statement_ids(result)
    assert len(records(result, "saved_report")) == 1


def test_2_5_f_on_screen_only_cant_tell(seeded, act_as):
    report_service.run_report(seeded, report_service.parse_config({"source": "companies", "chart": "bar"}))
    assert check(seeded, "2.5.f").verdict is Verdict.CANT_TELL


def test_2_3_c_task_report_by_status_without_recorded_figures_cant_tell(seeded, act_as):
    report_service.run_report(seeded, report_service.parse_config({"source": "tasks", "group_by": "status"}))
    result = check(seeded, "2.3.c")
    assert result.verdict is Verdict.CANT_TELL
    assert statement_ids(result) == logged(seeded, "generate", "report")
