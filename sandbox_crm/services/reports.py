"""The report engine (criteria 2.5.a, b, d, e, f).

A report is a configuration (a plain dict, saved as JSON in :class:`SavedReport`):

- ``source``: which data (a registered :class:`DataSource`: opportunities, tasks,
  companies, contacts, offers);
- ``filters``: values for the source's :class:`FilterSpec` entries, and a date
  range on one of its :class:`DateField` entries;
- ``group_by``: one of the source's :class:`Dimension` entries (stage, status,
  industry, region, month, company …);
- ``measure``: one of its :class:`Measure` entries (count, sum of value,
  weighted value, average);
- ``compare``: none, two periods, or two values of a field (segments side by side);
- ``chart``: a registered :class:`ChartKind` (table, bar, line, pie, funnel).

Every figure is aggregated in SQL (one ``GROUP BY`` query per series), never by
looping over rows in Python. Charts are SVG made by pygal on the server, so the
chart on screen (inline SVG) and in the PDF (the same SVG) are identical.
Adding a data source or a chart kind is adding an entry to its registry.
"""
from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pygal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from pygal.style import Style
from sqlalchemy import ColumnElement, Select, and_, exists, func, literal_column, select, true
from sqlalchemy.orm import QueryableAttribute

from ..actionlog import record
from ..host import session
from ..models import (
    Company,
    Contact,
    Offer,
    OfferTemplate,
    Opportunity,
    Pipeline,
    PipelineStage,
    SavedReport,
    Segment,
    Task,
    Workspace,
    WorkspaceScoped,
)
from ..params import parse_id
from ..scoping import scoped
from ..textcase import unicode_lower
from . import pdf as pdf_service
from . import segments as segment_service
from .customers import LEGAL_BASIS_LABELS, REGIONS, SIZE_LABELS
from .offers import STATUS_LABELS as OFFER_STATUS_LABELS
from .offers import format_money

MAX_GROUPS = 200  # groups shown for an ordinary dimension
TOP_GROUPS = 30  # groups shown for a "top N" dimension (company, owner)
CENT = Decimal("0.01")

OPPORTUNITY_STATUS_LABELS = {"open": _l("Open"), "won": _l("Won"), "lost": _l("Lost")}
TASK_STATUS_LABELS = {"open": _l("Open"), "in_progress": _l("In progress"), "done": _l("Done"),
                      "cancelled": _l("Cancelled")}
PRIORITY_LABELS = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")}
YES_NO = {"1": _l("Yes"), "0": _l("No")}


class ReportError(ValueError):
    """A report configuration that cannot run; ``errors`` maps a field to the reason."""

    def __init__(self, errors: dict[str, Any]):
        super().__init__("; ".join(f"{k}: {e}" for k, e in errors.items()))
        self.errors = errors


# --------------------------------------------------------------------------- registry types

# An SQL expression to group or filter by: a mapped column (``Company.name``) or a core
# expression (``func.count(...)``, ``month_of(...)``).
SqlExpression = ColumnElement[Any] | QueryableAttribute[Any]


def month_of(column: Any) -> ColumnElement:
    """``YYYY-MM`` of a date/datetime column, in the dialect of the current database."""
    if session().get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


@dataclass(frozen=True)
class Dimension:
    """What rows are grouped by: an SQL expression, the joins it needs and how groups are ordered."""

    key: str
    label: Any
    expr: Callable[[], SqlExpression]
    joins: tuple[str, ...] = ()
    order: Callable[[], ColumnElement] | None = None  # aggregate ordering groups (e.g. stage position)
    labels: Mapping[str, Any] | None = None  # stored value → shown label
    top: bool = False  # many distinct values: show the largest TOP_GROUPS by the measure


@dataclass(frozen=True)
class Measure:
    """What is computed per group: an SQL aggregate."""

    key: str
    label: Any
    expr: Callable[[], ColumnElement]
    joins: tuple[str, ...] = ()
    money: bool = False


@dataclass(frozen=True)
class FilterSpec:
    """A filter of a source: ``choice`` (exact value, choices from the database) or ``text`` (contains)."""

    key: str
    label: Any
    kind: str  # choice | text
    condition: Callable[[Workspace, str], ColumnElement]
    joins: tuple[str, ...] = ()
    choices: Callable[[Workspace], list[tuple[str, str]]] | None = None
    comparable: bool = True  # may be used to compare two of its values side by side


@dataclass(frozen=True)
class DateField:
    key: str
    label: Any
    column: Callable[[], Any]
    is_datetime: bool


@dataclass(frozen=True)
class DataSource:
    """A kind of record a report can be made of, with its groupings, measures, filters and dates."""

    key: str
    label: Any
    model: type[WorkspaceScoped]
    joins: dict[str, Callable[[Select], Select]]
    dimensions: dict[str, Dimension]
    measures: dict[str, Measure]
    filters: dict[str, FilterSpec]
    date_fields: dict[str, DateField]
    default_group: str
    default_measure: str


DATA_SOURCES: dict[str, DataSource] = {}


def register_source(source: DataSource) -> DataSource:
    """Add a data source to the report builder."""
    DATA_SOURCES[source.key] = source
    return source


def _by_key(*items: Any) -> dict:
    return {item.key: item for item in items}


def _distinct(column: QueryableAttribute[str | None]) -> Callable[[Workspace], list[tuple[str, str]]]:
    """Choices from the distinct non-empty values of ``column`` in the workspace (one SQL query)."""

    def load(workspace: Workspace) -> list[tuple[str, str]]:
        table = column.class_
        rows = session().scalars(select(column).where(table.workspace_id == workspace.id, column.is_not(None),
                                                      column != "").distinct().order_by(column).limit(300))
        return [(str(value), str(value)) for value in rows]

    return load


