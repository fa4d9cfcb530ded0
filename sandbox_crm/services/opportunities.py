"""Opportunities (2.3.d, 2.4.a–f): add and edit, value and stage, a customer to belong to,
moving through stages (which creates the stage's tasks), winning or losing with a reason,
the stage history, and the values per stage the board and the tables show."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import joinedload

from ..actionlog import diff, record
from ..errors import SeedError
from ..host import host, session
from ..models import Workspace
from ..models.customers import Company, Contact
from ..models.sales import Opportunity, OpportunityStageChange, OpportunityStatus, Pipeline, PipelineStage, Task, TaskStatus
from ..pagination import Page, paginate
from ..registry import seeder
from ..scoping import scoped
from ..textcase import unicode_lower
from .pipelines import first_stage, template_due_date
from .sales_util import SalesError, clean_text, local_datetime, local_today, money, now, plain, snapshot, to_local, weighted_value

OPPORTUNITY_FIELDS = ("name", "company_id", "contact_id", "pipeline_id", "stage_id", "value", "currency",
                      "expected_close_date", "owner_name", "description")
MIN_REASON_CHARS = 3
# Cards drawn per board column; the rest are reached through the filtered list.
BOARD_CARDS_PER_STAGE = 30


def _actor_name() -> str | None:
    actor = host().actor()
    return actor.name if actor else None


def _resolve_links(workspace: Workspace, data: dict) -> tuple[Company, Contact | None, PipelineStage]:
    """The company, contact and stage ``data`` names, all checked to be this workspace's."""
    db = session()
    company = db.scalar(scoped(Company, workspace).where(Company.id == data.get("company_id"))) \
        if data.get("company_id") else None
    if company is None:
        raise SalesError(_l("Choose the customer (company) this opportunity is with."), "company_id")
    contact = None
    if data.get("contact_id"):
        contact = db.scalar(scoped(Contact, workspace).where(Contact.id == data["contact_id"]))
        if contact is None:
            raise SalesError(_l("Choose a contact from the list."), "contact_id")
        if contact.company_id is not None and contact.company_id != company.id:
            raise SalesError(_l("This contact works for another company: choose one of %(company)s's contacts.",
                                company=company.name), "contact_id")
    stage = db.scalar(scoped(PipelineStage, workspace).where(PipelineStage.id == data.get("stage_id"))) \
        if data.get("stage_id") else None
    if stage is None and data.get("pipeline_id"):
        pipeline = db.scalar(scoped(Pipeline, workspace).where(Pipeline.id == data["pipeline_id"]))
        stage = first_stage(pipeline) if pipeline else None
    if stage is None:
        raise SalesError(_l("Choose the pipeline stage the opportunity is in."), "stage_id")
    if data.get("pipeline_id") and stage.pipeline_id != data["pipeline_id"]:
        raise SalesError(_l("This stage belongs to another pipeline."), "stage_id")
    return company, contact, stage


def _check_values(data: dict) -> str:
    """Check the name and value of ``data``; the clean name."""
    name = clean_text(data.get("name"))
    if not name:
        raise SalesError(_l("Enter a name."), "name")
    value = data.get("value")
    if value is not None and Decimal(value) < 0:
        raise SalesError(_l("The value cannot be negative."), "value")
    return name


def _enter_stage(workspace: Workspace, opportunity: Opportunity, stage: PipelineStage,
                 from_stage: PipelineStage | None, note: str | None = None) -> list[Task]:
    """Put ``opportunity`` in ``stage``: history entry, and the stage's task templates as real tasks.

    A template already turned into a task for this opportunity (it was in the stage before)
    is not repeated.
    """
    db = session()
    entered = now()
    opportunity.stage = stage
    opportunity.stage_id = stage.id
    opportunity.stage_entered_at = entered
    opportunity.history.append(OpportunityStageChange(
        workspace_id=workspace.id,
        from_stage_id=from_stage.id if from_stage else None,
        from_stage_name=from_stage.name if from_stage else None,
        to_stage_id=stage.id, to_stage_name=stage.name, status=opportunity.status,
        value=opportunity.value, changed_at=entered, actor_name=_actor_name(), note=clean_text(note),
    ))
    done_templates: set[int] = set()
    if opportunity.id is not None:
        done_templates = set(db.scalars(select(Task.stage_task_id).where(
            Task.opportunity_id == opportunity.id, Task.stage_task_id.is_not(None))))
    entered_on = to_local(entered).date()
    created = []
    for template in stage.task_templates:
        if template.id in done_templates:
            continue
        task = Task(
            workspace_id=workspace.id, title=template.title, description=template.description,
            priority=template.priority, status=TaskStatus.OPEN, percent_complete=0,
            due_at=local_datetime(template_due_date(template, entered_on)),
            company_id=opportunity.company_id, contact_id=opportunity.contact_id,
            opportunity=opportunity, stage_id=stage.id, stage_task_id=template.id,
            assignee=opportunity.owner_name,
        )
        db.add(task)
        created.append(task)
    return created


