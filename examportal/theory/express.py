"""The autosave's express lane: an ordinary autosave answered in three statements, ahead of the
other request hooks — and an ordinary heartbeat in one (two when its last contact is old enough to
write, as :func:`services.touch` writes it).

On exam day nearly every request is an autosave, and nearly every autosave is ordinary: the
candidate's own running test, a question that exists, a new sequence number, a readable answer.
The full view (:func:`examportal.theory.views.autosave`) reaches that answer through every hook
of the portal — the login loads the user with their roles, the second-factor gate and the test's
lockdown look at them, the view reads the attempt and then the item — before its two writes. This
lane, a ``before_request`` hook placed before the others, checks the same things in one query (the
attempt with its item, its session's exam-room networks and its candidate's account and roles)
and writes as the full view does (:func:`services.write_answer`).

It never refuses anything. Whatever is not ordinary — no logged-in session, a bad CSRF token, an
attempt not running or nearly out of time, someone else's attempt, a deactivated account, a role
that owes a second factor, an address outside the exam room, a missing question, an unreadable
answer, a sequence number already used (a replay or another window) — it leaves to the full view,
which gives every refusal its reason. So both paths acknowledge the same answers, and each refusal
exists once.
"""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from flask import Flask, current_app, g, jsonify, request, session
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy import Select, and_, bindparam, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from question_bank import items as bank
from sandbox_crm.params import MAX_ID, declared_params, parse_number

from ..checkin.services import networks_allow
from ..extensions import csrf, db, login_manager
from ..metrics import AUTOSAVE_LANE
from ..models import (
    AttemptAnswer,
    AttemptItem,
    AttemptStatus,
    Role,
    TheoryAttempt,
    User,
    UserRole,
    ValidationSession,
    utcnow,
)
from ..models.people import DECIDING_ROLES
from . import clock, positions, services
from .scoring import item_of

ENDPOINT = "theory.autosave"
HEARTBEAT = "theory.heartbeat"
#: Closer to the end than this, the full view answers (it submits the test when the time is up).
MARGIN_SECONDS = 5.0


def init_app(app: Flask) -> None:
    """Register the lane; call before the extensions' hooks (CSRF, limits, login) are registered.
    ``THEORY_EXPRESS_AUTOSAVE`` (on by default) switches it off: every autosave goes the full way."""
    app.before_request(take)


def take() -> ResponseReturnValue | None:
    """The answer to an ordinary autosave or heartbeat, or None to let the request go the full way."""
    if request.endpoint not in (ENDPOINT, HEARTBEAT) or request.method != "POST" or not request.view_args \
            or not current_app.config.get("THEORY_EXPRESS_AUTOSAVE", True):
        return None
    user_id = _logged_in_user()
    if user_id is None or not _csrf_valid():
        return None
    try:  # the view's own declaration of its fields (a bad value is the full view's to refuse)
        fields = {name: value for declaration in declared_params(current_app.view_functions[request.endpoint])
                  for name, value in declaration.read().items()}
    except HTTPException:
        return None
    if request.endpoint == HEARTBEAT:
        return _heartbeat(int(request.view_args["attempt_id"]), user_id, fields["position"])
    position, seq, flagged = fields["position"], fields["seq"], bool(fields["flagged"])
    if position is None or not seq:
        return None
    found = _attempt_and_item(int(request.view_args["attempt_id"]), user_id, position)
    if found is None:
        return None
    attempt, item, networks = found
    now = utcnow()
    if clock.time_left(attempt, now) <= MARGIN_SECONDS or not networks_allow(networks, request.remote_addr):
        return None
    try:
        raw = services.read_page_answer(request.form, item)
        response = None if raw is None else bank.normalize_response(item_of(item), raw)
    except bank.ResponseError:
        return None
    return _write(attempt, item, seq, response, flagged, now)


def _logged_in_user() -> int | None:
    """The id of the user this session is logged in as, held to Flask-Login's strong session
    protection (the session was made for this address and browser); None otherwise — then the
    full way decides (a remember-me cookie, a session from elsewhere, nobody)."""
    identifier = getattr(login_manager, "_session_identifier_generator", None)
    if identifier is None or "_user_id" not in session or session.get("_id") != identifier():
        return None
    return parse_number(str(session["_user_id"]), 1, MAX_ID)


def _csrf_valid() -> bool:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        csrf.protect()
    except CSRFError:
        return False
    return True


def _attempt_and_item(attempt_id: int, user_id: int, position: int) -> tuple[TheoryAttempt, AttemptItem, str | None] | None:
    """The running attempt of ``user_id`` with its item at ``position`` and its session's networks,
    in one query, when the account may autosave without anything else being checked: active, a
    candidate, and holding no role that would owe a second factor it has not set up."""
    row = db.session.connection().execute(_read_statement(), {"attempt_id": attempt_id, "user_id": user_id,
                                                              "position": position}).one_or_none()
    if row is None:
        return None
    attempt = _clock_copy(attempt_id, row)
    item = AttemptItem(id=row.item_id, attempt_id=attempt_id, position=position, snapshot=row.snapshot)
    return attempt, item, row.exam_networks


