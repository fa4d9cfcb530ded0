"""Certification: who may decide (and why not), the batch of a session issued as a job, fees, the
holder's certificates, corrections, duplicates, suspension and revocation."""
from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import func, select

from examportal import jobs
from examportal.certification import batch, pdf, rules, services
from examportal.extensions import db
from examportal.models import (
    AuditEntry,
    BackgroundJob,
    Certificate,
    CertificateStatus,
    CertificationDecision,
    CriterionResult,
    JobStatus,
    OperatorAction,
    OperatorActionKind,
    OutboxMail,
    Role,
    utcnow,
)
from tests.certtools import certification_world, make_certificate, validation_decision
from tests.factories import client_as, enrol, make_attempt, make_institution, make_session, make_user


@pytest.fixture
def world(app, qualification):
    return certification_world(qualification)


def _text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def _mails(user) -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.user_id == user.id).order_by(OutboxMail.id)))


def _audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def _decide(client, world, enrolments, outcome="positive", reason=""):
    return client.post(f"/certification/sessions/{world['session'].id}",
                       data={"enrolments": [str(e.id) for e in enrolments], "outcome": outcome, "reason": reason})


# --------------------------------------------------------------------------- the decision


def test_staff_decide_a_whole_session_and_the_job_issues_every_certificate(app, world):
    staff = client_as(app, world["staff"])
    page = staff.get(f"/certification/sessions/{world['session'].id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert all(c.full_name in html for c in world["candidates"]) and "waiting for the decision" in html

    response = _decide(staff, world, world["enrolments"])
    assert response.status_code == 302
    job = db.session.scalar(select(BackgroundJob).where(BackgroundJob.kind == "certificate_batch"))
    assert response.headers["Location"].endswith(f"/jobs/{job.id}")
    assert job.status == JobStatus.FINISHED and (job.done, job.total) == (4, 4) and job.problems == []

    certificates = db.session.scalars(select(Certificate).order_by(Certificate.sequence)).all()
    year = rules.today().year
    assert [c.number for c in certificates] == [f"VCC/13881/{year}/00000{n}" for n in (1, 2, 3)]
    assert {c.enrolment_id for c in certificates} == {e.id for e in world["enrolments"]}
    for certificate in certificates:
        assert certificate.institution_id == world["ic"].id and certificate.validating_institution_id == world["child"].id
        assert certificate.state == CertificateStatus.VALID and certificate.issued_on == rules.today()
        assert certificate.valid_until == rules.add_years(certificate.issued_on, 5)
        assert certificate.pdf.startswith(b"%PDF") and len(certificate.verification_code) >= 32
        assert pdf.content_sha256(certificate.content) == certificate.content_sha256
    decisions = db.session.scalars(select(CertificationDecision)).all()
    assert len(decisions) == 3 and all(d.positive and d.decided_by_id == world["staff"].id for d in decisions)

    archive = zipfile.ZipFile(io.BytesIO(job.result))
    names = sorted(archive.namelist())
    assert len([n for n in names if n.endswith(".pdf")]) == 3 and "certyfikaty.csv" in names
    assert len([n for n in names if n.endswith(".credential.json")]) == 3  # the signed Open Badge of each
    first = next(n for n in names if n.startswith(f"VCC-13881-{year}-000001") and n.endswith(".pdf"))
    assert archive.read(first) == certificates[0].pdf
    assert certificates[0].number in archive.read("certyfikaty.csv").decode("utf-8-sig")

    # Each holder is mailed once, with the link to their page and to the public verification.
    for candidate, certificate in zip(world["candidates"], certificates, strict=True):
        mails = _mails(candidate)
        assert len(mails) == 1 and certificate.number in mails[0].body
        assert f"/verify/{certificate.verification_code}" in mails[0].body and "/certification/mine" in mails[0].body

    # Audited, people by id only.
    assert len(_audit("certification.decided")) == 3 and len(_audit("certificate.issued")) == 3
    rendered = _audit("certificate.rendered")
    assert {e.after["pdf_sha256"] for e in rendered} == {c.pdf_sha256 for c in certificates}
    for entry in [*_audit("certification.decided"), *_audit("certificate.issued"), *rendered]:
        dumped = str(entry.after)
        for candidate in world["candidates"]:
            assert candidate.last_name not in dumped and candidate.email not in dumped
            assert not candidate.pesel or candidate.pesel not in dumped

    # The screen now shows them certified, with their numbers.
    html = staff.get(f"/certification/sessions/{world['session'].id}").get_data(as_text=True)
    assert certificates[0].number in html and "waiting for the decision" not in html


@pytest.mark.parametrize("who, reason", [
    ("chair", "You examined this candidate as a member of the validation committee"),
    ("member", "You examined this candidate as a member of the validation committee"),
    ("operator", "You were the exam-system operator for this candidate"),
    ("trainer", "You trained this candidate"),
    ("child_staff", "Only staff of the certifying institution (Fundacja VCC) decide certification."),
])
def test_a_person_involved_in_the_validation_is_refused_with_the_reason(app, world, who, reason):
    person, enrolment = world[who], world["enrolments"][0]
    with force_locale("en"):
        assert reason in services.decision_refusal(person, enrolment)
    if who == "trainer":  # trained only the first candidate: the others are theirs to decide
        assert services.decision_refusal(person, world["enrolments"][1]) is None
    client = client_as(app, person)
    page = client.get(f"/certification/sessions/{world['session'].id}")
    assert page.status_code == 200 and reason in page.get_data(as_text=True)
    response = _decide(client, world, [enrolment])
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert reason in html and "Nothing was decided" in html
    assert db.session.scalar(select(func.count(CertificationDecision.id))) == 0


def test_someone_who_scored_or_acted_as_operator_is_refused(app, world, qualification):
    enrolment = world["enrolments"][1]
    scorer = make_user((Role.STAFF, world["ic"]), first_name="Sebastian", last_name="Oceniający")
    criterion = qualification.outcome_sets[0].outcomes[0].criteria[0]
    db.session.add(CriterionResult(enrolment_id=enrolment.id, criterion_id=criterion.id, met=True,
                                   recorded_by_id=scorer.id, recorded_at=utcnow()))
    stand_in = make_user((Role.STAFF, world["ic"]), first_name="Zastępczyni", last_name="Operatora")
    attempt = make_attempt(enrolment)
    db.session.add(OperatorAction(session_id=world["session"].id, attempt_id=attempt.id, kind=OperatorActionKind.INCIDENT,
                                  reason="Awaria komputera", operator_id=stand_in.id))
    db.session.commit()
    with force_locale("en"):
        assert "You scored this candidate" in services.decision_refusal(scorer, enrolment)
        assert "You were the exam-system operator" in services.decision_refusal(stand_in, enrolment)
        assert services.decision_refusal(scorer, world["enrolments"][2]) is None
        assert services.decision_refusal(stand_in, world["enrolments"][2]) is None


def test_the_candidate_cannot_decide_their_own_certification(app, world):
    candidate = world["candidates"][2]
    from examportal.models import UserRole

    candidate.roles.append(UserRole(role=Role.STAFF, institution_id=world["ic"].id))
    db.session.commit()
    with force_locale("en"):
        assert "You are the candidate" in services.decision_refusal(candidate, world["enrolments"][2])


def test_a_refusal_for_one_candidate_decides_nobody_and_keeps_the_choice(app, world):
    client = client_as(app, world["trainer"])  # trained candidate 0 only
    response = _decide(client, world, world["enrolments"][:2])
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "You trained this candidate" in html
    assert re.search(rf'value="{world["enrolments"][1].id}"[^>]*checked', html)  # the choice is kept
    assert db.session.scalar(select(func.count(CertificationDecision.id))) == 0


def test_a_decision_is_taken_once(app, world):
    client = client_as(app, world["staff"])
    assert _decide(client, world, [world["enrolments"][2]]).status_code == 302
    again = _decide(client_as(app, world["staff2"]), world, [world["enrolments"][2]])
    assert again.status_code == 400
    assert "has already been made" in again.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CertificationDecision.id))) == 1
    assert db.session.scalar(select(func.count(Certificate.id))) == 1


