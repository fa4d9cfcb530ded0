"""While a candidate's theory test runs, the candidate sees only the test.

No site navigation, no practice CRM, no qualification pages: everything else is refused by the
server (the page asked for redirects back to the test; a script gets a JSON refusal) until the
test is submitted. The test's own pages, logging out and switching the language stay open.
"""
from __future__ import annotations

from typing import cast

from flask import Flask, flash, g, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload

from ..errors import wants_json
from ..extensions import db
from ..models import AttemptStatus, Role, TheoryAttempt, User
from . import positions

OPEN_DURING_THE_TEST = frozenset({
    "theory.overview", "theory.question", "theory.questions", "theory.autosave", "theory.heartbeat", "theory.review",
    "theory.submit",
    "auth.logout", "main.set_language", "main.healthz", "main.favicon", "static",
})
RUNNING = (AttemptStatus.IN_PROGRESS, AttemptStatus.PAUSED)
#: The test's own way in, sent again while it runs (its page reloaded, a second tab): back to the
#: test without the warning the other pages get.
WAYS_INTO_THE_TEST = frozenset({"theory.start"})


def running_attempt(user_id: int) -> TheoryAttempt | None:
    """The candidate's theory attempt in progress (or paused by the operator), if any, with its
    session (the test's pages check the session's exam-room networks: no second query for it).
    Read with the user when :func:`load_user` loaded them in this request."""
    known = g.get("running_attempts", {})
    if user_id in known:
        return cast("TheoryAttempt | None", known[user_id])
    return db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.candidate_id == user_id,
                                                         TheoryAttempt.status.in_(RUNNING))
                             .options(joinedload(TheoryAttempt.session)).limit(1))


def load_user(user_id: int) -> User | None:
    """The logged-in user with their roles — and, in the same query, their running theory attempt
    (:func:`running_attempt`): every request of a logged-in user checks both."""
    row = db.session.execute(
        select(User, TheoryAttempt)
        .outerjoin(TheoryAttempt, and_(TheoryAttempt.candidate_id == User.id, TheoryAttempt.status.in_(RUNNING)))
        .where(User.id == user_id)
        .options(joinedload(User.roles), joinedload(TheoryAttempt.session))
    ).unique().first()
    if row is None:
        return None
    g.setdefault("running_attempts", {})[user_id] = row[1]
    return row[0]


def started(user_id: int) -> TheoryAttempt | None:
    """The candidate's test has just started in this request: its page is locked down as every
    other page of the running test, and the user, roles and attempt the start's commit expired are
    read again in the one query of :func:`load_user` (instead of one each as the page touches them)."""
    load_user(user_id)
    g.exam_attempt = running_attempt(user_id)
    return cast("TheoryAttempt | None", g.exam_attempt)


def init_app(app: Flask) -> None:
    @app.before_request
    def only_the_test() -> ResponseReturnValue | None:
        if request.endpoint is None or not current_user.is_authenticated or not current_user.has_role(Role.CANDIDATE):
            return None
        attempt = running_attempt(current_user.id)
        g.exam_attempt = attempt
        if attempt is None or request.endpoint in OPEN_DURING_THE_TEST:
            return None
        message = _("Your theory test is running: other pages open after you submit it.")
        if wants_json():
            return {"error": message}, 403
        if request.endpoint not in WAYS_INTO_THE_TEST:
            flash(message, "warning")
        return redirect(url_for("theory.question", attempt_id=attempt.id, position=positions.remembered(attempt)))

    @app.context_processor
    def lockdown_context() -> dict[str, bool]:
        return {"exam_lockdown": g.get("exam_attempt") is not None}
