"""Staff browse and filter the audit log of their institution; an external auditor, the entries
of the institution and period of their mandate."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import ColumnElement, and_, false, or_, select

from ..certification.rules import WARSAW
from ..extensions import db
from ..forms import PAGE, QueryForm, params
from ..models import AuditEntry, Role
from ..reports.access import ReaderScope, reader_scopes
from ..security import roles_required
from . import display
from .forms import AuditFilterForm

bp = Blueprint("audit", __name__)
PAGE_SIZE = 50


def _readable(scope: ReaderScope) -> ColumnElement[bool]:
    """The entries of the scope's institutions, logged within its period (Warsaw days)."""
    clause: ColumnElement[bool] = AuditEntry.institution_id.in_(scope.institution_ids)
    if scope.period_from is not None:
        clause = and_(clause, AuditEntry.at >= datetime.combine(scope.period_from, time.min, WARSAW))
    if scope.period_to is not None:
        clause = and_(clause, AuditEntry.at < datetime.combine(scope.period_to + timedelta(days=1), time.min, WARSAW))
    return clause


@bp.route("/")
@roles_required(Role.STAFF, Role.ADMIN, Role.AUDITOR)
@params(form=QueryForm(AuditFilterForm), page_number=PAGE.named("page"))
def index(form: AuditFilterForm, page_number: int):
    query = select(AuditEntry).order_by(AuditEntry.seq.desc())
    if not current_user.has_role(Role.ADMIN):
        scopes = reader_scopes()
        query = query.where(or_(*(_readable(scope) for scope in scopes)) if scopes else false())
    if form.validate():
        if form.action.data:
            text = form.action.data.strip()
            query = query.where(or_(AuditEntry.action.contains(text, autoescape=True),
                                    AuditEntry.action.in_(display.actions_matching(text))))
        if form.object_type.data:
            query = query.where(AuditEntry.object_type == form.object_type.data.strip())
        if form.actor.data:
            # Entries name their actor by id: the name is looked up among the people the viewer may see.
            query = query.where(or_(AuditEntry.actor_id.in_(display.people_matching(current_user, form.actor.data)),
                                    AuditEntry.actor_label == form.actor.data.strip().lower()))
        if form.date_from.data:
            query = query.where(AuditEntry.at >= datetime.combine(form.date_from.data, time.min, UTC))
        if form.date_to.data:
            query = query.where(AuditEntry.at < datetime.combine(form.date_to.data + timedelta(days=1), time.min, UTC))
    page = db.paginate(query, page=page_number, per_page=PAGE_SIZE, error_out=False)
    people = display.person_labels(current_user, {p for e in page.items for p in display.people_named(e)})
    withheld = display.withheld_from(current_user, page.items)
    rows = [{"entry": e, "action": display.action_label(e.action), "object": display.object_label(e.object_type),
             "actor": people.get(e.actor_id, "") if e.actor_id else None,
             "changes": display.diff(e, people, withheld.get(e.id, frozenset()))}
            for e in page.items]
    return render_template("audit/index.html", form=form, page=page, rows=rows), 200 if not form.errors else 400
