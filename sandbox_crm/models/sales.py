"""Sales: pipelines (funnels) with SMART goals, their stages and stage task templates,
opportunities with their stage history, and tasks."""
from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, WorkspaceScoped, code_enum, one_of, utcnow


class Priority(enum.StrEnum):
    """How pressing a task (or a stage's task template) is."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TaskStatus(enum.StrEnum):
    """Where a task is: open, in progress (begun), done (always 100 %) or cancelled."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class OpportunityStatus(enum.StrEnum):
    """An opportunity is open until won or lost; its history records which of the three it was in."""

    OPEN = "open"
    WON = "won"
    LOST = "lost"


# The stored codes as plain strings, for ``in`` tests on input: ``"x" in TaskStatus`` is
# deprecated (a TypeError for a non-member) before Python 3.12.
PRIORITIES = tuple(p.value for p in Priority)
TASK_STATUSES = tuple(s.value for s in TaskStatus)
OPPORTUNITY_STATUSES = tuple(s.value for s in OpportunityStatus)
GOAL_METRICS = ("revenue", "won_count", "new_customers", "meetings", "offers_sent", "conversion_rate", "average_deal")
CUSTOMER_TYPES = ("b2b", "b2c", "b2g")
OFFER_KINDS = ("product", "service", "mixed")
SALES_FORMS = ("direct", "phone", "online", "partner", "tender")


class SmartGoal:
    """The columns of a SMART goal, shared by pipelines and their stages.

    Specific (what exactly), Measurable (metric and numeric target), Achievable
    (why it is realistic), Relevant (why it matters), Time-bound (deadline).
    """

    goal_specific: Mapped[str | None] = mapped_column(Text)
    goal_metric: Mapped[str | None] = mapped_column(String(40))
    goal_target: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    goal_deadline: Mapped[date | None] = mapped_column(Date)
    goal_achievable: Mapped[str | None] = mapped_column(Text)
    goal_relevance: Mapped[str | None] = mapped_column(Text)


class Pipeline(WorkspaceScoped, SmartGoal, Base):
    """A sales funnel designed for one customer type, kind of offer and form of sale."""

    __tablename__ = "crm_pipeline"

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    customer_type: Mapped[str | None] = mapped_column(String(20))
    offer_kind: Mapped[str | None] = mapped_column(String(20))
    sales_form: Mapped[str | None] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="PLN")

    stages: Mapped[list[PipelineStage]] = relationship(
        back_populates="pipeline", order_by="PipelineStage.position", cascade="all, delete-orphan"
    )


