"""Factory helpers for the sales tests: build companies, pipelines, opportunities and tasks
through the services, so each test states only what matters to it."""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sandbox_crm import session
from sandbox_crm.models import Company, Contact
from sandbox_crm.models.sales import Opportunity, Pipeline, PipelineStage
from sandbox_crm.services import opportunities as opp_service
from sandbox_crm.services import pipelines as pipeline_service
from sandbox_crm.services.customers import create_company, create_contact


def make_company(workspace, name: str = "Hurtownia Wisła sp. z o.o.") -> Company:
    return create_company(workspace, {"name": name}, log=False)


def make_contact(workspace, company: Company | None, first_name: str = "Anna",
                 last_name: str = "Nowak") -> Contact:
    data = {"first_name": first_name, "last_name": last_name}
    if company is not None:
        data["company_id"] = company.id
    return create_contact(workspace, data, log=False)


DEFAULT_STAGES: Sequence[tuple[str, int, Sequence[dict]]] = (
    ("Qualification", 10, ({"title": "Call the customer", "priority": "high", "due_offset_days": 1},)),
    ("Offer", 50, ({"title": "Send the offer", "priority": "normal", "due_offset_days": 3},
                   {"title": "Follow-up call", "priority": "low", "due_offset_days": 7})),
    ("Negotiation", 80, ()),
)


def make_pipeline(workspace, name: str = "B2B wholesale",
                  stages: Sequence[tuple[str, int, Sequence[dict]]] = DEFAULT_STAGES, **goal) -> Pipeline:
    pipeline = pipeline_service.create_pipeline(workspace, {"name": name, **goal})
    for stage_name, probability, tasks in stages:
        stage = pipeline_service.add_stage(workspace, pipeline, {"name": stage_name, "probability": probability})
        for task in tasks:
            pipeline_service.add_stage_task(workspace, stage, dict(task))
    session().flush()
    return pipeline


def stage_named(pipeline: Pipeline, name: str) -> PipelineStage:
    return next(stage for stage in pipeline.stages if stage.name == name)


def make_opportunity(workspace, company: Company, pipeline: Pipeline, name: str = "Coffee machines",
                     value: str | None = "10000", stage: PipelineStage | None = None, **extra) -> Opportunity:
    data = {"name": name, "company_id": company.id, "pipeline_id": pipeline.id,
            "stage_id": (stage or pipeline.stages[0]).id, "value": Decimal(value) if value is not None else None}
    return opp_service.create_opportunity(workspace, data | extra)


# A small scenario: one hotel customer, a pipeline with two stages and tasks, two opportunities, a task.
SEED = {
    "companies": [{"key": "hotel", "name": "Hotel Pod Wawelem sp. z o.o."}],
    "contacts": [{"key": "anna", "company": "hotel", "first_name": "Anna", "last_name": "Nowak"}],
    "pipelines": [{
        "name": "Hotels B2B", "customer_type": "b2b", "offer_kind": "product", "sales_form": "direct",
        "goal_specific": "Sell coffee machines to ten hotels in Kraków", "goal_metric": "won_count",
        "goal_target": 10, "goal_deadline_in_days": 90,
        "stages": [
            {"name": "Lead", "probability": 10, "tasks": [{"title": "Qualify", "due_offset_days": 2}]},
            {"name": "Offer", "probability": 50, "duration_days": 14,
             "tasks": [{"title": "Send offer", "priority": "high", "due_offset_days": 1}]},
        ],
    }],
    "opportunities": [
        {"key": "o1", "name": "Coffee for Wawel", "company": "hotel", "contact": "anna", "stage": "Offer",
         "value": 48000, "expected_close_date_in_days": 30},
        {"name": "Old deal", "company": "hotel", "status": "won", "close_reason": "Signed", "value": 5000},
    ],
    "tasks": [{"title": "Prepare demo", "opportunity": "o1", "due_in_days": 3, "percent_complete": 30}],
}
