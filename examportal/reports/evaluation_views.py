"""Internal evaluations (art. 64 of the ZSK act): the list with when each is due, making one, the
report with the evaluators' conclusions, and its PDF and CSV.

Staff make and edit the evaluations of their institutions; anyone with a reader scope (staff, an
external auditor within their mandate: see :mod:`.access`) reads them. An auditor changes nothing:
every POST here is for staff only (403).
"""
from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from flask import Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import DateField, SelectField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from ..access import row_or_404, staff_row_or_404
from ..certification.rules import today as warsaw_today
from ..extensions import db
from ..forms import PortalForm, add_error, parse_id, select_choices
from ..models import (
    AppealRemedy,
    AppealStatus,
    AppealSubject,
    ComplaintStatus,
    EvaluationReport,
    Institution,
    Qualification,
    Role,
)
from ..pdf import render_pdf
from ..security import roles_required, staff_institution_ids
from ..theory.statistics import safe_cell
from . import bp
from . import evaluation as evaluations
from .access import reader_scopes, readers_only, scope_for
from .evaluation import _

#: Before this day a period is a typo (the ZSK act came into force in January 2016).
EARLIEST = date(2016, 1, 1)


class EvaluationForm(PortalForm):
    """A new evaluation: the institution, the qualification and the period of its sessions."""

    # Ids as text: WTForms' message for a value that is no number is no help ("could not coerce").
    institution_id = SelectField(_l("Institution"))
    qualification_id = SelectField(_l("Qualification"))
    period_from = DateField(_l("Sessions that started from"),
                            validators=[InputRequired(message=_l("Enter the first day of the period."))])
    period_to = DateField(_l("until (inclusive)"),
                          validators=[InputRequired(message=_l("Enter the last day of the period."))])

    def validate_period_from(self, field: Any) -> None:
        if field.data is not None and field.data < EARLIEST:
            raise ValidationError(_l("Enter a day from %(day)s on.", day=EARLIEST.isoformat()))

    def validate_period_to(self, field: Any) -> None:
        if field.data is None:
            return
        if self.period_from.data is not None and self.period_from.data > field.data:
            raise ValidationError(_l("The last day must not be before the first day of the period."))
        if field.data > warsaw_today():
            raise ValidationError(_l("The period cannot end in the future: its last day may be today at the latest."))


class ConclusionsForm(PortalForm):
    """The evaluators' conclusions and the actions they decide on."""

    conclusions = TextAreaField(_l("Conclusions of the evaluators"), validators=[Length(max=20000)])
    actions = TextAreaField(_l("Actions to take"), validators=[Length(max=20000)])
    save = SubmitField(_l("Save the draft"))
    complete = SubmitField(_l("Complete the evaluation"))


# --------------------------------------------------------------------------- who reads and edits what


def _readable(evaluation_id: int) -> EvaluationReport:
    """The report, for a reader whose scope covers its institution and whole period (404 otherwise)."""
    report = row_or_404(EvaluationReport, evaluation_id)
    scope_for(report.institution_id, report.period_from, report.period_to)
    return report


def _editable(evaluation_id: int) -> EvaluationReport:
    """The report, for staff of its institution (404 for anyone else)."""
    report = staff_row_or_404(EvaluationReport, evaluation_id, lambda report: report.institution_id)
    return report


def _may_edit(report: EvaluationReport) -> bool:
    return report.completed_at is None and report.institution_id in staff_institution_ids()


def readable_reports() -> list[EvaluationReport]:
    """Every report some reader scope of the current user covers, newest period first."""
    scopes = reader_scopes()
    ids = {i for scope in scopes for i in scope.institution_ids}
    reports = db.session.scalars(select(EvaluationReport).where(EvaluationReport.institution_id.in_(ids))
                                 .order_by(EvaluationReport.period_to.desc(), EvaluationReport.id.desc()))
    return [r for r in reports
            if any(s.covers(r.institution_id, r.period_from, r.period_to) for s in scopes)]


def own_due_rows() -> list[evaluations.DueRow]:
    """The last and next evaluation of every qualification of the institutions the user is staff at."""
    return evaluations.due_rows(current_user.institution_ids(Role.STAFF))


@bp.app_context_processor
def evaluation_due_for_dashboard() -> dict[str, Any]:
    """The staff dashboard shows when each evaluation is due (computed only where a page asks)."""
    return {"evaluation_due_rows": own_due_rows}


# --------------------------------------------------------------------------- the list


@bp.route("/evaluations")
@readers_only
def evaluations_index() -> ResponseReturnValue:
    """The evaluations one may read; for staff, when each qualification's next one is due."""
    is_staff = bool(staff_institution_ids())
    return render_template("reports/evaluations.html", reports=readable_reports(),
                           due_rows=own_due_rows() if is_staff else [], may_make=is_staff)


