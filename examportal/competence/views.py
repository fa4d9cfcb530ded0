"""Staff record the competence of their institution's assessors and operators."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from ..access import row_or_404, staff_row_or_404
from ..extensions import db
from ..forms import add_error
from ..models import CompetenceKind, CompetenceRecord, Institution, Role, User
from ..security import roles_required, staff_institution_ids
from . import services
from .forms import CompetenceForm

bp = Blueprint("competence", __name__)
KINDS = frozenset(kind.value for kind in CompetenceKind)


def _person_at(institution_id: int, user_id: int, kind: str) -> tuple[Institution, User, CompetenceKind]:
    """The institution (the viewer's), the person and the kind of record; 404 unless the person
    holds that role at that institution."""
    institution = staff_row_or_404(Institution, institution_id, lambda institution: institution.id)
    if kind not in KINDS:
        abort(404)
    competence_kind = CompetenceKind(kind)
    user = row_or_404(User, user_id)
    if not user.has_role(services.ROLE_OF[competence_kind], institution.id):
        abort(404)
    return institution, user, competence_kind


def _current_values(record: CompetenceRecord | None) -> dict[str, object] | None:
    if record is None:
        return None
    return {"education": record.education.value, "crm_supervision_months": record.crm_supervision_months,
            "computer_skills": record.computer_skills, "troubleshooting_skills": record.troubleshooting_skills,
            "note": record.note, "review_due": record.review_due}


def _evidence(form: CompetenceForm) -> services.Evidence | None:
    upload = form.evidence.data
    if not isinstance(upload, FileStorage) or not upload.filename:
        return None
    return services.read_evidence(upload.filename, upload.stream.read(services.MAX_EVIDENCE_BYTES + 1))


@bp.route("/<int:institution_id>/people/<int:user_id>/<kind>", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def edit(institution_id: int, user_id: int, kind: str) -> ResponseReturnValue:
    """Record or replace a person's competence as a committee member or an exam-system operator."""
    institution, user, competence_kind = _person_at(institution_id, user_id, kind)
    record = services.record_of(user, competence_kind)
    # The record's values, not the record itself: the form must not load the evidence file.
    form = CompetenceForm(data=_current_values(record))
    if form.validate_on_submit():
        try:
            services.save_record(current_user._get_current_object(), institution, user, competence_kind, form.data,
                                 _evidence(form))
        except services.CompetenceError as error:
            db.session.rollback()
            add_error(getattr(form, error.field), str(error))
        else:
            flash(_("The competence record of %(name)s has been saved.", name=user.full_name), "success")
            return redirect(url_for("institution.people", institution_id=institution.id))
    qualifications = services.qualifications_of(institution)
    requirements = [(q, services.describe_requirement(need)) for q in qualifications
                    if (need := services.requirement(q, competence_kind)) is not None]
    return render_template(
        "competence/edit.html", institution=institution, person=user, kind=competence_kind, record=record, form=form,
        requirements=requirements, status=services.status_of(user, competence_kind, qualifications),
        viewer_institutions=staff_institution_ids(),
    ), 400 if form.errors else 200


@bp.route("/records/<int:record_id>/evidence")
@roles_required(Role.STAFF)
def evidence(record_id: int) -> ResponseReturnValue:
    """The evidence file, for the staff of the institution that verified the record only."""
    record = staff_row_or_404(CompetenceRecord, record_id, lambda record: record.institution_id)
    if record.evidence is None or record.evidence_mimetype is None:
        abort(404)
    name = (record.evidence_name or "dowod").encode("ascii", "replace").decode().replace("?", "_")
    return Response(record.evidence, mimetype=record.evidence_mimetype, headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})
