"""A job through the real queue: Redis, and a worker process started with ``flask jobs worker``.

The worker is a separate process on the same test database (SQLite file or PostgreSQL), so the
test commits; a failing job is retried by RQ and ends failed with its error on record.
"""
import pytest
from sqlalchemy import select

from examportal import jobs
from examportal.extensions import db
from examportal.models import BackgroundJob, JobStatus, Role
from tests.factories import enrol, make_institution, make_session, make_user
from tests.jobtools import run_worker


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
