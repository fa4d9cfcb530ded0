"""Staff manage the people and the settings of their institution; administrators register institutions."""
from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..access import row_or_404, staff_row_or_404
from ..competence import services as competence
from ..extensions import db
from ..forms import add_error, select_choices
from ..models import CompetenceKind, Institution, InstitutionKind, Qualification, Role, UserRole
from ..security import require_institution, roles_required, staff_institution_ids
from . import services
from . import settings as institution_settings
from .forms import (
    DeactivationForm,
    InstitutionForm,
    InstitutionSettingsForm,
    PersonRoleForm,
    QualificationForm,
    ReactivationForm,
    SecondFactorResetForm,
)

bp = Blueprint("institution", __name__)


def _managed(institution_id: int) -> Institution:
    """The institution, for its staff (404 for another's) or an administrator (any: they give a new
    institution its first staff member)."""
    institution = row_or_404(Institution, institution_id)
    if not current_user.has_role(Role.ADMIN):
        require_institution(institution.id, staff_institution_ids())
    return institution


#: The roles whose holders need a competence record, and the kind of record.
COMPETENCE_OF_ROLE = {Role.ASSESSOR: CompetenceKind.ASSESSOR, Role.OPERATOR: CompetenceKind.OPERATOR}


def _render_people(institution: Institution, form: PersonRoleForm, status: int = 200):
    assignments = services.people_of(institution)
    qualifications = competence.qualifications_of(institution)
    statuses = {a.id: competence.status_of(a.user, COMPETENCE_OF_ROLE[a.role], qualifications)
                for a in assignments if a.role in COMPETENCE_OF_ROLE}
    return render_template("institution/people.html", institution=institution, form=form, assignments=assignments,
                           competence=statuses, can_record=institution.id in staff_institution_ids()), status


@bp.route("/")
@roles_required(Role.STAFF)
def index():
    institutions = db.session.scalars(
        select(Institution).where(Institution.id.in_(staff_institution_ids())).order_by(Institution.kind, Institution.name)
    ).all()
    return render_template("institution/index.html", institutions=institutions)


@bp.route("/<int:institution_id>/people", methods=["GET", "POST"])
@roles_required(Role.STAFF, Role.ADMIN)
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
@roles_required(Role.STAFF, Role.ADMIN)
def revoke(institution_id: int, assignment_id: int):
    institution = _managed(institution_id)
    assignment = row_or_404(UserRole, assignment_id, institution_id=institution.id)
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


def _render_admin(form: InstitutionForm | None = None, reset_form: SecondFactorResetForm | None = None,
                  deactivate_form: DeactivationForm | None = None, reactivate_form: ReactivationForm | None = None):
    if form is None:
        form = InstitutionForm(formdata=None)
        _certifying_choices(form)
    forms = {"form": form, "reset_form": reset_form or SecondFactorResetForm(formdata=None, prefix="reset"),
             "deactivate_form": deactivate_form or DeactivationForm(formdata=None, prefix="deactivate"),
             "reactivate_form": reactivate_form or ReactivationForm(formdata=None, prefix="reactivate")}
    institutions = db.session.scalars(select(Institution).order_by(Institution.kind, Institution.name)).all()
    status = 400 if any(f.errors for f in forms.values()) else 200
    return render_template("institution/admin.html", institutions=institutions,
                           deactivated=services.deactivated_accounts(), **forms), status


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
    return _render_admin(form)


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
    return _render_admin(reset_form=reset_form)


def _set_account_active(form: DeactivationForm | ReactivationForm, active: bool, done: str,
                        form_name: str) -> ResponseReturnValue:
    """Deactivate or reactivate the account the form names; ``done`` is the flash (with ``%(name)s``)."""
    if form.validate_on_submit():
        try:
            user = services.set_account_active(form.email.data or "", active, form.cause.data or "",
                                               current_user._get_current_object())
        except services.InstitutionRuleError as error:
            db.session.rollback()
            add_error(form.email, str(error))
        else:
            flash(done % {"name": user.full_name}, "success")
            return redirect(url_for("institution.admin_institutions"))
    return _render_admin(**{form_name: form})


@bp.route("/all/accounts/deactivate", methods=["POST"])
@roles_required(Role.ADMIN)
def deactivate_account() -> ResponseReturnValue:
    """Stop an account from logging in (audited with the cause)."""
    return _set_account_active(DeactivationForm(prefix="deactivate"), False, _(
        "The account of %(name)s has been deactivated: they can no longer log in."), "deactivate_form")


