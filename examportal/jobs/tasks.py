"""The job kinds and periodic tasks of the portal."""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import delete, select

from ..extensions import db
from ..models import BackgroundJob, Enrolment, JobStatus, ScheduledRun, ValidationDecision, ValidationSession, utcnow
from ..pdf import render_pdf
from ..renewals.services import send_expiry_reminders
from .core import JobError, Progress, kind
from .scheduler import PERIODIC, periodic

# --------------------------------------------------------------------------- periodic tasks


@kind("periodic")
def run_periodic(job: BackgroundJob, progress: Progress) -> None:
    """A scheduled task: its function by name (see ``SCHEDULE``)."""
    task = str(job.params.get("task"))
    if task not in PERIODIC:
        raise JobError(f"unknown periodic task {task!r}")
    progress.total(1)
    PERIODIC[task]()
    progress.step()


@periodic("theory.expire")
def theory_expire() -> int:
    """Submit every theory attempt whose time is up."""
    from ..theory.services import expire_overdue

    return len(expire_overdue())


@periodic("practical.expire")
def practical_expire() -> int:
    """Close every practical attempt whose time is up."""
    from ..practical.services import expire_overdue

    return len(expire_overdue())


@periodic("mail.deliver")
def mail_deliver() -> tuple[int, int]:
    """Send the outbox (each message is claimed before it is sent, so a retry never sends it twice)."""
    from ..mail.services import deliver_queued

    return deliver_queued()


@periodic("sessions.remind")
def sessions_remind() -> int:
    """Mail enrolled candidates the reminders their institution chose (once per session, candidate and day)."""
    from ..sessions.reminders import send_reminders

    return send_reminders()


@periodic("certificates.remind")
def certificates_remind() -> int:
    """Mail holders the reminder due before their certificate expires (6, 3, 1 month; each once)."""
    return send_expiry_reminders()


@periodic("records.purge")
def records_purge_due() -> int:
    """Anonymise everyone past the retention of their exam records (see records.retention)."""
    from ..records.purge import purge_past_retention

    return purge_past_retention()


@kind("records_purge")
def records_purge(job: BackgroundJob, progress: Progress) -> None:
    """The purge started by hand (``flask records purge``): one step per person, each in its own transaction."""
    from ..records.purge import purge_past_retention

    purge_past_retention(progress, actor=job.created_by)


@periodic("audit.checkpoint")
def audit_checkpoint() -> None:
    """Verify the audit chain and sign its head into the checkpoint file; a broken chain fails the job."""
    from ..audit.services import checkpoint

    report, _written = checkpoint()
    if report.problems:
        raise JobError("the audit chain is not intact: run `flask audit verify`")


@periodic("jobs.cleanup")
def jobs_cleanup() -> int:
    """Forget finished periodic runs after JOBS_KEEP_DAYS (failed ones and started work stay)."""
    cutoff = utcnow() - timedelta(days=int(current_app.config.get("JOBS_KEEP_DAYS", 14)))
    removed = db.session.execute(delete(BackgroundJob).where(
        BackgroundJob.kind == "periodic", BackgroundJob.status == JobStatus.FINISHED,
        BackgroundJob.finished_at < cutoff)).rowcount  # type: ignore[attr-defined]
    db.session.execute(delete(ScheduledRun).where(ScheduledRun.claimed_at < cutoff))
    db.session.commit()
    return int(removed or 0)


# --------------------------------------------------------------------------- a session's archive


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower() or "kandydat"


@kind("session_archive")
def session_archive(job: BackgroundJob, progress: Progress) -> None:
    """Every stored validation protocol of a session (checked against its hash) and a summary PDF, in one zip.

    The protocols are copied as stored, never re-rendered: they are the signed record.
    """
    session = db.session.get(ValidationSession, int(job.params["session_id"]))
    if session is None:
        raise JobError("the session no longer exists")
    decisions = list(db.session.scalars(
        select(ValidationDecision).join(Enrolment, ValidationDecision.enrolment_id == Enrolment.id)
        .where(Enrolment.session_id == session.id).order_by(ValidationDecision.id)))
    progress.total(len(decisions) + 1)
    buffer = io.BytesIO()
    rows = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for decision in decisions:
            candidate = decision.enrolment.candidate
            intact = hashlib.sha256(decision.protocol_pdf).hexdigest() == decision.protocol_sha256
            if intact:
                archive.writestr(f"protokoly/{_slug(candidate.full_name)}-{decision.enrolment_id}.pdf", decision.protocol_pdf)
            else:
                progress.problem(candidate.full_name, "the stored protocol does not match its SHA-256")
            rows.append({"decision": decision, "candidate": candidate, "intact": intact})
            progress.step()
        with force_locale("pl"):
            html = render_template("jobs/session_summary.html", session=session, rows=rows, generated_at=utcnow())
        archive.writestr("podsumowanie-sesji.pdf", render_pdf(html))
    progress.step()
    progress.result(buffer.getvalue(), f"sesja-{session.id}-archiwum.zip", "application/zip")
