"""Evidence checks of 2.3.a–d: task lists for a period, priorities, reading completion, reading
the value of opportunities per stage.

Opening a page is not logged, so reading is seen through what the candidate applied
(filters on the task list and the board, reports) and what they changed.
"""
from __future__ import annotations

from sqlalchemy import func, select

from ..host import session
from ..models import ActionStatement, Workspace
from ..models.sales import Opportunity, StageTask, Task
from .base import CheckResult, EvidenceRow, Verdict, check
from .common import (
    candidate_statements,
    changes_of,
    existing,
    ids_of,
    page_row,
    pair,
    record_row,
    result,
    statement_rows,
)

PERIOD_KEYS = ("period", "date_from", "date_to")


def _report_config(statement: ActionStatement) -> dict:
    config = (statement.result or {}).get("config")
    return config if isinstance(config, dict) else {}


def _task_row(workspace: Workspace, task: Task, note: str = "") -> EvidenceRow:
    return record_row(workspace, f"Task: {task.title}" + (f" ({note})" if note else ""), "task", task.id)


@check("2.3.a")
def task_list_for_period(workspace: Workspace) -> CheckResult:
    """Met when the candidate listed tasks for a period: a task-list filter with a period (today,
    this week, a range …), or a task report limited to a date range, or at least two tasks the
    candidate created with due dates (a to-do list planned in time).

    Otherwise not met.
    """
    filters = [s for s in candidate_statements(workspace, ["filter"], ["task"])
               if any(((s.result or {}).get("filters") or {}).get(key) for key in PERIOD_KEYS)]
    reports = [s for s in candidate_statements(workspace, ["filter"], ["report"])
               if (s.result or {}).get("source") == "tasks"
               and ((s.result or {}).get("date_from") or (s.result or {}).get("date_to"))]
    created = existing(workspace, Task, ids_of(candidate_statements(workspace, ["create"], ["task"])))
    dated = [t for t in created if t.due_at is not None]
    if filters or reports or len(dated) >= 2:
        parts = []
        if filters or reports:
            parts.append(f"listed tasks for a period {len(filters) + len(reports)} time(s)")
        if len(dated) >= 2:
            parts.append(f"planned {len(dated)} tasks with due dates")
        return result("2.3.a", Verdict.MET, f"The candidate {' and '.join(parts)}.",
                      statement_rows(workspace, filters + reports),
                      [_task_row(workspace, t, f"due {t.due_at:%Y-%m-%d}") for t in dated])
    return result("2.3.a", Verdict.NOT_MET, "The candidate made no task list for a period.")


@check("2.3.b")
def task_priorities_set(workspace: Workspace) -> CheckResult:
    """Met when the candidate gave a task (or a stage's task template) a priority other than the
    default "normal", on creating it or by changing it.

    The candidate's tasks all left at "normal": can't tell (it may have been chosen). No tasks
    by the candidate: not met.
    """
    statements = candidate_statements(workspace, ["create", "update", "complete"], ["task", "stage_task"])
    prioritised = []
    levels_set = set()
    for statement in statements:
        change = pair(changes_of(statement), "priority")
        if change is not None and change[1] not in (None, "normal"):
            prioritised.append(statement)
            levels_set.add(change[1])
    tasks = existing(workspace, Task, ids_of(s for s in prioritised if s.object_type == "task"))
    templates = existing(workspace, StageTask, ids_of(s for s in prioritised if s.object_type == "stage_task"))
    rows = [_task_row(workspace, t, f"priority {t.priority}") for t in tasks] + [
        record_row(workspace, f"Stage task: {t.title} (priority {t.priority})", "stage_task", t.id,
                   "sandbox.stage_task_edit", template_id=t.id) for t in templates]
    if prioritised:
        levels = sorted(levels_set)
        return result("2.3.b", Verdict.MET,
                      f"The candidate set task priorities ({', '.join(levels)}) {len(prioritised)} time(s).",
                      rows, statement_rows(workspace, prioritised))
    if statements:
        return result("2.3.b", Verdict.CANT_TELL,
                      "The candidate's tasks all have the default priority (normal).",
                      statement_rows(workspace, statements))
    return result("2.3.b", Verdict.NOT_MET, "The candidate set no task priority.")


