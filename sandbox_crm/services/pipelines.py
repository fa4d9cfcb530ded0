"""Sales funnels (2.1.a–e): pipelines with a SMART goal, ordered stages with a probability and
a goal of their own, task templates attached to stages, and the schedule they make."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, func, select, update

from ..actionlog import diff, record
from ..host import session
from ..models import Workspace
from ..models.sales import (
    PRIORITIES,
    Opportunity,
    OpportunityStageChange,
    OpportunityStatus,
    Pipeline,
    PipelineStage,
    StageTask,
    Task,
)
from ..registry import seeder
from ..scoping import scoped
from .sales_util import SalesError, clean_text, local_today, snapshot
from .smart import SmartReport, check_goal_of

GOAL_FIELDS = ("goal_specific", "goal_metric", "goal_target", "goal_deadline", "goal_achievable", "goal_relevance")
PIPELINE_FIELDS = ("name", "description", "customer_type", "offer_kind", "sales_form", "currency", *GOAL_FIELDS)
STAGE_FIELDS = ("name", "probability", "duration_days", "description", *GOAL_FIELDS)
STAGE_TASK_FIELDS = ("title", "description", "priority", "due_offset_days", "due_date")
# Stage length assumed on the schedule when the designer gave none.
DEFAULT_STAGE_DAYS = 7


def _assign(obj: Any, data: dict, fields: tuple[str, ...]) -> None:
    for name in fields:
        if name in data:
            value = data[name]
            setattr(obj, name, clean_text(value) if isinstance(value, str) else value)


def _require_name(value: Any, field_name: str = "name") -> None:
    if not clean_text(value):
        raise SalesError(_l("Enter a name."), field_name)


def _check_probability(value: Any) -> None:
    if value is None or not 0 <= int(value) <= 100:
        raise SalesError(_l("Probability is a percentage from 0 to 100."), "probability")


# --- pipelines -------------------------------------------------------------------------------

def list_pipelines(workspace: Workspace) -> list[Pipeline]:
    """The workspace's pipelines by name."""
    return list(session().scalars(scoped(Pipeline, workspace).order_by(Pipeline.name, Pipeline.id)))


def pipeline_stats(workspace: Workspace) -> dict[int, dict]:
    """Per pipeline: number of stages, and count and value of open opportunities (aggregated in SQL)."""
    db = session()
    stats: dict[int, dict] = {}
    stage_counts = db.execute(
        select(PipelineStage.pipeline_id, func.count())
        .where(PipelineStage.workspace_id == workspace.id)
        .group_by(PipelineStage.pipeline_id)
    )
    for pipeline_id, count in stage_counts:
        stats.setdefault(pipeline_id, {"stages": 0, "open": 0, "value": Decimal(0)})["stages"] = count
    open_value: ColumnElement[Decimal] = func.coalesce(func.sum(Opportunity.value), 0)  # never NULL
    opportunity_sums = db.execute(
        select(Opportunity.pipeline_id, func.count(), open_value)
        .where(Opportunity.workspace_id == workspace.id, Opportunity.status == OpportunityStatus.OPEN)
        .group_by(Opportunity.pipeline_id)
    )
    for pipeline_id, count, total in opportunity_sums:
        entry = stats.setdefault(pipeline_id, {"stages": 0, "open": 0, "value": Decimal(0)})
        entry["open"], entry["value"] = count, Decimal(total)
    return stats


def create_pipeline(workspace: Workspace, data: dict) -> Pipeline:
    """Create a pipeline from form ``data`` (name, description, customer type, offer kind,
    form of sale, currency and the SMART goal fields) and log it."""
    _require_name(data.get("name"))
    pipeline = Pipeline(workspace_id=workspace.id, currency="PLN")
    _assign(pipeline, data, PIPELINE_FIELDS)
    session().add(pipeline)
    session().flush()
    record(workspace, "create", "pipeline", pipeline.id, pipeline.name,
           {"diff": diff({}, snapshot(pipeline, PIPELINE_FIELDS))})
    return pipeline


def update_pipeline(workspace: Workspace, pipeline: Pipeline, data: dict) -> Pipeline:
    """Change a pipeline's fields and log the diff (nothing is logged when nothing changed)."""
    _require_name(data.get("name", pipeline.name))
    before = snapshot(pipeline, PIPELINE_FIELDS)
    _assign(pipeline, data, PIPELINE_FIELDS)
    changes = diff(before, snapshot(pipeline, PIPELINE_FIELDS))
    if changes:
        session().flush()
        record(workspace, "update", "pipeline", pipeline.id, pipeline.name, {"diff": changes})
    return pipeline


