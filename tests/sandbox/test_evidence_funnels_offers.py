"""Evidence checks of 2.1.a–e (funnels), 2.2.a–d (offers) and 2.4.a–e (opportunities) judged
against a real exam scenario's key: the hurtownia-czesci sheet (tasks 5, 6 and 7), with the
candidate's work done through the sandbox's services as the pages call them.

For every check: the sheet's work is met; a token action is not met or can't tell; work on the
wrong target is not met; correct work the sheet allows done differently is met.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from exam_scenarios import all_scenarios, exam_codes
from flask import session as flask_session
from flask_babel import LazyString, force_locale
from sqlalchemy import select

import sandbox_crm
from sandbox_crm.api import create_workspace, run_evidence_checks
from sandbox_crm.evidence import CHECKS, CheckResult, ScenarioKey, Verdict
from sandbox_crm.evidence.wording import loose
from sandbox_crm.models import Company, Contact, ImportSource, Offer, OfferTemplate, Product
from sandbox_crm.models.sales import Opportunity, Pipeline
from sandbox_crm.services import imports as import_service
from sandbox_crm.services import offers as offer_service
from sandbox_crm.services import opportunities as opp_service
from sandbox_crm.services import pipelines as pipeline_service
from sandbox_crm.services import tasks as task_service
from sandbox_crm.services.smart import check_goal, real_words

CANDIDATE = "user:7"
MY_CRITERIA = ("2.1.a", "2.1.b", "2.1.c", "2.1.d", "2.1.e", "2.2.a", "2.2.b", "2.2.c", "2.2.d",
               "2.4.a", "2.4.b", "2.4.c", "2.4.d", "2.4.e")
FUNNEL = "Umowa ramowa — utrzymanie ruchu"
ZMB_OPPORTUNITY = "Łożyska — Zakłady Mięsne Bieruń"


@pytest.fixture(scope="module")
def scenarios():
    return all_scenarios()


@pytest.fixture
def act_as(sandbox_app):
    """Run services in a request acting as the candidate (``None``: nobody, logged as system)."""
    with sandbox_app.test_request_context():
        flask_session["actor"] = CANDIDATE
        yield lambda ref: flask_session.__setitem__("actor", ref) if ref else flask_session.pop("actor", None)


def _workspace(scenarios, code: str):
    scenario = scenarios[code]
    ws = create_workspace(code, CANDIDATE, seed=scenario.seed)
    sandbox_crm.session().commit()
    return ws, ScenarioKey.from_data(scenario.key.check_data())


@pytest.fixture
def hurtownia(scenarios, act_as, sandbox_session):
    return _workspace(scenarios, "hurtownia-czesci")


def check(ws, key: ScenarioKey, code: str) -> CheckResult:
    result = CHECKS[code](ws, key)
    assert result.criterion == code
    assert isinstance(result.summary, LazyString), "summaries are lazy messages"
    for row in result.evidence:
        if row.statement_id is None:  # the log's own statement labels are the log's
            assert isinstance(row.label, LazyString), row.label
    with force_locale("en"):
        assert str(result.summary).endswith("."), str(result.summary)
        for row in result.evidence:
            assert str(row.label)
    return result


def verdict(ws, key: ScenarioKey, code: str) -> Verdict:
    return check(ws, key, code).verdict


def one(ws, model, **where):
    rows = [row for row in sandbox_crm.session().scalars(select(model).where(model.workspace_id == ws.id))
            if all(getattr(row, name) == value for name, value in where.items())]
    assert len(rows) == 1, (model, where, rows)
    return rows[0]


# --- the candidate's work on hurtownia-czesci ----------------------------------------------------

GOAL = {
    "goal_specific": "Podpisać umowy ramowe na dostawy łożysk i regenerację przekładni z nowymi zakładami przemysłowymi",
    "goal_metric": "won_count", "goal_target": Decimal("4"),
    "goal_achievable": "Z targów mamy dziesięć kontaktów, dwa zakłady pytały już o regenerację",
    "goal_relevance": "Umowy ramowe dają stałe zamówienia łożysk i obciążają nasz serwis regeneracji",
}
STAGES = (  # name, probability, planned days, task templates (title, days after entering the stage)
    ("Kwalifikacja potrzeb", 10, 5, (("Telefon kwalifikujący do utrzymania ruchu", 1),)),
    ("Audyt parku maszynowego", 25, 7, (("Umówić audyt parku maszynowego", 2), ("Raport z audytu", 6))),
    ("Oferta", 50, 7, (("Wysłać ofertę na łożyska i regenerację", 1),)),
    ("Negocjacje", 75, 10, (("Telefon w sprawie warunków umowy", 3),)),
    ("Umowa ramowa", 90, 5, (("Przygotować umowę ramową do podpisu", 2),)),
    ("Przegrana", 0, None, ()),
)


def design(ws, name: str = FUNNEL, stages=STAGES, goal: dict | None = None, deadline_days: int = 80) -> Pipeline:
    """The candidate's funnel: a pipeline with a goal, stages in order, tasks scheduled on each."""
    goal = GOAL if goal is None else goal
    data = {"name": name, "customer_type": "b2b", "offer_kind": "mixed", "sales_form": "direct", **goal}
    if goal:
        data["goal_deadline"] = date.today() + timedelta(days=deadline_days)
    pipeline = pipeline_service.create_pipeline(ws, data)
    for stage_name, probability, days, tasks in stages:
        stage = pipeline_service.add_stage(ws, pipeline, {"name": stage_name, "probability": probability,
                                                          "duration_days": days})
        for title, offset in tasks:
            pipeline_service.add_stage_task(ws, stage, {"title": title, "priority": "normal", "due_offset_days": offset})
    sandbox_crm.session().flush()
    return pipeline


