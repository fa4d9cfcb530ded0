"""The "reading" criteria and the task list (2.3.a–d): the figures a candidate records are
compared with the workspace at the moment of recording, rebuilt from the action log; the
reconstruction and the reading of Polish figures are tested on their own first."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from exam_scenarios import all_scenarios, exam_codes
from flask import session as flask_session
from flask_babel import force_locale
from flask_babel.speaklater import LazyString
from sqlalchemy import select

import sandbox_crm
import sandbox_crm.views  # importing the views registers every seeder
from sandbox_crm.api import (
    action_log,
    create_workspace,
    record_answer,
    stage_value_readings,
)
from sandbox_crm.evidence import CHECKS, CheckResult, ScenarioKey, Verdict, history, key_problems
from sandbox_crm.evidence import figures as fig
from sandbox_crm.models import Company
from sandbox_crm.models.sales import Opportunity, Pipeline, Task
from sandbox_crm.services import customers as customer_service
from sandbox_crm.services import opportunities as opp_service
from sandbox_crm.services import pipelines as pipeline_service
from sandbox_crm.services import tasks as task_service
from sandbox_crm.services.sales_util import local_datetime, local_today

CANDIDATE = "user:1"
EXAM_SCENARIOS = ("hurtownia-czesci", "biuro-rachunkowe", "sklep-internetowy")


# --- the reconstruction, pure ----------------------------------------------------------------

def change(verb, object_id, **diff):
    return history.LoggedChange(verb=verb, object_id=object_id, diff=diff)


def test_rewind_undoes_later_diffs_newest_first():
    now = {1: {"status": "done", "percent_complete": 100}, 2: {"status": "open", "percent_complete": 0}}
    later = [change("update", 1, percent_complete=[20, 60]), change("complete", 1, status=["in_progress", "done"],
                                                                     percent_complete=[60, 100])]
    assert history.rewind(now, later) == {1: {"status": "in_progress", "percent_complete": 20},
                                          2: {"status": "open", "percent_complete": 0}}
    assert now[1]["status"] == "done"  # the rows passed in are not changed


def test_rewind_removes_later_creations_and_restores_later_deletions():
    now = {1: {"title": "Kept"}, 3: {"title": "Made later"}}
    later = [change("create", 3, title=[None, "Made later"]),
             change("delete", 2, title=["Deleted later", None], status=["open", None]),
             change("update", 9, title=["Gone", "Gone too"])]  # a row the log cannot give back: skipped
    assert history.rewind(now, later) == {1: {"title": "Kept"}, 2: {"title": "Deleted later", "status": "open"}}


def test_rewind_of_a_row_created_and_deleted_later_leaves_nothing():
    later = [change("create", 5, title=[None, "Brief"]), change("delete", 5, title=["Brief", None])]
    assert history.rewind({}, later) == {}


def _task(task_id, status="open", due=None, percent=0, title=None):
    return history.TaskState(id=task_id, title=title or f"T{task_id}", status=status, percent_complete=percent,
                             due_at=due)


def test_completion_at_counts_as_the_summary_page():
    at = datetime(2025, 3, 10, 12, tzinfo=UTC)
    tasks = [_task(1, "done", percent=100), _task(2, "in_progress", at - timedelta(hours=1), 50),
             _task(3, "open", at + timedelta(days=1)), _task(4, "open", at - timedelta(days=2)),
             _task(5, "cancelled", at - timedelta(days=9))]
    figures = history.completion_at(tasks, at)
    assert (figures.total, figures.done, figures.in_progress, figures.open, figures.overdue, figures.cancelled) == \
        (5, 1, 1, 2, 2, 1)
    assert figures.overdue_ids == {2, 4}  # a cancelled task is never overdue
    assert figures.share_done == 25.0 and figures.share_done_of_all == 20.0
    assert figures.average_percent == 37.5
    assert history.completion_at([], at).share_done == 0.0


def test_stage_values_at_sums_open_opportunities_per_stage_in_order():
    stages = [history.StageState(2, 7, "Offer", 2), history.StageState(1, 7, "Lead", 1),
              history.StageState(3, 8, "Other pipeline", 1)]
    opportunities = [history.OpportunityState(1, "a", 7, 1, Decimal("100"), "open"),
                     history.OpportunityState(2, "b", 7, 1, None, "open"),
                     history.OpportunityState(3, "c", 7, 2, Decimal("50.50"), "open"),
                     history.OpportunityState(4, "d", 7, 2, Decimal("999"), "won"),
                     history.OpportunityState(5, "e", 8, 3, Decimal("1"), "open")]
    values = history.stage_values_at(opportunities, sorted(stages, key=lambda s: s.position), 7)
    assert [(v.name, v.count, v.value) for v in values] == [("Lead", 2, Decimal("100")), ("Offer", 1, Decimal("50.50"))]


# --- reading Polish figures, pure ------------------------------------------------------------

@pytest.mark.parametrize(("text", "value", "tolerance"), [
    ("48 000 zł", "48000", "1"), ("48 000,00 zł", "48000.00", "1"), ("48.000,50", "48000.50", "1"),
    ("48,000 PLN", "48000", "1"), ("48000", "48000", "1"), ("48 tys. zł", "48000", "500"), ("48k", "48000", "500"),
    ("1,2 mln", "1200000", "50000"), ("12\u00a0500 zł", "12500", "1"), ("4,5 tys.", "4500", "50"),
])
def test_amounts_in_polish_notation(text, value, tolerance):
    [number] = fig.numbers(fig.plain(text))
    assert number.value == Decimal(value) and number.tolerance == Decimal(tolerance) and not number.percent


def test_dates_and_times_are_not_figures_and_percentages_are_marked():
    found = fig.numbers(fig.plain("Stan na 12.05.2025, 10:30 (2025-05-12): 33,3% wykonanych"))
    assert [(n.value, n.percent) for n in found] == [(Decimal("33.3"), True)]


def test_amount_tolerance_follows_what_was_written():
    [exact] = fig.numbers("48 000")
    [thousands] = fig.numbers("48 tys.")
    assert fig.amount_agrees(exact, Decimal("48000.60")) and not fig.amount_agrees(exact, Decimal("48002"))
    assert fig.amount_agrees(thousands, Decimal("47650")) and not fig.amount_agrees(thousands, Decimal("47400"))
    assert fig.percent_agrees(Decimal("33"), 33.3) and not fig.percent_agrees(Decimal("35"), 33.3)


@pytest.mark.parametrize("text", [
    "Wykonane: 2, w toku: 1, zaległe: 3",
    "2 zadania wykonane, 1 w toku i 3 zaległe",
    "wykonane 2 w toku 1 zaległe 3",
    "Zakończone – 2; rozpoczęte – 1; po terminie – 3",
    "zadania wykonane 2\nw trakcie 1\nprzeterminowane 3",
])
def test_completion_counts_whatever_the_layout(text):
    assert dict(fig.parse_completion(text).counts) == {"done": 2, "in_progress": 1, "overdue": 3}


def test_completion_share_ratio_average_and_not_done():
    record = fig.parse_completion("Stopień realizacji: 2 z 5 (40%), średni postęp 52,5%, niewykonane 3")
    assert dict(record.counts) == {"done": 2, "total": 5, "open": 3}
    assert record.share_done == Decimal("40") and record.average == Decimal("52.5")
    assert not fig.parse_completion("Przeczytałem stopień realizacji w CRM.")


def test_overdue_tasks_by_title_and_titles_never_read_as_figures():
    titles = ["Oddzwonić do Biura Podróży Horyzont", "Reklamacja EX-300 — odbiór kurierem", "Ankieta satysfakcji"]
    record = fig.parse_completion("Zaległe: oddzwonić do biura podróży Horyzont, Ankieta satysfakcji. "
                                  "W toku: Reklamacja EX-300 — odbiór kurierem. Wykonane 20%", titles)
    assert record.overdue_titles == {0, 2}
    assert record.share_done == Decimal("20") and "in_progress" not in record.counts


def test_stage_amounts_by_stage_name_with_polish_endings():
    stages = ["Zapytanie", "Oferta wysłana", "Negocjacje"]
    written, _ = fig.parse_stage_amounts(
        "Lejek łącznie 111 300 zł. Na etapie zapytania – 1 szansa, 36 000,00 zł; oferty wysłanej – 2 szanse 17.300 zł "
        "(ważona 6 920 zł); w negocjacjach 58k", stages)
    assert {i: n.value for i, n in written.items()} == {0: Decimal("36000.00"), 1: Decimal("17300"), 2: Decimal("58000")}
    before, _ = fig.parse_stage_amounts("36 000 zł – Zapytanie, 17 300 zł – Oferta wysłana, 0 zł – Negocjacje", stages)
    assert {i: n.value for i, n in before.items()} == {0: Decimal("36000"), 1: Decimal("17300"), 2: Decimal("0")}
    longer, _ = fig.parse_stage_amounts("Oferta: 5 000 zł, Oferta wysłana: 7 000 zł", ["Oferta", "Oferta wysłana"])
    assert {i: n.value for i, n in longer.items()} == {0: Decimal("5000"), 1: Decimal("7000")}


def test_stage_amounts_copied_from_the_english_board():
    """The English pages show money as "PLN8,400.00": the currency before the number, no space."""
    written, _ = fig.parse_stage_amounts("Zapytanie: PLN8,400.00; Oferta wysłana: PLN\u00a0170,000.00",
                                         ["Zapytanie", "Oferta wysłana"])
    assert {i: (n.value, n.marked) for i, n in written.items()} == {
        0: (Decimal("8400.00"), True), 1: (Decimal("170000.00"), False)}
    assert fig.numbers(fig.plain("kod XPLN8")) == []  # a word ending in the letters is no currency


# --- the key's target kinds ------------------------------------------------------------------

def test_the_reading_target_kinds_refuse_malformed_values():
    assert key_problems({"task_period": {"days": 7}, "mark_done": ["Telefon"], "task_priority": {"Telefon": "high"},
                         "completion_record": {"figures": ["completion", "overdue"], "note_at": "Huta"},
                         "stage_values_record": {"pipeline": "Sprzedaż"}}) == []
    for targets in ({"task_period": {"days": 0}}, {"task_period": {"week": "later"}}, {"mark_done": "Telefon"},
                    {"task_priority": {"Telefon": "pilny"}}, {"completion_record": {"figures": ["wszystko"]}},
                    {"completion_record": {"where": "Huta"}}, {"stage_values_record": {}},
                    {"stage_values_record": {"pipeline": "S", "note_at": ""}}):
        assert key_problems(targets), targets


# --- on the exam scenarios -------------------------------------------------------------------

@pytest.fixture(scope="module")
def scenarios():
    return all_scenarios()


@pytest.fixture
def act_as(sandbox_app):
    """Services run in a request acting as the given actor (``None``: logged as system)."""
    with sandbox_app.test_request_context(), force_locale("en"):

        def switch(ref: str | None) -> None:
            if ref is None:
                flask_session.pop("actor", None)
            else:
                flask_session["actor"] = ref

        switch(CANDIDATE)
        yield switch


class Exam:
    """A workspace seeded from an exam scenario, with its key, and handles on its records."""

    def __init__(self, scenario, sandbox_session):
        self.scenario = scenario
        self.ws = create_workspace(scenario.code, CANDIDATE, seed=scenario.seed, purpose="exam",
                                   scenario_code=scenario.code)
        sandbox_session.commit()
        self.key = ScenarioKey.from_data(scenario.key.check_data())

    def rows(self, model):
        return list(sandbox_crm.session().scalars(select(model).where(model.workspace_id == self.ws.id)
                                                  .order_by(model.id)))

    def task(self, title: str) -> Task:
        return next(t for t in self.rows(Task) if t.title == title)

    def opportunity(self, name: str) -> Opportunity:
        return next(o for o in self.rows(Opportunity) if o.name == name)

    def company(self, start: str) -> Company:
        return next(c for c in self.rows(Company) if c.name.startswith(start))

    def pipeline(self, name: str) -> Pipeline:
        return next(p for p in self.rows(Pipeline) if p.name == name)

    def check(self, code: str) -> CheckResult:
        result = CHECKS[code](self.ws, self.key)
        assert result.criterion == code and str(result.summary).endswith(".")
        assert all(str(row.label) for row in result.evidence)
        return result

    def plan(self, *days: int, priority: str = "normal") -> list[Task]:
        """New tasks due the given number of days from today."""
        today = local_today()
        return [task_service.create_task(self.ws, {"title": f"Telefon do leada {n}", "priority": priority,
                                                   "due_at": local_datetime(today + timedelta(days=d))})
                for n, d in enumerate(days, start=1)]


@pytest.fixture
def exam(scenarios, act_as, sandbox_session):
    return lambda code="hurtownia-czesci": Exam(scenarios[code], sandbox_session)


def logged(ws, verb: str, object_type: str) -> set[int]:
    return {s.id for s in action_log(ws.id) if s.verb == verb and s.object_type == object_type}


def statement_ids(result: CheckResult) -> set[int]:
    return {row.statement_id for row in result.evidence if row.statement_id is not None}


KOPALNIA = "Telefon do Kopalni Wapienia Górażdże"
HUTA = "Huta Szkła Kryształ-Bis"


def test_every_exam_scenario_keys_its_reading_tasks_and_prompts_for_answers(scenarios):
    for code, scenario in scenarios.items():
        if "exam" not in scenario.purposes:
            continue
        key = ScenarioKey.from_data(scenario.key.check_data())
        for kind, criterion in (("completion_record", "2.3.c"), ("stage_values_record", "2.3.d")):
            [target] = key.targets(kind)
            task = next(t for t in scenario.tasks if t.number == target.task)
            assert criterion in task.criteria and task.answer, (code, kind)
        pipeline = key.values("stage_values_record")[0]["pipeline"]
        assert any(p["name"] == pipeline for p in scenario.seed["pipelines"]), code
        titles = {t["title"] for t in scenario.seed.get("tasks", [])}
        assert {title for titles in key.values("mark_done") for title in titles} <= titles, code


@pytest.mark.parametrize("code", exam_codes())
def test_on_every_exam_scenario_the_true_figures_recorded_are_met_and_others_not(exam, code):
    e = exam(code)
    [completion] = e.key.targets("completion_record")
    [stages] = e.key.targets("stage_values_record")
    totals = task_service.completion_totals(e.ws, task_service.TaskFilters())
    in_progress = sum(t.status == "in_progress" for t in e.rows(Task))
    record_answer(e.ws.id, completion.task,
                  f"Wykonane: {totals.done} z {totals.total}, w toku: {in_progress}, zaległe: {totals.overdue}")
    pipeline = e.pipeline(stages.value["pipeline"])
    summary = opp_service.pipeline_summary(e.ws, pipeline)
    record_answer(e.ws.id, stages.task, "\n".join(f"{row.stage.name} – {row.value:.2f} zł".replace(".", ",")
                                                   for row in summary.stages))
    assert e.check("2.3.c").verdict is Verdict.MET, e.check("2.3.c").summary
    assert e.check("2.3.d").verdict is Verdict.MET, e.check("2.3.d").summary
    record_answer(e.ws.id, completion.task, f"Wykonane: {totals.done + 3}, w toku: {in_progress + 7}, "
                                            f"zaległe: {totals.overdue + 4}")
    record_answer(e.ws.id, stages.task, "; ".join(f"{row.stage.name}: {row.value + 1000} zł" for row in summary.stages))
    assert e.check("2.3.c").verdict is Verdict.NOT_MET
    assert e.check("2.3.d").verdict is Verdict.NOT_MET


# 2.3.c — completion read

def test_2_3_c_figures_noted_at_the_company_the_sheet_names_are_met(exam):
    e = exam()
    task_service.complete_task(e.ws, e.task(KOPALNIA))
    e.plan(2, 4)
    note = customer_service.add_note(e.ws, e.company(HUTA), "note", "Stopień realizacji: wykonane 2, w toku 1, "
                                                                      "zaległe 1.")
    result = e.check("2.3.c")
    assert result.verdict is Verdict.MET, result.summary
    assert statement_ids(result) == {s.id for s in action_log(e.ws.id)
                                     if s.object_type == "customer_event" and s.object_id == str(note.id)}
    assert "done 2" in str(result.summary) and "overdue 1" in str(result.summary)


def test_2_3_c_a_reading_before_later_changes_is_judged_at_its_moment(exam):
    e = exam()
    record_answer(e.ws.id, 8, "wykonane 1, w toku 1, zaległe 2")  # the seeded state, read first
    task_service.complete_task(e.ws, e.task(KOPALNIA))
    e.plan(1, 3)
    task_service.delete_task(e.ws, e.task("Wysłać katalog łożysk — Huta Kryształ-Bis"))
    result = e.check("2.3.c")
    assert result.verdict is Verdict.MET, result.summary
    assert "4 task(s): 1 done" in " ".join(str(row.label) for row in result.evidence)


def test_2_3_c_figures_of_another_moment_disagree_and_name_the_numbers(exam):
    e = exam()
    task_service.complete_task(e.ws, e.task(KOPALNIA))
    record_answer(e.ws.id, 8, "wykonane 1, zaległe 2")  # the state before the task was marked done
    result = e.check("2.3.c")
    assert result.verdict is Verdict.NOT_MET
    assert "done: recorded 1, true 2" in str(result.summary) and "overdue: recorded 2, true 1" in str(result.summary)


def test_2_3_c_guesses_noted_one_after_another_are_judged_by_the_last(exam):
    """Noting several guesses at the company does not get one of them called met: the last reading
    is the candidate's answer. A wrong reading corrected afterwards is judged by the correction."""
    e = exam()
    task_service.complete_task(e.ws, e.task(KOPALNIA))
    for guess in ("wykonane 2, w toku 1, zaległe 1", "wykonane 3, w toku 1, zaległe 0",
                  "wykonane 1, w toku 1, zaległe 3"):  # the first is right
        customer_service.add_note(e.ws, e.company(HUTA), "note", f"Stopień realizacji: {guess}.")
    result = e.check("2.3.c")
    assert result.verdict is not Verdict.MET, result.summary  # the last guess: two of its figures wrong
    assert "done: recorded 1, true 2" in str(result.summary)
    customer_service.add_note(e.ws, e.company(HUTA), "note", "Po sprawdzeniu: wykonane 2, w toku 1, zaległe 1.")
    result = e.check("2.3.c")
    assert result.verdict is Verdict.MET, str(result.summary)


