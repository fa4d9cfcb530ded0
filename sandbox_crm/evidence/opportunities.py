"""Evidence checks of 2.4.a–f: opportunities added and edited, activities to close a stage,
value and stage, moving forward, a customer assigned, won or lost."""
from __future__ import annotations

from ..models import ActionStatement, Company, Workspace
from ..models.sales import Opportunity, PipelineStage, Task
from .base import CheckResult, EvidenceRow, Verdict, check
from .common import (
    candidate_statements,
    changes_of,
    existing,
    ids_of,
    object_id_of,
    pair,
    record_row,
    result,
    statement_row,
    statement_rows,
)

EDIT_VERBS = ("update", "move", "won", "lost")


def _opportunity_row(workspace: Workspace, opportunity: Opportunity, note: str = "") -> EvidenceRow:
    return record_row(workspace, f"Opportunity: {opportunity.name}" + (f" ({note})" if note else ""),
                      "opportunity", opportunity.id)


@check("2.4.a")
def opportunities_added_and_edited(workspace: Workspace) -> CheckResult:
    """Met when the candidate both added an opportunity (``create``) and edited one (``update``,
    ``move``, ``won`` or ``lost``), any opportunity, the scenario's included.

    Only one of the two: can't tell. Neither: not met.
    """
    created = candidate_statements(workspace, ["create"], ["opportunity"])
    edited = candidate_statements(workspace, EDIT_VERBS, ["opportunity"])
    opportunities = existing(workspace, Opportunity, ids_of(created + edited))
    rows = [_opportunity_row(workspace, o) for o in opportunities]
    if created and edited:
        return result("2.4.a", Verdict.MET,
                      f"The candidate added {len(ids_of(created))} and edited {len(ids_of(edited))} opportunity(ies).",
                      rows, statement_rows(workspace, created), statement_rows(workspace, edited))
    if created or edited:
        done = "added" if created else "edited"
        return result("2.4.a", Verdict.CANT_TELL,
                      f"The candidate only {done} opportunities.", rows, statement_rows(workspace, created + edited))
    return result("2.4.a", Verdict.NOT_MET, "The candidate added and edited no opportunity.")


@check("2.4.b")
def closing_activities_added(workspace: Workspace) -> CheckResult:
    """Met when the candidate created a task linked to an opportunity and to the stage it is to
    close (a task of the opportunity's stage), and the task exists.

    Only the tasks the stages' templates created automatically when the candidate added or moved
    opportunities: can't tell. Neither: not met.
    """
    statements = candidate_statements(workspace, ["create"], ["task"])
    tasks = [t for t in existing(workspace, Task, ids_of(statements))
             if t.opportunity_id is not None and t.stage_id is not None]
    if tasks:
        return result("2.4.b", Verdict.MET,
                      f"The candidate added {len(tasks)} activity(ies) to opportunities' stages.",
                      [record_row(workspace, f"Task: {t.title} (opportunity {t.opportunity_id}, stage "
                                             f"{t.stage.name if t.stage else t.stage_id})", "task", t.id)
                       for t in tasks],
                      statement_rows(workspace, [s for s in statements if object_id_of(s) in {t.id for t in tasks}]))
    automatic = [s for s in candidate_statements(workspace, ["create", "move"], ["opportunity"])
                 if (s.result or {}).get("tasks_created")]
    if automatic:
        return result("2.4.b", Verdict.CANT_TELL,
                      "Only tasks created automatically from the stages' templates are linked to the candidate's "
                      "opportunities.", statement_rows(workspace, automatic))
    return result("2.4.b", Verdict.NOT_MET, "The candidate added no activity to an opportunity's stage.")


def _value_set(statement: ActionStatement) -> bool:
    change = pair(changes_of(statement), "value")
    return change is not None and change[1] not in (None, "", "0", "0.00")


@check("2.4.c")
def value_and_stage_assigned(workspace: Workspace) -> CheckResult:
    """Met when an opportunity whose value the candidate set (on adding it or by editing) now has
    a value above zero and a stage (every opportunity is in a stage; the candidate chose it on
    adding, or moved it).

    The candidate's opportunities have no value: not met. No opportunity added or edited: not met.
    """
    statements = candidate_statements(workspace, ["create", "update"], ["opportunity"])
    valued = [s for s in statements if _value_set(s)]
    opportunities = [o for o in existing(workspace, Opportunity, ids_of(valued)) if o.value and o.value > 0]
    if opportunities:
        return result("2.4.c", Verdict.MET,
                      f"The candidate gave {len(opportunities)} opportunity(ies) a value and a stage.",
                      [_opportunity_row(workspace, o, f"{o.value} {o.currency}, stage {o.stage.name}")
                       for o in opportunities],
                      statement_rows(workspace, valued))
    if statements:
        return result("2.4.c", Verdict.NOT_MET, "The candidate's opportunities have no value set.",
                      statement_rows(workspace, statements))
    return result("2.4.c", Verdict.NOT_MET, "The candidate assigned no value and stage to an opportunity.")


