"""Browser fixtures: the app served by werkzeug in a thread, and Playwright driving Debian's Chromium.

The live server runs the very app object the ``app`` fixture built, so it uses the same test
database (SQLite file or PostgreSQL) the migrations prepared; data made in the test is visible to
it after a commit. CSRF protection is switched on, so the pages' tokens are really checked.
"""
from __future__ import annotations

import threading

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from tests.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def live_server(app):
    """The app on 127.0.0.1 and a free port (chosen by the OS), shut down after the test."""
    app.config["WTF_CSRF_ENABLED"] = True
    server = make_server("127.0.0.1", 0, app, threaded=True)
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
        return page

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """An anonymous page on the live server."""
    return new_page()
