"""Opportunities: the filtered list, add and edit, the detail page (tasks, history, move,
won/lost), and the kanban board with its per-stage values."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ..blueprint import bp
from ..forms.choices import choices
from ..forms.common import ConfirmForm, edit_form
from ..forms.sales import CloseForm, MoveForm, OpportunityFilterForm, OpportunityForm, TaskForm
from ..host import session
from ..labels import percent_text
from ..models import Company
from ..models.sales import Opportunity, Pipeline, PipelineStage
from ..params import ID, NEXT, PAGE, QueryForm, current_query, params
from ..registry import register_nav
from ..scoping import get_or_404, scoped
from ..services import opportunities as service
from ..services.pipelines import first_stage, list_pipelines
from ..services.sales_util import SalesError, local_today
from .helpers import company_reference, resolve_company
from .sales_common import (
    company_picker,
    company_suggestions,
    contact_choices,
    filter_company,
    grouped_stage_choices,
    safe_next,
    sales_amount,
    show_error,
    valid_data,
    wants_json,
)

register_nav("sandbox.opportunities", _l("Opportunities"), 50)
register_nav("sandbox.board", _l("Sales board"), 55)

PER_PAGE = 50


def _get(opportunity_id: int) -> Opportunity:
    opportunity = service.get_opportunity(g.workspace, opportunity_id)
    if opportunity is None:
        abort(404)
    return opportunity


def list_url(**args: Any) -> str:
    """The list's URL with ``args`` (the "apply" marker dropped: paging is not filtering again)."""
    args.pop("apply", None)
    return url_for("sandbox.opportunities", **args)


# --- list ------------------------------------------------------------------------------------

@bp.route("/w/<int:ws_id>/opportunities/")
@params(form=QueryForm(OpportunityFilterForm), company_id=ID, page=PAGE)
def opportunities(form: OpportunityFilterForm, company_id: int | None, page: int):
    _filter_form(form, list_pipelines(g.workspace))
    company = filter_company(form, company_id)

    def valid(name: str) -> Any:
        return valid_data(form, name)

    filters = service.OpportunityFilters(
        pipeline_id=valid("pipeline"), stage_id=valid("stage"), status=valid("status"),
        company_id=company.id if company else None, value_min=valid("value_min"), value_max=valid("value_max"),
        close_from=valid("close_from"), close_to=valid("close_to"), query=valid("q"),
    )
    if form.company.errors:
        # A company that cannot be told apart must not silently widen the list to every company.
        filters.company_id = -1
    sort = valid("sort") or "close"
    rows = service.list_opportunities(g.workspace, filters, page, PER_PAGE, sort)
    totals = service.filter_totals(g.workspace, filters)
    if form.apply.data:
        service.record_filter(g.workspace, "opportunity", filters.active() | {"sort": sort}, rows.total)
        session().commit()
    args = current_query()
    return render_template(
        "sandbox_crm/opportunities/list.html", form=form, page=rows, totals=totals, filters=filters,
        page_url=lambda number: list_url(**(args | {"page": number})), companies=company_suggestions(),
    )


def _filter_form(form: OpportunityFilterForm, pipelines: list[Pipeline]) -> OpportunityFilterForm:
    """The filter form read from the query string, validated (a bad value is shown, not used)."""
    form.pipeline.choices = choices([("", _("Any"))] + [(p.id, p.name) for p in pipelines])
    form.stage.choices = grouped_stage_choices(blank=_("Any"))
    form.validate()
    return form


# --- add and edit ----------------------------------------------------------------------------

def _form_page(form: OpportunityForm, opportunity: Opportunity | None, company_id: int | None, status: int):
    company_picker(form.company)
    form.contact_id.choices = contact_choices(company_id, form.contact_id.data)
    return render_template("sandbox_crm/opportunities/form.html", form=form, opportunity=opportunity,
                           companies=company_suggestions(), has_stages=bool(form.stage_id.choices)), status


def _form_data(form: OpportunityForm, company: Company) -> dict:
    return {"name": form.name.data, "company_id": company.id, "contact_id": form.contact_id.data,
            "stage_id": form.stage_id.data, "value": form.value.data, "currency": form.currency.data,
            "expected_close_date": form.expected_close_date.data, "owner_name": form.owner_name.data,
            "description": form.description.data}