def _completion_change(statement: ActionStatement) -> bool:
    changes = changes_of(statement)
    return statement.verb == "complete" or "percent_complete" in changes or "status" in changes


def _reads_completion(statement: ActionStatement) -> bool:
    """A task report showing completion: average percent complete, or tasks by status."""
    config = _report_config(statement)
    return config.get("source") == "tasks" and (config.get("measure") == "avg_progress"
                                                or config.get("group_by") == "status")


@check("2.3.c")
def task_completion_read(workspace: Workspace) -> CheckResult:
    """Met when the candidate recorded how far tasks have got (percent complete, status, marking
    done) or read completion through a filter on task status or a task report on status or
    average completion.

    Tasks exist but nothing of this is logged (reading the summary page is not logged): can't
    tell. No tasks in the workspace: not met.
    """
    updates = [s for s in candidate_statements(workspace, ["update", "complete"], ["task"]) if _completion_change(s)]
    filters = [s for s in candidate_statements(workspace, ["filter"], ["task"])
               if ((s.result or {}).get("filters") or {}).get("status")]
    reports = [s for s in candidate_statements(workspace, ["generate"], ["report"]) if _reads_completion(s)]
    if updates or filters or reports:
        tasks = existing(workspace, Task, ids_of(updates))
        return result("2.3.c", Verdict.MET,
                      f"The candidate updated task completion {len(updates)} time(s) and read it through "
                      f"{len(filters) + len(reports)} filter(s) or report(s).",
                      [_task_row(workspace, t, f"{t.percent_complete}% {t.status}") for t in tasks],
                      statement_rows(workspace, updates), statement_rows(workspace, filters + reports))
    task_count = session().scalar(select(func.count()).select_from(Task).where(Task.workspace_id == workspace.id))
    if task_count:
        return result("2.3.c", Verdict.CANT_TELL,
                      "Tasks exist, but the log shows no reading or updating of their completion "
                      "(opening the task summary is not logged).",
                      [page_row(workspace, "Task completion summary", "sandbox.task_summary")])
    return result("2.3.c", Verdict.NOT_MET, "The workspace has no tasks whose completion could be read.")


@check("2.3.d")
def stage_values_read(workspace: Workspace) -> CheckResult:
    """Met when the candidate read the value of opportunities per stage: applied a pipeline or
    dates on the board (values per stage column), filtered the opportunity list by pipeline or
    stage (totals shown), or generated an opportunity report grouped by stage.

    Opportunities exist but nothing of this is logged (opening the board is not logged): can't
    tell. No opportunities: not met.
    """
    board = candidate_statements(workspace, ["filter"], ["board"])
    lists = [s for s in candidate_statements(workspace, ["filter"], ["opportunity"])
             if {"pipeline_id", "stage_id"} & set((s.result or {}).get("filters") or {})]
    reports = [s for s in candidate_statements(workspace, ["generate", "export"], ["report"])
               if _report_config(s).get("source") == "opportunities" and _report_config(s).get("group_by") == "stage"]
    found = board + lists + reports
    if found:
        return result("2.3.d", Verdict.MET,
                      f"The candidate read opportunity values per stage {len(found)} time(s) "
                      f"(board {len(board)}, list {len(lists)}, reports {len(reports)}).",
                      statement_rows(workspace, found),
                      [page_row(workspace, "Sales board", "sandbox.board")])
    count = session().scalar(select(func.count()).select_from(Opportunity)
                             .where(Opportunity.workspace_id == workspace.id))
    if count:
        return result("2.3.d", Verdict.CANT_TELL,
                      "Opportunities exist, but the log shows no reading of their values per stage "
                      "(opening the board is not logged).",
                      [page_row(workspace, "Sales board", "sandbox.board")])
    return result("2.3.d", Verdict.NOT_MET, "The workspace has no opportunities whose values could be read.")