def test_certification_follows_only_a_positive_validation_decision(app, world, qualification):
    late = enrol(world["session"], make_user(Role.CANDIDATE, first_name="Dorota", last_name="Bezdecyzji"))
    failed = enrol(world["session"], make_user(Role.CANDIDATE, first_name="Ewa", last_name="Negatywna"))
    validation_decision(failed, positive=False, decided_by=world["chair"])
    client = client_as(app, world["staff"])
    html = client.get(f"/certification/sessions/{world['session'].id}").get_data(as_text=True)
    assert "no decision yet" in html and "negative" in html
    assert f'name="enrolments" value="{late.id}"' not in html and f'name="enrolments" value="{failed.id}"' not in html
    for enrolment in (late, failed):
        response = _decide(client, world, [enrolment])
        assert response.status_code == 400
        assert "Certification follows a positive validation decision" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CertificationDecision.id))) == 0


def test_a_negative_decision_needs_its_reason_and_tells_the_candidate(app, world):
    client = client_as(app, world["staff"])
    enrolment, candidate = world["enrolments"][1], world["candidates"][1]
    response = _decide(client, world, [enrolment], outcome="negative", reason="   ")
    assert response.status_code == 400 and "needs its reason" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(CertificationDecision.id))) == 0
    response = _decide(client, world, [enrolment], outcome="negative", reason="Nie przedłożono dowodu tożsamości.")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/certification/sessions/{world['session'].id}")
    decision = db.session.scalar(select(CertificationDecision))
    assert not decision.positive and decision.reason == "Nie przedłożono dowodu tożsamości."
    assert db.session.scalar(select(func.count(Certificate.id))) == 0
    assert db.session.scalar(select(func.count(BackgroundJob.id))) == 0
    mail = _mails(candidate)[-1]
    assert "Nie przedłożono dowodu tożsamości." in mail.body and "14" in mail.body
    # The audit entry keeps a digest of the reason, not the text.
    entry = _audit("certification.decided")[-1]
    assert entry.after["positive"] is False and "Nie przedłożono" not in str(entry.after)


