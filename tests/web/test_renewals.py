"""Renewal of a certificate by evidence, through the pages: the holder applies in the window (the
page counts the days covered, also after a refused submit), staff assign an assessor who took no
part in the holder's training or validation, the assessor declares impartiality before seeing the
evidence, judges it, may return the application and decides; a positive decision issues a new
certificate valid from the old expiry and supersedes the old one, which the verification page and
the credential show. Who may see what, and bad input (400 with the message, nothing stored)."""
from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta

import pytest
from markupsafe import escape
from pypdf import PdfReader
from sqlalchemy import func, select

from examportal.certification import rules as certificate_rules
from examportal.certification.rules import add_years
from examportal.credentials import badge
from examportal.extensions import db
from examportal.models import (
    AuditEntry,
    Certificate,
    CertificateStatus,
    OutboxMail,
    RenewalApplication,
    RenewalStatus,
    Role,
    StoredFile,
    UserRole,
)
from examportal.renewals import services
from tests.certtools import certification_world, make_certificate
from tests.factories import (
    EVIDENCE_PDF,
    accept_renewal_evidence,
    client_as,
    expiring,
    make_institution,
    make_renewal,
    make_user,
)

EMPLOYER, ROLE = "Hurtownia Części Sp. z o.o.", "specjalista ds. obsługi klienta"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")


def today() -> date:
    return certificate_rules.today()


@pytest.fixture
def world(app, qualification):
    w = certification_world(qualification)
    w["holder"] = w["candidates"][0]  # trained by w["trainer"]
    w["certificate"] = expiring(make_certificate(w["enrolments"][0], w["staff"]), today() + timedelta(days=150))
    w["assessor"] = make_user((Role.ASSESSOR, w["ic"]), first_name="Ewa", last_name="Oceniająca", locale="en")
    return w


def application_data(periods=None, files=None, declaration=True, action="send") -> dict:
    """The application form as a browser posts it."""
    data: dict = {action: "y"}
    for i, (employer, role, starts_on, ends_on) in enumerate(periods or []):
        data.update({f"periods-{i}-employer": employer, f"periods-{i}-role": role,
                     f"periods-{i}-starts_on": str(starts_on), f"periods-{i}-ends_on": str(ends_on)})
    for i, (content, name, description) in enumerate(files or []):
        data[f"evidence-{i}-file"] = (io.BytesIO(content), name)
        data[f"evidence-{i}-description"] = description
    if declaration:
        data["declaration"] = "y"
    return data


def whole_validity(certificate):
    return [(EMPLOYER, ROLE, certificate.issued_on, today() - timedelta(days=1))]


def applications() -> list[RenewalApplication]:
    return list(db.session.scalars(select(RenewalApplication).order_by(RenewalApplication.id)))


def stored_files() -> int:
    return db.session.scalar(select(func.count()).select_from(StoredFile)) or 0


def mails(user) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.user_id == user.id).order_by(OutboxMail.id)))


