"""Correcting the holder's PESEL with a corrected certificate: checked, saved to the account, shown
masked on the new certificate, audited as "changed" — and the full number never shown, mailed,
audited or logged."""
from __future__ import annotations

import io
import json
import logging
from datetime import date

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import func, select

from examportal.audit import services as audit_log
from examportal.certification import rules, services
from examportal.extensions import db
from examportal.models import AuditEntry, Certificate, CertificateStatus, OutboxMail, Role
from tests.certtools import certification_world, make_certificate
from tests.factories import client_as, make_user, valid_pesel

BIRTH = date(1985, 1, 2)  # Bogdan Świątek's, the second candidate of the world
NEW_PESEL = valid_pesel(BIRTH, "9876")


@pytest.fixture
def world(app, qualification):
    w = certification_world(qualification)
    w["holder"] = w["candidates"][1]
    w["old_pesel"] = w["holder"].pesel
    w["certificate"] = make_certificate(w["enrolments"][1], w["staff"])
    return w


def _form(**changes) -> dict:
    data = {"correct-first_name": "Bogdan", "correct-last_name": "Świątek", "correct-birth_date": BIRTH.isoformat(),
            "correct-pesel": NEW_PESEL, "correct-reason": "Błędny PESEL w systemie dziedzinowym."}
    return data | {f"correct-{key}": value for key, value in changes.items()}


def _replacement(certificate) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.supersedes_id == certificate.id))


def _everything_audited() -> str:
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
    return json.dumps([audit_log._payload(e) for e in entries], ensure_ascii=False, default=str)


def _all_mail() -> str:
    return "\n".join(f"{m.subject}\n{m.body}" for m in db.session.scalars(select(OutboxMail)))


def _pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_only_the_pesel_corrected_reissues_with_it_masked(app, world, caplog):
    caplog.set_level(logging.DEBUG)
    holder, certificate = world["holder"], world["certificate"]
    client = client_as(app, world["staff"])
    url = f"/certification/certificates/{certificate.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'name="correct-pesel"' in page and rules.mask_pesel(world["old_pesel"]) in page
    assert world["old_pesel"] not in page  # the account's full PESEL is not prefilled

    response = client.post(f"{url}/correct", data=_form())
    assert response.status_code == 302
    db.session.expire_all()
    replacement = _replacement(certificate)
    assert replacement is not None and response.headers["Location"].endswith(f"/certification/certificates/{replacement.id}")
    assert holder.pesel == NEW_PESEL
    assert replacement.holder_pesel_masked == rules.mask_pesel(NEW_PESEL) == "*******" + NEW_PESEL[-4:]
    assert replacement.content["holder"]["pesel_masked"] == rules.mask_pesel(NEW_PESEL)
    assert (replacement.holder_first_name, replacement.holder_last_name, replacement.holder_birth_date) == (
        "Bogdan", "Świątek", BIRTH)
    assert certificate.state == CertificateStatus.SUPERSEDED and certificate.holder_pesel_masked == rules.mask_pesel(
        world["old_pesel"])
    assert NEW_PESEL[-4:] in _pdf_text(replacement.pdf)

    # Audited as changed, never the number.
    (corrected,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "certificate.corrected"))
    assert corrected.after["pesel_changed"] is True
    (account,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "account.pesel_corrected"))
    assert account.object_type == "user_account" and account.object_id == str(holder.id)
    assert account.after == {"pesel_changed": True, "certificate_id": certificate.id}
    assert account.actor_id == world["staff"].id

    # The full PESEL (old or new) appears on no page, in no mail, audit entry, PDF or log line.
    pages = [client.get(f"/certification/certificates/{c.id}").get_data(as_text=True) for c in (certificate, replacement)]
    pages.append(client_as(app, holder).get("/certification/mine").get_data(as_text=True))
    pages.append(client.get("/certification/register").get_data(as_text=True))
    pages.append(client.get(f"/verify/{replacement.verification_code}").get_data(as_text=True))
    pages.append(client.get("/audit/").get_data(as_text=True))
    assert rules.mask_pesel(NEW_PESEL) in pages[1]
    for full in (NEW_PESEL, world["old_pesel"]):
        assert not any(full in text for text in pages)
        assert full not in _all_mail() and full not in _everything_audited()
        assert full not in _pdf_text(replacement.pdf) and full not in caplog.text
    assert replacement.number in _all_mail()


def test_a_pesel_with_names_and_a_birth_date_corrected_together(app, world):
    holder, certificate = world["holder"], world["certificate"]
    born = date(1985, 2, 1)
    pesel = valid_pesel(born, "1111")
    replacement = services.correct(world["staff"], certificate, first_name="Bogdan", last_name="Świątek",
                                   birth_date=born, reason="Zamienione dzień i miesiąc urodzenia.", pesel=pesel)
    assert replacement.holder_birth_date == born and replacement.holder_pesel_masked == rules.mask_pesel(pesel)
    assert holder.pesel == pesel


def test_a_holder_without_a_pesel_gets_one(app, world):
    holder = world["candidates"][2]  # no PESEL and no date of birth in the account
    certificate = make_certificate(world["enrolments"][2], world["staff"])
    assert certificate.holder_pesel_masked is None
    client = client_as(app, world["staff"])
    page = client.get(f"/certification/certificates/{certificate.id}").get_data(as_text=True)
    assert "The holder's account has no PESEL." in page
    pesel = valid_pesel(date(2001, 7, 9), "2468")
    response = client.post(f"/certification/certificates/{certificate.id}/correct", data={
        "correct-first_name": "Cezary", "correct-last_name": "Nowak", "correct-pesel": pesel,
        "correct-reason": "Uzupełnienie numeru PESEL."})
    assert response.status_code == 302
    db.session.expire_all()
    assert holder.pesel == pesel and _replacement(certificate).holder_pesel_masked == rules.mask_pesel(pesel)