def test_deciding_needs_a_chosen_candidate_and_a_known_one(app, world, qualification):
    client = client_as(app, world["staff"])
    response = client.post(f"/certification/sessions/{world['session'].id}", data={"outcome": "positive"})
    assert response.status_code == 400 and "Choose at least one candidate" in response.get_data(as_text=True)
    other = make_session(world["ic"], qualification)
    stranger = enrol(other, make_user(Role.CANDIDATE))
    validation_decision(stranger)
    for value in (str(stranger.id), "abc", "99999999999"):
        response = client.post(f"/certification/sessions/{world['session'].id}",
                               data={"enrolments": value, "outcome": "positive"})
        assert response.status_code == 400
    assert db.session.scalar(select(func.count(CertificationDecision.id))) == 0


# --------------------------------------------------------------------------- the batch job


def test_a_retried_batch_never_issues_a_second_number(app, world, monkeypatch):
    app.config.update(JOB_RETRY_INTERVALS=(0, 0), JOBS_INLINE_PAUSE=0)
    decisions = services.decide(world["staff"], world["session"], [e.id for e in world["enrolments"]], True, None)
    real_render, calls = pdf.render_certificate, {"n": 0}

    def flaky(content, duplicate_issued_on=None):
        calls["n"] += 1
        if calls["n"] == 2:  # the second certificate's PDF fails on the first attempt
            raise OSError("disk full")
        return real_render(content, duplicate_issued_on)

    monkeypatch.setattr(pdf, "render_certificate", flaky)
    job = batch.start(world["staff"], world["session"], decisions)
    db.session.refresh(job)
    assert job.status == JobStatus.FINISHED and job.attempts == 2
    certificates = db.session.scalars(select(Certificate).order_by(Certificate.sequence)).all()
    assert [c.sequence for c in certificates] == [1, 2, 3]  # numbered once each: no gap, no second number
    assert all(c.pdf_sha256 for c in certificates)
    assert all(len(_mails(candidate)) == 1 for candidate in world["candidates"])
    assert len(zipfile.ZipFile(io.BytesIO(job.result)).namelist()) == 3 * 2 + 1  # a PDF and a credential each, the index

    # The same work started again (a duplicate delivery, a second click) changes nothing.
    again = jobs.start("certificate_batch", actor=world["staff"], institution_id=world["session"].institution_id,
                       session_id=world["session"].id, decision_ids=[d.id for d in decisions])
    assert again.status == JobStatus.FINISHED
    assert db.session.scalar(select(func.count(Certificate.id))) == 3
    assert all(len(_mails(candidate)) == 1 for candidate in world["candidates"])
    assert len(_audit("certificate.issued")) == 3


