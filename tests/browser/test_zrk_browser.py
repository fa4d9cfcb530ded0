"""The quarterly ZRK report in a real browser, on the demo data: the demo staff member of VCC opens
the report from their desk, asks for the current quarter (the demo certificate is issued today)
and downloads the CSV and the PDF."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from examportal.certification.rules import WARSAW, today
from examportal.demo import CERTIFIED, DEMO_PASSWORD, FINISHED_SESSION, load_demo
from examportal.extensions import db
from examportal.models import Certificate, User, ValidationSession
from examportal.reports.zrk import Quarter
from tests.browser.a11y import Audit
from tests.browser.conftest import pass_second_step

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app):
    load_demo()
    staff = db.session.scalar(select(User).where(User.email == "staff.vcc@demo.examportal.pl"))
    staff.locale = "en"
    db.session.commit()
    return staff


def test_demo_staff_download_the_quarterly_report(app, new_page, demo):
    quarter = Quarter.containing(today())
    holder = db.session.scalar(select(User).where(User.email == CERTIFIED))
    certificate = db.session.scalar(select(Certificate).where(Certificate.holder_id == holder.id))
    assert Quarter.containing(certificate.issued_on) == quarter
    # The demo's candidates have no fee recorded: the finished session's (two weeks ago) and the
    # coming session's (tomorrow) count where their session starts, this quarter or not.
    sessions = db.session.scalars(select(ValidationSession).where(ValidationSession.title.in_(
        [FINISHED_SESSION, "Sesja walidacyjna CRM — demo"])))
    fee_not_recorded = str(sum(len(s.enrolments) for s in sessions
                               if Quarter.containing(s.starts_at.astimezone(WARSAW).date()) == quarter))

    page = new_page()
    page.goto("/auth/login")
    page.fill("input[name=email]", demo.email)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/auth/login" not in url)
    pass_second_step(page, demo)
    page.goto("/dashboard")
    page.get_by_role("link", name="Quarterly report to the ZRK").click()
    expect(page.locator("h1")).to_have_text("Quarterly report to the ZRK")
    expect(page.locator("#quarter")).to_have_value(str(Quarter.last_finished()))
    Audit().check(page, "the quarterly ZRK report")

    page.fill("#quarter", str(quarter).lower())
    page.get_by_role("button", name="Show").click()
    row = page.locator('#zrk tr[data-qualification="13881"]')
    expect(row.locator('td[data-column="documents_issued"]')).to_have_text("1")
    expect(row.locator('td[data-column="originals"]')).to_have_text("1")
    expect(row.locator('td[data-column="not_recorded"]')).to_have_text(fee_not_recorded)
    expect(page.locator("#zrk-notes li").first).to_contain_text("is not over yet")

    with page.expect_download() as download_info:
        page.locator("#zrk-csv").click()
    assert download_info.value.suggested_filename == f"zrk-VCC-{quarter}.csv"
    text = Path(download_info.value.path()).read_text(encoding="utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    figures = dict(zip(rows[0], rows[1], strict=True))
    assert figures["Qualification code"] == "13881"
    assert figures["Documents issued (originals + renewals)"] == "1" and figures["Original certificates"] == "1"
    assert figures["Fee not recorded"] == fee_not_recorded and figures["Average fee (PLN)"] == "\u2014"
    assert ["Certifying institution", "Fundacja VCC"] in rows

    with page.expect_download() as download_info:
        page.locator("#zrk-pdf").click()
    assert download_info.value.suggested_filename == f"zrk-VCC-{quarter}.pdf"
    data = Path(download_info.value.path()).read_bytes()
    assert data.startswith(b"%PDF")
    pdf = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
    assert "Fundacja VCC" in pdf and str(quarter) in pdf and "How the figures are counted" in pdf
    assert "Duplicates are NOT counted as newly issued documents" in pdf
