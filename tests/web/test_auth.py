"""Accounts through the real pages: registration, e-mail confirmation, login, logout,
password reset, the login rate limit and the audit entries they leave."""
from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from examportal.extensions import db
from examportal.models import AuditEntry, OutboxMail, Role, User
from examportal.security import check_password
from examportal.validators import pesel_with_checksum
from tests.factories import PASSWORD, fresh_globals_per_request, make_user, valid_pesel


@pytest.fixture(autouse=True)
def _fresh_globals_per_request(app):
    with fresh_globals_per_request(app):
        yield


BIRTH = date(1990, 5, 17)
NEW_PASSWORD = "zupelnie-nowe-haslo-42"


# --- helpers -----------------------------------------------------------------------------

class _FormPage(HTMLParser):
    """The values a re-rendered form shows and the fields marked with an error."""

    VOID = frozenset({"input", "br", "img", "meta", "link", "hr"})

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.errored: set[str] = set()
        self.error_texts: list[str] = []
        self._stack: list[tuple[str, bool]] = []
        self._select: str | None = None
        self._in_error_p = False

    def _inside_error(self) -> bool:
        return any(flag for _tag, flag in self._stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag in ("input", "select", "textarea") and a.get("name"):
            name = a["name"]
            if self._inside_error() or a.get("aria-invalid") == "true":
                self.errored.add(name)
            if tag == "input" and a.get("type") in ("radio", "checkbox"):
                if "checked" in a:
                    self.values[name] = a.get("value", "y")
            elif tag == "input":
                self.values[name] = a.get("value") or ""
            elif tag == "select":
                self._select = name
                self.values.setdefault(name, "")
        if tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""
        if tag == "p" and "error" in classes:
            self._in_error_p = True
            self.error_texts.append("")
        if tag not in self.VOID:
            self._stack.append((tag, "has-error" in classes))

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        if tag == "p":
            self._in_error_p = False
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._in_error_p:
            self.error_texts[-1] += data


def parse_form(html: str) -> _FormPage:
    page = _FormPage()
    page.feed(html)
    return page


def registration(**overrides) -> dict:
    data = {
        "first_name": "Anna", "last_name": "Kowalska", "email": "anna.kowalska@example.pl",
        "phone": "+48 600 100 200", "has_pesel": "yes", "pesel": valid_pesel(BIRTH),
        "id_document_type": "", "id_document_number": "", "birth_date": BIRTH.isoformat(),
        "birth_place": "Kraków", "password": "bardzo-tajne-haslo", "password_confirm": "bardzo-tajne-haslo",
        "rodo_consent": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def english(client):
    response = client.post("/lang/en", data={"next": "/"})
    assert response.status_code == 302
    return client


def audit_actions(action: str | None = None) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.seq)
    if action:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def outbox(recipient: str) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == recipient).order_by(OutboxMail.id)))


def link_path(mail: OutboxMail, kind: str) -> str:
    """The path of the /auth/<kind>/<token> link in a mail body."""
    match = re.search(rf"https?://\S+/auth/{kind}/\S+", mail.body)
    assert match, mail.body
    return urlsplit(match.group(0)).path


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