@pytest.mark.parametrize("typed, message", [
    ("12345678901", "This PESEL number is not valid: check the digits."),
    ("8501020", "This PESEL number is not valid: check the digits."),
    ("８５０１０２９８７６５", "This PESEL number is not valid: check the digits."),  # full-width digits
    ("9" * 10_000, "This PESEL number is not valid: check the digits."),
    ("<script>alert(1)</script>", "This PESEL number is not valid: check the digits."),
    (valid_pesel(date(1990, 5, 17), "5555"), "The PESEL number does not match the date of birth."),
])
def test_a_bad_pesel_is_refused_and_never_echoed(app, world, typed, message):
    certificate = world["certificate"]
    client = client_as(app, world["staff"])
    response = client.post(f"/certification/certificates/{certificate.id}/correct", data=_form(pesel=typed))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'class="error"' in html
    assert typed not in html and 'name="correct-pesel" type="text" value=""' in html
    assert "Błędny PESEL w systemie dziedzinowym." in html  # the rest of what was typed stays
    db.session.expire_all()
    assert _replacement(certificate) is None and world["holder"].pesel == world["old_pesel"]
    assert certificate.state == CertificateStatus.VALID


def test_the_service_checks_the_pesel_too(app, world):
    staff, certificate = world["staff"], world["certificate"]
    cases = [
        ("12345678901", BIRTH, "This PESEL number is not valid"),
        (valid_pesel(date(1990, 5, 17), "5555"), BIRTH, "The PESEL number does not match the date of birth."),
        (world["candidates"][0].pesel, None, "This PESEL number is already in another person's account"),
    ]
    for pesel, born, message in cases:
        with force_locale("en"), pytest.raises(services.CertificationError, match=message):
            services.correct(staff, certificate, first_name="Bogdan", last_name="Świątek", birth_date=born,
                             reason="Korekta.", pesel=pesel)
        db.session.rollback()
    # The same PESEL as the account's, nothing else changed: nothing to correct.
    with force_locale("en"), pytest.raises(services.CertificationError, match="Nothing was changed"):
        services.correct(staff, certificate, first_name="Bogdan", last_name="Świątek", birth_date=BIRTH,
                         reason="Korekta.", pesel=world["old_pesel"])
    db.session.rollback()
    assert db.session.scalar(select(func.count(Certificate.id))) == 1


def test_another_accounts_pesel_is_refused_without_showing_it(app, world):
    certificate, taken = world["certificate"], world["candidates"][0].pesel
    client = client_as(app, world["staff"])
    response = client.post(f"/certification/certificates/{certificate.id}/correct",
                           data=_form(pesel=taken, birth_date="1990-05-17"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This PESEL number is already in another person&#39;s account" in html and taken not in html
    db.session.expire_all()
    assert _replacement(certificate) is None and world["holder"].pesel == world["old_pesel"]


def test_the_same_pesel_and_data_change_nothing(app, world):
    certificate = world["certificate"]
    client = client_as(app, world["staff"])
    response = client.post(f"/certification/certificates/{certificate.id}/correct", data=_form(pesel=world["old_pesel"]))
    assert response.status_code == 400 and "Nothing was changed" in response.get_data(as_text=True)
    # Without a PESEL the correction works as before.
    response = client.post(f"/certification/certificates/{certificate.id}/correct",
                           data=_form(pesel="", last_name="Świątek-Nowicki"))
    assert response.status_code == 302
    db.session.expire_all()
    replacement = _replacement(certificate)
    assert replacement.holder_pesel_masked == rules.mask_pesel(world["old_pesel"])
    (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "certificate.corrected"))
    assert entry.after["pesel_changed"] is False
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.pesel_corrected")) is None


def test_only_staff_of_the_issuer_correct_the_pesel(app, world):
    certificate = world["certificate"]
    for person in (world["child_staff"], make_user((Role.STAFF, world["child"]))):
        response = client_as(app, person).post(f"/certification/certificates/{certificate.id}/correct", data=_form())
        assert response.status_code == 400 and NEW_PESEL not in response.get_data(as_text=True)
    assert client_as(app, world["holder"]).post(f"/certification/certificates/{certificate.id}/correct",
                                                data=_form()).status_code == 403
    db.session.expire_all()
    assert world["holder"].pesel == world["old_pesel"] and _replacement(certificate) is None


def test_a_pesel_taken_meanwhile_is_refused_by_the_database(app, world, monkeypatch):
    """Another account given the same PESEL between the check and the save: the unique index
    refuses it, in words, and nothing is issued."""
    taken = world["candidates"][0].pesel
    monkeypatch.setattr(services, "_pesel_correction", lambda certificate, pesel, birth_date: taken)
    response = client_as(app, world["staff"]).post(f"/certification/certificates/{world['certificate'].id}/correct",
                                                   data=_form())
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "already in another person&#39;s account" in html and taken not in html
    db.session.expire_all()
    assert world["holder"].pesel == world["old_pesel"] and _replacement(world["certificate"]) is None