def seeded_pipeline(ws) -> Pipeline:
    return one(ws, Pipeline, name="Sprzedaż standardowa")


def import_leads(ws) -> list[Company]:
    """Import the sheet's correct leads: rows 1 and 2 of the trade-fair file, line 1 of the cards."""
    companies = []
    for name, rows in (("leady_targi.csv", [1, 2]), ("wizytówki.txt", [1])):
        source = one(ws, ImportSource, name=name)
        companies += import_service.import_rows(ws, source, rows).companies
    return companies


def add_opportunity(ws, company: Company, pipeline: Pipeline, value: str | None = "30000",
                    name: str = "Umowa ramowa — łożyska i regeneracja") -> Opportunity:
    return opp_service.create_opportunity(ws, {
        "name": name, "company_id": company.id, "pipeline_id": pipeline.id, "stage_id": pipeline.stages[0].id,
        "value": Decimal(value) if value is not None else None})


def activity(ws, opportunity: Opportunity, title: str = "Umówić wizytę i zebrać listę maszyn") -> None:
    task_service.create_task(ws, {"title": title, "opportunity_id": opportunity.id,
                                  "due_at": datetime.now(UTC) + timedelta(days=2), "priority": "high"})


def correct_value(ws, value: str = "48000", name: str = ZMB_OPPORTUNITY) -> None:
    opp_service.update_opportunity(ws, one(ws, Opportunity, name=name), {"value": Decimal(value)})


def task6(ws, pipeline: Pipeline, company: Company) -> Opportunity:
    """The sheet's task 6: an opportunity for an imported customer in the own funnel, valued,
    activities to close its stage, moved to the next stage; the ZMB value corrected."""
    opportunity = add_opportunity(ws, company, pipeline)
    activity(ws, opportunity)
    opp_service.move_opportunity(ws, opportunity, pipeline.stages[1])
    correct_value(ws)
    return opportunity


OWN_TEMPLATE = """<h1>NAPĘD-TECH — oferta handlowa {{ oferta.numer }}</h1>
<p>Odbiorca: {{ klient.nazwa }}, NIP {{ klient.nip }}</p>
<p>Do rąk: {{ kontakt.imie_nazwisko }}</p>
<p>Proponujemy dostawy części i usługi serwisowe według poniższych pozycji:</p>
<ul>{% for p in pozycje %}<li>{{ p.nazwa }}: {{ p.ilosc }} {{ p.jm }} po {{ p.cena_netto }} zł</li>{% endfor %}</ul>
<p>Razem netto {{ suma_netto }} zł, brutto {{ suma_brutto }} zł. Oferta ważna do {{ waznosc_do }}.</p>
"""


def template(ws, body: str = OWN_TEMPLATE, name: str = "Oferta NAPĘD-TECH") -> OfferTemplate:
    return offer_service.create_template(ws, {"name": name, "body": body})


def offer(ws, tmpl: OfferTemplate, company: str = "Zakłady Mięsne Bieruń S.A.", contact: str = "Kaczmarek",
          skus: tuple[str, ...] = ("LOZ-22212", "USL-REG")) -> Offer:
    customer = one(ws, Company, name=company)
    person = one(ws, Contact, last_name=contact)
    made = offer_service.create_offer(ws, {"title": "Łożyska i regeneracja przekładni", "company_id": customer.id,
                                           "contact_id": person.id, "template_id": tmpl.id})
    for sku in skus:
        offer_service.add_line(ws, made, {"product_id": one(ws, Product, sku=sku).id, "quantity": "4"})
    assert offer_service.generate_offer(ws, made).ok
    return made


def send(ws, made: Offer, to: str | None = None) -> None:
    contact = sandbox_crm.session().get(Contact, made.contact_id)
    offer_service.send_offer(ws, made, to_address=to or contact.email, subject="Oferta NAPĘD-TECH",
                             body="Dzień dobry, w załączeniu oferta na łożyska i regenerację przekładni.")


# --- the SMART rule's filler ---------------------------------------------------------------------

def test_filler_is_not_real_words():
    assert real_words("a b c d") == []
    assert real_words("test test test TEST") == ["test"]
    assert real_words("aaa bbb 12 PLN B2B") == []
    assert real_words("Pozyskać 5 nowych odbiorców łożysk") == ["pozyskać", "nowych", "odbiorców", "łożysk"]


