"""The operator's console: live progress of a session's theory test and the actions on it."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..forms import add_error, select_choices
from ..models import OperatorActionKind, Role, TheoryAttempt, ValidationSession
from ..security import roles_required
from ..theory import services
from .forms import ActionForm

bp = Blueprint("operator", __name__)


def _operated_session(session_id: int) -> ValidationSession:
    """The session, only for its own operator (404 for anyone else: no hint that it exists)."""
    session = db.get_or_404(ValidationSession, session_id)
    if session.operator_id != current_user.id:
        abort(404)
    return session


def _action_form(session: ValidationSession, rows: list[dict], form: ActionForm | None = None) -> ActionForm:
    form = form or ActionForm()
    form.target.choices = select_choices([(0, _("All candidates")), *((r["attempt_id"], r["candidate"]) for r in rows)])
    return form


def _render(session: ValidationSession, form: ActionForm | None = None, status: int = 200):
    rows = services.console_rows(session)
    return render_template("operator/console.html", session=session, rows=rows, form=_action_form(session, rows, form),
                           actions=services.session_actions(session)), status


@bp.route("/sessions/<int:session_id>")
@roles_required(Role.OPERATOR)
def console(session_id: int):
    return _render(_operated_session(session_id))


@bp.route("/sessions/<int:session_id>/status.json")
@roles_required(Role.OPERATOR)
def status(session_id: int):
    return jsonify(rows=services.console_rows(_operated_session(session_id)))


@bp.route("/sessions/<int:session_id>/actions", methods=["POST"])
@roles_required(Role.OPERATOR)
def act(session_id: int):
    session = _operated_session(session_id)
    rows = services.console_rows(session)
    form = _action_form(session, rows, ActionForm())
    if form.validate_on_submit():
        attempt = None
        if form.target.data:
            attempt = db.session.get(TheoryAttempt, form.target.data)
            if attempt is None or attempt.session_id != session.id:
                abort(404)
        try:
            services.operator_action(session, current_user, OperatorActionKind(form.kind.data), form.reason.data or "",
                                     attempt=attempt, minutes=form.minutes.data)
        except services.TheoryError as error:
            db.session.rollback()
            add_error(form.reason, str(error))
        else:
            flash(_("The action has been recorded."), "success")
            return redirect(url_for("operator.console", session_id=session.id))
    return _render(session, form, 400)