@bp.route("/w/<int:ws_id>/opportunities/new", methods=["GET", "POST"])
@params(company_id=ID, stage_id=ID, pipeline=ID)
def opportunity_new(company_id: int | None, stage_id: int | None, pipeline: int | None):
    """A new opportunity; a link may preset its company, its stage or its pipeline (the first stage)."""
    form = OpportunityForm()
    form.stage_id.choices = grouped_stage_choices()
    company_arg, company_id = company_id, None
    if request.method == "GET":
        preset = get_or_404(Company, g.workspace, company_arg) if company_arg else None
        if preset is not None:
            form.company.data, company_id = company_reference(preset), preset.id
        stage = get_or_404(PipelineStage, g.workspace, stage_id) if stage_id else None
        if stage is None:
            pipelines = list_pipelines(g.workspace)
            chosen = next((p for p in pipelines if p.id == pipeline), pipelines[0] if pipelines else None)
            stage = first_stage(chosen) if chosen else None
        if stage is not None:
            form.stage_id.data = stage.id
            form.currency.data = stage.pipeline.currency
    elif form.validate_on_submit():
        ok, company = resolve_company(form.company)
        company_id = company.id if company else None
        if ok and company is not None:
            try:
                opportunity = service.create_opportunity(g.workspace, _form_data(form, company))
            except SalesError as error:
                show_error(form, error)
            else:
                session().commit()
                made = len(opportunity.stage.task_templates)
                flash(_("Opportunity %(name)s created in stage %(stage)s.", name=opportunity.name,
                        stage=opportunity.stage.name), "success")
                if made:
                    flash(ngettext("%(num)d task of the stage was added to it.", "%(num)d tasks of the stage were added to it.", made), "info")
                return redirect(url_for("sandbox.opportunity", opportunity_id=opportunity.id))
    else:
        _ok, company = resolve_company(form.company) if form.company.data else (True, None)
        company_id = company.id if company else None
    return _form_page(form, None, company_id, 400 if request.method == "POST" else 200)


@bp.route("/w/<int:ws_id>/opportunities/<int:opportunity_id>/edit", methods=["GET", "POST"])
def opportunity_edit(opportunity_id: int):
    opportunity = _get(opportunity_id)
    form = edit_form(OpportunityForm, opportunity)
    form.stage_id.choices = grouped_stage_choices()
    company_id: int | None = opportunity.company_id
    if request.method == "GET":
        form.company.data = company_reference(opportunity.company)
    elif form.validate_on_submit():
        ok, company = resolve_company(form.company)
        company_id = company.id if company else None
        if ok and company is not None:
            try:
                service.update_opportunity(g.workspace, opportunity, _form_data(form, company))
            except SalesError as error:
                session().rollback()
                show_error(form, error)
            else:
                session().commit()
                flash(_("Opportunity saved."), "success")
                return redirect(url_for("sandbox.opportunity", opportunity_id=opportunity.id))
    return _form_page(form, opportunity, company_id, 400 if request.method == "POST" else 200)


# --- detail, move, close ---------------------------------------------------------------------

@bp.route("/w/<int:ws_id>/opportunities/<int:opportunity_id>")
def opportunity(opportunity_id: int):
    opportunity = _get(opportunity_id)
    close_form = CloseForm(formdata=None)
    return _detail_page(opportunity, close_form)


def _detail_page(opportunity: Opportunity, close_form: CloseForm, status: int = 200):
    move_form = MoveForm(formdata=None, stage_id=opportunity.stage_id)
    move_form.stage_id.choices = choices((s.id, f"{s.position}. {s.name} ({s.probability}%)")
                                         for s in opportunity.pipeline.stages)
    task_form = TaskForm(formdata=None, opportunity_id=opportunity.id, stage_id=opportunity.stage_id)
    task_form.stage_id.choices = choices([("", _("— none —"))] + [(s.id, s.name) for s in opportunity.pipeline.stages])
    tasks = service.opportunity_tasks(g.workspace, opportunity)
    return render_template(
        "sandbox_crm/opportunities/detail.html", opportunity=opportunity, move_form=move_form,
        close_form=close_form, task_form=task_form, tasks=tasks,
        weighted=service.weighted_value(opportunity.value, opportunity.stage.probability), now_day=local_today(),
    ), status


