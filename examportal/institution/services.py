"""Who works for an institution, in which role; institutions themselves (administrators)."""
from __future__ import annotations

import secrets

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..audit import services as audit_log
from ..auth import two_factor
from ..auth.services import find_by_email, normalize_email, queue_password_link
from ..extensions import db
from ..models import (
    Institution,
    InstitutionKind,
    Qualification,
    Role,
    SessionStatus,
    User,
    UserRole,
    ValidationSession,
    utcnow,
)
from ..security import hash_password


class InstitutionRuleError(ValueError):
    """The change was refused; the message says why (translated)."""


def people_of(institution: Institution) -> list[UserRole]:
    """Role assignments at the institution, by person."""
    return list(db.session.scalars(
        select(UserRole).join(User).where(UserRole.institution_id == institution.id).order_by(User.last_name, User.first_name, UserRole.role)
    ))


def grant_role(institution: Institution, email: str, role: Role, first_name: str | None, last_name: str | None) -> UserRole:
    """Give a person a role at the institution, creating their account if needed.

    A new account gets an unguessable password and a link to set their own
    (through the password-reset mail), so nobody ever handles their password.
    """
    user = find_by_email(email)
    created = False
    if user is None:
        if first_name is None or last_name is None or not first_name.strip() or not last_name.strip():
            raise InstitutionRuleError(_("No account uses this e-mail address: give the person's first and last name to create one."))
        # Nobody knows this password; the person sets their own through the mailed link,
        # which also proves the address, so the account counts as confirmed.
        user = User(email=normalize_email(email), first_name=first_name.strip(), last_name=last_name.strip(),
                    password_hash=hash_password(secrets.token_urlsafe(32)), email_confirmed_at=utcnow())
        db.session.add(user)
        db.session.flush()
        created = True
    if user.has_role(role, institution.id):
        raise InstitutionRuleError(_("This person already holds this role here."))
    assignment = UserRole(user=user, role=role, institution_id=institution.id)
    db.session.add(assignment)
    audit_log.record("institution.role_granted", assignment, after={"user_id": user.id, "role": role,
                                                                    "account_created": created},
                     institution_id=institution.id)
    if created:
        queue_password_link(user)
    db.session.commit()
    return assignment


def revoke_role(assignment: UserRole, actor: User) -> None:
    """Take a role at an institution away (the account stays)."""
    if assignment.user_id == actor.id and assignment.role == Role.STAFF:
        raise InstitutionRuleError(_("You cannot remove your own staff role."))
    audit_log.record("institution.role_revoked", assignment, before={"user_id": assignment.user_id, "role": assignment.role},
                     institution_id=assignment.institution_id)
    db.session.delete(assignment)
    db.session.commit()


def create_institution(data: dict) -> Institution:
    """Register a certifying institution, or a validating one linked to a certifying institution."""
    kind = InstitutionKind(data["kind"])
    parent = db.session.get(Institution, data.get("parent_id") or 0) if kind == InstitutionKind.VALIDATING else None
    if kind == InstitutionKind.VALIDATING and (parent is None or parent.kind != InstitutionKind.CERTIFYING):
        raise InstitutionRuleError(_("A validating institution must be linked to a certifying institution."))
    if db.session.scalar(select(Institution.id).where(Institution.name == data["name"].strip())):
        raise InstitutionRuleError(_("An institution with this name already exists."))
    institution = Institution(name=data["name"].strip(), short_name=data["short_name"].strip(), kind=kind,
                              parent_id=parent.id if parent else None, city=(data.get("city") or "").strip() or None)
    db.session.add(institution)
    audit_log.record("institution.created", institution, after={"name": institution.name, "kind": kind,
                                                                "parent_id": institution.parent_id})
    db.session.commit()
    return institution


def reset_second_factor(email: str, cause: str, admin: User) -> User:
    """Clear the second factor of the account using ``email`` (audited with ``cause``; the person is mailed)."""
    user = find_by_email(email)
    if user is None:
        raise InstitutionRuleError(_("No account uses this e-mail address."))
    if user.id == admin.id:
        raise InstitutionRuleError(_("You cannot reset your own second factor: ask another administrator."))
    if not user.has_second_factor:
        raise InstitutionRuleError(_("This person has no second factor set up: there is nothing to reset."))
    two_factor.reset_by_admin(user, admin, cause)
    return user


