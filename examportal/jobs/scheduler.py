"""Periodic work without cron: APScheduler fires each task of ``SCHEDULE`` and enqueues it as a job.

Two schedulers started by mistake (or one per host) never run a task twice: before enqueueing,
a scheduler claims the task's time slot with a row whose (task, slot) is unique in the database
every process shares; the loser of the race skips it. A claimed task whose job could not be put on
the queue (Redis away for a moment) waits as queued and is put on it by :func:`core.requeue_lost`,
which the scheduler runs every minute.
"""
from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import ScheduledRun, utcnow
from .core import requeue_lost, start

PERIODIC: dict[str, Callable[[], Any]] = {}


def periodic(name: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    """Register a periodic task (run as the job kind ``periodic`` with ``task=name``)."""
    def register(function: Callable[[], Any]) -> Callable[[], Any]:
        PERIODIC[name] = function
        return function
    return register


def slot_for(rule: Mapping[str, Any], when: datetime) -> str:
    """The time slot a firing belongs to: the interval's ordinal, or the minute for a cron rule."""
    if "seconds" in rule:
        return f"i{int(when.timestamp()) // int(rule['seconds'])}"
    return when.astimezone(UTC).strftime("m%Y%m%d%H%M")


def claim(task: str, slot: str, who: str | None = None) -> bool:
    """Claim the task's slot for this scheduler; False when another one claimed it first."""
    db.session.add(ScheduledRun(task=task, slot=slot, claimed_by=(who or _me())[:120], claimed_at=utcnow()))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True


def _me() -> str:
    import os

    return f"{socket.gethostname()}:{os.getpid()}"


def fire(task: str, when: datetime | None = None) -> bool:
    """One firing of a task: claim its slot, then enqueue it. Returns whether this scheduler ran it."""
    rule = current_app.config["SCHEDULE"][task]
    if not claim(task, slot_for(rule, when or utcnow())):
        return False
    start("periodic", task=task)
    return True


def trigger(rule: Mapping[str, Any]) -> Any:
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if "seconds" in rule:
        return IntervalTrigger(seconds=int(rule["seconds"]))
    return CronTrigger.from_crontab(str(rule["cron"]), timezone=UTC)


def check_schedule(schedule: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse a schedule naming an unknown task or without a valid rule (at start-up, not at 3 a.m.)."""
    for task, rule in schedule.items():
        if task not in PERIODIC:
            raise ValueError(f"SCHEDULE names an unknown task {task!r}; known: {sorted(PERIODIC)}")
        trigger(rule)


def run_forever(app: Flask) -> None:
    """The scheduler process (``flask jobs scheduler``)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    schedule = app.config["SCHEDULE"]
    check_schedule(schedule)
    scheduler = BlockingScheduler(timezone=UTC)

    def tick(task: str) -> None:
        with app.app_context():
            try:
                ran = fire(task)
            finally:
                db.session.remove()
            app.logger.info("scheduled %s: %s", task, "enqueued" if ran else "claimed by another scheduler")

    def requeue() -> None:
        with app.app_context():
            try:
                requeue_lost()
            finally:
                db.session.remove()

    for task, rule in schedule.items():
        scheduler.add_job(tick, trigger(rule), args=[task], id=task, coalesce=True, max_instances=1,
                          misfire_grace_time=30)
    # Jobs recorded while Redis was away (or by a process killed before it enqueued them).
    scheduler.add_job(requeue, trigger({"seconds": 60}), id="requeue-lost", coalesce=True, max_instances=1)
    scheduler.start()
