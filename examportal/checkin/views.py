"""The check-in page of a session, for its exam-system operator."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from ..access import operated_session_or_404, row_or_404
from ..extensions import db
from ..forms import add_error
from ..models import Enrolment, EnrolmentStatus, Role, ValidationSession
from ..models.base import utcnow
from ..security import roles_required
from . import services
from .forms import CheckInForm

bp = Blueprint("checkin", __name__)


def _render(session: ValidationSession, failed: tuple[int, CheckInForm] | None = None,
            status: int = 200) -> ResponseReturnValue:
    enrolments = sorted((e for e in session.enrolments if e.status == EnrolmentStatus.ENROLLED),
                        key=lambda e: (e.candidate.last_name.casefold(), e.candidate.first_name.casefold(), e.id))
    forms = {e.id: CheckInForm(formdata=None, prefix=f"e{e.id}") for e in enrolments if e.checked_in_at is None}
    if failed is not None:
        forms[failed[0]] = failed[1]
    return render_template("checkin/page.html", session=session, enrolments=enrolments, forms=forms,
                           opens_at=services.opens_at(session), now=utcnow(),
                           documents=services.IDENTITY_DOCUMENTS,
                           checked=sum(1 for e in enrolments if e.checked_in_at is not None)), status


@bp.route("/sessions/<int:session_id>/check-in")
@roles_required(Role.OPERATOR)
def page(session_id: int) -> ResponseReturnValue:
    return _render(operated_session_or_404(session_id))


@bp.route("/sessions/<int:session_id>/check-in/<int:enrolment_id>", methods=["POST"])
@roles_required(Role.OPERATOR)
def check_in(session_id: int, enrolment_id: int) -> ResponseReturnValue:
    session = operated_session_or_404(session_id)
    enrolment = row_or_404(Enrolment, enrolment_id, session_id=session.id)
    form = CheckInForm(prefix=f"e{enrolment.id}")
    if form.validate_on_submit():
        try:
            services.check_in(session, current_user, enrolment, form.document.data or "", bool(form.matches.data))
        except services.CheckInError as error:
            db.session.rollback()
            add_error(form.matches, str(error))
            if enrolment.checked_in_at is not None or enrolment.status != EnrolmentStatus.ENROLLED:
                flash(str(error), "danger")  # the page shows no form for this candidate
        else:
            flash(_("%(name)s is checked in.", name=enrolment.candidate.full_name), "success")
            return redirect(url_for("checkin.page", session_id=session.id, _anchor=f"enrolment-{enrolment.id}"))
    return _render(session, (enrolment.id, form), 400)
