"""Forms and documents shaped in ways no page sends (a field left out, a URL that is no URL):
refused with the field's error or an answer that says what is wrong, never a 500."""
from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import Role, User, ValidationSession
from tests.factories import client_as, make_institution, make_session, make_user

VC = "https://www.w3.org/ns/credentials/v2"
OB = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


@pytest.fixture
def no_propagation(app):
    """Answer as production does (a 500 page), instead of raising into the test."""
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app


def text_of(response) -> str:
    return response.get_data(as_text=True)


def credential(verification_method: str) -> dict:
    """A document shaped like an Open Badges credential, its proof naming ``verification_method``."""
    return {"@context": [VC, OB], "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": "https://localhost/ob/issuers/1",
            "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022", "proofPurpose": "assertionMethod",
                      "verificationMethod": verification_method, "proofValue": "z3FXQ", "created": "2026-01-01T00:00:00Z"}}


@pytest.mark.parametrize("method", ["http://[::1", "https://[localhost/ob/issuers/1/keys/k1", "http://]/"])
def test_verifying_a_credential_whose_key_url_is_no_url_is_an_unknown_key_not_a_500(no_propagation, method):
    """POST /ob/verify (public, no login): verification.py _local_path() calls urlsplit() on the proof's
    verificationMethod, which raises ValueError("Invalid IPv6 URL") for a bracket without its pair."""
    client = client_as(no_propagation)
    response = client.post("/ob/verify", data=json.dumps(credential(method)), content_type="application/json")
    assert response.status_code == 200, text_of(response)[:300]
    answer = response.get_json()
    assert answer["verified"] is False
    assert [problem["code"] for problem in answer["problems"]] == ["unknown_key"]
    # The same document pasted into the page's form.
    response = client.post("/ob/verify", data={"credential": json.dumps(credential(method))})
    assert response.status_code == 200
    assert "The credential is signed with a key this portal does not publish." in text_of(response)


@pytest.fixture
def staff_world(app, qualification):
    ic = make_institution("Fundacja Sond", qualifications=[qualification])
    staff = make_user((Role.STAFF, ic))
    return {"ic": ic, "staff": staff, "qualification": qualification, "client": client_as(app, staff)}


def edit_form(**overrides) -> dict:
    data = {"title": "Sesja poprawiona", "starts_at": "2026-12-01T10:00", "mode": "onsite",
            "place": "Kraków, ul. Długa 1", "capacity": "10", "fee_pln": "", "exam_networks": ""}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_editing_a_session_without_its_start_time_field_is_refused_not_a_500(no_propagation, staff_world):
    """POST /sessions/<id>/edit with no ``starts_at`` at all: the form falls back to the stored start
    (an aware UTC datetime) and sessions/forms.py validate_starts_at compares it with the naive
    EARLIEST: TypeError. Either the form comes back with an error at the field, or the stored start
    is kept exactly as it was (not read again as Warsaw time)."""
    session = make_session(staff_world["ic"], staff_world["qualification"], title="Sesja A")
    starts_at = session.starts_at
    response = staff_world["client"].post(f"/sessions/{session.id}/edit", data=edit_form(starts_at=None))
    assert response.status_code in (302, 400), text_of(response)[:300]
    db.session.expire_all()
    stored = db.session.get(ValidationSession, session.id)
    if response.status_code == 400:
        assert 'class="error"' in text_of(response) and stored.title == "Sesja A"
    else:
        assert stored.starts_at == starts_at


def test_editing_a_published_session_without_its_deadline_field_is_refused_not_a_500(no_propagation, staff_world):
    """The same with ``registration_deadline`` left out of a published session's edit (validate_registration_deadline)."""
    starts = datetime.now(UTC) + timedelta(days=30)
    session = make_session(staff_world["ic"], staff_world["qualification"], title="Sesja B", starts_at=starts,
                           published_at=datetime.now(UTC), registration_deadline=starts - timedelta(days=2))
    deadline = session.registration_deadline
    data = edit_form(starts_at=(starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), published="y")
    response = staff_world["client"].post(f"/sessions/{session.id}/edit", data=data)
    assert response.status_code in (302, 400), text_of(response)[:300]
    db.session.expire_all()
    if response.status_code == 400:
        assert 'class="error"' in text_of(response)
    else:
        assert db.session.get(ValidationSession, session.id).registration_deadline == deadline




JSON_BODIES = ["[1, 2]", "5", '"x"', '{"email": 5, "password": "wrong-password-123"}',
               '{"email": {"a": 1}, "password": "wrong-password-123"}', '{"email": "a\\ud800@example.pl", "password": "x"}']


@pytest.mark.parametrize("body", JSON_BODIES)
@pytest.mark.parametrize("path", ["/auth/login", "/auth/register"])
def test_a_json_body_where_a_form_is_expected_is_refused_with_a_reason(no_propagation, path, body):
    """Flask-WTF reads a JSON body as the form (any JSON value where text is expected): every
    endpoint but the credential verifier takes forms only, and says so (415), whatever the body."""
    response = client_as(no_propagation).post(path, data=body, content_type="application/json")
    assert response.status_code == 415
    assert "This address takes a form, not a JSON document." in text_of(response)