def test_2_3_c_marking_a_task_done_without_reading_is_not_met(exam):
    e = exam()
    task_service.complete_task(e.ws, e.task(KOPALNIA))
    opp_service.record_filter(e.ws, "task", {"status": "done"}, 1)
    result = e.check("2.3.c")
    assert result.verdict is Verdict.NOT_MET
    assert "answer to task 8" in str(result.summary)


def test_2_3_c_share_done_in_the_answer_field_is_an_allowed_record(exam):
    e = exam()
    task_service.complete_task(e.ws, e.task(KOPALNIA))
    record_answer(e.ws.id, 8, "Zrealizowano 50% zadań, w toku są 2 zadania, po terminie jedno: 1.")
    result = e.check("2.3.c")
    # "w toku 2" counts the open and started ones together (2 = 1 open + 1 in progress): allowed.
    assert result.verdict is Verdict.MET, result.summary
    assert statement_ids(result) == logged(e.ws, "answer", "sheet_task")


def test_2_3_c_some_figures_left_out_or_some_wrong_cant_tell(exam):
    e = exam()
    record_answer(e.ws.id, 8, "Wykonane: 1.")
    result = e.check("2.3.c")
    assert result.verdict is Verdict.CANT_TELL and "in progress" in str(result.summary)
    record_answer(e.ws.id, 8, "Wykonane: 1, w toku: 1, zaległe: 5.")  # the latest answer counts
    result = e.check("2.3.c")
    assert result.verdict is Verdict.CANT_TELL and "overdue: recorded 5, true 2" in str(result.summary)


