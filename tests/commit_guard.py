"""The runtime half of the commit rule (``examportal/extensions.py``): a request commits at most once.

Every commit of a session's outermost transaction that wrote something (a flush, or an INSERT, UPDATE or DELETE statement run
through the session) made while Flask dispatches a request is counted in that request's WSGI
environment (not in ``g``: tests share one app context, and clear its ``g``, between requests); a
second one is recorded, and the ``_one_commit_per_request`` fixture (autouse, tests/conftest.py)
fails the test that made the request. Commits outside a dispatched request (a test's own set-up in
``test_request_context``, a command, a job) are not counted: they are their own units of work.
"""
from __future__ import annotations

import threading

from flask import has_request_context, request, request_started
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

from examportal.jobs.core import OWN_UNIT

_KEY = "examportal.tests.commits"
_WROTE = "examportal.tests.wrote"
_lock = threading.Lock()
_found: list[str] = []


def _dispatch_started(sender: object, **extra: object) -> None:
    request.environ[_KEY] = 0


def _wrote(*args: object) -> None:
    if has_request_context() and _KEY in request.environ:
        request.environ[_WROTE] = True


def _statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        _wrote()


def _after_commit(session: Session) -> None:
    # A SAVEPOINT released (begin_nested) is part of the request's one transaction, not a commit of
    # it; a background job's record and its inline run are the job's own units of work.
    if session.in_nested_transaction() or not has_request_context() or not request.environ.pop(_WROTE, False):
        return
    if OWN_UNIT.get():
        return
    request.environ[_KEY] += 1
    if request.environ[_KEY] == 2:
        with _lock:
            _found.append(f"{request.method} {request.path} ({request.endpoint})")


def install() -> None:
    """Listen for every request and every commit (once per process)."""
    if not event.contains(Session, "after_commit", _after_commit):
        request_started.connect(_dispatch_started)
        event.listen(Session, "after_flush", _wrote)
        event.listen(Session, "do_orm_execute", _statement)
        event.listen(Session, "after_commit", _after_commit)


def take() -> list[str]:
    """The requests that committed more than once since the last call."""
    with _lock:
        found, _found[:] = list(_found), []
    return found
