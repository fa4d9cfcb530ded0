"""The login rate limit counts failed log-ins per account and per client address: an exam room's
candidates behind one address (a NAT) all log in, while guessing one person's password stays
limited whatever the address it comes from."""
from __future__ import annotations

from examportal.models import Role
from tests.factories import PASSWORD, make_user

ROOM = "203.0.113.7"  # the exam room's one public address


def _client(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    client.post("/lang/en")
    return client


def _login(client, email: str, password: str) -> int:
    return client.post("/auth/login", data={"email": email, "password": password}).status_code


def test_a_room_of_candidates_behind_one_address_all_log_in(app):
    candidates = [make_user(Role.CANDIDATE, first_name=f"Kandydat{n}") for n in range(15)]
    # A typo each first (failures count per address too), then the right password.
    for person in candidates:
        assert _login(_client(app, ROOM), person.email, "typo-in-the-password") == 200
    assert [_login(_client(app, ROOM), person.email, PASSWORD) for person in candidates] == [302] * 15


def test_guessing_one_accounts_password_is_limited_from_any_address(app):
    target, neighbour = make_user(Role.CANDIDATE), make_user(Role.CANDIDATE)
    for n in range(10):  # "10 per minute" per account, each guess from another address
        assert _login(_client(app, f"198.51.100.{n + 1}"), target.email, f"guess-{n}") == 200, n
    response = _client(app, "198.51.100.99").post("/auth/login", data={"email": target.email.upper(), "password": PASSWORD})
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)
    assert "Retry-After" in response.headers
    # The limit is the account's: someone else logs in from the addresses the guesses came from.
    assert _login(_client(app, "198.51.100.1"), neighbour.email, PASSWORD) == 302


def test_failed_logins_from_one_address_are_limited_per_address(app):
    app.config["LOGIN_ADDRESS_RATE_LIMIT"] = "5 per minute"
    for n in range(5):  # a different account each time: only the address limit counts them all
        assert _login(_client(app, ROOM), f"nobody{n}@example.pl", "wrong-password") == 200, n
    person = make_user(Role.CANDIDATE)
    assert _login(_client(app, ROOM), person.email, PASSWORD) == 429
    assert _login(_client(app, "192.0.2.44"), person.email, PASSWORD) == 302  # another address is not locked out


def test_successful_logins_do_not_count(app):
    app.config.update(LOGIN_RATE_LIMIT="2 per minute", LOGIN_ADDRESS_RATE_LIMIT="2 per minute")
    person = make_user(Role.CANDIDATE)
    client = _client(app, ROOM)
    for attempt in range(4):
        assert _login(client, person.email, PASSWORD) == 302, attempt
        client.post("/auth/logout")
        assert client.get("/dashboard").status_code == 302  # logged out: the next login checks the password