@bp.route("/w/<int:ws_id>/opportunities/<int:opportunity_id>/move", methods=["POST"])
@params(next_url=NEXT)
def opportunity_move(opportunity_id: int, next_url: str):
    """Move to another stage: from the board's drag and drop (JSON) or the "Move to" form."""
    opportunity = _get(opportunity_id)
    form = MoveForm()
    form.stage_id.choices = choices((s.id, s.name) for s in opportunity.pipeline.stages)
    if not form.validate_on_submit():
        return _move_refused(opportunity, _("Choose a stage to move to."), 400)
    stage = session().scalar(scoped(PipelineStage, g.workspace).where(PipelineStage.id == form.stage_id.data))
    if stage is None:
        abort(404)
    if stage.pipeline_id != opportunity.pipeline_id:
        return _move_refused(opportunity, _("That stage is not in this opportunity's pipeline."), 400)
    from_stage = opportunity.stage
    try:
        tasks = service.move_opportunity(g.workspace, opportunity, stage, form.note.data)
    except SalesError as error:
        session().rollback()
        back = safe_next(url_for("sandbox.opportunity", opportunity_id=opportunity.id), form.next.data, next_url)
        return _move_refused(opportunity, str(error.message), 409, back)
    session().commit()
    message = _("%(name)s moved from %(from)s to %(to)s.", name=opportunity.name, **{"from": from_stage.name},
                to=stage.name)
    if tasks:
        message += " " + ngettext("%(num)d task of the stage was added.", "%(num)d tasks of the stage were added.", len(tasks))
    if wants_json():
        summary = service.pipeline_summary(g.workspace, opportunity.pipeline)
        currency = opportunity.pipeline.currency
        return jsonify({
            "ok": True, "message": message, "stage_id": stage.id, "tasks_created": [t.title for t in tasks],
            "columns": {str(row.stage.id): {
                "count": row.count, "value": sales_amount(row.value, currency),
                "weighted": sales_amount(row.weighted, currency), "average": sales_amount(row.average, currency),
                "share": percent_text(summary.share(row))} for row in summary.stages},
            "totals": {"count": summary.open_count, "value": sales_amount(summary.open_value, currency),
                       "weighted": sales_amount(summary.weighted, currency)},
        })
    flash(message, "success")
    return redirect(safe_next(url_for("sandbox.opportunity", opportunity_id=opportunity.id), form.next.data, next_url), 303)


def _move_refused(opportunity: Opportunity, message: str, status: int, back: str | None = None):
    if wants_json():
        return jsonify({"ok": False, "message": message}), status
    if status == 409:
        flash(message, "error")
        return redirect(back or url_for("sandbox.opportunity", opportunity_id=opportunity.id), 303)
    abort(status, description=message)


@bp.route("/w/<int:ws_id>/opportunities/<int:opportunity_id>/close", methods=["POST"])
def opportunity_close(opportunity_id: int):
    opportunity = _get(opportunity_id)
    form = CloseForm()
    if form.validate_on_submit():
        try:
            service.close_opportunity(g.workspace, opportunity, form.outcome.data == "won", form.reason.data)
        except SalesError as error:
            session().rollback()
            show_error(form, error)
        else:
            session().commit()
            flash(_("Opportunity marked as won.") if opportunity.status == "won" else
                  _("Opportunity marked as lost."), "success")
            return redirect(url_for("sandbox.opportunity", opportunity_id=opportunity.id))
    return _detail_page(opportunity, form, 400)


@bp.route("/w/<int:ws_id>/opportunities/<int:opportunity_id>/reopen", methods=["POST"])
def opportunity_reopen(opportunity_id: int):
    opportunity = _get(opportunity_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            service.reopen_opportunity(g.workspace, opportunity)
        except SalesError as error:
            flash(str(error.message), "error")
        else:
            session().commit()
            flash(_("Opportunity reopened."), "success")
    return redirect(url_for("sandbox.opportunity", opportunity_id=opportunity.id))


@bp.route("/w/<int:ws_id>/opportunities/<int:opportunity_id>/delete", methods=["POST"])
def opportunity_delete(opportunity_id: int):
    opportunity = _get(opportunity_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    name = opportunity.name
    service.delete_opportunity(g.workspace, opportunity)
    session().commit()
    flash(_("Opportunity %(name)s deleted.", name=name), "success")
    return redirect(url_for("sandbox.opportunities"))


# --- board -----------------------------------------------------------------------------------

@bp.route("/w/<int:ws_id>/board")
@params(form=QueryForm(OpportunityFilterForm), pipeline_id=ID.named("pipeline"))
def board(form: OpportunityFilterForm, pipeline_id: int | None):
    pipelines = list_pipelines(g.workspace)
    pipeline = get_or_404(Pipeline, g.workspace, pipeline_id) if pipeline_id else next(iter(pipelines), None)
    if pipeline is None:
        return render_template("sandbox_crm/opportunities/board.html", pipelines=[], pipeline=None)
    _filter_form(form, pipelines)
    close_from = None if form.close_from.errors else form.close_from.data
    close_to = None if form.close_to.errors else form.close_to.data
    summary = service.pipeline_summary(g.workspace, pipeline, cards_per_stage=service.BOARD_CARDS_PER_STAGE,
                                       close_from=close_from, close_to=close_to)
    if form.apply.data:
        recorded: dict[str, Any] = {"pipeline_id": pipeline.id}
        if close_from:
            recorded["close_from"] = close_from.isoformat()
        if close_to:
            recorded["close_to"] = close_to.isoformat()
        service.record_filter(g.workspace, "board", recorded, summary.open_count)
        session().commit()
    stage_options = [(s.id, f"{s.position}. {s.name}") for s in pipeline.stages]
    return render_template("sandbox_crm/opportunities/board.html", pipelines=pipelines, pipeline=pipeline,
                           summary=summary, form=form, stage_options=stage_options,
                           move_form=MoveForm(formdata=None), cards_limit=service.BOARD_CARDS_PER_STAGE)
