"""What every operator action needs, whichever part of the session it concerns: its checks (the
session's own operator, a reason, a sensible number of minutes), the attempt states it applies to
and leaves (:data:`THEORY_TRANSITIONS`, :data:`PRACTICAL_TRANSITIONS`), the session record it goes
into and the audit of that record, and which actions concern a candidate.

How an action moves an attempt's clock (extra seconds, the pause's start and length) is each part's
own rule: ``theory.services.operator_action`` and ``practical.services.operator_action`` take the
transition from the tables here, change their attempts, then :func:`record` here.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, or_, select

from ..audit import services as audit_log
from ..extensions import db
from ..models import (
    AttemptStatus,
    EnrolmentStatus,
    OperatorAction,
    OperatorActionKind,
    PracticalAttempt,
    TheoryAttempt,
    User,
    ValidationSession,
)

MAX_EXTRA_MINUTES = 240
"""The most time one action adds (the action form and both parts' rules refuse more)."""


class PracticalState(enum.Enum):
    """A practical attempt as the operator's actions see it. Its stored status only says running or
    ended (finished, timed out); a running attempt is paused while its ``paused_at`` is set."""

    RUNNING = "running"
    PAUSED = "paused"
    ENDED = "ended"


State = TypeVar("State", AttemptStatus, PracticalState)


@dataclass(frozen=True)
class Transition(Generic[State]):
    """Which attempt states an operator action applies to, and the state it leaves the attempt in
    (``None``: the state stays as it was; extra time moves only the deadline)."""

    applies_to: frozenset[State]
    becomes: State | None = None


NOTES = frozenset({OperatorActionKind.INCIDENT})
"""Actions that change no attempt, on either part and in any state: they go into the session record only."""

THEORY_TRANSITIONS: dict[OperatorActionKind, Transition[AttemptStatus]] = {
    # The whole session: a candidate not yet checked in stays locked (see theory.services.operator_action).
    OperatorActionKind.UNLOCK: Transition(frozenset({AttemptStatus.NOT_STARTED}), AttemptStatus.UNLOCKED),
    OperatorActionKind.EXTRA_TIME: Transition(frozenset(AttemptStatus) - {AttemptStatus.SUBMITTED}),
    # Only while time is left (see theory.services.operator_action): one whose time is up is left to end.
    OperatorActionKind.PAUSE: Transition(frozenset({AttemptStatus.IN_PROGRESS}), AttemptStatus.PAUSED),
    OperatorActionKind.RESUME: Transition(frozenset({AttemptStatus.PAUSED}), AttemptStatus.IN_PROGRESS),
}
"""The theory test: an attempt in another state is left as it is; the action is refused only when
it changes no attempt it was meant for."""

PRACTICAL_TRANSITIONS: dict[OperatorActionKind, Transition[PracticalState]] = {
    OperatorActionKind.EXTRA_TIME: Transition(frozenset({PracticalState.RUNNING, PracticalState.PAUSED})),
    OperatorActionKind.PAUSE: Transition(frozenset({PracticalState.RUNNING}), PracticalState.PAUSED),
    OperatorActionKind.RESUME: Transition(frozenset({PracticalState.PAUSED}), PracticalState.RUNNING),
}
"""The practical exam, one candidate at a time: an action in another state is refused with the
reason. There is no unlock: the candidate starts the practical exam once their theory result allows."""


def refusal(session: ValidationSession, operator: User, kind: OperatorActionKind, reason: str,
            minutes: int | None) -> str | None:
    """Why the action may not be taken at all (whoever it is for), or ``None``."""
    if operator.id != session.operator_id:
        return str(_("Only the session's exam-system operator may take this action."))
    if any(e.candidate_id == operator.id and e.status == EnrolmentStatus.ENROLLED for e in session.enrolments):
        return str(_("You are a candidate of this session: another operator must supervise it."))
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