def delete_pipeline(workspace: Workspace, pipeline: Pipeline) -> None:
    """Delete a pipeline with its stages and task templates; refused while it has opportunities."""
    db = session()
    used = db.scalar(select(func.count()).where(Opportunity.workspace_id == workspace.id,
                                                Opportunity.pipeline_id == pipeline.id))
    if used:
        raise SalesError(_l("This pipeline has %(n)d opportunities: move or delete them first.", n=used))
    stage_ids = [stage.id for stage in pipeline.stages]
    _detach_stages(workspace, stage_ids)
    record(workspace, "delete", "pipeline", pipeline.id, pipeline.name,
           {"diff": diff(snapshot(pipeline, PIPELINE_FIELDS), {}), "stages": [s.name for s in pipeline.stages]})
    db.delete(pipeline)
    db.flush()


def _detach_stages(workspace: Workspace, stage_ids: list[int]) -> None:
    """Clear references to stages about to be deleted (history keeps the stage names)."""
    if not stage_ids:
        return
    db = session()
    template_ids = select(StageTask.id).where(StageTask.stage_id.in_(stage_ids))
    db.execute(update(Task).where(Task.workspace_id == workspace.id, Task.stage_task_id.in_(template_ids))
               .values(stage_task_id=None))
    db.execute(update(Task).where(Task.workspace_id == workspace.id, Task.stage_id.in_(stage_ids))
               .values(stage_id=None))
    db.execute(update(OpportunityStageChange)
               .where(OpportunityStageChange.workspace_id == workspace.id,
                      OpportunityStageChange.from_stage_id.in_(stage_ids))
               .values(from_stage_id=None))
    db.execute(update(OpportunityStageChange)
               .where(OpportunityStageChange.workspace_id == workspace.id,
                      OpportunityStageChange.to_stage_id.in_(stage_ids))
               .values(to_stage_id=None))


def goal_report(obj: Pipeline | PipelineStage, today: date | None = None) -> SmartReport:
    """The SMART check of a pipeline's or a stage's goal as of ``today`` (local date by default)."""
    return check_goal_of(obj, today or local_today())


# --- stages ----------------------------------------------------------------------------------

def add_stage(workspace: Workspace, pipeline: Pipeline, data: dict) -> PipelineStage:
    """Append a stage at the end of ``pipeline`` and log it."""
    _require_name(data.get("name"))
    _check_probability(data.get("probability"))
    last = session().scalar(select(func.max(PipelineStage.position)).where(PipelineStage.pipeline_id == pipeline.id))
    stage = PipelineStage(workspace_id=workspace.id, pipeline=pipeline, position=(last or 0) + 1)
    _assign(stage, data, STAGE_FIELDS)
    session().add(stage)
    session().flush()
    record(workspace, "create", "pipeline_stage", stage.id, stage.name,
           {"diff": diff({}, snapshot(stage, ("position", *STAGE_FIELDS))), "pipeline": pipeline.name})
    return stage


def update_stage(workspace: Workspace, stage: PipelineStage, data: dict) -> PipelineStage:
    """Change a stage's name, probability, planned length, description or goal, logging the diff."""
    _require_name(data.get("name", stage.name))
    _check_probability(data.get("probability", stage.probability))
    before = snapshot(stage, STAGE_FIELDS)
    _assign(stage, data, STAGE_FIELDS)
    changes = diff(before, snapshot(stage, STAGE_FIELDS))
    if changes:
        session().flush()
        record(workspace, "update", "pipeline_stage", stage.id, stage.name,
               {"diff": changes, "pipeline": stage.pipeline.name})
    return stage


def move_stage(workspace: Workspace, stage: PipelineStage, direction: str) -> PipelineStage:
    """Swap ``stage`` with its neighbour (``direction`` "up" = earlier, "down" = later) and log it."""
    if direction not in ("up", "down"):
        raise SalesError(_l("Unknown direction."))
    pipeline = stage.pipeline
    stages = sorted(pipeline.stages, key=lambda s: s.position)
    index = stages.index(stage)
    other_index = index - 1 if direction == "up" else index + 1
    if not 0 <= other_index < len(stages):
        raise SalesError(_l("This stage is already the first.") if direction == "up"
                         else _l("This stage is already the last."))
    other = stages[other_index]
    # Positions are renumbered 1..n so gaps left by deletions never confuse the order.
    stages[index], stages[other_index] = other, stage
    before = stage.position
    for number, item in enumerate(stages, start=1):
        item.position = number
    session().flush()
    session().expire(pipeline, ["stages"])
    record(workspace, "move", "pipeline_stage", stage.id, stage.name,
           {"diff": {"position": [before, stage.position]}, "order": [s.name for s in stages],
            "pipeline": pipeline.name})
    return stage


