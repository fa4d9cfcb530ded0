"""Open Badges pages: the public issuer profile, keys, JWKS and status lists, the holder's
downloads (JSON and the baked SVG), and the verification endpoint (JSON and the form)."""
from __future__ import annotations

import copy
import io
import json
import xml.etree.ElementTree as ET
import zipfile

import pytest
from sqlalchemy import select

from examportal.certification import batch, services
from examportal.credentials import badge, keys, status
from examportal.extensions import db
from examportal.models import Certificate, Role
from tests.certtools import certification_world, make_certificate
from tests.factories import client_as, make_institution, make_user

OB_NS = "https://purl.imsglobal.org/ob/v3p0"


@pytest.fixture
def world(app, qualification):
    return certification_world(qualification)


@pytest.fixture
def issued(world):
    certificate = make_certificate(world["enrolments"][1], world["staff"])
    return certificate, badge.credential_for(certificate)


def _post_json(client, document):
    return client.post("/ob/verify", data=json.dumps(document), content_type="application/json")


# --------------------------------------------------------------------------- public documents


def test_the_issuer_profile_names_the_institution(client, issued, world):
    _, row = issued
    response = client.get(f"/ob/issuers/{world['ic'].id}")
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    profile = response.get_json()
    assert profile["type"] == ["Profile"] and profile["name"] == world["ic"].name
    assert profile["id"] == row.document["issuer"]["id"]


def test_an_institution_that_signed_nothing_has_no_profile(client, world):
    assert client.get(f"/ob/issuers/{world['child'].id}").status_code == 404
    assert client.get("/ob/issuers/999999").status_code == 404


def test_the_verification_method_answers_with_the_issuers_multikey(client, issued, world):
    _, row = issued
    method = row.document["proof"]["verificationMethod"]
    document = client.get(method.split("//", 1)[1].split("/", 1)[1].join(["/", ""])).get_json()
    assert document["id"] == method and document["type"] == "Multikey"
    assert document["controller"] == row.document["issuer"]["id"]
    assert keys.public_key_from_multibase(document["publicKeyMultibase"]) == row.key.public_key
    assert client.get(f"/ob/issuers/{world['ic'].id}/keys/nope").status_code == 404
    assert client.get(f"/ob/issuers/{world['ic'].id}/keys/{'x' * 200}").status_code == 404


def test_rotation_keeps_the_old_key_published(client, issued, world):
    _, row = issued
    keys.rotate(world["ic"], world["staff"])
    listed = client.get(f"/ob/issuers/{world['ic'].id}/keys").get_json()["keys"]
    assert [k["signing"] for k in listed] == [False, True] and listed[0]["retired"]
    jwks = client.get(f"/ob/issuers/{world['ic'].id}/jwks.json").get_json()["keys"]
    assert {k["kid"] for k in jwks} == {k.kid for k in keys.published_keys(world["ic"].id)}
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k for k in jwks)
    assert _post_json(client, row.document).get_json()["verified"] is True