def test_smart_check_refuses_filler_goal_text():
    filler = check_goal(specific="a b c d", metric="revenue", target=Decimal("1000"), deadline=date(2025, 6, 1),
                        achievable="x y z", relevance="q q q", today=date(2025, 3, 1))
    assert filler.missing == ["specific", "achievable", "relevant"]
    good = check_goal(specific=GOAL["goal_specific"], metric="won_count", target=Decimal("4"),
                      deadline=date(2025, 6, 1), achievable=GOAL["goal_achievable"],
                      relevance=GOAL["goal_relevance"], today=date(2025, 3, 1))
    assert good.ok


# --- 2.1.a SMART goal ------------------------------------------------------------------------------

def test_2_1_a_smart_goal_of_the_own_funnel_met(hurtownia):
    ws, key = hurtownia
    pipeline = design(ws)
    result = check(ws, key, "2.1.a")
    assert result.verdict is Verdict.MET
    assert {row.object_id for row in result.evidence if row.object_type == "pipeline"} == {pipeline.id}


def test_2_1_a_filler_goal_text_not_met(hurtownia):
    ws, key = hurtownia
    design(ws, goal={"goal_specific": "a b c d", "goal_metric": "revenue", "goal_target": Decimal("100000"),
                     "goal_achievable": "a b c", "goal_relevance": "a b c"})
    assert verdict(ws, key, "2.1.a") is Verdict.NOT_MET


def test_2_1_a_goal_about_another_sale_not_met(hurtownia):
    ws, key = hurtownia
    design(ws, goal={"goal_specific": "Sprzedać dwadzieścia ekspresów do kawy hotelom w Krakowie",
                     "goal_metric": "won_count", "goal_target": Decimal("20"),
                     "goal_achievable": "W zeszłym roku sprzedaliśmy piętnaście ekspresów",
                     "goal_relevance": "Hotele kupują ekspresy co roku"})
    result = check(ws, key, "2.1.a")
    assert result.verdict is Verdict.NOT_MET
    with force_locale("en"):
        assert "another sale" in str(result.summary)


def test_2_1_a_goal_on_a_stage_of_the_own_funnel_met(hurtownia):
    ws, key = hurtownia
    pipeline = design(ws, goal={})
    stage = pipeline.stages[2]
    pipeline_service.update_stage(ws, stage, {**GOAL, "goal_deadline": date.today() + timedelta(days=60)})
    result = check(ws, key, "2.1.a")
    assert result.verdict is Verdict.MET
    assert {row.object_id for row in result.evidence if row.object_type == "pipeline_stage"} == {stage.id}


def test_2_1_a_deadline_past_the_sheets_quarter_cant_tell(hurtownia):
    ws, key = hurtownia
    design(ws, deadline_days=400)
    result = check(ws, key, "2.1.a")
    assert result.verdict is Verdict.CANT_TELL
    with force_locale("en"):
        assert "92 days" in str(result.summary)


def test_2_1_a_goal_on_the_scenarios_pipeline_cant_tell(hurtownia):
    ws, key = hurtownia
    pipeline_service.update_pipeline(ws, seeded_pipeline(ws), {
        **GOAL, "goal_deadline": date.today() + timedelta(days=60)})
    assert verdict(ws, key, "2.1.a") is Verdict.CANT_TELL


def test_2_1_a_goal_missing_elements_names_them(hurtownia):
    ws, key = hurtownia
    design(ws, goal={"goal_specific": GOAL["goal_specific"]})
    result = check(ws, key, "2.1.a")
    assert result.verdict is Verdict.CANT_TELL
    with force_locale("en"):
        assert "Measurable" in str(result.summary) and "Achievable" in str(result.summary)


# --- 2.1.b adequate stages ---------------------------------------------------------------------

def test_2_1_b_own_funnel_ending_in_a_lost_stage_met(hurtownia):
    ws, key = hurtownia
    pipeline = design(ws)
    assert pipeline.stages[-1].probability == 0
    result = check(ws, key, "2.1.b")
    assert result.verdict is Verdict.MET
    assert {row.object_id for row in result.evidence if row.object_type == "pipeline_stage"} == \
        {s.id for s in pipeline.stages}


def test_2_1_b_bumping_durations_of_the_seeded_stages_not_met(hurtownia):
    ws, key = hurtownia
    for stage in seeded_pipeline(ws).stages:
        pipeline_service.update_stage(ws, stage, {"duration_days": (stage.duration_days or 0) + 5})
    result = check(ws, key, "2.1.b")
    assert result.verdict is Verdict.NOT_MET
    assert result.evidence  # the edits are shown


def test_2_1_b_stages_added_to_the_scenarios_pipeline_not_met(hurtownia):
    ws, key = hurtownia
    pipeline = seeded_pipeline(ws)
    for name, probability in (("Audyt", 55), ("Umowa ramowa", 85), ("Dostawa", 95)):
        pipeline_service.add_stage(ws, pipeline, {"name": name, "probability": probability})
    assert verdict(ws, key, "2.1.b") is Verdict.NOT_MET


