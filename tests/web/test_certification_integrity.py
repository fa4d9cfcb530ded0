"""Certification and corrections follow the validation as it stands today, and nobody bends their own
result: no certificate on a validation corrected to negative (however it is issued), and no staff
member who was also the candidate voids an item of their own test or corrects their own decision."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.certification import batch
from examportal.certification import services as certification
from examportal.committee import corrections
from examportal.extensions import db
from examportal.models import (
    AuditEntry,
    BackgroundJob,
    Certificate,
    CertificateEvent,
    CertificateEventKind,
    CertificateStatus,
    JobStatus,
    Role,
    UserRole,
)
from examportal.theory import voiding
from tests import factories
from tests.appealtools import mails_to
from tests.factories import enrol, make_applicant, make_user
from tests.remedytools import decide, validation_world

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _sit(session, candidate, correct):
    """``candidate`` sits the theory test of ``session`` (``correct`` right answers of 36, the rest
    unanswered; released) and finishes the practical task."""
    enrolment = enrol(session, candidate)
    return enrolment, factories.sit_theory_test(enrolment, correct, T0)


def _certified_then_corrected(app, qualification, tmp_path, short_name, *, correct=True):
    """A candidate whose passed test (22 of 36) the committee decided positive; certification is
    decided positive; then two voided items turn the test into a fail (20 of 34) and — ``correct`` —
    staff record the correction, which turns the validation negative."""
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    w = validation_world(qualification, short_name=short_name)
    enrolment, attempt = _sit(w["session"], make_applicant(first_name="Wiktor", last_name="Testowy", locale="en"), 22)
    decision = decide(enrolment, [w["chair"], w["member"]])
    assert decision.positive
    certifier = make_user((Role.STAFF, w["ic"]), first_name="Cecylia", last_name="Certyfikująca")
    (cert_decision,) = certification.decide(certifier, enrolment.session, [enrolment.id], True, None)
    for ai in attempt.items[:2]:
        voiding.void_item(w["staff"], ai.item_id, "Klucz niejednoznaczny.")
    assert attempt.passed is False
    if correct:
        corrections.correct_after_voiding(w["staff"], decision, "Unieważniono dwa wadliwe pytania testu.")
        assert corrections.standing_positive(decision) is False
    return {**w, "enrolment": enrolment, "decision": decision, "cert_decision": cert_decision, "certifier": certifier}


def _certificate_of(enrolment):
    return db.session.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))


def test_no_certificate_is_issued_on_a_decision_corrected_to_negative(app, qualification, tmp_path):
    """Certification was decided positive; before the certificate is numbered a voided item made staff
    correct the validation to negative. Issuing is refused with the reason, whichever way it is asked."""
    w = _certified_then_corrected(app, qualification, tmp_path, "CI")
    with force_locale("en"), pytest.raises(certification.CertificationError, match="no longer stands positive"):
        certification.issue_certificate(w["cert_decision"], w["certifier"])
    db.session.rollback()
    with force_locale("en"), pytest.raises(certification.CertificationError, match="no longer stands positive"):
        certification.issue_rendered(w["cert_decision"], w["certifier"])
    db.session.rollback()
    assert _certificate_of(w["enrolment"]) is None
    assert certification.validation_stands_positive(w["enrolment"]) is False


def test_the_batch_job_issues_no_certificate_on_a_decision_corrected_to_negative(app, qualification, tmp_path):
    """The batch job queued with the decision runs after the correction: it reports the refusal as a
    problem and issues nothing for that candidate."""
    w = _certified_then_corrected(app, qualification, tmp_path, "CJ")
    with force_locale("en"):
        job = batch.start(w["certifier"], w["enrolment"].session, [w["cert_decision"]])
    job = db.session.get(BackgroundJob, job.id)
    assert job.status == JobStatus.FINISHED
    assert [p["item"] for p in job.problems] == [f"#{w['cert_decision'].id}"]
    assert "no longer stands positive" in job.problems[0]["error"]
    assert _certificate_of(w["enrolment"]) is None


def test_a_certificate_is_issued_while_the_validation_still_stands_positive(app, qualification, tmp_path):
    """The legitimate path: a voided item changed the test, but no correction is recorded yet — the
    validation stands as decided (positive) and the certificate is issued."""
    w = _certified_then_corrected(app, qualification, tmp_path, "CK", correct=False)
    certificate = certification.issue_certificate(w["cert_decision"], w["certifier"])
    assert certificate.decision_id == w["cert_decision"].id and _certificate_of(w["enrolment"]) is not None


def _insider_world(app, qualification, tmp_path, short_name, correct):
    """A staff member of the certifying institution sits its test as a candidate (``correct`` of 36);
    the committee decides."""
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    w = validation_world(qualification, short_name=short_name)
    insider = make_applicant(first_name="Iwona", last_name="Wewnętrzna", locale="en")
    insider.roles.append(UserRole(role=Role.STAFF, institution_id=w["ic"].id))
    db.session.commit()
    enrolment, attempt = _sit(w["session"], insider, correct)
    decision = decide(enrolment, [w["chair"], w["member"]])
    return {**w, "insider": insider, "enrolment": enrolment, "attempt": attempt, "decision": decision}


def test_staff_do_not_void_an_item_of_their_own_test(app, qualification, tmp_path):
    """A staff member decided negative as a candidate (21 of 36) voids an item of their own test: an
    unanswered one, which would lift them to 21 of 35, a pass. Refused, naming why; nothing is voided."""
    w = _insider_world(app, qualification, tmp_path, "CO", 21)
    assert w["decision"].positive is False
    item_id = w["attempt"].items[-1].item_id
    with force_locale("en"), pytest.raises(voiding.VoidError, match="your own theory test"):
        voiding.void_item(w["insider"], item_id, "Pytanie spoza zakresu.")
    db.session.rollback()
    assert voiding.voided_items() == []
    # Another staff member may void it (a faulty item is voided for everyone who drew it).
    report = voiding.void_item(w["staff"], item_id, "Pytanie spoza zakresu.")
    assert w["attempt"] in report.rescored


def test_staff_do_not_correct_their_own_validation_decision(app, qualification, tmp_path):
    """Another staff member voided the item; the decision it changed is about the insider: they may not
    record its correction (the page says so too), another staff member may."""
    w = _insider_world(app, qualification, tmp_path, "CP", 21)
    decision = w["decision"]
    voiding.void_item(w["staff"], w["attempt"].items[-1].item_id, "Pytanie spoza zakresu.")  # 21 of 35: a pass
    assert corrections.voiding_changes(decision)
    with force_locale("en"):
        assert "about you" in corrections.voiding_refusal(w["insider"], decision)
        with pytest.raises(corrections.CorrectionError, match="about you"):
            corrections.correct_after_voiding(w["insider"], decision, "Pytanie spoza zakresu unieważnione.")
        with pytest.raises(corrections.CorrectionError, match="about you"):
            corrections.record(w["insider"], decision, corrections.voiding_changes(decision), "Sprostowanie.")
    db.session.rollback()
    assert corrections.standing_positive(decision) is False
    corrections.correct_after_voiding(w["staff"], decision, "Pytanie spoza zakresu unieważnione.")
    assert corrections.standing_positive(decision) is True


def test_a_certificate_issued_on_a_decision_later_corrected_to_negative_is_suspended(app, qualification, tmp_path,
                                                                                    client):
    """The certificate was issued; then a voided item made staff correct the validation to negative.
    The certificate no longer rests on a positive validation: it is suspended in the same step (the
    public sees it), the holder is told (and of their right to appeal the corrected result) and the
    certifying institution's staff are told to revoke it or lift the suspension."""
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    w = _certified_then_corrected(app, qualification, tmp_path, "CS", correct=False)
    certificate = certification.issue_certificate(w["cert_decision"], w["certifier"])
    assert certificate.status_on(certification.rules.today()) == CertificateStatus.VALID
    correction = corrections.correct_after_voiding(w["staff"], w["decision"], "Unieważniono dwa wadliwe pytania testu.")
    assert correction.positive_after is False
    db.session.expire_all()
    certificate = db.session.get(Certificate, certificate.id)
    assert certificate.state == CertificateStatus.SUSPENDED
    assert "no longer positive" in certificate.state_reason  # the holder's language (English)
    events = db.session.scalars(select(CertificateEvent).where(CertificateEvent.certificate_id == certificate.id)).all()
    assert [e.kind for e in events] == [CertificateEventKind.SUSPENDED]
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "certificate.suspended",
                                                      AuditEntry.object_id == str(certificate.id))) is not None
    holder_mail = {m.subject: m.body for m in mails_to(w["enrolment"].candidate)}
    corrected = holder_mail["A correction of your validation result"]
    assert f"Your certificate no. {certificate.number}, issued on this result, is suspended" in corrected
    assert "You may appeal against this decision within 14 days" in corrected
    assert "A change to your certificate" in holder_mail
    staff_mail = [m for m in mails_to(w["certifier"]) if certificate.number in m.body]
    assert len(staff_mail) == 1 and "Unieważnij certyfikat albo" in staff_mail[0].body  # in the staff member's language
    # The public register says so.
    page = client.get(f"/verify/{certificate.verification_code}").get_data(as_text=True)
    assert "zawieszony" in page.lower()


def test_a_correction_to_positive_touches_no_certificate_and_gives_no_appeal_notice(app, qualification, tmp_path):
    """A fail turned into a pass by a voided item: nothing to suspend, nothing to appeal against."""
    w = _insider_world(app, qualification, tmp_path, "CT", 21)
    item_id = w["attempt"].items[-1].item_id
    voiding.void_item(w["staff"], item_id, "Pytanie spoza zakresu.")
    correction = corrections.correct_after_voiding(w["staff"], w["decision"], "Unieważniono wadliwe pytanie.")
    assert correction.positive_after is True
    body = next(m.body for m in mails_to(w["insider"]) if m.subject == "A correction of your validation result")
    assert "appeal" not in body and "suspended" not in body