def audited(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def text(response) -> str:
    return response.get_data(as_text=True)


def apply_url(certificate) -> str:
    return f"/renewals/certificates/{certificate.id}/apply"


def assigned(world, assessor=None):
    """A submitted application with its assessor assigned by staff (through the service)."""
    application = make_renewal(world["certificate"])
    return services.assign(world["staff"], application, assessor or world["assessor"])


def declared(world):
    application = assigned(world)
    return services.declare(world["assessor"], application, True)


# --------------------------------------------------------------------------- the holder


def test_my_certificates_offers_renewal_in_the_window(app, world):
    page = text(client_as(app, world["holder"]).get("/certification/mine"))
    assert f'href="{apply_url(world["certificate"])}"' in page and ">Renew<" in page


def test_the_holder_applies_and_the_page_counts_the_days(app, world):
    certificate, holder = world["certificate"], world["holder"]
    client = client_as(app, holder)
    page = text(client.get(apply_url(certificate)))
    assert 'id="covered-days">0<' in page and "of the 365 days required" in page
    # The count for what is typed, without sending: the data stays in the form.
    short = [(EMPLOYER, ROLE, today() - timedelta(days=100), today() - timedelta(days=1))]
    response = client.post(apply_url(certificate), data=application_data(short, action="compute"))
    assert response.status_code == 200
    assert 'id="covered-days">100<' in text(response) and f'value="{escape(EMPLOYER)}"' in text(response)
    # Sending too few days: refused with the numbers, the count shown, nothing stored.
    response = client.post(apply_url(certificate), data=application_data(short, [(EVIDENCE_PDF, "z.pdf", "Zaświadczenie")]))
    assert response.status_code == 400
    assert "The periods cover 100 days of work within the certificate&#39;s validity; renewal needs at least 365" in text(response)
    assert 'id="covered-days">100<' in text(response) and "choose them again" in text(response)
    assert applications() == [] and stored_files() == 0
    # Enough days: sent.
    response = client.post(apply_url(certificate), data=application_data(
        whole_validity(certificate), [(EVIDENCE_PDF, "zaswiadczenie.pdf", "Zaświadczenie pracodawcy"),
                                      (PNG, "zakres.png", "Zakres obowiązków")]))
    (application,) = applications()
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/renewals/{application.id}")
    assert application.status == RenewalStatus.SUBMITTED and application.holder_id == holder.id
    assert application.covered_days == (today() - certificate.issued_on).days
    assert [(e.description, e.file.mimetype) for e in application.evidence] == [
        ("Zaświadczenie pracodawcy", "application/pdf"), ("Zakres obowiązków", "image/png")]
    assert [p.employer for p in application.periods] == [EMPLOYER]
    assert len(mails(holder)) == 2  # the certificate issued, then this application
    assert any(f"/renewals/staff/{application.id}" in m.body for m in mails(world["staff"]))
    (entry,) = audited("renewal.submitted")
    assert entry.after["covered_days"] == application.covered_days and EMPLOYER not in json.dumps(entry.after)
    # One open application per certificate: the form now leads to it.
    again = client.get(apply_url(certificate))
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/renewals/{application.id}")
    page = text(client.get("/certification/mine"))
    assert f'href="/renewals/{application.id}"' in page and f'href="{apply_url(certificate)}"' not in page
    with pytest.raises(services.RenewalError, match="already applied"):
        make_renewal(certificate)


@pytest.mark.parametrize("periods, files, declaration, message", [
    ([(EMPLOYER, ROLE, "2024-02-01", "2024-01-31")], True, True, "The period ends before it starts"),
    ([(EMPLOYER, ROLE, "2024-01-01", "TOMORROW")], True, True, "cannot end after today"),
    ([("", ROLE, "2024-01-01", "2024-12-31")], True, True, "Give the employer."),
    ([(EMPLOYER, "", "2024-01-01", "2024-12-31")], True, True, "Give your role."),
    ([(EMPLOYER, ROLE, "2024-13-45", "2024-12-31")], True, True, "Not a valid date value"),
    ([(EMPLOYER, ROLE, "2024-01-01", "")], True, True, "Give both dates of the period."),
    ([], True, True, "Declare at least one period"),
    ("WHOLE", False, True, "Attach at least one piece of evidence"),
    ("WHOLE", True, False, "Sign the declaration"),
])
def test_bad_input_is_a_400_with_the_message_and_nothing_stored(app, world, periods, files, declaration, message):
    certificate = world["certificate"]
    if periods == "WHOLE":
        periods = whole_validity(certificate)
    periods = [(e, r, s, str(today() + timedelta(days=1)) if t == "TOMORROW" else t) for e, r, s, t in periods]
    data = application_data(periods, [(EVIDENCE_PDF, "z.pdf", "Zaświadczenie")] if files else [], declaration)
    response = client_as(app, world["holder"]).post(apply_url(certificate), data=data)
    assert response.status_code == 400
    assert message in text(response)
    assert applications() == [] and stored_files() == 0


def test_outside_the_window_the_page_says_why(app, world):
    certificate, client = world["certificate"], client_as(app, world["holder"])
    expiring(certificate, today() + timedelta(days=200))  # the exact edges: tests/unit/test_renewal_rules.py
    page = text(client.get(apply_url(certificate)))
    assert "You may apply for renewal from" in page and 'id="renewal-form"' not in page
    assert "You may apply to renew this certificate from" in text(client.get("/certification/mine"))
    response = client.post(apply_url(certificate), data=application_data(
        whole_validity(certificate), [(EVIDENCE_PDF, "z.pdf", "Zaświadczenie")]))
    assert response.status_code == 400 and applications() == [] and stored_files() == 0
    # After expiry: only a new validation, with the way to it.
    expiring(certificate, today() - timedelta(days=1))
    page = text(client.get(apply_url(certificate)))
    assert "can no longer be renewed" in page and 'href="/applications/sessions"' in page
    assert 'id="renewal-form"' not in page
    assert 'href="/applications/sessions"' in text(client.get("/certification/mine"))


def test_a_suspended_certificate_cannot_be_renewed(app, world):
    from examportal.certification import services as certification

    certification.change_status(world["staff"], world["certificate"], "suspend", "Wyjaśnianie.")
    page = text(client_as(app, world["holder"]).get(apply_url(world["certificate"])))
    assert "suspended: it cannot be renewed" in page and 'id="renewal-form"' not in page


def test_the_holder_withdraws_and_may_apply_again(app, world):
    application = assigned(world)
    client = client_as(app, world["holder"])
    assert client.post(f"/renewals/{application.id}/withdraw").status_code == 302
    db.session.expire_all()
    assert application.status == RenewalStatus.WITHDRAWN
    assert any("withdrawn" in m.body for m in mails(world["assessor"]))
    assert client.post(f"/renewals/{application.id}/withdraw").status_code == 302  # refused: a message, no change
    assert client.get(apply_url(world["certificate"])).status_code == 200
    assert len(audited("renewal.withdrawn")) == 1


# --------------------------------------------------------------------------- authorization


def test_only_the_holder_sees_their_application_and_files(app, world):
    application = make_renewal(world["certificate"])
    evidence = application.evidence[0]
    other_holder = world["candidates"][1]
    for user in (other_holder, world["child_staff"], world["assessor"], make_user((Role.STAFF, make_institution()))):
        client = client_as(app, user)
        for url in (apply_url(world["certificate"]), f"/renewals/{application.id}",
                    f"/renewals/{application.id}/evidence/{evidence.id}", f"/renewals/{application.id}/resubmit"):
            assert client.get(url).status_code == 404, (user, url)
        assert client.post(f"/renewals/{application.id}/withdraw").status_code == 404
    owner = client_as(app, world["holder"])
    download = owner.get(f"/renewals/{application.id}/evidence/{evidence.id}")
    assert download.status_code == 200 and download.data == EVIDENCE_PDF
    assert download.headers["Content-Disposition"].startswith("attachment")
    # Staff of the issuing institution handle it; another institution's staff: not found.
    assert client_as(app, world["staff"]).get(f"/renewals/staff/{application.id}").status_code == 200
    stranger = client_as(app, make_user((Role.STAFF, make_institution())))
    assert stranger.get(f"/renewals/staff/{application.id}").status_code == 404
    assert world["holder"].full_name not in text(stranger.get("/renewals/staff"))
    db.session.expire_all()
    assert application.status == RenewalStatus.SUBMITTED


def test_an_unassigned_assessor_gets_404_and_the_assessor_sees_evidence_only_after_declaring(app, world):
    application = assigned(world)
    evidence_url = f"/renewals/{application.id}/evidence/{application.evidence[0].id}"
    other = client_as(app, make_user((Role.ASSESSOR, world["ic"]), last_name="Nieprzydzielona"))
    for url in (f"/renewals/assess/{application.id}", evidence_url):
        assert other.get(url).status_code == 404
    for action in ("declare", "return", "decide", f"evidence/{application.evidence[0].id}"):
        assert other.post(f"/renewals/assess/{application.id}/{action}", data={"confirm": "y"}).status_code == 404
    client = client_as(app, world["assessor"])
    page = text(client.get(f"/renewals/assess/{application.id}"))
    assert "Declaration of impartiality" in page and "Łucja Żółkiewska" in page
    assert "Zaświadczenie pracodawcy" not in page and EMPLOYER not in page
    assert client.get(evidence_url).status_code == 404
    assert client.post(f"/renewals/assess/{application.id}/declare", data={}).status_code == 400
    assert client.post(f"/renewals/assess/{application.id}/evidence/{application.evidence[0].id}",
                       data={f"evidence-{application.evidence[0].id}-verdict": "accepted"}).status_code == 400
    response = client.post(f"/renewals/assess/{application.id}/declare", data={"confirm": "y"})
    assert response.status_code == 302
    db.session.expire_all()
    assert application.status == RenewalStatus.UNDER_REVIEW and application.assessor_declared_at is not None
    page = text(client.get(f"/renewals/assess/{application.id}"))
    assert "Zaświadczenie pracodawcy" in page and EMPLOYER in page
    assert client.get(evidence_url).status_code == 200
    assert len(audited("renewal.impartiality_declared")) == 1


# --------------------------------------------------------------------------- staff


def test_staff_cannot_assign_anyone_involved_and_the_reason_is_named(app, world):
    application = make_renewal(world["certificate"])
    holder = world["holder"]
    holder.roles.append(UserRole(role=Role.ASSESSOR, institution_id=world["ic"].id))
    db.session.commit()
    client = client_as(app, world["staff"])
    url = f"/renewals/staff/{application.id}/assign"
    page = text(client.get(f"/renewals/staff/{application.id}"))
    assert "Ewa Oceniająca" in page and "trained the holder" in page  # the list says it before anyone is chosen
    for person, reason in ((world["trainer"], "trained the holder for the qualification"),
                           (world["chair"], "sat on the committee that validated the holder"),
                           (world["member"], "sat on the committee that validated the holder"),
                           (holder, "is the holder")):
        response = client.post(url, data={"assessor_id": str(person.id)})
        assert response.status_code == 400 and reason in text(response), person.full_name
    foreign = make_user((Role.ASSESSOR, make_institution()), last_name="Obca")
    for value in (str(foreign.id), "abc", ""):
        response = client.post(url, data={"assessor_id": value})
        assert response.status_code == 400 and "Obca" not in text(response)
    db.session.expire_all()
    assert application.assessor_id is None and audited("renewal.assessor_assigned") == []
    response = client.post(url, data={"assessor_id": str(world["assessor"].id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert application.assessor_id == world["assessor"].id and application.assigned_by_id == world["staff"].id
    (mail,) = mails(world["assessor"])
    assert mail.subject == f"Renewal of certificate {world['certificate'].number}: you are its assessor"
    assert f"/renewals/assess/{application.id}" in mail.body
    assert len(audited("renewal.assessor_assigned")) == 1
    page = text(client.get("/renewals/staff"))
    assert world["certificate"].number in page and "Ewa Oceniająca" in page
    # The validating institution's staff do not handle the issuer's renewals.
    assert client_as(app, world["child_staff"]).post(url, data={"assessor_id": str(world["assessor"].id)}).status_code == 404


def test_the_register_filters_certificates_expiring_within_n_days(app, world):
    client = client_as(app, world["staff"])
    numbers = text(client.get("/certification/register", query_string={"expiring_within_days": "160"}))
    assert world["certificate"].number in numbers
    assert world["certificate"].number not in text(client.get("/certification/register",
                                                              query_string={"expiring_within_days": "140"}))
    response = client.get("/certification/register", query_string={"expiring_within_days": "-3"})
    assert response.status_code == 400 and "Enter a number of days from 0 to 3650." in text(response)


# --------------------------------------------------------------------------- the assessor


def judge(client, application, item, verdict, note=""):
    return client.post(f"/renewals/assess/{application.id}/evidence/{item.id}",
                       data={f"evidence-{item.id}-verdict": verdict, f"evidence-{item.id}-note": note})


def find(client, application, period, answer):
    """The assessor's finding on a declared period through its form ("yes", "no")."""
    return client.post(f"/renewals/assess/{application.id}/periods/{period.id}", data={f"period-{period.id}-confirmed": answer})


def test_return_resubmit_accept_and_renew(app, world):
    application = declared(world)
    old = world["certificate"]
    old_until = old.valid_until
    client = client_as(app, world["assessor"])
    item = application.evidence[0]
    url = f"/renewals/assess/{application.id}"
    # Rejecting needs a note; returning needs a note; deciding needs every item judged.
    response = judge(client, application, item, "rejected")
    assert response.status_code == 400 and "Say why the evidence is rejected" in text(response)
    assert judge(client, application, item, "rejected", "Brak pieczęci pracodawcy.").status_code == 302
    response = client.post(f"{url}/return", data={"return-note": " "})
    assert response.status_code == 400 and "Say what the holder should add" in text(response)
    response = client.post(f"{url}/decide", data={"decision-outcome": "positive"})
    assert response.status_code == 400 and "whether the evidence shows it (1 not judged yet)" in text(response)
    assert find(client, application, application.periods[0], "no").status_code == 302
    response = client.post(f"{url}/decide", data={"decision-outcome": "positive"})
    assert response.status_code == 400 and "at least one accepted piece of evidence" in text(response)
    assert client.post(f"{url}/return", data={"return-note": "Proszę o zaświadczenie z pieczęcią."}).status_code == 302
    db.session.expire_all()
    assert application.status == RenewalStatus.RETURNED
    returned_mail = mails(world["holder"])[-1]
    assert "Proszę o zaświadczenie z pieczęcią." in returned_mail.body and f"/renewals/{application.id}" in returned_mail.body
    assert judge(client, application, item, "accepted").status_code == 400  # it is with the holder now
    # The holder sees the note and the rejected item's note, adds evidence and sends it again.
    holder = client_as(app, world["holder"])
    page = text(holder.get(f"/renewals/{application.id}"))
    assert "Proszę o zaświadczenie z pieczęcią." in page and "Brak pieczęci pracodawcy." in page
    form = text(holder.get(f"/renewals/{application.id}/resubmit"))
    assert f'value="{escape(EMPLOYER)}"' in form
    response = holder.post(f"/renewals/{application.id}/resubmit", data=application_data(
        whole_validity(old), [(EVIDENCE_PDF, "z-pieczecia.pdf", "Zaświadczenie z pieczęcią")]))
    assert response.status_code == 302
    db.session.expire_all()
    assert application.status == RenewalStatus.UNDER_REVIEW and len(application.evidence) == 2
    assert any("sent the renewal application" in m.body for m in mails(world["assessor"]))
    # The new item accepted: a positive decision renews the certificate.
    new_item = application.evidence[1]
    assert judge(client, application, new_item, "accepted", "Kompletne.").status_code == 302
    assert application.periods[0].confirmed is None  # the periods as declared again are judged again
    assert find(client, application, application.periods[0], "yes").status_code == 302
    assert client.post(f"{url}/decide", data={"decision-outcome": "positive"}).status_code == 302
    db.session.expire_all()
    assert application.status == RenewalStatus.ACCEPTED and application.notified_at is not None
    renewed = application.new_certificate
    assert renewed is not None and renewed.supersedes_id == old.id
    assert renewed.issued_on == today() and renewed.valid_until == add_years(old_until, 5) != add_years(today(), 5)
    assert old.state == CertificateStatus.SUPERSEDED and old.valid_until == old_until
    assert renewed.state == CertificateStatus.VALID and renewed.decision_id is None
    assert renewed.holder_first_name == "Łucja" and renewed.pdf_sha256 is not None
    pdf_text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(renewed.pdf)).pages).split())
    assert f"Odnawia certyfikat nr {old.number}" in pdf_text
    decision_mail = mails(world["holder"])[-1]
    assert renewed.number in decision_mail.body and "możesz się odwołać" in decision_mail.body  # the holder's language: Polish
    entry = audited("renewal.decided")[-1]
    assert entry.after["positive"] is True and entry.after["new_certificate_id"] == renewed.id
    assert len(audited("certificate.renewed")) == 1 and len(audited("renewal.evidence_judged")) == 2
    # The holder's certificates: the new one, valid from the old expiry.
    mine = text(holder.get("/certification/mine"))
    assert f'data-number="{renewed.number}"' in mine and "the validity continues from its expiry" in mine
    # Nothing more to decide.
    assert client.post(f"{url}/decide", data={"decision-outcome": "positive"}).status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Certificate)) == 2