def test_2_3_c_right_figures_noted_at_another_company_cant_tell(exam):
    e = exam()
    customer_service.add_note(e.ws, e.company("Cementownia"), "note", "wykonane 1, w toku 1, zaległe 2")
    result = e.check("2.3.c")
    assert result.verdict is Verdict.CANT_TELL
    assert "not where the sheet asks" in str(result.summary)


def test_2_3_c_overdue_tasks_named_on_the_shop_scenario(exam):
    e = exam("sklep-internetowy")
    task_service.set_progress(e.ws, e.task("Wymiana młynka — klient Jasińska"), 100)
    record_answer(e.ws.id, 8, "Zaległe: Oddzwonić do Biura Podróży Horyzont, Ankieta satysfakcji po reklamacji "
                              "— A. Zieliński. Stopień realizacji: 1 z 4 (25%).")
    assert e.check("2.3.c").verdict is Verdict.MET
    record_answer(e.ws.id, 8, "Zaległe: Oddzwonić do Biura Podróży Horyzont. Stopień realizacji 25%.")
    result = e.check("2.3.c")
    assert result.verdict is Verdict.CANT_TELL and "overdue tasks: recorded" in str(result.summary)


def test_2_3_c_reading_by_system_is_not_the_candidates(exam, act_as):
    e = exam()
    act_as(None)
    record_answer(e.ws.id, 8, "wykonane 1, w toku 1, zaległe 2")
    act_as(CANDIDATE)
    assert e.check("2.3.c").verdict is Verdict.NOT_MET


