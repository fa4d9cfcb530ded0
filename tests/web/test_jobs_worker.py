"""A job through the real queue: Redis, and a worker process started with ``flask jobs worker``.

The worker is a separate process on the same test database (SQLite file or PostgreSQL), so the
test commits; a failing job is retried by RQ and ends failed with its error on record.
"""
import signal
import time
from datetime import UTC, datetime

import pytest
from redis import Redis
from rq import Queue
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from examportal import jobs
from examportal.certification import batch
from examportal.certification import services as certification
from examportal.extensions import db
from examportal.jobs import scheduler
from examportal.models import BackgroundJob, Certificate, JobStatus, Role
from tests.certtools import certification_world, validation_decision
from tests.factories import enrol, make_institution, make_session, make_user
from tests.jobtools import REDIS_URL, run_worker, start_worker


@pytest.mark.committing
def test_a_worker_process_runs_a_job_from_redis(app, qualification, database_url, real_queue):
    ic = make_institution(qualifications=[qualification])
    session = make_session(ic, qualification, title="Sesja kolejki")
    enrol(session, make_user(Role.CANDIDATE))
    job = jobs.start("session_archive", institution_id=ic.id, session_id=session.id)
    assert job.status == JobStatus.QUEUED  # on the queue, not run by this process
    finished = run_worker(database_url, real_queue)
    assert finished.returncode == 0, finished.stderr[-2000:]
    db.session.expire_all()
    job = db.session.scalar(select(BackgroundJob).where(BackgroundJob.id == job.id))
    assert job.status == JobStatus.FINISHED, (job.last_error, finished.stderr[-2000:])
    assert job.done == job.total == 1 and job.result_name == f"sesja-{session.id}-archiwum.zip"


@pytest.mark.committing
def test_the_worker_retries_a_failing_job_then_records_the_failure(app, database_url, real_queue):
    job = jobs.start("session_archive", session_id=999999)  # no such session: every attempt fails
    finished = run_worker(database_url, real_queue)
    assert finished.returncode == 0, finished.stderr[-2000:]
    db.session.expire_all()
    job = db.session.scalar(select(BackgroundJob).where(BackgroundJob.id == job.id))
    assert job.status == JobStatus.FAILED and job.attempts == 3
    assert "the session no longer exists" in job.last_error


@pytest.mark.committing
def test_the_worker_stops_after_its_share_of_pdf_documents_and_the_next_one_goes_on(app, qualification, database_url,
                                                                                   real_queue):
    ic = make_institution(qualifications=[qualification])
    sessions = [make_session(ic, qualification, title=f"Sesja {n}") for n in (1, 2)]
    for session in sessions:
        enrol(session, make_user(Role.CANDIDATE))
    first, second = (jobs.start("session_archive", institution_id=ic.id, session_id=session.id) for session in sessions)

    def statuses() -> list[JobStatus]:
        db.session.expire_all()
        return [db.session.get(BackgroundJob, job.id).status for job in (first, second)]

    # An archive lays out one PDF (the session's summary): the worker stops after the first job.
    stopped = run_worker(database_url, real_queue, "--max-pdf-documents", "1")
    assert stopped.returncode == 0, stopped.stderr[-2000:]
    assert "stopping after 1 PDF documents" in stopped.stderr
    assert statuses() == [JobStatus.FINISHED, JobStatus.QUEUED]
    # A new worker takes the queue on.
    assert run_worker(database_url, real_queue, "--max-pdf-documents", "1").returncode == 0
    assert statuses() == [JobStatus.FINISHED, JobStatus.FINISHED]


def test_the_worker_refuses_a_limit_below_one(app, runner):
    app.config["REDIS_URL"] = "redis://127.0.0.1:6379/7"
    result = runner.invoke(args=["jobs", "worker", "--burst", "--max-pdf-documents", "0"])
    assert result.exit_code == 2 and "--max-pdf-documents" in result.output


@pytest.mark.committing
def test_a_task_fired_while_redis_is_away_waits_recorded_and_runs_once_redis_answers(app, database_url, real_queue):
    """The scheduler claims the slot and records the job, then Redis does not answer: nothing is
    lost — the job waits as queued (the slot stays claimed: no second run), and once Redis answers
    requeue_lost (the scheduler's minute, a worker's start) puts it on the queue."""
    working, when = app.config["REDIS_URL"], datetime(2026, 12, 2, 6, 0, 2, tzinfo=UTC)
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/7"  # nothing listens there
    try:
        assert scheduler.fire("sessions.remind", when)
    finally:
        app.config["REDIS_URL"] = working
    job = db.session.scalar(select(BackgroundJob).where(BackgroundJob.kind == "periodic"))
    assert job.status == JobStatus.QUEUED and job.params == {"task": "sessions.remind"}
    assert not scheduler.fire("sessions.remind", when)  # the slot is this one's: never run twice
    assert jobs.requeue_lost(older_than_seconds=60) == []  # a job just recorded may be being enqueued
    assert jobs.requeue_lost(older_than_seconds=0) == [job.id]
    assert jobs.requeue_lost(older_than_seconds=0) == []  # on the queue now: not put there twice
    finished = run_worker(database_url, real_queue)
    assert finished.returncode == 0, finished.stderr[-2000:]
    db.session.expire_all()
    assert db.session.get(BackgroundJob, job.id).status == JobStatus.FINISHED


@pytest.mark.committing
def test_a_batch_whose_worker_is_killed_on_its_last_attempt_ends_failed_not_running(app, qualification, database_url,
                                                                                    real_queue):
    """SIGKILL (the OOM killer, a host lost) mid-batch on the job's last attempt: RQ's clean-up finds
    it abandoned, and the portal's record says failed with the reason — staff are not left waiting
    for a batch that will never finish."""
    w = certification_world(qualification)
    enrolments = list(w["enrolments"])
    for n in range(5):
        enrolment = enrol(w["session"], make_user(Role.CANDIDATE, first_name=f"Kandydat{n}"))
        validation_decision(enrolment, decided_by=w["chair"])
        enrolments.append(enrolment)
    decisions = certification.decide(w["staff2"], w["session"], [e.id for e in enrolments], True, None)
    job = batch.start(w["staff2"], w["session"], decisions)
    redis = Redis.from_url(REDIS_URL)
    queued = Job.fetch(jobs.queued_id(job.id), connection=redis)
    queued.retries_left = 0  # its last attempt (the earlier ones failed)
    queued.save()
    worker = start_worker(database_url, real_queue)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.scalar(select(func.count(Certificate.id)).where(Certificate.pdf_sha256.is_not(None))) >= 2:
                break
            time.sleep(0.1)
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
    finally:
        if worker.poll() is None:
            worker.kill()
    db.session.expire_all()
    assert db.session.get(BackgroundJob, job.id).status == JobStatus.RUNNING  # killed mid-way
    # The next worker's maintenance, once the job's time is up, handles the abandoned job.
    StartedJobRegistry(queue=Queue(real_queue, connection=redis)).cleanup(timestamp=time.time() + 10 ** 6)
    db.session.expire_all()
    row = db.session.get(BackgroundJob, job.id)
    assert row.status == JobStatus.FAILED and row.finished_at is not None
    # mid-way: a certificate or more counted done, not all (the second PDF may be stored before its step is)
    assert "the worker running the job stopped" in row.last_error and 1 <= row.done < row.total
