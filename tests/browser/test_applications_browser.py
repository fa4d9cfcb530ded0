"""Applications in a real browser: a candidate finds a published session from their desk and
applies; staff accept it on the session's page and the candidate sees the session's date (Warsaw
time) under "My applications"; a second candidate is rejected and sees the reason and how to
appeal. Every page on the way is checked for serious accessibility problems."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask_babel import force_locale
from playwright.sync_api import expect
from sqlalchemy import select

from examportal.extensions import db
from examportal.i18n import local_datetime
from examportal.models import Application, ApplicationStatus, Role
from tests.browser.a11y import Audit
from tests.factories import make_applicant, make_application, make_institution, make_published_session, make_user

pytestmark = pytest.mark.browser

REASON = "Brak zaświadczenia o wykształceniu wymaganego w regulaminie."


@pytest.fixture
def world(app, qualification):
    ic = make_institution("Fundacja Naboru", qualifications=[qualification], city="Kraków", address="ul. Rynek 1")
    staff = make_user((Role.STAFF, ic), first_name="Stefan", last_name="Kadrowy", locale="en")
    session = make_published_session(ic, qualification, title="Sesja walidacyjna — styczeń", capacity=5,
                                      starts_at=datetime(2027, 1, 20, 8, 30, tzinfo=UTC),
                                      registration_deadline=datetime(2027, 1, 13, 22, 59, tzinfo=UTC),
                                      fee_pln=Decimal("450.00"), place="Kraków, ul. Rynek 1, sala 4")
    first = make_applicant(first_name="Zofia", last_name="Żółkiewska", locale="en")
    second = make_applicant(first_name="Tadeusz", last_name="Odrzucony", locale="en")
    db.session.commit()
    return {"staff": staff, "session": session, "first": first, "second": second}


def test_apply_accept_and_reject_in_the_browser(app, new_page, world):
    audit = Audit()
    session = world["session"]

    # The candidate finds the session from their desk and applies.
    candidate = new_page(world["first"])
    candidate.goto("/dashboard")
    candidate.get_by_role("link", name="Sessions open for applications").click()
    expect(candidate.locator("h1")).to_have_text("Sessions open for applications")
    row = candidate.locator(f'tr[data-session="{session.id}"]')
    expect(row).to_contain_text("450.00 zł")
    audit.check(candidate, "sessions open for applications")
    row.get_by_role("link", name=f"Apply for {session.title}").click()
    expect(candidate.locator("#identity")).to_contain_text("Zofia Żółkiewska")
    audit.check(candidate, "the application form")
    candidate.get_by_label("My data shown above is correct.").check()
    candidate.get_by_label("I have read the information on the processing of personal data (RODO) above.").check()
    candidate.get_by_label("I consent to the processing of my personal data", exact=False).check()
    candidate.get_by_label("I know the rules of the validation", exact=False).check()
    candidate.get_by_label("Extra time for the theory test (minutes)").fill("20")
    candidate.get_by_label("A larger font").check()
    candidate.get_by_role("button", name="Submit the application").click()
    candidate.wait_for_url("**/applications/mine")
    expect(candidate.locator(".flash").first).to_contain_text("Your application has been submitted")
    expect(candidate.locator("section.application .status")).to_have_text("waiting for the formal check")
    audit.check(candidate, "my applications (submitted)")

    first = db.session.scalar(select(Application).where(Application.candidate_id == world["first"].id))
    second = make_application(session, world["second"])

    # Staff accept the first on the session's page (the request comes filled in) and reject the second.
    staff = new_page(world["staff"])
    staff.goto(f"/sessions/{session.id}")
    accepting = staff.locator(f'article[data-application="{first.id}"]')
    expect(accepting.get_by_label("Extra time granted (minutes)")).to_have_value("20")
    expect(accepting.get_by_label("Other accommodation granted (for the operator)")).to_have_value("larger font")
    audit.check(staff, "the session's applications")
    accepting.get_by_role("button", name="Accept the application of Zofia Żółkiewska").click()
    expect(staff.locator(".flash").first).to_contain_text("Zofia Żółkiewska is enrolled")
    expect(staff.locator(f'article[data-application="{first.id}"] .status')).to_have_text("accepted")
    rejecting = staff.locator(f'article[data-application="{second.id}"]')
    rejecting.get_by_role("button", name="Reject the application of Tadeusz Odrzucony").click()
    expect(staff.locator(".error").first).to_contain_text("Give the reason for the rejection")  # nothing typed
    audit.check(staff, "a rejection without its reason")
    rejecting = staff.locator(f'article[data-application="{second.id}"]')
    rejecting.get_by_label("Reason for the rejection (the candidate receives it)").fill(REASON)
    rejecting.get_by_role("button", name="Reject the application of Tadeusz Odrzucony").click()
    expect(staff.locator(".flash").first).to_contain_text("The application has been rejected")
    expect(staff.locator("#applications")).to_contain_text("Places left: 4 of 5.")

    db.session.expire_all()
    assert first.status == ApplicationStatus.ACCEPTED and first.enrolment.extra_time_minutes == 20
    assert second.status == ApplicationStatus.REJECTED

    # The first candidate sees the session's date and time, in Warsaw time, and is in "My sessions".
    with app.test_request_context(), force_locale("en"):
        shown = local_datetime(session.starts_at)  # 08:30 UTC is 09:30 in Warsaw in winter
    assert "9:30" in shown
    candidate.goto("/applications/mine")
    expect(candidate.locator("section.application .session-date")).to_contain_text(shown)
    expect(candidate.locator("section.application .status")).to_have_text("accepted")
    audit.check(candidate, "my applications (accepted)")
    candidate.get_by_role("link", name="My sessions").first.click()
    expect(candidate.locator("table")).to_contain_text(session.title)

    # The second sees the reason and how to appeal.
    rejected = new_page(world["second"])
    rejected.goto("/applications/mine")
    card = rejected.locator("section.application")
    expect(card.locator(".status")).to_have_text("rejected")
    expect(card.locator(".rejection-reason")).to_have_text(REASON)
    expect(card.locator(".appeal")).to_contain_text("You may appeal against this decision within 14 days")
    expect(card.locator(".appeal")).to_contain_text("Fundacja Naboru")
    audit.check(rejected, "my applications (rejected)")
    audit.assert_clean()
