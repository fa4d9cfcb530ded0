"""What every operator action needs, whichever part of the session it concerns: its checks (the
session's own operator, a reason, a sensible number of minutes), the session record it goes into
and the audit of that record, and which actions concern a candidate.

How an action changes an attempt's clock is each part's own rule: ``theory.services.operator_action``
and ``practical.services.operator_action`` check and change their attempts, then :func:`record` here.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, or_, select

from ..audit import services as audit_log
from ..extensions import db
from ..models import OperatorAction, OperatorActionKind, PracticalAttempt, TheoryAttempt, User, ValidationSession

MAX_EXTRA_MINUTES = 240
"""The most time one action adds (the action form and both parts' rules refuse more)."""


def refusal(session: ValidationSession, operator: User, kind: OperatorActionKind, reason: str,
            minutes: int | None) -> str | None:
    """Why the action may not be taken at all (whoever it is for), or ``None``."""
    if operator.id != session.operator_id:
        return str(_("Only the session's exam-system operator may take this action."))
    if not (reason or "").strip():
        return str(_("Give the reason for this action; it goes into the session record."))
    if kind == OperatorActionKind.EXTRA_TIME and (minutes is None or not 1 <= minutes <= MAX_EXTRA_MINUTES):
        return str(_("Enter the extra time in whole minutes, from 1 to 240."))
    return None


def record(session: ValidationSession, operator: User, kind: OperatorActionKind, reason: str, minutes: int | None,
           now: datetime, attempt: TheoryAttempt | None = None,
           practical_attempt: PracticalAttempt | None = None) -> OperatorAction:
    """Put the action into the session record and audit it (the caller commits).

    ``attempt`` names a theory attempt, ``practical_attempt`` a practical one; neither: the whole session.
    """
    action = OperatorAction(session_id=session.id, attempt_id=attempt.id if attempt else None,
                            practical_attempt_id=practical_attempt.id if practical_attempt else None, kind=kind,
                            reason=reason.strip(), minutes=minutes, operator_id=operator.id, at=now)
    db.session.add(action)
    after: dict[str, object] = {"session_id": session.id, "attempt_id": action.attempt_id, "reason": action.reason,
                                "minutes": minutes}
    if practical_attempt is not None:
        after["practical_attempt_id"] = practical_attempt.id
    audit_log.record(f"operator.{kind.value}", action, after=after, institution_id=session.institution_id)
    return action


def session_actions(session: ValidationSession) -> list[OperatorAction]:
    """The session record: every operator action on either part, newest first."""
    return list(db.session.scalars(
        select(OperatorAction).where(OperatorAction.session_id == session.id)
        .order_by(OperatorAction.at.desc(), OperatorAction.id.desc())))


def concerning(enrolment_id: int) -> ColumnElement[bool]:
    """The operator actions that concern the candidate of this enrolment (a condition on
    ``OperatorAction``): on their theory attempt, on their practical attempt, or on the whole session."""
    theory = select(TheoryAttempt.id).where(TheoryAttempt.enrolment_id == enrolment_id)
    practical = select(PracticalAttempt.id).where(PracticalAttempt.enrolment_id == enrolment_id)
    return or_(and_(OperatorAction.attempt_id.is_(None), OperatorAction.practical_attempt_id.is_(None)),
               OperatorAction.attempt_id.in_(theory), OperatorAction.practical_attempt_id.in_(practical))