def test_the_batch_reports_a_decision_that_is_not_its_sessions(app, world, qualification):
    other_session = make_session(world["ic"], qualification)
    stranger = enrol(other_session, make_user(Role.CANDIDATE))
    from tests.certtools import certification_decision

    foreign = certification_decision(stranger, world["staff"])
    job = jobs.start("certificate_batch", actor=world["staff"], institution_id=world["ic"].id,
                     session_id=world["session"].id, decision_ids=[foreign.id])
    assert job.status == JobStatus.FINISHED
    assert job.problems == [{"item": f"#{foreign.id}", "error": "not a positive certification decision of this session"}]
    assert db.session.scalar(select(func.count(Certificate.id))) == 0


# --------------------------------------------------------------------------- fees


def _fee_rows(world, values):
    data = {}
    for index, (enrolment, (amount, choice, other)) in enumerate(zip(world["enrolments"], values, strict=True)):
        data |= {f"rows-{index}-enrolment_id": str(enrolment.id), f"rows-{index}-amount": amount,
                 f"rows-{index}-reason_choice": choice, f"rows-{index}-other_reason": other}
    return data


def test_staff_record_fees_on_the_session_page_and_see_them_listed(app, world):
    client = client_as(app, world["staff"])
    page = client.get(f"/sessions/{world['session'].id}").get_data(as_text=True)
    assert 'id="fees-form"' in page and "Fee (PLN)" in page
    response = client.post(f"/certification/sessions/{world['session'].id}/fees", data=_fee_rows(world, [
        ("1 250,50", "", ""), ("0", "art122a", ""), ("0,00", "other", "Uchwała zarządu nr 7/2026")]))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/sessions/{world['session'].id}")
    db.session.expire_all()
    fees = [(e.fee_pln, e.fee_reason) for e in world["enrolments"]]
    assert fees == [(Decimal("1250.50"), None), (Decimal("0.00"), rules.FREE_OF_CHARGE_122A),
                    (Decimal("0.00"), "Uchwała zarządu nr 7/2026")]
    entries = _audit("enrolment.fee_recorded")
    assert len(entries) == 3 and entries[0].after["fee_pln"] == "1250.50"
    assert "Uchwała" not in str(entries[2].after)  # free text is kept as a digest only

    # The form shows what is recorded; the institution's list shows the fees and their totals.
    page = client.get(f"/sessions/{world['session'].id}").get_data(as_text=True)
    assert 'value="1250,50"' in page and "Uchwała zarządu nr 7/2026" in page
    listing = client.get("/certification/fees")
    assert listing.status_code == 200
    html = listing.get_data(as_text=True)
    assert "1,250.50" in html and rules.FREE_OF_CHARGE_122A in html and "Uchwała zarządu nr 7/2026" in html
    totals = re.search(r'<dl class="facts" id="fee-totals">(.*?)</dl>', html, re.S).group(1)
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", totals)).split() == [
        "Candidates", "with", "a", "recorded", "fee", "3", "Fee", "revenue", "(PLN)", "1,250.50",
        "Average", "fee", "of", "those", "who", "paid", "(PLN)", "1,250.50", "Validated", "free", "of", "charge", "2"]
    # Saving the same again changes nothing (and records nothing).
    client.post(f"/certification/sessions/{world['session'].id}/fees", data=_fee_rows(world, [
        ("1250.50", "", ""), ("0", "art122a", ""), ("0", "other", "Uchwała zarządu nr 7/2026")]))
    assert len(_audit("enrolment.fee_recorded")) == 3