def _fixed(labels: Mapping[str, Any]) -> Callable[[Workspace], list[tuple[str, str]]]:
    return lambda workspace: [(key, str(label)) for key, label in labels.items()]


def _equals(column: Any) -> Callable[[Workspace, str], ColumnElement]:
    return lambda workspace, value: column == value


def _contains(column: Any) -> Callable[[Workspace, str], ColumnElement]:
    return lambda workspace, value: unicode_lower(column).like(f"%{value.strip().lower()}%")


def _equals_int(column: Any) -> Callable[[Workspace, str], ColumnElement]:
    return lambda workspace, value: column == int(value)


def _segment_choices(workspace: Workspace) -> list[tuple[str, str]]:
    return [(str(segment.id), segment.name) for segment in segment_service.list_segments(workspace)]


def _segment_on_company(company_id_column: Any) -> Callable[[Workspace, str], ColumnElement]:
    """Rows whose company belongs to the segment (a contact segment's company rules are used)."""

    def condition(workspace: Workspace, value: str) -> ColumnElement:
        segment = session().scalar(scoped(Segment, workspace).where(Segment.id == int(value)))
        if segment is None:
            return true()
        rules = {k: v for k, v in (segment.rules or {}).items()
                 if segment.target == "company" or k not in ("tags", "tag_mode", "marketing_consent")}
        conditions = segment_service.company_conditions(workspace, rules)
        # Its own FROM company, even when the report already joins the company (a region filter
        # beside a segment): auto-correlation would otherwise leave the subquery without a table.
        return exists(select(1).where(Company.id == company_id_column, Company.workspace_id == workspace.id,
                                      *conditions).correlate_except(Company))

    return condition


def _segment_on_contact(workspace: Workspace, value: str) -> ColumnElement:
    segment = session().scalar(scoped(Segment, workspace).where(Segment.id == int(value)))
    if segment is None:
        return true()
    build = segment_service.contact_conditions if segment.target == "contact" else None
    if build is None:
        return _segment_on_company(Contact.company_id)(workspace, value)
    return and_(*build(workspace, segment.rules or {}))


def _stage_choices(workspace: Workspace) -> list[tuple[str, str]]:
    rows = session().execute(
        select(PipelineStage.id, PipelineStage.name, Pipeline.name.label("pipeline"))
        .join(Pipeline, Pipeline.id == PipelineStage.pipeline_id)
        .where(PipelineStage.workspace_id == workspace.id).order_by(Pipeline.name, PipelineStage.position))
    return [(str(row.id), f"{row.pipeline}: {row.name}") for row in rows]


def _pipeline_choices(workspace: Workspace) -> list[tuple[str, str]]:
    return [(str(p.id), p.name) for p in session().scalars(scoped(Pipeline, workspace).order_by(Pipeline.name))]


def _template_choices(workspace: Workspace) -> list[tuple[str, str]]:
    return [(str(t.id), t.name) for t in session().scalars(scoped(OfferTemplate, workspace)
                                                           .order_by(OfferTemplate.name))]


# --------------------------------------------------------------------------- data sources

register_source(DataSource(
    key="opportunities", label=_l("Opportunities"), model=Opportunity,
    joins={
        "company": lambda s: s.join(Company, Company.id == Opportunity.company_id),
        "stage": lambda s: s.join(PipelineStage, PipelineStage.id == Opportunity.stage_id),
        "pipeline": lambda s: s.join(Pipeline, Pipeline.id == Opportunity.pipeline_id),
    },
    dimensions=_by_key(
        Dimension("stage", _l("Stage"), lambda: PipelineStage.name, ("stage",),
                  order=lambda: func.min(PipelineStage.position)),
        Dimension("status", _l("Status"), lambda: Opportunity.status, labels=OPPORTUNITY_STATUS_LABELS),
        Dimension("pipeline", _l("Pipeline"), lambda: Pipeline.name, ("pipeline",)),
        Dimension("industry", _l("Industry"), lambda: Company.industry, ("company",)),
        Dimension("region", _l("Region"), lambda: Company.region, ("company",)),
        Dimension("size", _l("Company size"), lambda: Company.size, ("company",), labels=SIZE_LABELS),
        Dimension("month", _l("Month of expected close"), lambda: month_of(Opportunity.expected_close_date)),
        Dimension("created_month", _l("Month created"), lambda: month_of(Opportunity.created_at)),
        Dimension("company", _l("Company"), lambda: Company.name, ("company",), top=True),
        Dimension("owner", _l("Owner"), lambda: Opportunity.owner_name, top=True),
    ),
    measures=_by_key(
        Measure("count", _l("Number of opportunities"), lambda: func.count(Opportunity.id)),
        Measure("sum_value", _l("Total value"), lambda: func.coalesce(func.sum(Opportunity.value), 0), money=True),
        Measure("weighted_value", _l("Weighted value (value × stage probability)"),
                lambda: func.coalesce(func.sum(Opportunity.value * PipelineStage.probability), 0)
                * literal_column("0.01"), ("stage",), money=True),
        Measure("avg_value", _l("Average value"), lambda: func.coalesce(func.avg(Opportunity.value), 0), money=True),
    ),
    filters=_by_key(
        FilterSpec("pipeline", _l("Pipeline"), "choice", _equals_int(Opportunity.pipeline_id),
                   choices=_pipeline_choices),
        FilterSpec("stage", _l("Stage"), "choice", _equals_int(Opportunity.stage_id), choices=_stage_choices),
        FilterSpec("status", _l("Status"), "choice", _equals(Opportunity.status),
                   choices=_fixed(OPPORTUNITY_STATUS_LABELS)),
        FilterSpec("industry", _l("Industry"), "choice", _equals(Company.industry), ("company",),
                   choices=_distinct(Company.industry)),
        FilterSpec("region", _l("Region"), "choice", _equals(Company.region), ("company",),
                   choices=lambda ws: [(r, r) for r in REGIONS]),
        FilterSpec("size", _l("Company size"), "choice", _equals(Company.size), ("company",),
                   choices=_fixed(SIZE_LABELS)),
        FilterSpec("owner", _l("Owner"), "choice", _equals(Opportunity.owner_name),
                   choices=_distinct(Opportunity.owner_name)),
        FilterSpec("segment", _l("Segment"), "choice", _segment_on_company(Opportunity.company_id),
                   choices=_segment_choices),
        FilterSpec("company", _l("Company name contains"), "text", _contains(Company.name), ("company",),
                   comparable=False),
    ),
    date_fields=_by_key(
        DateField("expected_close_date", _l("Expected close date"), lambda: Opportunity.expected_close_date, False),
        DateField("created_at", _l("Created"), lambda: Opportunity.created_at, True),
        DateField("closed_at", _l("Closed (won/lost)"), lambda: Opportunity.closed_at, True),
    ),
    default_group="stage", default_measure="sum_value",
))

