"""The job queue's core (see the package's docstring): job kinds, progress, starting and running jobs.

Background work on a job queue: RQ on Redis in production, in-process without Redis.

Long work (bulk PDFs, reports, mail delivery) is a *job kind*: a function registered with
:func:`kind` that does its work item by item through a :class:`Progress`, so the page that started
it shows done / total and the problems met. :func:`start` records a :class:`BackgroundJob` row and
enqueues it; a worker (``flask jobs worker``) runs it. A failing job is retried with back-off
(``JOB_RETRY_INTERVALS``); when the last attempt fails it is marked failed and staff see its error.

Jobs must be idempotent: a retry runs the whole function again, so a job's effect is written so
that doing it twice changes nothing more (a mail is claimed before it is sent and never re-sent;
a result file is replaced, not appended to).

Everything a second process needs lives in the database or Redis, never in this process's memory.
"""
from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from flask import current_app, has_app_context, has_request_context
from redis.exceptions import RedisError
from sqlalchemy import select

from ..extensions import db
from ..models import BackgroundJob, JobStatus, User, utcnow

log = logging.getLogger(__name__)

#: A job recorded as queued this long without being on the queue is put on it (:func:`requeue_lost`).
LOST_AFTER_SECONDS = 60

JobFunction = Callable[["BackgroundJob", "Progress"], None]
KINDS: dict[str, JobFunction] = {}


class JobError(RuntimeError):
    """A job could not do its work; the message is shown to staff."""


def kind(name: str) -> Callable[[JobFunction], JobFunction]:
    """Register a job kind under ``name``."""
    def register(function: JobFunction) -> JobFunction:
        KINDS[name] = function
        return function
    return register


class Progress:
    """What a running job reports: how many items in all, each one done, problems that did not stop it.

    Every report is committed at once, so the progress page (another process) sees it.
    """

    def __init__(self, job: BackgroundJob) -> None:
        self.job = job

    def total(self, count: int) -> None:
        self.job.total, self.job.done, self.job.problems = count, 0, []
        db.session.commit()

    def step(self) -> None:
        self.job.done += 1
        db.session.commit()

    def problem(self, item: str, error: str) -> None:
        self.job.problems = [*self.job.problems, {"item": item, "error": error}]
        db.session.commit()

    def result(self, data: bytes, name: str, content_type: str) -> None:
        self.job.result, self.job.result_name, self.job.result_type = data, name, content_type
        db.session.commit()


OWN_UNIT: ContextVar[bool] = ContextVar("examportal_job_own_unit", default=False)
"""True while a job's own units of work commit inside a request: its record, committed before it
goes on the queue (the worker must find it), and, without a queue, the job's run itself. They are
not the request's commit (the commit rule in ``examportal/extensions.py``)."""


@contextlib.contextmanager
def _own_unit() -> Iterator[None]:
    token = OWN_UNIT.set(True)
    try:
        yield
    finally:
        OWN_UNIT.reset(token)


def _request_id() -> str | None:
    from ..logging_setup import current_request_id

    return current_request_id() if has_request_context() else None


def start(kind_name: str, *, actor: User | None = None, institution_id: int | None = None,
          **params: Any) -> BackgroundJob:
    """Record a job of ``kind_name`` and put it on the queue (or run it now without a queue)."""
    if kind_name not in KINDS:
        raise JobError(f"unknown job kind {kind_name!r}")
    job = BackgroundJob(kind=kind_name, params=params, institution_id=institution_id,
                        created_by_id=actor.id if actor else None, status=JobStatus.QUEUED,
                        request_id=_request_id())
    with _own_unit():
        db.session.add(job)
        db.session.commit()
        try:
            enqueue(job.id)
        except RedisError as error:
            # Recorded, not lost: it waits as queued, and requeue_lost puts it on the queue once the
            # queue is back (the scheduler looks every minute, a worker as it starts).
            log.warning("job %s (%s) recorded but not queued (%s): it is queued again when Redis answers",
                        job.id, kind_name, type(error).__name__)
    return job


def uses_queue() -> bool:
    """Whether jobs go to Redis for a worker (``REDIS_URL`` set and ``JOBS_INLINE`` off)."""
    return bool(current_app.config.get("REDIS_URL")) and not current_app.config.get("JOBS_INLINE")


def retry_intervals() -> list[int]:
    return [int(s) for s in current_app.config.get("JOB_RETRY_INTERVALS", (10, 60, 300))]


def queued_id(job_id: int) -> str:
    """The id of the job's message on the queue (RQ's job id)."""
    return f"examportal-job-{job_id}"


def enqueue(job_id: int) -> None:
    if uses_queue():
        from rq import Callback, Retry

        from .queue import queue

        queue().enqueue(run_job, job_id, job_id=queued_id(job_id),
                        retry=Retry(max=len(retry_intervals()), interval=retry_intervals()),
                        job_timeout=int(current_app.config.get("JOB_TIMEOUT_SECONDS", 3600)),
                        on_failure=Callback(attempt_failed))
    else:
        with _own_unit():
            _run_inline(job_id)


def _run_inline(job_id: int) -> None:
    """Without a queue: every attempt now, one after the other (the pauses scaled by JOBS_INLINE_PAUSE)."""
    intervals = retry_intervals()
    for attempt, pause in enumerate([0, *intervals]):
        if pause:
            time.sleep(pause * float(current_app.config.get("JOBS_INLINE_PAUSE", 0)))
        try:
            execute(job_id, final=attempt == len(intervals))
        except JobError:
            continue
        return