@pytest.mark.parametrize("row, message", [
    (("abc", "", ""), "Enter the fee in złoty"),
    (("-5", "", ""), "The fee cannot be negative."),
    (("12.345", "", ""), "at most two decimal places"),
    (("0", "", ""), "A validation free of charge needs its reason"),
    (("0", "other", ""), "Type the institution's reason"),
    (("100", "art122a", ""), "Free of charge under art. 122a means a fee of 0"),
    (("1000000", "", ""), "cannot exceed"),
    (("", "art122a", ""), "Enter the fee"),
])
def test_a_bad_fee_is_refused_and_what_was_typed_stays(app, world, row, message):
    client = client_as(app, world["staff"])
    response = client.post(f"/certification/sessions/{world['session'].id}/fees",
                           data=_fee_rows(world, [row, ("350", "", ""), ("", "", "")]))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert f'value="{row[0]}"' in html or not row[0]
    assert 'value="350"' in html
    db.session.expire_all()
    assert all(e.fee_pln is None for e in world["enrolments"])


def test_fees_of_another_session_cannot_be_slipped_in(app, world, qualification):
    other = enrol(make_session(world["ic"], qualification), make_user(Role.CANDIDATE))
    client = client_as(app, world["staff"])
    response = client.post(f"/certification/sessions/{world['session'].id}/fees", data={
        "rows-0-enrolment_id": str(other.id), "rows-0-amount": "10", "rows-0-reason_choice": "", "rows-0-other_reason": ""})
    assert response.status_code == 400 and "not enrolled in this session" in response.get_data(as_text=True)
    db.session.expire_all()
    assert other.fee_pln is None


# --------------------------------------------------------------------------- the holder


def test_the_holder_sees_and_downloads_their_certificate(app, world):
    certificate = make_certificate(world["enrolments"][0], world["staff"])
    holder = client_as(app, world["candidates"][0])
    page = holder.get("/certification/mine")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and certificate.number in html
    assert f"/verify/{certificate.verification_code}" in html and "valid" in html
    assert certificate.valid_until.strftime("%b") in html  # the renewal date
    download = holder.get(f"/certification/certificates/{certificate.id}/certificate.pdf")
    assert download.status_code == 200 and download.mimetype == "application/pdf" and download.data == certificate.pdf
    # Nobody else's page lists it, and nobody else downloads it.
    other = client_as(app, world["candidates"][1])
    assert certificate.number not in other.get("/certification/mine").get_data(as_text=True)
    assert other.get(f"/certification/certificates/{certificate.id}/certificate.pdf").status_code == 404
    stranger_staff = client_as(app, make_user((Role.STAFF, make_institution())))
    assert stranger_staff.get(f"/certification/certificates/{certificate.id}/certificate.pdf").status_code == 404
    assert client_as(app, world["child_staff"]).get(f"/certification/certificates/{certificate.id}/certificate.pdf").status_code == 200


# --------------------------------------------------------------------------- later changes