register_source(DataSource(
    key="tasks", label=_l("Tasks"), model=Task,
    joins={
        "company": lambda s: s.outerjoin(Company, Company.id == Task.company_id),
        "stage": lambda s: s.outerjoin(PipelineStage, PipelineStage.id == Task.stage_id),
    },
    dimensions=_by_key(
        Dimension("status", _l("Status"), lambda: Task.status, labels=TASK_STATUS_LABELS),
        Dimension("priority", _l("Priority"), lambda: Task.priority, labels=PRIORITY_LABELS),
        Dimension("stage", _l("Stage"), lambda: PipelineStage.name, ("stage",),
                  order=lambda: func.min(PipelineStage.position)),
        Dimension("month", _l("Month due"), lambda: month_of(Task.due_at)),
        Dimension("assignee", _l("Assignee"), lambda: Task.assignee, top=True),
        Dimension("company", _l("Company"), lambda: Company.name, ("company",), top=True),
        Dimension("industry", _l("Industry"), lambda: Company.industry, ("company",)),
    ),
    measures=_by_key(
        Measure("count", _l("Number of tasks"), lambda: func.count(Task.id)),
        Measure("avg_progress", _l("Average completion %"), lambda: func.coalesce(func.avg(Task.percent_complete), 0)),
    ),
    filters=_by_key(
        FilterSpec("status", _l("Status"), "choice", _equals(Task.status), choices=_fixed(TASK_STATUS_LABELS)),
        FilterSpec("priority", _l("Priority"), "choice", _equals(Task.priority), choices=_fixed(PRIORITY_LABELS)),
        FilterSpec("stage", _l("Stage"), "choice", _equals_int(Task.stage_id), choices=_stage_choices),
        FilterSpec("assignee", _l("Assignee"), "choice", _equals(Task.assignee), choices=_distinct(Task.assignee)),
        FilterSpec("industry", _l("Industry"), "choice", _equals(Company.industry), ("company",),
                   choices=_distinct(Company.industry)),
        FilterSpec("segment", _l("Segment"), "choice", _segment_on_company(Task.company_id),
                   choices=_segment_choices),
        FilterSpec("company", _l("Company name contains"), "text", _contains(Company.name), ("company",),
                   comparable=False),
    ),
    date_fields=_by_key(
        DateField("due_at", _l("Due"), lambda: Task.due_at, True),
        DateField("completed_at", _l("Completed"), lambda: Task.completed_at, True),
        DateField("created_at", _l("Created"), lambda: Task.created_at, True),
    ),
    default_group="status", default_measure="count",
))

register_source(DataSource(
    key="companies", label=_l("Companies"), model=Company, joins={},
    dimensions=_by_key(
        Dimension("industry", _l("Industry"), lambda: Company.industry),
        Dimension("region", _l("Region"), lambda: Company.region),
        Dimension("size", _l("Company size"), lambda: Company.size, labels=SIZE_LABELS),
        Dimension("city", _l("City"), lambda: Company.city, top=True),
        Dimension("source", _l("Data source"), lambda: Company.source, top=True),
        Dimension("month", _l("Month created"), lambda: month_of(Company.created_at)),
    ),
    measures=_by_key(
        Measure("count", _l("Number of companies"), lambda: func.count(Company.id)),
        Measure("sum_potential", _l("Total potential value"),
                lambda: func.coalesce(func.sum(Company.potential_value), 0), money=True),
        Measure("avg_potential", _l("Average potential value"),
                lambda: func.coalesce(func.avg(Company.potential_value), 0), money=True),
    ),
    filters=_by_key(
        FilterSpec("industry", _l("Industry"), "choice", _equals(Company.industry), choices=_distinct(Company.industry)),
        FilterSpec("region", _l("Region"), "choice", _equals(Company.region),
                   choices=lambda ws: [(r, r) for r in REGIONS]),
        FilterSpec("size", _l("Company size"), "choice", _equals(Company.size), choices=_fixed(SIZE_LABELS)),
        FilterSpec("source", _l("Data source"), "choice", _equals(Company.source), choices=_distinct(Company.source)),
        FilterSpec("segment", _l("Segment"), "choice", _segment_on_company(Company.id), choices=_segment_choices),
        FilterSpec("name", _l("Name contains"), "text", _contains(Company.name), comparable=False),
    ),
    date_fields=_by_key(DateField("created_at", _l("Created"), lambda: Company.created_at, True)),
    default_group="industry", default_measure="count",
))

