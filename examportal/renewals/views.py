"""Renewal pages: the holder's application and its progress, the staff's list and choice of
assessor, and the assessor's analysis. Each view finds its object and checks who may see it first
(404 for anyone else: no hint that it exists), then calls one service."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..access import own_or_404, row_or_404
from ..certification import rules as certificate_rules
from ..certification import services as certification
from ..extensions import db
from ..forms import PAGE, add_error, params, parse_id, select_choices
from ..models import Certificate, RenewalApplication, RenewalEvidence, RenewalPeriod, RenewalStatus, Role
from ..security import login_required, roles_required
from ..uploads import MAX_UPLOAD_BYTES, send_stored
from . import rules, services
from .forms import (
    AssignForm,
    DecisionForm,
    DeclarationForm,
    PeriodFindingForm,
    RenewalForm,
    ReturnForm,
    VerdictForm,
    WithdrawForm,
    period_rows,
)

bp = Blueprint("renewals", __name__)
PAGE_SIZE = 50
#: The forms that carry evidence files: up to ten of the largest file uploads accepts, with room
#: for the rest of the form (the site-wide request limit is one file's).
UPLOAD_ENDPOINTS = frozenset({"renewals.apply", "renewals.resubmit"})
UPLOAD_REQUEST_LIMIT = rules.MAX_EVIDENCE * MAX_UPLOAD_BYTES + 512 * 1024



@bp.url_value_preprocessor
def _evidence_request_limit(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Raise the request size limit for the forms with evidence files, for a signed-in person only.

    This runs before any ``before_request`` function — the CSRF check among them reads the body,
    and with the site-wide limit a second file would already be refused there (413).
    """
    if endpoint in UPLOAD_ENDPOINTS and current_user.is_authenticated:
        request.max_content_length = UPLOAD_REQUEST_LIMIT


@bp.app_context_processor
def renewal_helpers() -> dict[str, Any]:
    """"My certificates" shows each certificate's renewal (``certification/mine.html``)."""
    return {"renewal_status": renewal_status}


def renewal_status(certificate: Certificate) -> dict[str, Any]:
    """What the holder's page says about renewing ``certificate``: the window, the latest
    application, whether they may apply now, and the certificate it renewed (if it is a renewal)."""
    today = certificate_rules.today()
    applications = services.renewals_of(certificate)
    return {
        "window": rules.window_state(certificate.valid_until, today),
        "opens_on": rules.window_opens_on(certificate.valid_until),
        "application": applications[0] if applications else None,
        "can_apply": current_user.is_authenticated and services.apply_refusal(current_user, certificate, today) is None,
        "renewed_from": certificate.supersedes if certification.is_renewal(certificate) else None,
    }



# --------------------------------------------------------------------------- the holder


def _place_error(form: RenewalForm, problems: dict[str, str], error: services.RenewalError) -> None:
    """Show a service's refusal next to what it concerns (the period and evidence lists have
    their own message area)."""
    if error.field == "declaration":
        add_error(form.declaration, str(error))
    else:
        problems[error.field if error.field in ("periods", "evidence") else "form"] = str(error)


def _files_dropped(form: RenewalForm) -> bool:
    """Whether files were chosen in the form now shown again (a browser never refills them)."""
    return any(row.form.chosen() for row in form.evidence)