class PipelineStage(WorkspaceScoped, SmartGoal, Base):
    """One stage of a pipeline, in order, with the probability of winning from it."""

    __tablename__ = "crm_pipeline_stage"
    __table_args__ = (
        CheckConstraint("probability >= 0 AND probability <= 100", name="probability_range"),
        CheckConstraint("duration_days IS NULL OR duration_days >= 0", name="duration_nonnegative"),
        Index("ix_crm_pipeline_stage_pipeline_position", "pipeline_id", "position"),
    )

    pipeline_id: Mapped[int] = mapped_column(ForeignKey("crm_pipeline.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    probability: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Planned length of the stage, used to lay the pipeline out on a time axis.
    duration_days: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text)

    pipeline: Mapped[Pipeline] = relationship(back_populates="stages")
    task_templates: Mapped[list[StageTask]] = relationship(
        back_populates="stage", order_by="StageTask.position", cascade="all, delete-orphan"
    )


class StageTask(WorkspaceScoped, Base):
    """A task template of a stage: it becomes a real :class:`Task` when an opportunity enters the stage.

    Its due date is either ``due_offset_days`` after entering the stage or a fixed ``due_date``.
    """

    __tablename__ = "crm_stage_task"
    __table_args__ = (
        CheckConstraint(
            "(due_offset_days IS NULL AND due_date IS NOT NULL) OR (due_offset_days IS NOT NULL AND due_date IS NULL)",
            name="one_due_rule",
        ),
        CheckConstraint("due_offset_days IS NULL OR due_offset_days >= 0", name="offset_nonnegative"),
        one_of("priority", Priority),
    )

    stage_id: Mapped[int] = mapped_column(ForeignKey("crm_pipeline_stage.id", ondelete="CASCADE"), index=True, nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    priority: Mapped[Priority] = mapped_column(code_enum(Priority, 10), nullable=False, default=Priority.NORMAL)
    due_offset_days: Mapped[int | None] = mapped_column(Integer)
    due_date: Mapped[date | None] = mapped_column(Date)

    stage: Mapped[PipelineStage] = relationship(back_populates="task_templates")


class Opportunity(WorkspaceScoped, Base):
    """A sales opportunity with a customer, moving through a pipeline's stages until won or lost."""

    __tablename__ = "crm_opportunity"
    __table_args__ = (
        one_of("status", OpportunityStatus),
        CheckConstraint("value IS NULL OR value >= 0", name="value_nonnegative"),
        # Also serves the board: the first cards of a stage by expected close date, read off the index.
        Index("ix_crm_opportunity_ws_stage", "workspace_id", "stage_id", "status", "expected_close_date"),
        Index("ix_crm_opportunity_ws_status", "workspace_id", "status"),
        Index("ix_crm_opportunity_ws_pipeline_status", "workspace_id", "pipeline_id", "status"),
        Index("ix_crm_opportunity_ws_close_date", "workspace_id", "expected_close_date"),
        Index("ix_crm_opportunity_ws_value", "workspace_id", "value"),
    )

    name: Mapped[str] = mapped_column(String(200), nullable=False)
    company_id: Mapped[int] = mapped_column(ForeignKey("crm_company.id"), index=True, nullable=False)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("crm_contact.id", ondelete="SET NULL"), index=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("crm_pipeline.id"), index=True, nullable=False)
    stage_id: Mapped[int] = mapped_column(ForeignKey("crm_pipeline_stage.id"), index=True, nullable=False)
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="PLN")
    expected_close_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[OpportunityStatus] = mapped_column(
        code_enum(OpportunityStatus, 10), nullable=False, default=OpportunityStatus.OPEN
    )
    close_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stage_entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    owner_name: Mapped[str | None] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)

    company = relationship("Company")
    contact = relationship("Contact")
    pipeline: Mapped[Pipeline] = relationship()
    stage: Mapped[PipelineStage] = relationship()
    history: Mapped[list[OpportunityStageChange]] = relationship(
        back_populates="opportunity",
        order_by="OpportunityStageChange.changed_at, OpportunityStageChange.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class OpportunityStageChange(WorkspaceScoped, Base):
    """One entry of an opportunity's history: entering a stage, or being won or lost.

    Stage names are copied so the history still reads well after a stage is renamed or deleted.
    """

    __tablename__ = "crm_opportunity_stage_change"
    __table_args__ = (one_of("status", OpportunityStatus),)

    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("crm_opportunity.id", ondelete="CASCADE"), index=True, nullable=False
    )
    from_stage_id: Mapped[int | None] = mapped_column(ForeignKey("crm_pipeline_stage.id", ondelete="SET NULL"))
    to_stage_id: Mapped[int | None] = mapped_column(ForeignKey("crm_pipeline_stage.id", ondelete="SET NULL"))
    from_stage_name: Mapped[str | None] = mapped_column(String(120))
    to_stage_name: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[OpportunityStatus] = mapped_column(
        code_enum(OpportunityStatus, 10), nullable=False, default=OpportunityStatus.OPEN
    )
    value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    actor_name: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)

    opportunity: Mapped[Opportunity] = relationship(back_populates="history")


class Task(WorkspaceScoped, Base):
    """Something to do by a date, with a priority and a degree of completion."""

    __tablename__ = "crm_task"
    __table_args__ = (
        CheckConstraint("percent_complete >= 0 AND percent_complete <= 100", name="percent_range"),
        one_of("priority", Priority),
        one_of("status", TaskStatus),
        Index("ix_crm_task_ws_due", "workspace_id", "due_at"),
        Index("ix_crm_task_ws_status", "workspace_id", "status"),
        Index("ix_crm_task_ws_priority", "workspace_id", "priority"),
        Index("ix_crm_task_ws_assignee", "workspace_id", "assignee"),
    )

    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority: Mapped[Priority] = mapped_column(code_enum(Priority, 10), nullable=False, default=Priority.NORMAL)
    status: Mapped[TaskStatus] = mapped_column(code_enum(TaskStatus, 12), nullable=False, default=TaskStatus.OPEN)
    percent_complete: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    assignee: Mapped[str | None] = mapped_column(String(120))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("crm_company.id", ondelete="SET NULL"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("crm_contact.id", ondelete="SET NULL"), index=True)
    opportunity_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_opportunity.id", ondelete="CASCADE"), index=True
    )
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("crm_pipeline_stage.id", ondelete="SET NULL"), index=True)
    stage_task_id: Mapped[int | None] = mapped_column(ForeignKey("crm_stage_task.id", ondelete="SET NULL"), index=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    company = relationship("Company")
    contact = relationship("Contact")
    opportunity: Mapped[Opportunity | None] = relationship()
    stage: Mapped[PipelineStage | None] = relationship()