def test_suspension_is_lifted_and_a_revocation_is_final(app, world):
    certificate = make_certificate(world["enrolments"][0], world["staff"])
    holder = world["candidates"][0]
    client = client_as(app, world["staff"])
    url = f"/certification/certificates/{certificate.id}"
    # A reason is mandatory.
    response = client.post(f"{url}/suspend", data={"suspend-reason": "  "})
    assert response.status_code == 400 and "Give the reason" in response.get_data(as_text=True)
    assert client.post(f"{url}/suspend", data={"suspend-reason": "Podejrzenie użycia cudzego dokumentu."}).status_code == 302
    db.session.expire_all()
    assert certificate.status_on(rules.today()) == CertificateStatus.SUSPENDED
    assert client.post(f"{url}/suspend", data={"suspend-reason": "Znowu"}).status_code == 400
    assert client.post(f"{url}/lift", data={"lift-reason": "Wyjaśniono: dokument był prawidłowy."}).status_code == 302
    db.session.expire_all()
    assert certificate.state == CertificateStatus.VALID
    # Revoking needs the confirmation, then it is final.
    response = client.post(f"{url}/revoke", data={"revoke-reason": "Fałszerstwo wykryte po wydaniu."})
    assert response.status_code == 400 and "Confirm that you understand" in response.get_data(as_text=True)
    assert client.post(f"{url}/revoke", data={"revoke-reason": "Fałszerstwo wykryte po wydaniu.", "revoke-confirm": "y"}).status_code == 302
    db.session.expire_all()
    assert certificate.state == CertificateStatus.REVOKED
    for action, field in (("lift", "lift-reason"), ("suspend", "suspend-reason"), ("revoke", "revoke-reason"),
                          ("duplicate", "duplicate-reason")):
        response = client.post(f"{url}/{action}", data={field: "Próba", "revoke-confirm": "y"})
        assert response.status_code == 400, action
        assert "A revocation is final" in response.get_data(as_text=True), action
    db.session.expire_all()
    assert certificate.state == CertificateStatus.REVOKED
    assert [e.kind.value for e in certificate.events] == ["suspended", "suspension_lifted", "revoked"]
    assert [e.reason for e in certificate.events][2] == "Fałszerstwo wykryte po wydaniu."
    # Audited (reason as a digest) and mailed to the holder each time.
    changes = ["certificate.suspended", "certificate.suspension_lifted", "certificate.revoked"]
    actions = list(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.object_type == "certificate", AuditEntry.object_id == str(certificate.id),
        AuditEntry.action.in_(changes)).order_by(AuditEntry.id)))  # other entries (its PDF rendered) may interleave
    assert actions == changes
    assert "Fałszerstwo" not in str(_audit("certificate.revoked")[0].after)
    bodies = [m.body for m in _mails(holder)]
    # In the holder's language (Polish, as their account has none set).
    assert len(bodies) == 4 and "zawieszony" in bodies[1] and "uchylone" in bodies[2] and "unieważniony" in bodies[3]
    assert "Fałszerstwo wykryte po wydaniu." in bodies[3]
    html = client.get(url).get_data(as_text=True)
    assert "This certificate is already revoked. A revocation is final." in html and "Lift the suspension" not in html


def test_only_staff_of_the_issuer_change_a_certificate(app, world):
    certificate = make_certificate(world["enrolments"][0], world["staff"])
    child = client_as(app, world["child_staff"])  # the validating institution's staff see it, change nothing
    url = f"/certification/certificates/{certificate.id}"
    page = child.get(url)
    assert page.status_code == 200 and "Only staff of the certifying institution" in page.get_data(as_text=True)
    response = child.post(f"{url}/suspend", data={"suspend-reason": "Nie moja instytucja"})
    assert response.status_code == 400 and "Only staff of the certifying institution" in response.get_data(as_text=True)
    stranger = client_as(app, make_user((Role.STAFF, make_institution())))
    assert stranger.get(url).status_code == 404
    assert stranger.post(f"{url}/revoke", data={"revoke-reason": "x", "revoke-confirm": "y"}).status_code == 404
    db.session.expire_all()
    assert certificate.state == CertificateStatus.VALID and certificate.events == []