# 2.3.d — values per stage read

SEEDED_VALUES = "Zapytanie: 36 000 zł, Oferta wysłana: 17 300 zł, Negocjacje: 58 000 zł"


def test_2_3_d_values_per_stage_recorded_are_met(exam):
    e = exam()
    record_answer(e.ws.id, 9, SEEDED_VALUES)
    result = e.check("2.3.d")
    assert result.verdict is Verdict.MET, result.summary
    assert statement_ids(result) == logged(e.ws, "answer", "sheet_task")


def test_2_3_d_a_reading_before_the_sheets_changes_is_judged_at_its_moment(exam):
    e = exam()
    record_answer(e.ws.id, 9, SEEDED_VALUES)
    opp_service.update_opportunity(e.ws, e.opportunity("Łożyska — Zakłady Mięsne Bieruń"), {"value": Decimal(48000)})
    opp_service.close_opportunity(e.ws, e.opportunity("Paski klinowe — Tartak Jeleśnia"), False, "Tańszy dostawca")
    opp_service.close_opportunity(e.ws, e.opportunity("Przekładnie — Cementownia Rudniki"), True, "Podpisana umowa")
    assert e.check("2.3.d").verdict is Verdict.MET


def test_2_3_d_todays_values_recorded_before_the_changes_are_not_met(exam):
    e = exam()
    record_answer(e.ws.id, 9, "Zapytanie 48 000 zł, Oferta wysłana 12 500 zł, Negocjacje 0 zł")
    opp_service.update_opportunity(e.ws, e.opportunity("Łożyska — Zakłady Mięsne Bieruń"), {"value": Decimal(48000)})
    opp_service.close_opportunity(e.ws, e.opportunity("Paski klinowe — Tartak Jeleśnia"), False, "Tańszy dostawca")
    result = e.check("2.3.d")
    assert result.verdict is Verdict.NOT_MET
    assert "Zapytanie: recorded 48 000,00, true 36 000,00" in str(result.summary)


