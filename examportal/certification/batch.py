"""Issuing a session's certificates as a background job: one PDF per certificate (and every file
registered in :mod:`.hooks`) and a ZIP of them.

The job is idempotent (a retry runs it all again): each certificate is numbered once per decision
(:func:`services.issue_certificate` finds it on a retry), rendered and mailed once
(:func:`services.render_issued`), and the ZIP is rebuilt from the stored PDFs. The ZIP is built in
a spooled temporary file, one PDF at a time, so a large batch is not held in memory as PDFs.
"""
from __future__ import annotations

import csv
import io
import re
import tempfile
import unicodedata
import zipfile
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..jobs import JobError, Progress, kind
from ..models import BackgroundJob, CertificationDecision, User, ValidationSession
from ..theory.statistics import safe_cell
from . import hooks, services

SPOOL_BYTES = 16 * 1024 * 1024


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-").lower() or "certyfikat"


def pdf_name(number: str, holder: str) -> str:
    """``VCC-13881-2026-000123-anna-zolc.pdf``: the number first, so the files sort by number."""
    return f"{_slug(number).upper()}-{_slug(holder)}.pdf"


def start(actor: User, session: ValidationSession, decisions: list[CertificationDecision]) -> BackgroundJob:
    """Put the issuing of the certificates of ``decisions`` (positive ones) on the job queue."""
    from .. import jobs

    return jobs.start("certificate_batch", actor=actor, institution_id=session.institution_id, session_id=session.id,
                      decision_ids=[d.id for d in decisions if d.positive])


@kind("certificate_batch")
def certificate_batch(job: BackgroundJob, progress: Progress) -> None:
    """Issue (number, render, mail) the certificate of every decision of the job, then zip their PDFs.

    A decision whose certificate is refused (:func:`services.issue_certificate`: its validation
    corrected to negative since it was taken) is reported as the job's problem; the others are issued."""
    session = db.session.get(ValidationSession, int(job.params["session_id"]))
    if session is None:
        raise JobError("the session no longer exists")
    decision_ids = [int(i) for i in job.params.get("decision_ids", [])]
    actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
    progress.total(len(decision_ids) + 1)
    rows: list[list[Any]] = []
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            for decision_id in decision_ids:
                decision = db.session.scalar(select(CertificationDecision).where(CertificationDecision.id == decision_id))
                if decision is None or not decision.positive or decision.enrolment.session_id != session.id:
                    progress.problem(f"#{decision_id}", "not a positive certification decision of this session")
                    progress.step()
                    continue
                try:
                    issued = services.issue_certificate(decision, actor)
                except services.CertificationError as refused:  # e.g. the validation corrected to negative since
                    db.session.rollback()
                    progress.problem(f"#{decision_id}", str(refused))
                    progress.step()
                    continue
                certificate = services.render_issued(issued, actor)
                data = certificate.pdf
                if data is None:  # render_issued stores it or raises
                    raise JobError(f"certificate {certificate.number} has no PDF")
                name = pdf_name(certificate.number, certificate.holder_name)
                archive.writestr(name, data)
                for suffix, extra in hooks.artifacts_for(certificate):  # e.g. the Open Badges credential
                    archive.writestr(name.removesuffix(".pdf") + suffix, extra)
                rows.append([certificate.number, certificate.holder_first_name, certificate.holder_last_name,
                             certificate.issued_on.isoformat(), certificate.valid_until.isoformat(), certificate.pdf_sha256])
                db.session.expire(certificate, ["pdf"])  # let the bytes go before the next one
                progress.step()
            archive.writestr("certyfikaty.csv", _index(rows))
        progress.step()
        spool.seek(0)
        progress.result(spool.read(), f"sesja-{session.id}-certyfikaty.zip", "application/zip")


def _index(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL)
    writer.writerow(["numer", "imie", "nazwisko", "data_wydania", "wazny_do", "sha256_pdf"])
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
    return "\ufeff" + out.getvalue()
