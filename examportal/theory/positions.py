"""The question last shown in this browser, kept in its session so that "Continue the test" (and a
lockdown's redirect) opens it: written by the question page and the heartbeat, on either path
(the full view or the express lane)."""
from __future__ import annotations

from flask import session

from ..models import TheoryAttempt
from . import services


def _key(attempt: TheoryAttempt) -> str:
    return f"theory-position-{attempt.id}"


def remember(attempt: TheoryAttempt, position: int | None, total: int | None = None) -> None:
    """Keep ``position`` when it is one of the attempt's questions (``total``: their number when the
    caller knows it; repeating the remembered position costs no query)."""
    if position is None or session.get(_key(attempt)) == position:
        return
    if 1 <= position <= (services.item_count(attempt) if total is None else total):
        session[_key(attempt)] = position


def remembered(attempt: TheoryAttempt) -> int:
    value = session.get(_key(attempt))
    return services.resume_position(attempt, value if isinstance(value, int) else None)
