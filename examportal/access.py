"""Who may load what: the loaders views use for the object a URL names.

Each answers 404 — never 403 — to anyone the object is not for, so a guessed id tells nothing
about whether it exists. Area-specific rules (a theory attempt taken only from the exam room, a
certificate seen by its institutions) build on these in their own modules.
"""
from __future__ import annotations

from typing import TypeVar

from flask import abort
from flask_login import current_user

from sandbox_crm.params import MAX_ID

from .extensions import db
from .models import Enrolment, ValidationSession
from .security import require_institution, staff_institution_ids

M = TypeVar("M")


def row_or_404(model: type[M], row_id: int) -> M:
    """The row with this id, or 404 — also for an id no INTEGER column holds, which the database
    driver would refuse with an error instead of finding nothing."""
    if not 0 < row_id <= MAX_ID:
        abort(404)
    return db.get_or_404(model, row_id)


def staff_session_or_404(session_id: int) -> ValidationSession:
    """A session of an institution the current user manages as staff (see :func:`staff_institution_ids`)."""
    session = row_or_404(ValidationSession, session_id)
    require_institution(session.institution_id, staff_institution_ids())
    return session


def own_enrolment_or_404(enrolment_id: int) -> Enrolment:
    """An enrolment of the current user as a candidate."""
    enrolment = row_or_404(Enrolment, enrolment_id)
    if enrolment.candidate_id != current_user.id:
        abort(404)
    return enrolment
