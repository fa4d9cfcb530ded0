"""Applications: candidates find published sessions and apply; staff accept or reject them on the
session's page (the formal check)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..access import own_or_404, row_or_404, staff_row_or_404
from ..extensions import db
from ..forms import ID, params
from ..models import Application, ApplicationStatus, Role, ValidationSession, utcnow
from ..security import roles_required
from ..sessions.views import render_detail
from . import seats, services
from .forms import ApplicationForm, IdentityForm, accept_form, reject_form

bp = Blueprint("applications", __name__)


# --------------------------------------------------------------------------- candidates


@bp.route("/sessions")
@roles_required(Role.CANDIDATE)
def sessions() -> ResponseReturnValue:
    """Published sessions open for applications, with the seats left and the candidate's own applications."""
    open_sessions = services.open_sessions()
    mine = {a.session_id: a for a in services.candidate_applications(current_user) if a.status in services.OPEN_STATUSES}
    return render_template("applications/sessions.html", sessions=open_sessions, mine=mine,
                           seats={s.id: seats.seats_left(s) for s in open_sessions})


def _open_session(session_id: int) -> ValidationSession:
    """A session candidates may see: published (404 for an unpublished one: no hint that it exists)."""
    session = row_or_404(ValidationSession, session_id)
    if session.published_at is None or session.published_at > utcnow():
        abort(404)
    return session


def _render_apply(session: ValidationSession, form: ApplicationForm, status: int = 200) -> ResponseReturnValue:
    return render_template(
        "applications/apply.html", session=session, form=form, seats_left=seats.seats_left(session),
        refusal=services.apply_refusal(current_user, session), missing=services.identity_missing(current_user),
        theory=session.qualification.rules.theory, appeal_days=session.qualification.rules.appeal_window_days,
        contact=services.institution_contact(session.institution)), status


@bp.route("/sessions/<int:session_id>", methods=["GET", "POST"])
@roles_required(Role.CANDIDATE)
def apply(session_id: int) -> ResponseReturnValue:
    """The session's details and the application form: identity confirmed, declarations made,
    accommodation needs and a request to recognise an earlier part."""
    session = _open_session(session_id)
    form = ApplicationForm()
    if form.validate_on_submit():
        request = services.ApplicationRequest(
            identity_confirmed=form.identity_confirmed.data, consent=form.consent.data, rodo_read=form.rodo_read.data,
            rules_accepted=form.rules_accepted.data, extra_time_minutes=form.extra_time_minutes.data or 0,
            needs_large_font=form.needs_large_font.data, needs_reader=form.needs_reader.data,
            needs_other=form.needs_other.data, recognition_requested=form.recognition_requested.data,
            recognition_note=form.recognition_note.data)
        try:
            services.apply(current_user, session, request)
        except services.ApplicationError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return _render_apply(session, form, 400)
        flash(_("Your application has been submitted. The institution checks it and tells you by e-mail."), "success")
        return redirect(url_for("applications.mine"))
    return _render_apply(session, form, 400 if form.errors else 200)


@bp.route("/mine")
@roles_required(Role.CANDIDATE)
def mine() -> ResponseReturnValue:
    """The candidate's applications and where each stands."""
    applications = services.candidate_applications(current_user)
    return render_template(
        "applications/mine.html", applications=applications, now=utcnow(),
        appeal={a.id: (services.appeal_days(a), services.appeal_until(a)) for a in applications
                if a.status == ApplicationStatus.REJECTED},
        contacts={a.id: services.institution_contact(a.session.institution) for a in applications})


@bp.route("/<int:application_id>/withdraw", methods=["POST"])
@roles_required(Role.CANDIDATE)
def withdraw(application_id: int) -> ResponseReturnValue:
    """The candidate withdraws their own application (404 for anyone else's)."""
    application = own_or_404(Application, application_id)
    try:
        services.withdraw(current_user, application)
    except services.ApplicationError as error:
        db.session.rollback()
        flash(str(error), "warning")
    else:
        flash(_("Your application has been withdrawn."), "info")
    return redirect(url_for("applications.mine"))


def _identity_form() -> IdentityForm:
    """The identity form with only what the account lacks (what it has, only the institution corrects)."""
    form = IdentityForm()
    if current_user.birth_date is not None:
        del form.birth_date
        form.known_birth_date = current_user.birth_date
    if current_user.birth_place:
        del form.birth_place
    if "identity_number" not in services.identity_missing(current_user):
        del form.has_pesel, form.pesel, form.id_document_type, form.id_document_number
    return form


