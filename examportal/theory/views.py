"""The candidate's theory test, the staff release of results and the committee's view of them."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..access import (
    declared_member_session_or_404,
    own_enrolment_or_404,
    own_or_404,
    row_or_404,
    staff_row_or_404,
    staff_session_or_404,
    work_refusal,
    work_refusals,
)
from ..checkin import services as checkin
from ..committee import corrections
from ..committee import services as committee_services
from ..extensions import db
from ..forms import MAX_ID, Flag, Number, Param, add_error, form_params, params, parse_id, refuse_damaged
from ..models import (
    AttemptStatus,
    EnrolmentStatus,
    Role,
    TheoryAttempt,
    ValidationDecision,
    ValidationSession,
    utcnow,
)
from ..security import roles_required, staff_institution_ids
from . import clock, lockdown, positions, services, voiding
from .draw import DrawError
from .errors import TheoryError
from .forms import CorrectionForm, ReleaseForm, StartForm, SubmitForm, VoidForm

bp = Blueprint("theory", __name__)
bp.add_app_template_global(services.display, "theory_display")
bp.add_app_template_global(services.candidate_display, "theory_candidate_display")



def _own_attempt(attempt_id: int) -> TheoryAttempt:
    """The current candidate's attempt (404 for anyone else's), from the exam room when the session says so."""
    attempt = own_or_404(TheoryAttempt, attempt_id)
    _from_the_exam_room(attempt.session)
    return attempt


def _from_the_exam_room(session: ValidationSession) -> None:
    """403 with the reason when the session restricts its test to the exam room's networks and
    this request comes from elsewhere."""
    if not checkin.address_allowed(session, request.remote_addr):
        abort(403, description=_("This test can only be taken from the exam room's network. Ask the "
                                 "exam-system operator in the room for help."))


def _running_or_redirect(attempt: TheoryAttempt):
    """Where the candidate belongs if the attempt is not running (None when it is)."""
    if attempt.status in (AttemptStatus.IN_PROGRESS, AttemptStatus.PAUSED):
        return None
    return redirect(url_for("theory.overview", enrolment_id=attempt.enrolment_id))


@bp.route("/enrolments/<int:enrolment_id>")
@roles_required(Role.CANDIDATE)
def overview(enrolment_id: int):
    enrolment = own_enrolment_or_404(enrolment_id)
    attempt = services.attempt_for_enrolment(enrolment)
    if attempt is not None and attempt.status in (AttemptStatus.IN_PROGRESS, AttemptStatus.PAUSED):
        services.touch(attempt)
    recognised = services.recognition_refusal(enrolment)
    if recognised:  # the part counts from an earlier validation: show that result, never "locked"
        attempt = services.counted_attempt(enrolment)
    return render_template("theory/overview.html", enrolment=enrolment, attempt=attempt, form=StartForm(),
                           recognised=recognised,
                           resume_at=positions.remembered(attempt) if attempt is not None else 1,
                           settings=enrolment.session.qualification.rules.theory,
                           criteria=services.criterion_texts(enrolment.session.qualification_id, str(get_locale())))


@bp.route("/enrolments/<int:enrolment_id>/start", methods=["POST"])
@roles_required(Role.CANDIDATE)
def start(enrolment_id: int):
    enrolment = own_enrolment_or_404(enrolment_id)
    _from_the_exam_room(enrolment.session)
    form = StartForm()
    # Read FOR UPDATE once: the start's own lock against a double click is this one.
    attempt = (services.attempt_for_enrolment(enrolment, lock=True)
               if enrolment.status == EnrolmentStatus.ENROLLED and form.validate_on_submit() else None)
    if attempt is None:
        flash(_("The test cannot be started yet. Wait for the operator to unlock it."), "warning")
        return redirect(url_for("theory.overview", enrolment_id=enrolment.id))
    user_id = current_user.id  # read before the start's commit expires the user
    try:
        services.start(attempt)
    except TheoryError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return redirect(url_for("theory.overview", enrolment_id=enrolment.id))
    running = lockdown.started(user_id)
    if running is None or running.id != attempt.id:
        return redirect(url_for("theory.overview", enrolment_id=enrolment.id))  # submitted: its result
    # The click is answered with the first question's page itself (no redirect and second request
    # at the moment a whole room starts); theory.js puts the question's address in the address bar.
    # (A click on a test already running is sent to its question by the lockdown before it gets
    # here; one racing the first click gets here after it and is shown question 1 too.)
    return _render_question(running, 1)


#: The question page's own question and the next one's form (hidden): "Next" needs no fetch, so the
#: other questions' forms can be fetched later, away from a room's start (see :func:`questions`).
FORMS_ON_THE_PAGE = 2


def _render_question(attempt: TheoryAttempt, position: int, error: str | None = None, status: int = 200):
    """The page of one question: its form, the next question's (hidden) and the map of all (the
    script fetches the other questions' forms afterwards, see :func:`questions`)."""
    shown = services.attempt_items_from(attempt, position, FORMS_ON_THE_PAGE)
    if not shown:
        abort(404)
    entries = services.question_map(attempt)
    positions.remember(attempt, position, len(entries))
    return render_template("theory/question.html", attempt=attempt, ai=shown[0], shown=shown, entries=entries, error=error,
                           time_left=clock.seconds_shown(attempt, utcnow()), locale=str(get_locale()),
                           next_seq=services.next_seq(attempt),
                           page_address=url_for("theory.question", attempt_id=attempt.id, position=position),
                           prefetch_spread=current_app.config["THEORY_PREFETCH_SPREAD_SECONDS"]), status