def test_a_correction_reissues_under_a_new_number_and_supersedes_the_old(app, world):
    certificate = make_certificate(world["enrolments"][1], world["staff"])
    client = client_as(app, world["staff"])
    url = f"/certification/certificates/{certificate.id}"
    form = client.get(url).get_data(as_text=True)
    assert 'value="Bogdan"' in form and 'value="Świątek"' in form  # prefilled from the account
    response = client.post(f"{url}/correct", data={"correct-first_name": "Bogdan", "correct-last_name": "Świątek",
                                                   "correct-birth_date": "1985-01-02", "correct-reason": "Bez zmian"})
    assert response.status_code == 400 and "Nothing was changed" in response.get_data(as_text=True)
    response = client.post(f"{url}/correct", data={"correct-first_name": "Bogdan", "correct-last_name": "Świątek-Nowicki",
                                                   "correct-birth_date": "1985-01-02",
                                                   "correct-reason": "Zmiana nazwiska po zawarciu małżeństwa."})
    assert response.status_code == 302
    db.session.expire_all()
    replacement = db.session.scalar(select(Certificate).where(Certificate.supersedes_id == certificate.id))
    assert response.headers["Location"].endswith(f"/certification/certificates/{replacement.id}")
    assert certificate.state == CertificateStatus.SUPERSEDED and replacement.state == CertificateStatus.VALID
    assert replacement.number.endswith("/000002") and replacement.valid_until == certificate.valid_until
    assert replacement.decision_id is None and replacement.enrolment_id == certificate.enrolment_id
    text = _text(replacement.pdf)
    assert "Bogdan Świątek-Nowicki" in text and f"Zastępuje certyfikat nr {certificate.number}" in text
    assert _text(certificate.pdf).count("Świątek-Nowicki") == 0  # the old document stays as issued
    assert services.chain(certificate) == [certificate, replacement] == services.chain(replacement)
    assert certificate.events[0].reason == "Zmiana nazwiska po zawarciu małżeństwa."
    mail = _mails(world["candidates"][1])[-1]
    assert replacement.number in mail.body and certificate.number in mail.body
    # The old one cannot be corrected, suspended or duplicated again: only the current one.
    response = client.post(f"{url}/correct", data={"correct-first_name": "B", "correct-last_name": "C", "correct-reason": "x"})
    assert response.status_code == 400 and "replaced by a newer one" in response.get_data(as_text=True)
    assert len(_audit("certificate.corrected")) == 1


def test_a_duplicate_keeps_the_number_and_is_marked(app, world):
    certificate = make_certificate(world["enrolments"][0], world["staff"])
    client = client_as(app, world["staff"])
    url = f"/certification/certificates/{certificate.id}"
    assert client.post(f"{url}/duplicate", data={"duplicate-reason": ""}).status_code == 400
    assert client.post(f"{url}/duplicate", data={"duplicate-reason": "Utrata oryginału (zgłoszenie posiadacza)."}).status_code == 302
    db.session.expire_all()
    (duplicate,) = certificate.duplicates
    assert duplicate.issued_on == rules.today()
    text = _text(duplicate.pdf)
    assert "DUPLIKAT" in text and f"wydany dnia {rules.today():%d.%m.%Y}" in text and certificate.number in text
    day = f"{rules.today():%d.%m.%Y}"
    unmarked = text.replace(" ", "").replace("DUPLIKAT", "").replace(f"wydanydnia{day}", "").replace(f"(duplikatzdnia{day})", "")
    assert unmarked == _text(certificate.pdf).replace(" ", "")  # otherwise the same text and data
    (entry,) = _audit("certificate.duplicate_issued")
    assert entry.after["pdf_sha256"] == duplicate.pdf_sha256 and entry.after["number"] == certificate.number
    assert db.session.scalar(select(func.count(Certificate.id))) == 1  # no new number
    holder = client_as(app, world["candidates"][0])
    download = holder.get(f"/certification/certificates/{certificate.id}/duplicates/{duplicate.id}.pdf")
    assert download.status_code == 200 and download.data == duplicate.pdf
    assert client_as(app, world["candidates"][1]).get(
        f"/certification/certificates/{certificate.id}/duplicates/{duplicate.id}.pdf").status_code == 404


