"""Sales funnels: pipelines with a SMART goal, their stages, stage task templates and the schedule."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..blueprint import bp
from ..coaching import PLAIN_GOAL_LABELS, coaching_allowed
from ..forms.common import ConfirmForm, edit_form
from ..forms.sales import (
    CUSTOMER_TYPE_CHOICES,
    METRIC_LABELS,
    OFFER_KIND_CHOICES,
    SALES_FORM_CHOICES,
    PipelineForm,
    StageForm,
    StageTaskForm,
)
from ..host import session
from ..models.sales import Pipeline, PipelineStage, StageTask
from ..params import Date, Text, invalid_params, params
from ..registry import register_nav
from ..scoping import get_or_404
from ..services import opportunities as opp_service
from ..services import pipelines as service
from ..services.sales_util import SalesError, local_today, weighted_value
from ..services.smart import ELEMENT_LABELS, ELEMENTS, SmartReport, check_goal
from .sales_common import show_error

register_nav("sandbox.pipelines", _l("Sales pipelines"), 40)

GOAL_FIELDS = service.GOAL_FIELDS


def _require_csrf() -> None:
    """Refuse a button-only POST without a valid CSRF token (it has no form of its own to validate)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)


def _form_data(form: Any, fields: tuple[str, ...]) -> dict:
    return {name: getattr(form, name).data for name in fields if hasattr(form, name)}


def _flash_smart(obj: Any, what: str) -> None:
    """After saving, say which SMART elements the goal still misses (saving is never blocked by it);
    only where coaching is allowed: in an exam the verdict is the committee's, not the CRM's."""
    if not coaching_allowed(g.workspace):
        return
    report = service.goal_report(obj)
    if report.empty:
        return
    if report.ok:
        flash(_("The %(what)s goal meets all SMART criteria.", what=what), "success")
    else:
        missing = ", ".join(str(ELEMENT_LABELS[element]) for element in report.missing)
        flash(_("The %(what)s goal is not SMART yet: %(missing)s. See the hints next to the goal.",
                what=what, missing=missing), "warning")


@bp.route("/w/<int:ws_id>/pipelines/")
def pipelines():
    rows = service.list_pipelines(g.workspace)
    coaching = coaching_allowed(g.workspace)
    return render_template("sandbox_crm/pipelines/list.html", pipelines=rows,
                           stats=service.pipeline_stats(g.workspace),
                           reports={p.id: service.goal_report(p) for p in rows} if coaching else {})


@bp.route("/w/<int:ws_id>/pipelines/new", methods=["GET", "POST"])
def pipeline_new():
    form = PipelineForm()
    if form.validate_on_submit():
        try:
            pipeline = service.create_pipeline(g.workspace, _form_data(form, service.PIPELINE_FIELDS))
        except SalesError as error:
            show_error(form, error)
        else:
            session().commit()
            flash(_("Pipeline %(name)s created. Now add its stages.", name=pipeline.name)
                  if coaching_allowed(g.workspace) else _("Pipeline %(name)s created.", name=pipeline.name),
                  "success")
            _flash_smart(pipeline, _("pipeline"))
            return redirect(url_for("sandbox.pipeline", pipeline_id=pipeline.id))
    return render_template("sandbox_crm/pipelines/form.html", form=form, pipeline=None,
                           smart=_smart_hints(form))


def _smart_hints(form: Any) -> SmartReport | None:
    """The SMART check of the goal as the form holds it (what was typed, or the saved values), for
    the hints beside the goal fields; None where coaching is not allowed."""
    if not coaching_allowed(g.workspace):
        return None
    return check_goal(specific=form.goal_specific.data, metric=form.goal_metric.data,
                      target=form.goal_target.data, deadline=form.goal_deadline.data,
                      achievable=form.goal_achievable.data, relevance=form.goal_relevance.data,
                      today=local_today())


@bp.route("/w/<int:ws_id>/pipelines/<int:pipeline_id>")
def pipeline(pipeline_id: int):
    pipeline = get_or_404(Pipeline, g.workspace, pipeline_id)
    return _pipeline_page(pipeline, StageForm(formdata=None, probability=10))


