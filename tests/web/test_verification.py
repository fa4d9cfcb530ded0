"""Public verification: what the QR code opens and what the lookup form finds, with nothing personal
but the holder's name, in Polish and English, and lookups by number rate-limited."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from examportal.certification import services
from examportal.extensions import db
from examportal.models import Certificate, CertificateStatus
from tests.certtools import certification_world, make_certificate
from tests.factories import client_as


@pytest.fixture
def world(app, qualification):
    world = certification_world(qualification)
    world["certificate"] = make_certificate(world["enrolments"][0], world["staff"])
    return world


def _personal_data(world) -> list[str]:
    holder, certificate = world["candidates"][0], world["certificate"]
    birth = holder.birth_date
    return [holder.pesel, certificate.holder_pesel_masked, holder.pesel[-4:], holder.email, "PESEL",
            birth.isoformat(), birth.strftime("%d.%m.%Y"), f"{birth.day} May {birth.year}", f"{birth.day} maj {birth.year}",
            holder.birth_place]


def test_the_verification_page_shows_the_certificate_and_nothing_else_personal(app, world, qualification):
    certificate = world["certificate"]
    response = client_as(app).get(f"/verify/{certificate.verification_code}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="status">valid<' in html and "badge ok" in html and "This certificate is valid." in html
    assert "Łucja Żółkiewska" in html and certificate.number in html
    assert qualification.name_en in html and "13881" in html
    assert "Fundacja VCC" in html and "Ośrodek VCC" in html  # the issuer and the validating institution
    assert certificate.issued_on.strftime("%b") in html and str(certificate.valid_until.year) in html
    for outcome_set in qualification.outcome_sets:
        assert outcome_set.name_en in html
        for outcome in outcome_set.outcomes:
            assert outcome.name_en in html
    for secret in _personal_data(world):
        assert secret not in html, secret


def test_the_page_speaks_polish_by_default(app, world, qualification):
    html = client_as(app, lang=None).get(f"/verify/{world['certificate'].verification_code}").get_data(as_text=True)
    assert '<html lang="pl">' in html and 'id="status">ważny<' in html
    assert qualification.name_pl in html and qualification.outcome_sets[0].outcomes[0].name_pl in html
    for secret in _personal_data(world):
        assert secret not in html, secret


@pytest.mark.parametrize("change, label, words, colour", [
    ("suspend", "suspended", "is suspended by its issuer", "warn"),
    ("revoke", "revoked", "has been revoked by its issuer", "danger"),
])
def test_a_suspended_or_revoked_certificate_says_so(app, world, change, label, words, colour):
    services.change_status(world["staff"], world["certificate"], change, "Powód zmiany statusu.")
    html = client_as(app).get(f"/verify/{world['certificate'].verification_code}").get_data(as_text=True)
    assert f'id="status">{label}<' in html and words in html and f"badge {colour}" in html
    assert "Powód zmiany statusu." not in html  # the reason may name people: it stays with the institution


def test_an_expired_certificate_says_so(app, world):
    certificate = world["certificate"]
    certificate.issued_on, certificate.valid_until = date.today() - timedelta(days=5 * 366), date.today() - timedelta(days=1)
    db.session.commit()
    html = client_as(app).get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    assert 'id="status">expired<' in html and "has expired" in html


def test_a_correction_shows_the_chain_on_both_pages(app, world):
    old = world["certificate"]
    new = services.correct(world["staff"], old, first_name="Łucja", last_name="Żółkiewska-Nowak",
                           birth_date=old.holder_birth_date, reason="Zmiana nazwiska.")
    client = client_as(app)
    old_page = client.get(f"/verify/{old.verification_code}").get_data(as_text=True)
    assert 'id="status">superseded<' in old_page and "replaced by a newer one" in old_page
    new_page = client.get(f"/verify/{new.verification_code}").get_data(as_text=True)
    assert 'id="status">valid<' in new_page and "Łucja Żółkiewska-Nowak" in new_page
    for page in (old_page, new_page):
        assert 'id="chain"' in page and old.number in page and new.number in page
        assert page.index(old.number, page.index('id="chain"')) < page.index(new.number, page.index('id="chain"'))
    assert f"/verify/{new.verification_code}" in old_page and f"/verify/{old.verification_code}" in new_page
    assert "Zmiana nazwiska." not in old_page + new_page


def test_lookup_by_number_or_code_opens_the_certificate(app, world):
    certificate, client = world["certificate"], client_as(app)
    for typed in (certificate.number, certificate.number.lower(), f"  {certificate.number} ", certificate.verification_code):
        response = client.get("/verify/lookup", query_string={"q": typed})
        assert response.status_code == 302, typed
        assert response.headers["Location"].endswith(f"/verify/{certificate.verification_code}")
    assert client.get("/verify").status_code == 200


@pytest.mark.parametrize("typed", ["VCC/13881/2026/999999", "XYZ/13881/2020/000001", "hello", "x" * 40, "VCC/13881/20/1",
                                   "ZAŻÓŁĆ", "' OR 1=1 --"])
def test_an_unknown_number_says_so_plainly(app, world, typed):
    response = client_as(app).get("/verify/lookup", query_string={"q": typed})
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "No certificate with this number or code exists." in html and f'value="{typed}"'.replace("'", "&#39;") in html


@pytest.mark.parametrize("query, message", [({"q": ""}, "number or its verification code."), ({}, "number or its verification code."),
                                            ({"q": "x" * 101}, "at most 100 characters")])
def test_an_empty_or_overlong_lookup_is_refused(app, world, query, message):
    response = client_as(app).get("/verify/lookup", query_string=query)
    assert response.status_code == 400 and message in response.get_data(as_text=True)


@pytest.mark.parametrize("code", ["abc", "x" * 32, "x" * 500, "%00", "a.b~c", "ZAŻÓŁĆ-GĘŚLĄ-JAŹŃ-ZAŻÓŁĆ-GĘŚLĄ-JAŹŃ"])
def test_an_unknown_or_malformed_code_is_a_plain_404(app, world, code):
    response = client_as(app).get(f"/verify/{code}")
    assert response.status_code == 404
    assert "No certificate with this number or code exists." in response.get_data(as_text=True)


def test_lookups_are_rate_limited(app, world):
    app.config["VERIFY_RATE_LIMIT"] = "5 per minute"
    client = client_as(app)
    statuses = [client.get("/verify/lookup", query_string={"q": f"VCC/13881/2026/{n:06d}"}).status_code for n in range(7)]
    assert 429 not in statuses[:5] and statuses[5:] == [429, 429]
    # Another address is not held up, and the QR's own link still opens.
    assert client_as(app).get("/verify/lookup", query_string={"q": world["certificate"].number}).status_code == 302
    assert client.get(f"/verify/{world['certificate'].verification_code}").status_code == 200


def test_codes_are_random_and_long(app, world, qualification):
    codes = [c.verification_code for c in db.session.query(Certificate)]
    for enrolment in world["enrolments"][1:]:
        codes.append(make_certificate(enrolment, world["staff"]).verification_code)
    assert len(set(codes)) == len(codes) == 3
    assert all(len(code) >= 32 and services.rules.looks_like_code(code) for code in codes)


def test_the_status_is_computed_today_not_stored(app, world):
    certificate = world["certificate"]
    assert certificate.state == CertificateStatus.VALID
    assert services.public_view(certificate, "en")["status"] == "valid"
    certificate.valid_until = date.today() - timedelta(days=1)
    assert services.public_view(certificate, "en")["status"] == "expired"
    assert set(services.public_view(certificate, "en")) == {
        "number", "code", "status", "status_label", "colour", "holder_name", "qualification_code", "qualification_name",
        "prk_level", "issuer", "validating_institution", "issued_on", "valid_until", "outcome_sets", "chain",
        "renewed_from", "renewed_by"}  # the certificates of a renewal: number, code and validity only
