"""The second factor: setting up the authenticator app, the second step of logging in, a code
used only once, recovery codes, the administrator's audited reset, the deciding roles' obligation
and the candidates' choice."""
from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlalchemy import func, select

from examportal.auth import two_factor
from examportal.auth.views import PENDING, PENDING_MAX_AGE
from examportal.extensions import db
from examportal.models import AuditEntry, OutboxMail, Role, User
from examportal.models.people import RecoveryCode
from tests.factories import PASSWORD, client_as, make_institution, make_user, secret_on_setup_page

SETUP = "/auth/two-factor/setup"
SECOND_STEP = "/auth/two-factor"


# --- helpers -----------------------------------------------------------------------------

def password_step(client, user, next_: str | None = None):
    url = "/auth/login" + (f"?next={next_}" if next_ else "")
    return client.post(url, data={"email": user.email, "password": PASSWORD})


def location(response) -> str:
    assert response.status_code == 302, (response.status_code, response.get_data(as_text=True)[:300])
    return urlsplit(response.headers["Location"]).path


def logged_in(client) -> bool:
    return client.get("/dashboard").status_code == 200


def text(response) -> str:
    return response.get_data(as_text=True)


def fresh(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def wrong_code(secret: str) -> str:
    """Six digits that no step in the accepted window gives."""
    totp, step = pyotp.TOTP(secret), two_factor.current_step()
    valid = {totp.generate_otp(s) for s in range(step - 2, step + 3)}
    return next(code for code in (f"{n:06d}" for n in range(123456, 999999, 7919)) if code not in valid)


def next_code(secret: str) -> str:
    """The code of the next step: still accepted, and later than the one the login just used."""
    return pyotp.TOTP(secret).generate_otp(two_factor.current_step() + 1)


def audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def recovery_codes_on(page: str) -> list[str]:
    block = re.search(r'<ul class="recovery-codes" id="recovery-codes">(.*?)</ul>', page, re.S)
    assert block, page[:500]
    return re.findall(r"<code>([a-z0-9-]+)</code>", block.group(1))


def enrol_through_the_page(client) -> tuple[str, list[str]]:
    """Set the app up on the set-up page (the session is at that step); the secret and the recovery codes."""
    secret = secret_on_setup_page(text(client.get(SETUP)))
    response = client.post(SETUP, data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    return secret, recovery_codes_on(text(response))


@pytest.fixture
def ic(app):
    return make_institution("Fundacja Testowa")


@pytest.fixture
def staff(ic):
    return make_user((Role.STAFF, ic), email="personel@example.pl")


# --- setting the app up ------------------------------------------------------------------

def test_setup_refuses_a_wrong_code_and_accepts_the_right_one(app, ic):
    staff = make_user((Role.STAFF, ic), second_factor=False)
    client = client_as(app)
    assert location(password_step(client, staff)) == SETUP

    page = client.get(SETUP)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    html = text(page)
    assert "<svg" in html and "QR code for the authenticator app" in html
    secret = secret_on_setup_page(html)
    assert two_factor.is_secret(secret)

    response = client.post(SETUP, data={"code": wrong_code(secret)})
    assert response.status_code == 200
    assert "This code is not right" in text(response)
    assert fresh(staff).totp_secret is None
    assert not logged_in(client)
    assert audit("account.login") == []

    response = client.post(SETUP, data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    codes = recovery_codes_on(text(response))
    assert len(codes) == 10 and len(set(codes)) == 10
    user = fresh(staff)
    assert user.totp_secret == secret and user.totp_enabled_at is not None
    assert user.totp_last_step is not None
    # Stored only as hashes.
    stored = db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == staff.id)).all()
    assert len(stored) == 10
    assert not any(code.replace("-", "") in row.code_hash or code in row.code_hash for code in codes for row in stored)
    # The login completed with the set-up; the page's "continue" leads on.
    assert logged_in(client)
    [login] = audit("account.login")
    assert login.after == {"second_factor": "totp"}
    [enabled] = audit("account.second_factor_enabled")
    assert enabled.object_id == str(staff.id) and enabled.actor_id == staff.id
    # The secret is not left in the session once the app is set up.
    with client.session_transaction() as session:
        assert "second_factor_setup" not in session and PENDING not in session


def test_the_setup_page_keeps_its_secret_across_a_reload(app, ic):
    staff = make_user((Role.STAFF, ic), second_factor=False)
    client = client_as(app)
    password_step(client, staff)
    first = secret_on_setup_page(text(client.get(SETUP)))
    assert secret_on_setup_page(text(client.get(SETUP))) == first


# --- the second step ---------------------------------------------------------------------

def test_the_password_alone_does_not_log_a_deciding_role_in_and_a_wrong_code_is_refused(app, staff):
    client = client_as(app)
    assert location(password_step(client, staff, next_="/sessions/")) == SECOND_STEP
    assert not logged_in(client)
    assert location(client.get("/sessions/")) == SECOND_STEP  # everything leads back to the code

    response = client.post(SECOND_STEP, data={"code": wrong_code(staff.totp_secret)})
    assert response.status_code == 200
    assert "This code is not valid" in text(response)
    assert not logged_in(client)
    assert audit("account.login") == []

    response = client.post(SECOND_STEP, data={"code": pyotp.TOTP(staff.totp_secret).now()})
    assert location(response) == "/sessions/"  # where the person was going
    assert logged_in(client)
    [entry] = audit("account.login")
    assert entry.actor_id == staff.id and entry.after == {"second_factor": "totp"}


def test_a_code_is_refused_a_second_time_within_its_window(app, staff):
    code = pyotp.TOTP(staff.totp_secret).now()
    first = client_as(app)
    password_step(first, staff)
    assert location(first.post(SECOND_STEP, data={"code": code})) == "/dashboard"
    step = fresh(staff).totp_last_step
    assert step is not None and step >= two_factor.current_step() - 1

    # The same code again, from another browser (say, read over a shoulder): refused.
    second = client_as(app)
    password_step(second, staff)
    response = second.post(SECOND_STEP, data={"code": code})
    assert response.status_code == 200
    assert "already been used" in text(response)
    assert not logged_in(second)
    # An older code of the window is refused as well.
    older = pyotp.TOTP(staff.totp_secret).generate_otp(step - 1)
    assert "already been used" in text(second.post(SECOND_STEP, data={"code": older}))
    assert not logged_in(second)
    assert fresh(staff).totp_last_step == step
    assert len(audit("account.login")) == 1


def test_the_service_claims_a_step_once(app, staff):
    """The claim is one conditional UPDATE (``totp_last_step < step``), so of two requests racing
    with one code the database lets only one through; here, the second check of the step fails."""
    code = pyotp.TOTP(staff.totp_secret).now()
    assert two_factor.check_code(staff, code) is two_factor.CodeCheck.TOTP
    assert two_factor.check_code(staff, code) is two_factor.CodeCheck.REUSED
    db.session.rollback()


def test_a_recovery_code_works_once(app, ic):
    staff = make_user((Role.STAFF, ic), second_factor=False)
    client = client_as(app)
    password_step(client, staff)
    _secret, codes = enrol_through_the_page(client)
    client.post("/auth/logout")

    password_step(client, staff)
    response = client.post(SECOND_STEP, data={"code": codes[0]})
    assert location(response) == "/dashboard"
    page = text(client.get("/dashboard"))
    assert "recovery code; 9 of them are left" in page
    [used] = audit("account.recovery_code_used")
    assert used.object_id == str(staff.id) and used.after == {"left": 9}
    assert audit("account.login")[-1].after == {"second_factor": "recovery_code"}
    client.post("/auth/logout")

    password_step(client, staff)
    response = client.post(SECOND_STEP, data={"code": codes[0]})
    assert response.status_code == 200 and "This code is not valid" in text(response)
    assert not logged_in(client)
    # Typed without the dash and in capitals, another code still works.
    response = client.post(SECOND_STEP, data={"code": codes[1].replace("-", "").upper()})
    assert location(response) == "/dashboard"
    assert two_factor.recovery_codes_left(fresh(staff)) == 8


def test_new_recovery_codes_replace_the_old_ones(app, ic):
    candidate = make_user(Role.CANDIDATE, second_factor=True)
    client = client_as(app, candidate)
    response = client.post("/auth/security/recovery-codes", data={"codes-code": wrong_code(candidate.totp_secret)})
    assert response.status_code == 200 and "This code is not valid" in text(response)
    assert fresh(candidate).recovery_codes == []
    response = client.post("/auth/security/recovery-codes", data={"codes-code": next_code(candidate.totp_secret)})
    codes = recovery_codes_on(text(response))
    assert len(codes) == 10 and two_factor.recovery_codes_left(fresh(candidate)) == 10
    assert len(audit("account.recovery_codes_renewed")) == 1


def test_the_second_step_is_rate_limited_per_address_and_per_account(app, staff):
    client = client_as(app)
    password_step(client, staff)
    bad = wrong_code(staff.totp_secret)
    for attempt in range(10):
        assert client.post(SECOND_STEP, data={"code": bad}).status_code == 200, attempt
    assert client.post(SECOND_STEP, data={"code": pyotp.TOTP(staff.totp_secret).now()}).status_code == 429
    assert not logged_in(client)

    # From a new address the account's own limit still holds: guessing from many addresses gains nothing.
    other = client_as(app)
    password_step(other, staff)
    assert other.post(SECOND_STEP, data={"code": bad}).status_code == 429


def test_a_pending_second_step_expires(app, staff):
    client = client_as(app)
    password_step(client, staff)
    with client.session_transaction() as session:
        session[PENDING] = {**session[PENDING], "since": int(time.time()) - PENDING_MAX_AGE - 1}
    response = client.post(SECOND_STEP, data={"code": pyotp.TOTP(staff.totp_secret).now()})
    assert location(response) == "/auth/login"
    assert not logged_in(client)


def test_the_second_step_without_a_password_first_leads_to_the_login(app, staff):
    client = client_as(app)
    assert location(client.get(SECOND_STEP)) == "/auth/login"
    assert location(client.post(SECOND_STEP, data={"code": pyotp.TOTP(staff.totp_secret).now()})) == "/auth/login"
    assert location(client.get(SETUP)) == "/auth/login"
    assert not logged_in(client)


def test_the_login_page_starts_over(app, staff):
    client = client_as(app)
    password_step(client, staff)
    assert client.get("/auth/login").status_code == 200
    assert client.get("/").status_code == 200  # no longer held at the second step
    assert location(client.get(SECOND_STEP)) == "/auth/login"


def test_test_helpers_log_one_person_in_many_times_within_one_window(app, staff):
    """client_as stands for logins minutes apart (see tests/factories.py totp_code)."""
    for _ in range(3):
        assert logged_in(client_as(app, staff))


# --- who must have one -------------------------------------------------------------------

DECIDING = [Role.OPERATOR, Role.ASSESSOR, Role.APPEALS, Role.STAFF, Role.ADMIN]


@pytest.mark.parametrize("role", DECIDING, ids=lambda r: r.value)
def test_a_deciding_role_without_a_second_factor_reaches_nothing_but_the_setup(app, ic, role):
    user = make_user((role, None if role == Role.ADMIN else ic), second_factor=False)
    client = client_as(app)
    assert location(password_step(client, user)) == SETUP
    for path in ("/dashboard", "/", "/sessions/", "/sessions/mine", "/audit/", "/institution/all",
                 "/auth/security", "/qualifications/13881", SECOND_STEP):
        assert location(client.get(path)) == SETUP, path
    assert client.get(SETUP).status_code == 200
    # Choosing the language still works on the way.
    assert client.post("/lang/pl", data={"next": SETUP}).status_code == 302
    assert audit("account.login") == []
    assert not logged_in(client)


def test_a_deciding_role_logged_in_without_a_second_factor_is_sent_to_set_it_up(app, staff):
    """Say a remember-me cookie from before, or an administrator's reset during the session."""
    client = client_as(app, staff)
    assert logged_in(client)
    fresh(staff).totp_secret = None
    db.session.commit()
    for path in ("/dashboard", "/sessions/", "/auth/security"):
        assert location(client.get(path)) == SETUP, path
    assert client.get(SETUP).status_code == 200
    enrol_through_the_page(client)
    assert logged_in(client)


def test_a_candidate_without_a_second_factor_logs_in_with_the_password_alone(app):
    candidate = make_user(Role.CANDIDATE)
    assert candidate.totp_secret is None
    client = client_as(app)
    assert location(password_step(client, candidate)) == "/dashboard"
    assert logged_in(client)
    [entry] = audit("account.login")
    assert entry.after is None
    assert "Off: you log in with your password alone." in text(client.get("/auth/security"))


def test_a_candidate_opts_in_and_out(app):
    candidate = make_user(Role.CANDIDATE)
    client = client_as(app, candidate)
    assert 'href="/auth/two-factor/setup"' in text(client.get("/auth/security"))
    secret, codes = enrol_through_the_page(client)
    assert "Unused recovery codes: 10." in text(client.get("/auth/security"))
    client.post("/auth/logout")

    assert location(password_step(client, candidate)) == SECOND_STEP  # from now on with a code
    client.post(SECOND_STEP, data={"code": next_code(secret)})
    assert logged_in(client)

    response = client.post("/auth/security/two-factor/off", data={"off-code": wrong_code(secret)})
    assert response.status_code == 200 and fresh(candidate).totp_secret is not None
    # Confirmed with a recovery code (the app's codes of this minute are used up).
    response = client.post("/auth/security/two-factor/off", data={"off-code": codes[0]})
    assert location(response) == "/auth/security"
    user = fresh(candidate)
    assert user.totp_secret is None and user.recovery_codes == []
    assert len(audit("account.second_factor_disabled")) == 1
    client.post("/auth/logout")
    assert location(password_step(client, candidate)) == "/dashboard"


def test_a_deciding_role_moving_to_a_new_phone_sets_it_up_again_at_once(app, staff):
    client = client_as(app, staff)
    response = client.post("/auth/security/two-factor/off", data={"off-code": next_code(staff.totp_secret)})
    assert location(response) == SETUP
    assert location(client.get("/sessions/")) == SETUP
    secret, _codes = enrol_through_the_page(client)
    assert fresh(staff).totp_secret == secret
    assert client.get("/sessions/").status_code == 200


# --- the administrator's reset ---------------------------------------------------------------

def reset(client, email: str, cause: str = "lost_device"):
    return client.post("/institution/all/second-factor-reset", data={"reset-email": email, "reset-cause": cause})


def test_an_administrators_reset_is_audited_and_the_person_sets_it_up_again(app, staff):
    admin = make_user(Role.ADMIN)
    staff_client = client_as(app, staff)
    assert logged_in(staff_client)
    mails_before = db.session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.recipient == staff.email))

    response = reset(client_as(app, admin), "Personel@Example.pl")
    assert location(response) == "/institution/all"
    user = fresh(staff)
    assert user.totp_secret is None and user.totp_last_step is None and user.recovery_codes == []
    [entry] = audit("account.second_factor_reset")
    assert entry.object_type == "user_account" and entry.object_id == str(staff.id)
    assert entry.actor_id == admin.id
    assert entry.after == {"cause": "lost_device"}
    mails = db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == staff.email).order_by(OutboxMail.id)).all()
    assert len(mails) == mails_before + 1 and "reset the second factor" in mails[-1].body

    # The person's open session now leads only to setting it up again; so does the next login.
    assert location(staff_client.get("/sessions/")) == SETUP
    client = client_as(app)
    assert location(password_step(client, staff)) == SETUP


def test_the_reset_is_refused_without_a_cause_for_unknown_people_and_for_oneself(app, staff):
    admin = make_user(Role.ADMIN)
    client = client_as(app, admin)
    for email, cause in ((staff.email, ""), (staff.email, "felt like it"), ("nikt@example.pl", "lost_device"),
                         (admin.email, "lost_device")):
        response = reset(client, email, cause)
        assert response.status_code == 400, (email, cause)
    assert fresh(staff).totp_secret is not None and fresh(admin).totp_secret is not None
    assert audit("account.second_factor_reset") == []


@pytest.mark.parametrize("role", [Role.STAFF, Role.CANDIDATE, Role.ASSESSOR])
def test_only_an_administrator_resets_a_second_factor(app, ic, staff, role):
    other = make_user((role, None if role == Role.CANDIDATE else ic))
    assert reset(client_as(app, other), staff.email).status_code == 403
    assert fresh(staff).totp_secret is not None
