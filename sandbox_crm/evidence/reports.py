"""Evidence checks of 2.5.a, b, d, e, f: reports — data chosen, filtered, compared, presented,
generated and exported. Reports are seen through the ``generate``/``filter``/``export`` statements
of the report builder (each holds the report's configuration) and saved reports.

Where the scenario's key describes the report the sheet asks for (``report``: its data, groupings,
filters, comparison, the presentation forms and file formats the sheet allows, and what it is
for), every check judges the candidate's reports of that data against it; exploring other
settings on the way does not count against the candidate, a delivered report that misses the
sheet's criteria does. Without it, the checks judge by each criterion's own meaning.
"""
from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from flask_babel import lazy_gettext as _l

from ..models import ActionStatement, OfferTemplate, Pipeline, PipelineStage, SavedReport, Segment, Workspace
from ..models.base import WorkspaceScoped
from ..services.reports import CHART_KINDS, DATA_SOURCES, ID_FILTERS
from .base import CheckResult, EvidenceRow, Verdict, check
from .common import (
    candidate_statements,
    details_of,
    existing,
    ids_of,
    record_row,
    result,
    statement_day,
    statement_row,
)
from .key import ScenarioKey, target_kind
from .matching import logged_rows, same_words
from .wording import joined

# What the builder runs when nothing is chosen: the data, grouping and measure a candidate
# gets without choosing anything.
DEFAULT_SOURCE = "opportunities"
DEFAULT_CHART = "table"
# The forms a key may allow: "chart" stands for every chart kind.
ANY_CHART = "chart"
EXPORT_FORMATS = ("pdf", "csv", "print")
PERIODS = ("current_month", "previous_month")
TIME_GROUPS = ("month", "created_month")
# A grouping the builder has no dimension for: segments are compared (two side by side) or
# filtered one at a time.
SEGMENT = "segment"


# --- the key's target -----------------------------------------------------------------------------