register_source(DataSource(
    key="contacts", label=_l("Contacts"), model=Contact,
    joins={"company": lambda s: s.outerjoin(Company, Company.id == Contact.company_id)},
    dimensions=_by_key(
        Dimension("company", _l("Company"), lambda: Company.name, ("company",), top=True),
        Dimension("industry", _l("Industry"), lambda: Company.industry, ("company",)),
        Dimension("legal_basis", _l("Legal basis of processing"), lambda: Contact.legal_basis,
                  labels=LEGAL_BASIS_LABELS),
        Dimension("marketing_consent", _l("Marketing consent"), lambda: Contact.marketing_consent),
        Dimension("source", _l("Data source"), lambda: Contact.source, top=True),
        Dimension("month", _l("Month created"), lambda: month_of(Contact.created_at)),
    ),
    measures=_by_key(Measure("count", _l("Number of contacts"), lambda: func.count(Contact.id))),
    filters=_by_key(
        FilterSpec("legal_basis", _l("Legal basis of processing"), "choice", _equals(Contact.legal_basis),
                   choices=_fixed(LEGAL_BASIS_LABELS)),
        FilterSpec("marketing_consent", _l("Marketing consent"), "choice",
                   lambda ws, value: Contact.marketing_consent.is_(value == "1"), choices=_fixed(YES_NO)),
        FilterSpec("industry", _l("Industry"), "choice", _equals(Company.industry), ("company",),
                   choices=_distinct(Company.industry)),
        FilterSpec("segment", _l("Segment"), "choice", _segment_on_contact, choices=_segment_choices),
        FilterSpec("company", _l("Company name contains"), "text", _contains(Company.name), ("company",),
                   comparable=False),
    ),
    date_fields=_by_key(DateField("created_at", _l("Created"), lambda: Contact.created_at, True)),
    default_group="legal_basis", default_measure="count",
))

register_source(DataSource(
    key="offers", label=_l("Offers"), model=Offer,
    joins={
        "company": lambda s: s.outerjoin(Company, Company.id == Offer.company_id),
        "template": lambda s: s.outerjoin(OfferTemplate, OfferTemplate.id == Offer.template_id),
    },
    dimensions=_by_key(
        Dimension("status", _l("Status"), lambda: Offer.status, labels=OFFER_STATUS_LABELS),
        Dimension("month", _l("Month issued"), lambda: month_of(Offer.issue_date)),
        Dimension("company", _l("Company"), lambda: Company.name, ("company",), top=True),
        Dimension("industry", _l("Industry"), lambda: Company.industry, ("company",)),
        Dimension("template", _l("Template"), lambda: OfferTemplate.name, ("template",)),
    ),
    measures=_by_key(
        Measure("count", _l("Number of offers"), lambda: func.count(Offer.id)),
        Measure("sum_net", _l("Total net value"), lambda: func.coalesce(func.sum(Offer.total_net), 0), money=True),
        Measure("sum_gross", _l("Total gross value"), lambda: func.coalesce(func.sum(Offer.total_gross), 0),
                money=True),
        Measure("avg_gross", _l("Average gross value"), lambda: func.coalesce(func.avg(Offer.total_gross), 0),
                money=True),
    ),
    filters=_by_key(
        FilterSpec("status", _l("Status"), "choice", _equals(Offer.status), choices=_fixed(OFFER_STATUS_LABELS)),
        FilterSpec("template", _l("Template"), "choice", _equals_int(Offer.template_id), choices=_template_choices),
        FilterSpec("industry", _l("Industry"), "choice", _equals(Company.industry), ("company",),
                   choices=_distinct(Company.industry)),
        FilterSpec("segment", _l("Segment"), "choice", _segment_on_company(Offer.company_id),
                   choices=_segment_choices),
        FilterSpec("company", _l("Company name contains"), "text", _contains(Company.name), ("company",),
                   comparable=False),
    ),
    date_fields=_by_key(
        DateField("issue_date", _l("Issue date"), lambda: Offer.issue_date, False),
        DateField("sent_at", _l("Sent"), lambda: Offer.sent_at, True),
    ),
    default_group="status", default_measure="count",
))


# --------------------------------------------------------------------------- configuration

COMPARE_KINDS = {"none": _l("No comparison"), "periods": _l("Two periods"), "values": _l("Two segments / values")}


def _parse_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


# Filters whose values are ids (compared as integers: a value that is not an id is refused).
ID_FILTERS = ("pipeline", "stage", "template", "segment")


