"""The external auditor's mandate (granted and revoked by staff) and the auditor's evidence pack:
the protocols decided in the mandate's period, with the audit log and the reports of that period."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..access import staff_row_or_404
from ..certification.rules import WARSAW, today
from ..extensions import db
from ..forms import add_error, select_choices
from ..models import AuditorMandate, Enrolment, Institution, Role, ValidationDecision, ValidationSession
from ..security import login_required, roles_required, staff_institution_ids
from . import access, auditors, bp
from .forms import MandateForm


def _(text: str, **values: Any) -> str:
    return str(gettext(text, **values))


def _institution_choices(form: MandateForm) -> dict[int, Institution]:
    institutions = {i.id: i for i in db.session.scalars(select(Institution).where(
        Institution.id.in_(staff_institution_ids())).order_by(Institution.name))}
    form.institution_id.choices = select_choices((str(i.id), i.name) for i in institutions.values())
    return institutions


def _mandates_page(form: MandateForm, status: int = 200) -> ResponseReturnValue:
    return render_template("reports/auditors.html", form=form, mandates=auditors.mandates_of(staff_institution_ids()),
                           today=today()), status


@bp.route("/auditors", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def auditor_mandates() -> ResponseReturnValue:
    """The mandates granted over the staff member's institutions, and the form to grant one."""
    form = MandateForm()
    institutions = _institution_choices(form)
    if not form.is_submitted():
        return _mandates_page(form)
    if not form.validate():
        return _mandates_page(form, 400)
    institution = institutions[int(form.institution_id.data)]  # the choices are exactly these ids
    request = auditors.MandateRequest(email=form.email.data or "", first_name=form.first_name.data,
                                      last_name=form.last_name.data, period_from=cast(date, form.period_from.data),
                                      period_to=cast(date, form.period_to.data),
                                      expires_on=cast(date, form.expires_on.data))  # DataRequired: all three set
    try:
        auditors.grant(current_user, institution, request)
    except auditors.MandateRefused as refusal:
        db.session.rollback()
        add_error(form.email, str(refusal))
        return _mandates_page(form, 400)
    flash(_("The auditor's mandate has been granted."), "success")
    return redirect(url_for("reports.auditor_mandates"))


@bp.route("/auditors/<int:mandate_id>/revoke", methods=["POST"])
@roles_required(Role.STAFF)
def revoke_mandate(mandate_id: int) -> ResponseReturnValue:
    mandate = staff_row_or_404(AuditorMandate, mandate_id, lambda mandate: mandate.institution_id)
    try:  # (CSRFProtect has checked the token)
        auditors.revoke(current_user, mandate)
    except auditors.MandateRefused as refusal:
        flash(str(refusal), "warning")
    else:
        flash(_("The mandate has been revoked."), "info")
    return redirect(url_for("reports.auditor_mandates"))


def _warsaw_bounds(mandate: AuditorMandate) -> tuple[datetime, datetime]:
    start = datetime.combine(mandate.period_from, time.min, WARSAW).astimezone(UTC)
    end = datetime.combine(mandate.period_to + timedelta(days=1), time.min, WARSAW).astimezone(UTC)
    return start, end


@bp.route("/audit-pack")
@login_required
def audit_pack() -> ResponseReturnValue:
    """The auditor's start page: their live mandates."""
    mandates = access.live_mandates(current_user)
    if not mandates:
        abort(403)
    return render_template("reports/audit_pack.html", mandates=mandates)


@bp.route("/audit-pack/<int:mandate_id>")
@login_required
def audit_pack_mandate(mandate_id: int) -> ResponseReturnValue:
    """One mandate: the validation decisions made within its period at the institution, each with its protocol."""
    mandate = next((m for m in access.live_mandates(current_user) if m.id == mandate_id), None)
    if mandate is None:
        abort(404)
    start, end = _warsaw_bounds(mandate)
    scope = access.scope_for(mandate.institution_id, mandate.period_from, mandate.period_to)
    decisions = db.session.scalars(
        select(ValidationDecision).join(Enrolment, ValidationDecision.enrolment_id == Enrolment.id)
        .join(ValidationSession, Enrolment.session_id == ValidationSession.id)
        .where(ValidationSession.institution_id.in_(scope.institution_ids),
               ValidationDecision.decided_at >= start, ValidationDecision.decided_at < end)
        .order_by(ValidationDecision.decided_at, ValidationDecision.id)
        .options(selectinload(ValidationDecision.enrolment).selectinload(Enrolment.session),
                 selectinload(ValidationDecision.enrolment).selectinload(Enrolment.candidate))).all()
    return render_template("reports/audit_pack_mandate.html", mandate=mandate, decisions=decisions)
