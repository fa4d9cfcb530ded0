"""The rules of renewal that need no database: the application window, the days of work a holder's
periods cover inside the certificate's validity, the expiry reminders due and the validity of the
renewed certificate. Dates are Warsaw calendar days (see :func:`examportal.certification.rules.today`).
Unit-tested without a request."""
from __future__ import annotations

import calendar
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from ..certification.rules import _, add_years

#: How many months before expiry the holder may apply (until the expiry day itself).
WINDOW_MONTHS = 6
#: Expiry reminders: months before the last valid day.
REMINDER_LEADS = (6, 3, 1)
MAX_PERIODS = 10
MAX_EVIDENCE = 10

OPEN, EARLY, EXPIRED = "open", "early", "expired"


def add_months(day: date, months: int) -> date:
    """``day`` moved ``months`` calendar months (back when negative); a day the target month lacks
    becomes its last day (31 August − 6 months = 28 or 29 February)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def window_opens_on(valid_until: date) -> date:
    """The first day the holder may apply: :data:`WINDOW_MONTHS` months before the last valid day."""
    return add_months(valid_until, -WINDOW_MONTHS)


def window_state(valid_until: date, today: date) -> str:
    """:data:`EARLY` before the window, :data:`OPEN` from its first day to the expiry day inclusive,
    :data:`EXPIRED` after it (only a new validation is possible then)."""
    if today > valid_until:
        return EXPIRED
    if today < window_opens_on(valid_until):
        return EARLY
    return OPEN


def window_refusal(valid_until: date, today: date) -> str | None:
    """Why the holder may not apply today (translated), or None."""
    state = window_state(valid_until, today)
    if state == EARLY:
        return _("You may apply for renewal from %(date)s (%(months)d months before the certificate expires).",
                 date=window_opens_on(valid_until).isoformat(), months=WINDOW_MONTHS)
    if state == EXPIRED:
        return _("This certificate expired on %(date)s: it can no longer be renewed. To hold the qualification again, "
                 "apply for a new validation.", date=valid_until.isoformat())
    return None


def required_days(min_work_months: int) -> int:
    """The distinct days of work a renewal needs: ``months × 365 / 12``, rounded up (12 → 365)."""
    if min_work_months <= 0:
        raise ValueError("the required work must be at least one month")
    return math.ceil(min_work_months * 365 / 12)


@dataclass(frozen=True)
class Span:
    """A period of work, both days included."""

    starts_on: date
    ends_on: date


def covered_days(periods: Iterable[Span], validity_start: date, validity_end: date) -> int:
    """The distinct calendar days of ``periods`` inside the validity (both ends included): each
    period clipped to it, overlapping periods counted once."""
    clipped = sorted((max(p.starts_on, validity_start), min(p.ends_on, validity_end)) for p in periods)
    total = 0
    current: tuple[date, date] | None = None
    for start, end in clipped:
        if start > end:
            continue  # wholly outside the validity (or reversed): nothing counts
        if current is None or start > current[1] + timedelta(days=1):
            if current is not None:
                total += (current[1] - current[0]).days + 1
            current = (start, end)
        else:
            current = (current[0], max(current[1], end))
    if current is not None:
        total += (current[1] - current[0]).days + 1
    return total


def period_problem(starts_on: date | None, ends_on: date | None, today: date) -> str | None:
    """Why a declared period cannot be accepted (translated), or None: both dates given, the
    start not after the end, and nothing in the future."""
    if starts_on is None or ends_on is None:
        return _("Give both dates of the period.")
    if starts_on > ends_on:
        return _("The period ends before it starts: check the dates.")
    if ends_on > today:
        return _("Declare only work already done: the period cannot end after today (%(date)s).",
                 date=today.isoformat())
    return None


def renewed_valid_until(old_valid_until: date, validity_years: int) -> date:
    """The last valid day of the renewed certificate: its validity continues from the old one's
    expiry (not from the day of the decision), ``validity_years`` years on."""
    if validity_years <= 0:
        raise ValueError("validity must be at least one year")
    return add_years(old_valid_until, validity_years)


def due_reminder(valid_until: date, today: date) -> int | None:
    """The reminder due today for a certificate valid until ``valid_until``: the most recent lead
    (months before expiry) whose day has come, or None before the first one and after expiry.

    A certificate found late (two months before expiry, never reminded) gets the 3-month reminder
    only, not the 6-month one as well.
    """
    if today > valid_until:
        return None
    due = [months for months in REMINDER_LEADS if add_months(valid_until, -months) <= today]
    return min(due) if due else None


def decision_refusal(positive: bool, *, unjudged: int, accepted: int, covered: int, required: int,
                     justification: str, unjudged_periods: int = 0) -> str | None:
    """Why the assessor cannot decide so (translated), or None. Every evidence item and every
    declared period is judged first; a positive decision needs an accepted item and enough days in
    the periods the evidence confirms (``covered``); a negative one its written justification."""
    if unjudged:
        return _("Judge every piece of evidence first (%(n)d not judged yet).", n=unjudged)
    if unjudged_periods:
        return _("Say for every period of work whether the evidence shows it (%(n)d not judged yet).",
                 n=unjudged_periods)
    if positive:
        if accepted == 0:
            return _("A positive decision needs at least one accepted piece of evidence.")
        if covered < required:
            return _("A positive decision needs %(required)d days of work within the certificate's validity shown "
                     "by the evidence; the periods confirmed cover %(covered)d.", required=required, covered=covered)
        return None
    if not justification.strip():
        return _("A negative decision needs its written justification: the holder receives it and may appeal.")
    return None