def _apply_page(certificate: Certificate, form: RenewalForm, status: int = 200,
                problems: dict[str, str] | None = None) -> ResponseReturnValue:
    today = certificate_rules.today()
    return render_template(
        "renewals/apply.html", certificate=certificate, form=form.with_blank_rows(), problems=problems or {},
        coverage=services.coverage(certificate, form.declared_periods()),
        refusal=services.apply_refusal(current_user, certificate, today),
        window=rules.window_state(certificate.valid_until, today), opens_on=rules.window_opens_on(certificate.valid_until),
        files_dropped=request.method == "POST" and _files_dropped(form), max_mb=MAX_UPLOAD_BYTES // (1024 * 1024)), status


@bp.route("/certificates/<int:certificate_id>/apply", methods=["GET", "POST"])
@login_required
def apply(certificate_id: int) -> ResponseReturnValue:
    """The holder applies to renew their certificate: periods of CRM work (the page counts the
    days they cover), evidence and the declaration. Outside the window the page says why, and
    after expiry points to a new validation."""
    certificate = own_or_404(Certificate, certificate_id, owner="holder_id")
    existing = services.open_renewal(certificate)
    if existing is not None:
        flash(_("You have already applied to renew this certificate."), "info")
        return redirect(url_for("renewals.detail", renewal_id=existing.id))
    form = RenewalForm()
    if request.method == "GET":
        return _apply_page(certificate, form)
    if services.apply_refusal(current_user, certificate) is not None:
        return _apply_page(certificate, form, 400)
    valid = form.validate_on_submit()
    if not valid or not form.send.data:
        return _apply_page(certificate, form, 200 if valid else 400)
    problems: dict[str, str] = {}
    try:
        application = services.submit(current_user, certificate, form.declared_periods(), form.attached_evidence(),
                                      bool(form.declaration.data))
    except services.RenewalError as error:
        db.session.rollback()
        _place_error(form, problems, error)
        return _apply_page(certificate, form, 400, problems)
    flash(_("Your application has been sent to %(issuer)s. You will be told by e-mail how it goes.",
            issuer=certificate.institution.name), "success")
    return redirect(url_for("renewals.detail", renewal_id=application.id))


@bp.route("/<int:renewal_id>")
@login_required
def detail(renewal_id: int) -> ResponseReturnValue:
    """The holder's application: its status, the periods and evidence with the assessor's notes,
    the decision and the renewed certificate."""
    application = own_or_404(RenewalApplication, renewal_id, owner="holder_id")
    return render_template("renewals/detail.html", application=application, withdraw_form=WithdrawForm(),
                           coverage=services.coverage(application.certificate, application.periods))


def _resubmit_page(application: RenewalApplication, form: RenewalForm, status: int = 200,
                   problems: dict[str, str] | None = None) -> ResponseReturnValue:
    room = rules.MAX_EVIDENCE - len(application.evidence)
    while len(form.evidence) > max(room, 0):
        form.evidence.pop_entry()
    form.with_blank_rows(evidence_needed=len(form.evidence) < room)
    return render_template(
        "renewals/resubmit.html", application=application, certificate=application.certificate, form=form,
        problems=problems or {}, coverage=services.coverage(application.certificate, form.declared_periods()),
        room=room, files_dropped=request.method == "POST" and _files_dropped(form),
        max_mb=MAX_UPLOAD_BYTES // (1024 * 1024)), status


@bp.route("/<int:renewal_id>/resubmit", methods=["GET", "POST"])
@login_required
def resubmit(renewal_id: int) -> ResponseReturnValue:
    """When the assessor asked for more: the holder corrects or adds periods, adds evidence and
    sends the application again."""
    application = own_or_404(RenewalApplication, renewal_id, owner="holder_id")
    if application.status != RenewalStatus.RETURNED:
        flash(_("The application is not waiting for more from you."), "info")
        return redirect(url_for("renewals.detail", renewal_id=application.id))
    if request.method == "GET":
        return _resubmit_page(application, RenewalForm(formdata=None, data=period_rows(application.periods)))
    form = RenewalForm()
    valid = form.validate_on_submit()
    if not valid or not form.send.data:
        return _resubmit_page(application, form, 200 if valid else 400)
    problems: dict[str, str] = {}
    try:
        services.resubmit(current_user, application, form.declared_periods(), form.attached_evidence(),
                          bool(form.declaration.data))
    except services.RenewalError as error:
        db.session.rollback()
        _place_error(form, problems, error)
        return _resubmit_page(application, form, 400, problems)
    flash(_("Your application has been sent again."), "success")
    return redirect(url_for("renewals.detail", renewal_id=application.id))


@bp.route("/<int:renewal_id>/withdraw", methods=["POST"])
@login_required
def withdraw(renewal_id: int) -> ResponseReturnValue:
    """The holder withdraws their application while it is being handled."""
    application = own_or_404(RenewalApplication, renewal_id, owner="holder_id")
    if not WithdrawForm().validate_on_submit():
        abort(400)
    try:
        services.withdraw(current_user, application)
    except services.RenewalError as error:
        db.session.rollback()
        flash(str(error), "warning")
    else:
        flash(_("Your application has been withdrawn."), "info")
    return redirect(url_for("renewals.detail", renewal_id=application.id))


@bp.route("/<int:renewal_id>/evidence/<int:evidence_id>")
@login_required
def evidence_file(renewal_id: int, evidence_id: int) -> ResponseReturnValue:
    """A piece of evidence, for the holder, the issuing institution's staff and the assessor (only
    after their declaration of impartiality)."""
    application = row_or_404(RenewalApplication, renewal_id)
    item = row_or_404(RenewalEvidence, evidence_id, application_id=application.id)
    if not services.may_see_evidence(current_user, application):
        abort(404)
    response: Response = send_stored(item.file)
    return response


# --------------------------------------------------------------------------- staff


def _managed(renewal_id: int) -> RenewalApplication:
    """The application, for staff of the institution that issued the certificate (404 for others)."""
    application = row_or_404(RenewalApplication, renewal_id)
    if not services.may_manage(current_user, application):
        abort(404)
    return application


@bp.route("/staff")
@roles_required(Role.STAFF)
@params(page_number=PAGE.named("page"))
def staff_list(page_number: int) -> ResponseReturnValue:
    """Renewal applications for the institution's certificates, those being handled first."""
    page = db.paginate(services.staff_renewals(current_user), page=page_number, per_page=PAGE_SIZE, error_out=False)
    return render_template("renewals/staff_list.html", page=page)


def _assign_form(application: RenewalApplication, form: AssignForm | None = None) -> AssignForm:
    form = form or AssignForm(formdata=None)
    form.assessor_id.choices = select_choices([("", _("— choose —")), *(
        (str(person.id), person.full_name + (f" — {refusal}" if refusal else ""))
        for person, refusal in services.assessors_for(application))])
    return form


def _staff_page(application: RenewalApplication, form: AssignForm | None = None, status: int = 200) -> ResponseReturnValue:
    assessor = application.assessor if application.is_open else None
    return render_template("renewals/staff_detail.html", application=application, form=_assign_form(application, form),
                           coverage=services.coverage(application.certificate, application.periods),
                           confirmed=services.confirmed_coverage(application),
                           assessor_refusal=services.assessor_refusal(assessor, application) if assessor else None), status


@bp.route("/staff/<int:renewal_id>")
@roles_required(Role.STAFF)
def staff_detail(renewal_id: int) -> ResponseReturnValue:
    """One application for staff: the holder, the periods, the evidence, the assessor."""
    return _staff_page(_managed(renewal_id))


@bp.route("/staff/<int:renewal_id>/assign", methods=["POST"])
@roles_required(Role.STAFF)
def assign(renewal_id: int) -> ResponseReturnValue:
    """Staff assign the assessor; one who may not take it is refused with the reason."""
    application = _managed(renewal_id)
    form = _assign_form(application, AssignForm())
    if not form.validate_on_submit():
        return _staff_page(application, form, 400)
    offered = {person.id: person for person, _refusal in services.assessors_for(application)}
    chosen = parse_id(form.assessor_id.data)
    if chosen is None or chosen not in offered:
        add_error(form.assessor_id, _("Choose an assessor from the list."))
        return _staff_page(application, form, 400)
    try:
        services.assign(current_user, application, offered[chosen])
    except services.RenewalError as error:
        db.session.rollback()
        add_error(form.assessor_id, str(error))
        return _staff_page(application, form, 400)
    flash(_("%(name)s is the assessor of this application and has been told by e-mail.",
            name=offered[chosen].full_name), "success")
    return redirect(url_for("renewals.staff_detail", renewal_id=application.id))


# --------------------------------------------------------------------------- the assessor


def _assigned(renewal_id: int) -> RenewalApplication:
    """The application, for its assigned assessor only (404 for anyone else)."""
    return own_or_404(RenewalApplication, renewal_id, owner="assessor_id")


@bp.route("/assess")
@roles_required(Role.ASSESSOR)
def assessor_list() -> ResponseReturnValue:
    """The renewal applications assigned to the assessor."""
    return render_template("renewals/assessor_list.html", applications=services.assessor_renewals(current_user))


def _assess_page(application: RenewalApplication, status: int = 200, **forms: Any) -> ResponseReturnValue:
    verdict_forms = {item.id: forms.get(f"verdict_{item.id}") or VerdictForm(
        formdata=None, prefix=f"evidence-{item.id}", verdict=item.verdict, note=item.note) for item in application.evidence}
    period_forms = {period.id: forms.get(f"period_{period.id}") or PeriodFindingForm(
        formdata=None, prefix=f"period-{period.id}",
        confirmed=None if period.confirmed is None else "yes" if period.confirmed else "no")
        for period in application.periods}
    return render_template(
        "renewals/assess.html", application=application, certificate=application.certificate,
        refusal=services.assessor_refusal(current_user, application),
        renewed_until=rules.renewed_valid_until(application.certificate.valid_until,
                                                certification.validity_years(application.certificate.qualification)),
        coverage=services.coverage(application.certificate, application.periods),
        confirmed=services.confirmed_coverage(application), period_forms=period_forms,
        declaration_form=forms.get("declaration_form") or DeclarationForm(formdata=None),
        verdict_forms=verdict_forms, return_form=forms.get("return_form") or ReturnForm(formdata=None, prefix="return"),
        decision_form=forms.get("decision_form") or DecisionForm(formdata=None, prefix="decision")), status


@bp.route("/assess/<int:renewal_id>")
@roles_required(Role.ASSESSOR)
def assess(renewal_id: int) -> ResponseReturnValue:
    """The assessor's page: the declaration of impartiality first; then the periods, the evidence
    with a verdict for each, the request for more and the decision."""
    return _assess_page(_assigned(renewal_id))


@bp.route("/assess/<int:renewal_id>/declare", methods=["POST"])
@roles_required(Role.ASSESSOR)
def declare(renewal_id: int) -> ResponseReturnValue:
    application = _assigned(renewal_id)
    form = DeclarationForm()
    if not form.validate_on_submit():
        return _assess_page(application, 400, declaration_form=form)
    try:
        services.declare(current_user, application, bool(form.confirm.data))
    except services.RenewalError as error:
        db.session.rollback()
        add_error(form.confirm, str(error))
        return _assess_page(application, 400, declaration_form=form)
    flash(_("Declaration signed: the evidence is open to you."), "success")
    return redirect(url_for("renewals.assess", renewal_id=application.id))


@bp.route("/assess/<int:renewal_id>/evidence/<int:evidence_id>", methods=["POST"])
@roles_required(Role.ASSESSOR)
def judge(renewal_id: int, evidence_id: int) -> ResponseReturnValue:
    """The assessor's verdict on one piece of evidence."""
    application = _assigned(renewal_id)
    item = row_or_404(RenewalEvidence, evidence_id, application_id=application.id)
    form = VerdictForm(prefix=f"evidence-{item.id}")
    if form.validate_on_submit():
        try:
            services.judge(current_user, application, item.id, form.verdict.data or "", form.note.data)
        except services.RenewalError as error:
            db.session.rollback()
            add_error(form.note if error.field == "note" else form.verdict, str(error))
        else:
            flash(_("Verdict recorded."), "success")
            return redirect(url_for("renewals.assess", renewal_id=application.id, _anchor=f"evidence-{item.id}"))
    return _assess_page(application, 400, **{f"verdict_{item.id}": form})


@bp.route("/assess/<int:renewal_id>/periods/<int:period_id>", methods=["POST"])
@roles_required(Role.ASSESSOR)
def judge_period(renewal_id: int, period_id: int) -> ResponseReturnValue:
    """The assessor's finding on one declared period of work."""
    application = _assigned(renewal_id)
    period = row_or_404(RenewalPeriod, period_id, application_id=application.id)
    form = PeriodFindingForm(prefix=f"period-{period.id}")
    if form.validate_on_submit():
        try:
            services.judge_period(current_user, application, period.id, form.confirmed.data == "yes")
        except services.RenewalError as error:
            db.session.rollback()
            add_error(form.confirmed, str(error))
        else:
            flash(_("Finding recorded."), "success")
            return redirect(url_for("renewals.assess", renewal_id=application.id, _anchor=f"period-{period.id}"))
    return _assess_page(application, 400, **{f"period_{period.id}": form})


@bp.route("/assess/<int:renewal_id>/return", methods=["POST"])
@roles_required(Role.ASSESSOR)
def return_to_holder(renewal_id: int) -> ResponseReturnValue:
    """The assessor asks the holder for more."""
    application = _assigned(renewal_id)
    form = ReturnForm(prefix="return")
    if form.validate_on_submit():
        try:
            services.return_to_holder(current_user, application, form.note.data)
        except services.RenewalError as error:
            db.session.rollback()
            add_error(form.note, str(error))
        else:
            flash(_("The application has gone back to the holder, who has been told by e-mail."), "success")
            return redirect(url_for("renewals.assess", renewal_id=application.id))
    return _assess_page(application, 400, return_form=form)


@bp.route("/assess/<int:renewal_id>/decide", methods=["POST"])
@roles_required(Role.ASSESSOR)
def decide(renewal_id: int) -> ResponseReturnValue:
    """The assessor's decision: positive renews the certificate, negative is justified."""
    application = _assigned(renewal_id)
    form = DecisionForm(prefix="decision")
    if form.validate_on_submit():
        try:
            decided = services.decide(current_user, application, form.outcome.data == "positive", form.justification.data)
        except services.RenewalError as error:
            db.session.rollback()
            add_error(form.justification if error.field == "justification" else form.outcome, str(error))
        else:
            new = decided.new_certificate
            flash(_("Renewed: certificate %(number)s has been issued and the holder told.", number=new.number)
                  if new is not None else _("Decision recorded; the holder has been told."), "success")
            return redirect(url_for("renewals.assess", renewal_id=application.id))
    return _assess_page(application, 400, decision_form=form)
