"""Garbage into every form of the foundation: empty, over-long, wrong types, unknown ids,
unicode, HTML/script and NUL bytes. Always a clear error or a clean success, never a 500,
never raw markup, never an echoed password."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import AuditEntry, OutboxMail, Role, User, ValidationSession
from tests.factories import PASSWORD, add_member, client_as, enrol, make_institution, make_session, make_user, valid_pesel

SCRIPT = "<script>alert(1)</script>"
LONG = "x" * 10_000
UNICODE = "Zażółć gęślą jaźń — 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 مرحبا 🙂"
NUL = "abc\x00def"
GARBAGE = {"empty": "", "long": LONG, "script": SCRIPT, "unicode": UNICODE, "nul": NUL, "spaces": "   "}

HYPOTHESIS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Any text a browser could send: everything but lone surrogates (not encodable as UTF-8).
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


def text_of(response) -> str:
    return response.get_data(as_text=True)


def assert_safe(response, secret: str | None = None) -> str:
    """No server error, no raw script, no echoed secret; a re-rendered form says what is wrong."""
    page = text_of(response)
    assert response.status_code < 500, page[:2000]
    assert SCRIPT not in page
    if secret:
        assert secret not in page
    if response.status_code in (200, 400) and "<form method=\"post\" novalidate>" in page and "flash-danger" in page:
        assert 'class="error"' in page
    return page


def assert_error(response, secret: str | None = None) -> str:
    page = assert_safe(response, secret)
    assert response.status_code in (200, 400), response.status_code
    assert 'class="error"' in page
    return page


def assert_kept(page: str, value: str) -> None:
    assert f'value="{escape(value)}"' in page


@pytest.fixture
def staff_world(app, qualification):
    ic = make_institution("Fundacja A", qualifications=[qualification])
    staff = make_user((Role.STAFF, ic))
    session = make_session(ic, qualification, title="Sesja A")
    return {"ic": ic, "staff": staff, "session": session, "qualification": qualification,
            "client": client_as(app, staff)}


# --- CSRF -----------------------------------------------------------------------------------


def test_over_https_a_referrer_that_is_no_url_is_refused_not_a_500(app, staff_world):
    """Flask-WTF's referrer check parses the header; a port out of range made its parser raise (500)."""
    client = client_as(app)
    app.config["WTF_CSRF_ENABLED"] = True
    page = text_of(client.get("/auth/login", base_url="https://localhost"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = {"email": staff_world["staff"].email, "password": PASSWORD, "csrf_token": token}
    for referrer, status in (("https://localhost:99999/", 400), ("https://[::1/", 400), ("https://localhost/auth/login", 302)):
        response = client.post("/auth/login", data=form, base_url="https://localhost", headers={"Referer": referrer})
        assert response.status_code == status, referrer
    assert "Error 400" in text_of(client.post("/auth/login", data=form, base_url="https://localhost",
                                              headers={"Referer": "https://localhost:70000/"}))


def test_a_post_without_csrf_token_is_refused_with_a_clear_page(app, staff_world):
    client = client_as(app)  # English, chosen before CSRF is switched on
    logins = db.session.query(AuditEntry).filter_by(action="account.login").count()
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post("/auth/login", data={"email": staff_world["staff"].email, "password": PASSWORD})
    assert response.status_code == 400
    page = text_of(response)
    assert "Error 400" in page
    assert "Your form expired or was sent from another page. Please reload the page and send it again." in page
    assert db.session.query(AuditEntry).filter_by(action="account.login").count() == logins
    # A logged-in user's state-changing POST is refused the same way.
    response = staff_world["client"].post("/sessions/new", data=session_form(staff_world))
    assert response.status_code == 400 and db.session.query(ValidationSession).count() == 1
    # With the token from the page, the same form goes through.
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text_of(client.get("/auth/login"))).group(1)
    response = client.post("/auth/login", data={"email": staff_world["staff"].email, "password": PASSWORD,
                                                "csrf_token": token})
    assert response.status_code == 302


# --- accounts -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(GARBAGE))
@pytest.mark.parametrize("field", ["email", "password"])
def test_login_garbage(app, kind, field):
    user = make_user(Role.CANDIDATE, email="ktos@example.pl")
    data = {"email": user.email, "password": "wrong-password-123"}
    data[field] = GARBAGE[kind]
    secret = data["password"] if len(data["password"].strip()) > 3 else None
    page = assert_error(client_as(app).post("/auth/login", data=data), secret=secret)
    if field == "email" and kind in ("script", "unicode"):
        assert_kept(page, GARBAGE[kind])


def test_login_never_echoes_the_password(app):
    page = assert_error(client_as(app).post("/auth/login", data={"email": "nikt@example.pl", "password": "tajne-haslo-123"}),
                        secret="tajne-haslo-123")
    assert_kept(page, "nikt@example.pl")


def registration(**overrides) -> dict:
    data = {
        "first_name": "Anna", "last_name": "Nowak", "email": "anna.nowak@example.pl", "phone": "",
        "has_pesel": "yes", "pesel": valid_pesel(), "birth_date": "1990-05-17", "birth_place": "Kraków",
        "id_document_type": "", "id_document_number": "", "password": "bardzo-tajne-haslo", "password_confirm": "bardzo-tajne-haslo",
        "rodo_consent": "y",
    }
    data.update(overrides)
    return data


REGISTRATION_GARBAGE = [
    ("first_name", ""), ("first_name", LONG), ("first_name", NUL), ("first_name", "   "),
    ("last_name", LONG), ("last_name", NUL),
    ("email", ""), ("email", "not-an-email"), ("email", LONG + "@example.pl"), ("email", SCRIPT), ("email", "a\x00@example.pl"),
    ("phone", LONG), ("phone", NUL),
    ("has_pesel", "maybe"), ("has_pesel", ""),
    ("pesel", "123"), ("pesel", "abcdefghijk"), ("pesel", LONG), ("pesel", "9005170123\x00"),
    ("birth_date", "2026-13-45"), ("birth_date", "notadate"), ("birth_date", "0001-01-01"), ("birth_date", "9999-12-31"),
    ("birth_date", ""),
    ("birth_place", ""), ("birth_place", LONG), ("birth_place", NUL),
    ("id_document_type", "passport\x00"), ("id_document_type", "spaceship"),
    ("password", "short"), ("password", LONG), ("password_confirm", "different-password"),
    ("rodo_consent", ""),
]


@pytest.mark.parametrize("field, value", REGISTRATION_GARBAGE, ids=lambda v: repr(v)[:20])
def test_register_garbage(app, field, value):
    data = registration(**{field: value})
    if field == "rodo_consent":
        del data["rodo_consent"]
    response = client_as(app).post("/auth/register", data=data)
    page = assert_error(response, secret="bardzo-tajne-haslo")
    assert db.session.scalar(select(User)) is None
    if field != "first_name":
        assert_kept(page, "Anna")  # the rest of what was typed is kept
    if field == "email" and value == SCRIPT:
        assert_kept(page, SCRIPT)


def test_register_without_pesel_needs_a_document(app):
    response = client_as(app).post("/auth/register", data=registration(has_pesel="no", pesel=""))
    page = assert_error(response)
    assert page.count('class="error"') == 2  # document type and number
    response = client_as(app).post("/auth/register", data=registration(
        has_pesel="no", pesel="", id_document_type="passport", id_document_number="<b>AB123</b>", first_name=SCRIPT))
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert user.first_name == SCRIPT and user.pesel is None and user.id_document_number == "<b>AB123</b>"


def test_register_html_in_names_is_stored_as_text_and_shown_escaped(app):
    response = client_as(app).post("/auth/register", data=registration(first_name=SCRIPT, last_name=UNICODE))
    assert response.status_code == 302
    user = db.session.scalar(select(User))
    assert (user.first_name, user.last_name) == (SCRIPT, UNICODE)
    mail = db.session.scalar(select(OutboxMail))
    assert mail.recipient == "anna.nowak@example.pl"


@HYPOTHESIS
@given(first_name=any_text, last_name=any_text, email=any_text, pesel=any_text, birth_date=any_text,
       birth_place=any_text, password=any_text, has_pesel=st.sampled_from(["yes", "no", "", "maybe"]))
def test_register_never_fails_on_any_text(app, first_name, last_name, email, pesel, birth_date, birth_place,
                                          password, has_pesel):
    data = registration(first_name=first_name, last_name=last_name, email=email, pesel=pesel, birth_date=birth_date,
                        birth_place=birth_place, password=password, password_confirm=password, has_pesel=has_pesel)
    response = client_as(app, lang=None).post("/auth/register", data=data)
    assert response.status_code in (200, 302)
    page = assert_safe(response)
    if response.status_code == 200:
        assert 'class="error"' in page


@pytest.mark.parametrize("url", ["/auth/confirm", "/auth/reset"])
@pytest.mark.parametrize("kind", sorted(GARBAGE))
def test_email_only_forms_garbage(app, url, kind):
    response = client_as(app).post(url, data={"email": GARBAGE[kind]})
    page = assert_error(response)
    if kind in ("script", "unicode"):
        assert_kept(page, GARBAGE[kind])
    assert db.session.scalar(select(OutboxMail)) is None


def test_resend_confirmation_prefills_the_email_escaped(app):
    page = text_of(client_as(app).get("/auth/confirm", query_string={"email": SCRIPT}))
    assert SCRIPT not in page
    assert_kept(page, SCRIPT)


def _reset_link(app, user) -> str:
    client_as(app).post("/auth/reset", data={"email": user.email})
    body = db.session.scalar(select(OutboxMail.body).where(OutboxMail.recipient == user.email))
    return re.search(r"(/auth/reset/\S+)", body).group(1)


@pytest.mark.parametrize("password, confirm", [
    ("", ""), ("short", "short"), (LONG, LONG), ("good-password-1", "other-password-1"), (SCRIPT * 2, SCRIPT * 2 + "x"),
])
def test_reset_password_garbage(app, password, confirm):
    user = make_user(Role.CANDIDATE)
    link = _reset_link(app, user)
    response = client_as(app).post(link, data={"password": password, "password_confirm": confirm})
    assert_error(response, secret=password if len(password) > 8 else None)
    db.session.expire_all()
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.password_reset")) is None


def test_reset_password_accepts_unicode_and_nul_free_passwords(app):
    user = make_user(Role.CANDIDATE)
    link = _reset_link(app, user)
    response = client_as(app).post(link, data={"password": UNICODE, "password_confirm": UNICODE})
    assert response.status_code == 302
    response = client_as(app).post("/auth/login", data={"email": user.email, "password": UNICODE})
    assert response.status_code == 302 and "/dashboard" in response.headers["Location"]


@pytest.mark.parametrize("token", ["garbage", SCRIPT, "x" * 5000, "a.b.c", "%00"])
def test_garbage_tokens_redirect_with_a_message(app, token):
    client = client_as(app)
    for url in (f"/auth/reset/{token}", f"/auth/confirm/{token}"):
        response = client.get(url)
        assert response.status_code in (302, 404)
        assert SCRIPT not in response.headers.get("Location", "")


# --- sessions -------------------------------------------------------------------------------


def session_form(world, **overrides) -> dict:
    data = {"title": "Sesja grudniowa", "institution_id": str(world["ic"].id),
            "qualification_id": str(world["qualification"].id), "starts_at": "2026-12-01T10:00", "mode": "onsite",
            "place": "Kraków, ul. Długa 1", "capacity": "10"}
    data.update(overrides)
    return data


SESSION_GARBAGE = [
    ("title", ""), ("title", "   "), ("title", LONG), ("title", NUL),
    ("place", ""), ("place", LONG), ("place", NUL),
    ("capacity", ""), ("capacity", "abc"), ("capacity", "0"), ("capacity", "-5"), ("capacity", "1e3"), ("capacity", "3.5"),
    ("capacity", "99999999999999999999999"), ("capacity", "12\x00"),
    ("starts_at", ""), ("starts_at", "2026-13-45T10:00"), ("starts_at", "2026-12-01"), ("starts_at", "notadate"),
    ("starts_at", "0001-01-01T00:00"), ("starts_at", "9999-12-31T23:59"), ("starts_at", "2026-12-01T10:00\x00"),
    ("mode", "underwater"), ("mode", ""), ("mode", SCRIPT),
    ("institution_id", "999999"), ("institution_id", "abc"), ("institution_id", ""), ("institution_id", "-1"),
    ("qualification_id", "999999"), ("qualification_id", "abc"), ("qualification_id", SCRIPT),
]


@pytest.mark.parametrize("field, value", SESSION_GARBAGE, ids=lambda v: repr(v)[:20])
@pytest.mark.parametrize("page", ["new", "edit"])
def test_session_form_garbage(app, staff_world, page, field, value):
    fixed_on_edit = page == "edit" and field in ("institution_id", "qualification_id")
    url = "/sessions/new" if page == "new" else f"/sessions/{staff_world['session'].id}/edit"
    response = staff_world["client"].post(url, data=session_form(staff_world, **{field: value}))
    if fixed_on_edit:
        # Institution and qualification are not part of the edit: whatever is posted is ignored.
        assert response.status_code == 302, text_of(response)[:3000]
        db.session.expire_all()
        assert staff_world["session"].institution_id == staff_world["ic"].id
        return
    page_text = assert_error(response)
    assert response.status_code == 400
    assert db.session.query(ValidationSession).count() == 1
    if field != "title":
        assert_kept(page_text, "Sesja grudniowa")
    db.session.expire_all()
    assert staff_world["session"].title == "Sesja A"


@pytest.mark.parametrize("value", [SCRIPT, UNICODE])
def test_session_text_is_stored_verbatim_and_shown_escaped(app, staff_world, value):
    client = staff_world["client"]
    response = client.post("/sessions/new", data=session_form(staff_world, title=value, place=value))
    assert response.status_code == 302
    session = db.session.scalar(select(ValidationSession).where(ValidationSession.title == value))
    assert session.place == value
    for url in (f"/sessions/{session.id}", "/sessions/", f"/sessions/{session.id}/edit", "/audit/"):
        page = assert_safe(client.get(url))
        if value == UNICODE and url != "/audit/":  # the audit page shows JSON, \u-escaped
            assert UNICODE in page


@HYPOTHESIS
@given(title=any_text, place=any_text, capacity=st.one_of(any_text, st.integers().map(str)),
       starts_at=st.one_of(any_text, st.datetimes().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}")),
       mode=st.sampled_from(["onsite", "remote", "", "x"]))
def test_session_form_never_fails_on_any_text(app, staff_world, title, place, capacity, starts_at, mode):
    data = session_form(staff_world, title=title, place=place, capacity=capacity, starts_at=starts_at, mode=mode)
    response = staff_world["client"].post("/sessions/new", data=data)
    assert response.status_code in (302, 400)
    page = assert_safe(response)
    if response.status_code == 400:
        assert 'class="error"' in page


@pytest.mark.parametrize("value", ["", "abc", "999999", "-1", SCRIPT, NUL, LONG])
def test_operator_and_assessor_garbage(app, staff_world, value):
    client, session = staff_world["client"], staff_world["session"]
    make_user((Role.OPERATOR, staff_world["ic"]))
    make_user((Role.ASSESSOR, staff_world["ic"]))
    assert_error(client.post(f"/sessions/{session.id}/operator", data={"operator_id": value}))
    assert_error(client.post(f"/sessions/{session.id}/committee", data={"assessor_id": value, "is_chair": value}))
    db.session.expire_all()
    assert session.operator_id is None and session.committee == []


@pytest.mark.parametrize("kind", [*sorted(GARBAGE), "not-an-email"])
def test_enrol_garbage(app, staff_world, kind):
    value = GARBAGE.get(kind, "not-an-email")
    response = staff_world["client"].post(f"/sessions/{staff_world['session'].id}/enrol", data={"email": value})
    page = assert_error(response)
    assert response.status_code == 400
    if kind in ("script", "unicode", "not-an-email"):
        assert_kept(page, value)
    db.session.expire_all()
    assert staff_world["session"].enrolments == []


@pytest.mark.parametrize("field, value", [
    ("trainer_id", ""), ("trainer_id", "abc"), ("trainer_id", "999999"), ("trainer_id", NUL),
    ("candidate_email", ""), ("candidate_email", SCRIPT), ("candidate_email", LONG), ("candidate_email", NUL),
    ("candidate_email", "nikt@example.pl"),
    ("course", LONG), ("course", NUL),
], ids=lambda v: repr(v)[:20])
def test_training_garbage(app, staff_world, field, value):
    trainer = make_user((Role.ASSESSOR, staff_world["ic"]))
    candidate = make_user(Role.CANDIDATE)
    data = {"trainer_id": str(trainer.id), "candidate_email": candidate.email, "course": "Kurs"}
    data[field] = value
    response = staff_world["client"].post("/sessions/training", data=data)
    page = assert_error(response)
    assert response.status_code == 400
    if field == "candidate_email" and value in (SCRIPT, "nikt@example.pl"):
        assert_kept(page, value)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "training.recorded")) is None