def parse_config(args: Mapping[str, Any]) -> dict[str, Any]:
    """Turn the builder's fields (or a saved config, flattened) into a clean configuration.

    Fields: ``source``, ``group_by``, ``measure``, ``chart``, ``date_field``,
    ``date_from``, ``date_to``, ``f_<filter>``, ``compare`` (none | periods |
    values), ``b_from``/``b_to`` (second period), ``cmp_field``/``cmp_a``/``cmp_b``
    (two values of a filter field), ``title``. Raises :class:`ReportError`.
    """
    errors: dict[str, Any] = {}
    source = DATA_SOURCES.get(str(args.get("source") or "opportunities"))
    if source is None:
        raise ReportError({"source": _("Choose what the report is about.")})
    group_by = str(args.get("group_by") or source.default_group)
    if group_by not in source.dimensions:
        errors["group_by"] = _("Choose a grouping available for this data.")
    measure = str(args.get("measure") or source.default_measure)
    if measure not in source.measures:
        errors["measure"] = _("Choose a measure available for this data.")
    chart = str(args.get("chart") or "table")
    if chart not in CHART_KINDS:
        errors["chart"] = _("Choose how to present the data.")
    date_field = str(args.get("date_field") or next(iter(source.date_fields)))
    if date_field not in source.date_fields:
        errors["date_field"] = _("Choose a date field of this data.")
    date_from, date_to = _parse_date(args.get("date_from")), _parse_date(args.get("date_to"))
    for name, raw, parsed in (("date_from", args.get("date_from"), date_from), ("date_to", args.get("date_to"), date_to)):
        if raw not in (None, "") and parsed is None:
            errors[name] = _("Enter a date as YYYY-MM-DD.")
    if date_from and date_to and date_to < date_from:
        errors["date_to"] = _("The end date is before the start date.")
    filters: dict[str, str] = {}
    for key, spec in source.filters.items():
        value = str(args.get(f"f_{key}") or "").strip()
        if not value:
            continue
        if len(value) > 200:
            errors[f"f_{key}"] = _("Too long.")
        elif spec.kind == "choice" and key in ID_FILTERS and parse_id(value) is None:
            errors[f"f_{key}"] = _("Choose a value from the list.")
        else:
            filters[key] = value
    compare: dict[str, Any] = {"kind": str(args.get("compare") or "none")}
    if compare["kind"] not in COMPARE_KINDS:
        errors["compare"] = _("Choose a comparison.")
    elif compare["kind"] == "periods":
        b_from, b_to = _parse_date(args.get("b_from")), _parse_date(args.get("b_to"))
        if not (date_from and date_to):
            errors["date_from"] = _("To compare periods, enter the first period (from and to).")
        if not (b_from and b_to):
            errors["b_from"] = _("Enter the second period (from and to) as YYYY-MM-DD.")
        elif b_to < b_from:
            errors["b_to"] = _("The end date is before the start date.")
        compare.update(b_from=b_from.isoformat() if b_from else None, b_to=b_to.isoformat() if b_to else None)
    elif compare["kind"] == "values":
        cmp_field = str(args.get("cmp_field") or "")
        cmp_spec = source.filters.get(cmp_field)
        cmp_a, cmp_b = str(args.get("cmp_a") or "").strip(), str(args.get("cmp_b") or "").strip()
        if cmp_spec is None or not cmp_spec.comparable:
            errors["cmp_field"] = _("Choose the field whose values are compared.")
        elif cmp_field in filters:
            errors["cmp_field"] = _("Do not filter by the field you compare.")
        if not cmp_a or not cmp_b:
            errors["cmp_a"] = _("Choose the two values to compare.")
        elif cmp_a == cmp_b:
            errors["cmp_b"] = _("Choose two different values.")
        elif cmp_field in ID_FILTERS and (parse_id(cmp_a) is None or parse_id(cmp_b) is None):
            errors["cmp_a"] = _("Choose a value from the list.")
        compare.update(field=cmp_field, a=cmp_a[:200], b=cmp_b[:200])
    title = str(args.get("title") or "").strip()[:200]
    if errors:
        raise ReportError(errors)
    return {
        "source": source.key, "group_by": group_by, "measure": measure, "chart": chart,
        "date_field": date_field, "date_from": date_from.isoformat() if date_from else None,
        "date_to": date_to.isoformat() if date_to else None, "filters": filters, "compare": compare,
        "title": title,
    }


def config_to_args(config: Mapping[str, Any]) -> dict[str, str]:
    """The builder's fields for a configuration (to open a saved report in the builder)."""
    args = {k: str(config[k]) for k in ("source", "group_by", "measure", "chart", "date_field", "date_from",
                                        "date_to", "title") if config.get(k)}
    # The page writes these as objects; anything else (a hand-made post) names no filter or comparison.
    filters = config.get("filters")
    args.update({f"f_{k}": str(v) for k, v in (filters if isinstance(filters, Mapping) else {}).items()})
    compare = config.get("compare")
    compare = compare if isinstance(compare, Mapping) else {}
    if compare.get("kind") and compare["kind"] != "none":
        args["compare"] = compare["kind"]
        for name, arg in (("b_from", "b_from"), ("b_to", "b_to"), ("field", "cmp_field"), ("a", "cmp_a"), ("b", "cmp_b")):
            if compare.get(name):
                args[arg] = str(compare[name])
    return args


# --------------------------------------------------------------------------- running


@dataclass
class ReportRow:
    key: str | None
    label: str
    values: list[Decimal]


@dataclass
class ReportResult:
    """A report's figures: one row per group, one value per series (two when comparing)."""

    config: dict
    title: str
    dimension_label: str
    measure_label: str
    series: list[str]
    rows: list[ReportRow]
    money: bool
    truncated: bool = False
    criteria: list[tuple[str, str]] = field(default_factory=list)

    @property
    def totals(self) -> list[Decimal]:
        if self.config["measure"].startswith("avg"):
            return []
        return [sum((row.values[i] for row in self.rows), Decimal("0")) for i in range(len(self.series))]

    @property
    def comparing(self) -> bool:
        return len(self.series) == 2

    def format(self, value: Decimal) -> str:
        """A figure as shown in the table and the CSV (Polish decimal comma)."""
        if self.money:
            return format_money(value)
        if value == value.to_integral():
            return str(int(value))
        return str(value.quantize(CENT, ROUND_HALF_UP)).replace(".", ",")

    @staticmethod
    def format_percent(percent: Decimal | None) -> str:
        """A change in percent with a decimal comma, or a dash when it cannot be computed."""
        return "—" if percent is None else str(percent).replace(".", ",") + " %"

    def change(self, row: ReportRow) -> tuple[Decimal, Decimal | None]:
        """Difference B − A and the change in percent (``None`` when A is zero)."""
        a, b = row.values[0], row.values[1]
        percent = None if a == 0 else ((b - a) * 100 / a).quantize(Decimal("0.1"), ROUND_HALF_UP)
        return b - a, percent


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _date_conditions(date_field: DateField, date_from: date | None, date_to: date | None) -> list:
    column = date_field.column()
    conditions = []
    if date_field.is_datetime:
        if date_from:
            conditions.append(column >= _day_start(date_from))
        if date_to:
            conditions.append(column < _day_start(date_to + timedelta(days=1)))
    else:
        if date_from:
            conditions.append(column >= date_from)
        if date_to:
            conditions.append(column <= date_to)
    return conditions


