"""``flask certificates``: the register, one certificate and its stored PDF, and issuing a session's
certificates (the ``certificate_batch`` job) from the command line.

Read-only but for ``issue-session``, which starts the same job as the session's certification page.
Refusals are :class:`click.ClickException` (a one-line message, exit code 1), never a traceback.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import (
    BackgroundJob,
    Certificate,
    CertificateStatus,
    CertificationDecision,
    Enrolment,
    Institution,
    JobStatus,
    ValidationSession,
)
from ..renewals.services import send_expiry_reminders
from ..security import public_url
from . import rules, services

certificates_cli = AppGroup("certificates", help="Issued certificates: the register, one certificate, its PDF, a session's issuing.")

STATUSES = [status.value for status in CertificateStatus]


def _certificate(number: str) -> Certificate:
    """The certificate with this number (any letter case) or verification code."""
    certificate = services.find(number)
    if certificate is None:
        raise click.ClickException(f"no certificate numbered {number!r} (give a number such as VCC/13881/2026/000001, "
                                   "or a verification code)")
    return certificate


def _institution_ids(short_name: str | None) -> list[int]:
    if short_name is None:
        return list(db.session.scalars(select(Institution.id)))
    institution = db.session.scalar(select(Institution).where(Institution.short_name == short_name))
    if institution is None:
        known = ", ".join(db.session.scalars(select(Institution.short_name).order_by(Institution.short_name)))
        raise click.ClickException(f"no institution with the short name {short_name!r}; known: {known or 'none'}")
    return [institution.id]


@certificates_cli.command("list")
@click.option("--institution", "short_name", metavar="SHORT",
              help="Only this institution's certificates, as issuer or validating institution (its short name, e.g. VCC).")
@click.option("--status", metavar="|".join(STATUSES), help="Only certificates in this status today.")
@click.option("--expiring-within", "days", type=click.IntRange(min=0), metavar="DAYS",
              help="Only valid certificates whose validity ends within DAYS days.")
def list_certificates(short_name: str | None, status: str | None, days: int | None) -> None:
    """The register: number, holder, issued, valid until and today's status, newest first."""
    if status is not None and status not in STATUSES:
        raise click.ClickException(f"unknown status {status!r}; choose one of: {', '.join(STATUSES)}")
    query = services.register_query(_institution_ids(short_name),
                                    services.RegisterFilter(status=status, expiring_within_days=days))
    today = rules.today()
    count = 0
    for certificate in db.session.scalars(query):
        if count == 0:
            click.echo(f"{'number':<32} {'holder':<32} {'issued':<10}  {'valid until':<11} status")
        click.echo(f"{certificate.number:<32} {certificate.holder_name:<32} {certificate.issued_on.isoformat():<10}  "
                   f"{certificate.valid_until.isoformat():<11} {certificate.status_on(today).value}")
        count += 1
    click.echo(f"{count} certificate(s)")


@certificates_cli.command("remind")
def remind() -> None:
    """Mail holders the expiry reminder due today (6, 3 and 1 month before the last valid day).

    Each reminder goes once per certificate, however often this runs (the scheduler runs it daily
    as ``certificates.remind``); a certificate found late gets only the most recent reminder due.
    """
    click.echo(f"{send_expiry_reminders()} reminder(s) queued")


@certificates_cli.command("show")
@click.argument("number")
def show(number: str) -> None:
    """One certificate: its data as issued, today's status, its chain of corrections and the PDF's SHA-256."""
    certificate = _certificate(number)
    content = certificate.content
    today = rules.today()
    validating = content.get("validating_institution")
    rows = [
        ("number", certificate.number),
        ("status", certificate.status_on(today).value
         + (f" since {certificate.state_changed_at:%Y-%m-%d}: {certificate.state_reason}" if certificate.state_reason else "")),
        ("holder", certificate.holder_name),
        ("born", certificate.holder_birth_date.isoformat() if certificate.holder_birth_date else "—"),
        ("PESEL", certificate.holder_pesel_masked or "—"),
        ("qualification", f"{content['qualification']['code']} {content['qualification']['name']['pl']}"),
        ("issuer", content["institution"]["name"]),
        ("validated by", validating["name"] if validating else "—"),
        ("validated on", content.get("validated_on") or "—"),
        ("session", f"#{certificate.enrolment.session_id} {certificate.enrolment.session.title}"),
        ("issued", certificate.issued_on.isoformat()),
        ("valid until", certificate.valid_until.isoformat()),
        ("verification", content["verification_url"]),
        ("content SHA-256", certificate.content_sha256),
        ("PDF SHA-256", certificate.pdf_sha256 or "not rendered yet"),
    ]
    for label, value in rows:
        click.echo(f"{label + ':':<17}{value}")
    for event in certificate.events:
        click.echo(f"{'event:':<17}{event.at:%Y-%m-%d} {event.kind.value}: {event.reason}")
    for duplicate in certificate.duplicates:
        click.echo(f"{'duplicate:':<17}{duplicate.issued_on.isoformat()} PDF SHA-256 {duplicate.pdf_sha256}")
    chain = services.chain(certificate)
    if len(chain) > 1:
        click.echo("chain (oldest first):")
        for link in chain:
            marker = "*" if link.id == certificate.id else " "
            click.echo(f"  {marker} {link.number:<32} issued {link.issued_on.isoformat()}  {link.status_on(today).value}")


