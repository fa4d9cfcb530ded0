"""The report builder: choose data, filter, group, compare, present; export CSV/PDF, print, save."""
from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ..blueprint import bp
from ..forms.common import ConfirmForm
from ..forms.offers import SaveReportForm
from ..host import session
from ..models import SavedReport
from ..params import Fields, Present, current_query, params
from ..registry import register_nav
from ..scoping import get_or_404
from ..services import reports as service
from .offers import may_log

register_nav("sandbox.reports", _l("Reports"), 80)

#: The builder's fields (see ``service.parse_config``), handed on together to the service, which checks them.
CONFIG = Fields(["source", "group_by", "measure", "chart", "date_field", "date_from", "date_to", "compare", "b_from",
                 "b_to", "cmp_field", "cmp_a", "cmp_b", "title",
                 *sorted({f"f_{key}" for source in service.DATA_SOURCES.values() for key in source.filters})],
                max=1000)


def _build(args: dict[str, str]) -> tuple[dict | None, dict[str, Any]]:
    """The configuration from the query string, or the errors to show next to the fields."""
    try:
        return service.parse_config(args), {}
    except service.ReportError as exc:
        return None, exc.errors


def _run(config: dict, log: bool) -> service.ReportResult:
    result = service.run_report(g.workspace, config, log=log and may_log())
    if log and may_log():
        session().commit()
    return result


@bp.route("/w/<int:ws_id>/reports")
@params(args=CONFIG, run=Present(), reload=Present())
def reports(args: dict[str, str], run: bool, reload: bool):
    requested = args.get("source", "")
    source_key = requested if requested in service.DATA_SOURCES else "opportunities"
    source = service.DATA_SOURCES[source_key]
    config, errors = _build(args) if run and not reload else (None, {})
    result = svg = None
    if config is not None:
        result = _run(config, log=True)
        svg = service.render_chart(result)
    save_form = SaveReportForm(formdata=None, config=json.dumps(config) if config else "")
    return render_template(
        "sandbox_crm/reports/builder.html", args=args, source=source, sources=service.DATA_SOURCES,
        charts=service.CHART_KINDS, compare_kinds=service.COMPARE_KINDS, errors=errors,
        choices=service.filter_choices(g.workspace, source.key), result=result,
        svg=Markup(svg) if svg else None,  # noqa: S704  (pygal output: labels escaped, no script; see test_reports)
        save_form=save_form,
        saved=service.list_saved_reports(g.workspace), query=current_query(),
        dims=[(d.key, d.label) for d in source.dimensions.values()],
        meas=[(m.key, m.label) for m in source.measures.values()],
        dates=[(d.key, d.label) for d in source.date_fields.values()],
        comparable=[(key, spec.label) for key, spec in source.filters.items() if spec.comparable],
    ), (400 if errors else 200)


def _result_or_redirect(args: dict[str, str]):
    config, errors = _build(args)
    if config is None:
        for message in errors.values():
            flash(str(message), "error")
        return None
    return service.run_report(g.workspace, config, log=False)


def _builder_url() -> str:
    """The builder with the query string of this request (it shows what is wrong)."""
    return url_for("sandbox.reports", **current_query())


def _filename(result: service.ReportResult, ext: str) -> str:
    safe = "".join(ch if ch.isalnum() else "-" for ch in result.config["source"] + "-" + result.config["group_by"])
    return f"raport-{safe}.{ext}"


@bp.route("/w/<int:ws_id>/reports/export.csv")
@params(args=CONFIG)
def report_csv(args: dict[str, str]):
    result = _result_or_redirect(args)
    if result is None:
        return redirect(_builder_url())
    if may_log():
        service.record_export(g.workspace, result, "csv")
        session().commit()
    # mimetype (text/*) gets "; charset=utf-8" from Flask; giving it here too would name it twice.
    return Response(service.export_csv(result), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{_filename(result, "csv")}"'})


@bp.route("/w/<int:ws_id>/reports/export.pdf")
@params(args=CONFIG)
def report_pdf(args: dict[str, str]):
    result = _result_or_redirect(args)
    if result is None:
        return redirect(_builder_url())
    pdf = service.export_pdf(result)
    if may_log():
        service.record_export(g.workspace, result, "pdf")
        session().commit()
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{_filename(result, "pdf")}"'})


@bp.route("/w/<int:ws_id>/reports/print")
@params(args=CONFIG)
def report_print(args: dict[str, str]):
    result = _result_or_redirect(args)
    if result is None:
        return redirect(_builder_url())
    if may_log():
        service.record_export(g.workspace, result, "print")
        session().commit()
    svg = service.render_chart(result)
    return render_template("sandbox_crm/reports/print.html", result=result,
                           svg=Markup(svg) if svg else None)  # noqa: S704  (pygal output, as above)


@bp.route("/w/<int:ws_id>/reports/save", methods=["POST"])
def report_save():
    form = SaveReportForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(str(message), "error")
        return redirect(request.referrer or url_for("sandbox.reports"))
    try:
        config = json.loads(form.config.data or "")
        # The page writes an object with objects for its filters and comparison: nothing else is one.
        if not isinstance(config, dict) or not all(isinstance(config.get(part) or {}, dict) for part in ("filters", "compare")):
            raise ValueError
        report = service.save_report(g.workspace, form.name.data, config, form.description.data or "")
    except (ValueError, TypeError, KeyError) as exc:
        session().rollback()
        messages = exc.errors.values() if isinstance(exc, service.ReportError) else [_("Run the report before saving it.")]
        for message in messages:
            flash(str(message), "error")
        return redirect(url_for("sandbox.reports"))
    session().commit()
    flash(_("Report %(name)s saved.", name=report.name), "success")
    return redirect(url_for("sandbox.saved_report", report_id=report.id))


@bp.route("/w/<int:ws_id>/reports/saved/<int:report_id>")
def saved_report(report_id: int):
    report = get_or_404(SavedReport, g.workspace, report_id)
    args: dict[str, Any] = service.config_to_args(report.config)
    return redirect(url_for("sandbox.reports", run=1, **args))


@bp.route("/w/<int:ws_id>/reports/saved/<int:report_id>/delete", methods=["POST"])
def saved_report_delete(report_id: int):
    report = get_or_404(SavedReport, g.workspace, report_id)
    if ConfirmForm().validate_on_submit():
        service.delete_saved_report(g.workspace, report)
        session().commit()
        flash(_("Report %(name)s deleted.", name=report.name), "success")
    return redirect(url_for("sandbox.reports"))
