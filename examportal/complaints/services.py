"""The rules of complaints about an institution's conduct (ISO/IEC 17024 9.9).

Anyone may complain, with or without an account. The complaint is handled by the *certifying*
institution: one about a validating institution goes to the staff of its certifying institution
(the body answerable for certification), never to the validating institution's own staff, whose
conduct it may be about. Staff acknowledge it, assign a handler who is not involved (not the
complainant, not a person the complaint concerns), and the handler records the outcome. The
complainant is mailed at each step, in the language they filed in.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale, gettext
from sqlalchemy import Select, and_, case, false, or_, select

from ..audit import services as audit_log
from ..certification.rules import WARSAW, today
from ..extensions import db
from ..mail.services import queue_localised, queue_mail
from ..models import INSTITUTION_ROLES, Complaint, ComplaintStatus, Institution, Role, User, utcnow
from ..security import public_url, role_holders

#: Longest complaint and outcome (characters): a page of text, and a bound on what a form can post.
MAX_TEXT = 5000
MAX_OUTCOME = 5000
#: Who may handle a complaint: staff or an appeals-panel member of the handling institution.
HANDLER_ROLES = (Role.STAFF, Role.APPEALS)
#: The list's status filter: "open" (the default: not closed yet), "" (any) or a status.
OPEN = "open"


def _(text: str, **values: Any) -> str:
    """gettext, typed (Flask-Babel ships no type information)."""
    return str(gettext(text, **values))


class ComplaintError(ValueError):
    """A rule refused the action; the message says why (translated), ``field`` names the form
    field it belongs to (None: the whole action, shown at the top of the page)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- who handles and sees


def handling_institution(complaint: Complaint) -> Institution:
    """The institution whose staff handle the complaint: the certifying one (itself, or the
    certifying institution of the validating one complained about)."""
    return complaint.institution.certifying


def handled_institution_ids(user: User) -> set[int]:
    """The institutions whose complaints ``user`` handles as staff: each certifying institution
    where they are staff, with its validating institutions. Staff of a validating institution
    handle none (their certifying institution does)."""
    own = user.institution_ids(Role.STAFF)
    if not own:
        return set()
    return set(db.session.scalars(select(Institution.id).where(or_(
        and_(Institution.id.in_(own), Institution.parent_id.is_(None)), Institution.parent_id.in_(own)))))


def can_manage(user: User, complaint: Complaint) -> bool:
    """Whether the user is staff of the handling institution (acknowledges, assigns, sees all)."""
    return user.has_role(Role.STAFF, handling_institution(complaint).id)


def is_handler(user: User, complaint: Complaint) -> bool:
    return complaint.handler_id is not None and complaint.handler_id == user.id


def can_view(user: User, complaint: Complaint) -> bool:
    """Staff of the handling institution and the complaint's handler; nobody else (404 for them)."""
    return can_manage(user, complaint) or is_handler(user, complaint)


def is_complainant(user: User, complaint: Complaint) -> bool:
    """The person filed the complaint: from their account, or without one from their address."""
    return complaint.user_id == user.id or user.email.casefold() == complaint.email.casefold()


def institutions_to_choose() -> list[Institution]:
    """Every institution a complaint may be about: each certifying institution followed by its
    validating institutions, by name."""
    everyone = list(db.session.scalars(select(Institution).order_by(Institution.name)))
    ordered: list[Institution] = []
    for certifying in (i for i in everyone if i.parent_id is None):
        ordered.append(certifying)
        ordered.extend(i for i in everyone if i.parent_id == certifying.id)
    return ordered



def handler_choices(complaint: Complaint) -> list[User]:
    """Who may be chosen as the handler: active staff and appeals-panel members of the handling
    institution (the rules of :func:`handler_refusal` still apply to each)."""
    return role_holders([handling_institution(complaint).id], HANDLER_ROLES, active_only=True)


def concerned_choices(complaint: Complaint) -> list[User]:
    """The people staff may mark as concerned by the complaint: everyone holding a role at the
    institution complained about or at the handling institution."""
    return role_holders({complaint.institution_id, handling_institution(complaint).id}, INSTITUTION_ROLES, active_only=False)


def handler_refusal(complaint: Complaint, handler: User | None, concerned: set[int], assigner: User | None = None) -> str | None:
    """Why ``handler`` may not handle the complaint (translated, naming the reason), or None.

    Only an active staff or appeals-panel member of the handling institution; never the
    complainant; never a person marked as concerned by it (and the person assigning, if they are
    concerned, may not pick themself).
    """
    institution = handling_institution(complaint)
    if handler is None or not handler.active or not any(handler.has_role(role, institution.id) for role in HANDLER_ROLES):
        # Named only if they are of these institutions' people: an id sent from another
        # institution's staff must not tell them whose it is.
        if handler is not None and any(r.institution_id in (complaint.institution_id, institution.id) for r in handler.roles):
            return _("%(name)s cannot handle complaints of %(institution)s: only its active staff and appeals-panel "
                     "members can.", name=handler.full_name, institution=institution.name)
        return _("Choose the handler from the list: only the active staff and appeals-panel members of %(institution)s "
                 "can handle its complaints.", institution=institution.name)
    if is_complainant(handler, complaint):
        return _("%(name)s filed this complaint: a complainant cannot handle their own complaint.", name=handler.full_name)
    if handler.id in concerned:
        if assigner is not None and assigner.id == handler.id:
            return _("You are among the persons the complaint concerns: you cannot assign it to yourself.")
        return _("%(name)s is among the persons the complaint concerns and so cannot handle it.", name=handler.full_name)
    return None