def test_2_3_d_after_the_changes_in_other_words_is_met(exam):
    e = exam()
    opp_service.update_opportunity(e.ws, e.opportunity("Łożyska — Zakłady Mięsne Bieruń"), {"value": Decimal(48000)})
    opp_service.close_opportunity(e.ws, e.opportunity("Paski klinowe — Tartak Jeleśnia"), False, "Tańszy dostawca")
    opp_service.close_opportunity(e.ws, e.opportunity("Przekładnie — Cementownia Rudniki"), True, "Podpisana umowa")
    record_answer(e.ws.id, 9, "Na etapie zapytania 48 tys., na etapie oferty wysłanej 12,5 tys.; w negocjacjach nic.")
    result = e.check("2.3.d")
    assert result.verdict is Verdict.MET, result.summary


def test_2_3_d_a_board_filter_alone_is_not_met(exam):
    e = exam()
    opp_service.record_filter(e.ws, "board", {"pipeline_id": e.pipeline("Sprzedaż standardowa").id}, 4)
    result = e.check("2.3.d")
    assert result.verdict is Verdict.NOT_MET and "Sprzedaż standardowa" in str(result.summary)


def test_2_3_d_values_of_another_pipeline_or_weighted_values_are_not_met(exam):
    e = exam()
    own = pipeline_service.create_pipeline(e.ws, {"name": "Umowa ramowa — utrzymanie ruchu"})
    pipeline_service.add_stage(e.ws, own, {"name": "Kwalifikacja potrzeb", "probability": 10})
    record_answer(e.ws.id, 9, "Kwalifikacja potrzeb: 0 zł")
    assert e.check("2.3.d").verdict is Verdict.NOT_MET
    record_answer(e.ws.id, 9, "Zapytanie: 3 600 zł, Oferta wysłana: 6 920 zł, Negocjacje: 40 600 zł")  # weighted
    result = e.check("2.3.d")
    assert result.verdict is Verdict.NOT_MET and "Negocjacje: recorded 40 600,00, true 58 000,00" in str(result.summary)


