"""Times the scripts write into a page are in the page's language, not the browser's: the theory
test's "saved at" and the operator console's "last contact" after the live refresh."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from examportal.extensions import db
from examportal.models import OperatorActionKind, Role, TheoryAttempt, utcnow
from examportal.theory import services
from tests.factories import enrol, make_institution, make_session, make_user, write_theory_bank

pytestmark = pytest.mark.browser

ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


@pytest.fixture
def exam(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    app.config["THEORY_PREFETCH_SPREAD_SECONDS"] = 0  # the test page fetches the other questions at once
    ic = make_institution(qualifications=[qualification])
    operator = make_user((Role.OPERATOR, ic))
    session = make_session(ic, qualification, operator_id=operator.id)
    candidate = make_user(Role.CANDIDATE)
    enrolment = enrol(session, candidate)
    services.operator_action(session, operator, OperatorActionKind.UNLOCK, "sesja otwarta")
    return {"session": session, "operator": operator, "candidate": candidate, "enrolment": enrolment}


def _use_language(page, code: str) -> None:
    """Switch the interface language with the header's button (the browser itself says en-GB)."""
    if page.locator("html").get_attribute("lang") != code:
        page.click(f"header button[lang={code}]")
        expect(page.locator("html")).to_have_attribute("lang", code)


def _answer_and_wait_for_the_save(page) -> str:
    form = page.locator("form.question:not([hidden])")
    radios = form.locator("input[type=radio][name=answer]")
    checks = form.locator("input[type=checkbox][name=answer]")
    if radios.count():
        radios.first.check()
    elif checks.count():
        checks.first.check()
    else:
        selects = form.locator("select")
        for index in range(selects.count()):
            select = selects.nth(index)
            if select.get_attribute("name").startswith("order-"):
                select.select_option(str(index + 1))
            else:
                select.select_option(index=1)
    page.wait_for_selector("#save-status.save-saved")
    return page.locator("#save-status").inner_text()


def test_the_autosave_time_follows_the_page_language(new_page, exam):
    page = new_page(exam["candidate"])
    page.goto(f"/theory/enrolments/{exam['enrolment'].id}")
    _use_language(page, "en")
    page.click("#attempt-status button[type=submit]")
    page.wait_for_selector("#theory-messages", state="attached")  # after every form on the page
    # The browser (en-GB) would write 17:03:25; an English page writes 05:03:25 PM.
    assert re.fullmatch(r"Saved \d{2}:\d{2}:\d{2}\s[AP]M", _answer_and_wait_for_the_save(page))

    _use_language(page, "pl")
    page.wait_for_selector("#theory")
    # The page comes with its own question; the next one is on it once the others are fetched.
    page.wait_for_selector("#theory[data-questions=loaded]", state="attached")
    page.locator("form.question:not([hidden]) button[value=next]").click()
    saved = _answer_and_wait_for_the_save(page)
    assert re.fullmatch(r"\S+ \d{2}:\d{2}:\d{2}", saved) and not saved.startswith("Saved"), saved


def test_the_consoles_last_contact_stays_in_the_page_language_after_the_live_refresh(new_page, exam):
    console = new_page(exam["operator"])
    console.goto(f"/operator/sessions/{exam['session'].id}")
    _use_language(console, "pl")
    console.wait_for_load_state("load")  # operator.js has run: its 5-second poll is going before the 12-second wait
    contact = console.locator("#console .c-contact").first
    expect(contact).to_have_text("—")
    attempt = db.session.query(TheoryAttempt).filter_by(enrolment_id=exam["enrolment"].id).one()
    attempt.last_contact_at = utcnow()
    db.session.commit()
    # The console polls every 5 seconds and puts in the text the server wrote in Polish.
    expect(contact).not_to_have_text("—", timeout=12000)
    shown = contact.inner_text()
    assert not ISO_INSTANT.search(shown), shown
    assert re.fullmatch(r"\d{1,2} [a-ząćęłńóśźż]{3} \d{4}, \d{2}:\d{2}:\d{2}", shown), shown
    expect(console.locator("#console .c-conn span").first).to_have_text("połączony")
