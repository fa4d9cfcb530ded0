"""Web tests of the sales pages: forms with good and bad input, the board's move endpoint,
won/lost, tasks, filters in the action log, frozen workspaces and isolation."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sales_factories import SEED, make_company, make_opportunity, make_pipeline
from sqlalchemy import event, select

from sandbox_crm.api import action_log, create_workspace, freeze_workspace
from sandbox_crm.models.sales import Opportunity, Pipeline, PipelineStage, Task


@pytest.fixture
def build(sandbox_app, sandbox_session):
    """Run a function that creates data through the services (in a request context) and commit."""

    def _build(func):
        with sandbox_app.test_request_context():
            result = func()
            sandbox_session.commit()
            return result

    return _build


@pytest.fixture
def seeded(build):
    return build(lambda: create_workspace("Sales", "user:1", seed=SEED))


@pytest.fixture
def client(login_as):
    return login_as("user:1")


def base(ws) -> str:
    return f"/sandbox/w/{ws.id}"


def statements(ws, verb=None, object_type=None):
    return [s for s in action_log(ws.id)
            if (verb is None or s.verb == verb) and (object_type is None or s.object_type == object_type)]


def one(session, model, ws, **where):
    query = select(model).where(model.workspace_id == ws.id)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    session.expire_all()
    return session.scalars(query).one()


# --- pages render ----------------------------------------------------------------------------

def test_every_sales_page_renders(seeded, client, sandbox_session):
    pipeline = one(sandbox_session, Pipeline, seeded)
    opportunity = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel")
    task = one(sandbox_session, Task, seeded)
    stage = pipeline.stages[0]
    template = stage.task_templates[0]
    for path in ("/pipelines/", "/pipelines/new", f"/pipelines/{pipeline.id}", f"/pipelines/{pipeline.id}/edit",
                 f"/pipelines/{pipeline.id}/schedule", f"/pipelines/{pipeline.id}/schedule?start=2025-01-06",
                 f"/stages/{stage.id}/edit", f"/stage-tasks/{template.id}/edit", "/board",
                 f"/board?pipeline={pipeline.id}", "/opportunities/", "/opportunities/new",
                 f"/opportunities/{opportunity.id}", f"/opportunities/{opportunity.id}/edit", "/tasks/",
                 "/tasks/new", f"/tasks/new?opportunity_id={opportunity.id}", f"/tasks/{task.id}/edit",
                 "/tasks/summary", f"/tasks/summary?pipeline={pipeline.id}"):
        response = client.get(base(seeded) + path)
        assert response.status_code == 200, path
    board = client.get(base(seeded) + "/board").get_data(as_text=True)
    assert "Coffee for Wawel" in board and "data-move-url" in board
    assert 'name="stage_id"' in board  # the non-drag "Move to" form on every card
    assert "48" in board and "24" in board  # value 48 000 and weighted 24 000 (50 %)
    schedule = client.get(base(seeded) + f"/pipelines/{pipeline.id}/schedule?start=2025-01-06").get_data(as_text=True)
    assert "<svg" in schedule and "Send offer" in schedule


def test_empty_workspace_pages_guide_the_user(workspace, client):
    for path in ("/pipelines/", "/board", "/opportunities/", "/opportunities/new", "/tasks/", "/tasks/summary"):
        assert client.get(base(workspace) + path).status_code == 200, path


def test_bad_schedule_start_shows_error(seeded, client, sandbox_session):
    pipeline = one(sandbox_session, Pipeline, seeded)
    response = client.get(base(seeded) + f"/pipelines/{pipeline.id}/schedule?start=31.02.2025")
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.get_data(as_text=True)


# --- pipelines -------------------------------------------------------------------------------

def test_create_pipeline_and_see_smart_hints(workspace, client, sandbox_session):
    response = client.post(base(workspace) + "/pipelines/new", data={
        "name": "Hotels", "currency": "PLN", "customer_type": "b2b", "offer_kind": "product", "sales_form": "direct",
        "goal_specific": "More sales", "goal_metric": "revenue", "goal_target": "150 000,00",
        "goal_deadline": "2020-01-01",
    }, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    pipeline = one(sandbox_session, Pipeline, workspace)
    assert pipeline.goal_target == Decimal("150000.00") and pipeline.customer_type == "b2b"
    assert "SMART" in page and "smart-missing" in page
    [created] = statements(workspace, "create", "pipeline")
    assert created.result["diff"]["name"] == [None, "Hotels"]


def test_pipeline_form_bad_input_keeps_values(workspace, client, sandbox_session):
    response = client.post(base(workspace) + "/pipelines/new", data={
        "name": "", "currency": "PLN", "goal_specific": "Sell machines to twenty hotels",
        "goal_target": "lots", "goal_deadline": "31.02.2025", "goal_metric": "nonsense",
    })
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert page.count('class="field-error"') >= 4
    assert "Sell machines to twenty hotels" in page and 'value="lots"' in page and 'value="31.02.2025"' in page
    assert sandbox_session.scalars(select(Pipeline)).all() == []
    assert statements(workspace, "create", "pipeline") == []


def test_stages_add_reorder_and_delete_through_pages(workspace, client, sandbox_session, build):
    pipeline = build(lambda: make_pipeline(workspace, stages=(("Lead", 10, ()), ("Offer", 50, ()))))
    url = base(workspace) + f"/pipelines/{pipeline.id}/stages"
    bad = client.post(url, data={"name": "Negotiation", "probability": "150"})
    assert bad.status_code == 400
    assert 'value="Negotiation"' in bad.get_data(as_text=True)
    good = client.post(url, data={"name": "Negotiation", "probability": "80", "duration_days": "10",
                                  "goal_metric": "won_count", "goal_target": "5"})
    assert good.status_code == 302
    stage = one(sandbox_session, PipelineStage, workspace, name="Negotiation")
    assert (stage.position, stage.probability, stage.goal_target) == (3, 80, Decimal("5.00"))
    assert client.post(base(workspace) + f"/stages/{stage.id}/move/up").status_code == 302
    assert one(sandbox_session, PipelineStage, workspace, name="Negotiation").position == 2
    assert client.post(base(workspace) + f"/stages/{stage.id}/move/sideways").status_code == 404
    assert statements(workspace, "move", "pipeline_stage")[0].result["diff"]["position"] == [3, 2]
    assert client.post(base(workspace) + f"/stages/{stage.id}/delete").status_code == 302
    assert statements(workspace, "delete", "pipeline_stage")[0].object_name == "Negotiation"


def test_stage_tasks_through_pages(workspace, client, sandbox_session, build):
    pipeline = build(lambda: make_pipeline(workspace, stages=(("Lead", 10, ()),)))
    stage = pipeline.stages[0]
    url = base(workspace) + f"/stages/{stage.id}/tasks"
    neither = client.post(url, data={"title": "Call", "priority": "high"})
    assert neither.status_code == 400 and 'value="Call"' in neither.get_data(as_text=True)
    both = client.post(url, data={"title": "Call", "priority": "high", "due_offset_days": "2",
                                  "due_date": "2030-01-01"})
    assert both.status_code == 400
    assert client.post(url, data={"title": "Call", "priority": "high", "due_offset_days": "2"}).status_code == 302
    sandbox_session.expire_all()
    template = one(sandbox_session, PipelineStage, workspace).task_templates[0]
    assert (template.title, template.priority, template.due_offset_days) == ("Call", "high", 2)
    edit = client.post(base(workspace) + f"/stage-tasks/{template.id}/edit",
                       data={"title": "Call back", "priority": "urgent", "due_offset_days": "3"})
    assert edit.status_code == 302
    assert statements(workspace, "update", "stage_task")[0].result["diff"]["title"] == ["Call", "Call back"]


# --- opportunities ---------------------------------------------------------------------------

def test_create_opportunity_through_form(seeded, client, sandbox_session):
    stage = one(sandbox_session, PipelineStage, seeded, name="Lead")
    data = {"name": "Machines for Kraków", "company": "Hotel Pod Wawelem sp. z o.o.", "stage_id": str(stage.id),
            "value": "12 500,50", "currency": "PLN", "expected_close_date": "2030-05-31"}
    response = client.post(base(seeded) + "/opportunities/new", data=data)
    assert response.status_code == 302
    opportunity = one(sandbox_session, Opportunity, seeded, name="Machines for Kraków")
    assert opportunity.value == Decimal("12500.50") and opportunity.stage_id == stage.id
    assert [t.title for t in sandbox_session.scalars(select(Task).where(Task.opportunity_id == opportunity.id))] == [
        "Qualify"]
    assert statements(seeded, "create", "opportunity")[0].result["diff"]["value"] == [None, "12500.50"]


def test_opportunity_form_bad_input_keeps_values(seeded, client, sandbox_session):
    stage = one(sandbox_session, PipelineStage, seeded, name="Lead")
    response = client.post(base(seeded) + "/opportunities/new", data={
        "name": "Machines", "company": "No such firm", "stage_id": str(stage.id), "value": "a lot",
        "expected_close_date": "tomorrow", "currency": "PLN"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'value="Machines"' in page and 'value="No such firm"' in page and 'value="a lot"' in page
    assert page.count('class="field-error"') >= 2
    missing = client.post(base(seeded) + "/opportunities/new", data={
        "name": "Machines", "company": "Hotel Pod Wawelem sp. z o.o.", "stage_id": "999999", "currency": "PLN"})
    assert missing.status_code == 400
    assert statements(seeded, "create", "opportunity") == []


def test_edit_opportunity_value_and_stage(seeded, client, sandbox_session):
    opportunity = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel")
    lead = one(sandbox_session, PipelineStage, seeded, name="Lead")
    response = client.post(base(seeded) + f"/opportunities/{opportunity.id}/edit", data={
        "name": "Coffee for Wawel", "company": "Hotel Pod Wawelem sp. z o.o.", "stage_id": str(lead.id),
        "value": "50000", "currency": "PLN"})
    assert response.status_code == 302
    assert statements(seeded, "update", "opportunity")[0].result["diff"]["value"] == ["48000", "50000"]
    assert statements(seeded, "move", "opportunity")[0].result["diff"]["stage"] == ["Offer", "Lead"]


def test_board_move_endpoint_json(seeded, client, sandbox_session):
    opportunity = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel")
    lead = one(sandbox_session, PipelineStage, seeded, name="Lead")
    response = client.post(base(seeded) + f"/opportunities/{opportunity.id}/move", data={"stage_id": lead.id},
                           headers={"Accept": "application/json", "X-CSRFToken": "x"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["ok"] and body["stage_id"] == lead.id and body["tasks_created"] == ["Qualify"]
    assert body["columns"][str(lead.id)]["count"] == 1
    [moved] = statements(seeded, "move", "opportunity")
    assert moved.result["diff"]["stage"] == ["Offer", "Lead"]


def test_board_move_form_without_js_redirects(seeded, client, sandbox_session):
    opportunity = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel")
    lead = one(sandbox_session, PipelineStage, seeded, name="Lead")
    response = client.post(base(seeded) + f"/opportunities/{opportunity.id}/move",
                           data={"stage_id": lead.id, "next": base(seeded) + "/board"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/board")
    evil = client.post(base(seeded) + f"/opportunities/{opportunity.id}/move",
                       data={"stage_id": lead.id, "next": "//evil.example/x"})
    assert "evil.example" not in evil.headers["Location"]
    backslash = client.post(base(seeded) + f"/opportunities/{opportunity.id}/move",
                            data={"stage_id": lead.id, "next": "/\\evil.example/x"})
    assert "evil.example" not in backslash.headers["Location"]


def test_board_move_bad_stage_ids(seeded, client, sandbox_session, build):
    opportunity = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel")
    url = base(seeded) + f"/opportunities/{opportunity.id}/move"
    json_headers = {"Accept": "application/json"}
    other_pipeline = build(lambda: make_pipeline(seeded, "Retail"))
    other_ws = build(lambda: create_workspace("Other", "user:1", seed=SEED))
    foreign_stage = one(sandbox_session, PipelineStage, other_ws, name="Lead")
    assert client.post(url, data={"stage_id": other_pipeline.stages[0].id}, headers=json_headers).status_code == 400
    assert client.post(url, data={"stage_id": other_pipeline.stages[0].id}).status_code == 400
    assert client.post(url, data={"stage_id": foreign_stage.id}, headers=json_headers).status_code == 404
    assert client.post(url, data={"stage_id": "999999"}, headers=json_headers).status_code == 404
    assert client.post(url, data={"stage_id": "abc"}, headers=json_headers).status_code == 400
    assert client.post(url, data={}, headers=json_headers).status_code == 400
    assert client.post(base(seeded) + "/opportunities/999999/move", data={"stage_id": 1}).status_code == 404
    assert statements(seeded, "move", "opportunity") == []


def test_closed_opportunity_cannot_be_moved(seeded, client, sandbox_session):
    old = one(sandbox_session, Opportunity, seeded, name="Old deal")
    offer = one(sandbox_session, PipelineStage, seeded, name="Offer")
    response = client.post(base(seeded) + f"/opportunities/{old.id}/move", data={"stage_id": offer.id},
                           headers={"Accept": "application/json"})
    assert response.status_code == 409 and response.get_json()["ok"] is False
    form = client.post(base(seeded) + f"/opportunities/{old.id}/move", data={"stage_id": offer.id})
    assert form.status_code == 303


def test_won_lost_need_reason_through_page(seeded, client, sandbox_session):
    opportunity = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel")
    url = base(seeded) + f"/opportunities/{opportunity.id}/close"
    bad = client.post(url, data={"outcome": "lost", "reason": ""})
    assert bad.status_code == 400 and "field-error" in bad.get_data(as_text=True)
    assert client.post(url, data={"outcome": "won", "reason": "Signed for 3 years"}).status_code == 302
    assert one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel").status == "won"
    [won] = statements(seeded, "won", "opportunity")
    assert won.result["diff"]["close_reason"] == [None, "Signed for 3 years"]
    again = client.post(url, data={"outcome": "lost", "reason": "Changed mind"})
    assert again.status_code == 400
    assert client.post(base(seeded) + f"/opportunities/{opportunity.id}/reopen").status_code == 302
    assert one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel").status == "open"


def test_delete_opportunity_through_page(seeded, client, sandbox_session):
    opportunity = one(sandbox_session, Opportunity, seeded, name="Old deal")
    assert client.post(base(seeded) + f"/opportunities/{opportunity.id}/delete").status_code == 302
    assert statements(seeded, "delete", "opportunity")[0].object_name == "Old deal"


def test_filters_log_only_when_applied(seeded, client):
    assert client.get(base(seeded) + "/opportunities/?status=open&page=1").status_code == 200
    assert statements(seeded, "filter") == []
    page = client.get(base(seeded) + "/opportunities/?status=open&value_min=40000&apply=Filter")
    assert page.status_code == 200 and "Coffee for Wawel" in page.get_data(as_text=True)
    [applied] = statements(seeded, "filter", "opportunity")
    assert applied.result["filters"]["status"] == "open" and applied.result["filters"]["value_min"] == "40000"
    assert applied.result["count"] == 1
    client.get(base(seeded) + "/tasks/?period=week&priority=high&apply=1")
    client.get(base(seeded) + "/board?close_from=2020-01-01&apply=1")
    assert [s.object_type for s in statements(seeded, "filter")] == ["opportunity", "task", "board"]


def test_bad_filter_input_is_shown_not_500(seeded, client):
    page = client.get(base(seeded) + "/opportunities/?value_min=abc&close_from=31.02.2020&pipeline=x"
                                     "&company=Nope&apply=1")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'value="abc"' in text and text.count('class="field-error"') >= 3
    assert "Coffee for Wawel" not in text  # an unknown company filters everything out
    tasks = client.get(base(seeded) + "/tasks/?period=custom&date_from=xx&sort=zzz&apply=1")
    assert tasks.status_code == 200
    assert client.get(base(seeded) + "/tasks/?opportunity=999999").status_code == 404
    assert client.get(base(seeded) + "/opportunities/?page=99999999999999").status_code == 200


def test_opportunity_list_filters_by_value_and_company(seeded, client, build):
    def more():
        company = make_company(seeded, "Second Hotel S.A.")
        pipeline = seeded_pipeline(seeded)
        make_opportunity(seeded, company, pipeline, name="Small one", value="900")

    build(more)
    text = client.get(base(seeded) + "/opportunities/?company=Second Hotel S.A.&apply=1").get_data(as_text=True)
    assert "Small one" in text and "Coffee for Wawel" not in text
    text = client.get(base(seeded) + "/opportunities/?value_max=1000").get_data(as_text=True)
    assert "Small one" in text and "Coffee for Wawel" not in text


def seeded_pipeline(ws):
    from sandbox_crm.services.pipelines import list_pipelines

    return list_pipelines(ws)[0]


# --- tasks -----------------------------------------------------------------------------------

def test_task_create_progress_complete(seeded, client, sandbox_session):
    opportunity = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel")
    url = base(seeded) + "/tasks/new"
    bad = client.post(url, data={"title": "", "due_date": "2030-13-01", "priority": "high", "status": "open",
                                 "percent_complete": "120", "due_time": "25:00"})
    assert bad.status_code == 400 and bad.get_data(as_text=True).count('class="field-error"') >= 3
    good = client.post(url, data={"title": "Demo at the hotel", "due_date": "2030-05-06", "due_time": "10:30",
                                  "priority": "urgent", "status": "open", "percent_complete": "0",
                                  "opportunity_id": str(opportunity.id), "next": base(seeded) + "/tasks/"})
    assert good.status_code == 302
    task = one(sandbox_session, Task, seeded, title="Demo at the hotel")
    assert task.company_id == opportunity.company_id and task.stage_id == opportunity.stage_id
    progress = client.post(base(seeded) + f"/tasks/{task.id}/progress", data={"percent_complete": "150"})
    assert progress.status_code == 303
    assert one(sandbox_session, Task, seeded, title="Demo at the hotel").percent_complete == 0
    client.post(base(seeded) + f"/tasks/{task.id}/progress", data={"percent_complete": "40"})
    assert one(sandbox_session, Task, seeded, title="Demo at the hotel").status == "in_progress"
    client.post(base(seeded) + f"/tasks/{task.id}/complete")
    done = one(sandbox_session, Task, seeded, title="Demo at the hotel")
    assert (done.status, done.percent_complete) == ("done", 100)
    verbs = [s.verb for s in statements(seeded, object_type="task")]
    assert verbs == ["create", "update", "complete"]
    edit = client.get(base(seeded) + f"/tasks/{task.id}/edit").get_data(as_text=True)
    assert 'value="10:30"' in edit and 'value="2030-05-06"' in edit


def test_task_list_marks_overdue_and_sorts(seeded, client, build):
    from datetime import timedelta

    from sandbox_crm.services import tasks as task_service
    from sandbox_crm.services.sales_util import local_today

    build(lambda: task_service.create_task(seeded, {
        "title": "Late call", "priority": "low", "due_at": task_service.due_at_from(local_today() - timedelta(days=2))}))
    text = client.get(base(seeded) + "/tasks/?period=overdue&apply=1").get_data(as_text=True)
    assert "Late call" in text and "row--overdue" in text and "Prepare demo" not in text
    text = client.get(base(seeded) + "/tasks/?sort=priority").get_data(as_text=True)
    assert text.index("Prepare demo") < text.index("Late call")


# --- frozen workspace and isolation ----------------------------------------------------------

def test_frozen_workspace_refuses_every_write(seeded, client, sandbox_session, build):
    opportunity = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel")
    pipeline = one(sandbox_session, Pipeline, seeded)
    stage, task = pipeline.stages[0], one(sandbox_session, Task, seeded)
    build(lambda: freeze_workspace(seeded.id))
    for path, data in (
        ("/pipelines/new", {"name": "X"}), (f"/pipelines/{pipeline.id}/stages", {"name": "X", "probability": "5"}),
        (f"/stages/{stage.id}/move/down", {}), (f"/opportunities/{opportunity.id}/move", {"stage_id": stage.id}),
        (f"/opportunities/{opportunity.id}/close", {"outcome": "won", "reason": "Because"}),
        ("/tasks/new", {"title": "X"}), (f"/tasks/{task.id}/complete", {}),
        (f"/tasks/{task.id}/progress", {"percent_complete": "50"}),
    ):
        assert client.post(base(seeded) + path, data=data).status_code == 403, path
    board = client.get(base(seeded) + "/board")
    assert board.status_code == 200 and 'draggable="false"' in board.get_data(as_text=True)
    assert statements(seeded, "move") == []


def test_other_workspace_rows_are_404(seeded, client, login_as, sandbox_session, build):
    other = build(lambda: create_workspace("Other", "user:1"))
    opportunity = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel")
    pipeline = one(sandbox_session, Pipeline, seeded)
    task = one(sandbox_session, Task, seeded)
    for path in (f"/opportunities/{opportunity.id}", f"/opportunities/{opportunity.id}/edit",
                 f"/pipelines/{pipeline.id}", f"/pipelines/{pipeline.id}/schedule", f"/stages/{pipeline.stages[0].id}/edit",
                 f"/tasks/{task.id}/edit", f"/board?pipeline={pipeline.id}", f"/tasks/new?opportunity_id={opportunity.id}"):
        assert client.get(base(other) + path).status_code == 404, path
    assert client.post(base(other) + f"/opportunities/{opportunity.id}/move",
                       data={"stage_id": pipeline.stages[0].id}).status_code == 404
    assert client.post(base(other) + f"/tasks/{task.id}/complete").status_code == 404
    stranger = login_as("user:2")
    for path in ("/board", "/opportunities/", f"/opportunities/{opportunity.id}", "/tasks/", "/pipelines/"):
        assert stranger.get(base(seeded) + path).status_code == 404, path
    assert stranger.post(base(seeded) + f"/opportunities/{opportunity.id}/move",
                         data={"stage_id": pipeline.stages[0].id}).status_code == 404


# --- no N+1 ----------------------------------------------------------------------------------

def test_board_and_list_queries_do_not_grow_with_rows(seeded, client, sandbox_app, build):
    def add(count):
        def _add():
            pipeline = seeded_pipeline(seeded)
            for n in range(count):
                company = make_company(seeded, f"Company {count}-{n}")
                make_opportunity(seeded, company, pipeline, name=f"Deal {count}-{n}", value=str(1000 + n),
                                 stage=pipeline.stages[n % 2])
        return _add

    def queries(path):
        seen = []
        engine = sandbox_app.extensions["sqlalchemy"].engine

        def count(*_args):
            seen.append(1)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(base(seeded) + path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    build(add(6))
    small = {path: queries(path) for path in ("/board", "/opportunities/", "/tasks/", "/tasks/summary")}
    build(add(40))
    large = {path: queries(path) for path in small}
    assert large == small


def test_edit_moves_opportunity_to_another_pipeline(seeded, client, sandbox_session, build):
    retail = build(lambda: make_pipeline(seeded, "Retail"))
    opportunity = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel")
    old_pipeline_id = opportunity.pipeline_id
    response = client.post(base(seeded) + f"/opportunities/{opportunity.id}/edit", data={
        "name": "Coffee for Wawel", "company": "Hotel Pod Wawelem sp. z o.o.", "stage_id": str(retail.stages[1].id),
        "value": "48000", "currency": "PLN"})
    assert response.status_code == 302
    moved = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel")
    assert (moved.pipeline_id, moved.stage_id) == (retail.id, retail.stages[1].id)
    [statement] = statements(seeded, "move", "opportunity")
    assert statement.result["diff"]["pipeline_id"] == [old_pipeline_id, retail.id]


def test_lists_accept_a_company_id_from_the_company_page(seeded, client, sandbox_session, build):
    other = build(lambda: make_company(seeded, "Unrelated S.A."))
    hotel = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel").company_id
    assert "Coffee for Wawel" in client.get(base(seeded) + f"/opportunities/?company_id={hotel}").get_data(as_text=True)
    assert "Coffee for Wawel" not in client.get(base(seeded) + f"/opportunities/?company_id={other.id}").get_data(
        as_text=True)
    assert "Prepare demo" in client.get(base(seeded) + f"/tasks/?company_id={hotel}").get_data(as_text=True)
    assert client.get(base(seeded) + "/tasks/?company_id=999999").status_code == 404


def test_board_move_needs_the_csrf_token_the_page_carries(seeded, client, sandbox_app, sandbox_session):
    import re

    opportunity = one(sandbox_session, Opportunity, seeded, name="Coffee for Wawel")
    lead = one(sandbox_session, PipelineStage, seeded, name="Lead")
    sandbox_app.config["WTF_CSRF_ENABLED"] = True
    try:
        url = base(seeded) + f"/opportunities/{opportunity.id}/move"
        json_headers = {"Accept": "application/json"}
        assert client.post(url, data={"stage_id": lead.id}, headers=json_headers).status_code == 400
        page = client.get(base(seeded) + "/board").get_data(as_text=True)
        token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
        # What sales_board.js sends: the token in the header and in the body.
        response = client.post(url, data={"stage_id": lead.id, "csrf_token": token},
                               headers=json_headers | {"X-CSRFToken": token})
        assert response.status_code == 200 and response.get_json()["ok"]
        stage_button = client.post(base(seeded) + f"/stages/{lead.id}/move/down")
        assert stage_button.status_code == 400
    finally:
        sandbox_app.config["WTF_CSRF_ENABLED"] = False
