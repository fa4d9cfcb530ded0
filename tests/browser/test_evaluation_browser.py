"""The internal evaluation in a real browser, on the demo data: the demo staff member sees on their
desk that the qualification was never evaluated, makes an evaluation of the last 30 days, and
downloads its PDF, which holds the demo session's figures."""
from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader
from sqlalchemy import select

from examportal.certification.rules import today
from examportal.demo import DEMO_PASSWORD, load_demo
from examportal.extensions import db
from examportal.models import EvaluationReport, User
from tests.browser.a11y import Audit
from tests.browser.conftest import pass_second_step

pytestmark = pytest.mark.browser

STAFF = "staff.vcc@demo.examportal.pl"


def test_demo_staff_make_an_evaluation_and_download_its_pdf(app, browser, live_server, tmp_path):
    load_demo()
    # The command's simulation takes seconds; the page's behaviour is the same with a short one.
    app.config.update(EVALUATION_RELIABILITY_FORMS=5, EVALUATION_RELIABILITY_TRIALS=400)
    staff = db.session.scalar(select(User).where(User.email == STAFF))
    context = browser.new_context(base_url=live_server.url, locale="en-GB", accept_downloads=True)
    context.set_default_timeout(30000)
    page = context.new_page()
    audit = Audit()
    try:
        page.goto("/auth/login")
        page.fill("input[name=email]", STAFF)
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: "/auth/login" not in url)
        pass_second_step(page, staff)
        # The demo account has no language set: the portal speaks Polish until one switches.
        page.locator('button[lang="en"]').click()
        expect(page.locator("html")).to_have_attribute("lang", "en")

        page.goto("/dashboard")
        expect(page.locator('#evaluation-due tr[data-qualification="13881"]').first).to_have_attribute("data-state", "never")
        page.get_by_role("link", name="Internal evaluations").click()
        page.get_by_role("link", name="Make a new evaluation").click()
        audit.check(page, "new evaluation")
        page.select_option("#institution_id", label="Fundacja VCC")
        page.select_option("#qualification_id", index=0)
        # A period ending in the future is refused with the reason, and what was typed stays.
        page.fill("#period_from", (today() - timedelta(days=30)).isoformat())
        page.fill("#period_to", (today() + timedelta(days=1)).isoformat())
        page.get_by_role("button", name="Make the evaluation").click()
        expect(page.locator("#period_to-error")).to_contain_text("cannot end in the future")
        expect(page.locator("#period_from")).to_have_value((today() - timedelta(days=30)).isoformat())
        page.fill("#period_to", today().isoformat())
        page.get_by_role("button", name="Make the evaluation").click()
        page.wait_for_url("**/reports/evaluations/*")
        expect(page.locator('[data-figure="enrolled"]')).to_have_text("1")
        expect(page.locator('[data-figure="positive"]')).to_have_text("1")
        audit.check(page, "evaluation report")

        with page.expect_download() as download_info:
            page.locator("#download-pdf").click()
        data = Path(download_info.value.path()).read_bytes()
        assert data.startswith(b"%PDF")
        (tmp_path / "evaluation.pdf").write_bytes(data)
        text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
        assert "Internal evaluation of the qualification 13881" in text
        assert "Fundacja VCC" in text and "Sesja walidacyjna CRM — demo, zakończona" in text
        report = db.session.scalar(select(EvaluationReport).order_by(EvaluationReport.id.desc()))
        assert report is not None and report.figures["candidates"]["positive"] == 1
        assert download_info.value.suggested_filename == f"ewaluacja-{report.id}.pdf"

        # The evaluators complete it; the desk then says when the next one is due.
        page.fill("#conclusions", "Walidacja przebiega zgodnie z opisem kwalifikacji.")
        page.fill("#actions", "Przegląd banku pytań przed następną sesją.")
        page.get_by_role("button", name="Complete the evaluation").click()
        expect(page.locator("#evaluation-state")).to_contain_text("completed")
        page.goto("/dashboard")
        expect(page.locator('#evaluation-due tr[data-qualification="13881"]').first).to_have_attribute("data-state", "ok")
        audit.assert_clean()
    finally:
        context.close()