def _query_series(workspace: Workspace, source: DataSource, dimension: Dimension, measure: Measure,
                  filters: Mapping[str, str], date_field: DateField, date_from: date | None,
                  date_to: date | None) -> list[tuple[Any, Decimal]]:
    """One ``GROUP BY`` query: (group value, measure) pairs."""
    key = dimension.expr()
    value = measure.expr()
    needed = set(dimension.joins) | set(measure.joins)
    conditions = [source.model.workspace_id == workspace.id]
    for name, raw in filters.items():
        spec = source.filters[name]
        needed |= set(spec.joins)
        conditions.append(spec.condition(workspace, raw))
    conditions += _date_conditions(date_field, date_from, date_to)
    stmt = select(key.label("k"), value.label("v")).select_from(source.model)
    for join_name, add_join in source.joins.items():
        if join_name in needed:
            stmt = add_join(stmt)
    stmt = stmt.where(*conditions).group_by(key)
    if dimension.top:
        stmt = stmt.order_by(value.desc(), key).limit(TOP_GROUPS)
    elif dimension.order is not None:
        stmt = stmt.order_by(dimension.order(), key).limit(MAX_GROUPS + 1)
    else:
        stmt = stmt.order_by(key).limit(MAX_GROUPS + 1)
    return [(row.k, _decimal(row.v)) for row in session().execute(stmt)]


def _decimal(value: Any) -> Decimal:
    if value is None:
        return Decimal("0")
    if isinstance(value, Decimal):
        return value.quantize(CENT, ROUND_HALF_UP) if value != value.to_integral() else value
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(CENT, ROUND_HALF_UP)
    return Decimal(value)


def _label(dimension: Dimension, key: Any) -> str:
    if key is None or key == "":
        return _("(none)")
    if isinstance(key, bool):
        return str(YES_NO["1" if key else "0"])
    if dimension.labels and str(key) in dimension.labels:
        return str(dimension.labels[str(key)])
    return str(key)


def _choice_label(workspace: Workspace, spec: FilterSpec, value: str) -> str:
    if spec.choices is not None:
        for key, label in spec.choices(workspace):
            if key == value:
                return label
    return value


def describe_config(workspace: Workspace, config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The report's criteria in words (shown above the table and printed in the PDF)."""
    source = DATA_SOURCES[config["source"]]
    out = [(_("Data"), str(source.label)),
           (_("Grouped by"), str(source.dimensions[config["group_by"]].label)),
           (_("Measure"), str(source.measures[config["measure"]].label))]
    date_field = source.date_fields[config["date_field"]]
    if config.get("date_from") or config.get("date_to"):
        out.append((str(date_field.label), f"{config.get('date_from') or '…'} – {config.get('date_to') or '…'}"))
    for key, value in (config.get("filters") or {}).items():
        spec = source.filters[key]
        out.append((str(spec.label), _choice_label(workspace, spec, value)))
    compare = config.get("compare") or {}
    if compare.get("kind") == "periods":
        out.append((_("Compared with period"), f"{compare['b_from']} – {compare['b_to']}"))
    elif compare.get("kind") == "values":
        spec = source.filters[compare["field"]]
        out.append((_("Compared"), f"{spec.label}: {_choice_label(workspace, spec, compare['a'])} / "
                                   f"{_choice_label(workspace, spec, compare['b'])}"))
    out.append((_("Presentation"), str(CHART_KINDS[config["chart"]].label)))
    return out


def run_report(workspace: Workspace, config: Mapping[str, Any], *, log: bool = True) -> ReportResult:
    """Compute a report from a clean configuration (see :func:`parse_config`).

    Records ``generate`` with the configuration, and ``filter`` with the filters
    when any filter or date range is set.
    """
    source = DATA_SOURCES[config["source"]]
    dimension = source.dimensions[config["group_by"]]
    measure = source.measures[config["measure"]]
    date_field = source.date_fields[config["date_field"]]
    date_from, date_to = _parse_date(config.get("date_from")), _parse_date(config.get("date_to"))
    filters = dict(config.get("filters") or {})
    compare = config.get("compare") or {"kind": "none"}
    runs: list[tuple[str, dict, date | None, date | None]]
    if compare.get("kind") == "periods":
        runs = [(f"{date_from} – {date_to}", filters, date_from, date_to),
                (f"{compare['b_from']} – {compare['b_to']}", filters, _parse_date(compare["b_from"]),
                 _parse_date(compare["b_to"]))]
    elif compare.get("kind") == "values":
        spec = source.filters[compare["field"]]
        runs = [(_choice_label(workspace, spec, compare[side]), {**filters, compare["field"]: compare[side]},
                 date_from, date_to) for side in ("a", "b")]
    else:
        runs = [(str(measure.label), filters, date_from, date_to)]
    series_values = [dict(_query_series(workspace, source, dimension, measure, run_filters, date_field, start, end))
                     for _name, run_filters, start, end in runs]
    keys: list[Any] = []
    for values in series_values:
        keys.extend(k for k in values if k not in keys)
    truncated = len(keys) > MAX_GROUPS
    rows = [ReportRow(None if k is None else str(k), _label(dimension, k),
                      [values.get(k, Decimal("0")) for values in series_values]) for k in keys[:MAX_GROUPS]]
    clean_config = dict(config)
    result = ReportResult(
        config=clean_config, title=config.get("title") or f"{source.label}: {measure.label} / {dimension.label}",
        dimension_label=str(dimension.label), measure_label=str(measure.label),
        series=[name for name, *_rest in runs], rows=rows, money=measure.money, truncated=truncated,
        criteria=describe_config(workspace, config),
    )
    if log:
        if filters or date_from or date_to:
            record(workspace, "filter", "report", None, result.title,
                   {"source": source.key, "filters": filters, "date_field": date_field.key,
                    "date_from": config.get("date_from"), "date_to": config.get("date_to")})
        record(workspace, "generate", "report", None, result.title, {"config": clean_config, "rows": len(rows)})
    return result


# --------------------------------------------------------------------------- charts


@dataclass(frozen=True)
class ChartKind:
    """A presentation form: ``render`` turns a result into SVG (``None`` for the table alone)."""

    key: str
    label: Any
    hint: Any
    render: Callable[[ReportResult], str | None]


CHART_KINDS: dict[str, ChartKind] = {}


def chart_kind(key: str, label: Any, hint: Any):
    """Decorator registering a chart kind."""

    def decorate(func: Callable[[ReportResult], str | None]):
        CHART_KINDS[key] = ChartKind(key, label, hint, func)
        return func

    return decorate


CHART_STYLE = Style(
    font_family="DejaVu Sans, Liberation Sans, Arial, sans-serif",
    background="white", plot_background="white", foreground="#222", foreground_strong="#111",
    foreground_subtle="#555", colors=("#2f6db5", "#e0822c", "#3a9d5d", "#c23b3b", "#7d57c1", "#8c6d31",
                                      "#d45fa6", "#5f7f8f", "#b3b300", "#2aa7b8"),
    title_font_size=16, label_font_size=11, major_label_font_size=11, legend_font_size=11, value_font_size=10,
)


def _chart_config(result: ReportResult, **extra: Any) -> dict:
    return dict(style=CHART_STYLE, width=800, height=420, js=[], disable_xml_declaration=True,
                explicit_size=True, title=result.title, truncate_label=28, truncate_legend=30,
                print_values=False, show_legend=True, legend_at_bottom=True,
                value_formatter=lambda v: result.format(Decimal(str(v))) if v is not None else "", **extra)


_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL | re.IGNORECASE)