def test_the_status_list_is_signed_and_shows_a_revocation(client, issued, world):
    certificate, row = issued
    url = f"/ob/status/{row.revocation_list_id}"
    before = client.get(url).get_json()
    assert before["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert before["credentialSubject"]["statusPurpose"] == "revocation"
    bits = status.decode(before["credentialSubject"]["encodedList"])
    assert len(bits) * 8 >= 131_072 and not status.bit(bits, row.revocation_index)
    services.change_status(world["staff"], certificate, "revoke", "Fałszerstwo dokumentów.")
    after = client.get(url).get_json()
    assert status.bit(status.decode(after["credentialSubject"]["encodedList"]), row.revocation_index)
    assert after["proof"]["proofValue"] != before["proof"]["proofValue"]
    assert client.get("/ob/status/999999").status_code == 404


def test_the_badge_image(client, qualification):
    response = client.get(f"/ob/badges/{qualification.code}.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    ET.fromstring(response.data)  # well-formed
    assert client.get("/ob/badges/00000.svg").status_code == 404


# --------------------------------------------------------------------------- the holder's downloads


def test_the_holder_downloads_the_credential_and_the_baked_badge(app, issued, world):
    certificate, row = issued
    client = client_as(app, world["candidates"][1])
    response = client.get(f"/ob/credentials/{certificate.id}.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.get_json() == row.document
    svg = client.get(f"/ob/credentials/{certificate.id}.svg")
    root = ET.fromstring(svg.data)
    baked = root.find(f"{{{OB_NS}}}credential")
    assert baked is not None and json.loads(baked.text) == row.document
    assert certificate.holder_name in svg.get_data(as_text=True)


def test_only_the_holder_and_the_institutions_staff_download_it(app, issued, world, qualification):
    certificate, _ = issued
    for staff in (world["staff"], world["child_staff"]):  # the issuer's and the validating institution's
        assert client_as(app, staff).get(f"/ob/credentials/{certificate.id}.json").status_code == 200
    elsewhere = make_user((Role.STAFF, make_institution("Inna", qualifications=[qualification], short_name="INNA")))
    for other in (world["candidates"][0], elsewhere, None):
        client = client_as(app, other) if other else client_as(app)
        assert client.get(f"/ob/credentials/{certificate.id}.json").status_code == 404
        assert client.get(f"/ob/credentials/{certificate.id}.svg").status_code == 404
    assert client_as(app, world["staff"]).get("/ob/credentials/999999.json").status_code == 404


def test_a_certificate_issued_without_a_credential_gets_one_on_download(app, world):
    from examportal.certification import hooks

    with _disconnected(hooks.issued, badge._on_issued):
        certificate = make_certificate(world["enrolments"][1], world["staff"])
    assert badge.credential_for(certificate) is None
    document = client_as(app, world["candidates"][1]).get(f"/ob/credentials/{certificate.id}.json").get_json()
    assert _post_json(app.test_client(), document).get_json()["verified"] is True


def test_no_new_credential_for_a_revoked_certificate(app, world):
    from examportal.certification import hooks

    with _disconnected(hooks.issued, badge._on_issued):
        certificate = make_certificate(world["enrolments"][1], world["staff"])
    services.change_status(world["staff"], certificate, "revoke", "Fałszerstwo.")
    assert client_as(app, world["candidates"][1]).get(f"/ob/credentials/{certificate.id}.json").status_code == 404
    assert badge.credential_for(certificate) is None


class _disconnected:
    def __init__(self, signal, receiver):
        self.signal, self.receiver = signal, receiver

    def __enter__(self):
        self.signal.disconnect(self.receiver)

    def __exit__(self, *exc):
        self.signal.connect(self.receiver)


def test_the_batch_zip_holds_each_certificates_signed_credential(app, world):
    decisions = services.decide(world["staff"], world["session"], [e.id for e in world["enrolments"][1:]], True, None)
    job = batch.start(world["staff"], world["session"], decisions)
    archive = zipfile.ZipFile(io.BytesIO(job.result))
    credentials = [n for n in archive.namelist() if n.endswith(".credential.json")]
    assert len(credentials) == 2
    client = app.test_client()
    for name in credentials:
        assert _post_json(client, json.loads(archive.read(name))).get_json()["verified"] is True
    assert len(db.session.scalars(select(Certificate)).all()) == 2


# --------------------------------------------------------------------------- verification


def test_a_valid_credential_verifies_as_json(client, issued):
    certificate, row = issued
    result = _post_json(client, row.document).get_json()
    assert result["verified"] is True and result["signature"]["valid"] is True
    assert result["status"] == {"checked": True, "revoked": False, "superseded": False, "suspended": False}
    assert result["certificate"]["number"] == certificate.number
    assert result["certificate"]["verification_url"] == f"/verify/{certificate.verification_code}"


def test_a_tampered_credential_fails_with_a_reason(client, issued):
    _, row = issued
    tampered = copy.deepcopy(row.document)
    tampered["validUntil"] = "2099-12-31T23:59:59Z"
    result = _post_json(client, tampered).get_json()
    assert result["verified"] is False and result["signature"]["valid"] is False
    assert [p["code"] for p in result["problems"]] == ["bad_signature"]
    assert "zmieniono po podpisaniu" in result["problems"][0]["message"]  # the default language


def test_a_revoked_credential_reports_revoked(client, issued, world):
    certificate, row = issued
    services.change_status(world["staff"], certificate, "revoke", "Oszustwo wykryte po wydaniu.")
    result = _post_json(client, row.document).get_json()
    assert result["signature"]["valid"] is True and result["status"]["revoked"] is True
    assert result["verified"] is False and [p["code"] for p in result["problems"]] == ["revoked"]


def test_a_replaced_credential_reports_replaced_not_revoked(app, client, issued, world):
    certificate, row = issued
    replacement = services.correct(world["staff"], certificate, first_name="Bogusław", last_name="Świątek",
                                   birth_date=certificate.holder_birth_date, reason="Błąd w imieniu.")
    result = _post_json(client, row.document).get_json()
    assert result["status"] == {"checked": True, "revoked": True, "superseded": True, "suspended": False}
    assert result["verified"] is False and [p["code"] for p in result["problems"]] == ["superseded"]
    assert "zastąpione nowszym" in result["problems"][0]["message"]
    assert result["certificate"]["number"] == certificate.number
    assert result["certificate"]["replaced_by"] == {"number": replacement.number,
                                                    "verification_url": f"/verify/{replacement.verification_code}"}
    page = client_as(app).post("/ob/verify", data={"credential": json.dumps(row.document)}).get_data(as_text=True)
    assert "replaced by a newer credential" in page and "revoked by the issuer" not in page
    assert f">{replacement.number}</a>" in page and replacement.verification_code in page
    newer = _post_json(client, badge.credential_for(replacement).document).get_json()
    assert newer["verified"] is True and newer["status"]["superseded"] is False
    assert newer["certificate"]["replaced_by"] is None
    # Corrected once more: the first credential names the certificate in force now, not the one between.
    newest = services.correct(world["staff"], replacement, first_name="Bogusław", last_name="Świątek-Nowak",
                              birth_date=certificate.holder_birth_date, reason="Nazwisko po ślubie.")
    assert _post_json(client, row.document).get_json()["certificate"]["replaced_by"]["number"] == newest.number


def test_a_suspended_credential_reports_suspended_until_lifted(client, issued, world):
    certificate, row = issued
    services.change_status(world["staff"], certificate, "suspend", "Postępowanie wyjaśniające.")
    assert _post_json(client, row.document).get_json()["status"]["suspended"] is True
    services.change_status(world["staff"], certificate, "lift", "Wyjaśnione.")
    assert _post_json(client, row.document).get_json()["verified"] is True


@pytest.mark.parametrize("body, content_type", [
    ("{not json", "application/json"), ("[]", "application/json"), ("", "application/json"),
    ('{"@context": 5}', "application/ld+json"), ("\x00" * 100, "application/json"),
])
def test_bad_json_is_answered_not_crashed(client, app, body, content_type):
    response = client.post("/ob/verify", data=body, content_type=content_type)
    assert response.status_code in (200, 400)
    result = response.get_json()
    assert result["verified"] is False and result["problems"]


def test_the_form_checks_a_pasted_or_uploaded_credential(app, issued):
    _, row = issued
    client = client_as(app)
    page = client.post("/ob/verify", data={"credential": json.dumps(row.document)})
    assert page.status_code == 200 and 'id="verdict"' in page.get_data(as_text=True)
    assert "The credential is valid" in page.get_data(as_text=True)
    upload = client.post("/ob/verify", data={"upload": (io.BytesIO(json.dumps(row.document).encode()), "c.json")},
                         content_type="multipart/form-data")
    assert "The credential is valid" in upload.get_data(as_text=True)
    tampered = json.dumps(row.document).replace(row.document["validFrom"], "2020-01-01T00:00:00Z")
    page = client.post("/ob/verify", data={"credential": tampered})
    text = page.get_data(as_text=True)
    assert "The credential is not valid" in text and "changed after it was signed" in text
    assert tampered.replace('"', "&#34;")[:40] in text  # what was pasted stays in the field
    empty = client.post("/ob/verify", data={"credential": "  "})
    assert empty.status_code == 400 and "Paste the credential" in empty.get_data(as_text=True)


def test_the_page_is_polish_by_default(app):
    page = client_as(app, lang=None).get("/ob/verify").get_data(as_text=True)
    assert "Zweryfikuj poświadczenie cyfrowe" in page


def test_the_json_endpoint_needs_no_csrf_token_but_the_site_still_does(app_factory, issued):
    _, row = issued
    guarded = app_factory(WTF_CSRF_ENABLED=True)
    client = guarded.test_client()
    assert client.post("/ob/verify", data=json.dumps(row.document), content_type="application/json").status_code == 200
    assert client.post("/auth/login", data={"email": "x@example.pl", "password": "x"}).status_code == 400


def test_verification_posts_are_rate_limited(app, app_factory):
    limited = app_factory(CREDENTIAL_VERIFY_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    codes = [client.post("/ob/verify", data="{}", content_type="application/json").status_code for _ in range(3)]
    assert codes[:2] != [429, 429] and codes[2] == 429
    assert client.get("/ob/verify").status_code == 200  # reading the form is not limited
