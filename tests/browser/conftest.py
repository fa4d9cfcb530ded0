"""Browser fixtures: the app served by werkzeug in a thread, and Playwright driving Debian's Chromium.

The live server runs the very app object the ``app`` fixture built, so it uses the same test
database (SQLite file or PostgreSQL) the migrations prepared; data made in the test is visible to
it after a commit. CSRF protection is switched on, so the pages' tokens are really checked.
"""
from __future__ import annotations

import re
import threading

import pyotp
import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from examportal.models import Role
from tests.factories import (
    PASSWORD,
    SECOND_STEP,
    SETUP_STEP,
    enrol,
    make_institution,
    make_session,
    make_theory_result,
    make_user,
    totp_code,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _buffered(app):
    """Read each response whole (and close it) before sending: a browser that drops a connection
    half-way (it often does for a stylesheet or an icon on a page it leaves) then leaves no file
    of a static response open behind it. The test server only; nothing here streams."""
    def wsgi(environ, start_response):
        result = app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
    return wsgi


@pytest.fixture
def live_server(app):
    """The app on 127.0.0.1 and a free port (chosen by the OS), shut down after the test."""
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield server
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open a page in a fresh browser context (its own cookies and localStorage) logged in as ``user``."""
    contexts = []

    def _new_page(user=None):
        context = browser.new_context(base_url=live_server.url, locale="en-GB")
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        page.goto("/")
        if user is not None:
            page.goto("/auth/login")
            page.fill("input[name=email]", user.email)
            page.fill("input[name=password]", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url(lambda url: "/auth/login" not in url)
            pass_second_step(page, user)
        return page

    yield _new_page
    for context in contexts:
        context.close()


def pass_second_step(page, user) -> None:
    """After the password: a code from the app, or (a deciding role without one) set the app up."""
    if page.url.split("?")[0].endswith(SECOND_STEP):
        page.fill("input[name=code]", totp_code(user))
        page.click("main button[type=submit]")
        page.wait_for_url(lambda url: SECOND_STEP not in url)
    elif page.url.split("?")[0].endswith(SETUP_STEP):
        secret = page.inner_text("#totp-secret").replace(" ", "")
        page.fill("input[name=code]", pyotp.TOTP(secret).now())
        page.click("main button[type=submit]")
        page.click("#recovery-codes ~ p a")  # "I have saved them: continue"
        page.wait_for_url(lambda url: SETUP_STEP not in url)


@pytest.fixture
def page(new_page):
    """An anonymous page on the live server."""
    return new_page()


@pytest.fixture
def exam_page(new_page, qualification):
    """A candidate in the practical exam: the CRM with the task sheet beside it."""
    institution = make_institution(qualifications=[qualification])
    session = make_session(institution, qualification)
    candidate = make_user(Role.CANDIDATE, locale="en")
    enrolment = enrol(session, candidate)
    make_theory_result(enrolment, qualification)
    page = new_page(candidate)
    page.goto(f"/practical/enrolments/{enrolment.id}")
    page.get_by_label("I am at my exam workstation").check()
    page.get_by_role("button", name="Start the practical exam").click()
    page.wait_for_url(re.compile(r"/sandbox/w/\d+/$"))
    expect(page.locator("aside.task-sheet .countdown")).to_be_visible()
    return page
