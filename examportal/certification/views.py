"""Certification pages: the decision for a session, fees, the register, a certificate's changes,
the holder's certificates, and the public verification (``verify_bp``, no log-in)."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..access import own_or_404, row_or_404, staff_session_or_404
from ..extensions import db, limiter
from ..forms import PAGE, PortalForm, QueryForm, add_error, params, parse_id, select_choices
from ..models import Certificate, CertificateDuplicate, DuplicateRequest, Role, ValidationSession
from ..security import login_required, public_url, roles_required, staff_institution_ids
from . import batch, rules, services
from .forms import (
    CorrectionForm,
    DecideForm,
    DuplicateRefusalForm,
    DuplicateRequestForm,
    FeeFilterForm,
    FeeRowForm,
    FeesForm,
    ReasonForm,
    RegisterFilterForm,
    RevokeForm,
    VerifyForm,
)

bp = Blueprint("certification", __name__)
verify_bp = Blueprint("verify", __name__)
PAGE_SIZE = 100



@bp.app_template_filter("localdate")
def local_date(value: date | None) -> str:
    """A date the page's way ("15.03.2026" in Polish, "15 Mar 2026" in English)."""
    from flask_babel import format_date

    return str(format_date(value, "medium")) if value else "—"


@bp.app_context_processor
def fee_form_for_session_page() -> dict[str, Any]:
    """The session page includes the fee list (``certification/_session_section.html``)."""
    return {"certification_fees": _fees}




def _viewable(certificate_id: int) -> Certificate:
    """The certificate, for staff of its issuing or validating institution (404 for anyone else)."""
    certificate = row_or_404(Certificate, certificate_id)
    if not services.can_view(current_user, certificate):
        abort(404)
    return certificate


# --------------------------------------------------------------------------- the decision


def _decide_page(session: ValidationSession, form: DecideForm | None = None, status: int = 200,
                 refusals: dict[int, str] | None = None) -> ResponseReturnValue:
    rows = services.session_rows(session, current_user)
    if form is None:
        form = DecideForm(enrolments=[r.enrolment.id for r in rows if r.awaiting and r.refusal is None])
    form.enrolments.choices = select_choices((r.enrolment.id, r.enrolment.candidate.full_name) for r in rows)
    return render_template("certification/session.html", session=session, rows=rows, form=form,
                           refusals=refusals or {}, certifying=session.institution.certifying,
                           today=rules.today()), status