class GoTo(Param):
    """Where a plain form post goes after saving: ``next``, ``prev``, ``review``, ``stay`` or a question number."""

    default = "next"
    refuses = True
    WORDS = ("next", "prev", "review", "stay")

    def parse(self, raw: str, name: str) -> str | int:
        if raw in self.WORDS:
            return raw
        position = parse_id(raw)
        if position is None:
            refuse_damaged(name)
        return position


#: The autosave's question number and sequence number: without them the answer cannot be placed.
INCOMPLETE = _l("The answer is incomplete. Reload the page.")


@bp.route("/attempts/<int:attempt_id>/q/<int:position>", methods=["GET", "POST"])
@roles_required(Role.CANDIDATE)
@form_params(go=GoTo(), flagged=Flag())
def question(attempt_id: int, position: int, go: str | int, flagged: bool):
    attempt = services.touch(_own_attempt(attempt_id))
    elsewhere = _running_or_redirect(attempt)
    if elsewhere is not None:
        return elsewhere
    if request.method == "GET":
        return _render_question(attempt, position)
    # A plain form post (no script): save this answer, then go where the button said.
    attempt_item = services.attempt_item_at(attempt, position)
    if attempt_item is None:
        abort(404)
    try:
        raw = services.read_page_answer(request.form, attempt_item)
        services.save_answer(attempt, position, raw, services.next_seq(attempt), flagged, attempt_item=attempt_item)
    except services.AttemptClosed as error:
        flash(str(error), "warning")
        return redirect(url_for("theory.overview", enrolment_id=attempt.enrolment_id))
    except TheoryError as error:
        db.session.rollback()
        return _render_question(attempt, position, str(error), error.status_code)
    except services.bank.ResponseError as error:
        return _render_question(attempt, position, str(error), 400)
    if go == "review":
        return redirect(url_for("theory.review", attempt_id=attempt.id))
    if go == "prev":
        target = max(1, position - 1)
    elif isinstance(go, int):
        target = go
    elif go == "stay":
        target = position
    else:
        target = position + 1
    if target > len(attempt.items):
        return redirect(url_for("theory.review", attempt_id=attempt.id))
    return redirect(url_for("theory.question", attempt_id=attempt.id, position=max(1, target)))


@bp.route("/attempts/<int:attempt_id>/answer", methods=["POST"])
@roles_required(Role.CANDIDATE)
@form_params(position=Number(message=INCOMPLETE), seq=Number(0, MAX_ID, message=INCOMPLETE), flagged=Flag())
def autosave(attempt_id: int, position: int | None, seq: int | None, flagged: bool):
    """The script's autosave: the same fields as the plain form, plus the page's sequence number."""
    attempt = _own_attempt(attempt_id)  # someone else's attempt is not found, whatever the form says
    if position is None or seq is None:
        return jsonify(error=str(INCOMPLETE)), 400
    attempt_item = services.attempt_item_at(attempt, position)
    if attempt_item is None:
        return jsonify(error=_("There is no question number %(n)s in this test.", n=position)), 404
    try:
        raw = services.read_page_answer(request.form, attempt_item)
        result = services.save_answer(attempt, position, raw, seq, flagged, attempt_item=attempt_item)
    except TheoryError as error:
        db.session.rollback()
        return jsonify(error=str(error), stale=isinstance(error, services.StaleTab), status=attempt.status.value,
                       time_left=clock.seconds_shown(attempt, utcnow())), error.status_code
    except services.bank.ResponseError as error:
        return jsonify(error=str(error)), 400
    return jsonify(result)


