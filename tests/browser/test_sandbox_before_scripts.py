"""The sandbox CRM's scripts do their part however early the candidate acts.

A delete asks "are you sure?" first: the question comes from ``sandbox.js`` (the forms'
``data-confirm``). Were the script deferred, the page would show its delete buttons before the
script had run, and a click in that moment would delete without asking. The script is in the
page's head and not deferred, so nothing of the page is shown (and nothing can be clicked) before
it listens.

A choice that changes the form's other choices (the offer's company → its contacts) made before the
deferred ``offers.js`` ran still reloads them: the script looks, when it runs, for a choice changed
since the page was rendered.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.held import HeldRequest

pytestmark = pytest.mark.browser

SANDBOX_JS = "**/sandbox.js*"
OFFERS_JS = "**/offers.js*"


def _create_company(page, name: str) -> str:
    page.locator("header.crm-topbar").get_by_role("link", name="+ Company").click()
    page.fill("#name", name)
    page.locator("main.crm-main").get_by_role("button", name="Save").click()
    expect(page.locator(".flashes")).to_contain_text(f"Company {name} created.")
    return page.url


def test_no_delete_button_is_shown_before_the_question_is_listened_for(exam_page):
    page = exam_page
    company_url = _create_company(page, "Firma Testowa")
    script = HeldRequest(page, SANDBOX_JS)
    page.goto(company_url, wait_until="commit")
    script.wait()
    page.wait_for_timeout(300)  # time to parse and paint what comes before a held script
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    script.release()
    delete = page.get_by_role("button", name="Delete")
    expect(delete).to_be_visible()

    asked = []

    def dismiss(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    delete.click()
    expect(page.locator("main.crm-main h1")).to_contain_text("Firma Testowa")
    assert asked and "Delete this company?" in asked[0]
    page.goto(re.sub(r"/companies/.*$", "/companies", company_url))
    expect(page.locator("main.crm-main")).to_contain_text("Firma Testowa")


def test_a_company_chosen_before_the_script_ran_still_reloads_its_contacts(exam_page):
    page = exam_page
    page.locator("nav.crm-nav").get_by_role("link", name="Offers", exact=True).click()
    new_offer = page.locator("main.crm-main").get_by_role("link", name="+ New offer").get_attribute("href")
    script = HeldRequest(page, OFFERS_JS)
    page.goto(new_offer, wait_until="commit")
    page.wait_for_selector("#company_id")
    chosen = page.locator("#company_id option").nth(1)
    name = chosen.inner_text()
    page.select_option("#company_id", index=1)
    with page.expect_navigation(wait_until="commit"):
        script.release()
    page.wait_for_load_state("load")
    selected = page.locator("#company_id option:checked")
    expect(selected).to_have_text(name)
    # The server rendered the page with it chosen: the form was reloaded, with that company's contacts.
    assert page.evaluate("document.querySelector('#company_id').selectedOptions[0].defaultSelected")