# --------------------------------------------------------------------------- qualifications

#: Sessions in these states are over: a qualification may be withdrawn despite them.
FINISHED_SESSIONS = (SessionStatus.CLOSED, SessionStatus.CANCELLED)


def authorise_qualification(institution: Institution, qualification: Qualification | None) -> None:
    """Authorise the institution to validate ``qualification``; a validating institution only for
    a qualification its certifying institution holds."""
    if qualification is None:
        raise InstitutionRuleError(_("Choose a qualification from the list."))
    if qualification in institution.qualifications:
        raise InstitutionRuleError(_("The institution is already authorised for this qualification."))
    if institution.parent is not None and qualification not in institution.parent.qualifications:
        raise InstitutionRuleError(_("%(parent)s, the certifying institution it validates for, is not authorised for "
                                     "%(code)s: authorise the certifying institution first.",
                                     parent=institution.parent.name, code=qualification.code))
    institution.qualifications.append(qualification)
    audit_log.record("institution.qualification_authorised", institution, after={"qualification_id": qualification.id},
                     institution_id=institution.id)
    db.session.commit()


def withdraw_qualification(institution: Institution, qualification: Qualification | None) -> None:
    """Take the authorisation for ``qualification`` away: refused while a session of it at the
    institution (or, for a certifying one, at its validating institutions) is not over, and, for a
    certifying institution, while a validating institution of its own still holds it."""
    if qualification is None or qualification not in institution.qualifications:
        raise InstitutionRuleError(_("The institution is not authorised for this qualification."))
    holders = sorted(child.name for child in institution.children if qualification in child.qualifications)
    if holders:
        raise InstitutionRuleError(_("Its validating institutions %(names)s are authorised for %(code)s through it: "
                                     "withdraw it from them first.", names=", ".join(holders), code=qualification.code))
    institution_ids = [institution.id, *(child.id for child in institution.children)]
    open_sessions = db.session.scalar(select(func.count()).select_from(ValidationSession).where(
        ValidationSession.institution_id.in_(institution_ids), ValidationSession.qualification_id == qualification.id,
        ValidationSession.status.not_in(FINISHED_SESSIONS)))
    if open_sessions:
        raise InstitutionRuleError(_("%(count)s session(s) of %(code)s are not closed yet: close or cancel them first.",
                                     count=open_sessions, code=qualification.code))
    institution.qualifications.remove(qualification)
    audit_log.record("institution.qualification_withdrawn", institution, before={"qualification_id": qualification.id},
                     institution_id=institution.id)
    db.session.commit()


# --------------------------------------------------------------------------- accounts


def set_account_active(email: str, active: bool, cause: str, admin: User) -> User:
    """Deactivate (or reactivate) the account using ``email``, audited with ``cause``.

    A deactivated person cannot log in, and a session they had open ends at their next request.
    Nobody deactivates their own account, nor the last active administrator's.
    """
    user = find_by_email(email)
    if user is None:
        raise InstitutionRuleError(_("No account uses this e-mail address."))
    if user.active == active:
        raise InstitutionRuleError(_("This account is already active.") if active else
                                   _("This account is already deactivated."))
    if not active:
        if user.id == admin.id:
            raise InstitutionRuleError(_("You cannot deactivate your own account: ask another administrator."))
        if user.has_role(Role.ADMIN):
            # The other active administrators' rows are locked: two administrators deactivating
            # each other at once must not both succeed.
            others = db.session.scalars(select(User.id).join(UserRole).where(
                UserRole.role == Role.ADMIN, User.active.is_(True), User.id != user.id).with_for_update(of=User, key_share=True)).all()
            if not others:
                raise InstitutionRuleError(_("This is the last active administrator: nobody could administer the portal "
                                             "without them."))
    user.active = active
    audit_log.record("account.reactivated" if active else "account.deactivated", user,
                     before={"active": not active}, after={"active": active, "cause": cause}, actor=admin)
    db.session.commit()
    return user


def deactivated_accounts() -> list[User]:
    """Accounts that cannot log in, for the administrator's page."""
    return list(db.session.scalars(select(User).where(User.active.is_(False)).order_by(User.last_name, User.first_name)))
