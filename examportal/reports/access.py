"""Who may read an institution's records for a period: its staff (any period) and an external
auditor holding a live mandate (one institution, one period, until the mandate expires).

Reading views (the reports, the auditor's pages) ask :func:`reader_scopes`; an object or a
period outside every scope is 404, never 403, as elsewhere (:mod:`examportal.access`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import select

from ..certification.rules import today as portal_today
from ..extensions import db, login_manager
from ..models import AuditorMandate, Institution, Role, User
from ..security import staff_institution_ids

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class ReaderScope:
    """Institutions whose records one may read, and the period (None: no limit) they are limited to."""

    institution_ids: frozenset[int]
    period_from: date | None = None
    period_to: date | None = None
    mandate_id: int | None = None  # set for an auditor's scope

    def covers(self, institution_id: int, day_from: date | None = None, day_to: date | None = None) -> bool:
        """Whether the institution's records of the days ``day_from``-``day_to`` are readable (a
        None day is the scope's own bound: an auditor reading 'everything' reads their period)."""
        if institution_id not in self.institution_ids:
            return False
        if self.period_from is not None and day_from is not None and day_from < self.period_from:
            return False
        return not (self.period_to is not None and day_to is not None and day_to > self.period_to)

    def covers_day(self, day: date) -> bool:
        return ((self.period_from is None or day >= self.period_from)
                and (self.period_to is None or day <= self.period_to))


def _with_children(institution_id: int) -> frozenset[int]:
    children = db.session.scalars(select(Institution.id).where(Institution.parent_id == institution_id))
    return frozenset({institution_id, *children})


def live_mandates(user: User, on: date | None = None) -> list[AuditorMandate]:
    """The auditor's mandates in force on ``on`` (today): not revoked, not past their end."""
    day = on or portal_today()
    mandates = db.session.scalars(select(AuditorMandate).where(AuditorMandate.user_id == user.id)
                                  .order_by(AuditorMandate.period_from, AuditorMandate.id))
    return [m for m in mandates if m.active_on(day)] if user.has_role(Role.AUDITOR) else []


def reader_scopes(user: User | None = None) -> list[ReaderScope]:
    """Every scope in which ``user`` (the current user) may read records: one for the institutions
    they manage as staff (unlimited in time), one per live auditor mandate."""
    user = user or current_user
    scopes = []
    staff = staff_institution_ids(user)
    if staff:
        scopes.append(ReaderScope(frozenset(staff)))
    for mandate in live_mandates(user):
        scopes.append(ReaderScope(_with_children(mandate.institution_id), mandate.period_from, mandate.period_to,
                                  mandate.id))
    return scopes


def readable_institution_ids(user: User | None = None) -> set[int]:
    return {i for scope in reader_scopes(user) for i in scope.institution_ids}


def scope_for(institution_id: int, day_from: date | None = None, day_to: date | None = None,
              user: User | None = None) -> ReaderScope:
    """The scope covering the institution's records of those days, or 404."""
    for scope in reader_scopes(user):
        if scope.covers(institution_id, day_from, day_to):
            return scope
    abort(404)


def readers_only(view: Callable[P, R]) -> Callable[P, R]:
    """The view needs a logged-in user with at least one reader scope (staff, or an auditor with a
    live mandate); 403 otherwise."""

    @wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()  # type: ignore[no-any-return]
        if not reader_scopes():
            abort(403)
        return view(*args, **kwargs)

    return wrapped