@bp.route("/all/accounts/reactivate", methods=["POST"])
@roles_required(Role.ADMIN)
def reactivate_account() -> ResponseReturnValue:
    """Let a deactivated account log in again (audited with the cause)."""
    return _set_account_active(ReactivationForm(prefix="reactivate"), True, _(
        "The account of %(name)s has been reactivated."), "reactivate_form")


def _qualification_form(institution: Institution, form: QualificationForm) -> QualificationForm:
    held = {q.id for q in institution.qualifications}
    offered = db.session.scalars(select(Qualification).order_by(Qualification.code)).all()
    form.qualification_id.choices = select_choices(
        [(0, _("— choose —")), *((q.id, f"{q.code} — {q.name_pl}") for q in offered if q.id not in held)])
    return form


def _render_qualifications(institution: Institution, form: QualificationForm | None = None,
                           withdraw_errors: dict[int, str] | None = None) -> ResponseReturnValue:
    form = form or _qualification_form(institution, QualificationForm(formdata=None))
    status = 400 if form.errors or withdraw_errors else 200
    return render_template("institution/qualifications.html", institution=institution, form=form,
                           withdraw_errors=withdraw_errors or {}), status


@bp.route("/all/<int:institution_id>/qualifications", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def qualifications(institution_id: int) -> ResponseReturnValue:
    """The qualifications an institution is authorised for; the administrator adds one."""
    institution = row_or_404(Institution, institution_id)
    form = _qualification_form(institution, QualificationForm())
    if form.validate_on_submit():
        try:
            services.authorise_qualification(institution, db.session.get(Qualification, form.qualification_id.data))
        except services.InstitutionRuleError as error:
            db.session.rollback()
            add_error(form.qualification_id, str(error))
        else:
            flash(_("The institution has been authorised for the qualification."), "success")
            return redirect(url_for("institution.qualifications", institution_id=institution.id))
    return _render_qualifications(institution, form)


@bp.route("/all/<int:institution_id>/qualifications/withdraw", methods=["POST"])
@roles_required(Role.ADMIN)
def withdraw_qualification(institution_id: int) -> ResponseReturnValue:
    """Take an institution's authorisation for a qualification away."""
    institution = row_or_404(Institution, institution_id)
    form = QualificationForm(prefix="withdraw")
    form.qualification_id.choices = select_choices((q.id, q.code) for q in institution.qualifications)
    if not form.validate_on_submit():
        return _render_qualifications(institution, withdraw_errors={0: _("Choose one of the institution's qualifications.")})
    qualification = db.session.get(Qualification, form.qualification_id.data)
    try:
        services.withdraw_qualification(institution, qualification)
    except services.InstitutionRuleError as error:
        db.session.rollback()
        # Shown beside the qualification it is about.
        return _render_qualifications(institution, withdraw_errors={form.qualification_id.data or 0: str(error)})
    flash(_("The authorisation for the qualification has been withdrawn."), "info")
    return redirect(url_for("institution.qualifications", institution_id=institution.id))


def _days_text(days: Iterable[int]) -> str:
    return ", ".join(str(day) for day in days)


@bp.route("/<int:institution_id>/settings", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def settings(institution_id: int) -> ResponseReturnValue:
    """The institution's contact details, reminder days, and what its certificates print."""
    institution = staff_row_or_404(Institution, institution_id, lambda institution: institution.id)
    own = institution_settings.settings_of(institution)
    values = {name: getattr(own, name) for name in institution_settings.TEXT_FIELDS} if own is not None else {}
    if own is not None:
        values["reminder_days"] = _days_text(institution_settings.reminder_days_of(own))
    form = InstitutionSettingsForm(data=values)
    if form.validate_on_submit():
        try:
            changed = institution_settings.update_settings(institution, current_user._get_current_object(), form.change())
        except institution_settings.SettingsRefused as error:
            db.session.rollback()
            add_error(getattr(form, error.field), str(error))
        else:
            flash(_("The settings have been saved.") if changed else _("Nothing was changed."), "success" if changed else "info")
            return redirect(url_for("institution.settings", institution_id=institution.id))
    parent = institution.parent
    inherited_from = parent if own is None and parent is not None and institution_settings.settings_of(parent) is not None else None
    previews = {name: institution_settings.image_data_uri(getattr(own, name)) if own is not None else None
                for name in institution_settings.IMAGE_FIELDS}
    return render_template("institution/settings.html", institution=institution, form=form, own=own,
                           inherited_from=inherited_from, previews=previews), 400 if form.errors else 200


@bp.app_template_global("institution_contacts")
def institution_contacts(institution_ids: Iterable[int]) -> dict[int, institution_settings.Contact]:
    """For candidates' pages: how to reach each institution, by its id (see settings.contacts_for)."""
    return institution_settings.contacts_for(institution_ids)