# --------------------------------------------------------------------------- the procedure


def _locked(complaint: Complaint) -> Complaint:
    """The complaint as it is now, its row locked: two members of staff acting at once take turns."""
    current = db.session.scalar(select(Complaint).where(Complaint.id == complaint.id).with_for_update()
                                .execution_options(populate_existing=True))
    if current is None:  # pragma: no cover - rows are never deleted
        raise ComplaintError(_("This complaint no longer exists."))
    return current


def _mail_complainant(complaint: Complaint, template: str, subject: Callable[[], str], **context: Any) -> None:
    """Mail the complainant (who may have no account) in the language they filed the complaint in."""
    with force_locale(complaint.locale):
        body = render_template(f"mail/{template}.txt", complaint=complaint, **context)
        queue_mail(complaint.email, subject(), body, user=complaint.user)



def _number(complaint: Complaint) -> str:
    return str(complaint.id)


def file_complaint(*, institution_id: int, name: str, email: str, text: str, locale: str,
                   user: User | None = None) -> Complaint:
    """Record a complaint about an institution and confirm it to the complainant with its number;
    the handling institution's staff are told. ``user``: the complainant's account, if logged in.

    Refused (:class:`ComplaintError`) for an unknown institution, an empty name, address or text,
    or a text over :data:`MAX_TEXT` characters.
    """
    institution = db.session.get(Institution, institution_id)
    if institution is None:
        raise ComplaintError(_("Choose the institution from the list."), "institution_id")
    name, email, text = name.strip(), email.strip(), text.strip()
    if not name:
        raise ComplaintError(_("Enter your name: the institution replies to you by name."), "name")
    if not email:
        raise ComplaintError(_("Enter your e-mail address: the institution replies to it."), "email")
    if not text:
        raise ComplaintError(_("Describe what you complain about."), "text")
    if len(text) > MAX_TEXT:
        raise ComplaintError(_("Shorten the complaint to at most %(max)s characters.", max=MAX_TEXT), "text")
    languages = current_app.config["LANGUAGES"]
    complaint = Complaint(institution_id=institution.id, user_id=user.id if user is not None else None, name=name,
                          email=email, locale=locale if locale in languages else current_app.config["BABEL_DEFAULT_LOCALE"],
                          text=text, filed_at=utcnow(), status=ComplaintStatus.FILED)
    db.session.add(complaint)
    db.session.flush()
    handling = institution.certifying
    # People by id only: the complainant's name, address and text stay in the complaint's row.
    audit_log.record("complaint.filed", complaint, after={
        "institution_id": institution.id, "user_id": complaint.user_id, "status": complaint.status,
        "locale": complaint.locale}, actor=user, institution_id=handling.id)
    _mail_complainant(complaint, "complaint_filed",
                      lambda: _("Your complaint no. %(number)s has been received", number=_number(complaint)))
    link = public_url("complaints.detail", complaint_id=complaint.id)
    for staff in role_holders([handling.id], [Role.STAFF], active_only=True):
        queue_localised(staff, "complaint_received", lambda: _("New complaint no. %(number)s", number=_number(complaint)),
                   complaint=complaint, link=link)
    db.session.commit()
    return complaint


def _require_manager(user: User, complaint: Complaint) -> None:
    if not can_manage(user, complaint):
        raise ComplaintError(_("Only staff of %(institution)s handle this complaint.",
                               institution=handling_institution(complaint).name))


def acknowledge(user: User, complaint: Complaint) -> Complaint:
    """Staff acknowledge a filed complaint; the complainant is told it is registered and will be
    examined by someone not involved."""
    complaint = _locked(complaint)
    _require_manager(user, complaint)
    if complaint.status != ComplaintStatus.FILED:
        raise ComplaintError(_("This complaint has already been acknowledged. Reload the page."))
    complaint.status = ComplaintStatus.ACKNOWLEDGED
    complaint.acknowledged_at, complaint.acknowledged_by_id = utcnow(), user.id
    audit_log.record("complaint.acknowledged", complaint, before={"status": ComplaintStatus.FILED},
                     after={"status": complaint.status}, actor=user, institution_id=handling_institution(complaint).id)
    _mail_complainant(complaint, "complaint_acknowledged",
                      lambda: _("Your complaint no. %(number)s has been acknowledged", number=_number(complaint)))
    db.session.commit()
    return complaint


