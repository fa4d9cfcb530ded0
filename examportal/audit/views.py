"""Staff browse and filter the audit log of their institution."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import AuditEntry, Role
from ..security import roles_required, staff_institution_ids
from .forms import AuditFilterForm

bp = Blueprint("audit", __name__)
PAGE_SIZE = 50


@bp.route("/")
@roles_required(Role.STAFF, Role.ADMIN)
def index():
    form = AuditFilterForm(request.args)
    query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if not current_user.has_role(Role.ADMIN):
        query = query.where(AuditEntry.institution_id.in_(staff_institution_ids()))
    if form.validate():
        if form.action.data:
            query = query.where(AuditEntry.action.contains(form.action.data.strip(), autoescape=True))
        if form.object_type.data:
            query = query.where(AuditEntry.object_type == form.object_type.data.strip())
        if form.actor.data:
            query = query.where(AuditEntry.actor_label.contains(form.actor.data.strip(), autoescape=True))
        if form.date_from.data:
            query = query.where(AuditEntry.at >= datetime.combine(form.date_from.data, time.min, UTC))
        if form.date_to.data:
            query = query.where(AuditEntry.at < datetime.combine(form.date_to.data + timedelta(days=1), time.min, UTC))
    page = db.paginate(query, per_page=PAGE_SIZE, error_out=False)
    return render_template("audit/index.html", form=form, page=page), 200 if not form.errors else 400