def test_no_duplicate_of_a_revoked_certificate(app, world):
    certificate = make_certificate(world["enrolments"][0], world["staff"])
    services.change_status(world["staff"], certificate, "revoke", "Fałszerstwo.")
    response = client_as(app, world["staff"]).post(f"/certification/certificates/{certificate.id}/duplicate",
                                                   data={"duplicate-reason": "Zgubiony"})
    assert response.status_code == 400 and "This certificate is revoked" in response.get_data(as_text=True)
    assert certificate.duplicates == []


def test_an_expired_certificate_is_computed_from_its_date(app, world):
    certificate = make_certificate(world["enrolments"][0], world["staff"])
    assert certificate.status_on(certificate.valid_until) == CertificateStatus.VALID
    assert certificate.status_on(date.fromordinal(certificate.valid_until.toordinal() + 1)) == CertificateStatus.EXPIRED
    certificate.state = CertificateStatus.SUSPENDED
    assert certificate.status_on(date.fromordinal(certificate.valid_until.toordinal() + 1)) == CertificateStatus.EXPIRED
    certificate.state = CertificateStatus.REVOKED
    assert certificate.status_on(date.fromordinal(certificate.valid_until.toordinal() + 1)) == CertificateStatus.REVOKED


# --------------------------------------------------------------------------- the place for other modules


def test_other_modules_join_through_signals_and_artifacts(app, world, monkeypatch):
    from examportal.certification import hooks

    seen = []

    def on_issued(certificate, **extra):
        seen.append(("issued", certificate.number, certificate.pdf_sha256 is not None))

    def on_status(certificate, action, **extra):
        seen.append((action, certificate.number, certificate.state.value))

    monkeypatch.setattr(hooks, "ARTIFACTS", {})
    hooks.artifact("credential")(lambda certificate: (".credential.json", f'{{"id": "{certificate.number}"}}'.encode()))
    with hooks.issued.connected_to(on_issued), hooks.status_changed.connected_to(on_status):
        decisions = services.decide(world["staff"], world["session"], [world["enrolments"][0].id], True, None)
        job = batch.start(world["staff"], world["session"], decisions)
        certificate = db.session.scalar(select(Certificate))
        services.change_status(world["staff"], certificate, "suspend", "Wyjaśnianie.")
        services.change_status(world["staff"], certificate, "lift", "Wyjaśnione.")
        replacement = services.correct(world["staff"], certificate, first_name="Łucja", last_name="Nowa",
                                       birth_date=None, reason="Zmiana nazwiska.")
        services.change_status(world["staff"], replacement, "revoke", "Fałszerstwo.")
    assert seen == [("issued", certificate.number, True), ("suspend", certificate.number, "suspended"),
                    ("lift", certificate.number, "valid"), ("supersede", certificate.number, "superseded"),
                    ("issued", replacement.number, True), ("revoke", replacement.number, "revoked")]
    archive = zipfile.ZipFile(io.BytesIO(job.result))
    (credential,) = [n for n in archive.namelist() if n.endswith(".credential.json")]
    assert credential.startswith(certificate.number.replace("/", "-")) and archive.read(credential) == (
        f'{{"id": "{certificate.number}"}}'.encode())


def test_the_holder_is_mailed_in_their_own_language(app, world):
    world["candidates"][1].locale = "en"
    db.session.commit()
    certificate = make_certificate(world["enrolments"][1], world["staff"])
    (mail,) = _mails(world["candidates"][1])
    assert mail.subject == "Your certificate has been issued"
    assert f"has issued your certificate no. {certificate.number}" in mail.body
    assert f"It is valid until {certificate.valid_until:%b} {certificate.valid_until.day}, {certificate.valid_until.year}" in mail.body
