"""Complaint pages: the public form (anyone, no account needed, rate-limited), the staff's list and
a complaint's page, where staff acknowledge and assign it and its handler records the outcome."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..access import row_or_404
from ..extensions import db, limiter
from ..forms import MAX_ID, PAGE, QueryForm, add_error, params, parse_id, select_choices
from ..models import Complaint, ComplaintStatus, Institution, Role, User
from ..security import roles_required
from . import services
from .forms import AcknowledgeForm, AssignForm, ComplaintFilterForm, ComplaintForm, OutcomeForm

bp = Blueprint("complaints", __name__)
PAGE_SIZE = 50
#: The session remembers the complaint just filed, so that only its complainant sees its number
#: after the redirect (a page at /complaints/<number> would let anyone try numbers).
FILED = "complaint_filed"
STATUS_BADGES = {ComplaintStatus.FILED: "warn", ComplaintStatus.ACKNOWLEDGED: "", ComplaintStatus.ASSIGNED: "",
                 ComplaintStatus.CLOSED: "ok"}


def _complaint_limit() -> str:
    return str(current_app.config["COMPLAINT_RATE_LIMIT"])


def _filed(response: Response) -> bool:
    """Only a complaint actually filed (the redirect to its confirmation) counts against the
    limit: a form sent back to correct a field costs nothing and files nothing."""
    return response.status_code == 302


def _institution_label(institution: Institution) -> str:
    if institution.parent is None:
        return institution.name
    return str(_("%(name)s (validating institution of %(parent)s)", name=institution.name, parent=institution.parent.name))


@bp.route("/new", methods=["GET", "POST"])
@limiter.limit(_complaint_limit, methods=["POST"], deduct_when=_filed)
def new() -> ResponseReturnValue:
    """Anyone's complaint about an institution; a logged-in person's is linked to their account."""
    user: User | None = current_user._get_current_object() if current_user.is_authenticated else None
    form = ComplaintForm(data={"name": user.full_name, "email": user.email} if user is not None else None)
    form.institution_id.choices = select_choices([("", _("— choose —")),
                                                  *((str(i.id), _institution_label(i)) for i in services.institutions_to_choose())])
    if form.validate_on_submit():
        try:
            complaint = services.file_complaint(
                institution_id=parse_id(form.institution_id.data) or 0, name=form.name.data or "",
                email=form.email.data or "", text=form.text.data or "", locale=str(get_locale()), user=user)
        except services.ComplaintError as error:
            db.session.rollback()
            add_error(getattr(form, error.field or "text"), str(error))
        else:
            session[FILED] = complaint.id
            return redirect(url_for("complaints.filed"))
    return render_template("complaints/new.html", form=form, max_text=services.MAX_TEXT), 400 if form.errors else 200


@bp.route("/filed")
def filed() -> ResponseReturnValue:
    """The confirmation with the complaint's number, for the browser that filed it."""
    complaint_id = session.get(FILED)
    complaint = db.session.get(Complaint, complaint_id) if isinstance(complaint_id, int) and 0 < complaint_id <= MAX_ID else None
    if complaint is None:
        return redirect(url_for("complaints.new"))
    return render_template("complaints/filed.html", complaint=complaint)


# --------------------------------------------------------------------------- staff and handlers


def _filters(form: ComplaintFilterForm) -> tuple[services.ComplaintFilter, bool]:
    handled = services.handled_institution_ids(current_user)
    institutions: list[Institution] = list(db.session.scalars(
        select(Institution).where(Institution.id.in_(handled)).order_by(Institution.name))) if handled else []
    form.institution_id.choices = select_choices([("", _("any institution")), *((str(i.id), i.name) for i in institutions)])
    if not form.validate():
        return services.ComplaintFilter(), False
    return services.ComplaintFilter(status=form.status.data or "", institution_id=parse_id(form.institution_id.data),
                                    mine=bool(form.mine.data)), True


@bp.route("/")
@roles_required(Role.STAFF, Role.APPEALS)
@params(form=QueryForm(ComplaintFilterForm), page_number=PAGE.named("page"))
def index(form: ComplaintFilterForm, page_number: int) -> ResponseReturnValue:
    """Complaints the user's institution handles (staff) and those the user handles, filtered."""
    filters, valid = _filters(form)
    page = db.paginate(services.visible_complaints(current_user, filters), page=page_number, per_page=PAGE_SIZE,
                       error_out=False)
    return render_template("complaints/index.html", form=form, page=page, age=services.age_days,
                           badges=STATUS_BADGES), 200 if valid else 400


