"""The operator's console: live progress of a session's theory test and practical exam, and the actions on them."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # types-WTForms predates WTForms 3.3

from ..access import operated_session_or_404, row_or_404
from ..committee import services as committee_services
from ..extensions import db
from ..forms import add_error, select_choices
from ..models import (
    AttemptStatus,
    Enrolment,
    OperatorActionKind,
    PracticalAttempt,
    PracticalStatus,
    Role,
    TheoryAttempt,
    ValidationSession,
)
from ..practical import services as practical_services
from ..security import roles_required
from ..theory import services
from ..theory.errors import TheoryError
from . import services as operator_services
from .forms import ALL, PRACTICAL, AbsenceForm, ActionForm

bp = Blueprint("operator", __name__)

# How the candidate's browser stands with the server (theory.clock.connection_state).
CONNECTION_LABELS = {"online": _l("online"), "stale": _l("stale"), "offline": _l("offline"),
                     "never": _l("not yet connected")}
# How the session record names an action on a practical exam (the kinds' own labels speak of the test).
PRACTICAL_ACTION_LABELS = {
    OperatorActionKind.EXTRA_TIME: _l("time added to the practical exam"),
    OperatorActionKind.PAUSE: _l("practical exam paused"),
    OperatorActionKind.RESUME: _l("practical exam resumed"),
    OperatorActionKind.INCIDENT: _l("incident in the practical exam"),
}


def _shown(row: dict[str, Any]) -> dict[str, Any]:
    """A console row with what the page shows, in the operator's language (the live refresh puts
    these texts in as they are): statuses named, "—" for answers before the test has questions,
    the last contact in the institution's time zone."""
    contact = row["last_contact_at"]
    return row | {
        "status_label": AttemptStatus(row["status"]).label,
        "connection_label": str(CONNECTION_LABELS.get(row["connection"], row["connection"])),
        "answered_text": f"{row['answered']} / {row['items']}" if row["items"] else "—",
        "last_contact": format_datetime(datetime.fromisoformat(contact), "medium") if contact else "—",
    }


def _shown_practical(row: dict[str, Any]) -> dict[str, Any]:
    """A practical console row with its status named and its end in the institution's time zone."""
    status = AttemptStatus.PAUSED.label if row["status"] == "paused" else PracticalStatus(row["status"]).label
    end = row["ends_at"]
    return row | {"status_label": str(status),
                  "ends_text": format_datetime(datetime.fromisoformat(end), "medium") if end else "—"}


def _action_form(session: ValidationSession, rows: list[dict], practical_rows: list[dict],
                 form: ActionForm | None = None) -> ActionForm:
    """The one action form, its targets grouped by part: the whole session or a candidate's theory
    test, and each candidate's practical exam."""
    form = form or ActionForm()
    theory, practical = _("Theory test"), _("Practical exam")
    form.target.choices = [
        SelectChoice(ALL, _("All candidates"), optgroup=theory),
        *(SelectChoice(str(r["attempt_id"]), r["candidate"], optgroup=theory) for r in rows),
        *(SelectChoice(f"{PRACTICAL}{r['practical_attempt_id']}", r["candidate"], optgroup=practical)
          for r in practical_rows)]
    return form


def _target(session: ValidationSession, value: str) -> TheoryAttempt | PracticalAttempt | None:
    """The attempt the action form names (None: the whole session); 404 for another session's."""
    if value == ALL:
        return None
    if value.startswith(PRACTICAL):
        return row_or_404(PracticalAttempt, int(value.removeprefix(PRACTICAL)), session_id=session.id)
    return row_or_404(TheoryAttempt, int(value), session_id=session.id)


def _absence_form(session: ValidationSession, form: AbsenceForm | None = None) -> AbsenceForm:
    """Candidates who may be recorded absent from the practical part: enrolled, not started it, not recorded yet."""
    form = form or AbsenceForm()
    form.enrolment_id.choices = select_choices(
        (e.id, e.candidate.full_name) for e in session.enrolments
        if committee_services.practical_state(e) == "missing" and e.status.value == "enrolled")
    return form


def _render(session: ValidationSession, form: ActionForm | None = None, status: int = 200,
            absence_form: AbsenceForm | None = None):
    rows = [_shown(row) for row in services.console_rows(session)]
    practical_rows = [_shown_practical(row) for row in practical_services.console_rows(session)]
    return render_template("operator/console.html", session=session, rows=rows, practical_rows=practical_rows,
                           form=_action_form(session, rows, practical_rows, form),
                           absence_form=_absence_form(session, absence_form),
                           absent=[e for e in session.enrolments if e.absent_from_practical],
                           recognised=services.recognised_enrolments(session),
                           actions=operator_services.session_actions(session),
                           practical_labels=PRACTICAL_ACTION_LABELS), status


@bp.route("/sessions/<int:session_id>")
@roles_required(Role.OPERATOR)
def console(session_id: int):
    session = operated_session_or_404(session_id)
    services.open_console(session)
    return _render(session)


@bp.route("/sessions/<int:session_id>/status.json")
@roles_required(Role.OPERATOR)
def status(session_id: int):
    session = operated_session_or_404(session_id)
    services.open_console(session)
    return jsonify(rows=[_shown(row) for row in services.console_rows(session)],
                   practical=[_shown_practical(row) for row in practical_services.console_rows(session)])


@bp.route("/sessions/<int:session_id>/actions", methods=["POST"])
@roles_required(Role.OPERATOR)
def act(session_id: int):
    session = operated_session_or_404(session_id)
    form = _action_form(session, services.console_rows(session), practical_services.console_rows(session), ActionForm())
    if form.validate_on_submit():
        target = _target(session, form.target.data or ALL)
        kind, reason, minutes = OperatorActionKind(form.kind.data), form.reason.data or "", form.minutes.data
        try:
            if isinstance(target, PracticalAttempt):
                practical_services.operator_action(session, current_user, kind, reason, target, minutes=minutes)
            else:
                services.operator_action(session, current_user, kind, reason, attempt=target, minutes=minutes)
        except (TheoryError, practical_services.PracticalError) as error:
            db.session.rollback()
            add_error(form.reason, str(error))
        else:
            flash(_("The action has been recorded."), "success")
            return redirect(url_for("operator.console", session_id=session.id))
    return _render(session, form, 400)


@bp.route("/sessions/<int:session_id>/absence", methods=["POST"])
@roles_required(Role.OPERATOR)
def record_absence(session_id: int):
    """Record a candidate absent from the practical part (audited; its criteria are then not met)."""
    session = operated_session_or_404(session_id)
    form = _absence_form(session, AbsenceForm())
    if form.validate_on_submit():
        enrolment = row_or_404(Enrolment, form.enrolment_id.data, session_id=session.id)
        try:
            committee_services.record_practical_absence(current_user, enrolment, form.note.data or "")
        except committee_services.CommitteeRuleError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            flash(_("The absence from the practical part has been recorded."), "success")
            return redirect(url_for("operator.console", session_id=session.id))
    return _render(session, status=400, absence_form=form)
