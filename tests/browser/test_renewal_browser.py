"""Renewal in a real browser: a holder five months before expiry applies with a period of CRM work
and a PDF as evidence (the page counts the days), staff assign an impartial assessor, the assessor
signs the declaration, accepts the evidence, confirms the period it shows and decides positively; the holder then holds a new
certificate valid from the old expiry, and the public verification page shows the chain."""
from __future__ import annotations

from datetime import timedelta

import pytest
from babel.dates import format_date
from playwright.sync_api import expect
from sqlalchemy import select

from examportal.certification import rules as certificate_rules
from examportal.certification.rules import add_years
from examportal.extensions import db
from examportal.models import Certificate, RenewalApplication, Role
from examportal.renewals.rules import add_months
from tests.browser.a11y import Audit
from tests.certtools import certification_world, make_certificate
from tests.factories import EVIDENCE_PDF, expiring, make_user

pytestmark = pytest.mark.browser


def english(day) -> str:
    return format_date(day, "medium", locale="en")


@pytest.fixture
def world(app, qualification):
    w = certification_world(qualification)
    w["holder"] = w["candidates"][0]
    today = certificate_rules.today()
    w["certificate"] = expiring(make_certificate(w["enrolments"][0], w["staff"]), add_months(today, 5))
    w["assessor"] = make_user((Role.ASSESSOR, w["ic"]), first_name="Ewa", last_name="Oceniająca")
    for person in (w["holder"], w["staff"], w["assessor"]):
        person.locale = "en"
    db.session.commit()
    return w


def test_a_holder_renews_five_months_before_expiry(app, new_page, world, tmp_path):
    audit = Audit()
    old = world["certificate"]
    old_number, old_until, issued_on = old.number, old.valid_until, old.issued_on
    yesterday = certificate_rules.today() - timedelta(days=1)
    evidence = tmp_path / "zaswiadczenie-pracodawcy.pdf"
    evidence.write_bytes(EVIDENCE_PDF)

    # The holder: "Renew" on their certificate, a period, the count, a PDF, the declaration.
    holder = new_page(world["holder"])
    holder.goto("/certification/mine")
    holder.locator(f'section[data-number="{old_number}"] a.renew').click()
    expect(holder.locator("h1")).to_have_text(f"Renew certificate {old_number}")
    expect(holder.locator("#covered-days")).to_have_text("0")
    holder.fill("#periods-0-employer", "Hurtownia Części Sp. z o.o.")
    holder.fill("#periods-0-role", "specjalistka ds. obsługi klienta (CRM)")
    holder.fill("#periods-0-starts_on", issued_on.isoformat())
    holder.fill("#periods-0-ends_on", yesterday.isoformat())
    holder.get_by_role("button", name="Count the days covered").click()
    expect(holder.locator("#covered-days")).to_have_text(str((yesterday - issued_on).days + 1))
    expect(holder.locator("#periods-0-employer")).to_have_value("Hurtownia Części Sp. z o.o.")
    audit.check(holder, "renewal application")
    holder.set_input_files("#evidence-0-file", str(evidence))
    holder.fill("#evidence-0-description", "Zaświadczenie pracodawcy o pracy z systemem CRM")
    holder.check("#declaration")
    holder.get_by_role("button", name="Send the application").click()
    holder.wait_for_url("**/renewals/*")
    expect(holder.locator("#renewal-status")).to_have_text("submitted")
    audit.check(holder, "renewal application sent")
    application = db.session.scalar(select(RenewalApplication))
    assert application is not None and application.evidence[0].file.data == EVIDENCE_PDF

    # Staff assign the assessor (the trainer and the committee are offered with their reason).
    staff = new_page(world["staff"])
    staff.goto("/renewals/staff")
    staff.get_by_role("link", name=old_number).click()
    expect(staff.locator("#assessor_id")).to_contain_text("trained the holder")
    staff.select_option("#assessor_id", label="Ewa Oceniająca")
    staff.get_by_role("button", name="Assign").click()
    expect(staff.locator(".flash").first).to_contain_text("Ewa Oceniająca is the assessor")
    audit.check(staff, "renewal for staff")

    # The assessor: the declaration first, then the evidence, accepted; then the decision.
    assessor = new_page(world["assessor"])
    assessor.goto("/renewals/assess")
    assessor.get_by_role("link", name=old_number).click()
    expect(assessor.locator("#declaration")).to_be_visible()
    expect(assessor.locator(".evidence-item")).to_have_count(0)
    audit.check(assessor, "renewal: declaration")
    assessor.check("#confirm")
    assessor.get_by_role("button", name="Sign the declaration").click()
    item = assessor.locator(".evidence-item").first
    expect(item).to_contain_text("Zaświadczenie pracodawcy o pracy z systemem CRM")
    with assessor.expect_download() as download:
        item.locator("h3 a").click()
    assert download.value.suggested_filename == "zaswiadczenie-pracodawcy.pdf"
    item.get_by_label("accepted").check()
    item.get_by_role("button", name="Record the verdict").click()
    expect(assessor.locator(".evidence-item .verdict").first).to_have_text("accepted")
    audit.check(assessor, "renewal: evidence judged")
    period = assessor.locator("#coverage tr[data-period]").first
    period.get_by_label("confirmed by the evidence").check()
    period.get_by_role("button", name="Record the finding").click()
    expect(assessor.locator("#coverage tr[data-period] .badge").first).to_have_text("confirmed by the evidence")
    assessor.locator("#decide").get_by_label("Positive: renew the certificate").check()
    assessor.get_by_role("button", name="Record the decision").click()
    expect(assessor.locator(".flash").first).to_contain_text("Renewed: certificate")
    expect(assessor.locator("#renewal-status")).to_have_text("accepted")

    # The holder: a new certificate, valid from the old expiry (five years after it), not from today.
    renewed = db.session.scalar(select(Certificate).where(Certificate.supersedes_id == old.id))
    assert renewed is not None and renewed.valid_until == add_years(old_until, 5)
    holder.goto("/certification/mine")
    card = holder.locator(f'section[data-number="{renewed.number}"]')
    expect(card).to_contain_text(english(add_years(old_until, 5)))
    expect(card.locator(".renewed-from")).to_contain_text(
        f"Renewal of certificate No. {old_number}: the validity continues from its expiry on {english(old_until)}")
    expect(holder.locator(f'section[data-number="{old_number}"] .status-superseded')).to_be_visible()
    audit.check(holder, "my certificates after renewal")
    # Anyone verifying the new certificate sees the chain.
    holder.goto(f"/verify/{renewed.verification_code}")
    expect(holder.locator("#renewed-from")).to_contain_text(f"Renewed from certificate No. {old_number}")
    holder.goto(f"/verify/{old.verification_code}")
    expect(holder.locator("#renewed-by")).to_contain_text(f"Superseded by a renewal — No. {renewed.number}")
    audit.assert_clean()