def run_job(job_id: int) -> None:
    """The queue's entry point (in the worker process): one attempt at the job."""
    from rq import get_current_job

    current = get_current_job()
    final = current is None or not current.retries_left
    if not has_app_context():
        raise RuntimeError("run_job needs the app context that `flask jobs worker` provides")
    _attempt(job_id, final)


def attempt_failed(queued: Any, _connection: Any, error_type: type[BaseException] | None, _error: Any,
                   _traceback: Any) -> None:
    """RQ's failure callback, for each attempt that failed. One that raised was recorded by
    :func:`execute`; this one matters when nothing of ours ran to the end: the worker was killed
    (SIGKILL, out of memory, its host lost) and RQ's registry clean-up finds the job abandoned.
    After the last attempt the job is marked failed (staff see it and may start it again),
    never left "running" for ever; with attempts left, RQ runs the next one."""
    if queued.retries_left:
        return
    if not has_app_context():  # RQ's clean-up outside `flask jobs worker`: nobody to record it
        log.error("job %s failed outside the app (%s): its record is not updated", queued.id, error_type)
        return
    job_id = int(queued.args[0])
    job = db.session.scalar(select(BackgroundJob).where(BackgroundJob.id == job_id).with_for_update())
    if job is not None and job.status not in (JobStatus.FINISHED, JobStatus.FAILED):
        name = error_type.__name__ if error_type is not None else "Error"
        job.status, job.finished_at = JobStatus.FAILED, utcnow()
        job.last_error = f"{name}: the worker running the job stopped before the job ended (killed, out of memory or its host lost)"
        log.warning("job %s (%s) abandoned by its worker on its last attempt: marked failed", job_id, job.kind)
    db.session.commit()


def requeue_lost(older_than_seconds: float = LOST_AFTER_SECONDS) -> list[int]:
    """Put back on the queue each job recorded as waiting (queued, or waiting for a retry) for
    ``older_than_seconds`` that the queue does not hold: its enqueue failed (Redis away for a
    moment), the process that recorded it was killed before enqueueing it, or Redis lost its data.
    So every job recorded runs. The scheduler calls this every minute, a worker as it starts;
    returns the ids put back."""
    if not uses_queue():
        return []
    from .queue import connection

    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    waiting = db.session.scalars(select(BackgroundJob.id).where(
        BackgroundJob.status.in_((JobStatus.QUEUED, JobStatus.RETRYING)), BackgroundJob.created_at <= cutoff)
        .order_by(BackgroundJob.id)).all()
    db.session.commit()  # no transaction held while Redis is asked
    redis = connection()
    lost = [job_id for job_id in waiting if not _on_the_queue(queued_id(job_id), redis)]
    for job_id in lost:
        enqueue(job_id)
        log.warning("job %s was recorded but not on the queue: queued again", job_id)
    return lost


def _on_the_queue(queued: str, redis: Any) -> bool:
    """Whether RQ holds the message ``queued`` to be run: waiting, running, or waiting for a retry
    (not a finished or failed message of the same id left from before, say, a database restore)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.job import JobStatus as QueuedStatus

    try:
        status = Job.fetch(queued, connection=redis).get_status()
    except NoSuchJobError:
        return False
    return status in (QueuedStatus.QUEUED, QueuedStatus.STARTED, QueuedStatus.DEFERRED, QueuedStatus.SCHEDULED)


def _attempt(job_id: int, final: bool) -> None:
    from ..logging_setup import bind_request_id

    request_id = db.session.scalar(select(BackgroundJob.request_id).where(BackgroundJob.id == job_id))
    try:
        with bind_request_id(request_id):  # the job logs under the id of the request that started it
            execute(job_id, final)
    finally:
        db.session.remove()


def execute(job_id: int, final: bool) -> None:
    """One attempt: run the kind's function; on failure record the error and raise JobError (the
    queue retries) — on the final attempt the job is marked failed."""
    job = db.session.scalar(select(BackgroundJob).where(BackgroundJob.id == job_id).with_for_update())
    if job is None or job.status in (JobStatus.FINISHED, JobStatus.FAILED):
        return  # done already: a duplicate delivery of the message changes nothing
    job.status, job.started_at, job.attempts = JobStatus.RUNNING, job.started_at or utcnow(), job.attempts + 1
    db.session.commit()
    function = KINDS.get(job.kind)
    try:
        if function is None:
            raise JobError(f"unknown job kind {job.kind!r}")
        function(job, Progress(job))
    except Exception as error:  # any failure of the work is recorded, then re-raised for the retry
        db.session.rollback()
        job = db.session.get(BackgroundJob, job_id)
        if job is None:
            raise
        job.last_error = f"{type(error).__name__}: {error}"[:2000]
        job.status = JobStatus.FAILED if final else JobStatus.RETRYING
        if final:
            job.finished_at = utcnow()
        db.session.commit()
        current_app.logger.warning("job %s (%s) attempt %s failed: %s", job_id, job.kind, job.attempts, job.last_error)
        raise JobError(job.last_error) from error
    job.status, job.finished_at = JobStatus.FINISHED, utcnow()
    db.session.commit()