def test_2_1_b_stages_of_another_kind_of_sale_not_met(hurtownia):
    ws, key = hurtownia
    design(ws, stages=(("Koszyk", 10, 1, ()), ("Płatność", 50, 1, ()), ("Wysyłka", 90, 2, ())))
    assert verdict(ws, key, "2.1.b") is Verdict.NOT_MET


def test_2_1_b_stages_out_of_order_cant_tell(hurtownia):
    ws, key = hurtownia
    design(ws, stages=(("Umowa ramowa", 10, 5, ()), ("Negocjacje", 30, 5, ()), ("Oferta", 60, 5, ()),
                       ("Kwalifikacja potrzeb", 80, 5, ())))
    assert verdict(ws, key, "2.1.b") is Verdict.CANT_TELL


def test_2_1_b_falling_probabilities_cant_tell(hurtownia):
    ws, key = hurtownia
    design(ws, stages=(("Kwalifikacja", 60, 5, ()), ("Oferta", 40, 5, ()), ("Negocjacje", 20, 5, ()),
                       ("Umowa", 90, 5, ())))
    assert verdict(ws, key, "2.1.b") is Verdict.CANT_TELL


def test_2_1_b_other_stage_names_the_sheet_allows_met(hurtownia):
    ws, key = hurtownia
    design(ws, name="Lejek UR — umowy ramowe", stages=(
        ("Pierwszy kontakt", 10, 3, ()), ("Wizyta u klienta", 20, 5, ()), ("Wycena", 45, 5, ()),
        ("Uzgodnienie warunków", 70, 7, ()), ("Podpisanie umowy ramowej", 90, 3, ()), ("Wygrana", 100, None, ()),
        ("Przegrana", 0, None, ())))
    assert verdict(ws, key, "2.1.b") is Verdict.MET


# --- 2.1.c stages entered ---------------------------------------------------------------------

def test_2_1_c_stages_of_the_own_funnel_met(hurtownia):
    ws, key = hurtownia
    pipeline = design(ws)
    result = check(ws, key, "2.1.c")
    assert result.verdict is Verdict.MET
    assert {row.object_id for row in result.evidence if row.object_type == "pipeline_stage"} == \
        {s.id for s in pipeline.stages}


def test_2_1_c_stages_named_with_letters_cant_tell(hurtownia):
    ws, key = hurtownia
    design(ws, stages=(("a", 10, 1, ()), ("b", 50, 1, ())))
    assert verdict(ws, key, "2.1.c") is Verdict.CANT_TELL


def test_2_1_c_stages_put_into_the_scenarios_pipeline_not_met(hurtownia):
    ws, key = hurtownia
    for name, probability in (("Audyt parku maszynowego", 55), ("Umowa ramowa", 85)):
        pipeline_service.add_stage(ws, seeded_pipeline(ws), {"name": name, "probability": probability})
    assert verdict(ws, key, "2.1.c") is Verdict.NOT_MET


def test_2_1_c_own_funnel_named_otherwise_met(hurtownia):
    ws, key = hurtownia
    design(ws, name="UR — nowi odbiorcy przemysłowi", goal={})
    assert verdict(ws, key, "2.1.c") is Verdict.MET


# --- 2.1.d tasks on stages --------------------------------------------------------------------

def test_2_1_d_tasks_on_every_working_stage_met(hurtownia):
    ws, key = hurtownia
    design(ws)  # the final "Przegrana" stage has none: it needs none
    assert verdict(ws, key, "2.1.d") is Verdict.MET


def test_2_1_d_a_task_on_one_stage_only_cant_tell(hurtownia):
    ws, key = hurtownia
    design(ws, stages=tuple((name, p, d, tasks if i == 0 else ()) for i, (name, p, d, tasks) in enumerate(STAGES)))
    result = check(ws, key, "2.1.d")
    assert result.verdict is Verdict.CANT_TELL
    with force_locale("en"):
        assert "Audyt parku maszynowego" in str(result.summary)


def test_2_1_d_tasks_on_the_scenarios_stages_not_met(hurtownia):
    ws, key = hurtownia
    for stage in seeded_pipeline(ws).stages:
        pipeline_service.add_stage_task(ws, stage, {"title": "Zadzwonić do klienta", "due_offset_days": 1})
    assert verdict(ws, key, "2.1.d") is Verdict.NOT_MET


def test_2_1_d_several_tasks_and_a_won_stage_without_any_met(hurtownia):
    ws, key = hurtownia
    design(ws, stages=(*STAGES[:5], ("Wygrana", 100, None, ()), STAGES[5]))
    assert verdict(ws, key, "2.1.d") is Verdict.MET


# --- 2.1.e schedule ---------------------------------------------------------------------------

def test_2_1_e_tasks_scheduled_in_days_met(hurtownia):
    ws, key = hurtownia
    pipeline = design(ws)
    result = check(ws, key, "2.1.e")
    assert result.verdict is Verdict.MET
    assert ("sandbox.pipeline_schedule", pipeline.id) in {(r.endpoint, r.object_id) for r in result.evidence}


