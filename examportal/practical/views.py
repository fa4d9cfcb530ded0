"""The candidate's practical exam: start, work beside the task sheet, finish; free practice."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..access import own_enrolment_or_404
from ..forms import add_error, select_choices
from ..i18n import local_datetime
from ..models import Enrolment, Role, utcnow
from ..security import is_safe_local_path, roles_required
from . import services
from .forms import AnswerForm, FinishForm, PracticeForm, StartForm

bp = Blueprint("practical", __name__)



def _practice_form(scenarios) -> PracticeForm:
    form = PracticeForm()
    form.scenario.choices = select_choices((s.code, s.title.for_locale(str(get_locale()))) for s in scenarios)
    return form


def _answer_rows(attempt, scenario, failed: AnswerForm | None = None, failed_task: int | None = None) -> list:
    """(task, form, saved answer) for each task of the sheet asking for an answer; the form that was
    refused keeps what the candidate typed, with its errors."""
    if attempt is None or scenario is None:
        return []
    saved = services.saved_answers(attempt)
    return [(task, failed if failed is not None and task.number == failed_task
             else AnswerForm(formdata=None, text=saved.get(task.number, "")), saved.get(task.number))
            for task in services.answer_tasks(scenario)]


def _overview(enrolment: Enrolment, start_form=None, finish_form=None, practice_form=None, status: int = 200,
              answer_form: AnswerForm | None = None, answer_task: int | None = None):
    attempt = services.attempt_for(enrolment)
    if attempt is not None:
        services.expire_if_overdue(attempt)
    try:
        practice = services.scenarios_for(enrolment.session.qualification, "practice")
        error = None
    except services.PracticalError as exc:
        practice, error = [], str(exc)
    scenario = None
    if attempt is not None and not error:
        scenario = services.attempt_scenario(attempt)
    return render_template(
        "practical/overview.html", enrolment=enrolment, attempt=attempt, scenario=scenario, error=error,
        refusal=services.eligibility_refusal(enrolment) if attempt is None else None,
        seconds_left=services.seconds_left(attempt, utcnow()) if attempt else 0,
        ends_at=services.ends_at(attempt, utcnow()) if attempt and attempt.is_running else None,
        paused=attempt is not None and services.is_paused(attempt),
        paused_message=services.paused_message(),
        answers=_answer_rows(attempt, scenario, answer_form, answer_task),
        may_answer=attempt is not None and services.answer_refusal(attempt) is None,
        start_form=start_form or StartForm(), finish_form=finish_form or FinishForm(),
        practice_form=practice_form or _practice_form(practice),
        practice_workspaces=services.practice_workspaces(current_user),
        practice_titles={s.code: s.title.for_locale(str(get_locale())) for s in practice},
    ), status


@bp.route("/enrolments/<int:enrolment_id>")
@roles_required(Role.CANDIDATE)
def overview(enrolment_id: int):
    return _overview(own_enrolment_or_404(enrolment_id))


@bp.route("/enrolments/<int:enrolment_id>/status.json")
@roles_required(Role.CANDIDATE)
def status(enrolment_id: int):
    """The exam's clock for the countdown beside the CRM: it follows the operator's extra time,
    pause and resume without a reload."""
    attempt = services.attempt_for(own_enrolment_or_404(enrolment_id))
    if attempt is None:
        abort(404)
    state = services.clock(attempt)
    until = _("until %(time)s", time=local_datetime(services.ends_at(attempt, utcnow()))) if state["running"] else ""
    return jsonify(state | {"until_text": until})


@bp.route("/enrolments/<int:enrolment_id>/start", methods=["POST"])
@roles_required(Role.CANDIDATE)
def start(enrolment_id: int):
    enrolment = own_enrolment_or_404(enrolment_id)
    form = StartForm()
    if not form.validate_on_submit():
        return _overview(enrolment, start_form=form, status=400)
    try:
        attempt = services.start(enrolment)
    except services.PracticalError as error:
        flash(str(error), "danger")
        return _overview(enrolment, start_form=form, status=409)
    return redirect(url_for("sandbox.dashboard", ws_id=attempt.workspace_id))


@bp.route("/enrolments/<int:enrolment_id>/finish", methods=["POST"])
@roles_required(Role.CANDIDATE)
def finish(enrolment_id: int):
    enrolment = own_enrolment_or_404(enrolment_id)
    attempt = services.attempt_for(enrolment)
    if attempt is None:
        abort(404)
    form = FinishForm()
    if not form.validate_on_submit():
        return _overview(enrolment, finish_form=form, status=400)
    try:
        services.finish(attempt)
    except services.PracticalError:
        # Refused while the operator has the exam paused: the page says so beside the clock.
        return _overview(enrolment, finish_form=form, status=409)
    flash(_("Your practical exam has ended. The committee will assess your work."), "success")
    return redirect(url_for("practical.overview", enrolment_id=enrolment.id))


@bp.route("/enrolments/<int:enrolment_id>/answers/<int:task_number>", methods=["POST"])
@roles_required(Role.CANDIDATE)
def answer(enrolment_id: int, task_number: int):
    """Save what the candidate read in the CRM beside a task of the sheet, then go back to the page
    they were on; a refusal shows on the exam page with the typed text kept."""
    enrolment = own_enrolment_or_404(enrolment_id)
    attempt = services.attempt_for(enrolment)
    if attempt is None:
        abort(404)
    try:
        if not services.has_answer_field(attempt, task_number):
            abort(404)
    except services.PracticalError:
        pass  # the scenario cannot be read now: save_answer refuses with the reason
    form = AnswerForm()
    if not form.validate_on_submit():
        return _overview(enrolment, answer_form=form, answer_task=task_number, status=400)
    try:
        services.save_answer(attempt, task_number, form.text.data or "")
    except services.PracticalError as error:
        add_error(form.text, str(error))
        return _overview(enrolment, answer_form=form, answer_task=task_number, status=409)
    flash(_("Your answer to task %(number)d is saved.", number=task_number), "success")
    target = form.next.data if is_safe_local_path(form.next.data) else None
    return redirect(target or url_for("practical.overview", enrolment_id=enrolment.id), 303)


@bp.route("/enrolments/<int:enrolment_id>/practice", methods=["POST"])
@roles_required(Role.CANDIDATE)
def practice(enrolment_id: int):
    enrolment = own_enrolment_or_404(enrolment_id)
    try:
        scenarios = services.scenarios_for(enrolment.session.qualification, "practice")
    except services.PracticalError as error:
        flash(str(error), "danger")
        return _overview(enrolment, status=409)
    form = _practice_form(scenarios)
    if not form.validate_on_submit():
        return _overview(enrolment, practice_form=form, status=400)
    try:
        workspace = services.open_practice(current_user, enrolment.session.qualification, form.scenario.data)
    except services.PracticalError as error:
        flash(str(error), "danger")
        return _overview(enrolment, practice_form=form, status=409)
    return redirect(url_for("sandbox.dashboard", ws_id=workspace.workspace_id))