def test_a_json_body_with_the_pages_token_is_refused_too(no_propagation):
    import re

    client = client_as(no_propagation)
    no_propagation.config["WTF_CSRF_ENABLED"] = True
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text_of(client.get("/auth/login"))).group(1)
    response = client.post("/auth/login", data="[1, 2]", content_type="application/json", headers={"X-CSRFToken": token})
    assert response.status_code == 415


def test_the_sandbox_takes_forms_only_too(no_propagation, app):
    from tests.web.test_query_params import _sandbox_objects

    owner = make_user(Role.CANDIDATE)
    with app.test_request_context():
        objects = _sandbox_objects(owner)
    response = client_as(app, owner).post(f"/sandbox/w/{objects['ws_id']}/companies/new", data='{"name": 5}',
                                          content_type="application/json")
    assert response.status_code == 415


# --------------------------------------------------------------------------- a file where text is expected


def _upload():
    return (io.BytesIO(b"hello"), "x.txt")


@pytest.mark.parametrize("path, data", [
    ("/auth/login", {"email": "a@example.pl", "password": "upload"}),
    ("/auth/login", {"email": "upload", "password": "x"}),
    ("/auth/register", {"first_name": "Jan", "birth_date": "upload"}),
])
def test_a_file_sent_as_a_text_field_is_that_field_missing_not_a_500(no_propagation, path, data):
    """Flask-WTF reads uploads with the text fields: a file part named like a text field reached its
    filters and validators as a FileStorage (every form answered 500)."""
    sent = {key: _upload() if value == "upload" else value for key, value in data.items()}
    response = client_as(no_propagation).post(path, data=sent, content_type="multipart/form-data")
    assert response.status_code in (200, 400)


def test_a_file_sent_as_a_complaints_name_is_the_name_missing(no_propagation):
    ic = make_institution("Fundacja Skargowa")
    response = client_as(no_propagation).post("/complaints/new", data={
        "institution_id": str(ic.id), "name": _upload(), "email": "a@example.pl", "text": "Skarga", "privacy": "y"},
        content_type="multipart/form-data", headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "Enter your name" in text_of(response)


def test_a_file_sent_as_a_sandbox_field_is_no_500(no_propagation, app):
    from tests.web.test_query_params import _sandbox_objects

    owner = make_user(Role.CANDIDATE)
    with app.test_request_context():
        objects = _sandbox_objects(owner)
    response = client_as(app, owner).post(f"/sandbox/w/{objects['ws_id']}/opportunities/new",
                                          data={"name": "Szansa", "value": _upload()}, content_type="multipart/form-data")
    assert response.status_code in (200, 400)


# --------------------------------------------------------------------------- rows numbered with other digits


@pytest.mark.parametrize("key", ["periods-\u00b2-employer", "periods-\u0661-employer", "periods-99999999999999999999-employer"])
def test_a_renewal_row_numbered_with_digits_int_cannot_read_is_no_row(no_propagation, qualification, key):
    from examportal.certification.rules import today
    from tests.certtools import certification_world, make_certificate
    from tests.factories import expiring

    w = certification_world(qualification, short_name="RW")
    certificate = expiring(make_certificate(w["enrolments"][0], w["staff"]), today() + timedelta(days=150))
    response = client_as(no_propagation, w["candidates"][0]).post(f"/renewals/certificates/{certificate.id}/apply",
                                                                  data={key: "Firma", "compute": "y"})
    assert response.status_code in (200, 400)
    staff = client_as(no_propagation, w["staff"])
    response = staff.post(f"/certification/sessions/{w['session'].id}/fees", data={
        key.replace("periods", "rows").replace("employer", "amount"): "100"})
    assert response.status_code in (200, 302, 400)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize("first, last", [("\u200b", "Kowalski"), ("Jan", "\u202eiksnalwoK"), ("Jan\x1b[31m", "Nowak"),
                                         ("Jan\r\nBcc: x@example.pl", "Nowak"), ("123", "456")])
def test_a_name_with_invisible_characters_or_no_letter_is_refused_at_registration(no_propagation, first, last):
    response = client_as(no_propagation).post("/auth/register", data={
        "first_name": first, "last_name": last, "email": "nowy@example.pl", "password": "długie-hasło-2026",
        "password2": "długie-hasło-2026"}, headers={"Accept-Language": "en"})
    assert response.status_code == 200  # the registration page shows its errors
    page = text_of(response)
    assert "Remove the invisible or control characters from the name." in page or "A name needs at least one letter." in page
    assert db.session.scalar(select(User).where(User.email == "nowy@example.pl")) is None


def test_a_polish_name_with_a_hyphen_and_an_apostrophe_is_a_name():
    from wtforms import Form, StringField

    from examportal.forms import person_name

    class NameForm(Form):
        name = StringField(validators=[person_name])

    for name in ("Anna-Maria", "Łucja Żółkiewska", "O'Connor", "Zoë"):
        form = NameForm(data={"name": name})
        assert form.validate(), (name, form.errors)
