"""Duplicates the holder asks for online: the request on "my certificates", what refuses it, the
staff's list and their answer (issue or refuse with a reason), the mails and the audit."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask_babel import force_locale
from markupsafe import escape
from sqlalchemy import func, select

from examportal.audit import services as audit_log
from examportal.certification import rules, services
from examportal.extensions import db
from examportal.models import (
    AuditEntry,
    CertificateDuplicate,
    DuplicateRequest,
    DuplicateRequestStatus,
    OutboxMail,
    Role,
)
from tests.certtools import certification_world, make_certificate
from tests.factories import client_as, make_institution, make_user

REASON = "Oryginał spłonął w pożarze mieszkania."
REFUSAL = "Prosimy o osobiste złożenie wniosku z dowodem tożsamości."


@pytest.fixture
def world(app, qualification):
    w = certification_world(qualification)
    w["holder"] = w["candidates"][0]
    w["certificate"] = make_certificate(w["enrolments"][0], w["staff"])
    return w


def _mails(user) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.user_id == user.id).order_by(OutboxMail.id)))


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def _everything_audited() -> str:
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
    return json.dumps([audit_log._payload(e) for e in entries], ensure_ascii=False, default=str)


def _requests() -> list[DuplicateRequest]:
    return list(db.session.scalars(select(DuplicateRequest).order_by(DuplicateRequest.id)))


def _ask(client, certificate, reason=REASON):
    return client.post(f"/certification/mine/{certificate.id}/duplicate-request",
                       data={f"duplicate-{certificate.id}-reason": reason})


def _base(request: DuplicateRequest) -> str:
    return f"/certification/certificates/{request.certificate_id}/duplicate-requests/{request.id}"


# --------------------------------------------------------------------------- the happy paths


def test_the_holder_asks_and_staff_issue_the_duplicate(app, world):
    holder, certificate = world["holder"], world["certificate"]
    client = client_as(app, holder)
    page = client.get("/certification/mine").get_data(as_text=True)
    assert "Request a duplicate" in page and f'name="duplicate-{certificate.id}-reason"' in page

    response = _ask(client, certificate)
    assert response.status_code == 302 and response.headers["Location"].endswith("/certification/mine")
    (request,) = _requests()
    assert (request.status, request.reason, request.requested_by_id) == (DuplicateRequestStatus.OPEN, REASON, holder.id)
    page = client.get("/certification/mine").get_data(as_text=True)
    assert "Your request for a duplicate has been sent to Fundacja VCC" in page and "waiting" in page
    assert f'name="duplicate-{certificate.id}-reason"' not in page  # one open request at a time

    # Audited, the holder by id and the reason only as a digest.
    (entry,) = _audit("certificate.duplicate_requested")
    assert entry.object_id == str(certificate.id) and entry.actor_id == holder.id
    assert entry.after["request_id"] == request.id and entry.after["by"] == holder.id
    assert entry.after["reason"].startswith(audit_log.TEXT_DIGEST_PREFIX)
    assert REASON not in _everything_audited() and holder.last_name not in _everything_audited()

    # The issuing institution's staff are mailed a link; the validating institution's are not.
    for person in ("staff", "staff2", "chair"):
        (mail,) = _mails(world[person])
        assert certificate.number in mail.body and f"/certification/certificates/{certificate.id}" in mail.body
        assert "/certification/duplicate-requests" in mail.body
    assert _mails(world["child_staff"]) == []

    # Staff find it from the register, in their list and on the certificate's page.
    staff = client_as(app, world["staff"])
    register = staff.get("/certification/register").get_data(as_text=True)
    assert "/certification/duplicate-requests" in register and "Requests for duplicates (1)" in register
    listed = staff.get("/certification/duplicate-requests")
    assert listed.status_code == 200
    html = listed.get_data(as_text=True)
    assert certificate.number in html and holder.full_name in html and REASON in html
    page = staff.get(f"/certification/certificates/{certificate.id}").get_data(as_text=True)
    assert REASON in page and "Issue the duplicate" in page and "Refuse" in page

    response = staff.post(f"{_base(request)}/issue")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/certification/certificates/{certificate.id}")
    db.session.expire_all()
    (duplicate,) = certificate.duplicates
    assert duplicate.reason == REASON and duplicate.issued_by_id == world["staff"].id
    assert (request.status, request.duplicate_id, request.handled_by_id) == (DuplicateRequestStatus.ISSUED, duplicate.id,
                                                                              world["staff"].id)
    assert request.handled_at is not None
    (entry,) = _audit("certificate.duplicate_issued")
    assert entry.after["request_id"] == request.id and entry.after["duplicate_id"] == duplicate.id
    assert "No request is waiting." in staff.get("/certification/duplicate-requests").get_data(as_text=True)

    # The holder is mailed and downloads the duplicate from their page; nobody else can.
    mail = _mails(holder)[-1]
    assert certificate.number in mail.body and REASON in mail.body and "/certification/mine" in mail.body
    page = client.get("/certification/mine").get_data(as_text=True)
    link = f"/certification/certificates/{certificate.id}/duplicates/{duplicate.id}.pdf"
    assert "duplicate issued" in page and link in page and "Download the duplicate (PDF)" in page
    download = client.get(link)
    assert download.status_code == 200 and download.data == duplicate.pdf
    assert client_as(app, world["candidates"][1]).get(link).status_code == 404
    # A new request may follow once the first is answered.
    assert f'name="duplicate-{certificate.id}-reason"' in page


def test_staff_refuse_with_a_reason_the_holder_receives(app, world):
    holder, certificate = world["holder"], world["certificate"]
    holder.locale = "en"
    db.session.commit()
    request = services.request_duplicate(holder, certificate, REASON)
    staff = client_as(app, world["staff"])

    # The reason is required; what was typed elsewhere stays, nothing changes.
    for empty in ("", "   "):
        response = staff.post(f"{_base(request)}/refuse", data={"refuse-response": empty})
        assert response.status_code == 400
        assert "Give the reason for the refusal: the holder receives it." in response.get_data(as_text=True)
    huge = "x" * 6000
    response = staff.post(f"{_base(request)}/refuse", data={"refuse-response": huge})
    assert response.status_code == 400 and huge in response.get_data(as_text=True)
    db.session.expire_all()
    assert request.status == DuplicateRequestStatus.OPEN

    response = staff.post(f"{_base(request)}/refuse", data={"refuse-response": REFUSAL})
    assert response.status_code == 302
    db.session.expire_all()
    assert (request.status, request.response, request.handled_by_id) == (DuplicateRequestStatus.REFUSED, REFUSAL,
                                                                          world["staff"].id)
    assert request.duplicate_id is None and certificate.duplicates == []
    (entry,) = _audit("certificate.duplicate_request_refused")
    assert entry.after["request_id"] == request.id and entry.after["reason"].startswith(audit_log.TEXT_DIGEST_PREFIX)
    assert REFUSAL not in _everything_audited()

    mail = _mails(holder)[-1]
    assert mail.subject == "Your request for a duplicate"
    assert f"has refused your request for a duplicate of certificate no. {certificate.number}" in mail.body
    assert REFUSAL in mail.body
    page = client_as(app, holder).get("/certification/mine").get_data(as_text=True)
    assert "refused" in page and escape(REFUSAL) in page
    # Handled once: neither a second refusal nor an issue afterwards.
    for action, data in (("refuse", {"refuse-response": "Znowu"}), ("issue", {})):
        response = staff.post(f"{_base(request)}/{action}", data=data)
        assert response.status_code == 400 and "This request has already been handled." in response.get_data(as_text=True)
    assert certificate.duplicates == []
    # The holder may ask again.
    assert _ask(client_as(app, holder), certificate, "Ponownie: zgubiony").status_code == 302
    assert [r.status for r in _requests()] == [DuplicateRequestStatus.REFUSED, DuplicateRequestStatus.OPEN]


# --------------------------------------------------------------------------- what refuses a request


def test_only_the_holder_asks(app, world):
    certificate = world["certificate"]
    with force_locale("en"), pytest.raises(services.CertificationError, match="Only the certificate's holder"):
        services.request_duplicate(world["candidates"][1], certificate, REASON)
    db.session.rollback()
    for person in (world["candidates"][1], world["staff"], world["child_staff"]):
        response = _ask(client_as(app, person), certificate)
        assert response.status_code == 404
        assert certificate.number not in client_as(app, person).get("/certification/mine").get_data(as_text=True)
    assert _ask(client_as(app), certificate).status_code == 302  # anonymous: to the login page
    assert _requests() == []


@pytest.mark.parametrize("change, message", [
    ("revoke", "This certificate is revoked."),
    ("suspend", "This certificate is suspended"),
    ("supersede", "This certificate has been replaced by a newer one"),
    ("expire", "This certificate has expired: a duplicate of it cannot be requested online"),
])
def test_no_request_for_a_certificate_that_cannot_have_one(app, world, monkeypatch, change, message):
    holder, certificate = world["holder"], world["certificate"]
    if change in ("revoke", "suspend"):
        services.change_status(world["staff"], certificate, change, "Wyjaśnianie.")
    elif change == "supersede":
        services.correct(world["staff"], certificate, first_name="Łucja", last_name="Nowa", birth_date=None,
                         reason="Zmiana nazwiska.")
    else:
        later = certificate.valid_until + timedelta(days=1)
        monkeypatch.setattr(rules, "today", lambda: later)
    with force_locale("en"):
        assert message in services.duplicate_request_refusal(holder, certificate)
        with pytest.raises(services.CertificationError, match=re.escape(message)):
            services.request_duplicate(holder, certificate, REASON)
    db.session.rollback()
    client = client_as(app, holder)
    assert f'name="duplicate-{certificate.id}-reason"' not in client.get("/certification/mine").get_data(as_text=True)
    response = _ask(client, certificate)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _requests() == []


def test_one_open_request_per_certificate(app, world, monkeypatch):
    holder, certificate = world["holder"], world["certificate"]
    services.request_duplicate(holder, certificate, REASON)
    already = "You have already asked for a duplicate of this certificate"
    with force_locale("en"), pytest.raises(services.CertificationError, match=already):
        services.request_duplicate(holder, certificate, "Drugi raz")
    db.session.rollback()
    response = _ask(client_as(app, holder), certificate, "Drugi raz")
    assert response.status_code == 400 and already in response.get_data(as_text=True)
    # Two requests at once, both past the check: the database's index refuses the second, in words.
    monkeypatch.setattr(services, "open_duplicate_request", lambda certificate: None)
    with force_locale("en"), pytest.raises(services.CertificationError, match=already):
        services.request_duplicate(holder, certificate, "Równolegle")
    db.session.rollback()
    response = _ask(client_as(app, holder), certificate, "Równolegle")
    assert response.status_code == 400 and already in response.get_data(as_text=True)
    assert len(_requests()) == 1 and len(_audit("certificate.duplicate_requested")) == 1


@pytest.mark.parametrize("reason, message", [
    ("", "Say why you need a duplicate"),
    ("   ", "Say why you need a duplicate"),
    ("x" * 2001, "Keep the reason under 2000 characters."),
    ("ab\x00c", "Remove the invisible control character (NUL) from this field."),
])
def test_a_request_needs_a_reason_and_keeps_what_was_typed(app, world, reason, message):
    holder, certificate = world["holder"], world["certificate"]
    response = _ask(client_as(app, holder), certificate, reason)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and 'class="error"' in html
    if reason.strip() and "\x00" not in reason:
        assert reason in html  # the textarea keeps what was typed
    with force_locale("en"), pytest.raises(services.CertificationError, match="Say why you need a duplicate"):
        services.request_duplicate(holder, certificate, "  ")
    db.session.rollback()
    assert _requests() == []


# --------------------------------------------------------------------------- who answers


def test_only_staff_of_the_issuing_institution_answer(app, world):
    certificate = world["certificate"]
    request = services.request_duplicate(world["holder"], certificate, REASON)
    # Staff of another institution: not found, nowhere listed.
    stranger = client_as(app, make_user((Role.STAFF, make_institution("Inna Fundacja"))))
    assert stranger.get(f"/certification/certificates/{certificate.id}").status_code == 404
    assert stranger.post(f"{_base(request)}/issue").status_code == 404
    assert stranger.post(f"{_base(request)}/refuse", data={"refuse-response": REFUSAL}).status_code == 404
    assert certificate.number not in stranger.get("/certification/duplicate-requests").get_data(as_text=True)
    # The validating institution's staff see the certificate, and are told they may not answer.
    child = client_as(app, world["child_staff"])
    page = child.get(f"/certification/certificates/{certificate.id}").get_data(as_text=True)
    assert REASON in page and "Issue the duplicate" not in page
    for action, data in (("issue", {}), ("refuse", {"refuse-response": REFUSAL})):
        response = child.post(f"{_base(request)}/{action}", data=data)
        assert response.status_code == 400
        assert "Only staff of the certifying institution (Fundacja VCC) change its certificates." in response.get_data(as_text=True)
    assert certificate.number not in child.get("/certification/duplicate-requests").get_data(as_text=True)
    # The holder and other candidates are no staff at all.
    for person in (world["holder"], world["candidates"][1]):
        client = client_as(app, person)
        assert client.post(f"{_base(request)}/issue").status_code == 403
        assert client.get("/certification/duplicate-requests").status_code == 403
    with force_locale("en"), pytest.raises(services.CertificationError, match="Only staff of the certifying institution"):
        services.refuse_duplicate_request(world["child_staff"], request, REFUSAL)
    db.session.rollback()
    db.session.expire_all()
    assert request.status == DuplicateRequestStatus.OPEN and certificate.duplicates == []


def test_a_request_on_a_suspended_certificate_is_refused_not_issued(app, world):
    certificate = world["certificate"]
    request = services.request_duplicate(world["holder"], certificate, REASON)
    services.change_status(world["staff"], certificate, "suspend", "Wyjaśnianie.")
    staff = client_as(app, world["staff"])
    page = staff.get(f"/certification/certificates/{certificate.id}").get_data(as_text=True)
    assert "Issue the duplicate" not in page and "Refuse the request with this reason." in page
    response = staff.post(f"{_base(request)}/issue")
    assert response.status_code == 400 and "lift the suspension first" in response.get_data(as_text=True)
    assert staff.post(f"{_base(request)}/refuse", data={"refuse-response": REFUSAL}).status_code == 302
    db.session.expire_all()
    assert request.status == DuplicateRequestStatus.REFUSED and certificate.duplicates == []


# --------------------------------------------------------------------------- bad input


def test_malformed_and_foreign_ids_are_not_found(app, world, qualification):
    certificate = world["certificate"]
    request = services.request_duplicate(world["holder"], certificate, REASON)
    other = make_certificate(world["enrolments"][1], world["staff"])
    holder, staff = client_as(app, world["holder"]), client_as(app, world["staff"])
    for path in ("/certification/mine/abc/duplicate-request", "/certification/mine/-1/duplicate-request",
                 "/certification/mine/99999999999999999999/duplicate-request", "/certification/mine/0/duplicate-request",
                 f"/certification/mine/{other.id}/duplicate-request"):
        response = holder.post(path, data={"reason": REASON})
        assert response.status_code == 404, path
    for path in (f"/certification/certificates/{certificate.id}/duplicate-requests/abc/issue",
                 f"/certification/certificates/{certificate.id}/duplicate-requests/99999999999999999999/issue",
                 f"/certification/certificates/{certificate.id}/duplicate-requests/{request.id + 1000}/refuse",
                 f"/certification/certificates/{other.id}/duplicate-requests/{request.id}/issue",  # another certificate's
                 f"/certification/certificates/99999999999999999999/duplicate-requests/{request.id}/refuse"):
        response = staff.post(path, data={"refuse-response": REFUSAL})
        assert response.status_code == 404, path
    # The list's page number is read leniently.
    for page in ("abc", "-1", "99999999999999999999", "0"):
        assert staff.get(f"/certification/duplicate-requests?page={page}").status_code in (200, 400), page
    db.session.expire_all()
    assert request.status == DuplicateRequestStatus.OPEN and db.session.scalar(select(func.count(CertificateDuplicate.id))) == 0


def test_csrf_protects_the_request(app, world):
    holder, certificate = world["holder"], world["certificate"]
    client = client_as(app, holder)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert _ask(client, certificate).status_code == 400
        assert _requests() == []
        page = client.get("/certification/mine").get_data(as_text=True)
        name = f"duplicate-{certificate.id}-csrf_token"
        token = re.search(rf'name="{name}" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post(f"/certification/mine/{certificate.id}/duplicate-request",
                               data={f"duplicate-{certificate.id}-reason": REASON, name: token})
        assert response.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert len(_requests()) == 1


def test_the_pages_speak_polish_by_default(app, world):
    holder, certificate = world["holder"], world["certificate"]
    client = client_as(app, holder, lang="pl")
    assert "Wnioskuj o duplikat" in client.get("/certification/mine").get_data(as_text=True)
    response = _ask(client, certificate, "")
    assert response.status_code == 400 and "Napisz, dlaczego potrzebujesz duplikatu" in response.get_data(as_text=True)
    assert _ask(client, certificate).status_code == 302
    assert "Twój wniosek o duplikat" in client.get("/certification/mine").get_data(as_text=True)
    staff = client_as(app, world["staff"], lang="pl")
    assert "Wnioski o duplikaty" in staff.get("/certification/duplicate-requests").get_data(as_text=True)
    (mail,) = _mails(world["staff"])  # the staff's account has no language: Polish
    assert mail.subject == "Posiadacz wnioskuje o duplikat certyfikatu" and certificate.number in mail.body