@bp.route("/sessions/<int:session_id>", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def session_candidates(session_id: int) -> ResponseReturnValue:
    """Every candidate of a session waiting for certification, to decide all (or the ticked) at once."""
    session = staff_session_or_404(session_id)
    if request.method == "GET":
        return _decide_page(session)
    form = DecideForm()
    form.enrolments.choices = select_choices((e.id, e.id) for e in session.enrolments)
    if not form.validate_on_submit():
        return _decide_page(session, form, 400)
    try:
        decisions = services.decide(current_user, session, form.enrolments.data or [], form.outcome.data == "positive",
                                    form.reason.data)
    except services.DecisionRefused as refused:
        db.session.rollback()
        add_error(form.enrolments, str(refused))
        return _decide_page(session, form, 400, refused.refusals)
    except services.CertificationError as error:
        db.session.rollback()
        add_error(form.reason if form.outcome.data == "negative" else form.enrolments, str(error))
        return _decide_page(session, form, 400)
    positive = [d for d in decisions if d.positive]
    if positive:
        job = batch.start(current_user, session, positive)
        flash(_("Certification decided for %(n)d candidates. The certificates are being issued; you may leave this page "
                "and come back.", n=len(positive)), "success")
        return redirect(url_for("jobs.detail", job_id=job.id))
    flash(_("Certification refused for %(n)d candidates; they have been told the reason.", n=len(decisions)), "success")
    return redirect(url_for("certification.session_candidates", session_id=session.id))


# --------------------------------------------------------------------------- fees


def _fees(session: ValidationSession, form: FeesForm | None = None) -> dict[str, Any]:
    """The fee list of the session's candidates: the form (filled from what is recorded, or ``form``
    as typed) and the enrolments its rows name."""
    return {"form": form if form is not None else _recorded_fees(session), "enrolments": {e.id: e for e in session.enrolments}}


def _recorded_fees(session: ValidationSession) -> FeesForm:
    rows = []
    for enrolment in session.enrolments:
        if enrolment.status.value != "enrolled":
            continue
        reason = enrolment.fee_reason or ""
        rows.append({"enrolment_id": str(enrolment.id),
                     "amount": "" if enrolment.fee_pln is None else f"{enrolment.fee_pln:.2f}".replace(".", ","),
                     "reason_choice": "art122a" if reason == rules.FREE_OF_CHARGE_122A else ("other" if reason else ""),
                     "other_reason": reason if reason and reason != rules.FREE_OF_CHARGE_122A else ""})
    return FeesForm(formdata=None, data={"rows": rows})


def _fees_page(session: ValidationSession, form: FeesForm | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("certification/fees_session.html", session=session, fees=_fees(session, form)), status


@bp.route("/sessions/<int:session_id>/fees", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def session_fees(session_id: int) -> ResponseReturnValue:
    """The fees of the session's candidates (posted from the session page's list); a refused entry
    shows the list again as typed."""
    session = staff_session_or_404(session_id)
    if request.method == "GET":
        return _fees_page(session)
    form = FeesForm()
    if not form.validate_on_submit():
        return _fees_page(session, form, 400)
    entries: dict[int, services.FeeEntry] = {}
    for row in form.rows:
        sub: FeeRowForm = row.form
        enrolment_id = parse_id(sub.enrolment_id.data)
        if enrolment_id is None:
            abort(400)
        entries[enrolment_id] = services.FeeEntry(sub.parsed_amount(), sub.reason_text())
    try:
        changed = services.record_fees(current_user, session, entries)
    except services.CertificationError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _fees_page(session, form, 400)
    flash(_("Fees recorded (%(n)d changed).", n=changed), "success")
    return redirect(url_for("sessions.detail", session_id=session.id))


@bp.route("/fees")
@roles_required(Role.STAFF)
@params(form=QueryForm(FeeFilterForm), page_number=PAGE.named("page"))
def fees(form: FeeFilterForm, page_number: int) -> ResponseReturnValue:
    """The fees charged by the institution's sessions, with their totals (for the quarterly report)."""
    valid = form.validate()
    query = services.fee_rows(staff_institution_ids(), form.date_from.data if valid else None,
                              form.date_to.data if valid else None)
    page = db.paginate(query, page=page_number, per_page=PAGE_SIZE, error_out=False)
    totals = services.fee_totals(db.session.scalars(query))
    return render_template("certification/fees.html", form=form, page=page, totals=totals), 200 if valid else 400


# --------------------------------------------------------------------------- the register


def _register_filters(form: RegisterFilterForm) -> tuple[services.RegisterFilter, bool]:
    sessions = db.session.scalars(select(ValidationSession).where(ValidationSession.institution_id.in_(staff_institution_ids()))
                                  .order_by(ValidationSession.starts_at.desc())).all()
    form.session_id.choices = select_choices([("", _("any session")), *((str(s.id), s.title) for s in sessions)])
    if not form.validate():
        return services.RegisterFilter(), False
    session_id = parse_id(form.session_id.data) if form.session_id.data else None
    return services.RegisterFilter(status=form.status.data or None, session_id=session_id,
                                   issued_from=form.issued_from.data, issued_to=form.issued_to.data,
                                   expiring_within_days=form.expiring_within_days.data), True


@bp.route("/register")
@roles_required(Role.STAFF)
@params(form=QueryForm(RegisterFilterForm), page_number=PAGE.named("page"))
def register(form: RegisterFilterForm, page_number: int) -> ResponseReturnValue:
    """The institution's certificates, filtered by status, session, issue dates or coming expiry."""
    filters, valid = _register_filters(form)
    page = db.paginate(services.register_query(staff_institution_ids(), filters), page=page_number, per_page=PAGE_SIZE,
                       error_out=False)
    return render_template("certification/register.html", form=form, page=page, today=rules.today(),
                           colours=services.STATUS_COLOURS,
                           open_duplicate_requests=services.open_duplicate_request_count(current_user)), 200 if valid else 400


@bp.route("/register.csv")
@roles_required(Role.STAFF)
@params(form=QueryForm(RegisterFilterForm))
def register_csv(form: RegisterFilterForm) -> ResponseReturnValue:
    filters, valid = _register_filters(form)
    if not valid:
        abort(400, description=_("The register's filters are not valid: correct them on the register page."))
    certificates = db.session.scalars(services.register_query(staff_institution_ids(), filters))
    return Response(services.register_csv(certificates), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="rejestr-certyfikatow.csv"'})


# --------------------------------------------------------------------------- one certificate


def _certificate_page(certificate: Certificate, status: int = 200, **forms: Any) -> ResponseReturnValue:
    return render_template(
        "certification/certificate.html", certificate=certificate, status=certificate.status_on(rules.today()),
        today=rules.today(),
        colours=services.STATUS_COLOURS, chain=services.chain(certificate),
        manage_refusal=services.manage_refusal(current_user, certificate),
        refusals={action: rules.action_refusal(action, certificate.status_on(rules.today()),
                                               valid_until=certificate.valid_until, on=rules.today())
                  for action in rules.ACTIONS},
        suspend_form=forms.get("suspend_form") or ReasonForm(prefix="suspend"),
        lift_form=forms.get("lift_form") or ReasonForm(prefix="lift"),
        revoke_form=forms.get("revoke_form") or RevokeForm(prefix="revoke"),
        duplicate_form=forms.get("duplicate_form") or ReasonForm(prefix="duplicate"),
        correct_form=forms.get("correct_form") or CorrectionForm(
            prefix="correct", formdata=None, first_name=certificate.holder.first_name,
            last_name=certificate.holder.last_name, birth_date=certificate.holder.birth_date),
        holder_pesel_masked=rules.mask_pesel(certificate.holder.pesel),
        duplicate_requests=services.duplicate_requests(certificate),
        refuse_form=forms.get("refuse_form") or DuplicateRefusalForm(prefix="refuse"),
        verify_link=public_url("verify.show", code=certificate.verification_code),
    ), status


@bp.route("/certificates/<int:certificate_id>")
@roles_required(Role.STAFF)
def certificate(certificate_id: int) -> ResponseReturnValue:
    return _certificate_page(_viewable(certificate_id))


def _status_action(certificate_id: int, action: str, form: ReasonForm, done: str) -> ResponseReturnValue:
    certificate = _viewable(certificate_id)
    if form.validate_on_submit():
        try:
            services.change_status(current_user, certificate, action, form.reason.data)
        except services.CertificationError as error:
            db.session.rollback()
            flash(str(error), "danger")  # a rule's refusal: the form may not even be on the page
        else:
            flash(done, "success")
            return redirect(url_for("certification.certificate", certificate_id=certificate.id))
    return _certificate_page(certificate, 400, **{f"{action}_form": form})


@bp.route("/certificates/<int:certificate_id>/suspend", methods=["POST"])
@roles_required(Role.STAFF)
def suspend(certificate_id: int) -> ResponseReturnValue:
    return _status_action(certificate_id, "suspend", ReasonForm(prefix="suspend"),
                          _("The certificate is suspended; the holder has been told."))


@bp.route("/certificates/<int:certificate_id>/lift", methods=["POST"])
@roles_required(Role.STAFF)
def lift(certificate_id: int) -> ResponseReturnValue:
    return _status_action(certificate_id, "lift", ReasonForm(prefix="lift"),
                          _("The suspension is lifted; the holder has been told."))


@bp.route("/certificates/<int:certificate_id>/revoke", methods=["POST"])
@roles_required(Role.STAFF)
def revoke(certificate_id: int) -> ResponseReturnValue:
    return _status_action(certificate_id, "revoke", RevokeForm(prefix="revoke"),
                          _("The certificate is revoked; the holder has been told."))


@bp.route("/certificates/<int:certificate_id>/correct", methods=["POST"])
@roles_required(Role.STAFF)
def correct(certificate_id: int) -> ResponseReturnValue:
    """Reissue the certificate with corrected holder data."""
    certificate = _viewable(certificate_id)
    form = CorrectionForm(prefix="correct")
    if form.validate_on_submit():
        try:
            replacement = services.correct(current_user, certificate, first_name=form.first_name.data or "",
                                           last_name=form.last_name.data or "", birth_date=form.birth_date.data,
                                           reason=form.reason.data, pesel=form.pesel.data)
        except services.CertificationError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            flash(_("A corrected certificate %(number)s has been issued; the old one is superseded.",
                    number=replacement.number), "success")
            return redirect(url_for("certification.certificate", certificate_id=replacement.id))
    return _certificate_page(certificate, 400, correct_form=form)


@bp.route("/certificates/<int:certificate_id>/duplicate", methods=["POST"])
@roles_required(Role.STAFF)
def duplicate(certificate_id: int) -> ResponseReturnValue:
    certificate = _viewable(certificate_id)
    form = ReasonForm(prefix="duplicate")
    if form.validate_on_submit():
        try:
            services.issue_duplicate(current_user, certificate, form.reason.data)
        except services.CertificationError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            flash(_("A duplicate has been issued."), "success")
            return redirect(url_for("certification.certificate", certificate_id=certificate.id))
    return _certificate_page(certificate, 400, duplicate_form=form)


def _duplicate_request(certificate_id: int, request_id: int) -> tuple[Certificate, DuplicateRequest]:
    """The certificate (as :func:`_viewable`) and its request for a duplicate (404 for another's)."""
    certificate = _viewable(certificate_id)
    duplicate_request = row_or_404(DuplicateRequest, request_id, certificate_id=certificate.id)
    return certificate, duplicate_request


@bp.route("/certificates/<int:certificate_id>/duplicate-requests/<int:request_id>/issue", methods=["POST"])
@roles_required(Role.STAFF)
def issue_requested_duplicate(certificate_id: int, request_id: int) -> ResponseReturnValue:
    """Issue the duplicate the holder asked for, with their reason."""
    certificate, duplicate_request = _duplicate_request(certificate_id, request_id)
    if not PortalForm().validate_on_submit():
        abort(400)
    try:
        services.issue_requested_duplicate(current_user, duplicate_request)
    except services.CertificationError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _certificate_page(certificate, 400)
    flash(_("The duplicate has been issued; the holder has been told and may download it."), "success")
    return redirect(url_for("certification.certificate", certificate_id=certificate.id))


@bp.route("/certificates/<int:certificate_id>/duplicate-requests/<int:request_id>/refuse", methods=["POST"])
@roles_required(Role.STAFF)
def refuse_duplicate_request(certificate_id: int, request_id: int) -> ResponseReturnValue:
    """Refuse the holder's request for a duplicate, with the reason they receive."""
    certificate, duplicate_request = _duplicate_request(certificate_id, request_id)
    form = DuplicateRefusalForm(prefix="refuse")
    if form.validate_on_submit():
        try:
            services.refuse_duplicate_request(current_user, duplicate_request, form.response.data)
        except services.CertificationError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            flash(_("The request is refused; the holder has been told the reason."), "success")
            return redirect(url_for("certification.certificate", certificate_id=certificate.id))
    return _certificate_page(certificate, 400, refuse_form=form)


@bp.route("/duplicate-requests")
@roles_required(Role.STAFF)
@params(page_number=PAGE.named("page"))
def duplicate_requests(page_number: int) -> ResponseReturnValue:
    """Holders' requests for duplicates waiting at the institutions where the user is staff, oldest first."""
    page = db.paginate(services.open_duplicate_requests(current_user), page=page_number, per_page=PAGE_SIZE,
                       error_out=False)
    return render_template("certification/duplicate_requests.html", page=page)


@bp.route("/certificates/<int:certificate_id>/reprint", methods=["POST"])
@roles_required(Role.STAFF)
def reprint(certificate_id: int) -> ResponseReturnValue:
    """Print the certificate again from its stored content (audited with the print's SHA-256)."""
    certificate = _viewable(certificate_id)
    if not PortalForm().validate_on_submit():
        abort(400)
    try:
        data = services.reprint(current_user, certificate)
    except services.CertificationError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _certificate_page(certificate, 400)
    return _pdf(data, batch.pdf_name(certificate.number, "wydruk"))


def _pdf_reader(certificate: Certificate) -> bool:
    return certificate.holder_id == current_user.id or services.can_view(current_user, certificate)


def _pdf(data: bytes, name: str) -> Response:
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private, no-store"})


@bp.route("/certificates/<int:certificate_id>/certificate.pdf")
@login_required
def certificate_pdf(certificate_id: int) -> ResponseReturnValue:
    """The certificate as issued, for its holder and the institution's staff."""
    certificate = row_or_404(Certificate, certificate_id)
    if not _pdf_reader(certificate) or certificate.pdf is None:
        abort(404)
    return _pdf(certificate.pdf, batch.pdf_name(certificate.number, "certyfikat"))


@bp.route("/certificates/<int:certificate_id>/duplicates/<int:duplicate_id>.pdf")
@login_required
def duplicate_pdf(certificate_id: int, duplicate_id: int) -> ResponseReturnValue:
    certificate = row_or_404(Certificate, certificate_id)
    copy = row_or_404(CertificateDuplicate, duplicate_id, certificate_id=certificate.id)
    if not _pdf_reader(certificate):
        abort(404)
    return _pdf(copy.pdf, batch.pdf_name(certificate.number, f"duplikat-{copy.issued_on.isoformat()}"))


def _request_form(certificate: Certificate) -> DuplicateRequestForm:
    return DuplicateRequestForm(prefix=f"duplicate-{certificate.id}")


def _mine_page(status: int = 200, typed: DuplicateRequestForm | None = None,
               typed_for: int | None = None) -> ResponseReturnValue:
    certificates = services.holder_certificates(current_user)
    # A request form for each certificate the holder may ask a duplicate of (``typed``: as posted).
    request_forms = {c.id: typed if typed is not None and c.id == typed_for else _request_form(c) for c in certificates
                     if services.duplicate_request_refusal(current_user, c) is None}
    return render_template("certification/mine.html", certificates=certificates, today=rules.today(),
                           colours=services.STATUS_COLOURS, request_forms=request_forms,
                           requests=services.holder_duplicate_requests(current_user),
                           links={c.id: public_url("verify.show", code=c.verification_code) for c in certificates}), status


@bp.route("/mine")
@login_required
def mine() -> ResponseReturnValue:
    """The holder's certificates: PDF, verification link, status and renewal date, their duplicates
    and requests for them."""
    return _mine_page()


@bp.route("/mine/<int:certificate_id>/duplicate-request", methods=["POST"])
@login_required
def request_duplicate(certificate_id: int) -> ResponseReturnValue:
    """The holder asks for a duplicate of their certificate (404 for anyone else's)."""
    certificate = own_or_404(Certificate, certificate_id, owner="holder_id")
    form = _request_form(certificate)
    if form.validate_on_submit():
        try:
            services.request_duplicate(current_user, certificate, form.reason.data)
        except services.CertificationError as error:
            db.session.rollback()
            flash(str(error), "danger")  # a rule's refusal: the form may no longer be on the page
        else:
            flash(_("Your request for a duplicate has been sent to %(name)s; you will be told by e-mail.",
                    name=certificate.institution.name), "success")
            return redirect(url_for("certification.mine"))
    return _mine_page(400, form, certificate.id)


# --------------------------------------------------------------------------- public verification


def _verify_limit() -> str:
    return str(current_app.config["VERIFY_RATE_LIMIT"])


@verify_bp.route("")
def form() -> ResponseReturnValue:
    """Where anyone types a certificate's number or verification code."""
    return render_template("certification/verify.html", form=VerifyForm(formdata=None), not_found=False)


@verify_bp.route("/lookup")
@limiter.limit(_verify_limit)
@params(form=QueryForm(VerifyForm))
def lookup(form: VerifyForm) -> ResponseReturnValue:
    """A number or code typed into the form: rate-limited, since numbers follow a visible pattern."""
    if not form.validate():
        return render_template("certification/verify.html", form=form, not_found=False), 400
    found = services.find(form.q.data or "")
    if found is None:
        return render_template("certification/verify.html", form=form, not_found=True), 404
    return redirect(url_for("verify.show", code=found.verification_code))


@verify_bp.route("/<code>")
def show(code: str) -> ResponseReturnValue:
    """What the QR code opens: the certificate's status and public data."""
    certificate = services.by_code(code)
    if certificate is None:
        return render_template("certification/verify.html", form=VerifyForm(formdata=None), not_found=True), 404
    return render_template("certification/verified.html", v=services.public_view(certificate, str(get_locale())))
