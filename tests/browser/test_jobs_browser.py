"""Staff start a bulk job for a session, watch its progress reach 100 % and download the result.

The job goes through the real queue (Redis) and a worker process, started once the page shows
the job waiting; the page refreshes itself until the job is done.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from examportal.extensions import db
from examportal.models import Role, ValidationDecision, utcnow
from tests.factories import enrol, make_institution, make_session, make_user
from tests.jobtools import run_worker

pytestmark = pytest.mark.browser


@pytest.fixture
def archive_world(app, qualification, real_queue):
    ic = make_institution(qualifications=[qualification])
    session = make_session(ic, qualification, title="Sesja z archiwum")
    for name in ("Anna", "Bogdan"):
        enrolment = enrol(session, make_user(Role.CANDIDATE, first_name=name))
        pdf = f"%PDF-1.4 {name}".encode()
        db.session.add(ValidationDecision(enrolment_id=enrolment.id, positive=True, decided_by_id=enrolment.candidate_id,
                                          decided_at=utcnow(), protocol_pdf=pdf, protocol_sha256=hashlib.sha256(pdf).hexdigest()))
    db.session.commit()
    return {"session": session, "staff": make_user((Role.STAFF, ic), locale="en")}


def test_staff_follow_a_session_archive_to_its_download(new_page, archive_world, database_url, real_queue):
    page = new_page(archive_world["staff"])
    page.goto(f"/sessions/{archive_world['session'].id}")
    page.get_by_role("button", name="Prepare the session archive").click()
    page.wait_for_url("**/jobs/*")
    expect(page.locator("#job-status")).to_have_text("waiting")
    expect(page.locator("#job-percent")).to_have_text("0")
    finished = run_worker(database_url, real_queue)
    assert finished.returncode == 0, finished.stderr[-2000:]
    # The page refreshes itself until the job is done.
    expect(page.locator("#job-percent")).to_have_text("100", timeout=20000)
    expect(page.locator("#job-status")).to_have_text("finished")
    with page.expect_download() as download_info:
        page.locator("#job-result").click()
    archive = zipfile.ZipFile(io.BytesIO(Path(download_info.value.path()).read_bytes()))
    assert len([n for n in archive.namelist() if n.startswith("protokoly/")]) == 2
    assert "podsumowanie-sesji.pdf" in archive.namelist()