def create_opportunity(workspace: Workspace, data: dict) -> Opportunity:
    """Create an opportunity (name, company required, contact, pipeline/stage, value, currency,
    expected close date, owner, description). It enters its stage (the pipeline's first stage if
    none is given), which creates the stage's tasks; logged with the tasks made."""
    _check_values(data)
    company, contact, stage = _resolve_links(workspace, data)
    opportunity = Opportunity(
        workspace_id=workspace.id, name=clean_text(data["name"]), company=company, company_id=company.id,
        contact=contact, contact_id=contact.id if contact else None,
        pipeline_id=stage.pipeline_id, value=data.get("value"),
        currency=clean_text(data.get("currency")) or stage.pipeline.currency or "PLN",
        expected_close_date=data.get("expected_close_date"), owner_name=clean_text(data.get("owner_name")),
        description=clean_text(data.get("description")), status=OpportunityStatus.OPEN,
    )
    session().add(opportunity)
    tasks = _enter_stage(workspace, opportunity, stage, None)
    session().flush()
    changes = diff({}, snapshot(opportunity, OPPORTUNITY_FIELDS))
    changes["stage"] = [None, stage.name]
    result: dict[str, Any] = {"diff": changes}
    if tasks:
        result["tasks_created"] = [task.title for task in tasks]
    record(workspace, "create", "opportunity", opportunity.id, opportunity.name, result)
    return opportunity


def update_opportunity(workspace: Workspace, opportunity: Opportunity, data: dict) -> Opportunity:
    """Change an opportunity. A new stage here is a move (history, stage tasks, a "move" statement);
    a closed opportunity's stage cannot change."""
    merged = {name: getattr(opportunity, name) for name in OPPORTUNITY_FIELDS} | data
    if "stage_id" in data and "pipeline_id" not in data:
        # The stage names its pipeline: choosing another pipeline's stage moves the opportunity there.
        merged.pop("pipeline_id")
    name = _check_values(merged)
    company, contact, stage = _resolve_links(workspace, merged)
    before = snapshot(opportunity, OPPORTUNITY_FIELDS)
    if stage.id != opportunity.stage_id and opportunity.status != OpportunityStatus.OPEN:
        raise SalesError(_l("A closed opportunity stays in its stage: reopen it first."), "stage_id")
    opportunity.name = name
    opportunity.company, opportunity.company_id = company, company.id
    opportunity.contact, opportunity.contact_id = contact, contact.id if contact else None
    opportunity.value = merged.get("value")
    opportunity.currency = clean_text(merged.get("currency")) or opportunity.currency
    opportunity.expected_close_date = merged.get("expected_close_date")
    opportunity.owner_name = clean_text(merged.get("owner_name"))
    opportunity.description = clean_text(merged.get("description"))
    moved_from = opportunity.stage if stage.id != opportunity.stage_id else None
    if moved_from is not None:
        opportunity.pipeline_id = stage.pipeline_id
        tasks = _enter_stage(workspace, opportunity, stage, moved_from)
    session().flush()
    after = snapshot(opportunity, OPPORTUNITY_FIELDS)
    changes = diff(before, after)
    changes.pop("stage_id", None)
    if changes:
        record(workspace, "update", "opportunity", opportunity.id, opportunity.name, {"diff": changes})
    if moved_from is not None:
        _record_move(workspace, opportunity, moved_from, stage, tasks)
    return opportunity


