"""Validation sessions: staff schedule and staff them; assessors declare impartiality."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from sandbox_crm.params import Choice

from ..access import row_or_404, staff_session_or_404
from ..applications import seats as application_seats
from ..applications import services as applications
from ..applications.forms import accept_form, reject_form
from ..auth.services import find_by_email
from ..committee import services as committee_services
from ..extensions import db
from ..forms import ID, add_error, form_params, params, parse_id, select_choices
from ..models import (
    CommitteeMember,
    CompetenceKind,
    Enrolment,
    EnrolmentStatus,
    Institution,
    Qualification,
    Role,
    TrainingRecord,
    User,
    ValidationSession,
    utcnow,
)
from ..security import roles_required, staff_institution_ids
from . import progress, services
from .forms import AssessorForm, DeclarationForm, EnrolForm, OperatorForm, ProgressForm, SessionForm, TrainingForm

bp = Blueprint("sessions", __name__)

# Where an enrolled candidate's validation stands, as "My sessions" says it.
CANDIDATE_STATES = {
    "enrolled": _l("enrolled"), "awaiting_decision": _l("awaiting the committee's decision"),
    "positive": _l("decided: positive"), "negative": _l("decided: negative"),
}



def _session_form(form: SessionForm) -> SessionForm:
    institutions = db.session.scalars(
        select(Institution).where(Institution.id.in_(staff_institution_ids())).order_by(Institution.name)
    ).all()
    form.institution_id.choices = select_choices((i.id, i.name) for i in institutions)
    form.qualification_id.choices = select_choices(
        (q.id, f"{q.code} — {q.name_pl}") for q in db.session.scalars(select(Qualification).order_by(Qualification.code))
    )
    return form


def _people_forms(session: ValidationSession, operator_form=None, assessor_form=None, enrol_form=None):
    operator_form = operator_form or OperatorForm(operator_id=session.operator_id)
    operator_form.operator_id.choices = select_choices(
        (u.id, services.picker_label(session, u, CompetenceKind.OPERATOR))
        for u in services.institution_people(session.institution, Role.OPERATOR))
    assessor_form = assessor_form or AssessorForm()
    on_committee = services.involved_assessors(session)
    assessor_form.assessor_id.choices = select_choices(
        (u.id, services.picker_label(session, u, CompetenceKind.ASSESSOR))
        for u in services.institution_people(session.institution, Role.ASSESSOR) if u.id not in on_committee
    )
    return operator_form, assessor_form, enrol_form or EnrolForm()


def render_detail(session: ValidationSession, status: int = 200, appoint_errors=None, application_forms=None, **forms):
    """The session's page for staff; ``application_forms`` ({application id: (accept, reject)}) as
    posted, for an application whose decision was refused (the others get empty ones)."""
    operator_form, assessor_form, enrol_form = _people_forms(session, **forms)
    enrolments = services.active_enrolments(session)
    needs = committee_services.appointment_needs(enrolments)
    session_applications = applications.session_applications(session)
    posted = application_forms or {}
    # Decided by someone else (their own application, by another staff member): no forms, the reason instead.
    decide_refusals = {a.id: refusal for a in session_applications if a.status in applications.DECIDABLE
                       and (refusal := applications.decide_refusal(current_user, a)) is not None}
    return render_template(
        "sessions/detail.html", session=session, operator_form=operator_form, assessor_form=assessor_form,
        enrol_form=enrol_form, committee_ready=services.committee_ready(session), enrolments=enrolments,
        membership_refusal=services.membership_change_refusal(session),
        withdrawal_refusals=services.withdrawal_refusals(enrolments),
        declarations_owed={m.id: len(services.undeclared_enrolments(m)) for m in session.committee if m.has_declared},
        extra_members={e.id: e.extra_members for e in enrolments if e.extra_members},
        appointable={e.id: committee_services.extra_member_candidates(e) for e in enrolments if e.id in needs},
        appointment_needs={e_id: need for e_id, (need, _members) in needs.items()},
        to_replace={e_id: members for e_id, (_need, members) in needs.items()},
        appoint_errors=appoint_errors or {}, applications=session_applications,
        application_forms={a.id: posted.get(a.id) or (accept_form(a), reject_form(a)) for a in session_applications
                           if a.status in applications.DECIDABLE and a.id not in decide_refusals},
        decide_refusals=decide_refusals,
        seats_left=application_seats.seats_left(session), is_open=applications.is_open(session, utcnow()),
    ), status


@bp.route("/")
@roles_required(Role.STAFF)
def index():
    return render_template("sessions/index.html", sessions=services.sessions_for_staff(staff_institution_ids()))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def create():
    form = _session_form(SessionForm())
    if form.validate_on_submit():
        try:
            session = services.create_session(current_user, form.data)
        except services.SessionRuleError as error:
            add_error(getattr(form, error.field or "qualification_id"), str(error))
        else:
            flash(_("The session has been scheduled."), "success")
            return redirect(url_for("sessions.detail", session_id=session.id))
    return render_template("sessions/form.html", form=form, session=None), 400 if form.errors else 200


@bp.route("/<int:session_id>")
@roles_required(Role.STAFF)
def detail(session_id: int):
    return render_detail(staff_session_or_404(session_id))


@bp.route("/<int:session_id>/edit", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def edit(session_id: int):
    session = staff_session_or_404(session_id)
    # A post is read from what was sent alone: a field left out is missing (its error shown), never
    # the stored value in the database's form (a UTC datetime where the form reads Warsaw time).
    form = SessionForm() if request.method == "POST" else SessionForm(obj=session)
    # Institution and qualification are fixed once candidates can be enrolled: not part of the edit.
    del form.institution_id, form.qualification_id
    if not form.is_submitted():
        # The form shows Warsaw time (it is read back as such) and the enum's value, not its name.
        form.starts_at.data, form.mode.data = services.utc_to_local(session.starts_at), session.mode.value
        form.published.data = session.published_at is not None
        if session.registration_deadline is not None:
            form.registration_deadline.data = services.utc_to_local(session.registration_deadline)
    if form.validate_on_submit():
        try:
            services.update_session(session, form.data)
        except services.SessionRuleError as error:
            db.session.rollback()
            add_error(getattr(form, error.field or "capacity"), str(error))
        else:
            flash(_("The session has been updated."), "success")
            return redirect(url_for("sessions.detail", session_id=session.id))
    return render_template("sessions/form.html", form=form, session=session), 400 if form.errors else 200


@bp.route("/<int:session_id>/operator", methods=["POST"])
@roles_required(Role.STAFF)
def set_operator(session_id: int):
    session = staff_session_or_404(session_id)
    form, _a, _e = _people_forms(session, operator_form=OperatorForm())
    if form.validate_on_submit():
        try:
            services.assign_operator(session, db.session.get(User, form.operator_id.data))
        except services.SessionRuleError as error:
            add_error(form.operator_id, str(error))
        else:
            flash(_("The operator has been assigned."), "success")
            return redirect(url_for("sessions.detail", session_id=session.id))
    return render_detail(session, 400, operator_form=form)


@bp.route("/<int:session_id>/committee", methods=["POST"])
@roles_required(Role.STAFF)
def add_assessor(session_id: int):
    session = staff_session_or_404(session_id)
    _o, form, _e = _people_forms(session, assessor_form=AssessorForm())
    if form.validate_on_submit():
        try:
            services.add_assessor(session, db.session.get(User, form.assessor_id.data), form.is_chair.data)
        except services.SessionRuleError as error:
            add_error(form.assessor_id, str(error))
        else:
            flash(_("The assessor has been added to the committee."), "success")
            return redirect(url_for("sessions.detail", session_id=session.id))
    return render_detail(session, 400, assessor_form=form)


@bp.route("/<int:session_id>/committee/<int:member_id>/remove", methods=["POST"])
@roles_required(Role.STAFF)
def remove_assessor(session_id: int, member_id: int):
    session = staff_session_or_404(session_id)
    member = row_or_404(CommitteeMember, member_id, session_id=session.id)
    try:
        services.remove_assessor(member)
    except services.SessionRuleError as error:
        flash(str(error), "warning")
    else:
        flash(_("The assessor has been removed from the committee."), "info")
    return redirect(url_for("sessions.detail", session_id=session.id))


@bp.route("/<int:session_id>/enrol", methods=["POST"])
@roles_required(Role.STAFF)
def enrol(session_id: int):
    session = staff_session_or_404(session_id)
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            services.enrol_candidate(session, find_by_email(form.email.data or ""))
        except services.SessionRuleError as error:
            add_error(form.email, str(error))
        else:
            flash(_("The candidate has been enrolled."), "success")
            return redirect(url_for("sessions.detail", session_id=session.id))
    return render_detail(session, 400, enrol_form=form)


@bp.route("/<int:session_id>/enrolments/<int:enrolment_id>/withdraw", methods=["POST"])
@roles_required(Role.STAFF)
def withdraw(session_id: int, enrolment_id: int):
    session = staff_session_or_404(session_id)
    enrolment = row_or_404(Enrolment, enrolment_id, session_id=session.id)
    try:
        services.withdraw_enrolment(enrolment)
    except services.SessionRuleError as error:
        flash(str(error), "warning")
    else:
        flash(_("The candidate has been withdrawn from the session."), "info")
    return redirect(url_for("sessions.detail", session_id=session.id))


@bp.route("/<int:session_id>/enrolments/<int:enrolment_id>/extra-member", methods=["POST"])
@roles_required(Role.STAFF)
@form_params(assessor_id=ID)
def appoint_extra_member(session_id: int, enrolment_id: int, assessor_id: int | None):
    """After a dissent, the institution appoints one more member for the candidate."""
    session = staff_session_or_404(session_id)
    enrolment = row_or_404(Enrolment, enrolment_id, session_id=session.id)
    try:
        committee_services.appoint_extra_member(current_user, enrolment,
                                                db.session.get(User, assessor_id) if assessor_id else None)
    except committee_services.CommitteeRuleError as error:
        db.session.rollback()
        flash(str(error), "danger")  # the appointment form is shown only while a dissent waits for it
        return render_detail(session, 400, appoint_errors={enrolment.id: str(error)})
    flash(_("The additional member has been appointed and told by e-mail."), "success")
    return redirect(url_for("sessions.detail", session_id=session.id))


@bp.route("/training", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def training():
    institution_ids = staff_institution_ids()
    institutions = db.session.scalars(select(Institution).where(Institution.id.in_(institution_ids))).all()
    trainers = {u.id: u for u in services.possible_trainers(institutions)}
    form = TrainingForm()
    form.trainer_id.choices = select_choices((u.id, u.full_name) for u in trainers.values())
    if form.validate_on_submit():
        try:
            trainer = trainers[form.trainer_id.data]
            services.record_training(current_user, services.trainer_institution(trainer, institutions), trainer,
                                     find_by_email(form.candidate_email.data or ""), form.course.data)
        except services.SessionRuleError as error:
            add_error(form.candidate_email, str(error))
        else:
            flash(_("The training has been recorded."), "success")
            return redirect(url_for("sessions.training"))
    records = db.session.scalars(
        select(TrainingRecord).where(TrainingRecord.institution_id.in_(institution_ids)).order_by(TrainingRecord.id.desc())
    ).all()
    return render_template("sessions/training.html", form=form, records=records), 400 if form.errors else 200


@bp.route("/committees")
@roles_required(Role.ASSESSOR)
def my_committees():
    return render_template("sessions/my_committees.html", memberships=services.sessions_for_assessor(current_user))


@bp.route("/<int:session_id>/committee-view", methods=["GET", "POST"])
@roles_required(Role.ASSESSOR)
def committee_view(session_id: int):
    session = row_or_404(ValidationSession, session_id)
    member = services.membership(session, current_user)
    if member is None:
        abort(404)
    form = DeclarationForm()
    # Before the first declaration every candidate; afterwards those enrolled since, whom a further
    # declaration names before the member assesses them.
    pending = services.undeclared_enrolments(member)
    if (pending or not member.has_declared) and form.validate_on_submit():
        # The ids the signing page named (a request without them covers the candidates as they are now).
        seen = ([parse_id(part) or 0 for part in (form.covered.data or "").split(",") if part]
                if form.covered.raw_data else None)
        try:
            services.declare_impartiality(member, str(form.confirm.label.text), form.remarks.data, seen)
        except services.SessionRuleError as error:
            add_error(form.confirm, str(error))
        else:
            flash(_("Your declaration of impartiality has been recorded."), "success")
            return redirect(url_for("sessions.committee_view", session_id=session.id))
    # The declaration names the candidates it covers; their work opens only after it is signed.
    form.covered.data = ",".join(str(e.id) for e in pending)
    declared = [e for e in services.member_enrolments(member) if e not in pending]
    return render_template("sessions/committee_view.html", session=session, member=member, form=form,
                           pending=pending, enrolments=declared), 400 if form.errors else 200


@bp.route("/operated")
@roles_required(Role.OPERATOR)
def my_operated():
    return render_template("sessions/my_operated.html", sessions=services.sessions_for_operator(current_user))


def candidate_state(enrolment: Enrolment) -> str:
    """Where the validation stands for the candidate, in their language: withdrawn, decided
    (positive or negative), awaiting the decision once the practical part is over (taken, missed,
    or closed after a failed theory test), else enrolled."""
    if enrolment.status == EnrolmentStatus.WITHDRAWN:
        return enrolment.status.label
    decision = committee_services.decision_for(enrolment)
    if decision is not None:
        state = "positive" if decision.positive else "negative"
    elif committee_services.practical_state(enrolment) in ("taken", *committee_services.NO_PRACTICAL):
        state = "awaiting_decision"
    else:
        state = "enrolled"
    return str(CANDIDATE_STATES[state])


@bp.route("/mine")
@roles_required(Role.CANDIDATE)
def my_enrolments():
    enrolments = services.enrolments_for_candidate(current_user)
    return render_template("sessions/my_enrolments.html", enrolments=enrolments,
                           states={e.id: candidate_state(e) for e in enrolments})


# --------------------------------------------------------------------------- the candidates' progress


def _progress_form(rows: list[progress.ProgressRow], form: ProgressForm | None = None) -> ProgressForm:
    form = form if form is not None else ProgressForm()
    form.candidates.choices = select_choices((row.candidate.id, row.candidate.full_name) for row in rows)
    return form


def _render_progress(session: ValidationSession, rows: list[progress.ProgressRow], form: ProgressForm, stage: str = "",
                     status: int = 200) -> ResponseReturnValue:
    shown = [row for row in rows if not stage or row.stage == stage]
    return render_template("sessions/progress.html", session=session, rows=shown, form=form, stage=stage,
                           stages=progress.STAGES, counts=progress.stage_counts(rows), total=len(rows),
                           ticked=set(form.candidates.data or []) if form.is_submitted() else set()), status


@bp.route("/<int:session_id>/progress")
@roles_required(Role.STAFF)
@params(stage=Choice(progress.STAGES, default=""))
def progress_page(session_id: int, stage: str) -> ResponseReturnValue:
    """Every candidate of the session with the stage they have reached; staff tick some to message or export."""
    session = staff_session_or_404(session_id)
    rows = progress.progress_rows(session)
    return _render_progress(session, rows, _progress_form(rows, ProgressForm(formdata=None)), stage)


@bp.route("/<int:session_id>/progress/message", methods=["POST"])
@roles_required(Role.STAFF)
def progress_message(session_id: int) -> ResponseReturnValue:
    """Mail the ticked candidates (through the outbox); the typed text stays on the page after an error."""
    session = staff_session_or_404(session_id)
    rows = progress.progress_rows(session)
    form = _progress_form(rows)
    if form.validate_on_submit():
        try:
            count = progress.message_candidates(current_user._get_current_object(), session, form.candidates.data or [],
                                                form.subject.data, form.body.data)
        except progress.ProgressRuleError as error:
            db.session.rollback()
            add_error(form.body if form.candidates.data else form.candidates, str(error))
        else:
            flash(_("The message has been queued for %(n)d candidate(s).", n=count), "success")
            return redirect(url_for("sessions.progress_page", session_id=session.id))
    return _render_progress(session, rows, form, status=400)


@bp.route("/<int:session_id>/progress/export", methods=["POST"])
@roles_required(Role.STAFF)
def progress_export(session_id: int) -> ResponseReturnValue:
    """The ticked candidates' progress as a CSV file."""
    session = staff_session_or_404(session_id)
    rows = progress.progress_rows(session)
    form = _progress_form(rows)
    if form.validate_on_submit():
        try:
            data = progress.export_csv(current_user._get_current_object(), session, form.candidates.data or [])
        except progress.ProgressRuleError as error:
            db.session.rollback()
            add_error(form.candidates, str(error))
        else:
            return Response(data, mimetype="text/csv", headers={
                "Content-Disposition": f'attachment; filename="sesja-{session.id}-postepy.csv"'})
    return _render_progress(session, rows, form, status=400)
