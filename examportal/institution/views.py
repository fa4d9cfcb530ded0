"""Staff manage the people of their institution; administrators register institutions."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..forms import add_error, select_choices
from ..models import Institution, InstitutionKind, Role, UserRole
from ..security import require_institution, roles_required, staff_institution_ids
from . import services
from .forms import InstitutionForm, PersonRoleForm, SecondFactorResetForm

bp = Blueprint("institution", __name__)


def _managed(institution_id: int) -> Institution:
    institution = db.get_or_404(Institution, institution_id)
    require_institution(institution.id, staff_institution_ids())
    return institution


def _render_people(institution: Institution, form: PersonRoleForm, status: int = 200):
    return render_template("institution/people.html", institution=institution, form=form,
                           assignments=services.people_of(institution)), status


@bp.route("/")
@roles_required(Role.STAFF)
def index():
    institutions = db.session.scalars(
        select(Institution).where(Institution.id.in_(staff_institution_ids())).order_by(Institution.kind, Institution.name)
    ).all()
    return render_template("institution/index.html", institutions=institutions)


@bp.route("/<int:institution_id>/people", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def people(institution_id: int):
    institution = _managed(institution_id)
    form = PersonRoleForm()
    if form.validate_on_submit():
        try:
            services.grant_role(institution, form.email.data or "", Role(form.role.data), form.first_name.data, form.last_name.data)
        except services.InstitutionRuleError as error:
            add_error(form.email, str(error))
        else:
            flash(_("The role has been granted."), "success")
            return redirect(url_for("institution.people", institution_id=institution.id))
    return _render_people(institution, form, 400 if form.errors else 200)


@bp.route("/<int:institution_id>/people/<int:assignment_id>/revoke", methods=["POST"])
@roles_required(Role.STAFF)
def revoke(institution_id: int, assignment_id: int):
    institution = _managed(institution_id)
    assignment = db.get_or_404(UserRole, assignment_id)
    if assignment.institution_id != institution.id:
        abort(404)
    try:
        services.revoke_role(assignment, current_user)
    except services.InstitutionRuleError as error:
        flash(str(error), "danger")
    else:
        flash(_("The role has been taken away."), "info")
    return redirect(url_for("institution.people", institution_id=institution.id))


def _certifying_choices(form: InstitutionForm) -> None:
    certifying = db.session.scalars(select(Institution).where(Institution.kind == InstitutionKind.CERTIFYING).order_by(Institution.name)).all()
    form.parent_id.choices = select_choices([(0, "—"), *((i.id, i.name) for i in certifying)])


def _render_admin(form: InstitutionForm, reset_form: SecondFactorResetForm):
    institutions = db.session.scalars(select(Institution).order_by(Institution.kind, Institution.name)).all()
    status = 400 if form.errors or reset_form.errors else 200
    return render_template("institution/admin.html", form=form, reset_form=reset_form, institutions=institutions), status


@bp.route("/all", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_institutions():
    form = InstitutionForm()
    _certifying_choices(form)
    if form.validate_on_submit():
        try:
            services.create_institution(form.data)
        except services.InstitutionRuleError as error:
            add_error(form.parent_id, str(error))
        else:
            flash(_("The institution has been registered."), "success")
            return redirect(url_for("institution.admin_institutions"))
    return _render_admin(form, SecondFactorResetForm(formdata=None, prefix="reset"))


@bp.route("/all/second-factor-reset", methods=["POST"])
@roles_required(Role.ADMIN)
def reset_second_factor():
    """Clear a person's second factor when they lost their phone and their recovery codes."""
    reset_form = SecondFactorResetForm(prefix="reset")
    if reset_form.validate_on_submit():
        try:
            user = services.reset_second_factor(reset_form.email.data or "", reset_form.cause.data or "",
                                                  current_user._get_current_object())
        except services.InstitutionRuleError as error:
            add_error(reset_form.email, str(error))
        else:
            flash(_("The second factor of %(name)s has been reset; they set it up again at their next login.",
                    name=user.full_name), "success")
            return redirect(url_for("institution.admin_institutions"))
    form = InstitutionForm(formdata=None)
    _certifying_choices(form)
    return _render_admin(form, reset_form)