def _clock_copy(attempt_id: int, row: Any) -> TheoryAttempt:
    """An unattached copy of the attempt with the columns of :data:`_CLOCK`, for the rules that read
    them (the clock, the page's ids): never added to the session, so nothing of it is ever written."""
    return TheoryAttempt(id=attempt_id, status=row.status, time_limit_seconds=row.time_limit_seconds,
                         started_at=row.started_at, deadline_at=row.deadline_at, extra_seconds=row.extra_seconds,
                         paused_seconds_total=row.paused_seconds_total)


_CLOCK = (TheoryAttempt.status, TheoryAttempt.time_limit_seconds, TheoryAttempt.started_at, TheoryAttempt.deadline_at,
          TheoryAttempt.extra_seconds, TheoryAttempt.paused_seconds_total)


def _running_attempt_of_an_ordinary_candidate(query: Select[Any]) -> Select[Any]:
    """``query`` (of the attempt ``:attempt_id``) limited to a running attempt of ``:user_id``
    whose account needs nothing else checked: active, a candidate, and holding no role that would
    owe a second factor it has not set up."""
    role = UserRole.__table__.c
    user_id = bindparam("user_id", type_=User.id.type)
    return (
        query.join(User, User.id == TheoryAttempt.candidate_id)
        .join(ValidationSession, ValidationSession.id == TheoryAttempt.session_id)
        .where(TheoryAttempt.id == bindparam("attempt_id"), TheoryAttempt.candidate_id == user_id,
               TheoryAttempt.status == AttemptStatus.IN_PROGRESS, User.active.is_(True),
               exists().where(role.user_id == user_id, role.role == Role.CANDIDATE),
               User.totp_secret.is_not(None) | ~exists().where(role.user_id == user_id,
                                                                role.role.in_(sorted(DECIDING_ROLES))))
    )


@functools.cache
def _read_statement() -> Select[Any]:
    """The lane's one query, built once (only its parameters change between autosaves)."""
    return _running_attempt_of_an_ordinary_candidate(
        select(*_CLOCK, AttemptItem.id.label("item_id"), AttemptItem.snapshot, ValidationSession.exam_networks)
        .join(AttemptItem, and_(AttemptItem.attempt_id == TheoryAttempt.id, AttemptItem.position == bindparam("position")))
        .where(AttemptItem.points.is_(None)))


@functools.cache
def _heartbeat_statement() -> Select[Any]:
    """A heartbeat's one query: the clock, the last contact and the highest sequence number saved
    (:func:`services.last_seq`)."""
    attempt_id = TheoryAttempt.id
    return _running_attempt_of_an_ordinary_candidate(select(
        *_CLOCK, TheoryAttempt.last_contact_at, ValidationSession.exam_networks,
        select(func.coalesce(func.max(AttemptAnswer.seq), 0)).where(AttemptAnswer.attempt_id == attempt_id)
        .scalar_subquery().label("last_seq")))


def _heartbeat(attempt_id: int, user_id: int, position: int | None) -> ResponseReturnValue | None:
    """A heartbeat as the full view answers it (:func:`examportal.theory.views.heartbeat`): the
    clock and the highest sequence number saved, the last contact written when it is
    CONTACT_WRITE_SECONDS old (:func:`services.touch`), the question shown remembered in the session."""
    row = db.session.connection().execute(_heartbeat_statement(), {"attempt_id": attempt_id, "user_id": user_id}).one_or_none()
    if row is None:
        return None
    attempt = _clock_copy(attempt_id, row)
    now = utcnow()
    if clock.time_left(attempt, now) <= MARGIN_SECONDS or not networks_allow(row.exam_networks, request.remote_addr):
        return None
    if row.last_contact_at is None or (now - row.last_contact_at).total_seconds() >= clock.CONTACT_WRITE_SECONDS:
        db.session.execute(update(TheoryAttempt).where(TheoryAttempt.id == attempt_id,
                                                       TheoryAttempt.status == AttemptStatus.IN_PROGRESS)
                           .values(last_contact_at=now).execution_options(synchronize_session=False))
        db.session.commit()
    positions.remember(attempt, position)
    g.setdefault(AUTOSAVE_LANE, "express")
    return jsonify(status=attempt.status.value, time_left=clock.seconds_shown(attempt, now), last_seq=int(row.last_seq))


def _write(attempt: TheoryAttempt, item: AttemptItem, seq: int, response: object, flagged: bool,
           now: datetime) -> ResponseReturnValue | None:
    try:
        applied = services.write_answer(attempt.id, item.id, seq, response, flagged, now)
    except IntegrityError:
        db.session.rollback()  # the sequence number is taken: the full view tells a replay from a stale window
        return None
    if applied is None:
        db.session.rollback()  # paused or submitted since the read: the full view says which
        return None
    db.session.commit()
    g.setdefault(AUTOSAVE_LANE, "express")
    return jsonify(services.ack(attempt, seq, now, now, applied))