def _viewable(complaint_id: int) -> Complaint:
    """The complaint, for staff of its handling institution and its handler (404 for anyone else)."""
    complaint = row_or_404(Complaint, complaint_id)
    if not services.can_view(current_user, complaint):
        abort(404)
    return complaint


def _assign_choices(form: AssignForm, complaint: Complaint) -> None:
    form.handler.choices = select_choices([("", _("— choose —")), *(
        (str(u.id), u.full_name + (" " + _("(filed this complaint)") if services.is_complainant(u, complaint) else ""))
        for u in services.handler_choices(complaint))])
    form.concerned.choices = select_choices((str(u.id), u.full_name) for u in services.concerned_choices(complaint))


def _page(complaint: Complaint, status: int = 200, error: str | None = None, **forms: Any) -> ResponseReturnValue:
    assign_form = forms.get("assign_form") or AssignForm(formdata=None)
    _assign_choices(assign_form, complaint)
    return render_template(
        "complaints/detail.html", complaint=complaint, age=services.age_days(complaint), badges=STATUS_BADGES,
        can_manage=services.can_manage(current_user, complaint), is_handler=services.is_handler(current_user, complaint),
        filed_by_me=services.is_complainant(current_user, complaint), error=error,
        acknowledge_form=AcknowledgeForm(formdata=None), assign_form=assign_form,
        outcome_form=forms.get("outcome_form") or OutcomeForm(formdata=None),
    ), status


@bp.route("/<int:complaint_id>")
@roles_required(Role.STAFF, Role.APPEALS)
def detail(complaint_id: int) -> ResponseReturnValue:
    return _page(_viewable(complaint_id))


@bp.route("/<int:complaint_id>/acknowledge", methods=["POST"])
@roles_required(Role.STAFF)
def acknowledge(complaint_id: int) -> ResponseReturnValue:
    """Acknowledge the complaint (the complainant is mailed)."""
    complaint = _viewable(complaint_id)
    if not AcknowledgeForm().validate_on_submit():
        abort(400)
    try:
        services.acknowledge(current_user._get_current_object(), complaint)
    except services.ComplaintError as error:
        db.session.rollback()
        return _page(complaint, 400, error=str(error))
    flash(_("The complaint is acknowledged; the complainant has been told."), "success")
    return redirect(url_for("complaints.detail", complaint_id=complaint.id))


@bp.route("/<int:complaint_id>/assign", methods=["POST"])
@roles_required(Role.STAFF)
def assign(complaint_id: int) -> ResponseReturnValue:
    """Assign the handler, marking the persons the complaint concerns (they cannot handle it)."""
    complaint = _viewable(complaint_id)
    form = AssignForm()
    _assign_choices(form, complaint)
    if form.validate_on_submit():
        # An id that is not one matches nobody (0): the service refuses it with its message.
        concerned = [parse_id(value) or 0 for value in form.concerned.data or []]
        try:
            services.assign(current_user._get_current_object(), complaint, parse_id(form.handler.data) or 0, concerned)
        except services.ComplaintError as error:
            db.session.rollback()
            if error.field is None:
                return _page(complaint, 400, error=str(error), assign_form=form)
            add_error(getattr(form, error.field), str(error))
        else:
            flash(_("The handler is assigned and mailed; the complainant has been told."), "success")
            return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    return _page(complaint, 400, assign_form=form)


@bp.route("/<int:complaint_id>/close", methods=["POST"])
@roles_required(Role.STAFF, Role.APPEALS)
def close(complaint_id: int) -> ResponseReturnValue:
    """The handler records the outcome and closes the complaint (the complainant is mailed the outcome)."""
    complaint = _viewable(complaint_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            services.close(current_user._get_current_object(), complaint, form.outcome.data or "")
        except services.ComplaintError as error:
            db.session.rollback()
            if error.field is None:
                return _page(complaint, 400, error=str(error), outcome_form=form)
            add_error(getattr(form, error.field), str(error))
        else:
            flash(_("The complaint is closed; the complainant has been mailed the outcome."), "success")
            return redirect(url_for("complaints.detail", complaint_id=complaint.id))
    return _page(complaint, 400, outcome_form=form)