@pytest.mark.parametrize("value", [SCRIPT, UNICODE])
def test_training_course_is_shown_escaped(app, staff_world, value):
    trainer = make_user((Role.ASSESSOR, staff_world["ic"]))
    candidate = make_user(Role.CANDIDATE)
    client = staff_world["client"]
    response = client.post("/sessions/training", data={"trainer_id": trainer.id, "candidate_email": candidate.email,
                                                       "course": value})
    assert response.status_code == 302
    page = assert_safe(client.get("/sessions/training"))
    assert str(escape(value)) in page


@pytest.mark.parametrize("confirm, remarks", [
    ("", "bez potwierdzenia"), ("y", LONG), ("y", NUL), ("", SCRIPT),
])
def test_declaration_garbage(app, staff_world, confirm, remarks):
    assessor = make_user((Role.ASSESSOR, staff_world["ic"]))
    member = add_member(staff_world["session"], assessor)
    enrol(staff_world["session"], make_user(Role.CANDIDATE, last_name="Ukryta"))
    data = {"remarks": remarks}
    if confirm:
        data["confirm"] = confirm
    response = client_as(app, assessor).post(f"/sessions/{staff_world['session'].id}/committee-view", data=data)
    page = assert_error(response)
    assert "/committee/enrolments/" not in page  # the candidate is named, their work stays closed
    db.session.expire_all()
    assert member.declared_at is None