def _record_move(workspace: Workspace, opportunity: Opportunity, from_stage: PipelineStage,
                 to_stage: PipelineStage, tasks: list[Task]) -> None:
    changes: dict[str, Any] = {
        "stage": [from_stage.name, to_stage.name],
        "stage_id": [from_stage.id, to_stage.id],
        "probability": [from_stage.probability, to_stage.probability],
    }
    if from_stage.pipeline_id != to_stage.pipeline_id:
        changes["pipeline_id"] = [from_stage.pipeline_id, to_stage.pipeline_id]
    result: dict[str, Any] = {"diff": changes, "value": plain(opportunity.value)}
    if tasks:
        result["tasks_created"] = [task.title for task in tasks]
    record(workspace, "move", "opportunity", opportunity.id, opportunity.name, result)


def move_opportunity(workspace: Workspace, opportunity: Opportunity, stage: PipelineStage,
                     note: str | None = None) -> list[Task]:
    """Move an open opportunity to another stage of its pipeline (forward or back).

    Entering the stage creates its tasks (returned) with due dates from the stage's schedule;
    the move is kept in the history and logged from→to. Moving into the stage it is already in
    changes nothing.
    """
    if opportunity.status != OpportunityStatus.OPEN:
        raise SalesError(_l("This opportunity is closed (won or lost): reopen it to move it."))
    if stage.workspace_id != workspace.id or stage.pipeline_id != opportunity.pipeline_id:
        raise SalesError(_l("That stage is not in this opportunity's pipeline."), "stage_id")
    if stage.id == opportunity.stage_id:
        return []
    from_stage = opportunity.stage
    tasks = _enter_stage(workspace, opportunity, stage, from_stage, note)
    session().flush()
    _record_move(workspace, opportunity, from_stage, stage, tasks)
    return tasks


def close_opportunity(workspace: Workspace, opportunity: Opportunity, won: bool, reason: str | None) -> Opportunity:
    """Mark an open opportunity won or lost; a reason is required. Kept in the history and logged
    with the verb "won" or "lost"."""
    reason = clean_text(reason)
    if not reason or len(reason) < MIN_REASON_CHARS:
        raise SalesError(_l("Say why the opportunity was won or lost."), "reason")
    if opportunity.status != OpportunityStatus.OPEN:
        raise SalesError(_l("This opportunity is already closed."))
    before = snapshot(opportunity, ("status", "close_reason", "closed_at"))
    closed = now()
    opportunity.status = OpportunityStatus.WON if won else OpportunityStatus.LOST
    opportunity.close_reason = reason
    opportunity.closed_at = closed
    opportunity.history.append(OpportunityStageChange(
        workspace_id=workspace.id, from_stage_id=opportunity.stage_id, from_stage_name=opportunity.stage.name,
        to_stage_id=opportunity.stage_id, to_stage_name=opportunity.stage.name, status=opportunity.status,
        value=opportunity.value, changed_at=closed, actor_name=_actor_name(), note=reason,
    ))
    session().flush()
    result = {"diff": diff(before, snapshot(opportunity, ("status", "close_reason", "closed_at"))),
              "value": plain(opportunity.value), "stage": opportunity.stage.name}
    record(workspace, opportunity.status, "opportunity", opportunity.id, opportunity.name, result)
    return opportunity


def reopen_opportunity(workspace: Workspace, opportunity: Opportunity) -> Opportunity:
    """Reopen a won or lost opportunity (e.g. marked by mistake); logged as an update."""
    if opportunity.status == OpportunityStatus.OPEN:
        raise SalesError(_l("This opportunity is open already."))
    before = snapshot(opportunity, ("status", "close_reason", "closed_at"))
    opportunity.status, opportunity.close_reason, opportunity.closed_at = OpportunityStatus.OPEN, None, None
    opportunity.history.append(OpportunityStageChange(
        workspace_id=workspace.id, from_stage_id=opportunity.stage_id, from_stage_name=opportunity.stage.name,
        to_stage_id=opportunity.stage_id, to_stage_name=opportunity.stage.name, status=OpportunityStatus.OPEN,
        value=opportunity.value, changed_at=now(), actor_name=_actor_name(), note=None,
    ))
    session().flush()
    record(workspace, "update", "opportunity", opportunity.id, opportunity.name,
           {"diff": diff(before, snapshot(opportunity, ("status", "close_reason", "closed_at")))})
    return opportunity