def test_the_verification_page_and_the_credential_show_the_renewal(app, world):
    client = client_as(app)  # anyone, in English
    application = accept_renewal_evidence(world["assessor"], declared(world))
    services.decide(world["assessor"], application, True, None)
    old, renewed = world["certificate"], application.new_certificate
    page = text(client.get(f"/verify/{renewed.verification_code}"))
    assert f"Renewed from certificate No. {old.number}" in page and f'href="/verify/{old.verification_code}"' in page
    page = text(client.get(f"/verify/{old.verification_code}"))
    assert f"Superseded by a renewal — No. {renewed.number}" in page and 'id="status">superseded' in page
    credential = badge.credential_for(renewed)
    assert credential is not None
    previous = [e for e in credential.document["evidence"] if e.get("genre") == "Odnowienie certyfikatu"]
    assert previous and old.number in previous[0]["name"] and previous[0]["id"].endswith(f"/verify/{old.verification_code}")
    assert credential.document["validUntil"].startswith(renewed.valid_until.isoformat())
    checked = client.post("/ob/verify", data=json.dumps(credential.document), content_type="application/json").get_json()
    assert checked["verified"] is True, checked
    old_checked = client.post("/ob/verify", data=json.dumps(badge.credential_for(old).document),
                              content_type="application/json").get_json()
    assert old_checked["status"]["revoked"] is True  # a superseded credential is withdrawn from use