@bp.route("/attempts/<int:attempt_id>/heartbeat", methods=["POST"])
@roles_required(Role.CANDIDATE)
@form_params(position=Number(hint=True))  # the heartbeat keeps the clock: a junk position is only not remembered
def heartbeat(attempt_id: int, position: int | None):
    attempt = services.touch(_own_attempt(attempt_id))
    positions.remember(attempt, position)
    return jsonify(status=attempt.status.value, time_left=clock.seconds_shown(attempt, utcnow()),
                   last_seq=services.last_seq(attempt))


@bp.route("/attempts/<int:attempt_id>/questions")
@roles_required(Role.CANDIDATE)
def questions(attempt_id: int):
    """Every question's form (an HTML fragment, all hidden): the script fetches it after the page of
    one question has loaded, so the candidate switches questions without a round trip and goes on
    while the connection is down."""
    attempt = services.touch(_own_attempt(attempt_id))
    if attempt.status == AttemptStatus.SUBMITTED:
        return jsonify(error=_("The test has been submitted; no more answers are accepted.")), 409
    if attempt.status not in (AttemptStatus.IN_PROGRESS, AttemptStatus.PAUSED):
        return jsonify(error=_("The test has not started yet.")), 409
    return render_template("theory/_questions.html", attempt=attempt, questions=attempt.items, current=0,
                           total=len(attempt.items), locale=str(get_locale()), error=None)


@bp.route("/attempts/<int:attempt_id>/review")
@roles_required(Role.CANDIDATE)
def review(attempt_id: int):
    attempt = services.touch(_own_attempt(attempt_id))
    elsewhere = _running_or_redirect(attempt)
    if elsewhere is not None:
        return elsewhere
    return render_template("theory/review.html", attempt=attempt, entries=services.question_map(attempt),
                           form=SubmitForm(), time_left=clock.seconds_shown(attempt, utcnow()))


@bp.route("/attempts/<int:attempt_id>/submit", methods=["POST"])
@roles_required(Role.CANDIDATE)
def submit(attempt_id: int):
    attempt = services.touch(_own_attempt(attempt_id))
    elsewhere = _running_or_redirect(attempt)
    if elsewhere is not None:
        return elsewhere
    form = SubmitForm()
    if not form.validate_on_submit():
        return render_template("theory/review.html", attempt=attempt, entries=services.question_map(attempt),
                               form=form, time_left=clock.seconds_shown(attempt, utcnow())), 400
    try:
        services.submit(attempt)
    except TheoryError as error:
        db.session.rollback()
        flash(str(error), "warning")
        return redirect(url_for("theory.review", attempt_id=attempt.id))
    flash(_("Your test has been submitted. Thank you."), "success")
    return redirect(url_for("theory.overview", enrolment_id=attempt.enrolment_id))


# --------------------------------------------------------------------------- staff: release