@bp.route("/identity", methods=["GET", "POST"])
@roles_required(Role.CANDIDATE)
@params(session=ID)
def identity(session: int | None) -> ResponseReturnValue:
    """Complete the identity data an application needs (the date of birth, a PESEL or a document)."""
    back = url_for("applications.apply", session_id=session) if session else url_for("applications.sessions")
    form = _identity_form()
    if not services.identity_missing(current_user) and current_user.birth_place:
        if form.is_submitted():
            return redirect(back)
        return render_template("applications/identity.html", form=None, back=back)
    if form.validate_on_submit():
        has_pesel = "has_pesel" in form and form.has_pesel.data == "yes"
        data = services.IdentityData(
            birth_date=form.birth_date.data if "birth_date" in form else None,
            birth_place=form.birth_place.data if "birth_place" in form else None,
            pesel=form.pesel.data if has_pesel else None,
            id_document_type=form.id_document_type.data if "has_pesel" in form and not has_pesel else None,
            id_document_number=form.id_document_number.data if "has_pesel" in form and not has_pesel else None)
        try:
            services.complete_identity(current_user, data)
        except services.ApplicationError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            flash(_("Your identity data has been saved."), "success")
            return redirect(back)
    return render_template("applications/identity.html", form=form, back=back), 400 if form.is_submitted() else 200


# --------------------------------------------------------------------------- staff: the formal check


def _staff_application(application_id: int) -> Application:
    """An application to a session of the staff member's institutions (404 for any other)."""
    return staff_row_or_404(Application, application_id, lambda application: application.session.institution_id)


@bp.route("/<int:application_id>/accept", methods=["POST"])
@roles_required(Role.STAFF)
def accept(application_id: int) -> ResponseReturnValue:
    """Staff accept the application: the candidate is enrolled (or, the session full, put on the waiting list)."""
    application = _staff_application(application_id)
    session_id = application.session_id
    form = accept_form(application, formdata=True)
    if form.validate_on_submit():
        try:
            outcome = services.accept(current_user, application, form.extra_time_minutes.data or 0,
                                      form.accommodations.data or "")
        except services.ApplicationError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            _tell_staff(outcome)
            return redirect(url_for("sessions.detail", session_id=session_id, _anchor="applications"))
    page: ResponseReturnValue = render_detail(row_or_404(ValidationSession, session_id), 400,
                                              application_forms={application.id: (form, reject_form(application))})
    return page


def _tell_staff(outcome: services.Acceptance) -> None:
    name = outcome.application.candidate.full_name
    if outcome.waiting:
        flash(_("The session is full: %(name)s is on the waiting list and moves up when a place frees.", name=name),
              "warning")
        return
    flash(_("%(name)s is enrolled; the candidate has been told by e-mail.", name=name), "success")
    if outcome.recognised_from is not None:
        flash(_("The theory part passed in the session “%(title)s” is recognised: the candidate does not take the "
                "theory test.", title=outcome.recognised_from.session.title), "info")
    if outcome.recognition_not_found:
        flash(_("No earlier passed theory part of this candidate counts here (same institution and qualification, "
                "within the carry-over period): the candidate takes the theory test."), "warning")
    if outcome.fee_to_record:
        flash(_("The announced fee is 0 zł: record the candidate's fee with the reason it is free of charge."), "warning")


@bp.route("/<int:application_id>/reject", methods=["POST"])
@roles_required(Role.STAFF)
def reject(application_id: int) -> ResponseReturnValue:
    """Staff reject the application with the reason; the candidate is mailed it and how to appeal."""
    application = _staff_application(application_id)
    session_id = application.session_id
    form = reject_form(application, formdata=True)
    if form.validate_on_submit():
        try:
            services.reject(current_user, application, form.reason.data)
        except services.ApplicationError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            flash(_("The application has been rejected; the candidate has been told the reason and how to appeal."),
                  "info")
            return redirect(url_for("sessions.detail", session_id=session_id, _anchor="applications"))
    page: ResponseReturnValue = render_detail(row_or_404(ValidationSession, session_id), 400,
                                              application_forms={application.id: (accept_form(application), form)})
    return page
