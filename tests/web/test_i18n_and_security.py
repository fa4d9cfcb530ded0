"""Language choice (Polish by default, English on request) and the security basics every page
shares: headers, cookies, CSRF, error pages without stack traces."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import AuditEntry, Role, User
from tests.factories import PASSWORD, fresh_globals_per_request, make_user


@pytest.fixture(autouse=True)
def _fresh_globals_per_request(app):
    with fresh_globals_per_request(app):
        yield


NOT_FOUND = "The page you are looking for does not exist or is not available to you."
NOT_ALLOWED = "This action is not available here."
CSRF_EXPIRED = "Your form expired or was sent from another page. Please reload the page and send it again."
SERVER_ERROR = "Something went wrong on our side. Nothing you typed is lost: go back and try again."


def translated(app, msgid: str, locale: str) -> str:
    """``msgid`` as the page shows it in ``locale`` (the English msgid until a catalogue exists)."""
    with app.test_request_context(), force_locale(locale):
        return str(escape(gettext(msgid)))


def page_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:300]
    return match.group(1)


def language_form(html: str) -> tuple[str, dict]:
    """The action and fields of the language switch in the page header."""
    form = re.search(r'<form method="post" class="inline" action="(/lang/[a-z]+)">(.*?)</form>', html, re.S)
    assert form, "no language switch in the header"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(2)))
    return form.group(1), fields


# --- language ----------------------------------------------------------------------------

def test_pages_are_polish_by_default(client):
    for path in ("/", "/auth/login", "/auth/register"):
        response = client.get(path)
        assert response.status_code == 200
        assert page_lang(response) == "pl", path
    action, fields = language_form(client.get("/").get_data(as_text=True))
    assert action == "/lang/en"
    assert "csrf_token" in fields


def test_switching_to_english_through_the_header_form(client):
    action, fields = language_form(client.get("/auth/login").get_data(as_text=True))
    response = client.post(action, data=fields)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/login"  # back where we were
    english_page = client.get("/auth/login")
    assert page_lang(english_page) == "en"
    assert "Forgot your password?" in english_page.get_data(as_text=True)

    action, fields = language_form(english_page.get_data(as_text=True))
    assert action == "/lang/pl"
    client.post(action, data=fields)
    assert page_lang(client.get("/auth/login")) == "pl"


def test_unknown_language_is_ignored(client):
    response = client.post("/lang/de", data={"next": "/"})
    assert response.status_code == 302
    assert page_lang(client.get("/")) == "pl"
    client.post("/lang/en", data={"next": "/"})
    client.post("/lang/xx", data={"next": "/"})
    assert page_lang(client.get("/")) == "en"
    with client.session_transaction() as session:
        assert session["lang"] == "en"


def test_language_cannot_be_changed_with_a_get(client):
    assert client.get("/lang/en").status_code == 405
    assert page_lang(client.get("/")) == "pl"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil.example", "javascript:alert(1)", "", None,
])
def test_language_switch_never_redirects_off_site(client, target):
    data = {} if target is None else {"next": target}
    response = client.post("/lang/en", data=data)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.netloc in ("", "localhost")
    assert location.path == "/"


def test_language_switch_keeps_a_local_path_with_its_query(client):
    response = client.post("/lang/en", data={"next": "/dev/mailbox/?to=anna@example.pl"})
    assert response.headers["Location"] == "/dev/mailbox/?to=anna@example.pl"


def test_a_users_saved_language_applies_after_login(client):
    user = make_user(Role.CANDIDATE, locale="en")
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert page_lang(client.get("/dashboard")) == "en"


def test_the_language_chosen_before_login_survives_login(client):
    user = make_user(Role.CANDIDATE)
    client.post("/lang/en", data={"next": "/"})
    client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    response = client.get("/dashboard")
    assert response.status_code == 200
    assert page_lang(response) == "en"


# --- headers and cookies -----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/", "/auth/login", "/no-such-page"])
def test_security_headers_on_every_page(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert "'unsafe-eval'" not in csp
    assert "script-src 'self'" in csp and "script-src 'self' 'unsafe-inline'" not in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")


def test_session_cookie_is_httponly_and_samesite_lax(client):
    response = client.post("/lang/en", data={"next": "/"})
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    attributes = [part.strip().lower() for part in cookies[0].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_remember_me_cookie_is_httponly_and_samesite_lax(client):
    user = make_user(Role.CANDIDATE)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "remember": "y"})
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("remember_token=")]
    assert cookies, response.headers
    attributes = [part.strip().lower() for part in cookies[0].split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes


def test_production_cookies_are_secure():
    from examportal.config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.REMEMBER_COOKIE_SECURE is True


# --- error pages -------------------------------------------------------------------------

@pytest.mark.parametrize("locale", ["pl", "en"])
def test_404_page_is_translated_html_without_a_stack_trace(app, client, locale):
    client.post(f"/lang/{locale}", data={"next": "/"})
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert page_lang(response) == locale
    html = response.get_data(as_text=True)
    assert translated(app, NOT_FOUND, locale) in html
    assert "Traceback" not in html and "werkzeug" not in html.lower()


@pytest.mark.parametrize("locale", ["pl", "en"])
def test_405_page_is_translated_html_without_a_stack_trace(app, client, locale):
    client.post(f"/lang/{locale}", data={"next": "/"})
    response = client.get("/auth/logout")  # POST only
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert page_lang(response) == locale
    html = response.get_data(as_text=True)
    assert translated(app, NOT_ALLOWED, locale) in html
    assert "Traceback" not in html


def test_error_is_json_for_a_client_asking_for_json(client):
    response = client.get("/no-such-page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.is_json
    assert set(response.get_json()) == {"error"}


def test_unexpected_error_shows_a_plain_500_page(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken():
        raise RuntimeError("secret internals: password=hunter2")

    app.add_url_rule("/test-broken", "test_broken", broken)
    client.post("/lang/en", data={"next": "/"})
    response = client.get("/test-broken")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert SERVER_ERROR in html
    assert "hunter2" not in html and "Traceback" not in html and "RuntimeError" not in html


# --- CSRF --------------------------------------------------------------------------------

def test_csrf_refuses_a_post_without_token_with_a_clear_400_page(app, client):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user(Role.CANDIDATE)

    response = client.post("/lang/en", data={"next": "/"})
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert translated(app, CSRF_EXPIRED, "pl") in response.get_data(as_text=True)
    assert page_lang(client.get("/")) == "pl"  # nothing changed

    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/dashboard").status_code == 302
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.login")) is None

    response = client.post("/lang/en", data={"next": "/", "csrf_token": "forged"})
    assert response.status_code == 400

    # The token the page hands out is accepted.
    action, fields = language_form(client.get("/").get_data(as_text=True))
    response = client.post(action, data=fields)
    assert response.status_code == 302
    assert page_lang(client.get("/")) == "en"

    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"',
                      client.get("/auth/login").get_data(as_text=True))
    assert token
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD,
                                                "csrf_token": token.group(1) or token.group(2)})
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 200
    assert db.session.scalar(select(User).where(User.email == user.email)).last_login_at is not None