def test_a_negative_decision_is_justified_and_points_to_a_new_validation(app, world):
    application = declared(world)
    client = client_as(app, world["assessor"])
    url = f"/renewals/assess/{application.id}"
    assert judge(client, application, application.evidence[0], "rejected", "Dokument nie dotyczy pracy z CRM.").status_code == 302
    assert find(client, application, application.periods[0], "no").status_code == 302
    response = client.post(f"{url}/decide", data={"decision-outcome": "negative", "decision-justification": ""})
    assert response.status_code == 400 and "needs its written justification" in text(response)
    response = client.post(f"{url}/decide", data={"decision-outcome": "negative",
                                                  "decision-justification": "Brak dowodu pracy z systemem CRM."})
    assert response.status_code == 302
    db.session.expire_all()
    assert application.status == RenewalStatus.REJECTED and application.new_certificate_id is None
    assert application.notified_at is not None and world["certificate"].state == CertificateStatus.VALID
    mail = mails(world["holder"])[-1]
    assert "Brak dowodu pracy z systemem CRM." in mail.body and "/applications/sessions" in mail.body
    page = text(client_as(app, world["holder"]).get(f"/renewals/{application.id}"))
    assert "Brak dowodu pracy z systemem CRM." in page and 'href="/applications/sessions"' in page


