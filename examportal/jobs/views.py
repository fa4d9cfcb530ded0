"""Staff's view of background jobs: start a session's archive, follow its progress, fetch the result."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from ..access import row_or_404, staff_session_or_404
from ..extensions import db
from ..forms import PortalForm
from ..models import BackgroundJob, JobStatus, Role
from ..security import roles_required, staff_institution_ids
from .core import start

bp = Blueprint("jobs", __name__)


def _visible(job: BackgroundJob) -> bool:
    if current_user.has_role(Role.ADMIN):
        return True
    return job.created_by_id == current_user.id or (job.institution_id is not None
                                                   and job.institution_id in staff_institution_ids())


def _job(job_id: int) -> BackgroundJob:
    job = row_or_404(BackgroundJob, job_id)
    if not _visible(job):
        abort(404)
    return job


@bp.route("/")
@roles_required(Role.STAFF, Role.ADMIN)
def index() -> ResponseReturnValue:
    """Recent jobs of the staff member's institutions (all of them, system jobs included, for the administrator)."""
    query = select(BackgroundJob).order_by(BackgroundJob.id.desc()).limit(100)
    if not current_user.has_role(Role.ADMIN):
        query = query.where(or_(BackgroundJob.institution_id.in_(staff_institution_ids() or {0}),
                                BackgroundJob.created_by_id == current_user.id))
    jobs = db.session.scalars(query).all()
    return render_template("jobs/index.html", jobs=jobs, failed=[j for j in jobs if j.status == JobStatus.FAILED])


@bp.route("/<int:job_id>")
@roles_required(Role.STAFF, Role.ADMIN)
def detail(job_id: int) -> ResponseReturnValue:
    job = _job(job_id)
    return render_template("jobs/detail.html", job=job, running=job.status not in (JobStatus.FINISHED, JobStatus.FAILED))


@bp.route("/<int:job_id>/progress.json")
@roles_required(Role.STAFF, Role.ADMIN)
def progress(job_id: int) -> ResponseReturnValue:
    job = _job(job_id)
    return jsonify(status=job.status.value, label=job.status.label, done=job.done, total=job.total,
                   percent=job.percent, problems=job.problems, error=job.last_error,
                   result=url_for("jobs.result", job_id=job.id) if job.result is not None else None)


@bp.route("/<int:job_id>/result")
@roles_required(Role.STAFF, Role.ADMIN)
def result(job_id: int) -> ResponseReturnValue:
    job = _job(job_id)
    if job.result is None:
        abort(404)
    return Response(job.result, mimetype=job.result_type or "application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{job.result_name or "wynik"}"'})


@bp.route("/sessions/<int:session_id>/archive", methods=["POST"])
@roles_required(Role.STAFF)
def session_archive(session_id: int) -> ResponseReturnValue:
    """Start the session's archive (its protocols and a summary) as a job."""
    session = staff_session_or_404(session_id)
    if not PortalForm().validate_on_submit():
        abort(400)
    job = start("session_archive", actor=current_user, institution_id=session.institution_id, session_id=session.id)
    flash(_("The archive is being prepared; you may leave this page and come back."), "info")
    return redirect(url_for("jobs.detail", job_id=job.id))