def _svg(chart: Any) -> str:
    """The chart's SVG without pygal's inline configuration script (inline-safe; nothing to run)."""
    return _SCRIPT.sub("", chart.render(is_unicode=True))


def _floats(values: list[Decimal]) -> list[float]:
    return [float(v) for v in values]


def _series_chart(chart_class: type, result: ReportResult) -> str:
    chart = chart_class(**_chart_config(result, x_label_rotation=30 if len(result.rows) > 6 else 0))
    chart.x_labels = [row.label for row in result.rows]
    for index, name in enumerate(result.series):
        chart.add(name, _floats([row.values[index] for row in result.rows]))
    return _svg(chart)


@chart_kind("table", _l("Table"), _l("Exact figures; any data"))
def _table(result: ReportResult) -> str | None:
    return None


@chart_kind("bar", _l("Bar chart"), _l("Compare values between groups or two periods"))
def _bar(result: ReportResult) -> str | None:
    return _series_chart(pygal.Bar, result)


@chart_kind("line", _l("Line chart"), _l("A trend over time (group by month)"))
def _line(result: ReportResult) -> str | None:
    return _series_chart(pygal.Line, result)


@chart_kind("pie", _l("Pie chart"), _l("Shares of a whole (few groups)"))
def _pie(result: ReportResult) -> str | None:
    chart = pygal.Pie(**_chart_config(result, inner_radius=0.0))
    for row in result.rows:
        chart.add(row.label, _floats(row.values))
    return _svg(chart)


@chart_kind("funnel", _l("Funnel"), _l("Opportunities through the sales stages"))
def _funnel(result: ReportResult) -> str | None:
    """A sales funnel: one centred bar per group (in stage order), its width proportional to the value.

    Drawn directly as SVG (pygal's funnel is a different, stacked shape); with a
    comparison the two series stand side by side.
    """
    width, row_height, top = 800, 40, 48
    columns = len(result.series)
    column_width = width / columns
    peak = max((v for row in result.rows for v in row.values), default=Decimal("0")) or Decimal("1")
    colors = CHART_STYLE.colors
    parts = [f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="16">{escape(result.title)}</text>']
    for column, name in enumerate(result.series):
        left = column_width * column
        label_width = column_width * 0.3
        bar_space = column_width - label_width - 12
        centre = left + label_width + bar_space / 2
        if columns > 1:
            parts.append(f'<text x="{centre:.1f}" y="40" text-anchor="middle" font-size="12">{escape(name)}</text>')
        for index, row in enumerate(result.rows):
            value = row.values[column]
            bar = max(float(value / peak) * bar_space, 1.0)
            y = top + index * row_height
            text_y = y + row_height / 2
            parts.append(f'<text x="{left + 4:.1f}" y="{text_y:.1f}" font-size="12" fill="#222">'
                         f'{escape(row.label[:32])}</text>')
            parts.append(f'<rect x="{centre - bar / 2:.1f}" y="{y}" width="{bar:.1f}" height="{row_height - 6}" '
                         f'fill="{colors[index % len(colors)]}"><title>{escape(row.label)}: '
                         f'{escape(result.format(value))}</title></rect>')
            parts.append(f'<text x="{centre:.1f}" y="{text_y:.1f}" text-anchor="middle" font-size="12" '
                         f'font-weight="bold" fill="#111">{escape(result.format(value))}</text>')
    height = top + len(result.rows) * row_height + 10
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="funnel-chart" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="{CHART_STYLE.font_family}" role="img" '
            f'aria-label="{escape(result.title)}"><rect width="100%" height="100%" fill="white"/>'
            + "".join(parts) + "</svg>")