def test_2_3_d_a_stage_left_out_or_one_wrong_cant_tell(exam):
    e = exam()
    record_answer(e.ws.id, 9, "Zapytanie: 36 000 zł, Negocjacje: 58 000 zł")
    result = e.check("2.3.d")
    assert result.verdict is Verdict.CANT_TELL and "Oferta wysłana" in str(result.summary)
    record_answer(e.ws.id, 9, "Zapytanie: 36 000 zł, Oferta wysłana: 4 800 zł, Negocjacje: 58 000 zł")
    result = e.check("2.3.d")
    assert result.verdict is Verdict.CANT_TELL and "Oferta wysłana: recorded 4 800,00, true 17 300,00" in \
        str(result.summary)


def test_2_3_d_on_the_accounting_office_scenario(exam):
    e = exam("biuro-rachunkowe")
    record_answer(e.ws.id, 9, "Zapytanie – 16 800 zł\nOferta – 17 280 zł\nDecyzja – 2 070 zł")
    assert e.check("2.3.d").verdict is Verdict.MET
    [reading] = stage_value_readings(e.ws.id, e.scenario.key.check_data())
    assert reading.pipeline == "Sprzedaż usług"
    assert [(r.stage, r.recorded, r.true, r.agrees) for r in reading.rows] == [
        ("Zapytanie", Decimal("16800"), Decimal("16800"), True), ("Oferta", Decimal("17280"), Decimal("17280"), True),
        ("Decyzja", Decimal("2070"), Decimal("2070"), True)]