def test_2_1_e_a_single_task_is_no_timetable_cant_tell(hurtownia):
    ws, key = hurtownia
    design(ws, stages=tuple((n, p, d, tasks if i == 0 else ()) for i, (n, p, d, tasks) in enumerate(STAGES)))
    assert verdict(ws, key, "2.1.e") is Verdict.CANT_TELL


def test_2_1_e_schedule_on_the_scenarios_pipeline_not_met(hurtownia):
    ws, key = hurtownia
    for offset, stage in enumerate(seeded_pipeline(ws).stages, start=1):
        pipeline_service.add_stage_task(ws, stage, {"title": "Zadzwonić do klienta", "due_offset_days": offset})
    assert verdict(ws, key, "2.1.e") is Verdict.NOT_MET


def test_2_1_e_fixed_dates_instead_of_offsets_met(hurtownia):
    ws, key = hurtownia
    pipeline = design(ws, stages=tuple((n, p, d, ()) for n, p, d, _t in STAGES))
    for days, stage in zip((3, 10, 20), pipeline.stages, strict=False):
        pipeline_service.add_stage_task(ws, stage, {"title": f"Termin etapu {stage.name}",
                                                    "due_date": date.today() + timedelta(days=days)})
    assert verdict(ws, key, "2.1.e") is Verdict.MET


# --- 2.4 the sheet's task 6 ---------------------------------------------------------------------

@pytest.fixture
def task6_ready(hurtownia):
    """The own funnel designed and the sheet's leads imported (tasks 5 and 1)."""
    ws, key = hurtownia
    pipeline = design(ws)
    companies = import_leads(ws)
    return ws, key, pipeline, companies


def test_2_4_task_6_done_meets_a_to_e(task6_ready):
    ws, key, pipeline, companies = task6_ready
    opportunity = task6(ws, pipeline, companies[0])
    for code in ("2.4.a", "2.4.b", "2.4.c", "2.4.d", "2.4.e"):
        result = check(ws, key, code)
        assert result.verdict is Verdict.MET, (code, str(result.summary))
    assert opportunity.id in {r.object_id for r in check(ws, key, "2.4.c").evidence if r.object_type == "opportunity"}


def test_2_4_a_and_c_the_value_correction_alone_cant_tell(task6_ready):
    ws, key, _pipeline, _companies = task6_ready
    correct_value(ws)
    assert verdict(ws, key, "2.4.a") is Verdict.CANT_TELL
    assert verdict(ws, key, "2.4.c") is Verdict.CANT_TELL


def test_2_4_a_and_c_a_wrong_value_not_met(task6_ready):
    ws, key, pipeline, companies = task6_ready
    task6(ws, pipeline, companies[0])
    correct_value(ws, "45000")
    for code in ("2.4.a", "2.4.c"):
        result = check(ws, key, code)
        assert result.verdict is Verdict.NOT_MET
        with force_locale("en"):
            assert ZMB_OPPORTUNITY in str(result.summary)


def test_2_4_a_and_c_the_value_put_on_another_opportunity_not_met(task6_ready):
    ws, key, pipeline, companies = task6_ready
    opportunity = add_opportunity(ws, companies[0], pipeline)
    activity(ws, opportunity)
    correct_value(ws, name="Łańcuchy napędowe — Huta Kryształ-Bis")
    assert verdict(ws, key, "2.4.a") is Verdict.NOT_MET
    assert verdict(ws, key, "2.4.c") is Verdict.NOT_MET


def test_2_4_opportunity_for_a_customer_already_in_the_crm_not_met(task6_ready):
    ws, key, pipeline, _companies = task6_ready
    task6(ws, pipeline, one(ws, Company, name="Cementownia Rudniki S.A."))
    for code in ("2.4.a", "2.4.b", "2.4.c", "2.4.d", "2.4.e"):
        assert verdict(ws, key, code) is Verdict.NOT_MET, code


def test_2_4_opportunity_in_the_scenarios_pipeline_not_met(task6_ready):
    ws, key, _pipeline, companies = task6_ready
    task6(ws, seeded_pipeline(ws), companies[0])
    for code in ("2.4.a", "2.4.b", "2.4.c", "2.4.d"):
        assert verdict(ws, key, code) is Verdict.NOT_MET, code
    assert verdict(ws, key, "2.4.e") is Verdict.MET  # the customer is the right one


def test_2_4_customer_from_the_business_cards_and_value_set_by_editing_met(task6_ready):
    ws, key, pipeline, companies = task6_ready
    dairy = next(c for c in companies if "Bystrzanka" in c.name)
    opportunity = add_opportunity(ws, dairy, pipeline, value=None)
    opp_service.update_opportunity(ws, opportunity, {"value": Decimal("26000")})
    activity(ws, opportunity, "Zebrać dane o przekładniach do regeneracji")
    activity(ws, opportunity, "Umówić wizytę serwisanta")
    opp_service.move_opportunity(ws, opportunity, pipeline.stages[2])  # two stages on: still forward
    correct_value(ws)
    for code in ("2.4.a", "2.4.b", "2.4.c", "2.4.d", "2.4.e"):
        assert verdict(ws, key, code) is Verdict.MET, code


