"""The server-side clock of a theory attempt and how its page stands with the server (pure: no database).

Every reader of the time left (the candidate's pages, the autosave's acknowledgement, the
operator's console, the deadline's expiry) computes it here from the attempt's stored moments, so
the clock has one definition whichever side asks.
"""
from __future__ import annotations

import calendar
import math
from datetime import datetime, timedelta

from ..models import AttemptStatus, TheoryAttempt

CONTACT_WRITE_SECONDS = 60
"""The page's heartbeat (every 15 s) writes the attempt's last contact only when the stored one is
at least this old: on an exam day a write per beat was ~67 writes a second for 1,000 candidates."""
ONLINE_SECONDS = 90
"""A candidate heard from within this many seconds is online: a live page's stored contact is at
most CONTACT_WRITE_SECONDS plus one heartbeat old (an autosave counts as contact to the second)."""
STALE_SECONDS = 180
"""…within this many seconds stale (a hiccup); beyond it offline."""


def seconds_shown(attempt: TheoryAttempt, now: datetime) -> int:
    """The time left in whole seconds as the pages and the console show it: rounded up, so that a
    clock at 0:00 means the time is up on the server too (rounded down, a page reached 0:00 up to a
    second early, asked, found the test still running and had to ask again — a whole room at once)."""
    return math.ceil(time_left(attempt, now))


def time_left(attempt: TheoryAttempt, now: datetime) -> float:
    """Seconds left on the attempt's clock at ``now`` (never negative).

    The deadline moves by the extra time and by every second spent paused; while paused the
    clock stands at the moment of the pause, and once submitted at the moment of submission. The
    extra time granted on the formal check is in the deadline from the start (see :func:`.services.start`).
    """
    if attempt.started_at is None or attempt.deadline_at is None:
        return float(attempt.time_limit_seconds + accommodation_seconds(attempt) + attempt.extra_seconds)
    end = attempt.deadline_at + timedelta(seconds=attempt.extra_seconds + attempt.paused_seconds_total)
    reference = now
    if attempt.status == AttemptStatus.PAUSED and attempt.paused_at is not None:
        reference = attempt.paused_at
    elif attempt.status == AttemptStatus.SUBMITTED and attempt.submitted_at is not None:
        reference = attempt.submitted_at
    return max(0.0, (end - reference).total_seconds())


def accommodation_seconds(attempt: TheoryAttempt) -> int:
    """The extra time granted to the candidate on the formal check (``Enrolment.extra_time_minutes``),
    in seconds: it is part of the attempt's deadline from its start, unlike the operator's extra
    time for an incident (``extra_seconds``)."""
    enrolment = attempt.enrolment
    return enrolment.extra_time_minutes * 60 if enrolment is not None else 0


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` moved ``months`` calendar months on; the 31st becomes the month's last day."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def last_contact(stored: datetime | None, last_answer: datetime | None) -> datetime | None:
    """When the candidate's page last reached the server: the heartbeat's stored contact (written at
    most every CONTACT_WRITE_SECONDS) or the latest answer saved, whichever is later."""
    known = [moment for moment in (stored, last_answer) if moment is not None]
    return max(known) if known else None


def connection_state(last_contact_at: datetime | None, now: datetime) -> str:
    """"online", "stale", "offline" or "never" from when the candidate's page last reached the server."""
    if last_contact_at is None:
        return "never"
    silence = (now - last_contact_at).total_seconds()
    if silence <= ONLINE_SECONDS:
        return "online"
    if silence <= STALE_SECONDS:
        return "stale"
    return "offline"