def test_stage_value_readings_show_the_truth_of_each_moment(exam):
    e = exam()
    record_answer(e.ws.id, 9, "Zapytanie: 36 000 zł, Oferta wysłana: 17 300 zł")
    opp_service.update_opportunity(e.ws, e.opportunity("Łożyska — Zakłady Mięsne Bieruń"), {"value": Decimal(48000)})
    [reading] = stage_value_readings(e.ws.id, e.scenario.key.check_data())
    assert [(r.stage, r.recorded, r.true) for r in reading.rows] == [
        ("Zapytanie", Decimal("36000"), Decimal("36000.00")), ("Oferta wysłana", Decimal("17300"), Decimal("17300.00")),
        ("Negocjacje", None, Decimal("58000.00"))]
    assert reading.text.startswith("Zapytanie") and str(reading.source) == "answer to task 9"


# 2.3.a — a task list for a period

def test_2_3_a_tasks_planned_in_the_sheets_week_and_the_named_task_done_are_met(exam):
    e = exam()
    planned = e.plan(2, 6)
    task_service.complete_task(e.ws, e.task(KOPALNIA))
    result = e.check("2.3.a")
    assert result.verdict is Verdict.MET, result.summary
    assert {t.id for t in planned} | {e.task(KOPALNIA).id} <= {r.object_id for r in result.evidence}


def test_2_3_a_the_named_task_left_undone_cant_tell(exam):
    e = exam()
    e.plan(0, 7)  # today and the last day of the week: both in the period
    result = e.check("2.3.a")
    assert result.verdict is Verdict.CANT_TELL and KOPALNIA in str(result.summary)
    task_service.set_progress(e.ws, e.task(KOPALNIA), 100)  # done by its progress: the sheet allows it
    assert e.check("2.3.a").verdict is Verdict.MET


def test_2_3_a_a_single_task_or_a_filter_only_cant_tell(exam):
    e = exam()
    opp_service.record_filter(e.ws, "task", {"period": "week"}, 3)
    assert e.check("2.3.a").verdict is Verdict.CANT_TELL
    e.plan(3)
    assert e.check("2.3.a").verdict is Verdict.CANT_TELL


def test_2_3_a_tasks_for_another_period_are_not_met(exam):
    e = exam()
    e.plan(20, 30)
    task_service.complete_task(e.ws, e.task(KOPALNIA))
    result = e.check("2.3.a")
    assert result.verdict is Verdict.NOT_MET and "outside the period" in str(result.summary)