@bp.route("/sessions/<int:session_id>/results", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def session_results(session_id: int):
    session = staff_session_or_404(session_id)
    form = ReleaseForm()
    if form.validate_on_submit():
        try:
            count = services.release_results(session, current_user)
        except TheoryError as error:
            add_error(form.confirm, str(error))
        else:
            flash(_("Released the results of %(n)d candidate(s).", n=count), "success")
            return redirect(url_for("theory.session_results", session_id=session.id))
    return render_template("theory/session_results.html", session=session, form=form,
                           attempts=services.session_attempts(session)), 400 if form.errors else 200


# --------------------------------------------------------------------------- committee


@bp.route("/sessions/<int:session_id>/committee")
@roles_required(Role.ASSESSOR)
def committee_results(session_id: int):
    session = declared_member_session_or_404(session_id)
    attempts = services.session_attempts(session)
    return render_template("theory/committee_results.html", session=session, attempts=attempts,
                           refusals=work_refusals(current_user, [a.enrolment for a in attempts]),
                           criteria=services.criterion_texts(session.qualification_id, str(get_locale())))



@bp.route("/sessions/<int:session_id>/committee/<int:attempt_id>")
@roles_required(Role.ASSESSOR)
def committee_attempt(session_id: int, attempt_id: int):
    session = declared_member_session_or_404(session_id)
    attempt = row_or_404(TheoryAttempt, attempt_id, session_id=session.id)
    refusal = work_refusal(current_user, attempt.enrolment)
    if refusal:
        abort(403, description=refusal)
    return render_template("theory/committee_attempt.html", session=session, attempt=attempt,
                           locale=str(get_locale()),
                           criteria=services.criterion_texts(session.qualification_id, str(get_locale())))


# --------------------------------------------------------------------------- item statistics


#: The statistics pages' optional session filter (``?session=``).
SESSION_FILTER = Number(message=_l("Choose a session from the list.")).named("session")


def _statistics_scope(session_id: int | None):
    """The staff member's institutions and the optional session filter (404 for a foreign session)."""
    institution_ids = staff_institution_ids()
    if session_id is None:
        return institution_ids, None
    return institution_ids, staff_session_or_404(session_id).id


@bp.route("/statistics")
@roles_required(Role.STAFF)
@params(session_id=SESSION_FILTER)
def item_statistics(session_id: int | None):
    institution_ids, session_id = _statistics_scope(session_id)
    sessions = db.session.scalars(
        db.select(ValidationSession).where(ValidationSession.institution_id.in_(institution_ids))
        .order_by(ValidationSession.starts_at.desc())
    ).all() if institution_ids else []
    from .statistics import MIN_RESPONSES

    flag_labels = {"too_hard": _("too hard"), "too_easy": _("too easy"),
                   "low_discrimination": _("does not discriminate"), "dead_distractor": _("distractor nobody chooses")}
    return render_template("theory/statistics.html", statistics=services.item_statistics(institution_ids, session_id),
                           sessions=sessions, session_id=session_id, flag_labels=flag_labels,
                           min_responses=MIN_RESPONSES, reliability=_reliability({s.qualification for s in sessions}))


def _reliability(qualifications) -> list[tuple[Any, dict[float, float] | None]]:
    """Pass probability by true ability for each qualification (a quick simulation; the command runs a longer one)."""
    rows: list[tuple[Any, dict[float, float] | None]] = []
    for qualification in sorted(qualifications, key=lambda q: q.code):
        try:
            rows.append((qualification, services.reliability(qualification, forms=10, trials=1000)))
        except DrawError:
            rows.append((qualification, None))
    return rows


@bp.route("/statistics.csv")
@roles_required(Role.STAFF)
@params(session_id=SESSION_FILTER)
def item_statistics_csv(session_id: int | None):
    from .statistics import to_csv

    institution_ids, session_id = _statistics_scope(session_id)
    return Response(to_csv(services.item_statistics(institution_ids, session_id)), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="statystyki-pytan.csv"'})


# --------------------------------------------------------------------------- voided items


def _voided_page(form: VoidForm, status: int = 200, report: voiding.VoidReport | None = None):
    return render_template("theory/voided.html", form=form, voided=voiding.voided_items(), report=report,
                           may_void=voiding.may_void(current_user),
                           to_correct=committee_services.decisions_to_correct(staff_institution_ids())), status


@bp.route("/voided", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def voided():
    """Faulty items voided, with the decisions their rescoring would change; the form to void one."""
    form = VoidForm()
    if form.validate_on_submit():
        try:
            report = voiding.void_item(current_user, form.item_id.data or "", form.reason.data or "")
        except voiding.VoidError as error:
            db.session.rollback()
            add_error(form.item_id, str(error))
        else:
            flash(_("Item %(id)s has been voided; %(n)d attempt(s) rescored.", id=report.voided.item_id,
                    n=len(report.rescored)), "success")
            return _voided_page(VoidForm(formdata=None), report=report)
    return _voided_page(form, 400 if form.errors else 200)


@bp.route("/voided/decisions/<int:validation_decision_id>/correct", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def correct_decision(validation_decision_id: int):
    """Staff record the correction of a final decision that a voided item's rescoring changed: the
    test criteria take the rescored results, the decision follows the rule, the candidate is mailed."""
    decision = staff_row_or_404(ValidationDecision, validation_decision_id,
                                lambda row: row.enrolment.session.institution_id)
    form = CorrectionForm()
    if form.validate_on_submit():
        try:
            corrections.correct_after_voiding(current_user, decision, form.reason.data)
        except corrections.CorrectionError as error:
            add_error(form.reason, str(error))
        else:
            flash(_("The correction has been recorded and the candidate told by e-mail."), "success")
            return redirect(url_for("theory.voided"))
    refusal = corrections.voiding_refusal(current_user, decision)
    preview = corrections.preview(decision, corrections.voiding_changes(decision)) if refusal is None else None
    return render_template("theory/correct_decision.html", decision=decision, form=form, refusal=refusal,
                           preview=preview, earlier=corrections.corrections(decision)), 400 if form.errors else 200