def test_2_4_b_activity_titled_with_a_letter_cant_tell(task6_ready):
    ws, key, pipeline, companies = task6_ready
    activity(ws, add_opportunity(ws, companies[0], pipeline), "x")
    assert verdict(ws, key, "2.4.b") is Verdict.CANT_TELL


def test_2_4_b_activities_on_the_seeded_opportunity_not_met(task6_ready):
    ws, key, pipeline, companies = task6_ready
    add_opportunity(ws, companies[0], pipeline)
    activity(ws, one(ws, Opportunity, name=ZMB_OPPORTUNITY))
    assert verdict(ws, key, "2.4.b") is Verdict.NOT_MET


def test_2_4_c_new_opportunity_without_value_cant_tell(task6_ready):
    ws, key, pipeline, companies = task6_ready
    add_opportunity(ws, companies[0], pipeline, value=None)
    correct_value(ws)
    assert verdict(ws, key, "2.4.c") is Verdict.CANT_TELL


def test_2_4_d_only_moving_back_cant_tell(task6_ready):
    ws, key, pipeline, companies = task6_ready
    opportunity = opp_service.create_opportunity(ws, {
        "name": "Regeneracja przekładni — AGRO-MET", "company_id": companies[0].id, "pipeline_id": pipeline.id,
        "stage_id": pipeline.stages[2].id, "value": Decimal("12000")})
    opp_service.move_opportunity(ws, opportunity, pipeline.stages[1])
    assert verdict(ws, key, "2.4.d") is Verdict.CANT_TELL


def test_2_4_d_moving_only_the_seeded_opportunity_forward_not_met(task6_ready):
    ws, key, pipeline, companies = task6_ready
    add_opportunity(ws, companies[0], pipeline)
    zmb = one(ws, Opportunity, name=ZMB_OPPORTUNITY)
    opp_service.move_opportunity(ws, zmb, seeded_pipeline(ws).stages[1])
    assert verdict(ws, key, "2.4.d") is Verdict.NOT_MET


def test_2_4_e_no_opportunity_not_met(task6_ready):
    ws, key, _pipeline, _companies = task6_ready
    assert verdict(ws, key, "2.4.e") is Verdict.NOT_MET


# --- 2.2 the sheet's task 7 ---------------------------------------------------------------------

def test_2_2_task_7_done_meets_a_to_d(hurtownia):
    ws, key = hurtownia
    made = offer(ws, template(ws))
    send(ws, made)
    for code in ("2.2.a", "2.2.b", "2.2.c", "2.2.d"):
        result = check(ws, key, code)
        assert result.verdict is Verdict.MET, (code, str(result.summary))


def test_2_2_a_and_b_the_starter_text_saved_as_it_is_not_met(hurtownia):
    ws, key = hurtownia
    template(ws, offer_service.DEFAULT_TEMPLATE_BODY)
    assert verdict(ws, key, "2.2.a") is Verdict.NOT_MET
    assert verdict(ws, key, "2.2.b") is Verdict.NOT_MET


def test_2_2_b_one_tag_added_to_the_starter_text_cant_tell(hurtownia):
    ws, key = hurtownia
    template(ws, offer_service.DEFAULT_TEMPLATE_BODY + "<p>Kontakt: {{ kontakt.telefon }}</p>\n")
    assert verdict(ws, key, "2.2.a") is Verdict.CANT_TELL
    result = check(ws, key, "2.2.b")
    assert result.verdict is Verdict.CANT_TELL
    with force_locale("en"):
        assert "only 0 of the 7" in str(result.summary)


def test_2_2_a_and_b_a_letter_with_other_tags_not_met(hurtownia):
    ws, key = hurtownia
    template(ws, "<p>Dziękujemy za rozmowę, {{ kontakt.imie }}.</p>\n<p>Oferta nr {{ oferta.numer }} z dnia "
                 "{{ data_oferty }} wkrótce trafi do firmy.</p>\n")
    assert verdict(ws, key, "2.2.a") is Verdict.NOT_MET
    assert verdict(ws, key, "2.2.b") is Verdict.NOT_MET


def test_2_2_b_a_listed_item_missing_cant_tell(hurtownia):
    ws, key = hurtownia
    template(ws, OWN_TEMPLATE.replace(" Oferta ważna do {{ waznosc_do }}.", ""))
    result = check(ws, key, "2.2.b")
    assert result.verdict is Verdict.CANT_TELL
    with force_locale("en"):
        assert "validity date" in str(result.summary)