def delete_stage(workspace: Workspace, stage: PipelineStage) -> None:
    """Delete a stage no opportunity is in (open or closed), with its task templates; log it."""
    db = session()
    used = db.scalar(select(func.count()).where(Opportunity.workspace_id == workspace.id,
                                                Opportunity.stage_id == stage.id))
    if used:
        raise SalesError(_l("%(n)d opportunities are in this stage: move them to another stage first.", n=used))
    pipeline = stage.pipeline
    _detach_stages(workspace, [stage.id])
    record(workspace, "delete", "pipeline_stage", stage.id, stage.name,
           {"diff": diff(snapshot(stage, ("position", *STAGE_FIELDS)), {}), "pipeline": pipeline.name})
    pipeline.stages.remove(stage)
    db.flush()
    for number, item in enumerate(pipeline.stages, start=1):
        item.position = number
    db.flush()


def first_stage(pipeline: Pipeline) -> PipelineStage | None:
    return pipeline.stages[0] if pipeline.stages else None


# --- stage task templates --------------------------------------------------------------------

def _check_task_template(data: dict) -> None:
    if not clean_text(data.get("title")):
        raise SalesError(_l("Enter what is to be done."), "title")
    if data.get("priority") is not None and data["priority"] not in PRIORITIES:
        raise SalesError(_l("Choose a priority from the list."), "priority")
    offset, fixed = data.get("due_offset_days"), data.get("due_date")
    if offset is None and fixed is None:
        raise SalesError(_l("Give either the number of days after entering the stage or a fixed date."),
                         "due_offset_days")
    if offset is not None and fixed is not None:
        raise SalesError(_l("Give the days after entering the stage or a fixed date, not both."), "due_date")
    if offset is not None and int(offset) < 0:
        raise SalesError(_l("The number of days cannot be negative."), "due_offset_days")


def add_stage_task(workspace: Workspace, stage: PipelineStage, data: dict) -> StageTask:
    """Attach a task template to ``stage`` (title, priority, days after entering or a fixed date)."""
    _check_task_template(data)
    last = session().scalar(select(func.max(StageTask.position)).where(StageTask.stage_id == stage.id))
    template = StageTask(workspace_id=workspace.id, stage=stage, position=(last or 0) + 1)
    _assign(template, data, STAGE_TASK_FIELDS)
    session().add(template)
    session().flush()
    record(workspace, "create", "stage_task", template.id, template.title,
           {"diff": diff({}, snapshot(template, STAGE_TASK_FIELDS)), "stage": stage.name})
    return template


def update_stage_task(workspace: Workspace, template: StageTask, data: dict) -> StageTask:
    """Change a stage's task template and log the diff."""
    merged = snapshot(template, STAGE_TASK_FIELDS) | data
    merged["due_date"] = data.get("due_date", template.due_date)
    _check_task_template(merged)
    before = snapshot(template, STAGE_TASK_FIELDS)
    _assign(template, data, STAGE_TASK_FIELDS)
    changes = diff(before, snapshot(template, STAGE_TASK_FIELDS))
    if changes:
        session().flush()
        record(workspace, "update", "stage_task", template.id, template.title,
               {"diff": changes, "stage": template.stage.name})
    return template


def delete_stage_task(workspace: Workspace, template: StageTask) -> None:
    """Remove a task template from its stage (tasks already created from it stay)."""
    db = session()
    db.execute(update(Task).where(Task.workspace_id == workspace.id, Task.stage_task_id == template.id)
               .values(stage_task_id=None))
    record(workspace, "delete", "stage_task", template.id, template.title,
           {"diff": diff(snapshot(template, STAGE_TASK_FIELDS), {}), "stage": template.stage.name})
    template.stage.task_templates.remove(template)
    db.flush()


def template_due_date(template: StageTask, entered_on: date) -> date:
    """The day a task made from ``template`` is due when the stage is entered on ``entered_on``."""
    if template.due_date is not None:
        return template.due_date
    return entered_on + timedelta(days=template.due_offset_days or 0)


# --- schedule --------------------------------------------------------------------------------

@dataclass
class ScheduledTask:
    template: StageTask
    due: date
    day: int  # days from the schedule's start


@dataclass
class ScheduledStage:
    stage: PipelineStage
    start: date
    end: date
    start_day: int
    days: int
    tasks: list[ScheduledTask] = field(default_factory=list)


