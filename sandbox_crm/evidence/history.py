"""The workspace as it was at one moment of the action log, rebuilt from its rows and the log.

A candidate records what they read (an answer beside a task of the sheet, a note at a
company); a check compares it with the figures the CRM showed *then*, not with the final state
(the candidate may well have marked a task done or moved an opportunity afterwards). The state at
the moment of a statement is rebuilt backwards from the rows as they are now:

* rows created after the moment are left out: those whose ``create`` statement came later, and
  those made without a statement of their own (the tasks a stage's templates create when an
  opportunity enters it) whose ``created_at`` is later;
* every later statement's diff (``{field: [before, after]}``) is undone, newest first;
* rows deleted after the moment come back from their ``delete`` statement, which logs their last
  values (a stage's pipeline from the pipeline's name the statement logs).

What the log cannot give back is left out: the tasks deleted together with their opportunity
(they have no statement of their own), and rows deleted after the moment that were created,
without a statement, after it too. The reconstruction itself (:func:`rewind`) and the figures
computed from it (:func:`completion_at`, :func:`stage_values_at`) are pure and unit-tested; the
functions reading the database only gather their input.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from ..actionlog import split_result
from ..host import session
from ..models import ActionStatement, Workspace
from ..models.sales import Opportunity, Pipeline, PipelineStage, Task
from ..params import parse_id
from ..scoping import scoped
from ..services.sales_util import as_utc, snapshot

TASK_FIELDS = ("title", "status", "percent_complete", "due_at")
OPPORTUNITY_FIELDS = ("name", "pipeline_id", "stage_id", "value", "status")
STAGE_FIELDS = ("name", "position", "pipeline_id")
PIPELINE_FIELDS = ("name",)
ACTIVE_STATUSES = ("open", "in_progress")


@dataclass(frozen=True)
class LoggedChange:
    """One later statement as the reconstruction reads it: its verb, object id and diff."""

    verb: str
    object_id: int | None
    diff: Mapping[str, Any]


def rewind(rows: Mapping[int, Mapping[str, Any]], later: Sequence[LoggedChange]) -> dict[int, dict[str, Any]]:
    """The rows (id → fields) as they were before the ``later`` changes (oldest first) were made.

    ``rows`` are the rows now, without those known to be created after the moment. A later
    ``create`` removes its row, a later ``delete`` brings its row back with its logged values,
    any other statement's diff is undone field by field (a row missing here is skipped).
    """
    state = {row_id: dict(fields) for row_id, fields in rows.items()}
    for change in reversed(later):
        if change.object_id is None:
            continue
        before = {name: pair[0] for name, pair in change.diff.items() if isinstance(pair, (list, tuple)) and len(pair) == 2}
        if change.verb == "create":
            state.pop(change.object_id, None)
        elif change.verb == "delete":
            state[change.object_id] = before
        elif change.object_id in state:
            state[change.object_id].update(before)
    return state


# --- reading the workspace -------------------------------------------------------------------

def later_changes(workspace: Workspace, object_type: str, moment: ActionStatement) -> list[LoggedChange]:
    """The statements on ``object_type`` logged after ``moment`` (anyone's), oldest first."""
    statements = session().scalars(
        select(ActionStatement).where(ActionStatement.workspace_id == workspace.id,
                                      ActionStatement.object_type == object_type,
                                      ActionStatement.id > moment.id)
        .order_by(ActionStatement.id))
    return [LoggedChange(verb=s.verb, object_id=parse_id(s.object_id), diff=split_result(s.result)[0]) for s in statements]


def _now_rows(workspace: Workspace, model: Any, fields: Iterable[str], moment: ActionStatement) -> dict[int, dict[str, Any]]:
    at = as_utc(moment.timestamp)
    return {row.id: snapshot(row, fields) for row in session().scalars(scoped(model, workspace))
            if as_utc(row.created_at) <= at}


@dataclass(frozen=True)
class TaskState:
    id: int
    title: str
    status: str
    percent_complete: int
    due_at: datetime | None


def _datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, str) and value:
        try:
            return as_utc(datetime.fromisoformat(value))
        except ValueError:
            return None
    return None


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _id(value: Any) -> int | None:
    """A row id from the log or a snapshot (an int, or an id written as text), else ``None``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return parse_id(value) if isinstance(value, str) else None


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def tasks_at(workspace: Workspace, moment: ActionStatement) -> list[TaskState]:
    """The workspace's tasks as they were when ``moment`` was logged, by id."""
    state = rewind(_now_rows(workspace, Task, TASK_FIELDS, moment), later_changes(workspace, "task", moment))
    return [TaskState(id=row_id, title=str(fields.get("title") or ""), status=str(fields.get("status") or "open"),
                      percent_complete=_int(fields.get("percent_complete")), due_at=_datetime(fields.get("due_at")))
            for row_id, fields in sorted(state.items())]


@dataclass(frozen=True)
class OpportunityState:
    id: int
    name: str
    pipeline_id: int | None
    stage_id: int | None
    value: Decimal | None
    status: str