# --------------------------------------------------------------------------- making one


def _institution_choices() -> list[Institution]:
    return list(db.session.scalars(select(Institution).where(Institution.id.in_(staff_institution_ids()))
                                   .order_by(Institution.kind, Institution.name)))


def _with_choices(form: EvaluationForm) -> EvaluationForm:
    institutions = _institution_choices()
    form.institution_id.choices = select_choices((str(i.id), i.name) for i in institutions)
    qualifications = {q.id: q for i in institutions for q in evaluations.authorised(i)}
    locale = str(get_locale() or "pl")
    form.qualification_id.choices = select_choices(
        (str(q.id), f"{q.code} — {q.name(locale)}") for q in sorted(qualifications.values(), key=lambda q: q.code))
    return form


def _new_page(form: EvaluationForm, status: int = 200) -> ResponseReturnValue:
    return render_template("reports/evaluation_new.html", form=form), status


@bp.route("/evaluations/new", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def evaluation_new() -> ResponseReturnValue:
    """Make a new evaluation: its figures are computed and kept as they are now."""
    form = _with_choices(EvaluationForm())
    if not form.is_submitted():
        return _new_page(form)
    if not form.validate():
        return _new_page(form, 400)
    institution_id, qualification_id = parse_id(form.institution_id.data), parse_id(form.qualification_id.data)
    institution = db.session.get(Institution, institution_id) if institution_id else None
    qualification = db.session.get(Qualification, qualification_id) if qualification_id else None
    period_from, period_to = form.period_from.data, form.period_to.data
    if period_from is None or period_to is None:  # InputRequired refused it already
        return _new_page(form, 400)
    if institution is None or qualification is None:  # the choices were checked: only a race gets here
        add_error(form.qualification_id, _("Choose the institution and the qualification again."))
        return _new_page(form, 400)
    try:
        report = evaluations.make_report(current_user, institution, qualification, period_from, period_to)
    except evaluations.EvaluationError as error:
        db.session.rollback()
        add_error(form.qualification_id, str(error))
        return _new_page(form, 400)
    flash(_("The evaluation has been made: its figures are kept as they are today. Add the conclusions and actions."),
          "success")
    return redirect(url_for("reports.evaluation_show", evaluation_id=report.id))


# --------------------------------------------------------------------------- one report


def _labels() -> dict[str, Any]:
    """Translated names of the codes the figures keep."""
    return {
        "parts": {"theory": _("Theory test"), "practical": _("Practical exam"), "interview": _("Interview")},
        "flags": {"too_hard": _("too hard"), "too_easy": _("too easy"),
                  "low_discrimination": _("does not discriminate"),
                  "dead_distractor": _("distractor nobody chooses")},
        "verdicts": {"met": _("met"), "not_met": _("not met"), "cant_tell": _("cannot tell")},
        "appeal_status": {s.value: s.label for s in AppealStatus},
        "appeal_subject": {s.value: s.label for s in AppealSubject},
        "remedy": {r.value: r.label for r in AppealRemedy},
        "complaint_status": {s.value: s.label for s in ComplaintStatus},
    }


def _report_context(report: EvaluationReport) -> dict[str, Any]:
    locale = str(get_locale() or "pl")
    return {"report": report, "figures": report.figures, "labels": _labels(), "locale": locale,
            "qualification_name": report.qualification.name(locale),
            "institution_names": {i.id: i.name for i in db.session.scalars(
                select(Institution).where(Institution.id.in_(report.figures.get("institution_ids", []))))}}


def _show_page(report: EvaluationReport, form: ConclusionsForm | None = None, status: int = 200) -> ResponseReturnValue:
    may_edit = _may_edit(report)
    if form is None and may_edit:
        form = ConclusionsForm(formdata=None, conclusions=report.conclusions or "", actions=report.actions or "")
    return render_template("reports/evaluation_show.html", form=form if may_edit else None, may_edit=may_edit,
                           **_report_context(report)), status


@bp.route("/evaluations/<int:evaluation_id>")
@readers_only
def evaluation_show(evaluation_id: int) -> ResponseReturnValue:
    return _show_page(_readable(evaluation_id))


@bp.route("/evaluations/<int:evaluation_id>/conclusions", methods=["POST"])
@roles_required(Role.STAFF)
def evaluation_conclusions(evaluation_id: int) -> ResponseReturnValue:
    """Save the conclusions and actions (a draft), or complete the evaluation with them."""
    report = _editable(evaluation_id)
    form = ConclusionsForm()
    if report.completed_at is not None:
        flash(_("This evaluation is completed and can no longer be changed."), "danger")
        return _show_page(report, status=400)
    if not form.validate_on_submit():
        return _show_page(report, form, 400)
    complete = bool(form.complete.data)
    conclusions, actions = (form.conclusions.data or "").strip(), (form.actions.data or "").strip()
    if complete and not (conclusions and actions):
        for field, text in ((form.conclusions, conclusions), (form.actions, actions)):
            if not text:
                add_error(field, _("Fill this in before completing the evaluation."))
        return _show_page(report, form, 400)
    try:
        evaluations.save_conclusions(current_user, report, conclusions, actions, complete)
    except evaluations.EvaluationError as error:
        db.session.rollback()
        add_error(form.conclusions, str(error))
        return _show_page(report, form, 400)
    flash(_("The evaluation is completed.") if complete else _("The draft is saved."), "success")
    return redirect(url_for("reports.evaluation_show", evaluation_id=report.id))


# --------------------------------------------------------------------------- downloads


@bp.route("/evaluations/<int:evaluation_id>.pdf")
@readers_only
def evaluation_pdf(evaluation_id: int) -> ResponseReturnValue:
    report = _readable(evaluation_id)
    pdf = render_pdf(render_template("reports/evaluation.html", **_report_context(report)))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="ewaluacja-{report.id}.pdf"'})


@bp.route("/evaluations/<int:evaluation_id>.csv")
@readers_only
def evaluation_csv(evaluation_id: int) -> ResponseReturnValue:
    report = _readable(evaluation_id)
    return Response(figures_csv(report), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="ewaluacja-{report.id}.csv"'})


def _number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".")
    return str(value)


def figures_csv(report: EvaluationReport) -> str:
    """The report's figures as CSV, one figure a row (section; subject; figure; value): semicolons,
    UTF-8 with BOM for spreadsheets, every text cell formula-safe."""
    f = report.figures
    rows: list[tuple[str, str, str, Any]] = [
        ("report", "", "qualification", report.qualification.code),
        ("report", "", "period_from", report.period_from.isoformat()),
        ("report", "", "period_to", report.period_to.isoformat()),
        ("report", "", "completed_at", report.completed_at.isoformat() if report.completed_at else ""),
        ("report", "", "conclusions", report.conclusions or ""),
        ("report", "", "actions", report.actions or ""),
    ]
    rows += [("session", str(s["id"]), "title", s["title"]) for s in f["sessions"]]
    rows += [("session", str(s["id"]), "starts_on", s["starts_on"]) for s in f["sessions"]]
    rows += [("candidates", "", key, value) for key, value in f["candidates"].items()]
    for part in f["parts"]:
        rows += [("part", part["part"], key, part[key]) for key in ("assessed", "passed", "rate")]
    for row in f["criteria"]:
        rows += [("criterion", row["code"], key, row[key]) for key in ("results", "met", "rate")]
    for item in f["items"]["items"]:
        rows += [("item", item["item_id"], key, item[key]) for key in ("responses", "facility", "discrimination")]
        rows.append(("item", item["item_id"], "flags", " ".join(item["flags"])))
    rows += [("reliability", "", key, value) for key, value in f["reliability"].items()]
    for row in f["agreement"]:
        rows += [("assessor_agreement", row["code"], key, row[key]) for key in ("pairs", "agreed", "agreement", "kappa")]
    rows += [("evidence_checks", "", key, f["evidence"][key])
             for key in ("compared", "agreed", "share", "cant_tell", "without_workspace")]
    for row in f["evidence"]["criteria"]:
        rows += [("evidence_checks", row["code"], key, row[key]) for key in ("compared", "agreed", "share", "cant_tell")]
        rows += [("evidence_disagreement", row["code"], f"enrolment {d['enrolment_id']}",
                  f"check {d['check']}, committee {d['committee']}") for d in row["disagreements"]]
    for name in ("appeals", "complaints"):
        section = f[name]
        rows += [(name, "", "count", section["count"])]
        rows += [(name, "", f"status {status}", n) for status, n in sorted(section["by_status"].items())]
        rows += [(name, "", f"days {key}", section["durations"][key]) for key in ("count", "median_days", "max_days")]
        rows += [(name, str(r["id"]), "days", r["days"]) for r in section["rows"]]
    rows += [("incidents", "", key, f["incidents"][key]) for key in ("count", "theory", "practical")]
    rows += [("incident", str(r["id"]), r["part"], f"{r['on']} {r['session']}") for r in f["incidents"]["rows"]]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL)
    writer.writerow([_("Section"), _("Subject"), _("Figure"), _("Value")])
    for section_name, subject, figure, value in rows:
        writer.writerow([safe_cell(section_name), safe_cell(subject), safe_cell(figure),
                         _number(value) if isinstance(value, int | float) and not isinstance(value, bool)
                         else safe_cell(value)])
    return "\ufeff" + out.getvalue()