def _forward(statement: ActionStatement, positions: dict[int, int]) -> bool | None:
    """Whether a move went to a later stage (by stage position, else by probability); ``None`` if unknown."""
    changes = changes_of(statement)
    stage_ids = changes.get("stage_id")
    if isinstance(stage_ids, list) and len(stage_ids) == 2 and all(i in positions for i in stage_ids):
        return positions[stage_ids[1]] > positions[stage_ids[0]]
    probabilities = changes.get("probability")
    if isinstance(probabilities, list) and len(probabilities) == 2 and probabilities[0] != probabilities[1]:
        return probabilities[1] > probabilities[0]
    return None


@check("2.4.d")
def moved_to_later_stages(workspace: Workspace) -> CheckResult:
    """Met when the candidate moved an opportunity to a later stage (``move`` statement whose
    target stage comes after the source stage in the pipeline, or has a higher probability).

    Only moves back (or moves whose direction cannot be told): can't tell. No moves: not met.
    """
    moves = candidate_statements(workspace, ["move"], ["opportunity"])
    stage_ids = {i for s in moves for i in (changes_of(s).get("stage_id") or []) if isinstance(i, int)}
    positions = {stage.id: stage.position for stage in existing(workspace, PipelineStage, stage_ids)}
    forward = [s for s in moves if _forward(s, positions)]
    if forward:
        return result("2.4.d", Verdict.MET,
                      f"The candidate moved opportunities forward {len(forward)} time(s).",
                      [_move_row(workspace, s) for s in forward])
    if moves:
        return result("2.4.d", Verdict.CANT_TELL, "The candidate moved opportunities, but not to a later stage.",
                      [_move_row(workspace, s) for s in moves])
    return result("2.4.d", Verdict.NOT_MET, "The candidate moved no opportunity between stages.")


def _move_row(workspace: Workspace, statement: ActionStatement) -> EvidenceRow:
    """A move statement labelled with its from → to stages."""
    stages = changes_of(statement).get("stage") or [None, None]
    return statement_row(workspace, statement,
                         f"move opportunity: {statement.object_name} ({stages[0]} → {stages[1]})")


@check("2.4.e")
def assigned_to_company(workspace: Workspace) -> CheckResult:
    """Met when an opportunity the candidate added, or whose company the candidate changed, is
    linked to an existing company (contractor).

    Otherwise not met.
    """
    statements = [s for s in candidate_statements(workspace, ["create", "update"], ["opportunity"])
                  if s.verb == "create" or pair(changes_of(s), "company_id") is not None]
    opportunities = existing(workspace, Opportunity, ids_of(statements))
    companies = {c.id: c for c in existing(workspace, Company, {o.company_id for o in opportunities})}
    linked = [o for o in opportunities if o.company_id in companies]
    if linked:
        return result("2.4.e", Verdict.MET,
                      f"The candidate assigned {len(linked)} opportunity(ies) to companies.",
                      [_opportunity_row(workspace, o, f"company {companies[o.company_id].name}") for o in linked],
                      [record_row(workspace, f"Company: {c.name}", "company", c.id) for c in companies.values()],
                      statement_rows(workspace, statements))
    return result("2.4.e", Verdict.NOT_MET, "The candidate assigned no opportunity to a company.")


@check("2.4.f")
def marked_won_or_lost(workspace: Workspace) -> CheckResult:
    """Met when the candidate marked an opportunity won or lost (with the reason the sandbox
    requires) and it is still closed that way.

    Marked but reopened since: can't tell. Never marked: not met.
    """
    statements = candidate_statements(workspace, ["won", "lost"], ["opportunity"])
    opportunities = existing(workspace, Opportunity, ids_of(statements))
    closed = [o for o in opportunities if o.status in ("won", "lost") and o.close_reason]
    if closed:
        return result("2.4.f", Verdict.MET,
                      f"The candidate closed {len(closed)} opportunity(ies) as won or lost with a reason.",
                      [_opportunity_row(workspace, o, f"{o.status}: {o.close_reason}") for o in closed],
                      statement_rows(workspace, statements))
    if statements:
        return result("2.4.f", Verdict.CANT_TELL,
                      "The candidate marked opportunities won or lost, but they are open again.",
                      statement_rows(workspace, statements))
    return result("2.4.f", Verdict.NOT_MET, "The candidate marked no opportunity won or lost.")
