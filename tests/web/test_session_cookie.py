"""The session cookie is sent only by a response that changed it.

A browser applies cookies in the order the responses arrive. If a request that changed nothing
(an icon, a stylesheet, a second look at a form) answered with a copy of the session it was sent
with, and answered after the request that logged the person in, the browser would put the
not-yet-logged-in session back: the next page asked for the second factor again."""
from __future__ import annotations

import pytest

from examportal.models import Role
from tests.factories import PASSWORD, SECOND_STEP, client_as, make_user, totp_code


def _session_cookie_sent(response) -> bool:
    return any(header.startswith("session=") for header in response.headers.getlist("Set-Cookie"))


@pytest.fixture
def assessor(app):
    return make_user(Role.ASSESSOR, second_factor=True)


def _owing_second_step(app, user):
    client = client_as(app)
    response = client.post("/auth/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.location.endswith(SECOND_STEP)
    assert _session_cookie_sent(response)  # a change: the session now holds the pending login
    return client


@pytest.mark.parametrize("path", [SECOND_STEP, "/favicon.ico", "/static/app.css", "/dashboard"])
def test_a_request_during_the_second_step_sends_no_copy_of_the_session(app, assessor, path):
    client = _owing_second_step(app, assessor)
    client.get(SECOND_STEP).close()  # the form's CSRF token is stored once
    response = client.get(path)
    response.close()
    assert not _session_cookie_sent(response), response.headers.getlist("Set-Cookie")


def test_the_icon_is_served_during_the_second_step(app, assessor):
    client = _owing_second_step(app, assessor)
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/vnd.microsoft.icon"


def test_a_late_answer_to_a_request_sent_before_the_login_cannot_undo_it(app, assessor):
    """The icon asked for with the pending session answers after the code was accepted."""
    client = _owing_second_step(app, assessor)
    client.get(SECOND_STEP).close()
    pending = client.get_cookie("session").value
    logged_in = client.post(SECOND_STEP, data={"code": totp_code(assessor)})
    assert logged_in.status_code == 302 and _session_cookie_sent(logged_in)

    late = app.test_client()
    late.environ_base["REMOTE_ADDR"] = client.environ_base["REMOTE_ADDR"]
    late.set_cookie("session", pending)
    answer = late.get("/favicon.ico")
    assert not _session_cookie_sent(answer)
    # What the browser keeps is the logged-in session: the next page opens.
    assert client.get("/sessions/committees").status_code == 200


def test_the_login_page_sends_its_session_once(app):
    client = client_as(app)
    first = client.get("/auth/login")
    again = client.get("/auth/login")
    assert _session_cookie_sent(first) and not _session_cookie_sent(again)


def test_logging_out_still_removes_the_session(app, assessor):
    client = client_as(app, assessor)
    response = client.post("/auth/logout")
    assert response.status_code == 302
    assert _session_cookie_sent(response)  # a change: the login is gone from it
    assert client.get("/sessions/committees").status_code == 302
