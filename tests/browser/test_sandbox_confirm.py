"""A delete in the sandbox CRM asks "are you sure?" first, however early the candidate clicks.

The question comes from ``sandbox.js`` (the forms' ``data-confirm``). Were the script deferred, the
page would show its delete buttons before the script had run, and a click in that moment would
delete without asking. The script is in the page's head and not deferred, so nothing of the page is
shown (and nothing can be clicked) before it listens.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

SANDBOX_JS = "**/sandbox.js*"


def _create_company(page, name: str) -> str:
    page.locator("header.crm-topbar").get_by_role("link", name="+ Company").click()
    page.fill("#name", name)
    page.locator("main.crm-main").get_by_role("button", name="Save").click()
    expect(page.locator(".flashes")).to_contain_text(f"Company {name} created.")
    return page.url


def test_no_delete_button_is_shown_before_the_question_is_listened_for(exam_page):
    page = exam_page
    company_url = _create_company(page, "Firma Testowa")
    held = []

    def hold(route):
        held.append(route)

    page.route(SANDBOX_JS, hold)
    page.goto(company_url, wait_until="commit")
    page.wait_for_timeout(300)  # time to parse and paint what comes before a held script
    assert held, "the page asked for sandbox.js"
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    held[0].continue_()
    page.unroute(SANDBOX_JS)
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
