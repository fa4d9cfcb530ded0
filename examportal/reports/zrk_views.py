"""The quarterly ZRK report (art. 65 of the ZSK act): the page with its table, the CSV and the PDF.

Readers (:mod:`.access`): the staff of a certifying institution read any quarter of its report;
an external auditor only the quarters wholly inside their mandate's period (404 otherwise), as
for any record outside a reader's scope. A validating institution reports through its certifying
institution: its own staff (or an auditor of it alone) have no report to read (403).
"""
from __future__ import annotations

from typing import Any

from flask import Response, abort, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import StringField
from wtforms.validators import ValidationError

from ..certification.rules import today
from ..extensions import db
from ..forms import ID, PortalForm, QueryForm, add_error, params
from ..models import Institution
from . import bp, zrk
from .access import readable_institution_ids, reader_scopes, readers_only, scope_for


def _(text: str, **values: Any) -> str:
    return str(gettext(text, **values))


def _reportable(form: Any, field: Any) -> None:
    if field.data:
        try:
            zrk.parse_reportable(field.data)
        except zrk.QuarterError as error:
            raise ValidationError(str(error)) from None


class ZrkForm(PortalForm):
    """The quarter to report (empty: the last finished quarter the reader may read)."""

    class Meta:
        csrf = False

    quarter = StringField(_l("Quarter"), validators=[_reportable], render_kw={"list": "zrk-quarters", "autocomplete": "off"},
                          description=_l("The year and the quarter's number, e.g. 2026Q4."))


def _certifying_readable() -> list[Institution]:
    """The certifying institutions whose report the user may read (in some period); 403 if none."""
    ids = readable_institution_ids()
    institutions = list(zrk.certifying(db.session.scalars(select(Institution).where(Institution.id.in_(ids)))))
    if not institutions:
        abort(403)
    return institutions


def _default_quarter(institution: Institution) -> zrk.Quarter | None:
    """The last finished quarter — for a reader limited in time (an auditor), the last finished
    quarter wholly inside their period (None when their period holds no whole quarter)."""
    last = zrk.Quarter.last_finished()
    best: zrk.Quarter | None = None
    for scope in reader_scopes():
        if institution.id not in scope.institution_ids:
            continue
        quarter = zrk.Quarter.containing(min(scope.period_to, last.last_day)) if scope.period_to else last
        if not scope.covers(institution.id, quarter.first_day, quarter.last_day):
            quarter = quarter.previous()  # the period ends within that quarter
        if scope.covers(institution.id, quarter.first_day, quarter.last_day):
            best = quarter if best is None else max(best, quarter)
        if scope.period_from is None:
            return last
    return best


def _chosen(form: ZrkForm, institution_id: int | None) -> tuple[list[Institution], Institution, zrk.Quarter | None]:
    """The institutions to choose from, the one chosen (404 if it is not among them) and the quarter
    (None: the form is invalid); 404 when the reader may not read that quarter of that institution."""
    institutions = _certifying_readable()
    if institution_id is None:
        institution = institutions[0]
    else:
        found = [i for i in institutions if i.id == institution_id]
        if not found:
            abort(404)
        institution = found[0]
    if not form.validate():
        return institutions, institution, None
    quarter = zrk.Quarter.parse(form.quarter.data) if form.quarter.data else _default_quarter(institution)
    if quarter is None:
        add_error(form.quarter, _("The period you may read holds no whole quarter of this institution: no quarterly "
                                  "report falls within it."))
        return institutions, institution, None
    scope_for(institution.id, quarter.first_day, quarter.last_day)
    return institutions, institution, quarter


def _quarter_problem(form: ZrkForm) -> str:
    return " ".join(str(error) for error in form.quarter.errors)


@bp.route("/zrk")
@readers_only
@params(form=QueryForm(ZrkForm), institution_id=ID.named("institution"))
def zrk_page(form: ZrkForm, institution_id: int | None) -> ResponseReturnValue:
    """The report of a quarter as a table, with its notes and the CSV and PDF downloads."""
    institutions, institution, quarter = _chosen(form, institution_id)
    report = zrk.zrk_report(institution, quarter) if quarter is not None else None
    if quarter is not None and not form.quarter.data:
        form.quarter.data = str(quarter)
    return render_template("reports/zrk_page.html", form=form, institutions=institutions, institution=institution,
                           report=report, columns=zrk.COLUMNS, notes=zrk.notes(report) if report else [],
                           period=zrk.period_text(report.quarter) if report else None,
                           generated=zrk.generated_text(report) if report else None,
                           quarters=zrk.recent_quarters(on=today())), 200 if report else 400


def _report_or_400(form: ZrkForm, institution_id: int | None) -> zrk.ZrkReport:
    _institutions, institution, quarter = _chosen(form, institution_id)
    if quarter is None:
        abort(400, description=_quarter_problem(form))
    return zrk.zrk_report(institution, quarter)


@bp.route("/zrk.csv")
@readers_only
@params(form=QueryForm(ZrkForm), institution_id=ID.named("institution"))
def zrk_csv(form: ZrkForm, institution_id: int | None) -> ResponseReturnValue:
    report = _report_or_400(form, institution_id)
    return Response(zrk.to_csv(report), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{zrk.file_name(report, "csv")}"'})


@bp.route("/zrk.pdf")
@readers_only
@params(form=QueryForm(ZrkForm), institution_id=ID.named("institution"))
def zrk_pdf(form: ZrkForm, institution_id: int | None) -> ResponseReturnValue:
    report = _report_or_400(form, institution_id)
    return Response(zrk.render_zrk_pdf(report), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{zrk.file_name(report, "pdf")}"'})