def opportunities_at(workspace: Workspace, moment: ActionStatement) -> list[OpportunityState]:
    """The workspace's opportunities as they were when ``moment`` was logged, by id."""
    state = rewind(_now_rows(workspace, Opportunity, OPPORTUNITY_FIELDS, moment),
                   later_changes(workspace, "opportunity", moment))
    return [OpportunityState(id=row_id, name=str(fields.get("name") or ""),
                             pipeline_id=_id(fields.get("pipeline_id")), stage_id=_id(fields.get("stage_id")),
                             value=_decimal(fields.get("value")), status=str(fields.get("status") or "open"))
            for row_id, fields in sorted(state.items())]


@dataclass(frozen=True)
class StageState:
    id: int
    pipeline_id: int | None
    name: str
    position: int


def stages_at(workspace: Workspace, moment: ActionStatement) -> tuple[dict[int, str], list[StageState]]:
    """The pipelines' names (by id) and the stages as they were when ``moment`` was logged."""
    pipelines = rewind(_now_rows(workspace, Pipeline, PIPELINE_FIELDS, moment),
                       later_changes(workspace, "pipeline", moment))
    names = {row_id: str(fields.get("name") or "") for row_id, fields in pipelines.items()}
    by_name = {name: row_id for row_id, name in names.items()}
    changes = []
    for logged in later_changes(workspace, "pipeline_stage", moment):
        if logged.verb != "delete":
            changes.append(logged)
            continue
        # The stage's pipeline is logged by name beside the diff.
        pipeline_id = by_name.get(_pipeline_logged(workspace, logged) or "")
        changes.append(LoggedChange(logged.verb, logged.object_id, {**logged.diff, "pipeline_id": [pipeline_id, None]}))
    state = rewind(_now_rows(workspace, PipelineStage, STAGE_FIELDS, moment), changes)
    stages = [StageState(id=row_id, pipeline_id=_id(fields.get("pipeline_id")), name=str(fields.get("name") or ""),
                         position=_int(fields.get("position"), 1 << 20))
              for row_id, fields in state.items()]
    return names, sorted(stages, key=lambda s: (s.position, s.id))


def _pipeline_logged(workspace: Workspace, change: LoggedChange) -> str | None:
    statement = session().scalar(
        select(ActionStatement).where(ActionStatement.workspace_id == workspace.id,
                                      ActionStatement.object_type == "pipeline_stage",
                                      ActionStatement.verb == "delete",
                                      ActionStatement.object_id == str(change.object_id))
        .order_by(ActionStatement.id.desc()))
    # A detail beside the diff (the first logs put it in the diff as a pair: unknown for those).
    pipeline = split_result(statement.result)[1].get("pipeline") if statement is not None else None
    return pipeline if isinstance(pipeline, str) else None


# --- the figures the CRM showed --------------------------------------------------------------

@dataclass(frozen=True)
class CompletionFigures:
    """What the task completion summary showed at one moment."""

    total: int
    done: int
    in_progress: int
    open: int
    overdue: int
    cancelled: int
    average_percent: float
    overdue_ids: frozenset[int]

    @property
    def active(self) -> int:
        """Open or in progress (what "not done yet" counts)."""
        return self.open + self.in_progress

    @property
    def share_done(self) -> float:
        """Done among the tasks that count (cancelled ones do not), in percent, as the summary shows it."""
        counted = self.total - self.cancelled
        return round(100 * self.done / counted, 1) if counted else 0.0

    @property
    def share_done_of_all(self) -> float:
        """Done among all tasks, cancelled ones too (another fair reading of "the share done")."""
        return round(100 * self.done / self.total, 1) if self.total else 0.0


def completion_at(tasks: Iterable[TaskState], at: datetime) -> CompletionFigures:
    """The completion figures of ``tasks`` at ``at`` (overdue: not done nor cancelled, due before ``at``)."""
    rows = list(tasks)
    at = as_utc(at)
    overdue = frozenset(t.id for t in rows if t.status in ACTIVE_STATUSES and t.due_at is not None and t.due_at < at)
    counted = [t.percent_complete for t in rows if t.status != "cancelled"]
    return CompletionFigures(
        total=len(rows), done=sum(t.status == "done" for t in rows),
        in_progress=sum(t.status == "in_progress" for t in rows), open=sum(t.status == "open" for t in rows),
        overdue=len(overdue), cancelled=sum(t.status == "cancelled" for t in rows),
        average_percent=round(sum(counted) / len(counted), 1) if counted else 0.0, overdue_ids=overdue)


@dataclass(frozen=True)
class StageValue:
    """The open opportunities of one stage at one moment: how many and their value."""

    stage_id: int
    name: str
    count: int
    value: Decimal


def stage_values_at(opportunities: Iterable[OpportunityState], stages: Iterable[StageState],
                    pipeline_id: int) -> list[StageValue]:
    """Count and value of the open opportunities per stage of ``pipeline_id``, in stage order
    (an opportunity without a value counts with none, as the board sums them)."""
    ordered = [s for s in stages if s.pipeline_id == pipeline_id]
    counts = {s.id: 0 for s in ordered}
    values = {s.id: Decimal("0.00") for s in ordered}
    for opportunity in opportunities:
        if opportunity.status == "open" and opportunity.stage_id in counts:
            counts[opportunity.stage_id] += 1
            values[opportunity.stage_id] += opportunity.value or Decimal(0)
    return [StageValue(stage_id=s.id, name=s.name, count=counts[s.id], value=values[s.id]) for s in ordered]
