"""Evidence checks of 2.5.a, b, d, e, f: reports — data chosen, filtered, compared, presented,
generated and exported. Reports are seen through the ``generate``/``filter``/``export`` statements
of the report builder (each holds the report's configuration) and saved reports."""
from __future__ import annotations

from ..models import ActionStatement, SavedReport, Workspace
from ..services.reports import CHART_KINDS, DATA_SOURCES
from .base import CheckResult, EvidenceRow, Verdict, check
from .common import candidate_statements, existing, ids_of, record_row, result, statement_row, statement_rows

# What the builder runs when nothing is chosen: the data, grouping and measure a candidate
# gets without choosing anything.
DEFAULT_SOURCE = "opportunities"
DEFAULT_CHART = "table"


def _config(statement: ActionStatement) -> dict:
    config = (statement.result or {}).get("config")
    return config if isinstance(config, dict) else {}


def _describe(config: dict) -> str:
    source = DATA_SOURCES.get(config.get("source", ""))
    if source is None:
        return str(config.get("source"))
    group = source.dimensions.get(config.get("group_by", ""))
    measure = source.measures.get(config.get("measure", ""))
    return f"{source.label}: {measure.label if measure else '?'} by {group.label if group else '?'}"


def _generated(workspace: Workspace) -> list[ActionStatement]:
    return candidate_statements(workspace, ["generate"], ["report"])


def _report_rows(workspace: Workspace, statements: list[ActionStatement]) -> list[EvidenceRow]:
    return [statement_row(workspace, s, f"{s.verb} report: {_describe(_config(s))}") for s in statements]


def _is_default(config: dict) -> bool:
    source = DATA_SOURCES.get(config.get("source", ""))
    return (source is not None and source.key == DEFAULT_SOURCE and config.get("group_by") == source.default_group
            and config.get("measure") == source.default_measure and not config.get("filters")
            and not config.get("date_from") and not config.get("date_to")
            and (config.get("compare") or {}).get("kind", "none") == "none")


@check("2.5.a")
def report_data_chosen(workspace: Workspace) -> CheckResult:
    """Met when the candidate generated a report with data of their choosing: a source, grouping
    and measure other than the builder's starting ones, or filters, dates or a comparison.
    Whether the data fit the task's question is the committee's judgement.

    Reports generated only with the builder's starting settings: can't tell. No report: not met.
    """
    generated = _generated(workspace)
    chosen = [s for s in generated if not _is_default(_config(s))]
    if chosen:
        kinds = sorted({_describe(_config(s)) for s in chosen})
        return result("2.5.a", Verdict.MET, f"The candidate chose the data of {len(chosen)} report(s): "
                      f"{'; '.join(kinds)}.", _report_rows(workspace, chosen))
    if generated:
        return result("2.5.a", Verdict.CANT_TELL,
                      "The candidate generated reports only with the builder's starting settings.",
                      _report_rows(workspace, generated))
    return result("2.5.a", Verdict.NOT_MET, "The candidate generated no report.")


LIST_FILTERS = ("company", "contact", "task", "opportunity", "board")


@check("2.5.b")
def data_filtered(workspace: Workspace) -> CheckResult:
    """Met when the candidate filtered data by criteria: a report with filters or a date range
    (``filter report``), or a filtered list of companies, contacts, tasks or opportunities.

    Otherwise not met.
    """
    reports = candidate_statements(workspace, ["filter"], ["report"])
    lists = candidate_statements(workspace, ["filter"], LIST_FILTERS)
    if reports or lists:
        return result("2.5.b", Verdict.MET,
                      f"The candidate filtered reports {len(reports)} time(s) and lists {len(lists)} time(s).",
                      statement_rows(workspace, reports), statement_rows(workspace, lists))
    return result("2.5.b", Verdict.NOT_MET, "The candidate filtered no data.")


@check("2.5.d")
def comparisons_made(workspace: Workspace) -> CheckResult:
    """Met when the candidate generated a report comparing two periods or two segments/values
    side by side.

    Only grouped summaries without a comparison: can't tell. No report: not met.
    """
    generated = _generated(workspace)
    comparing = [s for s in generated if (_config(s).get("compare") or {}).get("kind", "none") != "none"]
    if comparing:
        return result("2.5.d", Verdict.MET,
                      f"The candidate made {len(comparing)} comparison report(s).", _report_rows(workspace, comparing))
    if generated:
        return result("2.5.d", Verdict.CANT_TELL,
                      "The candidate made grouped summaries but no comparison of periods or segments.",
                      _report_rows(workspace, generated))
    return result("2.5.d", Verdict.NOT_MET, "The candidate made no summary or comparison.")


@check("2.5.e")
def presentation_chosen(workspace: Workspace) -> CheckResult:
    """Met when the candidate chose a presentation form: a report shown as a chart (bar, line,
    pie, funnel — the builder starts with a table), or reports in more than one form (the table
    then chosen among them).

    Only tables: can't tell (the default may have been chosen on purpose). No report: not met.
    """
    statements = candidate_statements(workspace, ["generate", "export"], ["report"])
    charts = set(CHART_KINDS) & {_config(s).get("chart") for s in statements}
    chosen = [s for s in statements if _config(s).get("chart") not in (None, DEFAULT_CHART)]
    if chosen or len(charts) > 1:
        labels = sorted(str(CHART_KINDS[c].label) for c in charts)
        return result("2.5.e", Verdict.MET, f"The candidate presented reports as: {', '.join(labels)}.",
                      _report_rows(workspace, chosen or statements))
    if statements:
        return result("2.5.e", Verdict.CANT_TELL, "The candidate's reports are all tables (the starting form).",
                      _report_rows(workspace, statements))
    return result("2.5.e", Verdict.NOT_MET, "The candidate presented no report.")


@check("2.5.f")
def report_generated(workspace: Workspace) -> CheckResult:
    """Met when the candidate produced a report as a document: exported it (PDF or CSV), printed
    it, or saved it to run again.

    Reports generated only on screen: can't tell. No report: not met.
    """
    exports = candidate_statements(workspace, ["export"], ["report"])
    saved_statements = candidate_statements(workspace, ["create", "update"], ["saved_report"])
    saved = existing(workspace, SavedReport, ids_of(saved_statements))
    if exports or saved:
        formats = sorted({str((s.result or {}).get("format")) for s in exports})
        return result("2.5.f", Verdict.MET,
                      f"The candidate exported {len(exports)} report(s) ({', '.join(formats) or 'none'}) and saved "
                      f"{len(saved)}.",
                      [statement_row(workspace, s, f"export report ({(s.result or {}).get('format')}): "
                                                   f"{_describe(_config(s))}") for s in exports],
                      [record_row(workspace, f"Saved report: {r.name}", "saved_report", r.id) for r in saved],
                      statement_rows(workspace, saved_statements))
    generated = _generated(workspace)
    if generated:
        return result("2.5.f", Verdict.CANT_TELL,
                      "The candidate generated reports on screen but exported, printed or saved none.",
                      _report_rows(workspace, generated))
    return result("2.5.f", Verdict.NOT_MET, "The candidate generated no report.")
