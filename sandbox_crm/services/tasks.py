"""Tasks (2.3.a–c): lists for a period, priorities, and reading how far each task and each
stage or opportunity has got."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import joinedload

from ..actionlog import diff, record
from ..errors import SeedError
from ..host import session
from ..models import Workspace
from ..models.customers import Company, Contact
from ..models.sales import PRIORITIES, TASK_STATUSES, Opportunity, Pipeline, PipelineStage, Priority, Task, TaskStatus
from ..pagination import Page, paginate
from ..registry import seeder
from ..scoping import scoped
from ..textcase import unicode_lower
from .sales_util import (
    SalesError,
    as_utc,
    clean_text,
    local_datetime,
    local_day_start,
    local_today,
    now,
    plain,
    snapshot,
)

TASK_FIELDS = ("title", "description", "due_at", "priority", "status", "percent_complete", "assignee",
               "company_id", "contact_id", "opportunity_id", "stage_id")
PERIODS = ("today", "tomorrow", "week", "next_week", "month", "overdue", "custom")
ACTIVE_STATUSES = (TaskStatus.OPEN, TaskStatus.IN_PROGRESS)
# Sorting by priority puts the most pressing first.
PRIORITY_RANK = case({"urgent": 0, "high": 1, "normal": 2, "low": 3}, value=Task.priority, else_=4)


def priority_rank(priority: str) -> int:
    return {"urgent": 0, "high": 1, "normal": 2, "low": 3}.get(priority, 4)


# --- periods ---------------------------------------------------------------------------------

def period_bounds(period: str | None, today: date, date_from: date | None = None,
                  date_to: date | None = None) -> tuple[date | None, date | None]:
    """The first and last local day (both inclusive, either may be open) of a named period.

    ``week`` is the calendar week (Monday–Sunday) of ``today``; ``custom`` uses ``date_from``
    and ``date_to``; ``overdue`` is handled by the caller (it is not a range of days).
    """
    if period == "today":
        return today, today
    if period == "tomorrow":
        return today + timedelta(days=1), today + timedelta(days=1)
    if period == "week":
        monday = today - timedelta(days=today.weekday())
        return monday, monday + timedelta(days=6)
    if period == "next_week":
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7)
        return monday, monday + timedelta(days=6)
    if period == "month":
        first = today.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following - timedelta(days=1)
    if period == "custom":
        return date_from, date_to
    return None, None


@dataclass
class TaskFilters:
    """What the task list is filtered by (all optional)."""

    period: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    priority: str | None = None
    status: str | None = None  # a status, or "active" (open or in progress)
    assignee: str | None = None
    opportunity_id: int | None = None
    company_id: int | None = None
    stage_id: int | None = None
    query: str | None = None

    def active(self) -> dict:
        """The filters set, JSON-safe (what a "filter" statement records)."""
        return {k: plain(v) for k, v in self.__dict__.items() if v not in (None, "")}


def is_overdue(task: Task, at: datetime | None = None) -> bool:
    """A task not done (nor cancelled) whose due time has passed."""
    return task.status in ACTIVE_STATUSES and task.due_at is not None and task.due_at < (at or now())


def _filtered(workspace: Workspace, filters: TaskFilters, today: date, at: datetime) -> Select:
    query = scoped(Task, workspace)
    if filters.period == "overdue":
        query = query.where(Task.due_at < at, Task.status.in_(ACTIVE_STATUSES))
    else:
        first, last = period_bounds(filters.period, today, filters.date_from, filters.date_to)
        if first:
            query = query.where(Task.due_at >= local_day_start(first))
        if last:
            query = query.where(Task.due_at < local_day_start(last + timedelta(days=1)))
    if filters.priority:
        query = query.where(Task.priority == filters.priority)
    if filters.status == "active":
        query = query.where(Task.status.in_(ACTIVE_STATUSES))
    elif filters.status:
        query = query.where(Task.status == filters.status)
    if filters.assignee:
        query = query.where(unicode_lower(Task.assignee) == filters.assignee.strip().lower())
    if filters.opportunity_id:
        query = query.where(Task.opportunity_id == filters.opportunity_id)
    if filters.company_id:
        query = query.where(Task.company_id == filters.company_id)
    if filters.stage_id:
        query = query.where(Task.stage_id == filters.stage_id)
    if filters.query:
        query = query.where(unicode_lower(Task.title).like(f"%{filters.query.strip().lower()}%"))
    return query


SORTS = {
    "due": (Task.due_at.asc().nulls_last(), PRIORITY_RANK, Task.id),
    "-due": (Task.due_at.desc().nulls_last(), PRIORITY_RANK, Task.id),
    "priority": (PRIORITY_RANK, Task.due_at.asc().nulls_last(), Task.id),
    "-priority": (PRIORITY_RANK.desc(), Task.due_at.asc().nulls_last(), Task.id),
}


def list_tasks(workspace: Workspace, filters: TaskFilters, page: int = 1, per_page: int = 50,
               sort: str = "due", today: date | None = None, at: datetime | None = None) -> Page:
    """One page of tasks matching ``filters``, sorted by due date or priority, links loaded."""
    at = at or now()
    query = _filtered(workspace, filters, today or local_today(at), at).options(
        joinedload(Task.company), joinedload(Task.opportunity), joinedload(Task.stage)
    ).order_by(*SORTS.get(sort, SORTS["due"]))
    return paginate(query, page, per_page)


@dataclass
class Completion:
    """How far a group of tasks has got."""

    label: str
    total: int
    done: int
    cancelled: int
    overdue: int
    average_percent: float
    key: Any = None
    extra: Any = None

    @property
    def share_done(self) -> float:
        """Done among the tasks that count (cancelled ones do not), in percent."""
        counted = self.total - self.cancelled
        return round(100 * self.done / counted, 1) if counted else 0.0


def _completion_columns(at: datetime) -> tuple[ColumnElement[int], ColumnElement[int], ColumnElement[int],
                                                ColumnElement[int], ColumnElement[Decimal | float]]:
    """Count, done, cancelled, overdue and the average percent complete (a Decimal or a float, by database)."""
    return (
        func.count(Task.id),
        func.coalesce(func.sum(case((Task.status == TaskStatus.DONE, 1), else_=0)), 0),
        func.coalesce(func.sum(case((Task.status == TaskStatus.CANCELLED, 1), else_=0)), 0),
        func.coalesce(func.sum(case(((Task.status.in_(ACTIVE_STATUSES)) & (Task.due_at < at), 1), else_=0)), 0),
        func.coalesce(func.avg(case((Task.status != TaskStatus.CANCELLED, Task.percent_complete))), 0),
    )


def completion_totals(workspace: Workspace, filters: TaskFilters, today: date | None = None,
                      at: datetime | None = None) -> Completion:
    """Totals of the tasks matching ``filters``: how many, done, overdue, average percent complete."""
    at = at or now()
    subquery = _filtered(workspace, filters, today or local_today(at), at).with_only_columns(Task.id).subquery()
    count_, done_, cancelled_, overdue_, average_ = _completion_columns(at)
    total, done, cancelled, overdue, average = session().execute(
        select(count_, done_, cancelled_, overdue_, average_).where(Task.id.in_(select(subquery.c.id)))
    ).one()
    return Completion(str(_l("All")), total, done, cancelled, overdue, round(float(average), 1))


def completion_by_stage(workspace: Workspace, pipeline: Pipeline | None = None,
                        at: datetime | None = None) -> list[Completion]:
    """Completion of tasks per pipeline stage (tasks of no stage last), grouped in SQL."""
    at = at or now()
    count_, done_, cancelled_, overdue_, average_ = _completion_columns(at)
    query = (
        select(Task.stage_id, PipelineStage.name, Pipeline.name, count_, done_, cancelled_, overdue_, average_)
        .select_from(Task)
        .outerjoin(PipelineStage, PipelineStage.id == Task.stage_id)
        .outerjoin(Pipeline, Pipeline.id == PipelineStage.pipeline_id)
        .where(Task.workspace_id == workspace.id)
        .group_by(Task.stage_id, PipelineStage.name, Pipeline.name, Pipeline.id, PipelineStage.position)
        .order_by(Pipeline.name.nulls_last(), Pipeline.id, PipelineStage.position)
    )
    if pipeline is not None:
        query = query.where(PipelineStage.pipeline_id == pipeline.id)
    rows = []
    for stage_id, stage_name, pipeline_name, total, done, cancelled, overdue, average in session().execute(query):
        label = f"{pipeline_name}: {stage_name}" if stage_id else str(_l("No stage"))
        rows.append(Completion(label, total, done, cancelled, overdue, round(float(average), 1), key=stage_id))
    return rows


def completion_by_opportunity(workspace: Workspace, page: int = 1, per_page: int = 50,
                              at: datetime | None = None) -> Page:
    """Completion of tasks per opportunity (one page, least advanced first), grouped in SQL.

    The tasks are grouped on their own table (its opportunity index); only the page's
    opportunities are then looked up for their names.
    """
    at = at or now()
    db = session()
    count_, done_, cancelled_, overdue_, average_ = _completion_columns(at)
    in_workspace = (Task.workspace_id == workspace.id, Task.opportunity_id.is_not(None))
    total = db.scalar(select(func.count(func.distinct(Task.opportunity_id))).where(*in_workspace)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = list(db.execute(
        select(Task.opportunity_id, count_, done_, cancelled_, overdue_, average_).where(*in_workspace)
        .group_by(Task.opportunity_id).order_by(average_, Task.opportunity_id).limit(per_page).offset((page - 1) * per_page)
    ))
    names = {row.id: row for row in db.execute(
        select(Opportunity.id, Opportunity.name, Opportunity.status)
        .where(Opportunity.id.in_([row[0] for row in rows])))}
    items = [
        Completion(names[opportunity_id].name, total_, done, cancelled, overdue, round(float(average), 1),
                   key=opportunity_id, extra=names[opportunity_id].status)
        for opportunity_id, total_, done, cancelled, overdue, average in rows if opportunity_id in names
    ]
    return Page(items=items, page=page, per_page=per_page, total=total)


def assignees(workspace: Workspace) -> list[str]:
    """The distinct people tasks are assigned to, for the filter."""
    return list(session().scalars(
        select(Task.assignee).where(Task.workspace_id == workspace.id, Task.assignee.is_not(None))
        .distinct().order_by(Task.assignee).limit(200)
    ))


# --- changes ---------------------------------------------------------------------------------

def due_at_from(day: date | None, at: time | None = None) -> datetime | None:
    """The UTC instant of a local due day and time (the end of the working day by default)."""
    return local_datetime(day, at) if day else None


def _resolve_links(workspace: Workspace, data: dict) -> dict:
    """Check the company, contact, opportunity and stage ``data`` names are this workspace's and
    fit together; fill the company and stage from the opportunity when not given."""
    db = session()
    links: dict[str, Any] = {}
    opportunity = None
    if data.get("opportunity_id"):
        opportunity = db.scalar(scoped(Opportunity, workspace).where(Opportunity.id == data["opportunity_id"]))
        if opportunity is None:
            raise SalesError(_l("Choose an opportunity from the list."), "opportunity_id")
    links["opportunity_id"] = opportunity.id if opportunity else None
    company_id = data.get("company_id") or (opportunity.company_id if opportunity else None)
    if company_id and db.scalar(scoped(Company, workspace).where(Company.id == company_id)) is None:
        raise SalesError(_l("Choose a company from the list."), "company_id")
    if opportunity and company_id != opportunity.company_id:
        raise SalesError(_l("The opportunity is with another company."), "company_id")
    links["company_id"] = company_id
    links["contact_id"] = None
    if data.get("contact_id"):
        contact = db.scalar(scoped(Contact, workspace).where(Contact.id == data["contact_id"]))
        if contact is None:
            raise SalesError(_l("Choose a contact from the list."), "contact_id")
        links["contact_id"] = contact.id
    elif opportunity is not None and "contact_id" not in data:
        links["contact_id"] = opportunity.contact_id
    stage_id = data.get("stage_id") or (opportunity.stage_id if opportunity and "stage_id" not in data else None)
    if stage_id:
        stage = db.scalar(scoped(PipelineStage, workspace).where(PipelineStage.id == stage_id))
        if stage is None or (opportunity and stage.pipeline_id != opportunity.pipeline_id):
            raise SalesError(_l("Choose a stage of the opportunity's pipeline."), "stage_id")
    links["stage_id"] = stage_id or None
    return links


def _check(data: dict) -> None:
    if "title" in data and not clean_text(data.get("title")):
        raise SalesError(_l("Enter what is to be done."), "title")
    if data.get("priority") is not None and data["priority"] not in PRIORITIES:
        raise SalesError(_l("Choose a priority from the list."), "priority")
    if data.get("status") is not None and data["status"] not in TASK_STATUSES:
        raise SalesError(_l("Choose a status from the list."), "status")
    percent = data.get("percent_complete")
    if percent is not None and not 0 <= int(percent) <= 100:
        raise SalesError(_l("Percent complete is a number from 0 to 100."), "percent_complete")


def _settle_progress(task: Task, percent_given: bool) -> None:
    """Keep status, percent complete and completion time consistent.

    Done means 100 %; reaching 100 % means done when only the percentage was changed;
    starting (more than 0 %) moves an open task to in progress.
    """
    if task.status == TaskStatus.DONE:
        task.percent_complete = 100
        task.completed_at = task.completed_at or now()
        return
    if percent_given and task.percent_complete == 100 and task.status != TaskStatus.CANCELLED:
        task.status = TaskStatus.DONE
        task.completed_at = now()
        return
    task.completed_at = None
    if task.status == TaskStatus.OPEN and task.percent_complete > 0:
        task.status = TaskStatus.IN_PROGRESS


def create_task(workspace: Workspace, data: dict) -> Task:
    """Create a task (title, description, due_at, priority, status, percent complete, assignee,
    company, contact, opportunity, stage) and log it. A task of an opportunity belongs to its
    company and, unless told otherwise, to the stage it is in (an activity needed to close it)."""
    data = {"priority": Priority.NORMAL, "status": TaskStatus.OPEN, "percent_complete": 0} | \
        {k: v for k, v in data.items() if v is not None}
    if not clean_text(data.get("title")):
        raise SalesError(_l("Enter what is to be done."), "title")
    _check(data)
    links = _resolve_links(workspace, data)
    task = Task(workspace_id=workspace.id, title=clean_text(data["title"]),
                description=clean_text(data.get("description")), due_at=as_utc(data.get("due_at")),
                priority=data["priority"], status=data["status"], percent_complete=int(data["percent_complete"]),
                assignee=clean_text(data.get("assignee")), **links)
    _settle_progress(task, percent_given=True)
    session().add(task)
    session().flush()
    record(workspace, "create", "task", task.id, task.title, {"diff": diff({}, snapshot(task, TASK_FIELDS))})
    return task


def update_task(workspace: Workspace, task: Task, data: dict) -> Task:
    """Change a task from the edit form and log the diff; logged as "complete" when it becomes done."""
    _check(data)
    merged = {name: getattr(task, name) for name in ("opportunity_id", "company_id", "contact_id", "stage_id")}
    merged |= {k: v for k, v in data.items() if k in merged}
    links = _resolve_links(workspace, merged)
    before = snapshot(task, TASK_FIELDS)
    was_done = task.status == TaskStatus.DONE
    for name in ("title", "description", "priority", "status", "percent_complete", "assignee"):
        if name in data:
            value = data[name]
            setattr(task, name, clean_text(value) if isinstance(value, str) else value)
    if "due_at" in data:
        task.due_at = as_utc(data["due_at"])
    for name, value in links.items():
        setattr(task, name, value)
    percent_changed = before["percent_complete"] != task.percent_complete and before["status"] == task.status
    _settle_progress(task, percent_given=percent_changed)
    session().flush()
    changes = diff(before, snapshot(task, TASK_FIELDS))
    if changes:
        verb = "complete" if task.status == TaskStatus.DONE and not was_done else "update"
        record(workspace, verb, "task", task.id, task.title, {"diff": changes})
    return task


def set_progress(workspace: Workspace, task: Task, percent: int | None) -> Task:
    """Set how far a task has got (0–100); 100 % completes it. Logged as update or complete."""
    if percent is None or not 0 <= int(percent) <= 100:
        raise SalesError(_l("Percent complete is a number from 0 to 100."), "percent_complete")
    if task.status == TaskStatus.CANCELLED:
        raise SalesError(_l("This task is cancelled: reopen it in the edit form first."), "percent_complete")
    before = snapshot(task, ("status", "percent_complete", "completed_at"))
    was_done = task.status == TaskStatus.DONE
    task.percent_complete = int(percent)
    if was_done and task.percent_complete < 100:
        task.status = TaskStatus.IN_PROGRESS if task.percent_complete else TaskStatus.OPEN
    _settle_progress(task, percent_given=True)
    changes = diff(before, snapshot(task, ("status", "percent_complete", "completed_at")))
    if changes:
        session().flush()
        verb = "complete" if task.status == TaskStatus.DONE and not was_done else "update"
        record(workspace, verb, "task", task.id, task.title, {"diff": changes})
    return task


def complete_task(workspace: Workspace, task: Task) -> Task:
    """Mark a task done (100 %) and log "complete"."""
    if task.status == TaskStatus.DONE:
        raise SalesError(_l("This task is done already."))
    before = snapshot(task, ("status", "percent_complete", "completed_at"))
    task.status = TaskStatus.DONE
    _settle_progress(task, percent_given=False)
    session().flush()
    record(workspace, "complete", "task", task.id, task.title,
           {"diff": diff(before, snapshot(task, ("status", "percent_complete", "completed_at")))})
    return task


def delete_task(workspace: Workspace, task: Task) -> None:
    """Delete a task and log its last values."""
    record(workspace, "delete", "task", task.id, task.title, {"diff": diff(snapshot(task, TASK_FIELDS), {})})
    session().delete(task)
    session().flush()


# --- seed ------------------------------------------------------------------------------------

@seeder("tasks", order=45)
def seed_tasks(workspace: Workspace, rows: list, context: dict) -> None:
    """Load tasks: ``{title, description?, due_in_days? | due_date?, priority?, status?,
    percent_complete?, assignee?, opportunity? (an opportunity key), company? (a company key)}``.

    A task of a seeded opportunity belongs to its company and current stage. Nothing is logged.
    """
    db = session()
    today = local_today()
    opportunities = context.get("opportunities", {})
    companies = context.get("companies", {})
    for row in rows:
        opportunity = opportunities.get(row["opportunity"]) if row.get("opportunity") else None
        company = companies.get(row["company"]) if row.get("company") else None
        if (row.get("opportunity") and opportunity is None) or (row.get("company") and company is None):
            raise SeedError(f"task {row['title']!r}: unknown opportunity or company key")
        due: date | None
        if row.get("due_in_days") is not None:
            due = today + timedelta(days=int(row["due_in_days"]))
        else:
            due = date.fromisoformat(row["due_date"]) if row.get("due_date") else None
        task = Task(
            workspace_id=workspace.id, title=row["title"], description=row.get("description"),
            due_at=due_at_from(due), priority=row.get("priority", "normal"), status=row.get("status", "open"),
            percent_complete=int(row.get("percent_complete", 0)), assignee=row.get("assignee"),
            opportunity_id=opportunity.id if opportunity else None,
            company_id=company.id if company else (opportunity.company_id if opportunity else None),
            stage_id=opportunity.stage_id if opportunity else None,
        )
        _settle_progress(task, percent_given=True)
        db.add(task)
    db.flush()


def progress_value(value: Any) -> int | None:
    """A percentage typed by the user ("40", "40 %", "40,0"), or ``None`` if it is not one."""
    text = str(value or "").replace("%", "").replace(",", ".").strip()
    try:
        number = Decimal(text)
    except ArithmeticError:
        return None
    if not number.is_finite() or number != number.to_integral_value():
        return None
    return int(number)
