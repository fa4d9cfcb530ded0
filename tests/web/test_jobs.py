"""Background jobs: a session's archive with progress and result, retries with back-off, failures shown
to staff, idempotent mail delivery under a retry, and the scheduler's lock against double runs."""
import io
import threading
import zipfile
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from examportal import jobs
from examportal.extensions import db
from examportal.jobs import scheduler
from examportal.mail.services import deliver_queued, queue_mail
from examportal.models import BackgroundJob, JobStatus, OutboxMail, Role, ScheduledRun, ValidationDecision, utcnow
from tests.factories import client_as, enrol, make_institution, make_session, make_user
from tests.web.test_mail import RecordingHandler, free_port


def _decision(enrolment, positive=True, pdf=b"%PDF-1.4 protokol"):
    import hashlib

    decision = ValidationDecision(enrolment_id=enrolment.id, positive=positive, decided_by_id=enrolment.candidate_id,
                                  decided_at=utcnow(), protocol_pdf=pdf, protocol_sha256=hashlib.sha256(pdf).hexdigest(),
                                  justification=None if positive else "Uzasadnienie decyzji negatywnej.")
    db.session.add(decision)
    db.session.commit()
    return decision


@pytest.fixture
def world(app, qualification):
    ic = make_institution("Fundacja Archiwum", qualifications=[qualification])
    session = make_session(ic, qualification, title="Sesja do archiwum")
    staff = make_user((Role.STAFF, ic))
    enrolments = [enrol(session, make_user(Role.CANDIDATE, first_name=name, last_name="Żółć")) for name in ("Anna", "Łucja")]
    decisions = [_decision(enrolments[0]), _decision(enrolments[1], positive=False, pdf=b"%PDF-1.4 drugi")]
    return {"ic": ic, "session": session, "staff": staff, "decisions": decisions}


def test_staff_start_a_session_archive_and_download_it(app, world):
    client = client_as(app, world["staff"])
    response = client.post(f"/jobs/sessions/{world['session'].id}/archive")
    assert response.status_code == 302
    job = db.session.scalar(select(BackgroundJob))
    assert response.headers["Location"].endswith(f"/jobs/{job.id}")
    assert job.status == JobStatus.FINISHED and (job.done, job.total) == (3, 3) and job.percent == 100
    progress = client.get(f"/jobs/{job.id}/progress.json").get_json()
    assert progress["percent"] == 100 and progress["result"].endswith(f"/jobs/{job.id}/result")
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "3 of 3 done" in page and "Download the result" in page
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/jobs/{job.id}/result").data))
    names = sorted(archive.namelist())
    assert len([n for n in names if n.startswith("protokoly/")]) == 2
    assert archive.read(next(n for n in names if n.startswith("protokoly/anna"))) == b"%PDF-1.4 protokol"
    summary = " ".join(PdfReader(io.BytesIO(archive.read("podsumowanie-sesji.pdf"))).pages[0].extract_text().split())
    assert "Sesja do archiwum" in summary and "Łucja Żółć" in summary and "negatywna" in summary


def test_a_protocol_that_does_not_match_its_hash_is_reported_not_archived(app, world):
    world["decisions"][1].protocol_pdf = b"%PDF-1.4 podmieniony"
    db.session.commit()
    job = jobs.start("session_archive", actor=world["staff"], institution_id=world["ic"].id, session_id=world["session"].id)
    assert job.status == JobStatus.FINISHED
    assert job.problems == [{"item": "Łucja Żółć", "error": "the stored protocol does not match its SHA-256"}]
    assert len([n for n in zipfile.ZipFile(io.BytesIO(job.result)).namelist() if n.startswith("protokoly/")]) == 1
    page = client_as(app, world["staff"]).get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "does not match its SHA-256" in page


def test_jobs_are_private_to_their_institution(app, world):
    job = jobs.start("session_archive", actor=world["staff"], institution_id=world["ic"].id, session_id=world["session"].id)
    stranger = client_as(app, make_user((Role.STAFF, make_institution())))
    for path in (f"/jobs/{job.id}", f"/jobs/{job.id}/progress.json", f"/jobs/{job.id}/result"):
        assert stranger.get(path).status_code == 404
    assert stranger.post(f"/jobs/sessions/{world['session'].id}/archive").status_code == 404
    assert "Sesja do archiwum" not in stranger.get("/jobs/").get_data(as_text=True)


# --------------------------------------------------------------------------- retries