def _spec_problem(spec: object) -> str | None:
    if not isinstance(spec, Mapping):
        return "expected a mapping describing the report"
    allowed = {"purpose", "source", "measures", "groupings", "filters", "comparisons", "forms", "formats"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        return f"unknown key(s) {', '.join(unknown)} (expected: {', '.join(sorted(allowed))})"
    source = DATA_SOURCES.get(str(spec.get("source")))
    if source is None:
        return f"source: expected one of {', '.join(DATA_SOURCES)}"
    if "purpose" in spec and not (isinstance(spec["purpose"], str) and spec["purpose"].strip()):
        return "purpose: expected a text (what the report is for, for assessors)"
    for part, known in (("measures", set(source.measures)), ("groupings", set(source.dimensions) | {SEGMENT})):
        groups = spec.get(part, [])
        if not isinstance(groups, list) or not all(isinstance(g, list) and g for g in groups):
            return f"{part}: expected a list of alternatives, each a list (e.g. [[sum_value, weighted_value]])"
        bad = sorted({str(v) for g in groups for v in g} - known)
        if bad:
            return f"{part}: unknown for {source.key}: {', '.join(bad)} (known: {', '.join(sorted(known))})"
    filters = spec.get("filters", {})
    if not isinstance(filters, Mapping) or not all(isinstance(v, str) and v.strip() for v in filters.values()):
        return "filters: expected a mapping of filter → value (a segment, pipeline or stage by its name)"
    bad = sorted(set(filters) - set(source.filters))
    if bad:
        return f"filters: unknown for {source.key}: {', '.join(bad)}"
    comparisons = spec.get("comparisons", [])
    if not isinstance(comparisons, list):
        return "comparisons: expected a list of accepted comparisons"
    for comparison in comparisons:
        problem = _comparison_problem(comparison, set(source.filters))
        if problem:
            return f"comparisons: {problem}"
    forms = spec.get("forms", [])
    if not isinstance(forms, list) or set(forms) - set(CHART_KINDS) - {ANY_CHART}:
        return f"forms: expected a list of: {ANY_CHART}, {', '.join(CHART_KINDS)}"
    formats = spec.get("formats", [])
    if not isinstance(formats, list) or set(formats) - set(EXPORT_FORMATS):
        return f"formats: expected a list of: {', '.join(EXPORT_FORMATS)}"
    return None


def _comparison_problem(comparison: object, fields: set[str]) -> str | None:
    if not isinstance(comparison, Mapping):
        return "expected {field: …, values: [a, b]} or {periods: [current_month, previous_month]}"
    if set(comparison) == {"periods"}:
        periods = comparison["periods"]
        if not isinstance(periods, list) or sorted(periods) != sorted(PERIODS):
            return f"periods: expected [{', '.join(PERIODS)}]"
        return None
    if set(comparison) != {"field", "values"} or comparison["field"] not in fields:
        return f"expected {{field: one of {', '.join(sorted(fields))}, values: [a, b]}}"
    values = comparison["values"]
    if not isinstance(values, list) or len(values) != 2 or not all(isinstance(v, str) and v.strip() for v in values):
        return "values: expected the two values compared"
    return None


def _report_problem(value: object) -> str | None:
    specs = value if isinstance(value, list) else [value]
    if not specs:
        return "expected a report description, or a list of them"
    for index, spec in enumerate(specs):
        problem = _spec_problem(spec)
        if problem:
            return problem if len(specs) == 1 else f"[{index}]: {problem}"
    return None


REPORT = target_kind(
    "report",
    "the report the sheet asks for (or a list of them), each {purpose: what it is for (for assessors), "
    "source: opportunities|tasks|companies|contacts|offers, measures: [[alternatives], …] each group to be "
    "shown, groupings: [[stage], [segment, size]] each group to be shown (by grouping, or a comparison "
    "of two values; 'segment': two segments compared or filtered one at a time), filters: {region: "
    "śląskie, segment: name} the sheet's criteria, comparisons: accepted ways of the comparison it asks "
    "for ({field: status, values: [won, lost]} or {periods: [current_month, previous_month]}), forms: "
    "the presentation forms it allows (table, chart = any chart, or chart kinds), formats: the file "
    "formats it allows (pdf, csv, print)}.",
    _report_problem)


@dataclass(frozen=True)
class ReportSpec:
    """A report the sheet asks for, as the key describes it."""

    source: str
    measures: tuple[frozenset[str], ...]
    groupings: tuple[frozenset[str], ...]
    filters: Mapping[str, str]
    comparisons: tuple[Mapping[str, Any], ...]
    forms: frozenset[str]
    formats: frozenset[str]

    @property
    def label(self) -> Any:
        return DATA_SOURCES[self.source].label

    def fits(self, config: Mapping[str, Any]) -> bool:
        """Whether a report shows this data: the source, and a measure the sheet asks for."""
        measures = set().union(*self.measures) if self.measures else None
        return config.get("source") == self.source and (measures is None or config.get("measure") in measures)


def _specs(key: ScenarioKey) -> list[ReportSpec]:
    specs = []
    for value in key.values(REPORT):
        for spec in value if isinstance(value, list) else [value]:
            forms = set(spec.get("forms") or CHART_KINDS)
            if ANY_CHART in forms:
                forms = (forms - {ANY_CHART}) | (set(CHART_KINDS) - {DEFAULT_CHART})
            specs.append(ReportSpec(
                source=spec["source"], measures=tuple(frozenset(g) for g in spec.get("measures") or []),
                groupings=tuple(frozenset(g) for g in spec.get("groupings") or []),
                filters=dict(spec.get("filters") or {}), comparisons=tuple(spec.get("comparisons") or []),
                forms=frozenset(forms), formats=frozenset(spec.get("formats") or EXPORT_FORMATS)))
    return specs


# --- the candidate's reports ----------------------------------------------------------------------

@dataclass(frozen=True)
class Report:
    """A report the candidate ran (``generate``) or exported (``export``, with its format)."""

    statement: ActionStatement
    config: Mapping[str, Any]

    @property
    def exported(self) -> str | None:
        return str(details_of(self.statement).get("format")) if self.statement.verb == "export" else None

    @property
    def rows(self) -> int | None:
        rows = details_of(self.statement).get("rows")
        return rows if isinstance(rows, int) else None

    @property
    def compare(self) -> Mapping[str, Any]:
        compare = self.config.get("compare")
        return compare if isinstance(compare, Mapping) else {"kind": "none"}

    @property
    def filters(self) -> Mapping[str, str]:
        filters = self.config.get("filters")
        return filters if isinstance(filters, Mapping) else {}


def _config(statement: ActionStatement) -> dict[str, Any]:
    config = details_of(statement).get("config")
    return config if isinstance(config, dict) else {}


def _reports(workspace: Workspace, verbs: Iterable[str] = ("generate", "export")) -> list[Report]:
    return [Report(s, _config(s)) for s in candidate_statements(workspace, list(verbs), ["report"])]


def _describe(workspace: Workspace, config: Mapping[str, Any]) -> Any:
    """A report's settings in words: its data, measure, grouping, filters, comparison and form."""
    source = DATA_SOURCES.get(str(config.get("source", "")))
    if source is None:
        return str(config.get("source"))
    group = source.dimensions.get(str(config.get("group_by", "")))
    measure = source.measures.get(str(config.get("measure", "")))
    chart = CHART_KINDS.get(str(config.get("chart", "")))
    filters = config.get("filters") or {}
    compare = config.get("compare") or {}
    parts: list[Any] = [_l("%(data)s: %(measure)s by %(group)s", data=source.label,
                           measure=measure.label if measure else "?", group=group.label if group else "?")]
    if filters:
        parts.append(_l("filtered by %(filters)s", filters=joined(
            _l("%(field)s = %(value)s", field=source.filters[k].label if k in source.filters else k,
               value=_value_name(workspace, k, v)) for k, v in filters.items())))
    if config.get("date_from") or config.get("date_to"):
        parts.append(_l("dates %(start)s – %(end)s", start=config.get("date_from") or "…",
                        end=config.get("date_to") or "…"))
    if compare.get("kind") == "values":
        spec = source.filters.get(str(compare.get("field")))
        parts.append(_l("comparing %(field)s: %(a)s / %(b)s", field=spec.label if spec else compare.get("field"),
                        a=_value_name(workspace, str(compare.get("field")), compare.get("a")),
                        b=_value_name(workspace, str(compare.get("field")), compare.get("b"))))
    elif compare.get("kind") == "periods":
        parts.append(_l("compared with %(start)s – %(end)s", start=compare.get("b_from"), end=compare.get("b_to")))
    parts.append(_l("as %(form)s", form=chart.label if chart else "?"))
    return joined(parts, "; ")


def _report_rows(workspace: Workspace, reports: Iterable[Report], note: Callable[[Report], Any] | None = None
                 ) -> list[EvidenceRow]:
    rows = []
    for report in reports:
        described = _describe(workspace, report.config)
        label = (_l("Report exported (%(format)s): %(report)s", format=report.exported, report=described)
                 if report.exported else _l("Report generated: %(report)s", report=described))
        if note is not None and note(report) is not None:
            label = _l("%(report)s — %(note)s", report=label, note=note(report))
        rows.append(statement_row(workspace, report.statement, label))
    return rows


def _is_default(config: Mapping[str, Any]) -> bool:
    source = DATA_SOURCES.get(str(config.get("source", "")))
    return (source is not None and source.key == DEFAULT_SOURCE and config.get("group_by") == source.default_group
            and config.get("measure") == source.default_measure and not config.get("filters")
            and not config.get("date_from") and not config.get("date_to")
            and (config.get("compare") or {}).get("kind", "none") == "none")


# Filters whose values are ids of records named in the key by their names.
NAMED_FILTERS: dict[str, type[WorkspaceScoped]] = {
    "segment": Segment, "pipeline": Pipeline, "stage": PipelineStage, "template": OfferTemplate,
}


def _named_record(workspace: Workspace, field: str, value: object) -> object | None:
    """The segment, pipeline or stage a filter value names by its id (None for other fields and values)."""
    model = NAMED_FILTERS.get(field)
    if model is None or field not in ID_FILTERS:
        return None
    try:
        ids = [int(str(value))]
    except ValueError:
        return None
    found = existing(workspace, model, ids)
    return found[0] if found else None


def _value_matches(workspace: Workspace, field: str, value: object, expected: str) -> bool:
    """Whether a filter or comparison value is the one the key names (a record by its name)."""
    if same_words(value, expected):
        return True
    record = _named_record(workspace, field, value)
    return record is not None and same_words(getattr(record, "name", None), expected)


def _value_name(workspace: Workspace, field: str, value: object) -> object:
    """A filter's value as a person reads it: a segment, pipeline or stage by its name."""
    record = _named_record(workspace, field, value)
    return getattr(record, "name", value) if record is not None else value


class State(str, Enum):
    """How a report the sheet asks for stands in the candidate's work."""

    MET = "met"
    PARTIAL = "partial"
    WRONG = "wrong"
    NONE = "none"


def _overall(states: list[State]) -> Verdict | None:
    """All met: met; one wrong: not met; some done: can't tell; nothing of it: ``None``."""
    if states and all(s is State.MET for s in states):
        return Verdict.MET
    if State.WRONG in states:
        return Verdict.NOT_MET
    if any(s in (State.MET, State.PARTIAL) for s in states):
        return Verdict.CANT_TELL
    return None


def _fitting(spec: ReportSpec, reports: Iterable[Report]) -> list[Report]:
    return [r for r in reports if spec.fits(r.config)]


def _specs_summary(specs: list[ReportSpec], states: list[State], state: State) -> Any:
    return joined(s.label for s, st in zip(specs, states, strict=True) if st is state)


# --- 2.5.a ----------------------------------------------------------------------------------------

def _covers(reports: list[Report], group: frozenset[str]) -> bool:
    """Whether the reports show the data by one of ``group``'s alternatives: grouped by it,
    comparing two of its values, or filtered one at a time on two of its values."""
    for report in reports:
        if report.config.get("group_by") in group:
            return True
        if report.compare.get("kind") == "values" and report.compare.get("field") in group:
            return True
    for name in group:
        if len({r.filters[name] for r in reports if name in r.filters}) >= 2:
            return True
    return False


@check("2.5.a")
def report_data_chosen(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """With the key's ``report``: met when the candidate's reports of the data the sheet asks for
    (its source and measure) show every measure and grouping it asks for (by grouping, a
    comparison of two values, or one report per value); can't tell when some are missing; not met
    when the candidate's reports are all of other data.

    Without it: met when the candidate generated a report with data of their choosing (a source,
    grouping or measure other than the builder's starting ones, or filters, dates or a
    comparison); only the starting settings: can't tell; no report: not met.
    """
    specs = _specs(key)
    generated = _reports(workspace)
    if specs:
        states: list[State] = []
        rows: list[EvidenceRow] = []
        for spec in specs:
            fitting = _fitting(spec, generated)
            covered = bool(fitting) and all(_covers(fitting, g) for g in spec.groupings)
            measures_shown = all(any(r.config.get("measure") in g for r in fitting) for g in spec.measures)
            states.append(State.MET if covered and measures_shown else State.PARTIAL if fitting else State.NONE)
            rows.extend(_report_rows(workspace, fitting))
        verdict = _overall(states)
        if verdict is Verdict.MET:
            return result("2.5.a", verdict, _l("The candidate's reports show the data the sheet asks for: %(data)s.",
                                               data=_specs_summary(specs, states, State.MET)), rows)
        if verdict is Verdict.CANT_TELL:
            return result("2.5.a", verdict,
                          _l("The candidate reported on the data the sheet asks for, but not every measure or "
                             "grouping it names is shown (%(data)s).", data=joined(s.label for s, st in zip(specs, states, strict=True)
                                           if st is not State.MET)), rows)
        if generated:
            return result("2.5.a", Verdict.NOT_MET,
                          _l("The candidate's reports are of other data than the sheet asks for."),
                          _report_rows(workspace, generated))
        return result("2.5.a", Verdict.NOT_MET, _l("The candidate generated no report."))
    ran = [r for r in generated if r.statement.verb == "generate"]
    chosen = [r for r in ran if not _is_default(r.config)]
    if chosen:
        return result("2.5.a", Verdict.MET,
                      _l("The candidate chose the data of %(count)d report(s): %(reports)s.", count=len(chosen),
                         reports=joined([_describe(workspace, r.config) for r in chosen][:3], " | ")),
                      _report_rows(workspace, chosen))
    if ran:
        return result("2.5.a", Verdict.CANT_TELL,
                      _l("The candidate generated reports only with the builder's starting settings."),
                      _report_rows(workspace, ran))
    return result("2.5.a", Verdict.NOT_MET, _l("The candidate generated no report."))


# --- 2.5.b ----------------------------------------------------------------------------------------

LIST_FILTERS = ("company", "contact", "task", "opportunity", "board")
# Settings a list records beside its filters that filter nothing.
NOT_FILTERS = ("sort", "page")


def _list_filters(statement: ActionStatement) -> dict[str, Any]:
    filters = details_of(statement).get("filters")
    return {k: v for k, v in filters.items() if k not in NOT_FILTERS} if isinstance(filters, dict) else {}


def _meaningful_list(statement: ActionStatement) -> bool:
    """A list filter that selects something: a criterion set, and rows found."""
    count = details_of(statement).get("count")
    return bool(_list_filters(statement)) and isinstance(count, int) and count > 0


def _meaningful_report(report: Report) -> bool:
    """A report filtered (criteria or dates) that still has rows to show."""
    filtered = bool(report.filters) or bool(report.config.get("date_from") or report.config.get("date_to"))
    return filtered and (report.rows is None or report.rows > 0)


@check("2.5.b")
def data_filtered(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """With the key's ``report`` filters: met when a report of the data the sheet asks for carries
    every filter it gives, with its value (a segment or pipeline compared by name); not met when
    the candidate filtered that data by the sheet's field with another value, or only by other
    criteria; can't tell when the sheet's criterion was applied to a list rather than the report.

    Without filters in the key: met when the candidate filtered data so that something meaningful
    is selected — a report with filters or dates that still has rows, or a list filtered by a
    criterion that found rows; filters that found nothing (a search for "zzz"): not met.
    """
    specs = [s for s in _specs(key) if s.filters]
    reports = _reports(workspace)
    lists = candidate_statements(workspace, ["filter"], LIST_FILTERS)
    if specs:
        return _filters_against_key(workspace, specs, reports, lists)
    meaningful = [r for r in reports if _meaningful_report(r)]
    useful_lists = [s for s in lists if _meaningful_list(s)]
    if meaningful or useful_lists:
        return result("2.5.b", Verdict.MET,
                      _l("The candidate filtered reports %(reports)d time(s) and lists %(lists)d time(s), and the "
                         "filters selected data.", reports=len(meaningful), lists=len(useful_lists)),
                      _report_rows(workspace, meaningful), logged_rows(workspace, useful_lists))
    tried = [r for r in reports if r.filters or r.config.get("date_from") or r.config.get("date_to")]
    if tried or lists:
        return result("2.5.b", Verdict.NOT_MET,
                      _l("The candidate's filters found no data (or set no criterion)."),
                      _report_rows(workspace, tried), logged_rows(workspace, lists))
    return result("2.5.b", Verdict.NOT_MET, _l("The candidate filtered no data."))


def _filters_against_key(workspace: Workspace, specs: list[ReportSpec], reports: list[Report],
                         lists: list[ActionStatement]) -> CheckResult:
    states: list[State] = []
    rows: list[EvidenceRow] = []
    for spec in specs:
        fitting = _fitting(spec, reports)

        def right(filters: Mapping[str, Any], spec: ReportSpec = spec) -> bool:
            return all(name in filters and _value_matches(workspace, name, filters[name], value)
                       for name, value in spec.filters.items())

        def wrong(filters: Mapping[str, Any], spec: ReportSpec = spec) -> bool:
            return any(name in filters and not _value_matches(workspace, name, filters[name], value)
                       for name, value in spec.filters.items())

        good = [r for r in fitting if right(r.filters)]
        bad = [r for r in fitting if wrong(r.filters)]
        listed = [s for s in lists if right(_list_filters(s))]
        if good:
            states.append(State.MET)
            rows.extend(_report_rows(workspace, good))
        elif bad:
            states.append(State.WRONG)
            rows.extend(_report_rows(workspace, bad, lambda r: _l("another value than the sheet's")))
        elif listed:
            states.append(State.PARTIAL)
            rows.extend(logged_rows(workspace, listed))
        else:
            states.append(State.NONE)
    verdict = _overall(states)
    wanted = joined(_l("%(field)s = %(value)s", field=DATA_SOURCES[s.source].filters[n].label, value=v)
                    for s in specs for n, v in s.filters.items())
    if verdict is Verdict.MET:
        return result("2.5.b", verdict, _l("The candidate filtered the report by the sheet's criteria: %(filters)s.",
                                           filters=wanted), rows)
    if verdict is Verdict.NOT_MET:
        return result("2.5.b", verdict,
                      _l("The candidate filtered the report by other values than the sheet's criteria (%(filters)s).",
                         filters=wanted), rows)
    if verdict is Verdict.CANT_TELL:
        return result("2.5.b", verdict,
                      _l("The candidate applied only part of the sheet's criteria to the report, or applied them to "
                         "a list (%(filters)s).", filters=wanted), rows)
    tried = [r for r in reports if r.filters or r.config.get("date_from") or r.config.get("date_to")]
    if tried or lists:
        return result("2.5.b", Verdict.NOT_MET,
                      _l("The candidate filtered data, but not by the sheet's criteria (%(filters)s).", filters=wanted),
                      _report_rows(workspace, tried), logged_rows(workspace, lists))
    return result("2.5.b", Verdict.NOT_MET, _l("The candidate filtered no data."))


# --- 2.5.d ----------------------------------------------------------------------------------------

def _month(day: date, back: int = 0) -> tuple[date, date]:
    """The first and last day of the month ``back`` months before ``day``'s."""
    year, month = day.year, day.month - back
    while month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _within(period: tuple[date | None, date | None], month: tuple[date, date]) -> bool:
    start, end = period
    return start == month[0] and end is not None and month[0] <= end <= month[1]


def _iso(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _compares(workspace: Workspace, report: Report, comparison: Mapping[str, Any], fitting: list[Report]) -> bool:
    """Whether ``report`` makes the comparison the key accepts."""
    compare = report.compare
    if "periods" in comparison:
        current, previous = _month(statement_day(report.statement)), _month(statement_day(report.statement), 1)
        if compare.get("kind") == "periods":
            first = (_iso(report.config.get("date_from")), _iso(report.config.get("date_to")))
            second = (_iso(compare.get("b_from")), _iso(compare.get("b_to")))
            return ((_within(first, current) and _within(second, previous))
                    or (_within(first, previous) and _within(second, current)))
        if report.config.get("group_by") in TIME_GROUPS:
            start, end = _iso(report.config.get("date_from")), _iso(report.config.get("date_to"))
            return (start is None or start <= previous[0]) and (end is None or end >= current[0])
        return False
    field, values = comparison["field"], comparison["values"]
    if compare.get("kind") == "values" and compare.get("field") == field:
        pairs = [(compare.get("a"), compare.get("b")), (compare.get("b"), compare.get("a"))]
        return any(_value_matches(workspace, field, a, values[0]) and _value_matches(workspace, field, b, values[1])
                   for a, b in pairs)
    if report.config.get("group_by") == field and field not in report.filters:
        return True
    if field in report.filters:
        # One report per value: this one and another of the same data for the other value.
        mine = next((v for v in values if _value_matches(workspace, field, report.filters[field], v)), None)
        other = next((v for v in values if v != mine), None)
        return mine is not None and other is not None and any(
            field in r.filters and _value_matches(workspace, field, r.filters[field], other) for r in fitting)
    return False


@check("2.5.d")
def comparisons_made(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """With the key's ``report`` comparisons: met when a report of the data the sheet asks for
    makes a comparison the key accepts (two values side by side — e.g. won against lost — or the
    data grouped by that field, or one report per value; this month against the previous one, or
    grouped by month over both); not met when the candidate compared that data by something
    else only; can't tell when they made summaries of it without the comparison.

    Without it: met when the candidate generated a report comparing two periods or two
    segments/values side by side; only grouped summaries: can't tell; no report: not met.
    """
    specs = [s for s in _specs(key) if s.comparisons]
    generated = _reports(workspace)
    if specs:
        states: list[State] = []
        rows: list[EvidenceRow] = []
        for spec in specs:
            fitting = _fitting(spec, generated)
            good = [r for r in fitting if any(_compares(workspace, r, c, fitting) for c in spec.comparisons)]
            other = [r for r in fitting if r.compare.get("kind", "none") != "none"]
            states.append(State.MET if good else State.WRONG if other else State.PARTIAL if fitting else State.NONE)
            rows.extend(_report_rows(workspace, good or other or fitting))
        verdict = _overall(states)
        if verdict is Verdict.MET:
            return result("2.5.d", verdict, _l("The candidate made the comparison the sheet asks for (%(data)s).",
                                               data=_specs_summary(specs, states, State.MET)), rows)
        if verdict is Verdict.NOT_MET:
            return result("2.5.d", verdict,
                          _l("The candidate compared other things than the sheet asks for (%(data)s).",
                             data=_specs_summary(specs, states, State.WRONG)), rows)
        if verdict is Verdict.CANT_TELL:
            return result("2.5.d", verdict,
                          _l("The candidate summarised the data the sheet asks for, but did not make the comparison "
                             "it asks for everywhere."), rows)
        if generated:
            return result("2.5.d", Verdict.NOT_MET,
                          _l("The candidate's reports are of other data than the sheet asks to compare."),
                          _report_rows(workspace, generated))
        return result("2.5.d", Verdict.NOT_MET, _l("The candidate made no summary or comparison."))
    generated = [r for r in generated if r.statement.verb == "generate"]
    comparing = [r for r in generated if r.compare.get("kind", "none") != "none"]
    if comparing:
        return result("2.5.d", Verdict.MET,
                      _l("The candidate made %(count)d comparison report(s).", count=len(comparing)),
                      _report_rows(workspace, comparing))
    if generated:
        return result("2.5.d", Verdict.CANT_TELL,
                      _l("The candidate made grouped summaries but no comparison of periods or segments."),
                      _report_rows(workspace, generated))
    return result("2.5.d", Verdict.NOT_MET, _l("The candidate made no summary or comparison."))


# --- 2.5.e ----------------------------------------------------------------------------------------

def form_problem(config: Mapping[str, Any]) -> Any | None:
    """Why a report's form does not suit its data (``None``: it does). A table suits any data; a
    bar chart groups or two series; a line chart a trend over time; a pie chart the shares of one
    whole (one series of counts or sums); a funnel the stages of a pipeline."""
    chart = config.get("chart")
    comparing = (config.get("compare") or {}).get("kind", "none") != "none"
    if chart == "line" and config.get("group_by") not in TIME_GROUPS:
        return _l("a line chart shows a trend over time, and this report is not grouped by month")
    if chart == "pie" and (comparing or str(config.get("measure", "")).startswith("avg")):
        return _l("a pie chart shows the shares of one whole, not a comparison or averages")
    if chart == "funnel" and config.get("group_by") != "stage":
        return _l("a funnel shows the stages of a pipeline, and this report is not grouped by stage")
    if chart not in CHART_KINDS:
        return _l("an unknown form")
    return None


@check("2.5.e")
def presentation_chosen(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """With the key's ``report`` forms: met when a report of the data the sheet asks for (an
    exported one where there is one, else one generated) is presented in a form the sheet allows
    that suits the data (:func:`form_problem`); a table, where the sheet allows it, is as good a
    choice as a chart. Not met when every such report's form is one the sheet does not allow or
    that does not suit the data (a line chart over stages, a pie chart of a comparison); can't
    tell when the candidate's reports are all of other data.

    Without it: met when the candidate chose a chart that suits its data; only charts that do not
    suit their data: not met; only tables (the builder's starting form, maybe not a choice):
    can't tell; no report: not met.
    """
    specs = _specs(key)
    reports = _reports(workspace)
    if specs:
        states: list[State] = []
        rows: list[EvidenceRow] = []
        for spec in specs:
            fitting = _fitting(spec, reports)
            judged = [r for r in fitting if r.exported] or fitting

            def problem(report: Report, spec: ReportSpec = spec) -> Any | None:
                if report.config.get("chart") not in spec.forms:
                    return _l("a form the sheet does not allow")
                return form_problem(report.config)

            good = [r for r in judged if problem(r) is None]
            states.append(State.MET if good else State.WRONG if judged else State.NONE)
            rows.extend(_report_rows(workspace, good or judged, problem))
        verdict = _overall(states)
        if verdict is Verdict.MET:
            return result("2.5.e", verdict,
                          _l("The candidate presented the report in a form the sheet allows and that suits its data."),
                          rows)
        if verdict is Verdict.NOT_MET:
            return result("2.5.e", verdict,
                          _l("The candidate presented the report in a form the sheet does not allow or that does not "
                             "suit its data (%(data)s).", data=_specs_summary(specs, states, State.WRONG)), rows)
        if verdict is Verdict.CANT_TELL:
            return result("2.5.e", verdict,
                          _l("The candidate presented only some of the reports the sheet asks for."), rows)
        if reports:
            return result("2.5.e", Verdict.CANT_TELL,
                          _l("The candidate's reports are of other data than the sheet asks for; their forms are "
                             "listed for the committee."),
                          _report_rows(workspace, reports, lambda r: form_problem(r.config)))
        return result("2.5.e", Verdict.NOT_MET, _l("The candidate presented no report."))
    charts = [r for r in reports if r.config.get("chart") not in (None, DEFAULT_CHART)]
    suited = [r for r in charts if form_problem(r.config) is None]
    if suited:
        kinds = sorted({str(r.config["chart"]) for r in suited})
        return result("2.5.e", Verdict.MET,
                      _l("The candidate presented reports as: %(forms)s, each suiting its data.",
                         forms=joined(CHART_KINDS[k].label for k in kinds)),
                      _report_rows(workspace, suited))
    if charts:
        return result("2.5.e", Verdict.NOT_MET, _l("The candidate chose charts that do not suit their data."),
                      _report_rows(workspace, charts, lambda r: form_problem(r.config)))
    if reports:
        return result("2.5.e", Verdict.CANT_TELL, _l("The candidate's reports are all tables (the starting form)."),
                      _report_rows(workspace, reports))
    return result("2.5.e", Verdict.NOT_MET, _l("The candidate presented no report."))


# --- 2.5.f ----------------------------------------------------------------------------------------

@check("2.5.f")
def report_generated(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """With the key's ``report``: met when the candidate exported, in a format the sheet allows, a
    report of the data it asks for carrying its filters (its criteria); not met when what they
    exported is of other data; can't tell when the export misses the sheet's filters, is in a
    format the sheet does not name (e.g. printed where it asks for PDF or CSV), or the report
    was only shown on screen or saved.

    Without it: met when the candidate produced a report as a document: exported it (PDF or
    CSV), printed it, or saved it to run again; only on screen: can't tell; none: not met.
    """
    specs = _specs(key)
    exports = _reports(workspace, ["export"])
    saved_statements = candidate_statements(workspace, ["create", "update"], ["saved_report"])
    saved = existing(workspace, SavedReport, ids_of(saved_statements))
    saved_rows = [record_row(workspace, _l("Saved report: %(name)s", name=r.name), "saved_report", r.id)
                  for r in saved]
    if specs:
        states: list[State] = []
        rows: list[EvidenceRow] = []
        for spec in specs:
            fitting = _fitting(spec, exports)
            criteria = [r for r in fitting if all(n in r.filters and _value_matches(workspace, n, r.filters[n], v)
                                                  for n, v in spec.filters.items())]
            good = [r for r in criteria if r.exported in spec.formats]
            states.append(State.MET if good else State.PARTIAL if fitting else State.NONE)
            rows.extend(_report_rows(workspace, good or fitting))
        verdict = _overall(states)
        if verdict is Verdict.MET:
            return result("2.5.f", verdict,
                          _l("The candidate exported the report the sheet asks for, with its criteria, in a format it "
                             "allows."), rows, saved_rows)
        if verdict is Verdict.CANT_TELL:
            return result("2.5.f", verdict,
                          _l("The candidate exported reports of the data the sheet asks for, but not every one with "
                             "its criteria in a format it allows."), rows, saved_rows)
        if exports:
            return result("2.5.f", Verdict.NOT_MET,
                          _l("The candidate exported reports of other data than the sheet asks for."),
                          _report_rows(workspace, exports), saved_rows)
        generated = _reports(workspace, ["generate"])
        if generated or saved:
            return result("2.5.f", Verdict.CANT_TELL,
                          _l("The candidate generated reports on screen (or saved them) but exported none."),
                          _report_rows(workspace, generated), saved_rows)
        return result("2.5.f", Verdict.NOT_MET, _l("The candidate generated no report."))
    if exports or saved:
        formats = sorted({str(r.exported) for r in exports})
        return result("2.5.f", Verdict.MET,
                      _l("The candidate exported %(count)d report(s) (%(formats)s) and saved %(saved)d.",
                         count=len(exports), formats=", ".join(formats) or "—", saved=len(saved)),
                      _report_rows(workspace, exports), saved_rows, logged_rows(workspace, saved_statements))
    generated = _reports(workspace, ["generate"])
    if generated:
        return result("2.5.f", Verdict.CANT_TELL,
                      _l("The candidate generated reports on screen but exported, printed or saved none."),
                      _report_rows(workspace, generated))
    return result("2.5.f", Verdict.NOT_MET, _l("The candidate generated no report."))