def render_chart(result: ReportResult) -> str | None:
    """The result's chart as SVG text, or ``None`` for a table (or when there is nothing to draw)."""
    if not result.rows:
        return None
    return CHART_KINDS[result.config["chart"]].render(result)


# --------------------------------------------------------------------------- exports

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: Any) -> str:
    """A text cell that a spreadsheet will not run as a formula (``=``, ``+``, ``-``, ``@`` get an apostrophe)."""
    value = "" if text is None else str(text)
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def export_csv(result: ReportResult) -> bytes:
    """The report table as CSV for Excel: UTF-8 with BOM, ``;`` separated, decimal comma, injection-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    header = [result.dimension_label, *result.series]
    if result.comparing:
        header += [_("Difference"), _("Change %")]
    writer.writerow([safe_cell(h) for h in header])
    for row in result.rows:
        cells = [safe_cell(row.label)] + [_plain_number(v) for v in row.values]
        if result.comparing:
            difference, percent = result.change(row)
            cells += [_plain_number(difference), "" if percent is None else _plain_number(percent)]
        writer.writerow(cells)
    if result.totals:
        writer.writerow([safe_cell(_("Total"))] + [_plain_number(v) for v in result.totals])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _plain_number(value: Decimal) -> str:
    # Numbers we computed ourselves: a leading minus is a number, not a formula.
    return str(value).replace(".", ",")


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def report_html(result: ReportResult, svg: str | None) -> str:
    """The printable report (title, criteria, chart, table) as a full HTML document."""
    criteria = Markup("").join(Markup("<tr><th>{}</th><td>{}</td></tr>").format(k, v) for k, v in result.criteria)
    head = [result.dimension_label] + result.series + ([_("Difference"), _("Change %")] if result.comparing else [])
    rows = []
    for row in result.rows:
        cells = [escape(row.label)] + [Markup('<td class="num">{}</td>').format(result.format(v)) for v in row.values]
        if result.comparing:
            difference, percent = result.change(row)
            cells += [Markup('<td class="num">{}</td>').format(result.format(difference)),
                      Markup('<td class="num">{}</td>').format(result.format_percent(percent))]
        rows.append(Markup("<tr><td>{}</td>{}</tr>").format(cells[0], Markup("").join(cells[1:])))
    if result.totals:
        rows.append(Markup('<tr class="totals"><th>{}</th>{}</tr>').format(
            _("Total"), Markup("").join(Markup('<td class="num">{}</td>').format(result.format(v))
                                        for v in result.totals)))
    chart = Markup('<p><img src="{}" alt="{}" style="width:100%"></p>').format(svg_data_uri(svg), result.title) \
        if svg else Markup("")
    body = Markup(
        "<h1>{title}</h1><table class=\"criteria\">{criteria}</table>{chart}"
        "<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    ).format(title=result.title, criteria=criteria, chart=chart,
             head=Markup("").join(Markup("<th>{}</th>").format(h) for h in head), rows=Markup("").join(rows))
    if not result.rows:
        body += Markup("<p>{}</p>").format(_("No data matches these criteria."))
    return (f'<!doctype html><html lang="pl"><head><meta charset="utf-8"><title>{escape(result.title)}</title>'
            f"</head><body>{body}</body></html>")


def export_pdf(result: ReportResult) -> bytes:
    """The report as an A4 PDF: title, criteria, chart (the same SVG as on screen) and table."""
    return pdf_service.html_to_pdf(report_html(result, render_chart(result)),
                                   extra_css="table.criteria th { width: 35%; background: #f5f5f5; }")


def record_export(workspace: Workspace, result: ReportResult, fmt: str) -> None:
    """Record that a report was exported (csv / pdf / print) with its configuration."""
    record(workspace, "export", "report", None, result.title, {"format": fmt, "config": result.config,
                                                                "rows": len(result.rows)})


# --------------------------------------------------------------------------- saved reports


def save_report(workspace: Workspace, name: str | None, config: Mapping[str, Any], description: str = "") -> SavedReport:
    """Save (or overwrite, by name) a report configuration; records create or update."""
    name = (name or "").strip()
    if not name:
        raise ReportError({"name": _("Enter a name for the report.")})
    if len(name) > 150:
        raise ReportError({"name": _("The name may have at most 150 characters.")})
    clean = parse_config(config_to_args(config))
    existing = session().scalar(scoped(SavedReport, workspace).where(SavedReport.name == name))
    if existing is not None:
        before = existing.config
        existing.config = clean
        existing.description = description.strip() or existing.description
        session().flush()
        record(workspace, "update", "saved_report", existing.id, name, {"diff": {"config": [before, clean]}})
        return existing
    report = SavedReport(workspace_id=workspace.id, name=name, description=description.strip() or None, config=clean)
    session().add(report)
    session().flush()
    record(workspace, "create", "saved_report", report.id, name, {"config": clean})
    return report


def delete_saved_report(workspace: Workspace, report: SavedReport) -> None:
    """Delete a saved report."""
    record(workspace, "delete", "saved_report", report.id, report.name, {"config": report.config})
    session().delete(report)
    session().flush()


def list_saved_reports(workspace: Workspace) -> list[SavedReport]:
    """Saved reports of the workspace, by name."""
    return list(session().scalars(scoped(SavedReport, workspace).order_by(SavedReport.name)))


def filter_choices(workspace: Workspace, source_key: str) -> dict[str, list[tuple[str, str]]]:
    """For each choice filter of a source, its choices (each loaded by one SQL query)."""
    source = DATA_SOURCES[source_key]
    return {key: spec.choices(workspace) for key, spec in source.filters.items()
            if spec.kind == "choice" and spec.choices is not None}
