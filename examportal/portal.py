"""The portal's Flask application class: a request PostgreSQL aborted to let another through runs again.

Two requests that lock the same rows in opposite orders deadlock; PostgreSQL aborts one of them
(SQLSTATE 40P01) after ``deadlock_timeout``, as it aborts a transaction that could not be
serialised (40001). Nothing of the aborted transaction is kept, so the request can simply run
again, now after the other one — what a person would do on the "try again" page, done for them.

A request runs again only when nothing of it has been committed yet (a service that committed a
step, a job queued, has acted once and must not act twice) and at most :data:`RETRIES` times; then
the error goes to the portal's handler (503, "nothing you typed is lost", ``errors.py``). Mail is
queued in the transaction (the outbox), so an aborted attempt mails nobody; uploaded files are
read again from their start.
"""
from __future__ import annotations

import random
import time
from typing import Any

from flask import Flask, request
from flask.typing import ResponseReturnValue
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .extensions import db

#: PostgreSQL's SQLSTATEs of a transaction aborted for another's sake: deadlock, serialization failure.
RETRYABLE = frozenset({"40P01", "40001"})
#: Further runs of one request after such an abort.
RETRIES = 2
#: ``Session.info`` key: how many transactions the session has committed.
COMMITS = "examportal.commits"
_JITTER = random.SystemRandom()


class Portal(Flask):
    def dispatch_request(self) -> ResponseReturnValue:
        attempt = 0
        while True:
            committed = _commits()
            try:
                return super().dispatch_request()
            except DBAPIError as error:
                if attempt >= RETRIES or not aborted_for_another(error) or _commits() != committed:
                    raise
                attempt += 1
                db.session.rollback()
                self.logger.warning("%s on %s %s: the request runs again (%d of %d)", type(error.orig).__name__,
                                    request.method, request.endpoint, attempt, RETRIES)
                for uploads in request.files.listvalues():
                    for upload in uploads:
                        upload.stream.seek(0)
                time.sleep(_JITTER.uniform(0.005, 0.05) * attempt)  # the other transaction finishes first


def aborted_for_another(error: DBAPIError) -> bool:
    """Whether PostgreSQL aborted the statement's transaction to let a concurrent one through."""
    return getattr(error.orig, "sqlstate", None) in RETRYABLE


def _commits() -> int:
    return int(db.session().info.get(COMMITS, 0))


@event.listens_for(Session, "after_commit")
def _count_commit(session: Session, *_: Any) -> None:
    session.info[COMMITS] = session.info.get(COMMITS, 0) + 1
