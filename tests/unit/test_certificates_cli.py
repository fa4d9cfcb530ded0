"""``flask certificates``: the register, one certificate, its stored PDF and a session's issuing from
the command line; every refusal one line and exit code 1, never a traceback."""
from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from examportal.certification import services
from examportal.extensions import db
from examportal.models import BackgroundJob, Certificate, JobStatus
from tests.certtools import certification_decision, certification_world, make_certificate


@pytest.fixture
def world(app, qualification):
    world = certification_world(qualification)
    world["certificate"] = make_certificate(world["enrolments"][0], world["staff"])
    return world


def invoke(runner, *args: str):
    return runner.invoke(args=["certificates", *args])


def refused(result, *words: str) -> str:
    """The command stopped with exit code 1 and a one-line message (no traceback) naming ``words``."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output
    return result.output


def test_every_command_has_help(runner):
    for command in ("list", "show", "pdf", "issue-session"):
        result = invoke(runner, command, "--help")
        assert result.exit_code == 0, result.output
        assert "Usage:" in result.output


# --------------------------------------------------------------------------- list


def test_list_prints_the_register(runner, world):
    certificate = world["certificate"]
    result = invoke(runner, "list")
    assert result.exit_code == 0, result.output
    line = next(row for row in result.output.splitlines() if row.startswith(certificate.number))
    assert line.split() == [certificate.number, "Łucja", "Żółkiewska", certificate.issued_on.isoformat(),
                            certificate.valid_until.isoformat(), "valid"]
    assert result.output.rstrip().endswith("1 certificate(s)")


def test_list_filters_by_status_institution_and_coming_expiry(runner, world):
    number = world["certificate"].number
    assert number in invoke(runner, "list", "--status", "valid").output
    assert number in invoke(runner, "list", "--institution", "VCC").output
    assert number in invoke(runner, "list", "--institution", "VCC-O").output  # as the validating institution
    days_left = (world["certificate"].valid_until - services.rules.today()).days
    assert number in invoke(runner, "list", "--expiring-within", str(days_left)).output
    assert number not in invoke(runner, "list", "--expiring-within", str(days_left - 1)).output

    services.change_status(world["staff"], world["certificate"], "suspend", "Wyjaśnianie dokumentów.")
    assert number not in invoke(runner, "list", "--status", "valid").output
    result = invoke(runner, "list", "--status", "suspended")
    assert number in result.output and result.output.splitlines()[1].endswith("suspended")


def test_list_refuses_an_unknown_status_or_institution(runner, world):
    refused(invoke(runner, "list", "--status", "cancelled"), "unknown status 'cancelled'", "superseded")
    refused(invoke(runner, "list", "--institution", "NOPE"), "no institution with the short name 'NOPE'", "VCC")


def test_an_empty_register_is_not_an_error(runner, app):
    result = invoke(runner, "list")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0 certificate(s)"


# --------------------------------------------------------------------------- show


def test_show_prints_the_certificate_without_the_full_pesel(runner, world):
    certificate = world["certificate"]
    holder = world["candidates"][0]
    result = invoke(runner, "show", certificate.number.lower())  # any letter case
    assert result.exit_code == 0, result.output
    for text in (certificate.number, "Łucja Żółkiewska", certificate.pdf_sha256,
                 certificate.content_sha256, certificate.verification_code, "Fundacja VCC", "valid"):
        assert text in result.output
    assert certificate.holder_pesel_masked in result.output
    assert holder.pesel not in result.output
    assert invoke(runner, "show", "--", certificate.verification_code).output == result.output


def test_show_prints_the_chain_of_a_corrected_certificate(runner, world):
    old = world["certificate"]
    new = services.correct(world["staff"], old, first_name="Łucja", last_name="Żółkiewska-Nowak",
                           birth_date=old.holder_birth_date, reason="Zmiana nazwiska po ślubie.")
    result = invoke(runner, "show", old.number)
    assert result.exit_code == 0, result.output
    assert "superseded" in result.output and "corrected: Zmiana nazwiska po ślubie." in result.output
    chain = result.output.split("chain (oldest first):", 1)[1].splitlines()
    assert [line.split()[:2] for line in chain if line.strip()] == [["*", old.number], [new.number, "issued"]]


def test_show_refuses_an_unknown_number(runner, world):
    refused(invoke(runner, "show", "VCC/13881/2020/999999"), "no certificate numbered 'VCC/13881/2020/999999'")
    refused(invoke(runner, "show", "nonsense"), "no certificate numbered 'nonsense'")


# --------------------------------------------------------------------------- pdf


def test_pdf_writes_the_stored_file_as_issued(runner, world, tmp_path):
    certificate = world["certificate"]
    stored = db.session.scalar(select(Certificate.pdf).where(Certificate.id == certificate.id))
    target = tmp_path / "certyfikat.pdf"
    result = invoke(runner, "pdf", certificate.number, "--output", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == stored
    assert hashlib.sha256(target.read_bytes()).hexdigest() == certificate.pdf_sha256
    assert certificate.pdf_sha256 in result.output


def test_pdf_never_overwrites_a_file_without_force(runner, world, tmp_path):
    target = tmp_path / "certyfikat.pdf"
    target.write_bytes(b"keep me")
    refused(invoke(runner, "pdf", world["certificate"].number, "--output", str(target)), "exists", "--force")
    assert target.read_bytes() == b"keep me"
    result = invoke(runner, "pdf", world["certificate"].number, "--output", str(target), "--force")
    assert result.exit_code == 0, result.output
    assert target.read_bytes().startswith(b"%PDF")


def test_pdf_refuses_an_unknown_number_or_a_pdf_that_does_not_match_its_hash(runner, world, tmp_path):
    target = tmp_path / "x.pdf"
    refused(invoke(runner, "pdf", "VCC/13881/2020/999999", "--output", str(target)), "no certificate numbered")
    world["certificate"].pdf = b"%PDF-1.7 podmieniony"
    db.session.commit()
    refused(invoke(runner, "pdf", world["certificate"].number, "--output", str(target)), "does not match the SHA-256")
    assert not target.exists()


# --------------------------------------------------------------------------- issue-session


def test_issue_session_runs_the_batch_for_decisions_without_a_certificate(runner, world, tmp_path):
    session = world["session"]
    decisions = [certification_decision(e, world["staff"]) for e in world["enrolments"][1:]]
    archive = tmp_path / "sesja.zip"
    result = invoke(runner, "issue-session", str(session.id), "--zip", str(archive))
    assert result.exit_code == 0, result.output

    job = db.session.scalar(select(BackgroundJob).where(BackgroundJob.kind == "certificate_batch"))
    assert job.status == JobStatus.FINISHED and job.params["decision_ids"] == [d.id for d in decisions]
    assert f"job {job.id} finished: 2 certificate(s) issued" in result.output
    assert f"/jobs/{job.id}/result" in result.output
    issued = [services.issued_for(d) for d in decisions]
    assert all(c is not None and c.pdf_sha256 for c in issued)
    assert all(c.issued_by_id is None for c in issued)  # no one signed in: issued by the system
    with zipfile.ZipFile(io.BytesIO(archive.read_bytes())) as package:
        assert sum(name.endswith(".pdf") for name in package.namelist()) == 2
    assert archive.read_bytes() == job.result

    refused(invoke(runner, "issue-session", str(session.id)), "nothing to issue", f"session #{session.id}")


def test_issue_session_finishes_a_certificate_numbered_without_its_pdf(runner, world):
    decision = certification_decision(world["enrolments"][1], world["staff"])
    certificate = services.issue_certificate(decision, world["staff"])  # a batch stopped before rendering
    assert certificate.pdf_sha256 is None
    result = invoke(runner, "issue-session", str(world["session"].id))
    assert result.exit_code == 0, result.output
    db.session.refresh(certificate)
    assert certificate.pdf_sha256 is not None
    assert services.issued_for(decision).id == certificate.id  # the same number, never a second one


def test_issue_session_refuses_an_unknown_session_nothing_to_issue_or_an_existing_zip(runner, world, tmp_path):
    refused(invoke(runner, "issue-session", "999999"), "no validation session #999999")
    refused(invoke(runner, "issue-session", str(world["session"].id)), "nothing to issue")
    certification_decision(world["enrolments"][1], world["staff"], positive=False)
    refused(invoke(runner, "issue-session", str(world["session"].id)), "nothing to issue")

    certification_decision(world["enrolments"][2], world["staff"])
    existing = tmp_path / "sesja.zip"
    existing.write_bytes(b"keep me")
    refused(invoke(runner, "issue-session", str(world["session"].id), "--zip", str(existing)), "exists")
    assert existing.read_bytes() == b"keep me"
    assert db.session.scalar(select(BackgroundJob.id)) is None  # refused before anything was issued


def test_a_certificate_expired_by_date_is_listed_as_expired(runner, world):
    certificate = world["certificate"]
    certificate.issued_on -= timedelta(days=6 * 366)
    certificate.valid_until -= timedelta(days=6 * 366)
    db.session.commit()
    assert certificate.number in invoke(runner, "list", "--status", "expired").output
    assert "expired" in invoke(runner, "show", certificate.number).output