@dataclass
class Schedule:
    start: date
    end: date
    stages: list[ScheduledStage]

    @property
    def total_days(self) -> int:
        return max(1, (self.end - self.start).days)

    def percent(self, day: int) -> float:
        """Position of day ``day`` on the time axis, in percent of its length."""
        return round(100 * min(max(day, 0), self.total_days) / self.total_days, 2)

    def ticks(self) -> list[tuple[int, date]]:
        """Days to label on the axis: weekly for short plans, fortnightly or monthly for longer."""
        step = 7 if self.total_days <= 84 else 14 if self.total_days <= 180 else 30
        return [(day, self.start + timedelta(days=day)) for day in range(0, self.total_days + 1, step)]

    @property
    def tasks(self) -> list[tuple[ScheduledStage, ScheduledTask]]:
        """Every scheduled task with its stage, by due date."""
        return sorted(((s, t) for s in self.stages for t in s.tasks), key=lambda pair: (pair[1].due, pair[1].day))


def pipeline_schedule(pipeline: Pipeline, start: date) -> Schedule:
    """Lay ``pipeline`` out on a time axis from ``start``: stages one after another for their
    planned length, each stage's tasks on their due days (offset from the stage's start, or fixed)."""
    stages: list[ScheduledStage] = []
    cursor = start
    for stage in pipeline.stages:
        days = stage.duration_days if stage.duration_days is not None else DEFAULT_STAGE_DAYS
        scheduled = ScheduledStage(stage=stage, start=cursor, end=cursor + timedelta(days=days),
                                   start_day=(cursor - start).days, days=days)
        for template in stage.task_templates:
            due = template_due_date(template, cursor)
            scheduled.tasks.append(ScheduledTask(template=template, due=due, day=(due - start).days))
        scheduled.tasks.sort(key=lambda t: (t.due, t.template.position))
        stages.append(scheduled)
        cursor = scheduled.end
    latest = max([cursor] + [t.due for s in stages for t in s.tasks])
    earliest = min([start] + [t.due for s in stages for t in s.tasks])
    if earliest < start:
        # A fixed date before the plan starts: widen the axis so it is still drawn.
        shift = (start - earliest).days
        for s in stages:
            s.start_day += shift
            for t in s.tasks:
                t.day += shift
        start = earliest
    return Schedule(start=start, end=max(latest, start + timedelta(days=1)), stages=stages)


# --- seed ------------------------------------------------------------------------------------

def _seed_goal(row: dict, today: date) -> dict:
    goal = {name: row.get(name) for name in GOAL_FIELDS if name in row}
    if "goal_target" in goal and goal["goal_target"] is not None:
        goal["goal_target"] = Decimal(str(goal["goal_target"]))
    deadline = goal.get("goal_deadline")
    if isinstance(deadline, str):
        goal["goal_deadline"] = date.fromisoformat(deadline)
    if row.get("goal_deadline_in_days") is not None:
        goal["goal_deadline"] = today + timedelta(days=int(row["goal_deadline_in_days"]))
    return goal


@seeder("pipelines", order=30)
def seed_pipelines(workspace: Workspace, rows: list, context: dict) -> None:
    """Load pipelines: ``{name, description?, customer_type?, offer_kind?, sales_form?, goal_*?,
    goal_deadline_in_days?, stages: [{name, probability, duration_days?, goal_*?,
    tasks: [{title, priority?, due_offset_days? | due_date?}]}]}``.

    Pipelines are left in ``context["pipelines"]`` under their name (and ``key``, if given) for the
    opportunities seeder.
    Seeding is the scenario's starting state, not the candidate's work, so nothing is logged.
    """
    db = session()
    today = local_today()
    pipelines = context.setdefault("pipelines", {})
    for row in rows:
        pipeline = Pipeline(workspace_id=workspace.id, name=row["name"], description=row.get("description"),
                            customer_type=row.get("customer_type"), offer_kind=row.get("offer_kind"),
                            sales_form=row.get("sales_form"), currency=row.get("currency", "PLN"),
                            **_seed_goal(row, today))
        db.add(pipeline)
        for position, stage_row in enumerate(row.get("stages", []), start=1):
            stage = PipelineStage(workspace_id=workspace.id, position=position, name=stage_row["name"],
                                  probability=int(stage_row.get("probability", 0)),
                                  duration_days=stage_row.get("duration_days"),
                                  description=stage_row.get("description"), **_seed_goal(stage_row, today))
            pipeline.stages.append(stage)
            for task_position, task_row in enumerate(stage_row.get("tasks", []), start=1):
                fixed = task_row.get("due_date")
                stage.task_templates.append(StageTask(
                    workspace_id=workspace.id, position=task_position, title=task_row["title"],
                    description=task_row.get("description"), priority=task_row.get("priority", "normal"),
                    due_offset_days=None if fixed else int(task_row.get("due_offset_days", 0)),
                    due_date=date.fromisoformat(fixed) if fixed else None,
                ))
        pipelines[row["name"]] = pipeline
        if row.get("key"):
            pipelines[row["key"]] = pipeline
    db.flush()
