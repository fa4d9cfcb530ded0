"""Tasks: lists for a period with priorities and progress, add and edit, complete, and the
completion summary per stage and per opportunity."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..blueprint import bp
from ..forms.common import ConfirmForm, edit_form
from ..forms.sales import ProgressForm, TaskFilterForm, TaskForm
from ..host import session
from ..models import Company
from ..models.sales import Opportunity, Pipeline, Task
from ..params import ID, NEXT, PAGE, QueryForm, current_query, params, refuse_damaged
from ..registry import register_nav
from ..scoping import get_or_404
from ..services import tasks as service
from ..services.opportunities import record_filter
from ..services.pipelines import list_pipelines
from ..services.sales_util import SalesError, local_today, to_local
from .helpers import company_reference, resolve_company
from .sales_common import (
    company_picker,
    company_suggestions,
    contact_choices,
    filter_company,
    grouped_stage_choices,
    opportunity_choices,
    safe_next,
    show_error,
    valid_data,
)

register_nav("sandbox.tasks", _l("Tasks"), 60)

PER_PAGE = 50
QUICK_PERIODS = (("today", _l("Today")), ("week", _l("This week")), ("next_week", _l("Next week")),
                 ("overdue", _l("Overdue")), ("", _l("All")))


@bp.route("/w/<int:ws_id>/tasks/")
@params(form=QueryForm(TaskFilterForm), company_id=ID, page=PAGE)
def tasks(form: TaskFilterForm, company_id: int | None, page: int):
    form.stage.choices = grouped_stage_choices(blank=_("Any"))
    form.validate()
    company = filter_company(form, company_id)

    def valid(name: str) -> Any:
        return valid_data(form, name)

    period = valid("period")
    if period == "custom" and not (valid("date_from") or valid("date_to")):
        form.date_from.errors = [*list(form.date_from.errors), _("Give the first or the last day of the period.")]
    if form.opportunity.errors:  # a link's hidden filter: its error would go unseen
        refuse_damaged("opportunity")
    opportunity = None
    if valid("opportunity"):
        opportunity = session().get(Opportunity, valid("opportunity"))
        if opportunity is None or opportunity.workspace_id != g.workspace.id:
            abort(404)
    filters = service.TaskFilters(
        period=period, date_from=valid("date_from") if period == "custom" else None,
        date_to=valid("date_to") if period == "custom" else None, priority=valid("priority"),
        status=valid("status"), assignee=valid("assignee"), opportunity_id=opportunity.id if opportunity else None,
        company_id=company.id if company else (-1 if form.company.errors else None), stage_id=valid("stage"),
        query=valid("q"),
    )
    sort = valid("sort") or "due"
    rows = service.list_tasks(g.workspace, filters, page, PER_PAGE, sort)
    totals = service.completion_totals(g.workspace, filters)
    if form.apply.data:
        record_filter(g.workspace, "task", filters.active() | {"sort": sort}, rows.total)
        session().commit()
    args: dict[str, Any] = current_query(apply=None)

    def page_url(number: int) -> str:
        return url_for("sandbox.tasks", **(args | {"page": number}))

    def period_url(value: str) -> str:
        kept = {k: v for k, v in args.items() if k not in ("period", "date_from", "date_to", "page")}
        return url_for("sandbox.tasks", **(kept | ({"period": value} if value else {}) | {"apply": "1"}))

    return render_template(
        "sandbox_crm/tasks/list.html", form=form, page=rows, totals=totals, filters=filters, opportunity=opportunity,
        page_url=page_url, period_url=period_url, quick_periods=QUICK_PERIODS, companies=company_suggestions(),
        assignees=service.assignees(g.workspace), progress_form=ProgressForm(formdata=None),
        is_overdue=service.is_overdue, today=local_today(),
    )


# --- add and edit ----------------------------------------------------------------------------

def _prepare(form: TaskForm, opportunity_id: int | None) -> None:
    form.opportunity_id.choices = opportunity_choices(opportunity_id)
    form.stage_id.choices = grouped_stage_choices(blank=_("— none —"))
    company_picker(form.company)


def _data(form: TaskForm, company: Company | None) -> dict:
    return {
        "title": form.title.data, "description": form.description.data,
        "due_at": service.due_at_from(form.due_date.data, form.due_time.data),
        "priority": form.priority.data, "status": form.status.data, "percent_complete": form.percent_complete.data,
        "assignee": form.assignee.data, "opportunity_id": form.opportunity_id.data, "stage_id": form.stage_id.data,
        "company_id": company.id if company else None, "contact_id": form.contact_id.data,
    }


def _form_page(form: TaskForm, task: Task | None, company_id: int | None, status: int):
    form.contact_id.choices = contact_choices(company_id, form.contact_id.data)
    return render_template("sandbox_crm/tasks/form.html", form=form, task=task,
                           companies=company_suggestions()), status


@bp.route("/w/<int:ws_id>/tasks/new", methods=["GET", "POST"])
@params(opportunity_id=ID, company_id=ID, next_url=NEXT)
def task_new(opportunity_id: int | None, company_id: int | None, next_url: str):
    """A new task; a link may preset its opportunity or company, and where to go back after saving."""
    form = TaskForm()
    company_arg, company_id = company_id, None
    if request.method == "GET":
        opportunity = get_or_404(Opportunity, g.workspace, opportunity_id) if opportunity_id else None
        company = get_or_404(Company, g.workspace, company_arg) if company_arg else None
        if opportunity is not None:
            form.opportunity_id.data, form.stage_id.data = opportunity.id, opportunity.stage_id
            company = company or opportunity.company
        if company is not None:
            form.company.data, company_id = company_reference(company), company.id
        form.due_date.data = local_today()
        form.next.data = safe_next("", next_url)
    _prepare(form, form.opportunity_id.data)
    if request.method == "POST":
        if form.validate_on_submit():
            ok, company = resolve_company(form.company)
            company_id = company.id if company else None
            if ok:
                try:
                    task = service.create_task(g.workspace, _data(form, company))
                except SalesError as error:
                    show_error(form, error)
                else:
                    session().commit()
                    flash(_("Task %(title)s added.", title=task.title), "success")
                    return redirect(safe_next(url_for("sandbox.tasks"), form.next.data, next_url))
        return _form_page(form, None, company_id, 400)
    return _form_page(form, None, company_id, 200)


@bp.route("/w/<int:ws_id>/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@params(next_url=NEXT)
def task_edit(task_id: int, next_url: str):
    task = get_or_404(Task, g.workspace, task_id)
    form = edit_form(TaskForm, task)
    company_id = task.company_id
    if request.method == "GET":
        local_due = to_local(task.due_at)
        form.due_date.data = local_due.date() if local_due else None
        form.due_time.data = local_due.time().replace(second=0, microsecond=0) if local_due else None
        form.company.data = company_reference(task.company)
        form.next.data = safe_next("", next_url)
    _prepare(form, form.opportunity_id.data)
    if request.method == "POST":
        if form.validate_on_submit():
            ok, company = resolve_company(form.company)
            company_id = company.id if company else None
            if ok:
                try:
                    service.update_task(g.workspace, task, _data(form, company))
                except SalesError as error:
                    session().rollback()
                    show_error(form, error)
                else:
                    session().commit()
                    flash(_("Task saved."), "success")
                    return redirect(safe_next(url_for("sandbox.tasks"), form.next.data, next_url))
        return _form_page(form, task, company_id, 400)
    return _form_page(form, task, company_id, 200)


@bp.route("/w/<int:ws_id>/tasks/<int:task_id>/progress", methods=["POST"])
@params(next_url=NEXT)
def task_progress(task_id: int, next_url: str):
    task = get_or_404(Task, g.workspace, task_id)
    form = ProgressForm()
    if not form.validate_on_submit():
        messages = [str(m) for m in form.percent_complete.errors] or [_("Give a number from 0 to 100.")]
        flash(_("%(title)s: %(error)s", title=task.title, error=" ".join(messages)), "error")
    else:
        try:
            service.set_progress(g.workspace, task, form.percent_complete.data)
        except SalesError as error:
            flash(_("%(title)s: %(error)s", title=task.title, error=str(error.message)), "error")
        else:
            session().commit()
            flash(_("%(title)s: %(n)d%% done.", title=task.title, n=task.percent_complete), "success")
    return redirect(safe_next(url_for("sandbox.tasks"), form.next.data, next_url), 303)


@bp.route("/w/<int:ws_id>/tasks/<int:task_id>/complete", methods=["POST"])
@params(next_url=NEXT)
def task_complete(task_id: int, next_url: str):
    task = get_or_404(Task, g.workspace, task_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.complete_task(g.workspace, task)
    except SalesError as error:
        flash(str(error.message), "info")
    else:
        session().commit()
        flash(_("Task %(title)s completed.", title=task.title), "success")
    return redirect(safe_next(url_for("sandbox.tasks"), form.next.data, next_url), 303)


@bp.route("/w/<int:ws_id>/tasks/<int:task_id>/delete", methods=["POST"])
@params(next_url=NEXT)
def task_delete(task_id: int, next_url: str):
    task = get_or_404(Task, g.workspace, task_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    title = task.title
    service.delete_task(g.workspace, task)
    session().commit()
    flash(_("Task %(title)s deleted.", title=title), "success")
    return redirect(safe_next(url_for("sandbox.tasks"), form.next.data, next_url), 303)


# --- completion ------------------------------------------------------------------------------

@bp.route("/w/<int:ws_id>/tasks/summary")
@params(pipeline_id=ID.named("pipeline"), page=PAGE)
def task_summary(pipeline_id: int | None, page: int):
    pipelines = list_pipelines(g.workspace)
    pipeline: Pipeline | None = get_or_404(Pipeline, g.workspace, pipeline_id) if pipeline_id else None
    by_stage = service.completion_by_stage(g.workspace, pipeline)
    by_opportunity = service.completion_by_opportunity(g.workspace, page, PER_PAGE)
    totals = service.completion_totals(g.workspace, service.TaskFilters())
    args: dict[str, Any] = current_query()
    return render_template(
        "sandbox_crm/tasks/summary.html", pipelines=pipelines, pipeline=pipeline, by_stage=by_stage,
        page=by_opportunity, totals=totals,
        page_url=lambda number: url_for("sandbox.task_summary", **(args | {"page": number})),
    )