def test_2_2_b_lines_table_and_name_parts_the_sheet_allows_met(hurtownia):
    ws, key = hurtownia
    template(ws, "<h1>Oferta NAPĘD-TECH dla {{ klient.nazwa }} (NIP {{ klient.nip }})</h1>\n"
                 "<p>Szanowny Panie {{ kontakt.imie }} {{ kontakt.nazwisko }}, przesyłamy warunki dostaw.</p>\n"
                 "{{ tabela_pozycji }}\n<p>Ważna do: {{ waznosc_do }}</p>\n")
    assert verdict(ws, key, "2.2.a") is Verdict.MET
    assert verdict(ws, key, "2.2.b") is Verdict.MET


def test_2_2_c_offer_for_another_company_not_met(hurtownia):
    ws, key = hurtownia
    made = offer(ws, template(ws), company="Cementownia Rudniki S.A.", contact="Lis")
    send(ws, made)
    assert verdict(ws, key, "2.2.c") is Verdict.NOT_MET
    assert verdict(ws, key, "2.2.d") is Verdict.NOT_MET


def test_2_2_c_offer_without_the_regeneration_cant_tell(hurtownia):
    ws, key = hurtownia
    offer(ws, template(ws), skus=("LOZ-22212", "PAS-SPZ1250"))
    result = check(ws, key, "2.2.c")
    assert result.verdict is Verdict.CANT_TELL
    with force_locale("en"):
        assert "regenerac" in str(result.summary)


def test_2_2_c_offer_from_a_template_without_tags_cant_tell(hurtownia):
    ws, key = hurtownia
    plain = template(ws, "<h1>Oferta</h1>\n<p>Łożyska i regeneracja przekładni według rozmowy.</p>\n", name="Bez tagów")
    offer(ws, plain)
    assert verdict(ws, key, "2.2.c") is Verdict.CANT_TELL


def test_2_2_c_lines_typed_by_hand_met(hurtownia):
    ws, key = hurtownia
    customer = one(ws, Company, name="Zakłady Mięsne Bieruń S.A.")
    made = offer_service.create_offer(ws, {"title": "Oferta", "company_id": customer.id,
                                           "contact_id": one(ws, Contact, last_name="Kaczmarek").id,
                                           "template_id": template(ws).id})
    offer_service.add_line(ws, made, {"name": "Łożyska baryłkowe do linii rozbioru", "quantity": "8",
                                      "unit_price": "400"})
    offer_service.add_line(ws, made, {"name": "Regeneracja dwóch przekładni ślimakowych", "quantity": "2",
                                      "unit_price": "2100"})
    assert offer_service.generate_offer(ws, made).ok
    assert verdict(ws, key, "2.2.c") is Verdict.MET


def test_2_2_d_sent_to_the_companys_general_address_cant_tell(hurtownia):
    ws, key = hurtownia
    made = offer(ws, template(ws))
    send(ws, made, to="zaopatrzenie@zm-bierun.pl")
    assert verdict(ws, key, "2.2.d") is Verdict.CANT_TELL


def test_2_2_d_sent_to_a_stranger_not_met(hurtownia):
    ws, key = hurtownia
    made = offer(ws, template(ws))
    send(ws, made, to="ktos@example.com")
    assert verdict(ws, key, "2.2.d") is Verdict.NOT_MET


def test_2_2_d_address_typed_in_capitals_met(hurtownia):
    ws, key = hurtownia
    made = offer(ws, template(ws))
    send(ws, made, to="G.Kaczmarek@ZM-BIERUN.PL")
    result = check(ws, key, "2.2.d")
    assert result.verdict is Verdict.MET
    assert {r.object_type for r in result.evidence} >= {"outbox_message", "customer_event"}


def test_2_2_a_and_b_the_seeded_template_completed_with_tags_met(scenarios, act_as, sandbox_session):
    """sklep-internetowy seeds an old template without tags: completing it is the candidate's work."""
    ws, key = _workspace(scenarios, "sklep-internetowy")
    old = one(ws, OfferTemplate, name="Stara oferta (bez tagów)")
    offer_service.update_template(ws, old, {"body": old.body.replace(
        "<p>Szanowni Państwo,</p>",
        "<p>{{ klient.nazwa }}</p>\n<p>Szanowna Pani / Szanowny Panie {{ kontakt.imie_nazwisko }},</p>").replace(
        "<p>Z poważaniem,",
        "{{ tabela_pozycji }}\n<p>Oferta ważna do {{ waznosc_do }}.</p>\n<p>Z poważaniem, {{ sprzedawca.imie_nazwisko }}")})
    assert verdict(ws, key, "2.2.a") is Verdict.MET
    assert verdict(ws, key, "2.2.b") is Verdict.MET


def test_2_2_a_renaming_the_seeded_template_not_met(scenarios, act_as, sandbox_session):
    ws, key = _workspace(scenarios, "sklep-internetowy")
    offer_service.update_template(ws, one(ws, OfferTemplate, name="Stara oferta (bez tagów)"),
                                  {"name": "Oferta — Ekspres w biurze"})
    assert verdict(ws, key, "2.2.a") is Verdict.NOT_MET
    assert verdict(ws, key, "2.2.b") is Verdict.NOT_MET


# --- other sheets --------------------------------------------------------------------------------