def delete_opportunity(workspace: Workspace, opportunity: Opportunity) -> None:
    """Delete an opportunity with its history and its tasks; logged with its last values."""
    db = session()
    record(workspace, "delete", "opportunity", opportunity.id, opportunity.name,
           {"diff": diff(snapshot(opportunity, (*OPPORTUNITY_FIELDS, "status")), {})})
    for task in db.scalars(select(Task).where(Task.opportunity_id == opportunity.id)):
        db.delete(task)
    db.delete(opportunity)
    db.flush()


def get_opportunity(workspace: Workspace, opportunity_id: int) -> Opportunity | None:
    """The workspace's opportunity with its company, contact, pipeline and stage loaded, or ``None``."""
    return session().scalar(
        scoped(Opportunity, workspace).where(Opportunity.id == opportunity_id)
        .options(joinedload(Opportunity.company), joinedload(Opportunity.contact),
                 joinedload(Opportunity.pipeline), joinedload(Opportunity.stage))
    )


def opportunity_tasks(workspace: Workspace, opportunity: Opportunity) -> list[Task]:
    """The opportunity's tasks, by stage order then due date."""
    return list(session().scalars(
        scoped(Task, workspace).where(Task.opportunity_id == opportunity.id)
        .outerjoin(PipelineStage, PipelineStage.id == Task.stage_id)
        .options(joinedload(Task.stage))
        .order_by(PipelineStage.position.nulls_last(), Task.due_at.nulls_last(), Task.id)
    ))


# --- lists, board and per-stage values -------------------------------------------------------

@dataclass
class OpportunityFilters:
    """What the opportunity list is filtered by (all optional)."""

    pipeline_id: int | None = None
    stage_id: int | None = None
    status: str | None = None
    company_id: int | None = None
    value_min: Decimal | None = None
    value_max: Decimal | None = None
    close_from: date | None = None
    close_to: date | None = None
    query: str | None = None

    def active(self) -> dict:
        """The filters set, JSON-safe (what a "filter" statement records)."""
        return {k: plain(v) for k, v in self.__dict__.items() if v not in (None, "")}


SORTS = {
    "name": (Opportunity.name, Opportunity.id),
    "-value": (Opportunity.value.desc().nulls_last(), Opportunity.id),
    "value": (Opportunity.value.asc().nulls_first(), Opportunity.id),
    "close": (Opportunity.expected_close_date.asc().nulls_last(), Opportunity.id),
    "-created": (Opportunity.id.desc(),),
}


def _filtered(workspace: Workspace, filters: OpportunityFilters) -> Select:
    query = scoped(Opportunity, workspace)
    if filters.pipeline_id:
        query = query.where(Opportunity.pipeline_id == filters.pipeline_id)
    if filters.stage_id:
        query = query.where(Opportunity.stage_id == filters.stage_id)
    if filters.status:
        query = query.where(Opportunity.status == filters.status)
    if filters.company_id:
        query = query.where(Opportunity.company_id == filters.company_id)
    if filters.value_min is not None:
        query = query.where(Opportunity.value >= filters.value_min)
    if filters.value_max is not None:
        query = query.where(Opportunity.value <= filters.value_max)
    if filters.close_from:
        query = query.where(Opportunity.expected_close_date >= filters.close_from)
    if filters.close_to:
        query = query.where(Opportunity.expected_close_date <= filters.close_to)
    if filters.query:
        like = f"%{filters.query.strip().lower()}%"
        query = query.where(unicode_lower(Opportunity.name).like(like))
    return query


def list_opportunities(workspace: Workspace, filters: OpportunityFilters, page: int = 1, per_page: int = 50,
                       sort: str = "close") -> Page:
    """One page of the workspace's opportunities matching ``filters``, with company and stage loaded."""
    query = _filtered(workspace, filters).options(
        joinedload(Opportunity.company), joinedload(Opportunity.stage), joinedload(Opportunity.pipeline)
    ).order_by(*SORTS.get(sort, SORTS["close"]))
    return paginate(query, page, per_page)