def _pipeline_page(pipeline: Pipeline, stage_form: StageForm, status: int = 200):
    summary = opp_service.pipeline_summary(g.workspace, pipeline)
    coaching = coaching_allowed(g.workspace)
    return render_template(
        "sandbox_crm/pipelines/detail.html", pipeline=pipeline, stage_form=stage_form,
        report=service.goal_report(pipeline) if coaching else None,
        stage_reports={s.id: service.goal_report(s) for s in pipeline.stages} if coaching else {},
        summary=summary,
    ), status


@bp.route("/w/<int:ws_id>/pipelines/<int:pipeline_id>/edit", methods=["GET", "POST"])
def pipeline_edit(pipeline_id: int):
    pipeline = get_or_404(Pipeline, g.workspace, pipeline_id)
    form = edit_form(PipelineForm, pipeline)
    if form.validate_on_submit():
        try:
            service.update_pipeline(g.workspace, pipeline, _form_data(form, service.PIPELINE_FIELDS))
        except SalesError as error:
            show_error(form, error)
        else:
            session().commit()
            flash(_("Pipeline saved."), "success")
            _flash_smart(pipeline, _("pipeline"))
            return redirect(url_for("sandbox.pipeline", pipeline_id=pipeline.id))
    return render_template("sandbox_crm/pipelines/form.html", form=form, pipeline=pipeline,
                           smart=_smart_hints(form))


@bp.route("/w/<int:ws_id>/pipelines/<int:pipeline_id>/delete", methods=["POST"])
def pipeline_delete(pipeline_id: int):
    pipeline = get_or_404(Pipeline, g.workspace, pipeline_id)
    _require_csrf()
    name = pipeline.name
    try:
        service.delete_pipeline(g.workspace, pipeline)
    except SalesError as error:
        session().rollback()
        flash(str(error.message), "error")
        return redirect(url_for("sandbox.pipeline", pipeline_id=pipeline_id))
    session().commit()
    flash(_("Pipeline %(name)s deleted.", name=name), "success")
    return redirect(url_for("sandbox.pipelines"))


# --- stages ----------------------------------------------------------------------------------

@bp.route("/w/<int:ws_id>/pipelines/<int:pipeline_id>/stages", methods=["POST"])
def stage_add(pipeline_id: int):
    pipeline = get_or_404(Pipeline, g.workspace, pipeline_id)
    form = StageForm()
    if form.validate_on_submit():
        try:
            stage = service.add_stage(g.workspace, pipeline, _form_data(form, service.STAGE_FIELDS))
        except SalesError as error:
            show_error(form, error)
        else:
            session().commit()
            flash(_("Stage %(name)s added. Attach the tasks it needs.", name=stage.name)
                  if coaching_allowed(g.workspace) else _("Stage %(name)s added.", name=stage.name), "success")
            _flash_smart(stage, _("stage"))
            return redirect(url_for("sandbox.pipeline", pipeline_id=pipeline.id) + "#stages")
    return _pipeline_page(pipeline, form, 400)


@bp.route("/w/<int:ws_id>/stages/<int:stage_id>/edit", methods=["GET", "POST"])
def stage_edit(stage_id: int):
    stage = get_or_404(PipelineStage, g.workspace, stage_id)
    form = edit_form(StageForm, stage)
    if form.validate_on_submit():
        try:
            service.update_stage(g.workspace, stage, _form_data(form, service.STAGE_FIELDS))
        except SalesError as error:
            show_error(form, error)
        else:
            session().commit()
            flash(_("Stage saved."), "success")
            _flash_smart(stage, _("stage"))
            return redirect(url_for("sandbox.stage_edit", stage_id=stage.id))
    return _stage_page(stage, form, StageTaskForm(formdata=None), 400 if form.errors else 200)


def _stage_page(stage: PipelineStage, form: StageForm, task_form: StageTaskForm, status: int = 200):
    return render_template("sandbox_crm/pipelines/stage.html", stage=stage, pipeline=stage.pipeline, form=form,
                           task_form=task_form, smart=_smart_hints(form)), status


@bp.route("/w/<int:ws_id>/stages/<int:stage_id>/move/<direction>", methods=["POST"])
def stage_move(stage_id: int, direction: str):
    stage = get_or_404(PipelineStage, g.workspace, stage_id)
    if direction not in ("up", "down"):
        abort(404)
    _require_csrf()
    pipeline_id = stage.pipeline_id
    try:
        service.move_stage(g.workspace, stage, direction)
    except SalesError as error:
        flash(str(error.message), "error")
    else:
        session().commit()
    return redirect(url_for("sandbox.pipeline", pipeline_id=pipeline_id) + "#stages")