def fetch_user(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def old_token(app, token: str, salt: str, age_seconds: int) -> str:
    """The same payload as ``token``, signed ``age_seconds`` ago with the app's key."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age_seconds

    payload = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=salt).loads(token)
    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=salt, signer=PastSigner).dumps(payload)


def tamper(path: str) -> str:
    """Change one character of the token's payload part (the signature then no longer fits)."""
    head, token = path.rsplit("/", 1)
    i = 3
    return f"{head}/{token[:i]}{'A' if token[i] != 'A' else 'B'}{token[i + 1:]}"


def post_login(client, email: str, password: str, next_: str | None = None):
    url = "/auth/login" + (f"?next={next_}" if next_ is not None else "")
    return client.post(url, data={"email": email, "password": password})


def is_logged_in(client) -> bool:
    response = client.get("/dashboard")
    return response.status_code == 200


# --- registration ------------------------------------------------------------------------

def test_registration_page_shows_the_rodo_clause_and_a_consent_box(client):
    response = client.get("/auth/register")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'class="rodo"' in html
    assert "PUODO" in html  # the right to complain to the data-protection authority
    assert 'name="rodo_consent"' in html
    page = parse_form(html)
    assert page.values["has_pesel"] == "yes"  # PESEL is the default path
    assert "rodo_consent" not in page.values  # never pre-ticked


def test_registration_creates_a_candidate_with_hashed_password_and_consent_time(client, app):
    before = datetime.now(UTC)
    response = client.post("/auth/register", data=registration(email="Anna.Kowalska@Example.PL"))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/login"

    user = fetch_user("anna.kowalska@example.pl")  # stored lower-cased
    assert user is not None
    assert user.password_hash != "bardzo-tajne-haslo"
    assert "bardzo-tajne-haslo" not in user.password_hash
    assert check_password(user.password_hash, "bardzo-tajne-haslo")
    assert user.rodo_consent_at is not None
    assert before - timedelta(seconds=1) <= user.rodo_consent_at <= datetime.now(UTC) + timedelta(seconds=1)
    assert user.rodo_clause_version
    assert user.pesel == valid_pesel(BIRTH)
    assert user.birth_date == BIRTH
    assert user.id_document_type is None and user.id_document_number is None
    assert user.email_confirmed_at is None
    assert user.role_names == ["candidate"]

    [mail] = outbox("anna.kowalska@example.pl")
    assert mail.status == "queued"
    assert mail.user_id == user.id
    assert link_path(mail, "confirm").startswith("/auth/confirm/")

    [entry] = audit_actions("account.registered")
    assert entry.object_type == "user_account" and entry.object_id == str(user.id)
    assert "email" not in entry.after  # people by id only: anonymising them must not break the chain
    assert "bardzo-tajne-haslo" not in str(entry.after)


def test_registration_without_pesel_needs_and_stores_an_identity_document(client):
    response = client.post("/auth/register", data=registration(
        has_pesel="no", pesel=valid_pesel(BIRTH), id_document_type="passport", id_document_number=" AB1234567 "))
    assert response.status_code == 302
    user = fetch_user("anna.kowalska@example.pl")
    assert user.pesel is None  # a PESEL typed before choosing "No" is not kept
    assert user.id_document_type == "passport"
    assert user.id_document_number == "AB1234567"


BAD_INPUTS = {
    "no consent": ({"rodo_consent": None}, "rodo_consent"),
    "pesel missing": ({"pesel": ""}, "pesel"),
    "pesel wrong check digit": ({"pesel": valid_pesel(BIRTH)[:10] + str((int(valid_pesel(BIRTH)[10]) + 1) % 10)}, "pesel"),
    "pesel impossible date": ({"pesel": pesel_with_checksum("9002300123")}, "pesel"),  # 30 February
    "pesel of another birth date": ({"pesel": valid_pesel(date(1991, 5, 17))}, "pesel"),
    "pesel with letters": ({"pesel": "9005170123a"}, "pesel"),
    "pesel with a superscript digit": ({"pesel": "9005170123²"}, "pesel"),
    "no pesel and no document type": ({"has_pesel": "no", "pesel": "", "id_document_number": "AB123"}, "id_document_type"),
    "no pesel and no document number": ({"has_pesel": "no", "pesel": "", "id_document_type": "id_card"}, "id_document_number"),
    "unknown document type": ({"has_pesel": "no", "pesel": "", "id_document_type": "driving_licence",
                               "id_document_number": "X1"}, "id_document_type"),
    "has_pesel not a choice": ({"has_pesel": "maybe"}, "has_pesel"),
    "bad e-mail": ({"email": "anna-at-example.pl"}, "email"),
    "short password": ({"password": "krotkie", "password_confirm": "krotkie"}, "password"),
    "passwords differ": ({"password_confirm": "inne-haslo-calkiem"}, "password_confirm"),
    "date not ISO": ({"birth_date": "17.05.1990"}, "birth_date"),
    "date in the future": ({"birth_date": "2999-01-01", "pesel": ""}, "birth_date"),
    "no first name": ({"first_name": "   "}, "first_name"),
    "no place of birth": ({"birth_place": ""}, "birth_place"),
}

KEPT_FIELDS = ("first_name", "last_name", "email", "phone", "pesel", "id_document_number", "birth_date", "birth_place")


@pytest.mark.parametrize("overrides, field", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_registration_input_returns_the_form_with_the_error_at_the_field(client, overrides, field):
    data = registration(**overrides)
    response = client.post("/auth/register", data=data)
    assert response.status_code in (200, 400)
    html = response.get_data(as_text=True)
    page = parse_form(html)
    assert field in page.errored, (field, page.errored)
    assert 'class="error"' in html
    assert f'id="{field}-error"' in html or field == "has_pesel"
    for name in KEPT_FIELDS:
        if name in data and name in page.values:
            assert page.values[name] == data[name], name
    # A password is never echoed back into the page.
    assert data["password"] not in html
    assert user_count() == 0
    assert db.session.scalar(select(func.count(OutboxMail.id))) == 0
    assert audit_actions() == []


def test_consent_error_says_what_to_do(client):
    english(client)
    page = parse_form(client.post("/auth/register", data=registration(rodo_consent=None)).get_data(as_text=True))
    assert any("consent" in text for text in page.error_texts), page.error_texts


# Registration never tells whether an address or a PESEL already has an account: the answer is
# the one a new registration gets, and the existing account's owner is mailed instead.

def _registration_answer(client, data: dict):
    english(client)
    response = client.post("/auth/register", data=data)
    page = client.get(response.headers["Location"]) if response.status_code == 302 else None
    return response.status_code, response.headers.get("Location"), page.get_data(as_text=True) if page else None


def _flash(page: str) -> str:
    match = re.search(r'<div class="flash flash-success" role="status">([^<]*)</div>', page)
    assert match, page[:800]
    return match.group(1)


@pytest.mark.parametrize("taken", ["email", "pesel", "both"])
def test_registration_answers_the_same_whether_or_not_the_data_have_an_account(app, taken):
    from tests.factories import client_as

    owner = make_user(Role.CANDIDATE, email="anna.kowalska@example.pl" if taken in ("email", "both") else "ktos.inny@example.pl",
                      pesel=valid_pesel(BIRTH) if taken in ("pesel", "both") else None, birth_date=BIRTH)
    fresh = client_as(app, lang=None)
    status_new, location_new, page_new = _registration_answer(fresh, registration(
        email="nowa.osoba@example.pl", pesel=valid_pesel(BIRTH, "0777")))
    fresh_user = fetch_user("nowa.osoba@example.pl")
    assert fresh_user is not None

    again = client_as(app, lang=None)
    data = registration(email="Anna.Kowalska@example.pl" if taken in ("email", "both") else "nowa.osoba2@example.pl",
                        pesel=valid_pesel(BIRTH) if taken in ("pesel", "both") else valid_pesel(BIRTH, "0888"))
    status_taken, location_taken, page_taken = _registration_answer(again, data)

    assert (status_taken, location_taken) == (status_new, location_new) == (302, "/auth/login")
    message_new, message_taken = _flash(page_new), _flash(page_taken)
    assert message_new.replace("nowa.osoba@example.pl", "{email}") == message_taken.replace(data["email"], "{email}")
    assert "already" not in message_taken and "PESEL" not in message_taken
    # Nothing was created for the second attempt, and the owner is told by mail.
    assert user_count() == 2
    assert len(audit_actions("account.registered")) == 1
    [mail] = [m for m in outbox(owner.email) if "Someone tried" in m.subject]
    assert mail.user_id == owner.id
    assert "already have an account" in mail.body and "/auth/login" in mail.body and "/auth/reset" in mail.body
    if taken == "pesel":
        assert "PESEL" in mail.body and outbox("nowa.osoba2@example.pl") == []
    [refused] = audit_actions("account.registration_refused")
    assert refused.object_id == str(owner.id)
    assert refused.after == {"matched": {"email": ["email"], "pesel": ["pesel"], "both": ["email", "pesel"]}[taken]}


def test_an_address_and_a_pesel_of_two_accounts_tell_both_owners(client):
    by_email = make_user(Role.CANDIDATE, email="anna.kowalska@example.pl")
    by_pesel = make_user(Role.CANDIDATE, email="ktos.inny@example.pl", pesel=valid_pesel(BIRTH), birth_date=BIRTH)
    response = client.post("/auth/register", data=registration())
    assert response.status_code == 302
    assert len(outbox(by_email.email)) == 1 and len(outbox(by_pesel.email)) == 1
    assert user_count() == 2


# --- e-mail confirmation -----------------------------------------------------------------

def test_login_is_refused_until_the_email_is_confirmed(client):
    client.post("/auth/register", data=registration())
    response = post_login(client, "anna.kowalska@example.pl", "bardzo-tajne-haslo")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/confirm"
    assert not is_logged_in(client)
    assert audit_actions("account.login") == []

    [mail] = outbox("anna.kowalska@example.pl")
    response = client.get(link_path(mail, "confirm"))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/login"
    user = fetch_user("anna.kowalska@example.pl")
    assert user.email_confirmed_at is not None
    assert len(audit_actions("account.email_confirmed")) == 1

    response = post_login(client, "anna.kowalska@example.pl", "bardzo-tajne-haslo")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/dashboard"
    assert is_logged_in(client)


def test_confirmation_link_takes_effect_once(client):
    client.post("/auth/register", data=registration())
    path = link_path(outbox("anna.kowalska@example.pl")[0], "confirm")
    client.get(path)
    confirmed_at = fetch_user("anna.kowalska@example.pl").email_confirmed_at
    response = client.get(path)
    assert response.status_code == 302
    assert fetch_user("anna.kowalska@example.pl").email_confirmed_at == confirmed_at
    assert len(audit_actions("account.email_confirmed")) == 1


def test_tampered_confirmation_link_is_refused(client):
    english(client)
    client.post("/auth/register", data=registration())
    path = link_path(outbox("anna.kowalska@example.pl")[0], "confirm")
    response = client.get(tamper(path))
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/confirm"
    assert "not valid" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert fetch_user("anna.kowalska@example.pl").email_confirmed_at is None
    assert audit_actions("account.email_confirmed") == []


def test_expired_confirmation_link_is_refused(client, app):
    english(client)
    client.post("/auth/register", data=registration())
    path = link_path(outbox("anna.kowalska@example.pl")[0], "confirm")
    stale = old_token(app, path.rsplit("/", 1)[1], "confirm-email", age_seconds=4 * 24 * 3600)
    response = client.get(f"/auth/confirm/{stale}")
    assert response.status_code == 302
    assert "expired" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert fetch_user("anna.kowalska@example.pl").email_confirmed_at is None


def test_a_password_reset_link_does_not_confirm_an_email(client):
    user = make_user(Role.CANDIDATE, confirmed=False)
    client.post("/auth/reset", data={"email": user.email})
    reset_path = link_path(outbox(user.email)[0], "reset")
    response = client.get("/auth/confirm/" + reset_path.rsplit("/", 1)[1])
    assert response.status_code == 302
    assert fetch_user(user.email).email_confirmed_at is None


# --- login and logout --------------------------------------------------------------------

def test_login_and_logout(client):
    user = make_user(Role.CANDIDATE)
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/dashboard"
    assert is_logged_in(client)
    assert fetch_user(user.email).last_login_at is not None
    [entry] = audit_actions("account.login")
    assert entry.actor_id == user.id and entry.object_id == str(user.id)

    response = client.post("/auth/logout")
    assert response.status_code == 302
    assert not is_logged_in(client)
    assert client.get("/dashboard").headers["Location"].startswith("/auth/login")


def test_login_email_is_case_insensitive(client):
    user = make_user(Role.CANDIDATE, email="jan.nowak@example.pl")
    assert post_login(client, "Jan.Nowak@Example.PL", PASSWORD).status_code == 302
    assert is_logged_in(client)
    assert audit_actions("account.login")[0].actor_id == user.id


@pytest.mark.parametrize("email, password", [
    ("jan.nowak@example.pl", "not-the-password"),
    ("nikt@example.pl", PASSWORD),  # unknown account: the very same answer
])
def test_wrong_credentials_show_one_message_at_the_password_field(client, email, password):
    make_user(Role.CANDIDATE, email="jan.nowak@example.pl")
    english(client)
    response = post_login(client, email, password)
    assert response.status_code == 200
    page = parse_form(response.get_data(as_text=True))
    assert "password" in page.errored
    assert page.error_texts == ["Wrong e-mail or password."]
    assert page.values["email"] == email
    assert not is_logged_in(client)
    assert audit_actions("account.login") == []


def test_inactive_account_cannot_log_in(client):
    user = make_user(Role.CANDIDATE, active=False)
    assert post_login(client, user.email, PASSWORD).status_code == 200
    assert not is_logged_in(client)


@pytest.mark.parametrize("target", [
    "https://evil.example/phish",
    "//evil.example/phish",
    "///evil.example/phish",
    "/\\evil.example/phish",
    "/%09/evil.example",
    "javascript:alert(1)",
    "evil.example",
])
def test_login_never_redirects_off_site(client, target):
    user = make_user(Role.CANDIDATE)
    response = post_login(client, user.email, PASSWORD, next_=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location).netloc in ("", "localhost")
    assert urlsplit(location).path == "/dashboard"


def test_login_follows_a_local_next(client, qualification):
    user = make_user(Role.CANDIDATE)
    response = post_login(client, user.email, PASSWORD, next_="/qualifications/13881")
    assert response.headers["Location"] == "/qualifications/13881"


def test_login_page_of_a_protected_page_carries_next(client):
    response = client.get("/dashboard")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/login"
    assert "next=" in response.headers["Location"]


def test_eleventh_login_attempt_within_a_minute_is_refused_with_a_translated_page(client, app):
    user = make_user(Role.CANDIDATE)
    english(client)
    for attempt in range(10):
        response = post_login(client, user.email, f"wrong-password-{attempt}")
        assert response.status_code == 200, attempt
    response = post_login(client, user.email, PASSWORD)
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'lang="en"' in html
    assert "Too many attempts. Please wait a moment and try again." in html
    assert "Traceback" not in html
    assert "Retry-After" in response.headers
    assert not is_logged_in(client)
    # The page itself stays readable; only sending the form is limited.
    assert client.get("/auth/login").status_code == 200


def test_rate_limit_page_is_polish_by_default(client):
    user = make_user(Role.CANDIDATE)
    for _attempt in range(10):
        post_login(client, user.email, "wrong-password")
    response = post_login(client, user.email, "wrong-password")
    assert response.status_code == 429
    assert 'lang="pl"' in response.get_data(as_text=True)


# --- password reset ----------------------------------------------------------------------

def test_password_reset_through_the_mailed_link(client):
    user = make_user(Role.CANDIDATE)
    response = client.post("/auth/reset", data={"email": user.email.upper()})
    assert response.status_code == 302
    [mail] = outbox(user.email)
    path = link_path(mail, "reset")

    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/login"

    assert post_login(client, user.email, PASSWORD).status_code == 200  # old password refused
    assert not is_logged_in(client)
    assert post_login(client, user.email, NEW_PASSWORD).status_code == 302
    assert is_logged_in(client)

    requested = audit_actions("account.password_reset_requested")
    done = audit_actions("account.password_reset")
    assert len(requested) == 1 and len(done) == 1
    assert requested[0].object_id == done[0].object_id == str(user.id)
    assert done[0].actor_id == user.id
    assert requested[0].seq < done[0].seq


def test_reset_link_works_only_once(client):
    user = make_user(Role.CANDIDATE)
    english(client)
    client.post("/auth/reset", data={"email": user.email})
    path = link_path(outbox(user.email)[0], "reset")
    client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    hash_after_first_use = fetch_user(user.email).password_hash

    response = client.get(path)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/reset"
    assert "already been used" in client.get(response.headers["Location"]).get_data(as_text=True)
    response = client.post(path, data={"password": "trzecie-haslo-123", "password_confirm": "trzecie-haslo-123"})
    assert response.status_code == 302
    assert fetch_user(user.email).password_hash == hash_after_first_use
    assert len(audit_actions("account.password_reset")) == 1


def test_reset_form_errors_keep_the_link_usable(client):
    user = make_user(Role.CANDIDATE)
    client.post("/auth/reset", data={"email": user.email})
    path = link_path(outbox(user.email)[0], "reset")
    response = client.post(path, data={"password": "krotkie", "password_confirm": "krotkie"})
    assert response.status_code == 200
    assert "password" in parse_form(response.get_data(as_text=True)).errored
    assert post_login(client, user.email, PASSWORD).status_code == 302


def test_reset_request_for_an_unknown_address_looks_the_same_and_sends_nothing(client):
    make_user(Role.CANDIDATE, email="jan.nowak@example.pl")
    known = client.post("/auth/reset", data={"email": "jan.nowak@example.pl"})
    unknown = client.post("/auth/reset", data={"email": "nikt@example.pl"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert outbox("nikt@example.pl") == []
    assert len(audit_actions("account.password_reset_requested")) == 1


def test_tampered_reset_link_is_refused(client):
    user = make_user(Role.CANDIDATE)
    english(client)
    client.post("/auth/reset", data={"email": user.email})
    path = tamper(link_path(outbox(user.email)[0], "reset"))
    response = client.post(path, data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/reset"
    assert "not valid" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert post_login(client, user.email, PASSWORD).status_code == 302
    assert audit_actions("account.password_reset") == []


def test_expired_reset_link_is_refused(client, app):
    user = make_user(Role.CANDIDATE)
    english(client)
    client.post("/auth/reset", data={"email": user.email})
    token = link_path(outbox(user.email)[0], "reset").rsplit("/", 1)[1]
    fresh_enough = old_token(app, token, "reset-password", age_seconds=30 * 60)
    stale = old_token(app, token, "reset-password", age_seconds=2 * 3600)

    assert client.get(f"/auth/reset/{fresh_enough}").status_code == 200
    response = client.post(f"/auth/reset/{stale}", data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert "expired" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert post_login(client, user.email, PASSWORD).status_code == 302


def test_a_confirmation_link_is_not_a_reset_link(client):
    client.post("/auth/register", data=registration())
    token = link_path(outbox("anna.kowalska@example.pl")[0], "confirm").rsplit("/", 1)[1]
    response = client.post(f"/auth/reset/{token}", data={"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/auth/reset"
    assert audit_actions("account.password_reset") == []
