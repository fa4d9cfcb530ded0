"""The candidate's practical exam: start, work beside the task sheet, finish; free practice."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..forms import select_choices
from ..models import Enrolment, Role, utcnow
from ..security import roles_required
from . import services
from .forms import FinishForm, PracticeForm, StartForm

bp = Blueprint("practical", __name__)


def _own_enrolment(enrolment_id: int) -> Enrolment:
    enrolment = db.get_or_404(Enrolment, enrolment_id)
    if enrolment.candidate_id != current_user.id:
        abort(404)
    return enrolment


def _practice_form(scenarios) -> PracticeForm:
    form = PracticeForm()
    form.scenario.choices = select_choices((s.code, s.title.for_locale(str(get_locale()))) for s in scenarios)
    return form


def _overview(enrolment: Enrolment, start_form=None, finish_form=None, practice_form=None, status: int = 200):
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
        scenario = services.scenario_of(enrolment.session.qualification, attempt.scenario_code)
    return render_template(
        "practical/overview.html", enrolment=enrolment, attempt=attempt, scenario=scenario, error=error,
        refusal=services.eligibility_refusal(enrolment) if attempt is None else None,
        seconds_left=services.seconds_left(attempt, utcnow()) if attempt else 0,
        start_form=start_form or StartForm(), finish_form=finish_form or FinishForm(),
        practice_form=practice_form or _practice_form(practice),
        practice_workspaces=services.practice_workspaces(current_user),
        practice_titles={s.code: s.title.for_locale(str(get_locale())) for s in practice},
    ), status


@bp.route("/enrolments/<int:enrolment_id>")
@roles_required(Role.CANDIDATE)
def overview(enrolment_id: int):
    return _overview(_own_enrolment(enrolment_id))


@bp.route("/enrolments/<int:enrolment_id>/start", methods=["POST"])
@roles_required(Role.CANDIDATE)
def start(enrolment_id: int):
    enrolment = _own_enrolment(enrolment_id)
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
    enrolment = _own_enrolment(enrolment_id)
    attempt = services.attempt_for(enrolment)
    if attempt is None:
        abort(404)
    form = FinishForm()
    if not form.validate_on_submit():
        return _overview(enrolment, finish_form=form, status=400)
    services.finish(attempt)
    flash(_("Your practical exam has ended. The committee will assess your work."), "success")
    return redirect(url_for("practical.overview", enrolment_id=enrolment.id))


@bp.route("/enrolments/<int:enrolment_id>/practice", methods=["POST"])
@roles_required(Role.CANDIDATE)
def practice(enrolment_id: int):
    enrolment = _own_enrolment(enrolment_id)
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