def filter_totals(workspace: Workspace, filters: OpportunityFilters) -> dict:
    """Count, value and weighted value of all opportunities matching ``filters`` (in SQL)."""
    subquery = _filtered(workspace, filters).subquery()
    value_sum: ColumnElement[Decimal] = func.coalesce(func.sum(subquery.c.value), 0)
    weighted_sum: ColumnElement[Decimal] = func.coalesce(func.sum(subquery.c.value * PipelineStage.probability), 0)
    count, total, weighted = session().execute(
        select(func.count(), value_sum, weighted_sum)
        .select_from(subquery).join(PipelineStage, PipelineStage.id == subquery.c.stage_id)
    ).one()
    return {"count": count, "value": Decimal(total),
            "weighted": money(Decimal(weighted) / Decimal(100))}


def record_filter(workspace: Workspace, object_type: str, params: dict, count: int) -> None:
    """Log that the user applied a filter to a list (``params``: the filters set; ``count``: rows found)."""
    record(workspace, "filter", object_type, None, None, {"filters": params, "count": count})


@dataclass
class StageSummary:
    """The open opportunities of one stage: how many, their value and their weighted value."""

    stage: PipelineStage
    count: int = 0
    value: Decimal = Decimal("0.00")
    cards: list[Opportunity] = field(default_factory=list)

    @property
    def weighted(self) -> Decimal:
        return weighted_value(self.value, self.stage.probability)

    @property
    def average(self) -> Decimal:
        return money(self.value / self.count) if self.count else Decimal("0.00")


@dataclass
class PipelineSummary:
    """Per-stage values of a pipeline, with totals and the closed (won/lost) opportunities."""

    pipeline: Pipeline
    stages: list[StageSummary]
    closed: dict[str, dict]  # "won"/"lost" -> {"count", "value"}

    @property
    def open_count(self) -> int:
        return sum(s.count for s in self.stages)

    @property
    def open_value(self) -> Decimal:
        return sum((s.value for s in self.stages), Decimal("0.00"))

    @property
    def weighted(self) -> Decimal:
        return sum((s.weighted for s in self.stages), Decimal("0.00"))

    def share(self, row: StageSummary) -> float:
        """The stage's part of the open value, in percent."""
        return round(float(100 * row.value / self.open_value), 1) if self.open_value else 0.0

    @property
    def win_rate(self) -> float | None:
        """Won among closed, in percent (``None`` while nothing is closed)."""
        won, lost = self.closed["won"]["count"], self.closed["lost"]["count"]
        return round(100 * won / (won + lost), 1) if won + lost else None


def pipeline_summary(workspace: Workspace, pipeline: Pipeline, cards_per_stage: int = 0,
                     close_from: date | None = None, close_to: date | None = None) -> PipelineSummary:
    """Count and value of open opportunities per stage of ``pipeline`` (aggregated in SQL), won and
    lost totals, and optionally the first ``cards_per_stage`` open opportunities of each stage, by
    expected close date."""
    db = session()
    conditions = [Opportunity.workspace_id == workspace.id, Opportunity.pipeline_id == pipeline.id]
    if close_from:
        conditions.append(Opportunity.expected_close_date >= close_from)
    if close_to:
        conditions.append(Opportunity.expected_close_date <= close_to)
    summaries = {stage.id: StageSummary(stage=stage) for stage in pipeline.stages}
    value_sum: ColumnElement[Decimal] = func.coalesce(func.sum(Opportunity.value), 0)  # never NULL
    rows = db.execute(
        select(Opportunity.stage_id, func.count(), value_sum)
        .where(*conditions, Opportunity.status == OpportunityStatus.OPEN).group_by(Opportunity.stage_id)
    )
    for stage_id, count, total in rows:
        if stage_id in summaries:
            summaries[stage_id].count, summaries[stage_id].value = count, Decimal(total)
    closed = {"won": {"count": 0, "value": Decimal("0.00")}, "lost": {"count": 0, "value": Decimal("0.00")}}
    for status, count, total in db.execute(
        select(Opportunity.status, func.count(), value_sum)
        .where(*conditions, Opportunity.status.in_((OpportunityStatus.WON, OpportunityStatus.LOST))).group_by(Opportunity.status)
    ):
        closed[status] = {"count": count, "value": Decimal(total)}
    if cards_per_stage:
        # One small query per stage (stages are few), each read in index order and cut at the limit.
        for stage_id, summary in summaries.items():
            if summary.count:
                summary.cards = list(db.scalars(
                    select(Opportunity).where(*conditions, Opportunity.stage_id == stage_id,
                                              Opportunity.status == OpportunityStatus.OPEN)
                    .options(joinedload(Opportunity.company))
                    .order_by(Opportunity.expected_close_date.asc().nulls_last(), Opportunity.id)
                    .limit(cards_per_stage)
                ))
    return PipelineSummary(pipeline=pipeline, stages=[summaries[s.id] for s in pipeline.stages], closed=closed)