def test_2_3_a_next_calendar_week_on_the_accounting_office_scenario(exam):
    e = exam("biuro-rachunkowe")
    today = local_today()
    next_monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
    task_service.set_progress(e.ws, e.task("Zebrać dokumenty od TRANS-LUB"), 100)
    for offset in (0, 4):
        task_service.create_task(e.ws, {"title": f"Telefon {offset}",
                                        "due_at": local_datetime(next_monday + timedelta(days=offset))})
    assert e.check("2.3.a").verdict is Verdict.MET
    e2 = exam("biuro-rachunkowe")
    task_service.set_progress(e2.ws, e2.task("Zebrać dokumenty od TRANS-LUB"), 100)
    for offset in (-7, 7):  # this week and the week after next
        task_service.create_task(e2.ws, {"title": f"Telefon {offset}",
                                         "due_at": local_datetime(next_monday + timedelta(days=offset))})
    assert e2.check("2.3.a").verdict is Verdict.NOT_MET


# 2.3.b — priorities

def test_2_3_b_priorities_given_to_the_planned_tasks_are_met(exam):
    e = exam()
    first, second = e.plan(1, 2)
    task_service.update_task(e.ws, first, {"priority": "urgent"})
    result = e.check("2.3.b")
    assert result.verdict is Verdict.MET and "urgent" in str(result.summary)
    assert {first.id, second.id} <= {r.object_id for r in result.evidence}


def test_2_3_b_planned_tasks_all_normal_cant_tell(exam):
    e = exam()
    e.plan(1, 2)
    assert e.check("2.3.b").verdict is Verdict.CANT_TELL


def test_2_3_b_priorities_only_on_other_tasks_are_not_met(exam):
    e = exam()
    e.plan(1, 2)
    task_service.update_task(e.ws, e.task("Przypomnienie o ofercie — Tartak Jeleśnia"), {"priority": "high"})
    result = e.check("2.3.b")
    assert result.verdict is Verdict.NOT_MET and "outside the list" in str(result.summary)


def test_2_3_b_the_priority_the_sheet_names_on_the_shop_scenario(exam):
    e = exam("sklep-internetowy")
    tomorrow = local_datetime(local_today() + timedelta(days=1))
    complaint = task_service.create_task(e.ws, {"title": "Reklamacja EX-300 — odbiór kurierem", "priority": "high",
                                                "due_at": tomorrow})
    result = e.check("2.3.b")
    assert result.verdict is Verdict.NOT_MET and "(high)" in str(result.summary)
    task_service.update_task(e.ws, complaint, {"priority": "urgent"})
    task_service.create_task(e.ws, {"title": "Telefon do biura", "priority": "normal", "due_at": tomorrow})
    assert e.check("2.3.b").verdict is Verdict.MET


def test_2_3_b_a_priority_among_those_the_sheet_allows_on_the_service_scenario(exam):
    e = exam("serwis-urzadzen-grzewczych")
    title = "Naprawa pompy ciepła (błąd E21) — Pensjonat Pod Jaworem"
    repair = task_service.create_task(e.ws, {"title": title, "priority": "normal",
                                             "due_at": local_datetime(local_today() + timedelta(days=1))})
    assert e.check("2.3.b").verdict is Verdict.NOT_MET
    task_service.update_task(e.ws, repair, {"priority": "high"})  # "pilny" or "wysoki": both allowed
    assert e.check("2.3.b").verdict is Verdict.MET


def test_stage_names_written_without_what_they_say_in_brackets(exam):
    e = exam("system-rezerwacji-saas")
    [stages] = e.key.targets("stage_values_record")
    summary = opp_service.pipeline_summary(e.ws, e.pipeline(stages.value["pipeline"]))
    text = ", ".join(f"{row.stage.name.split(' (')[0]}: {row.value:.0f} zł" for row in summary.stages)
    assert "(" not in text
    record_answer(e.ws.id, stages.task, text)
    assert e.check("2.3.d").verdict is Verdict.MET, e.check("2.3.d").summary


# --- every label is a message with parameters ------------------------------------------------

@pytest.mark.parametrize("code", ["2.3.a", "2.3.b", "2.3.c", "2.3.d"])
def test_summaries_and_labels_are_lazy_messages(exam, code):
    e = exam()
    e.plan(1, 2, priority="high")
    task_service.complete_task(e.ws, e.task(KOPALNIA))
    record_answer(e.ws.id, 8, "wykonane 2, w toku 1, zaległe 1")
    record_answer(e.ws.id, 9, SEEDED_VALUES)
    result = e.check(code)
    assert isinstance(result.summary, LazyString), code
    assert all(isinstance(row.label, LazyString) for row in result.evidence), code