def test_biuro_opportunity_for_a_business_breakfast_lead_is_not_a_webinar_participant(scenarios, act_as,
                                                                                         sandbox_session):
    ws, key = _workspace(scenarios, "biuro-rachunkowe")
    pipeline = design(ws, name="Obsługa księgowa — abonament", goal={}, stages=(
        ("Kontakt po webinarze", 10, 3, ()), ("Analiza dokumentów", 30, 5, ()), ("Oferta", 60, 5, ()),
        ("Umowa", 90, 5, ())))
    cards = import_service.import_rows(ws, one(ws, ImportSource, name="wizytówki_sniadanie_biznesowe.txt"), [1])
    webinar = import_service.import_rows(ws, one(ws, ImportSource, name="rejestracje_webinar_ksef.csv"), [1])
    add_opportunity(ws, cards.companies[0], pipeline)
    assert verdict(ws, key, "2.4.e") is Verdict.NOT_MET
    add_opportunity(ws, webinar.companies[0], pipeline, name="Pełna księgowość — Bud-Max")
    assert verdict(ws, key, "2.4.e") is Verdict.MET
    assert verdict(ws, key, "2.1.b") is Verdict.MET


def test_every_exam_scenario_keys_tasks_5_to_7_for_these_checks(scenarios):
    kinds = {"2.1": {"new_pipeline", "goal_subject", "stage_ideas"},
             "2.4": {"new_opportunity", "opportunity_values"},
             "2.2": {"offer_tags", "offer_company", "offer_contact", "offer_lines"}}
    for scenario in scenarios.values():
        if "exam" not in scenario.purposes:
            continue
        keyed = {kind for task in scenario.key.tasks for kind in task.targets}
        for area, wanted in kinds.items():
            assert wanted <= keyed, (scenario.code, area, wanted - keyed)


EXAM_SCENARIO_CODES = exam_codes()


@pytest.mark.parametrize("code", EXAM_SCENARIO_CODES)
def test_the_records_each_key_names_are_in_its_workspace(scenarios, act_as, sandbox_session, code):
    """A name in the key that matches no record would make the checks refuse correct work."""
    ws, key = _workspace(scenarios, code)
    names = lambda model, attribute="name": {loose(getattr(r, attribute)) for r in sandbox_crm.session().scalars(  # noqa: E731
        select(model).where(model.workspace_id == ws.id))}
    for company in key.values("offer_company"):
        assert loose(company) in names(Company), company
        people = {loose(c.full_name) for c in sandbox_crm.session().scalars(select(Contact).where(
            Contact.workspace_id == ws.id)) if c.company is not None and loose(c.company.name) == loose(company)}
        for contact in key.values("offer_contact"):
            assert loose(contact) in people, contact
    for rows in key.values("opportunity_values"):
        for row in rows:
            assert loose(row["name"]) in names(Opportunity), row
    sources = names(ImportSource)
    for spec in key.values("new_opportunity"):
        assert all(loose(source) in sources for source in spec.get("sources") or ()), spec
        if isinstance(spec.get("customer"), list):
            leads = " ".join(source.content for source in sandbox_crm.session().scalars(
                select(ImportSource).where(ImportSource.workspace_id == ws.id)))
            assert all(loose(name) in loose(leads) for name in spec["customer"]), spec
    assert key.values("new_pipeline") and loose(key.values("new_pipeline")[0]) not in names(Pipeline)


def test_the_whole_sheet_meets_these_criteria_through_the_host_api(scenarios, hurtownia, sandbox_session):
    ws, _key = hurtownia
    pipeline = design(ws)
    companies = import_leads(ws)
    task6(ws, pipeline, companies[1])
    send(ws, offer(ws, template(ws)))
    sandbox_session.commit()
    results = run_evidence_checks(ws.id, key=scenarios["hurtownia-czesci"].key.check_data())
    assert {code: results[code].verdict for code in MY_CRITERIA} == dict.fromkeys(MY_CRITERIA, Verdict.MET)


def test_a_varied_attempt_is_judged_against_its_own_names_and_figures(scenarios, act_as, sandbox_session):
    variant = scenarios["hurtownia-czesci"].varied(4242)
    targets = {kind: value for task in variant.key.tasks for kind, value in task.targets.items()}
    value = targets["opportunity_values"][0]
    assert value["name"] != ZMB_OPPORTUNITY or value["value"] != 48000
    ws = create_workspace("varied", CANDIDATE, seed=variant.seed)
    sandbox_session.commit()
    key = ScenarioKey.from_data(variant.key.check_data())
    pipeline = design(ws)
    companies = import_leads(ws)
    opportunity = add_opportunity(ws, companies[0], pipeline)
    activity(ws, opportunity)
    opp_service.move_opportunity(ws, opportunity, pipeline.stages[1])
    correct_value(ws, str(value["value"]), name=value["name"])
    assert verdict(ws, key, "2.4.a") is Verdict.MET
    send(ws, offer(ws, template(ws), company=targets["offer_company"], contact=targets["offer_contact"].split()[-1]))
    assert verdict(ws, key, "2.2.d") is Verdict.MET