def test_a_positive_decision_needs_enough_days_also_when_periods_changed(app, world, monkeypatch):
    """The days are counted again at the decision, so a rule change (or data fixed since) is seen."""
    application = accept_renewal_evidence(world["assessor"], declared(world))
    application.periods[0].starts_on = today() - timedelta(days=30)
    db.session.commit()
    client = client_as(app, world["assessor"])
    response = client.post(f"/renewals/assess/{application.id}/decide", data={"decision-outcome": "positive"})
    assert response.status_code == 400 and "needs 365 days" in text(response)
    db.session.expire_all()
    assert application.status == RenewalStatus.UNDER_REVIEW and world["certificate"].state == CertificateStatus.VALID


def test_only_the_periods_the_evidence_shows_count_towards_the_year(app, world):
    """The holder declares a whole validity of work in two periods and proves one month of it: the
    assessor accepts the document and confirms only the month it shows. The year is not there; a
    positive decision is refused, naming the confirmed days."""
    old = world["certificate"]
    month_end = old.issued_on + timedelta(days=30)
    application = make_renewal(old, periods=[
        services.PeriodInput("Hurtownia Części Sp. z o.o.", "specjalista ds. obsługi klienta (CRM)", old.issued_on, month_end),
        services.PeriodInput("Sklep Internetowy S.A.", "konsultant CRM", month_end + timedelta(days=1),
                             today() - timedelta(days=1))])
    services.assign(world["staff"], application, world["assessor"])
    services.declare(world["assessor"], application, True)
    client = client_as(app, world["assessor"])
    url = f"/renewals/assess/{application.id}"
    assert judge(client, application, application.evidence[0], "accepted", "Zaświadczenie za jeden miesiąc.").status_code == 302
    first, second = sorted(application.periods, key=lambda p: p.starts_on)
    assert find(client, application, first, "yes").status_code == 302
    assert find(client, application, second, "maybe").status_code == 400
    assert find(client, application, second, "no").status_code == 302
    page = text(client.get(url))
    assert 'id="confirmed-days">31<' in page
    response = client.post(f"{url}/decide", data={"decision-outcome": "positive"})
    assert response.status_code == 400 and "shown by the evidence; the periods confirmed cover 31" in text(response)
    db.session.expire_all()
    assert application.status == RenewalStatus.UNDER_REVIEW and old.state == CertificateStatus.VALID
    assert [e.after["confirmed"] for e in audited("renewal.period_judged")] == [True, False]
    # Confirmed after all (another document, say): the year is there.
    assert find(client, application, second, "yes").status_code == 302
    assert client.post(f"{url}/decide", data={"decision-outcome": "positive"}).status_code == 302


def test_reassigning_starts_the_analysis_afresh(app, world):
    application = declared(world)
    services.judge(world["assessor"], application, application.evidence[0].id, "accepted", None)
    second = make_user((Role.ASSESSOR, world["ic"]), last_name="Druga")
    services.assign(world["staff"], application, second)
    db.session.expire_all()
    assert application.status == RenewalStatus.SUBMITTED and application.assessor_declared_at is None
    assert application.evidence[0].verdict is None
    assert client_as(app, world["assessor"]).get(f"/renewals/assess/{application.id}").status_code == 404


def test_staff_and_assessor_lists(app, world):
    application = assigned(world)
    page = text(client_as(app, world["assessor"]).get("/renewals/assess"))
    assert f'href="/renewals/assess/{application.id}"' in page
    assert re.search(r"No renewal applications are assigned", text(client_as(app, world["chair"]).get("/renewals/assess")))