@bp.route("/w/<int:ws_id>/stages/<int:stage_id>/delete", methods=["POST"])
def stage_delete(stage_id: int):
    stage = get_or_404(PipelineStage, g.workspace, stage_id)
    _require_csrf()
    pipeline_id, name = stage.pipeline_id, stage.name
    try:
        service.delete_stage(g.workspace, stage)
    except SalesError as error:
        session().rollback()
        flash(str(error.message), "error")
    else:
        session().commit()
        flash(_("Stage %(name)s deleted.", name=name), "success")
    return redirect(url_for("sandbox.pipeline", pipeline_id=pipeline_id) + "#stages")


# --- stage task templates --------------------------------------------------------------------

@bp.route("/w/<int:ws_id>/stages/<int:stage_id>/tasks", methods=["POST"])
def stage_task_add(stage_id: int):
    stage = get_or_404(PipelineStage, g.workspace, stage_id)
    task_form = StageTaskForm()
    if task_form.validate_on_submit():
        try:
            template = service.add_stage_task(g.workspace, stage, _form_data(task_form, service.STAGE_TASK_FIELDS))
        except SalesError as error:
            show_error(task_form, error)
        else:
            session().commit()
            flash(_("Task %(title)s attached to the stage.", title=template.title), "success")
            return redirect(url_for("sandbox.stage_edit", stage_id=stage.id) + "#tasks")
    return _stage_page(stage, StageForm(formdata=None, obj=stage), task_form, 400)


@bp.route("/w/<int:ws_id>/stage-tasks/<int:template_id>/edit", methods=["GET", "POST"])
def stage_task_edit(template_id: int):
    template = get_or_404(StageTask, g.workspace, template_id)
    form = edit_form(StageTaskForm, template)
    if form.validate_on_submit():
        try:
            service.update_stage_task(g.workspace, template, _form_data(form, service.STAGE_TASK_FIELDS))
        except SalesError as error:
            show_error(form, error)
        else:
            session().commit()
            flash(_("Task saved."), "success")
            return redirect(url_for("sandbox.stage_edit", stage_id=template.stage_id) + "#tasks")
    return render_template("sandbox_crm/pipelines/stage_task.html", form=form, template=template,
                           stage=template.stage), 400 if form.errors else 200


@bp.route("/w/<int:ws_id>/stage-tasks/<int:template_id>/delete", methods=["POST"])
def stage_task_delete(template_id: int):
    template = get_or_404(StageTask, g.workspace, template_id)
    _require_csrf()
    stage_id = template.stage_id
    service.delete_stage_task(g.workspace, template)
    session().commit()
    flash(_("Task removed from the stage."), "success")
    return redirect(url_for("sandbox.stage_edit", stage_id=stage_id) + "#tasks")


# --- schedule --------------------------------------------------------------------------------

@bp.route("/w/<int:ws_id>/pipelines/<int:pipeline_id>/schedule")
@params(start=Date(), typed_start=Text(max=30).named("start"))
def pipeline_schedule(pipeline_id: int, start: date | None, typed_start: str):
    """The pipeline's stages laid out in time from ``?start=`` (today by default)."""
    pipeline = get_or_404(Pipeline, g.workspace, pipeline_id)
    start_error = _("Enter a date as YYYY-MM-DD or pick it from the calendar.") if "start" in invalid_params() else None
    start = start or local_today()
    schedule = service.pipeline_schedule(pipeline, start)
    return render_template("sandbox_crm/pipelines/schedule.html", pipeline=pipeline, schedule=schedule,
                           start=start, typed_start=typed_start or start.isoformat(), start_error=start_error,
                           today=local_today())


@bp.app_context_processor
def sales_labels() -> dict:
    """Labels the sales templates share (SMART elements, goal measures, the goal fields' neutral labels)."""
    return {"smart_elements": ELEMENTS, "smart_labels": ELEMENT_LABELS, "metric_labels": METRIC_LABELS,
            "plain_goal_labels": PLAIN_GOAL_LABELS,
            "customer_type_labels": dict(CUSTOMER_TYPE_CHOICES), "offer_kind_labels": dict(OFFER_KIND_CHOICES),
            "sales_form_labels": dict(SALES_FORM_CHOICES), "weighted_value": weighted_value,
            "today_local": local_today()}
