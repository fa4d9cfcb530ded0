"""External auditors: staff grant a quality-assurance auditor a read-only mandate over one of
their institutions and one period; the auditor reads that institution's protocols, audit log and
reports of the period, and can change nothing.

The rules that keep the audit independent are enforced here: the auditor may not hold any other
role at the institution or its family (nobody audits their own work), nor be the person granting,
and a mandate names a closed period, over by the day it is granted, read until a day within a year.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext
from sqlalchemy import select

from ..audit import services as audit_log
from ..auth.services import find_by_email, normalize_email, queue_password_link
from ..certification.rules import today
from ..extensions import db
from ..models import AuditorMandate, Institution, Role, User, UserRole, utcnow
from ..security import hash_password, staff_institution_ids

#: An audit visit reads records for at most this long after the mandate is granted.
MAX_MANDATE_DAYS = 366
#: No record of the portal is older (the audit log's filter has the same bound).
EARLIEST_RECORDS = date(2000, 1, 1)


def _(text: str, **values: Any) -> str:
    """gettext, typed (Flask-Babel ships no type information)."""
    return str(gettext(text, **values))


class MandateRefused(ValueError):
    """A mandate was refused; the message says why (translated)."""


@dataclass(frozen=True)
class MandateRequest:
    email: str
    first_name: str | None
    last_name: str | None
    period_from: date
    period_to: date
    expires_on: date


def _family(institution: Institution) -> set[int]:
    top = institution.certifying
    return {top.id, *(child.id for child in top.children)}


def mandate_refusal(actor: User, institution: Institution, request: MandateRequest, auditor: User | None) -> str | None:
    """Why the mandate may not be granted (translated), or None."""
    day = today()
    if institution.id not in staff_institution_ids(actor):
        return _("Only the institution's staff may grant a mandate to audit it.")
    if request.period_from > request.period_to:
        return _("The period ends before it starts.")
    if request.period_from > day:
        return _("The audited period cannot start in the future: its records do not exist yet.")
    if request.period_to > day:
        return _("The audited period must have ended by today: an auditor reads records made, not those still being made.")
    if request.period_from < EARLIEST_RECORDS:
        return _("The audited period cannot start before %(day)s.", day=EARLIEST_RECORDS.isoformat())
    if request.expires_on < day:
        return _("The mandate would already have expired: its last day is in the past.")
    if request.expires_on > day + timedelta(days=MAX_MANDATE_DAYS):
        return _("A mandate lasts at most %(days)d days; grant a new one for a later visit.", days=MAX_MANDATE_DAYS)
    if auditor is None:
        return None
    if auditor.id == actor.id:
        return _("You cannot grant yourself an auditor's mandate.")
    if auditor.anonymised_at is not None or not auditor.active:
        return _("This account is deactivated: it cannot be given a mandate.")
    family = _family(institution)
    own_roles = [r for r in auditor.roles if r.institution_id in family and r.role != Role.AUDITOR]
    if own_roles:
        return _("This person holds a role at this institution (%(role)s): an auditor must be independent of it.",
                 role=own_roles[0].role.label)
    return None


def grant(actor: User, institution: Institution, request: MandateRequest) -> AuditorMandate:
    """Grant the mandate (audited), creating the auditor's account if needed; the new account's
    holder sets a password through the mailed link and a second factor at first sign-in."""
    auditor = find_by_email(request.email)
    problem = mandate_refusal(actor, institution, request, auditor)
    if problem:
        raise MandateRefused(problem)
    created = auditor is None
    if auditor is None:
        first, last = (request.first_name or "").strip(), (request.last_name or "").strip()
        if not first or not last:
            raise MandateRefused(_("No account uses this e-mail address: give the auditor's first and last name to create one."))
        auditor = User(email=normalize_email(request.email), first_name=first, last_name=last,
                       password_hash=hash_password(secrets.token_urlsafe(32)), email_confirmed_at=utcnow())
        db.session.add(auditor)
        db.session.flush()
    if not auditor.has_role(Role.AUDITOR, institution.id):
        db.session.add(UserRole(user=auditor, role=Role.AUDITOR, institution_id=institution.id))
    mandate = AuditorMandate(user=auditor, institution_id=institution.id, period_from=request.period_from,
                             period_to=request.period_to, expires_on=request.expires_on, granted_by_id=actor.id)
    db.session.add(mandate)
    audit_log.record("auditor.mandate_granted", mandate, after={
        "user_id": auditor.id, "period_from": request.period_from, "period_to": request.period_to,
        "expires_on": request.expires_on, "account_created": created}, actor=actor, institution_id=institution.id)
    if created:
        queue_password_link(auditor)
    db.session.commit()
    return mandate


def revoke(actor: User, mandate: AuditorMandate) -> None:
    """End the mandate now (audited). The auditor's role at the institution goes with their last live mandate there."""
    if mandate.institution_id not in staff_institution_ids(actor):
        raise MandateRefused(_("Only the institution's staff may revoke a mandate to audit it."))
    if mandate.revoked_at is not None:
        raise MandateRefused(_("This mandate has already been revoked."))
    mandate.revoked_at = utcnow()
    others = db.session.scalars(select(AuditorMandate).where(
        AuditorMandate.user_id == mandate.user_id, AuditorMandate.institution_id == mandate.institution_id,
        AuditorMandate.id != mandate.id, AuditorMandate.revoked_at.is_(None), AuditorMandate.expires_on >= today())).first()
    if others is None:
        for role in [r for r in mandate.user.roles if r.role == Role.AUDITOR and r.institution_id == mandate.institution_id]:
            db.session.delete(role)
    audit_log.record("auditor.mandate_revoked", mandate, before={"user_id": mandate.user_id}, actor=actor,
                     institution_id=mandate.institution_id)
    db.session.commit()


def mandates_of(institution_ids: set[int]) -> list[AuditorMandate]:
    """The mandates over these institutions, newest first."""
    if not institution_ids:
        return []
    return list(db.session.scalars(select(AuditorMandate).where(AuditorMandate.institution_id.in_(institution_ids))
                                   .order_by(AuditorMandate.created_at.desc(), AuditorMandate.id.desc())))