def test_declaration_remarks_with_markup_are_stored_and_escaped(app, staff_world):
    assessor = make_user((Role.ASSESSOR, staff_world["ic"]))
    member = add_member(staff_world["session"], assessor)
    client = client_as(app, assessor)
    url = f"/sessions/{staff_world['session'].id}/committee-view"
    assert client.post(url, data={"confirm": "y", "remarks": SCRIPT}).status_code == 302
    db.session.expire_all()
    assert member.declaration_text.endswith(SCRIPT)
    assert_safe(client.get(url))
    assert_safe(staff_world["client"].get("/audit/"))
    assert_safe(staff_world["client"].get(f"/sessions/{staff_world['session'].id}"))


@pytest.mark.parametrize("query", [
    {"date_from": "notadate"}, {"date_to": "2026-13-45"}, {"date_from": SCRIPT}, {"action": LONG},
    {"object_type": LONG}, {"actor": LONG}, {"action": NUL}, {"actor": NUL}, {"date_to": "9999-12-31"},
])
def test_audit_filter_garbage(app, staff_world, query):
    response = staff_world["client"].get("/audit/", query_string=query)
    assert response.status_code == 400
    assert_error(response)


@pytest.mark.parametrize("query", [{"action": SCRIPT}, {"actor": UNICODE}, {"object_type": "%"}, {"action": "_"}])
def test_audit_filter_odd_but_valid_text(app, staff_world, query):
    response = staff_world["client"].get("/audit/", query_string=query)
    assert response.status_code == 200
    assert_safe(response)