def assign(user: User, complaint: Complaint, handler_id: int, concerned_ids: Iterable[int]) -> Complaint:
    """Staff assign an acknowledged complaint to a handler, marking the persons it concerns.

    Refused (:class:`ComplaintError`, naming the reason) per :func:`handler_refusal`, for a person
    marked concerned who is not of the institutions' people, when the complaint is not waiting for
    a handler, and when the person assigning filed the complaint themself. The complainant is told
    that a person not involved handles it (without the handler's name); the handler is mailed.
    """
    complaint = _locked(complaint)
    _require_manager(user, complaint)
    if complaint.status == ComplaintStatus.FILED:
        raise ComplaintError(_("Acknowledge the complaint first: the complainant is then told it is registered."))
    if complaint.status != ComplaintStatus.ACKNOWLEDGED:
        raise ComplaintError(_("This complaint already has a handler. Reload the page."))
    if is_complainant(user, complaint):
        raise ComplaintError(_("You filed this complaint: another member of staff assigns its handler."))
    concerned = set(concerned_ids)
    if concerned - {person.id for person in concerned_choices(complaint)}:
        raise ComplaintError(_("Tick the persons concerned from the list."), "concerned")
    handler = db.session.get(User, handler_id)
    refusal = handler_refusal(complaint, handler, concerned, assigner=user)
    if refusal is not None or handler is None:
        raise ComplaintError(refusal or _("Choose the handler from the list."), "handler")
    complaint.status = ComplaintStatus.ASSIGNED
    complaint.handler_id, complaint.assigned_at, complaint.assigned_by_id = handler.id, utcnow(), user.id
    audit_log.record("complaint.assigned", complaint, before={"status": ComplaintStatus.ACKNOWLEDGED}, after={
        "status": complaint.status, "handler_id": handler.id, "concerned_ids": sorted(concerned)},
        actor=user, institution_id=handling_institution(complaint).id)
    _mail_complainant(complaint, "complaint_assigned",
                      lambda: _("Your complaint no. %(number)s is being handled", number=_number(complaint)))
    queue_localised(handler, "complaint_handler", lambda: _("You handle complaint no. %(number)s", number=_number(complaint)),
               complaint=complaint, link=public_url("complaints.detail", complaint_id=complaint.id))
    db.session.commit()
    return complaint


def close(user: User, complaint: Complaint, outcome: str) -> Complaint:
    """The handler records the outcome and closes the complaint; the complainant is mailed the outcome."""
    complaint = _locked(complaint)
    if not is_handler(user, complaint):
        raise ComplaintError(_("Only the complaint's handler records its outcome."))
    if complaint.status != ComplaintStatus.ASSIGNED:
        raise ComplaintError(_("This complaint is already closed. Reload the page."))
    text = outcome.strip()
    if not text:
        raise ComplaintError(_("Write the outcome: the complainant receives it."), "outcome")
    if len(text) > MAX_OUTCOME:
        raise ComplaintError(_("Shorten the outcome to at most %(max)s characters.", max=MAX_OUTCOME), "outcome")
    complaint.status, complaint.outcome = ComplaintStatus.CLOSED, text
    complaint.closed_at, complaint.closed_by_id = utcnow(), user.id
    # The outcome is free text kept in the complaint's row: the entry keeps its digest.
    audit_log.record("complaint.closed", complaint, before={"status": ComplaintStatus.ASSIGNED},
                     after={"status": complaint.status, "justification": text}, actor=user,
                     institution_id=handling_institution(complaint).id)
    _mail_complainant(complaint, "complaint_closed",
                      lambda: _("The outcome of your complaint no. %(number)s", number=_number(complaint)))
    db.session.commit()
    return complaint


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class ComplaintFilter:
    """The staff list's filters: ``status`` is :data:`OPEN`, "" (any) or a status value."""

    status: str = OPEN
    institution_id: int | None = None
    mine: bool = False


def visible_complaints(user: User, filters: ComplaintFilter) -> Select[Complaint]:
    """The complaints ``user`` may see (those their institution handles as staff, and those they
    handle), filtered; open ones first, oldest first."""
    handled = handled_institution_ids(user)
    query = select(Complaint).where(or_(Complaint.institution_id.in_(handled) if handled else false(),
                                        Complaint.handler_id == user.id))
    if filters.status == OPEN:
        query = query.where(Complaint.status != ComplaintStatus.CLOSED)
    elif filters.status:
        query = query.where(Complaint.status == ComplaintStatus(filters.status))
    if filters.institution_id is not None:
        query = query.where(Complaint.institution_id == filters.institution_id)
    if filters.mine:
        query = query.where(Complaint.handler_id == user.id)
    closed_last = case((Complaint.status == ComplaintStatus.CLOSED, 1), else_=0)
    return query.order_by(closed_last, Complaint.filed_at, Complaint.id)


def age_days(complaint: Complaint, on: date | None = None) -> int:
    """Calendar days in Poland since the complaint was filed (0 on the day itself)."""
    return ((on or today()) - complaint.filed_at.astimezone(WARSAW).date()).days