@certificates_cli.command("pdf")
@click.argument("number")
@click.option("--output", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Where to write the PDF.")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
def write_pdf(number: str, output: Path, force: bool) -> None:
    """Write the certificate's PDF exactly as issued (the stored file, not a reprint)."""
    certificate = _certificate(number)
    data = db.session.scalar(select(Certificate.pdf).where(Certificate.id == certificate.id))
    if data is None or certificate.pdf_sha256 is None:
        raise click.ClickException(f"certificate {certificate.number} has no PDF yet: its issuing job has not rendered it "
                                   f"(run `flask certificates issue-session {certificate.enrolment.session_id}`)")
    digest = hashlib.sha256(data).hexdigest()
    if digest != certificate.pdf_sha256:
        raise click.ClickException(f"the stored PDF of {certificate.number} does not match the SHA-256 recorded at issue "
                                   f"({digest} ≠ {certificate.pdf_sha256}): nothing written")
    _write(output, data, force)
    click.echo(f"written {output}: {certificate.number}, {len(data)} bytes, SHA-256 {digest}")


def _write(output: Path, data: bytes, force: bool) -> None:
    try:
        with output.open("wb" if force else "xb") as file:  # "x": never replace a file by accident
            file.write(data)
    except FileExistsError:
        raise click.ClickException(f"{output} exists: choose another file or add --force to overwrite it") from None
    except OSError as error:
        raise click.ClickException(f"cannot write {output}: {error.strerror}") from None


def _awaiting(session: ValidationSession) -> list[CertificationDecision]:
    """Positive certification decisions of the session whose certificate is missing or not rendered."""
    query = (select(CertificationDecision)
             .join(Enrolment, CertificationDecision.enrolment_id == Enrolment.id)
             .outerjoin(Certificate, Certificate.decision_id == CertificationDecision.id)
             # No certificate row, or one numbered by a batch that stopped before its PDF.
             .where(Enrolment.session_id == session.id, CertificationDecision.positive, Certificate.pdf_sha256.is_(None))
             .order_by(CertificationDecision.id))
    return list(db.session.scalars(query))


@certificates_cli.command("issue-session")
@click.argument("session_id", type=int)
@click.option("--zip", "zip_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the ZIP of the PDFs here once the job has finished (never overwritten).")
def issue_session(session_id: int, zip_path: Path | None) -> None:
    """Issue the certificates of SESSION_ID's positive certification decisions that have none yet.

    Starts the session's ``certificate_batch`` job (numbers, PDFs, every file issued with them, mail
    to the holders and a ZIP of the PDFs). Without REDIS_URL it runs now; otherwise a worker runs it.
    """
    from .. import jobs

    session = db.session.get(ValidationSession, session_id)
    if session is None:
        raise click.ClickException(f"no validation session #{session_id}")
    if zip_path is not None and zip_path.exists():  # refused before anything is issued
        raise click.ClickException(f"{zip_path} exists: choose another file for --zip")
    decisions = _awaiting(session)
    if not decisions:
        raise click.ClickException(f"nothing to issue: session #{session.id} has no positive certification decision "
                                   "without its certificate (decisions are taken on the session's certification page)")
    # The command acts for no signed-in person: the audit trail records the issuing as the system's.
    job: BackgroundJob = jobs.start("certificate_batch", actor=None, institution_id=session.institution_id,
                                    session_id=session.id, decision_ids=[d.id for d in decisions])
    db.session.refresh(job)
    page = public_url("jobs.detail", job_id=job.id)
    for problem in job.problems:
        click.echo(f"problem {problem['item']}: {problem['error']}", err=True)
    if job.status == JobStatus.FAILED:
        raise click.ClickException(f"job {job.id} failed: {job.last_error}")
    if job.status != JobStatus.FINISHED:
        click.echo(f"job {job.id} {job.status.value}: {len(decisions)} certificate(s) for session #{session.id}; "
                   f"a worker (`flask jobs worker`) issues them. Follow it at {page}")
        if zip_path is not None:
            click.echo(f"not written: {zip_path} (the ZIP exists once the worker has finished; download it from that page)")
        return
    click.echo(f"job {job.id} finished: {len(decisions)} certificate(s) issued for session #{session.id}")
    click.echo(f"ZIP {job.result_name} ({len(job.result or b'')} bytes) stored with the job: "
               f"{public_url('jobs.result', job_id=job.id)} (see {page})")
    if zip_path is not None and job.result is not None:
        _write(zip_path, job.result, force=False)
        click.echo(f"ZIP written to {zip_path}")
