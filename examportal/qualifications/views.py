"""The public page of a qualification: sets, outcomes, criteria, methods, how validation runs."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import LearningOutcome, OutcomeSet, Qualification
from . import services

bp = Blueprint("qualifications", __name__)


@bp.route("/<code>")
def show(code: str):
    qualification = db.session.scalar(
        select(Qualification).where(Qualification.code == code).options(
            selectinload(Qualification.outcome_sets).selectinload(OutcomeSet.outcomes).selectinload(LearningOutcome.criteria)
        )
    )
    if qualification is None:
        abort(404)
    by_method = {method: len(criteria) for method, criteria in services.criteria_by_method(qualification).items()}
    return render_template("qualifications/show.html", qualification=qualification, by_method=by_method)