def stage_choices(workspace: Workspace) -> list[tuple[Pipeline, list[PipelineStage]]]:
    """Every pipeline with its stages in order (for grouped stage selects)."""
    pipelines = session().scalars(
        scoped(Pipeline, workspace).options(joinedload(Pipeline.stages)).order_by(Pipeline.name, Pipeline.id)
    ).unique()
    return [(pipeline, list(pipeline.stages)) for pipeline in pipelines]


# --- seed ------------------------------------------------------------------------------------

def _seed_date(row: dict, name: str, today: date) -> date | None:
    if row.get(f"{name}_in_days") is not None:
        return today + timedelta(days=int(row[f"{name}_in_days"]))
    return date.fromisoformat(row[name]) if row.get(name) else None


@seeder("opportunities", order=40)
def seed_opportunities(workspace: Workspace, rows: list, context: dict) -> None:
    """Load opportunities: ``{key?, name, company (a company key), contact? (a contact key),
    pipeline (a pipeline key or name; default the first seeded), stage (a stage name; default the
    first), value?, currency?, expected_close_date? | expected_close_date_in_days?, status?
    (open/won/lost), close_reason?, owner_name?, description?}``.

    They enter their stage without creating the stage's tasks (a scenario seeds its tasks itself)
    and nothing is logged. Left in ``context["opportunities"][key]`` for the tasks seeder.
    """
    db = session()
    today = local_today()
    companies = context.get("companies", {})
    contacts = context.get("contacts", {})
    pipelines: dict[str, Pipeline] = context.get("pipelines", {})
    made = context.setdefault("opportunities", {})
    seeded: list[Opportunity] = []
    for row in rows:
        company = companies.get(row["company"])
        if company is None:
            raise SeedError(f"opportunity {row['name']!r}: unknown company key {row['company']!r}")
        pipeline = pipelines.get(row.get("pipeline")) if row.get("pipeline") else next(iter(pipelines.values()), None)
        if pipeline is None:
            raise SeedError(f"opportunity {row['name']!r}: unknown pipeline {row.get('pipeline')!r}")
        stage = next((s for s in pipeline.stages if s.name == row["stage"]), None) if row.get("stage") \
            else first_stage(pipeline)
        if stage is None and row.get("stage"):
            raise SeedError(f"opportunity {row['name']!r}: pipeline {pipeline.name!r} has no stage {row['stage']!r}")
        if stage is None:
            raise SeedError(f"opportunity {row['name']!r}: pipeline {pipeline.name!r} has no stages")
        contact = contacts.get(row["contact"]) if row.get("contact") else None
        status = row.get("status", "open")
        entered = now() - timedelta(days=int(row.get("days_in_stage", 0)))
        opportunity = Opportunity(
            workspace_id=workspace.id, name=row["name"], company=company, contact=contact,
            pipeline=pipeline, stage=stage,
            value=Decimal(str(row["value"])) if row.get("value") is not None else None,
            currency=row.get("currency", pipeline.currency or "PLN"),
            expected_close_date=_seed_date(row, "expected_close_date", today),
            status=status, close_reason=row.get("close_reason"),
            closed_at=entered if status != "open" else None, stage_entered_at=entered,
            owner_name=row.get("owner_name"), description=row.get("description"),
        )
        db.add(opportunity)
        made[row.get("key", row["name"])] = opportunity
        seeded.append(opportunity)
    db.flush()
    for opportunity in seeded:
        db.add(OpportunityStageChange(
            workspace_id=workspace.id, opportunity_id=opportunity.id, to_stage_id=opportunity.stage_id,
            to_stage_name=opportunity.stage.name, status=opportunity.status, value=opportunity.value,
            changed_at=opportunity.stage_entered_at, note=opportunity.close_reason,
        ))
    db.flush()
