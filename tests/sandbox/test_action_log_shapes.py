"""The action log's one result shape and its one reader (``actionlog.split_result``).

Every new statement keeps its diff under ``"diff"`` and other details as keys of their own; the
sales areas' first logs wrote the diff as the whole result. Stored exam workspaces hold such logs
as evidence and are never rewritten, so the replay, the evidence checks and the timeline must read
a legacy row as they read the new row it stands for.
"""
from __future__ import annotations

import pytest
from sales_factories import make_company, make_opportunity, make_pipeline, stage_named

from sandbox_crm.actionlog import split_result
from sandbox_crm.api import action_log, replay, replay_rows
from sandbox_crm.evidence.common import changes_of, details_of
from sandbox_crm.models import ActionStatement
from sandbox_crm.services import opportunities as opp_service
from sandbox_crm.services import pipelines as pipeline_service


@pytest.fixture
def ctx(sandbox_app):
    with sandbox_app.test_request_context():
        yield


def _only(workspace, verb, object_type) -> ActionStatement:
    [statement] = [s for s in action_log(workspace.id) if s.verb == verb and s.object_type == object_type]
    return statement


def _legacy_copy(statement: ActionStatement, result: dict) -> ActionStatement:
    """The statement as the first sales logs wrote it: the same action, the result in the old shape."""
    return ActionStatement(workspace_id=statement.workspace_id, actor_ref=statement.actor_ref,
                           actor_name=statement.actor_name, verb=statement.verb, object_type=statement.object_type,
                           object_id=statement.object_id, object_name=statement.object_name, result=result)


def test_a_legacy_row_and_a_new_row_give_the_same_changes(ctx, workspace, sandbox_session):
    pipeline = make_pipeline(workspace, stages=(("Qualification", 10, ()),
                                                ("Offer", 50, ({"title": "Send the offer", "due_offset_days": 3},
                                                               {"title": "Follow-up call", "due_offset_days": 7}))))
    opportunity = make_opportunity(workspace, make_company(workspace), pipeline)
    opp_service.move_opportunity(workspace, opportunity, stage_named(pipeline, "Offer"))
    opp_service.close_opportunity(workspace, opportunity, won=True, reason="Signed the contract")
    pipeline_service.move_stage(workspace, stage_named(pipeline, "Offer"), "up")
    sandbox_session.flush()
    move, won, stage_move = (_only(workspace, "move", "opportunity"), _only(workspace, "won", "opportunity"),
                             _only(workspace, "move", "pipeline_stage"))
    assert all("diff" in s.result for s in (move, won, stage_move))  # the one writing shape
    # The old writers' shapes: the diff's fields with, beside them, the tasks a move created (two
    # names here: never a change), a closed opportunity's value and stage, a stage's new order.
    legacy = [
        _legacy_copy(move, move.result["diff"] | {"tasks_created": move.result["tasks_created"]}),
        _legacy_copy(won, won.result["diff"] | {"value": won.result["value"], "stage": won.result["stage"]}),
        _legacy_copy(stage_move, stage_move.result["diff"] | {"order": stage_move.result["order"]}),
    ]
    assert move.result["tasks_created"] == ["Send the offer", "Follow-up call"]
    assert stage_move.result["order"] == ["Offer", "Qualification"]
    sandbox_session.add_all(legacy)
    sandbox_session.flush()

    for new, old in zip((move, won, stage_move), legacy, strict=True):
        assert changes_of(old) == changes_of(new) == new.result["diff"]
        assert split_result(old.result)[0] == split_result(new.result)[0]
        assert set(details_of(old)) <= set(details_of(new))
    rows = {row.statement_id: row for row in replay(workspace.id)}
    for new, old in zip((move, won, stage_move), legacy, strict=True):
        assert rows[old.id].changes == rows[new.id].changes
        assert rows[new.id].changes  # the diff is read as changes, not shown as details
    assert dict(rows[legacy[0].id].details) == {"tasks_created": ["Send the offer", "Follow-up call"]}
    assert dict(rows[legacy[1].id].details) == {"value": won.result["value"], "stage": "Offer"}


@pytest.mark.parametrize("result", [
    {"filters": {"status": "open"}, "count": 2},
    {"template_id": 1, "template": "Standard", "tags": ["klient.nazwa", "oferta.numer"], "lines": 2},
    {"rows_chosen": [2, 3], "rows_imported": [2, 3], "companies_created": [4, 5], "contacts_created": [6, 7],
     "rows_skipped": {}, "mapping": ["name", "nip"], "decisions": {}},
    {"text": "48 000 zł"},
    {"config": {"source": "tasks"}},
])
def test_a_result_without_a_diff_is_all_details(result):
    assert split_result(result) == ({}, result)


def test_new_shape_keeps_details_beside_the_diff():
    result = {"diff": {"position": [2, 1]}, "order": ["Offer", "Lead"], "pipeline": "B2B"}
    assert split_result(result) == ({"position": [2, 1]}, {"order": ["Offer", "Lead"], "pipeline": "B2B"})
    assert split_result(None) == split_result({}) == ({}, {})


def test_replay_rows_sort_changes_and_details():
    statement = ActionStatement(id=1, workspace_id=1, actor_ref="user:1", actor_name="User", verb="update",
                                object_type="task", object_id="3", object_name="Call",
                                result={"status": ["open", "done"], "percent_complete": [0, 100]})
    [row] = replay_rows([statement])
    assert row.changes == (("percent_complete", 0, 100), ("status", "open", "done"))
    assert row.details == ()


def test_the_timeline_shows_a_legacy_diff_as_changes(workspace, login_as, sandbox_session):
    sandbox_session.add(ActionStatement(workspace_id=workspace.id, actor_ref="user:1", actor_name="User",
                                        verb="update", object_type="task", object_id="1", object_name="Call",
                                        result={"priority": ["normal", "urgent"]}))
    sandbox_session.commit()
    page = login_as("user:1").get(f"/sandbox/w/{workspace.id}/log").get_data(as_text=True)
    assert 'class="diff-old"' in page and 'class="diff-new"' in page
    assert "<details>" not in page
