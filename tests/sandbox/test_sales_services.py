"""Service tests of the sales area: SMART goals, stages, opportunities moving through them,
won/lost, tasks, periods and completion, values per stage, seeding."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sales_factories import SEED, make_company, make_contact, make_opportunity, make_pipeline, stage_named
from sqlalchemy import select

from sandbox_crm.api import action_log, create_workspace
from sandbox_crm.models.sales import Opportunity, OpportunityStageChange, Task
from sandbox_crm.services import opportunities as opp_service
from sandbox_crm.services import pipelines as pipeline_service
from sandbox_crm.services import tasks as task_service
from sandbox_crm.services.sales_util import DEFAULT_DUE_TIME, SalesError, local_datetime, local_today, to_local, weighted_value
from sandbox_crm.services.smart import check_goal

TODAY = date(2025, 3, 10)  # a Monday


@pytest.fixture
def ctx(sandbox_app):
    with sandbox_app.test_request_context():
        yield


def statements(workspace, verb=None, object_type=None):
    return [s for s in action_log(workspace.id)
            if (verb is None or s.verb == verb) and (object_type is None or s.object_type == object_type)]


# --- SMART -----------------------------------------------------------------------------------

GOOD_GOAL = {
    "specific": "Sell coffee machines to 20 new hotels in Małopolska",
    "metric": "revenue", "target": Decimal("150000"), "deadline": date(2025, 6, 30),
    "achievable": "Last year we sold 120 000 PLN with two reps",
    "relevance": "Hotels are our most profitable segment",
}


def test_smart_goal_complete_passes():
    report = check_goal(**GOOD_GOAL, today=TODAY)
    assert report.ok
    assert report.missing == []


@pytest.mark.parametrize("change, element, field", [
    ({"specific": "More sales"}, "specific", "goal_specific"),
    ({"specific": ""}, "specific", "goal_specific"),
    ({"target": None}, "measurable", "goal_target"),
    ({"target": Decimal("0")}, "measurable", "goal_target"),
    ({"metric": None}, "measurable", "goal_metric"),
    ({"metric": "conversion_rate", "target": Decimal("140")}, "measurable", "goal_target"),
    ({"achievable": None}, "achievable", "goal_achievable"),
    ({"relevance": "  "}, "relevant", "goal_relevance"),
    ({"deadline": None}, "time_bound", "goal_deadline"),
    ({"deadline": date(2025, 3, 9)}, "time_bound", "goal_deadline"),
])
def test_smart_goal_names_the_missing_element(change, element, field):
    report = check_goal(**(GOOD_GOAL | change), today=TODAY)
    assert not report.ok
    assert report.missing == [element]
    assert field in report.by_field()


def test_smart_deadline_today_is_not_past():
    assert check_goal(**(GOOD_GOAL | {"deadline": TODAY}), today=TODAY).ok


def test_smart_empty_goal_misses_everything():
    report = check_goal(specific=None, metric=None, target=None, deadline=None, today=TODAY)
    assert report.empty and not report.ok
    assert report.missing == ["specific", "measurable", "achievable", "relevant", "time_bound"]


# --- pipelines and stages --------------------------------------------------------------------

def test_create_pipeline_logs_goal(ctx, workspace):
    pipeline = pipeline_service.create_pipeline(workspace, {
        "name": "Hotels", "goal_specific": GOOD_GOAL["specific"], "goal_metric": "revenue",
        "goal_target": Decimal("150000.00"), "goal_deadline": date(2030, 6, 30),
        "goal_achievable": GOOD_GOAL["achievable"], "goal_relevance": GOOD_GOAL["relevance"],
    })
    assert pipeline_service.goal_report(pipeline).ok
    [created] = statements(workspace, "create", "pipeline")
    assert created.result["diff"]["goal_target"] == [None, "150000"]
    assert created.result["diff"]["goal_deadline"] == [None, "2030-06-30"]


def test_pipeline_needs_a_name(ctx, workspace):
    with pytest.raises(SalesError) as error:
        pipeline_service.create_pipeline(workspace, {"name": "  "})
    assert error.value.field == "name"


def test_update_pipeline_logs_only_changes(ctx, workspace):
    pipeline = make_pipeline(workspace)
    pipeline_service.update_pipeline(workspace, pipeline, {"name": "B2B wholesale", "goal_metric": "won_count"})
    [updated] = statements(workspace, "update", "pipeline")
    assert updated.result["diff"] == {"goal_metric": [None, "won_count"]}
    pipeline_service.update_pipeline(workspace, pipeline, {"goal_metric": "won_count"})
    assert len(statements(workspace, "update", "pipeline")) == 1


def test_stages_are_appended_in_order_and_reordered(ctx, workspace):
    pipeline = make_pipeline(workspace)
    assert [(s.position, s.name) for s in pipeline.stages] == [(1, "Qualification"), (2, "Offer"), (3, "Negotiation")]
    pipeline_service.move_stage(workspace, stage_named(pipeline, "Negotiation"), "up")
    assert [s.name for s in sorted(pipeline.stages, key=lambda s: s.position)] == ["Qualification", "Negotiation", "Offer"]
    [moved] = statements(workspace, "move", "pipeline_stage")
    assert moved.result["diff"]["position"] == [3, 2]
    with pytest.raises(SalesError):
        pipeline_service.move_stage(workspace, stage_named(pipeline, "Qualification"), "up")
    with pytest.raises(SalesError):
        pipeline_service.move_stage(workspace, stage_named(pipeline, "Offer"), "down")


def test_stage_probability_range(ctx, workspace):
    pipeline = make_pipeline(workspace, stages=())
    with pytest.raises(SalesError) as error:
        pipeline_service.add_stage(workspace, pipeline, {"name": "Won?", "probability": 120})
    assert error.value.field == "probability"


def test_a_stage_task_template_takes_only_a_known_priority(ctx, workspace):
    stage = stage_named(make_pipeline(workspace), "Offer")
    with pytest.raises(SalesError) as error:
        pipeline_service.add_stage_task(workspace, stage, {"title": "Call", "priority": "asap", "due_offset_days": 1})
    assert error.value.field == "priority"
    template = pipeline_service.add_stage_task(workspace, stage, {"title": "Call", "priority": "high",
                                                                  "due_offset_days": 1})
    with pytest.raises(SalesError) as error:
        pipeline_service.update_stage_task(workspace, template, {"priority": "whenever"})
    assert error.value.field == "priority"
    assert template.priority == "high"


def test_stage_in_use_cannot_be_deleted_but_unused_can(ctx, workspace, sandbox_session):
    pipeline = make_pipeline(workspace)
    company = make_company(workspace)
    make_opportunity(workspace, company, pipeline)
    with pytest.raises(SalesError):
        pipeline_service.delete_stage(workspace, stage_named(pipeline, "Qualification"))
    pipeline_service.delete_stage(workspace, stage_named(pipeline, "Offer"))
    sandbox_session.expire_all()
    assert [(s.position, s.name) for s in pipeline.stages] == [(1, "Qualification"), (2, "Negotiation")]
    [deleted] = statements(workspace, "delete", "pipeline_stage")
    assert deleted.object_name == "Offer"
    with pytest.raises(SalesError):
        pipeline_service.delete_pipeline(workspace, pipeline)


def test_stage_task_needs_one_due_rule(ctx, workspace):
    pipeline = make_pipeline(workspace, stages=(("Lead", 10, ()),))
    stage = pipeline.stages[0]
    with pytest.raises(SalesError):
        pipeline_service.add_stage_task(workspace, stage, {"title": "Call"})
    with pytest.raises(SalesError):
        pipeline_service.add_stage_task(workspace, stage, {"title": "Call", "due_offset_days": 1,
                                                           "due_date": date(2030, 1, 1)})
    template = pipeline_service.add_stage_task(workspace, stage, {"title": "Call", "due_date": date(2030, 1, 1)})
    pipeline_service.update_stage_task(workspace, template, {"due_date": None, "due_offset_days": 2})
    assert (template.due_offset_days, template.due_date) == (2, None)
    assert statements(workspace, "update", "stage_task")[0].result["diff"]["due_offset_days"] == [None, 2]


def test_schedule_lays_stages_and_tasks_on_a_time_axis(ctx, workspace):
    pipeline = make_pipeline(workspace)
    stage_named(pipeline, "Qualification").duration_days = 5
    offer = stage_named(pipeline, "Offer")
    offer.duration_days = 10
    pipeline_service.add_stage_task(workspace, offer, {"title": "Board meeting", "due_date": date(2025, 3, 1)})
    schedule = pipeline_service.pipeline_schedule(pipeline, TODAY)
    # The fixed date before the start widens the axis back to it.
    assert schedule.start == date(2025, 3, 1)
    qualification, offer_slot, negotiation = schedule.stages
    assert (qualification.start, qualification.end) == (TODAY, TODAY + timedelta(days=5))
    assert offer_slot.start == TODAY + timedelta(days=5)
    assert negotiation.days == pipeline_service.DEFAULT_STAGE_DAYS
    assert [t.due for t in offer_slot.tasks] == [date(2025, 3, 1), TODAY + timedelta(days=8), TODAY + timedelta(days=12)]
    assert schedule.end == TODAY + timedelta(days=5 + 10 + 7)
    assert [t.template.title for _s, t in schedule.tasks][:2] == ["Board meeting", "Call the customer"]


# --- opportunities ---------------------------------------------------------------------------

def test_create_opportunity_enters_first_stage_and_creates_its_tasks(ctx, workspace, sandbox_session):
    pipeline = make_pipeline(workspace)
    company = make_company(workspace)
    opportunity = opp_service.create_opportunity(workspace, {
        "name": "Coffee for hotels", "company_id": company.id, "pipeline_id": pipeline.id, "value": Decimal("25000"),
    })
    assert opportunity.stage.name == "Qualification"
    [task] = sandbox_session.scalars(select(Task).where(Task.opportunity_id == opportunity.id)).all()
    assert task.title == "Call the customer" and task.priority == "high"
    assert task.company_id == company.id and task.stage_id == opportunity.stage_id
    assert to_local(task.due_at).date() == local_today() + timedelta(days=1)
    [created] = statements(workspace, "create", "opportunity")
    assert created.result["diff"]["stage"] == [None, "Qualification"]
    assert created.result["tasks_created"] == ["Call the customer"]
    assert created.result["diff"]["company_id"] == [None, company.id]


def test_opportunity_needs_company_of_this_workspace(ctx, workspace, sandbox_session):
    pipeline = make_pipeline(workspace)
    other = create_workspace("Other", "user:2")
    foreign_company = make_company(other)
    with pytest.raises(SalesError) as error:
        opp_service.create_opportunity(workspace, {"name": "X", "pipeline_id": pipeline.id})
    assert error.value.field == "company_id"
    with pytest.raises(SalesError) as error:
        opp_service.create_opportunity(workspace, {"name": "X", "company_id": foreign_company.id,
                                                   "pipeline_id": pipeline.id})
    assert error.value.field == "company_id"


def test_contact_must_belong_to_the_company(ctx, workspace):
    pipeline = make_pipeline(workspace)
    company, other_company = make_company(workspace), make_company(workspace, "Other firm S.A.")
    stranger = make_contact(workspace, other_company)
    with pytest.raises(SalesError) as error:
        make_opportunity(workspace, company, pipeline, contact_id=stranger.id)
    assert error.value.field == "contact_id"
    own = make_contact(workspace, company, "Jan", "Kowalski")
    assert make_opportunity(workspace, company, pipeline, contact_id=own.id).contact_id == own.id


def test_stage_from_another_pipeline_is_refused(ctx, workspace):
    pipeline, other = make_pipeline(workspace), make_pipeline(workspace, "Retail")
    company = make_company(workspace)
    with pytest.raises(SalesError) as error:
        make_opportunity(workspace, company, pipeline, stage=other.stages[1])
    assert error.value.field == "stage_id"
    opportunity = make_opportunity(workspace, company, pipeline)
    with pytest.raises(SalesError):
        opp_service.move_opportunity(workspace, opportunity, other.stages[1])


def test_move_creates_stage_tasks_with_due_dates_and_history(ctx, workspace, sandbox_session):
    pipeline = make_pipeline(workspace)
    offer = stage_named(pipeline, "Offer")
    pipeline_service.add_stage_task(workspace, offer, {"title": "Tender deadline", "due_date": date(2031, 5, 4)})
    opportunity = make_opportunity(workspace, make_company(workspace), pipeline)
    created = opp_service.move_opportunity(workspace, opportunity, offer, note="Needs analysed")
    entered_on = to_local(opportunity.stage_entered_at).date()
    assert {t.title: to_local(t.due_at).date() for t in created} == {
        "Send the offer": entered_on + timedelta(days=3),
        "Follow-up call": entered_on + timedelta(days=7),
        "Tender deadline": date(2031, 5, 4),
    }
    assert all(to_local(t.due_at).time() == DEFAULT_DUE_TIME for t in created)
    assert [(h.from_stage_name, h.to_stage_name) for h in opportunity.history] == [
        (None, "Qualification"), ("Qualification", "Offer")]
    assert opportunity.history[-1].note == "Needs analysed"
    [moved] = statements(workspace, "move", "opportunity")
    assert moved.result["diff"]["stage"] == ["Qualification", "Offer"]
    assert moved.result["diff"]["stage_id"] == [pipeline.stages[0].id, offer.id]
    assert sorted(moved.result["tasks_created"]) == ["Follow-up call", "Send the offer", "Tender deadline"]


def test_reentering_a_stage_does_not_duplicate_its_tasks(ctx, workspace, sandbox_session):
    pipeline = make_pipeline(workspace)
    opportunity = make_opportunity(workspace, make_company(workspace), pipeline)
    offer, qualification = stage_named(pipeline, "Offer"), stage_named(pipeline, "Qualification")
    assert len(opp_service.move_opportunity(workspace, opportunity, offer)) == 2
    assert opp_service.move_opportunity(workspace, opportunity, qualification) == []
    assert opp_service.move_opportunity(workspace, opportunity, offer) == []
    tasks = sandbox_session.scalars(select(Task).where(Task.opportunity_id == opportunity.id)).all()
    assert len(tasks) == 3
    assert len(statements(workspace, "move", "opportunity")) == 3


def test_moving_into_the_same_stage_changes_nothing(ctx, workspace):
    pipeline = make_pipeline(workspace)
    opportunity = make_opportunity(workspace, make_company(workspace), pipeline)
    assert opp_service.move_opportunity(workspace, opportunity, opportunity.stage) == []
    assert statements(workspace, "move", "opportunity") == []


def test_won_and_lost_need_a_reason(ctx, workspace):
    pipeline = make_pipeline(workspace)
    opportunity = make_opportunity(workspace, make_company(workspace), pipeline)
    for reason in (None, "", "  ", "ok"):
        with pytest.raises(SalesError) as error:
            opp_service.close_opportunity(workspace, opportunity, won=True, reason=reason)
        assert error.value.field == "reason"
    assert opportunity.status == "open"
    opp_service.close_opportunity(workspace, opportunity, won=False, reason="Competitor 15% cheaper")
    assert opportunity.status == "lost" and opportunity.closed_at is not None
    [lost] = statements(workspace, "lost", "opportunity")
    assert lost.result["diff"]["status"] == ["open", "lost"]
    assert lost.result["diff"]["close_reason"] == [None, "Competitor 15% cheaper"]
    assert opportunity.history[-1].status == "lost"


def test_closed_opportunity_cannot_move_or_close_again(ctx, workspace):
    pipeline = make_pipeline(workspace)
    opportunity = make_opportunity(workspace, make_company(workspace), pipeline)
    opp_service.close_opportunity(workspace, opportunity, won=True, reason="Signed the contract")
    with pytest.raises(SalesError):
        opp_service.move_opportunity(workspace, opportunity, stage_named(pipeline, "Offer"))
    with pytest.raises(SalesError):
        opp_service.close_opportunity(workspace, opportunity, won=False, reason="Changed our mind")
    with pytest.raises(SalesError):
        opp_service.update_opportunity(workspace, opportunity, {"stage_id": stage_named(pipeline, "Offer").id})
    opp_service.reopen_opportunity(workspace, opportunity)
    opp_service.move_opportunity(workspace, opportunity, stage_named(pipeline, "Offer"))
    assert opportunity.stage.name == "Offer"


def test_update_opportunity_with_new_stage_is_a_move(ctx, workspace):
    pipeline = make_pipeline(workspace)
    opportunity = make_opportunity(workspace, make_company(workspace), pipeline)
    opp_service.update_opportunity(workspace, opportunity, {"value": Decimal("12500.50"),
                                                            "stage_id": stage_named(pipeline, "Negotiation").id})
    [updated] = statements(workspace, "update", "opportunity")
    assert updated.result["diff"] == {"value": ["10000", "12500.50"]}
    [moved] = statements(workspace, "move", "opportunity")
    assert moved.result["diff"]["stage"] == ["Qualification", "Negotiation"]


def test_update_opportunity_to_another_pipeline(ctx, workspace):
    pipeline, retail = make_pipeline(workspace), make_pipeline(workspace, "Retail")
    opportunity = make_opportunity(workspace, make_company(workspace), pipeline)
    opp_service.update_opportunity(workspace, opportunity, {"pipeline_id": retail.id, "stage_id": retail.stages[1].id})
    assert opportunity.pipeline_id == retail.id and opportunity.stage_id == retail.stages[1].id


def test_weighted_value():
    assert weighted_value(Decimal("10000"), 35) == Decimal("3500.00")
    assert weighted_value(Decimal("333.33"), 50) == Decimal("166.67")
    assert weighted_value(None, 50) == Decimal("0.00")


def test_pipeline_summary_aggregates_per_stage(ctx, workspace):
    pipeline = make_pipeline(workspace)
    company = make_company(workspace)
    offer = stage_named(pipeline, "Offer")
    make_opportunity(workspace, company, pipeline, value="10000")
    make_opportunity(workspace, company, pipeline, value="2000.50")
    make_opportunity(workspace, company, pipeline, value="40000", stage=offer)
    make_opportunity(workspace, company, pipeline, value=None, stage=offer)
    won = make_opportunity(workspace, company, pipeline, value="7000", stage=offer)
    opp_service.close_opportunity(workspace, won, won=True, reason="Signed")
    lost = make_opportunity(workspace, company, pipeline, value="1000")
    opp_service.close_opportunity(workspace, lost, won=False, reason="No budget")
    summary = opp_service.pipeline_summary(workspace, pipeline, cards_per_stage=1)
    qualification, offer_row, negotiation = summary.stages
    assert (qualification.count, qualification.value, qualification.weighted) == (2, Decimal("12000.50"), Decimal("1200.05"))
    assert (offer_row.count, offer_row.value, offer_row.weighted) == (2, Decimal("40000"), Decimal("20000.00"))
    assert (negotiation.count, negotiation.value) == (0, Decimal("0"))
    assert summary.open_value == Decimal("52000.50") and summary.weighted == Decimal("21200.05")
    assert summary.closed["won"] == {"count": 1, "value": Decimal("7000")}
    assert summary.closed["lost"]["count"] == 1 and summary.win_rate == 50.0
    assert [len(s.cards) for s in summary.stages] == [1, 1, 0]


def test_list_filters_and_totals(ctx, workspace):
    pipeline = make_pipeline(workspace)
    acme, other = make_company(workspace, "Acme S.A."), make_company(workspace, "Beta sp. z o.o.")
    make_opportunity(workspace, acme, pipeline, name="A1", value="1000", expected_close_date=date(2030, 1, 15))
    make_opportunity(workspace, acme, pipeline, name="A2", value="5000", expected_close_date=date(2030, 2, 15),
                     stage=stage_named(pipeline, "Offer"))
    make_opportunity(workspace, other, pipeline, name="B1", value="9000", expected_close_date=date(2030, 3, 15))
    filters = opp_service.OpportunityFilters
    names = lambda f: [o.name for o in opp_service.list_opportunities(workspace, f, sort="name").items]  # noqa: E731
    assert names(filters(company_id=acme.id)) == ["A1", "A2"]
    assert names(filters(value_min=Decimal("2000"), value_max=Decimal("9000"))) == ["A2", "B1"]
    assert names(filters(close_from=date(2030, 2, 1), close_to=date(2030, 2, 28))) == ["A2"]
    assert names(filters(stage_id=stage_named(pipeline, "Offer").id)) == ["A2"]
    assert names(filters(status="won")) == []
    assert names(filters(query="a")) == ["A1", "A2"]
    totals = opp_service.filter_totals(workspace, filters(company_id=acme.id))
    assert totals == {"count": 2, "value": Decimal("6000"), "weighted": Decimal("2600.00")}
    page = opp_service.list_opportunities(workspace, filters(), page=2, per_page=2)
    assert page.total == 3 and page.pages == 2 and len(page.items) == 1


def test_delete_opportunity_removes_its_tasks(ctx, workspace, sandbox_session):
    pipeline = make_pipeline(workspace)
    opportunity = make_opportunity(workspace, make_company(workspace), pipeline)
    opportunity_id = opportunity.id
    opp_service.delete_opportunity(workspace, opportunity)
    assert sandbox_session.scalars(select(Task).where(Task.opportunity_id == opportunity_id)).all() == []
    assert sandbox_session.scalars(select(OpportunityStageChange).where(
        OpportunityStageChange.opportunity_id == opportunity_id)).all() == []
    assert statements(workspace, "delete", "opportunity")[0].object_id == str(opportunity_id)


# --- tasks -----------------------------------------------------------------------------------

def test_period_bounds():
    assert task_service.period_bounds("today", TODAY) == (TODAY, TODAY)
    assert task_service.period_bounds("week", date(2025, 3, 13)) == (date(2025, 3, 10), date(2025, 3, 16))
    assert task_service.period_bounds("next_week", TODAY) == (date(2025, 3, 17), date(2025, 3, 23))
    assert task_service.period_bounds("month", date(2024, 2, 10)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert task_service.period_bounds("custom", TODAY, date(2025, 1, 1), None) == (date(2025, 1, 1), None)
    assert task_service.period_bounds(None, TODAY) == (None, None)


def _task(workspace, title, day, **extra):
    return task_service.create_task(workspace, {"title": title, "due_at": task_service.due_at_from(day)} | extra)


def test_task_list_by_period_priority_and_overdue(ctx, workspace):
    monday = date(2025, 3, 10)
    _task(workspace, "Yesterday", monday - timedelta(days=1), priority="low")
    _task(workspace, "Today low", monday, priority="low")
    _task(workspace, "Today urgent", monday, priority="urgent")
    _task(workspace, "Sunday", monday + timedelta(days=6))
    _task(workspace, "Next week", monday + timedelta(days=7), status="done")
    _task(workspace, "Someday", None)
    at = local_datetime(monday, datetime.min.time().replace(hour=12))
    titles = lambda f, sort="due": [t.title for t in task_service.list_tasks(  # noqa: E731
        workspace, f, sort=sort, today=monday, at=at).items]
    filters = task_service.TaskFilters
    assert titles(filters(period="today")) == ["Today urgent", "Today low"]
    assert titles(filters(period="week")) == ["Today urgent", "Today low", "Sunday"]
    assert titles(filters(period="overdue")) == ["Yesterday"]
    assert titles(filters(period="custom", date_from=monday + timedelta(days=6))) == ["Sunday", "Next week"]
    assert titles(filters(priority="low")) == ["Yesterday", "Today low"]
    assert titles(filters(status="active", period="custom", date_from=monday + timedelta(days=1))) == ["Sunday"]
    assert titles(filters(), sort="priority")[0] == "Today urgent"
    assert titles(filters())[-1] == "Someday"


def test_progress_and_completion(ctx, workspace):
    task = _task(workspace, "Prepare offer", TODAY)
    task_service.set_progress(workspace, task, 40)
    assert (task.status, task.percent_complete) == ("in_progress", 40)
    task_service.set_progress(workspace, task, 100)
    assert task.status == "done" and task.completed_at is not None
    task_service.set_progress(workspace, task, 60)
    assert task.status == "in_progress" and task.completed_at is None
    task_service.complete_task(workspace, task)
    assert (task.status, task.percent_complete) == ("done", 100)
    with pytest.raises(SalesError):
        task_service.complete_task(workspace, task)
    with pytest.raises(SalesError):
        task_service.set_progress(workspace, task, 101)
    verbs = [s.verb for s in statements(workspace, object_type="task")]
    assert verbs == ["create", "update", "complete", "update", "complete"]
    assert statements(workspace, "complete", "task")[-1].result["diff"]["status"] == ["in_progress", "done"]


def test_task_of_opportunity_takes_its_company_and_stage(ctx, workspace):
    pipeline = make_pipeline(workspace)
    company = make_company(workspace)
    opportunity = make_opportunity(workspace, company, pipeline)
    task = task_service.create_task(workspace, {"title": "Check budget", "opportunity_id": opportunity.id})
    assert (task.company_id, task.stage_id) == (company.id, opportunity.stage_id)
    other_company = make_company(workspace, "Other S.A.")
    with pytest.raises(SalesError) as error:
        task_service.create_task(workspace, {"title": "X", "opportunity_id": opportunity.id,
                                             "company_id": other_company.id})
    assert error.value.field == "company_id"
    with pytest.raises(SalesError) as error:
        task_service.create_task(workspace, {"title": "X", "opportunity_id": opportunity.id,
                                             "stage_id": make_pipeline(workspace, "Other").stages[0].id})
    assert error.value.field == "stage_id"


def test_update_task_logs_diff_and_complete(ctx, workspace):
    task = _task(workspace, "Call", TODAY)
    task_service.update_task(workspace, task, {"priority": "high", "title": "Call back"})
    assert statements(workspace, "update", "task")[0].result["diff"] == {"priority": ["normal", "high"],
                                                                 "title": ["Call", "Call back"]}
    task_service.update_task(workspace, task, {"status": "done"})
    assert task.percent_complete == 100
    assert statements(workspace, "complete", "task")[0].result["diff"]["status"] == ["open", "done"]


def test_completion_summaries(ctx, workspace):
    pipeline = make_pipeline(workspace)
    company = make_company(workspace)
    first = make_opportunity(workspace, company, pipeline, name="First")
    second = make_opportunity(workspace, company, pipeline, name="Second")
    opp_service.move_opportunity(workspace, second, stage_named(pipeline, "Offer"))
    tasks = {t.title + str(t.opportunity_id): t for t in
             task_service.list_tasks(workspace, task_service.TaskFilters(), per_page=100).items}
    task_service.complete_task(workspace, tasks[f"Call the customer{first.id}"])
    task_service.set_progress(workspace, tasks[f"Send the offer{second.id}"], 50)
    by_stage = {row.label: row for row in task_service.completion_by_stage(workspace)}
    qualification = by_stage["B2B wholesale: Qualification"]
    assert (qualification.total, qualification.done, qualification.share_done) == (2, 1, 50.0)
    offer = by_stage["B2B wholesale: Offer"]
    assert (offer.total, offer.done, offer.average_percent) == (2, 0, 25.0)
    by_opportunity = {row.label: row for row in task_service.completion_by_opportunity(workspace).items}
    assert by_opportunity["First"].share_done == 100.0
    assert by_opportunity["Second"].total == 3 and by_opportunity["Second"].share_done == 0.0
    totals = task_service.completion_totals(workspace, task_service.TaskFilters())
    assert (totals.total, totals.done) == (4, 1)


def test_progress_value_parsing():
    assert task_service.progress_value("40 %") == 40
    assert task_service.progress_value("40,0") == 40
    assert task_service.progress_value("abc") is None
    assert task_service.progress_value("Infinity") is None
    assert task_service.progress_value("12.5") is None


# --- seed ------------------------------------------------------------------------------------

def test_seeders_load_pipelines_opportunities_and_tasks(ctx, sandbox_session):
    workspace = create_workspace("Seeded", "user:1", seed=SEED)
    [pipeline] = pipeline_service.list_pipelines(workspace)
    assert [(s.name, s.probability) for s in pipeline.stages] == [("Lead", 10), ("Offer", 50)]
    assert pipeline.goal_deadline == local_today() + timedelta(days=90)
    assert pipeline.stages[1].task_templates[0].priority == "high"
    opportunities = sandbox_session.scalars(select(Opportunity).where(Opportunity.workspace_id == workspace.id)
                                            .order_by(Opportunity.id)).all()
    assert [(o.name, o.stage.name, o.status) for o in opportunities] == [
        ("Coffee for Wawel", "Offer", "open"), ("Old deal", "Lead", "won")]
    assert opportunities[0].contact.last_name == "Nowak"
    assert opportunities[0].history[0].to_stage_id == opportunities[0].stage_id
    [task] = sandbox_session.scalars(select(Task).where(Task.workspace_id == workspace.id)).all()
    assert (task.status, task.stage_id, task.company_id) == ("in_progress", opportunities[0].stage_id,
                                                            opportunities[0].company_id)
    assert [s for s in action_log(workspace.id) if s.object_type in ("pipeline", "opportunity", "task")] == []


def test_seed_with_unknown_company_key_fails(ctx):
    from sandbox_crm.api import SeedError

    bad = SEED | {"opportunities": [{"name": "X", "company": "nope"}]}
    with pytest.raises(SeedError):
        create_workspace("Bad", "user:1", seed=bad)


@pytest.mark.parametrize("section, rows", [
    ("opportunities", [{"name": "X", "company": "hotel", "stage": "No such stage"}]),
    ("opportunities", [{"name": "X", "company": "hotel", "pipeline": "No such pipeline"}]),
    ("tasks", [{"title": "X", "opportunity": "nope"}]),
    ("tasks", [{"title": "X", "company": "nope"}]),
])
def test_seed_with_unknown_reference_fails(ctx, section, rows):
    from sandbox_crm.api import SeedError

    with pytest.raises(SeedError):
        create_workspace("Bad", "user:1", seed=SEED | {section: rows})