@pytest.fixture
def flaky():
    """A job kind that fails its first ``fail`` attempts."""
    calls = {"n": 0, "fail": 0}

    @jobs.kind("test_flaky")
    def flaky_kind(job, progress):
        calls["n"] += 1
        progress.total(1)
        if calls["n"] <= calls["fail"]:
            raise RuntimeError(f"temporary failure {calls['n']}")
        progress.step()

    yield calls
    jobs.KINDS.pop("test_flaky", None)


def test_a_failed_attempt_is_retried(app, flaky):
    flaky["fail"] = 2
    job = jobs.start("test_flaky")
    assert job.status == JobStatus.FINISHED and job.attempts == 3 and flaky["n"] == 3
    assert "temporary failure 2" in job.last_error  # the last error stays on record


def test_a_job_failing_every_attempt_is_shown_to_staff(app, world, flaky):
    flaky["fail"] = 99
    job = jobs.start("test_flaky", institution_id=world["ic"].id)
    assert job.status == JobStatus.FAILED and job.attempts == len(app.config["JOB_RETRY_INTERVALS"]) + 1
    page = client_as(app, world["staff"]).get("/jobs/").get_data(as_text=True)
    assert "failed after every retry" in page and "temporary failure" in page


def test_a_finished_job_delivered_again_does_nothing(app, flaky):
    job = jobs.start("test_flaky")
    jobs.execute(job.id, final=True)  # the queue delivers the message a second time
    assert flaky["n"] == 1 and job.attempts == 1


# --------------------------------------------------------------------------- idempotent mail


def test_a_retried_delivery_never_sends_a_mail_twice(app, monkeypatch):
    from aiosmtpd.controller import Controller

    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False, MAIL_USERNAME=None)
        for n in range(3):
            queue_mail(f"osoba{n}@example.pl", f"Wiadomość {n}", "treść")
        db.session.commit()
        # The first run dies right after the SMTP server took the second message (before it is marked sent).
        import smtplib

        real_send = smtplib.SMTP.send_message
        sent_so_far = {"n": 0}

        def send_then_crash(self, message, *args, **kwargs):
            result = real_send(self, message, *args, **kwargs)
            sent_so_far["n"] += 1
            if sent_so_far["n"] == 2:
                raise ConnectionResetError("worker killed")
            return result

        monkeypatch.setattr(smtplib.SMTP, "send_message", send_then_crash)
        with pytest.raises(ConnectionResetError):
            deliver_queued()
        monkeypatch.setattr(smtplib.SMTP, "send_message", real_send)
        db.session.rollback()
        deliver_queued()  # the retry
        subjects = [m["Subject"] for m in handler.messages]
        assert sorted(subjects) == ["Wiadomość 0", "Wiadomość 1", "Wiadomość 2"]  # each exactly once
        statuses = [m.status for m in db.session.scalars(select(OutboxMail).order_by(OutboxMail.id))]
        assert statuses == ["sent", "sending", "sent"]  # the uncertain one is left for staff, not re-sent
    finally:
        controller.stop()


# --------------------------------------------------------------------------- the scheduler


def test_two_schedulers_never_run_one_slot_twice(app):
    when = datetime(2026, 12, 2, 10, 0, 15, tzinfo=UTC)
    assert scheduler.fire("theory.expire", when) is True
    assert scheduler.fire("theory.expire", when) is False  # the second scheduler, same slot
    assert db.session.scalar(select(func.count()).select_from(BackgroundJob)) == 1
    later = datetime(2026, 12, 2, 10, 1, 15, tzinfo=UTC)
    assert scheduler.fire("theory.expire", later) is True  # the next slot runs
    assert scheduler.fire("audit.checkpoint", when) is True and scheduler.fire("audit.checkpoint", when) is False


@pytest.mark.committing
def test_concurrent_schedulers_claim_a_slot_once(app):
    """Two schedulers firing at the same moment, each with its own connection."""
    outcomes = []
    barrier = threading.Barrier(4)

    def fire():
        with app.app_context():
            barrier.wait()
            outcomes.append(scheduler.claim("mail.deliver", "i42", who=threading.current_thread().name))
            db.session.remove()

    threads = [threading.Thread(target=fire) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == [False, False, False, True]
    assert db.session.scalar(select(func.count()).select_from(ScheduledRun)) == 1


def test_the_schedule_is_checked_at_start_up(app):
    scheduler.check_schedule(app.config["SCHEDULE"])
    with pytest.raises(ValueError, match="unknown task"):
        scheduler.check_schedule({"no.such.task": {"seconds": 5}})
    with pytest.raises(ValueError):
        scheduler.check_schedule({"theory.expire": {"cron": "not a cron"}})


def test_a_periodic_task_runs_as_a_job(app):
    job = jobs.start("periodic", task="theory.expire")
    assert job.status == JobStatus.FINISHED and job.kind == "periodic"