def test_language_switch_garbage(app):
    client = client_as(app, lang=None)
    for code, target in (("xx", "/"), ("en", "//evil.example"), ("en", "https://evil.example/"), ("en", SCRIPT)):
        response = client.post(f"/lang/{code}", data={"next": target})
        assert response.status_code == 302
        location = response.headers["Location"]
        assert "evil.example" not in location and SCRIPT not in location


def test_an_id_beyond_what_a_column_holds_is_not_found_on_every_route(app):
    """Every ``<int:...>`` of every URL: a number too big for an id column never reaches the
    database (where the driver would overflow: a 500); no route matches it."""
    from sandbox_crm.params import MAX_ID, IdConverter

    client = app.test_client()
    walked = 0
    for rule in app.url_map.iter_rules():
        ids = [name for name, converter in rule._converters.items() if isinstance(converter, IdConverter)]
        plain = {name: "x" for name in rule.arguments if name not in ids}
        for name in ids:
            values = {**plain, **dict.fromkeys(ids, 1), name: MAX_ID + 1}
            path = rule.build(values, append_unknown=False)[1]
            for method in sorted(rule.methods & {"GET", "POST"}):
                response = client.open(path, method=method)
                assert response.status_code == 404, f"{method} {path}: {response.status_code}"
                walked += 1
    assert walked > 100
    assert client.get(f"/certification/certificates/{MAX_ID}").status_code in (302, 404)  # the largest id still routes
