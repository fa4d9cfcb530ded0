"""Check-in rules: who may check a candidate in, when, and what it changes.

A session's operator checks candidates in from ``CHECK_IN_OPENS_BEFORE_MINUTES`` before the start until the
session is closed (late arrivals included). Checking in records which kind of identity document
was compared with the application (not its number), by whom and when, and is audited; the
candidate's test items are drawn then (``theory.services.prepare``), so the start only starts clocks. The theory
test is unlocked only for checked-in candidates (``theory.services.operator_action``), so logins
happen during check-in, spread over the time before the start, not at the signal.

The exam room's networks (``ValidationSession.exam_networks``, CIDR blocks one per line): when a
session names them, its candidates take the theory test from those addresses only.
"""
from __future__ import annotations

import functools
import ipaddress
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..audit import services as audit_log
from ..extensions import db
from ..models import Enrolment, EnrolmentStatus, SessionStatus, User, ValidationSession
from ..models.base import utcnow
from ..theory import services as theory
from ..theory.draw import DrawError

IDENTITY_DOCUMENTS = {
    "id_card": _l("identity card"),
    "passport": _l("passport"),
    "mobywatel": _l("mObywatel (the mobile identity document)"),
    "residence_card": _l("residence card"),
}
DEFAULT_OPENS_BEFORE_MINUTES = 120
MAX_NETWORKS = 50

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class CheckInError(Exception):
    """A check-in refused, with the reason for the operator."""


def opens_at(session: ValidationSession) -> datetime:
    """When check-in opens: ``CHECK_IN_OPENS_BEFORE_MINUTES`` (120 by default) before the start."""
    minutes = int(current_app.config.get("CHECK_IN_OPENS_BEFORE_MINUTES", DEFAULT_OPENS_BEFORE_MINUTES))
    return session.starts_at - timedelta(minutes=minutes)


def refusal(session: ValidationSession, operator: User, enrolment: Enrolment, now: datetime) -> str | None:
    """Why ``operator`` may not check ``enrolment`` in now, or ``None``."""
    if operator.id != session.operator_id:
        return str(_("Only the session's exam-system operator checks candidates in."))
    if enrolment.session_id != session.id:
        return str(_("This candidate is not in this session."))
    if enrolment.candidate_id == operator.id:
        return str(_("Nobody checks themselves in: another operator must confirm your identity."))
    if enrolment.status != EnrolmentStatus.ENROLLED:
        return str(_("This candidate was withdrawn from the session."))
    if session.status in (SessionStatus.CLOSED, SessionStatus.CANCELLED):
        return str(_("The session is closed: nobody can be checked in any more."))
    if now < opens_at(session):
        return str(_("Check-in opens %(minutes)d minutes before the start.",
                     minutes=int((session.starts_at - opens_at(session)).total_seconds() // 60)))
    if enrolment.checked_in_at is not None:
        return str(_("This candidate is already checked in."))
    return None


def check_in(session: ValidationSession, operator: User, enrolment: Enrolment, document: str, matches: bool,
             now: datetime | None = None) -> Enrolment:
    """Record that ``operator`` compared the candidate's ``document`` (a kind of :data:`IDENTITY_DOCUMENTS`)
    with the application and it matched; audited. Raises :class:`CheckInError` with the reason."""
    now = now or utcnow()
    refused = refusal(session, operator, enrolment, now)
    if refused:
        raise CheckInError(refused)
    if document not in IDENTITY_DOCUMENTS:
        raise CheckInError(_("Choose the kind of identity document you compared."))
    if not matches:
        raise CheckInError(_("Check-in needs the document's name and PESEL (or date of birth) to match the "
                             "application. If they do not, record an incident instead and do not check the "
                             "candidate in."))
    enrolment.checked_in_at = now
    enrolment.checked_in_by_id = operator.id
    enrolment.identity_document = document
    audit_log.record("session.checked_in", enrolment, after={"session_id": session.id, "document": document},
                     institution_id=session.institution_id)
    try:
        theory.prepare(enrolment)  # the items drawn now, not by everyone at the start signal
    except DrawError as error:  # the start will draw (and report the bank's problem) instead
        current_app.logger.warning("items not drawn at check-in of enrolment %s: %s", enrolment.id, error)
    db.session.commit()
    return enrolment


def checked_in(enrolment: Enrolment) -> bool:
    return enrolment.checked_in_at is not None


# --------------------------------------------------------------------------- the exam room's networks


def parse_networks(text: str | None) -> list[Network]:
    """The CIDR blocks of ``text`` (one per line or separated by commas/spaces; a bare address is
    a block of one). Raises ValueError naming the first entry that is not one."""
    entries = [e for e in (text or "").replace(",", " ").split() if e]
    if len(entries) > MAX_NETWORKS:
        raise ValueError(_("Give at most %(n)d networks.", n=MAX_NETWORKS))
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(_("“%(entry)s” is not an IP address or a network such as 192.168.10.0/24.",
                               entry=entry[:60])) from None
    return networks


def address_allowed(session: ValidationSession, address: str | None) -> bool:
    """Whether a request from ``address`` may take the session's theory test (always, when the
    session names no networks; never from an address that cannot be read)."""
    return networks_allow(session.exam_networks, address)


def networks_allow(exam_networks: str | None, address: str | None) -> bool:
    """:func:`address_allowed` for a session's stored ``exam_networks``."""
    networks = _stored_networks(exam_networks) if exam_networks else ()
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return any(ip in network for network in networks)


@functools.lru_cache(maxsize=256)
def _stored_networks(text: str) -> tuple[Network, ...]:
    """A session's networks, parsed once per process (every request of its test asks)."""
    return tuple(parse_networks(text))
