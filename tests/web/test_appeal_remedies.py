"""Remedies of upheld appeals, each carried out by the system and checked in the database: which
remedies fit which decision, their parameters from the panel's form, a correction, a new assessment
by a new committee (end to end, to the certificate), a retake without a fee, an application or a
renewal decided again, a suspension lifted, a replacement certificate after a revocation, a
certificate issued after a refused certification; the annex to the protocol."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from flask import render_template_string
from flask_babel import force_locale
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from examportal.access import may_read_exam_workspace
from examportal.appeals import remedies
from examportal.applications import services as applications
from examportal.certification import services as certification
from examportal.certification.rules import today
from examportal.committee import corrections
from examportal.committee import services as committee
from examportal.credentials import badge
from examportal.extensions import db
from examportal.models import (
    AppealRemedy,
    AppealStatus,
    AppealSubject,
    ApplicationStatus,
    AuditEntry,
    Certificate,
    CertificateEventKind,
    CertificateStatus,
    CriterionResult,
    DecisionCorrection,
    Enrolment,
    OutboxMail,
    RenewalApplication,
    RenewalStatus,
    ValidationDecision,
    ValidationSession,
    utcnow,
)
from examportal.practical import services as practical
from examportal.sessions import services as sessions
from tests.certtools import certification_decision, certification_world, make_certificate
from tests.factories import (
    client_as,
    make_application,
    make_published_session,
    make_session,
)
from tests.remedytools import appeal_row, decide, validation_world


@pytest.fixture
def world(app, qualification):
    return validation_world(qualification)


def _negative(world, not_met=("2.4.a", "2.5.a")):
    return decide(world["enrolment"], [world["chair"], world["member"]], not_met=not_met)


def _validation_appeal(world, decision, remedy=AppealRemedy.NONE, detail=None, status=AppealStatus.UPHELD,
                       subject=AppealSubject.VALIDATION, record=None):
    return appeal_row(subject, record or decision, world["candidate"], world["ic"], status=status, remedy=remedy,
                      detail=detail, enrolment=world["enrolment"], panel=(world["panel"], world["panel2"]))


def _mails_to(user):
    return db.session.scalars(select(OutboxMail).where(OutboxMail.recipient == user.email).order_by(OutboxMail.id)).all()


def _pdf_text(data: bytes) -> str:
    return " ".join("\n".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages).split())


# --------------------------------------------------------------------------- which remedies fit


def test_the_remedies_that_fit_each_decision(app, world, qualification):
    decision = _negative(world)
    attempt = practical.attempt_for(world["enrolment"])
    theory = committee.theory_attempt(world["enrolment"])
    validation = _validation_appeal(world, decision, status=AppealStatus.UNDER_REVIEW)
    assert remedies.applicable(validation) == [AppealRemedy.REASSESSMENT, AppealRemedy.RETAKE, AppealRemedy.CORRECTION]
    on_theory = _validation_appeal(world, decision, status=AppealStatus.UNDER_REVIEW, subject=AppealSubject.THEORY,
                                   record=theory)
    # The theory part was passed: every test criterion is met, so a correction has nothing to turn.
    assert remedies.applicable(on_theory) == [AppealRemedy.RETAKE]
    on_practical = _validation_appeal(world, decision, status=AppealStatus.UNDER_REVIEW,
                                      subject=AppealSubject.PRACTICAL, record=attempt)
    assert remedies.applicable(on_practical) == [AppealRemedy.RETAKE, AppealRemedy.REASSESSMENT]
    assert remedies.retake_parts(validation) == ["theory", "practical"]
    assert remedies.retake_parts(on_theory) == ["theory"] and remedies.retake_parts(on_practical) == ["practical"]
    # NONE is never offered while a remedy applies; asking for it is refused.
    assert AppealRemedy.NONE not in remedies.applicable(validation)
    with force_locale("en"), pytest.raises(remedies.RemedyError, match="has a remedy here"):
        remedies.detail_from_form(validation, AppealRemedy.NONE, {})
    with force_locale("en"), pytest.raises(remedies.RemedyError, match="does not fit"):
        remedies.detail_from_form(validation, AppealRemedy.LIFT_SUSPENSION, {})


def test_a_decision_not_yet_made_or_without_practical_work_limits_the_remedies(app, world, qualification):
    # The conduct of the practical exam appealed before the committee decided: only a retake.
    attempt = practical.attempt_for(world["enrolment"])
    early = _validation_appeal(world, None, status=AppealStatus.UNDER_REVIEW, subject=AppealSubject.PRACTICAL,
                               record=attempt)
    assert remedies.applicable(early) == [AppealRemedy.RETAKE]
    with force_locale("en"):
        assert "has not decided yet" in remedies.refusal(early, AppealRemedy.REASSESSMENT)
    # A candidate absent from the practical part: nothing to assess again.
    absent = validation_world(qualification, short_name="AB")
    db.session.delete(practical.attempt_for(absent["enrolment"]))
    absent["enrolment"].practical_absent_at, absent["enrolment"].practical_absent_by_id = utcnow(), absent["operator"].id
    absent["enrolment"].practical_absent_note = "Nie stawił się."
    db.session.commit()
    decision = decide(absent["enrolment"], [absent["chair"], absent["member"]])
    appeal = appeal_row(AppealSubject.VALIDATION, decision, absent["candidate"], absent["ic"],
                        status=AppealStatus.UNDER_REVIEW, enrolment=absent["enrolment"])
    assert AppealRemedy.REASSESSMENT not in remedies.applicable(appeal)
    with force_locale("en"):
        assert "no finished practical work" in remedies.refusal(appeal, AppealRemedy.REASSESSMENT)


def test_nothing_to_carry_out_is_allowed_only_when_no_remedy_applies(app, qualification):
    cert_world = certification_world(qualification, short_name="NN")
    certificate = make_certificate(cert_world["enrolments"][0], cert_world["staff"])
    event = certification.change_status(cert_world["staff"], certificate, "suspend", "Wyjaśnienia.").events[-1]
    certification.change_status(cert_world["staff"], certificate, "lift", "Wyjaśniono.")
    appeal = appeal_row(AppealSubject.CERTIFICATE, event, certificate.holder, cert_world["ic"],
                        status=AppealStatus.UNDER_REVIEW, enrolment=certificate.enrolment, certificate=certificate)
    assert remedies.applicable(appeal) == []  # the suspension was lifted meanwhile
    assert remedies.detail_from_form(appeal, AppealRemedy.NONE, {}) is None


# --------------------------------------------------------------------------- the panel's form


def test_the_remedy_fields_and_their_parameters(app, world):
    decision = _negative(world)
    appeal = _validation_appeal(world, decision, status=AppealStatus.UNDER_REVIEW)
    offered = remedies.applicable(appeal)
    template = ('{% from "appeals/_remedy_fields.html" import remedy_fields %}'
                '{{ remedy_fields(appeal, remedies, formdata) }}')
    with app.test_request_context(), force_locale("en"):
        html = render_template_string(template, appeal=appeal, remedies=offered,
                                      formdata=MultiDict({"remedy-part": "practical", "remedy-met-2.4.a": "met"}))
    assert 'name="remedy-part" value="practical" checked' in html and 'value="theory">' in html
    assert '<label for="remedy-met-2.4.a">' in html and 'id="remedy-met-2.4.a" name="remedy-met-2.4.a" value="met" checked' in html
    assert 'id="remedy-met-2.5.a" name="remedy-met-2.5.a" value="met">' in html  # not ticked: not posted
    assert "<legend>" in html and "1.1.a" not in html  # only the unmet criteria are offered
    # Only the fields of the remedies offered.
    with app.test_request_context(), force_locale("en"):
        assert "remedy-part" not in render_template_string(template, appeal=appeal, remedies=[AppealRemedy.CORRECTION],
                                                           formdata=None)

    with force_locale("en"):
        assert remedies.detail_from_form(appeal, AppealRemedy.RETAKE, {"remedy-part": "theory"}) == {"part": "theory"}
        with pytest.raises(remedies.RemedyError, match="Choose which part"):
            remedies.detail_from_form(appeal, AppealRemedy.RETAKE, {"remedy-part": "both"})
        with pytest.raises(remedies.RemedyError, match="at least one criterion"):
            remedies.detail_from_form(appeal, AppealRemedy.CORRECTION, {"remedy-met-1.1.a": "met"})  # met already
        assert remedies.detail_from_form(appeal, AppealRemedy.REASSESSMENT, {}) is None
        # One of the two unmet criteria turned: the decision stays negative — the rule decides, not the panel.
        partial = remedies.detail_from_form(appeal, AppealRemedy.CORRECTION, {"remedy-met-2.4.a": "met"})
        assert partial == {"criteria": {"2.4.a": {"before": False, "after": True}}, "positive_before": False,
                           "positive_after": False}
        both = remedies.detail_from_form(appeal, AppealRemedy.CORRECTION, {"remedy-met-2.4.a": "y", "remedy-met-2.5.a": "y"})
        assert both["positive_after"] is True and set(both["criteria"]) == {"2.4.a", "2.5.a"}


# --------------------------------------------------------------------------- correction


def test_a_correction_is_recorded_beside_the_decision_and_opens_certification(app, world):
    decision = _negative(world)
    protocol, justification = decision.protocol_pdf, decision.justification
    detail = {"criteria": {"2.4.a": {"before": False, "after": True}, "2.5.a": {"before": False, "after": True}},
              "positive_before": False, "positive_after": True}
    appeal = _validation_appeal(world, decision, AppealRemedy.CORRECTION, detail)
    remedies.carry_out(appeal, world["panel"])
    db.session.commit()

    correction = db.session.scalar(select(DecisionCorrection))
    assert correction.decision_id == decision.id and correction.appeal_id == appeal.id
    assert correction.criteria == {"2.4.a": {"before": False, "after": True}, "2.5.a": {"before": False, "after": True}}
    assert (correction.positive_before, correction.positive_after) == (False, True)
    assert correction.reason == appeal.justification and correction.notified_at is not None
    # The decision row is kept as decided; the results follow the correction.
    db.session.expire_all()
    kept = db.session.get(ValidationDecision, decision.id)
    assert kept.positive is False and kept.protocol_pdf == protocol and kept.justification == justification
    assert kept.protocol_sha256 == hashlib.sha256(protocol).hexdigest()
    assert all(r.met for r in committee.results(world["enrolment"]).values())
    assert corrections.standing_positive(kept) is True
    assert appeal.remedy_detail["correction_id"] == correction.id and appeal.remedy_done_at is not None
    assert appeal.remedy_detail["positive_after"] is True
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"committee.decision_corrected", "appeal.remedy_carried_out"} <= actions
    mail = _mails_to(world["candidate"])[-1]
    assert mail.subject == "A correction of your validation result"  # the candidate's language: English
    assert "2.4.a" in mail.body and appeal.justification in mail.body and "now positive" in mail.body
    # Certification follows the corrected decision.
    assert certification.decision_refusal(world["staff"], world["enrolment"]) is None
    # The candidate's result page and the committee's case page show it as changed.
    page = client_as(app, world["candidate"]).get(f"/committee/result/{world['enrolment'].id}").get_data(as_text=True)
    assert "Positive" in page and "changed by appeal" in page and "2.4.a" in page
    case = client_as(app, world["chair"]).get(f"/committee/enrolments/{world['enrolment'].id}").get_data(as_text=True)
    assert "changed by appeal" in case and "Correction of" in case


def test_a_correction_cannot_call_positive_what_the_rule_does_not(app, world):
    decision = _negative(world)
    # The panel's stored parameters claim a positive result with one criterion turned: the system
    # records what the rule gives — still negative — and certification stays closed.
    detail = {"criteria": {"2.4.a": {"before": False, "after": True}}, "positive_before": False, "positive_after": True}
    appeal = _validation_appeal(world, decision, AppealRemedy.CORRECTION, detail)
    remedies.carry_out(appeal, world["panel"])
    correction = db.session.scalar(select(DecisionCorrection))
    assert correction.positive_after is False and appeal.remedy_detail["positive_after"] is False
    assert corrections.standing_positive(decision) is False
    with force_locale("en"):
        assert "positive validation decision" in certification.decision_refusal(world["staff"], world["enrolment"])
    # A corrected-to-negative decision does not count either (a second correction, the other way).
    corrections.record(world["staff"], decision, {"2.4.a": False, "1.1.a": False}, "Wynik testu skorygowany.")
    assert corrections.standing_positive(decision) is False


# --------------------------------------------------------------------------- new assessment, end to end


def test_a_new_committee_assesses_the_original_work_and_certification_follows(app, world):
    enrolment = world["enrolment"]
    original_attempt = practical.attempt_for(enrolment)
    decision = _negative(world)
    appeal = _validation_appeal(world, decision, AppealRemedy.REASSESSMENT)
    remedies.carry_out(appeal, world["panel"])
    db.session.commit()

    new = db.session.get(Enrolment, appeal.remedy_detail["enrolment_id"])
    session = db.session.get(ValidationSession, appeal.remedy_detail["session_id"])
    assert new.session_id == session.id and new.reassessment_of_id == enrolment.id and new.candidate_id == enrolment.candidate_id
    assert new.theory_recognized_from_id == enrolment.id
    assert new.fee_pln == Decimal("0.00") and new.fee_reason == remedies.REASSESSMENT_FEE_REASON
    assert session.title == "Ponowna ocena — Sesja pierwsza" and session.capacity == 1 and session.published_at is None
    assert (session.institution_id, session.qualification_id) == (world["session"].institution_id,
                                                                 world["session"].qualification_id)
    local = session.starts_at.astimezone(sessions.WARSAW)
    assert local.date() == today() + timedelta(days=7) and (local.hour, local.minute) == (9, 0)
    assert session.committee == []
    assert any(f"/sessions/{session.id}" in m.body for m in _mails_to(world["staff"]))
    assert "assessed again by a new committee" in _mails_to(world["candidate"])[-1].body

    # Nobody from the first assessment: its members, its operator, the candidate's trainer.
    with force_locale("en"):
        for who, reason in (("chair", "first assessed"), ("member", "first assessed"), ("operator", "operator"),
                            ("trainer", "trained")):
            with pytest.raises(sessions.SessionRuleError, match=reason):
                sessions.add_assessor(session, world[who])
    sessions.add_assessor(session, world["spare"], is_chair=True)
    sessions.add_assessor(session, world["spare2"])
    for member in session.committee:
        sessions.declare_impartiality(member, "Oświadczam, że jestem bezstronny.", None)

    # The new committee sees and scores the original work: the attempt, its workspace, the theory result.
    assert committee.practical_attempt(new).id == original_attempt.id and committee.practical_state(new) == "taken"
    assert committee.theory_attempt(new).enrolment_id == enrolment.id and committee.missing_parts(new) is not None
    assert may_read_exam_workspace(world["spare"], original_attempt.workspace_id)
    with force_locale("en"):
        assert "assessed again" in practical.eligibility_refusal(new)  # the candidate does not sit it again
    candidate = client_as(app, world["candidate"])
    assert "you do not take the theory test or the practical exam again" in \
        candidate.get(f"/theory/enrolments/{new.id}").get_data(as_text=True)
    assert "assessed again by a new committee" in candidate.get(f"/practical/enrolments/{new.id}").get_data(as_text=True)
    case = client_as(app, world["spare"]).get(f"/committee/enrolments/{new.id}")
    assert case.status_code == 200 and "new assessment ordered after an upheld appeal" in case.get_data(as_text=True)
    assert client_as(app, world["spare"]).get(f"/committee/enrolments/{new.id}/practical/xapi.json").status_code == 200
    positive = decide(new, [world["spare"], world["spare2"]])
    assert positive.positive and positive.enrolment_id == new.id
    assert "ponowna ocena" in _pdf_text(positive.protocol_pdf)
    # The first decision stays as it was.
    assert db.session.get(ValidationDecision, decision.id).positive is False

    # Certification: not by anyone from the first assessment; a free staff member decides; the certificate is issued.
    with force_locale("en"):
        assert "validation committee" in certification.involvement(world["chair"], new)
    decided = certification.decide(world["staff"], session, [new.id], True, None)
    certificate = certification.render_issued(certification.issue_certificate(decided[0], world["staff"]), world["staff"])
    assert certificate.enrolment_id == new.id and certificate.state == CertificateStatus.VALID
    assert certificate.pdf_sha256 is not None and certificate.holder_id == world["candidate"].id


# --------------------------------------------------------------------------- retake without a fee


def test_a_retake_waives_the_fee_of_the_next_enrolment_once(app, world, qualification):
    decision = _negative(world)
    appeal = _validation_appeal(world, decision, AppealRemedy.RETAKE, {"part": "practical"})
    remedies.carry_out(appeal, world["panel"])
    db.session.commit()
    assert appeal.remedy_detail["part"] == "practical" and appeal.remedy_detail["fee_waived"] is True
    assert "practical part" in _mails_to(world["candidate"])[-1].body

    later = make_session(world["ic"], qualification, title="Sesja druga", starts_at=utcnow() + timedelta(days=20),
                         fee_pln=Decimal("450.00"))
    enrolment = sessions.enrol_candidate(later, world["candidate"])
    assert enrolment.fee_pln == Decimal("0.00") and enrolment.fee_reason == sessions.RETAKE_FEE_REASON
    # A practical retake: the passed theory part is recognised.
    assert enrolment.theory_recognized_from_id == world["enrolment"].id
    assert db.session.get(type(appeal), appeal.id).remedy_detail["used_by_enrolment_id"] == enrolment.id
    # Once: the next enrolment pays.
    third = make_session(world["ic"], qualification, title="Sesja trzecia", starts_at=utcnow() + timedelta(days=40))
    assert sessions.enrol_candidate(third, world["candidate"]).fee_pln is None
    # Withdrawn from the retake's session: the waiver is free again.
    sessions.withdraw_enrolment(enrolment)
    fourth = make_session(world["ic"], qualification, title="Sesja czwarta", starts_at=utcnow() + timedelta(days=50))
    assert sessions.enrol_candidate(fourth, world["candidate"]).fee_reason == sessions.RETAKE_FEE_REASON


def test_a_theory_retake_through_an_accepted_application_and_its_limits(app, world, qualification):
    decision = _negative(world)
    appeal = _validation_appeal(world, decision, AppealRemedy.RETAKE, {"part": "theory"})
    remedies.carry_out(appeal, world["panel"])
    db.session.commit()
    # Another institution, or after carry_over_months: no waiver.
    elsewhere = make_session(validation_world(qualification, short_name="EL")["ic"], qualification,
                             starts_at=utcnow() + timedelta(days=10), fee_pln=Decimal("300.00"))
    assert sessions.enrol_candidate(elsewhere, world["candidate"]).fee_pln is None
    too_late = make_session(world["ic"], qualification, starts_at=utcnow() + timedelta(days=400))
    assert sessions.enrol_candidate(too_late, world["candidate"]).fee_pln is None
    # An application accepted by staff: the fee is waived, nothing recognised for a theory retake.
    published = make_published_session(world["ic"], qualification, fee_pln=Decimal("450.00"))
    application = make_application(published, world["candidate"])
    outcome = applications.accept(world["staff"], application)
    assert outcome.application.enrolment.fee_pln == Decimal("0.00")
    assert outcome.application.enrolment.theory_recognized_from_id is None
    audit = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "appeal.retake_used"))
    assert audit.after["enrolment_id"] == outcome.application.enrolment_id and audit.after["part"] == "theory"


# --------------------------------------------------------------------------- decided again


def test_a_rejected_application_goes_back_to_the_formal_check(app, world, qualification):
    published = make_published_session(world["ic"], qualification)
    application = make_application(published, world["candidate"])
    applications.reject(world["staff"], application, "Brak potwierdzenia tożsamości.")
    appeal = appeal_row(AppealSubject.APPLICATION, application, world["candidate"], world["ic"],
                        remedy=AppealRemedy.RECONSIDER, panel=(world["panel"],))
    assert remedies.applicable(appeal) == [AppealRemedy.RECONSIDER]
    remedies.carry_out(appeal, world["panel"])
    db.session.commit()
    assert application.status == ApplicationStatus.SUBMITTED and application.rejection_reason is None
    assert appeal.remedy_detail["previous"]["rejection_reason"] == "Brak potwierdzenia tożsamości."
    assert appeal.remedy_detail["previous"]["decided_by_id"] == world["staff"].id
    entries = db.session.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "application")
                                 .order_by(AuditEntry.seq)).all()
    assert entries[-2:] == ["application.rejected", "application.reopened_after_appeal"]  # the rejection stays on record
    assert applications.accept(world["staff"], application).application.status == ApplicationStatus.ACCEPTED


def test_a_rejected_renewal_is_reviewed_again(app, qualification):
    cert_world = certification_world(qualification, short_name="RN")
    certificate = make_certificate(cert_world["enrolments"][0], cert_world["staff"])
    now = utcnow()
    renewal = RenewalApplication(certificate_id=certificate.id, holder_id=certificate.holder_id,
                                 status=RenewalStatus.REJECTED, submitted_at=now, declaration_at=now,
                                 justification="Za mało udokumentowanej pracy.", decided_at=now,
                                 decided_by_id=cert_world["staff"].id)
    db.session.add(renewal)
    db.session.commit()
    appeal = appeal_row(AppealSubject.RENEWAL, renewal, certificate.holder, cert_world["ic"],
                        remedy=AppealRemedy.RECONSIDER, enrolment=certificate.enrolment, certificate=certificate)
    remedies.carry_out(appeal, cert_world["staff2"])
    assert renewal.status == RenewalStatus.UNDER_REVIEW and appeal.remedy_detail["renewal_id"] == renewal.id
    assert renewal.justification == "Za mało udokumentowanej pracy."  # only the status is set


# --------------------------------------------------------------------------- certificates


def _certificate_world(qualification, short_name):
    cert_world = certification_world(qualification, short_name=short_name)
    appeals_member = cert_world["member"]  # any person: the system acts on the panel's decision
    return cert_world, appeals_member


def test_a_suspension_is_lifted_with_the_existing_lift(app, qualification):
    cert_world, actor = _certificate_world(qualification, "LS")
    certificate = make_certificate(cert_world["enrolments"][0], cert_world["staff"])
    certification.change_status(cert_world["staff"], certificate, "suspend", "Podejrzenie nieprawidłowości.")
    event = certificate.events[-1]
    appeal = appeal_row(AppealSubject.CERTIFICATE, event, certificate.holder, cert_world["ic"],
                        remedy=AppealRemedy.LIFT_SUSPENSION, enrolment=certificate.enrolment, certificate=certificate)
    assert remedies.applicable(appeal) == [AppealRemedy.LIFT_SUSPENSION]
    remedies.carry_out(appeal, actor)
    db.session.commit()
    assert certificate.state == CertificateStatus.VALID
    lifted = certificate.events[-1]
    assert lifted.kind == CertificateEventKind.SUSPENSION_LIFTED and lifted.reason == remedies.LIFT_REASON
    assert lifted.actor_id == actor.id and appeal.remedy_detail["event_id"] == lifted.id
    assert remedies.LIFT_REASON in _mails_to(certificate.holder)[-1].body
    # Carried out once.
    with force_locale("en"), pytest.raises(remedies.RemedyError, match="already been carried out"):
        remedies.carry_out(appeal, actor)


def test_an_overturned_revocation_gets_a_replacement_with_the_original_dates(app, qualification):
    cert_world, actor = _certificate_world(qualification, "RP")
    revoked = make_certificate(cert_world["enrolments"][0], cert_world["staff"])
    revoked.issued_on -= timedelta(days=400)
    revoked.valid_until -= timedelta(days=400)
    db.session.commit()
    certification.change_status(cert_world["staff"], revoked, "revoke", "Naruszenie zasad egzaminu.")
    event = revoked.events[-1]
    appeal = appeal_row(AppealSubject.CERTIFICATE, event, revoked.holder, cert_world["ic"],
                        remedy=AppealRemedy.REPLACEMENT, enrolment=revoked.enrolment, certificate=revoked)
    assert remedies.applicable(appeal) == [AppealRemedy.REPLACEMENT]
    remedies.carry_out(appeal, actor)
    db.session.commit()
    replacement = db.session.get(Certificate, appeal.remedy_detail["certificate_id"])
    assert revoked.state == CertificateStatus.REVOKED  # revocations are never undone
    assert replacement.supersedes_id == revoked.id and replacement.number != revoked.number
    assert (replacement.issued_on, replacement.valid_until) == (revoked.issued_on, revoked.valid_until)
    assert replacement.year == today().year and replacement.state == CertificateStatus.VALID
    assert replacement.content["supersedes"]["after_appeal"] == appeal.id
    assert replacement.pdf_sha256 and "odwołanie zostało uwzględnione" in _pdf_text(replacement.pdf)
    assert badge.credential_for(replacement) is not None
    assert replacement.number in _mails_to(revoked.holder)[-1].body
    assert remedies.applicable(appeal) == []  # replaced once


def test_a_refused_certification_overturned_issues_the_certificate(app, qualification):
    cert_world, actor = _certificate_world(qualification, "IC")
    enrolment = cert_world["enrolments"][1]
    refused = certification_decision(enrolment, cert_world["staff"], positive=False)
    appeal = appeal_row(AppealSubject.CERTIFICATION, refused, enrolment.candidate, cert_world["ic"],
                        remedy=AppealRemedy.ISSUE_CERTIFICATE, enrolment=enrolment)
    assert remedies.applicable(appeal) == [AppealRemedy.ISSUE_CERTIFICATE]
    remedies.carry_out(appeal, actor)
    db.session.commit()
    # The refusal is kept as it was, marked overturned by the appeal; a new positive decision stands.
    db.session.refresh(refused)
    assert not refused.positive and refused.reason == "Brak wymaganych dokumentów."
    assert refused.decided_by_id == cert_world["staff"].id
    assert refused.overturned_by_appeal_id == appeal.id and refused.overturned_at is not None
    standing = certification.certification_decision(enrolment)
    assert standing.id != refused.id and standing.positive and standing.decided_by_id == actor.id
    assert f"odwołania nr {appeal.id}" in standing.reason
    assert appeal.remedy_detail["overturned_decision_id"] == refused.id
    certificate = db.session.get(Certificate, appeal.remedy_detail["certificate_id"])
    assert certificate.decision_id == standing.id and certificate.pdf_sha256 is not None
    assert "Brak wymaganych dokumentów" in " ".join(remedies.produced_lines(appeal))
    # Only one decision stands per enrolment: a second standing one is refused by the database.
    from sqlalchemy.exc import IntegrityError

    from examportal.models import CertificationDecision
    db.session.add(CertificationDecision(enrolment_id=enrolment.id, validation_decision_id=standing.validation_decision_id,
                                         positive=True, decided_by_id=actor.id, decided_at=standing.decided_at))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# --------------------------------------------------------------------------- refusals


def test_refusals_name_their_reason(app, world):
    decision = _negative(world)
    with force_locale("en"):
        filed = _validation_appeal(world, decision, AppealRemedy.NONE, status=AppealStatus.UNDER_REVIEW)
        with pytest.raises(remedies.RemedyError, match="Only an upheld appeal"):
            remedies.carry_out(filed, world["panel"])
        stale = _validation_appeal(world, decision, AppealRemedy.CORRECTION,
                                   {"criteria": {"1.1.a": {"before": True, "after": True}}})
        with pytest.raises(remedies.RemedyError, match="no criterion that is unmet"):
            remedies.carry_out(stale, world["panel"])
        first = _validation_appeal(world, decision, AppealRemedy.REASSESSMENT)
        remedies.carry_out(first, world["panel"])
        second = _validation_appeal(world, decision, AppealRemedy.REASSESSMENT)
        with pytest.raises(remedies.RemedyError, match="already been ordered"):
            remedies.carry_out(second, world["panel"])
    assert db.session.scalar(select(DecisionCorrection)) is None
    assert db.session.scalar(select(CriterionResult).where(CriterionResult.met.is_(False))) is not None


# --------------------------------------------------------------------------- the annex


def test_the_annex_is_appended_to_the_protocol_download(app, world):
    decision = _negative(world)
    protocol = decision.protocol_pdf
    protocol_pages = len(PdfReader(BytesIO(protocol)).pages)
    candidate = client_as(app, world["candidate"])
    url = f"/committee/enrolments/{world['enrolment'].id}/protocol.pdf"
    assert candidate.get(url).data == protocol  # no decided appeal: the stored bytes, as they are
    appeal = _validation_appeal(world, decision, AppealRemedy.CORRECTION,
                                {"criteria": {"2.4.a": {"before": False, "after": True}}})
    remedies.carry_out(appeal, world["panel"])
    appeal.annex_pdf = remedies.annex_pdf(appeal)
    appeal.annex_sha256 = hashlib.sha256(appeal.annex_pdf).hexdigest()
    open_appeal = _validation_appeal(world, decision, status=AppealStatus.UNDER_REVIEW)  # not decided: no annex
    db.session.commit()
    annex_text = _pdf_text(appeal.annex_pdf)
    assert "Załącznik do protokołu walidacji" in annex_text and "ODWOŁANIE UWZGLĘDNIONE" in annex_text
    assert "Patryk Odwoławczy" in annex_text and "sprostowanie" in annex_text.lower() and "2.4.a" in annex_text
    assert hashlib.sha256(appeal.grounds.encode()).hexdigest() in annex_text.replace(" ", "")

    response = candidate.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    merged = PdfReader(BytesIO(response.data))
    assert len(merged.pages) == protocol_pages + len(PdfReader(BytesIO(appeal.annex_pdf)).pages)
    assert "Załącznik do protokołu" in merged.pages[protocol_pages].extract_text()
    assert "Załącznik" not in " ".join(p.extract_text() for p in merged.pages[:protocol_pages])
    db.session.expire_all()
    stored = db.session.get(ValidationDecision, decision.id)
    assert stored.protocol_pdf == protocol and stored.protocol_sha256 == hashlib.sha256(protocol).hexdigest()
    assert open_appeal.id not in [a.id for a in remedies.decided_appeals(world["enrolment"])]
    # The committee reads the same document.
    assert len(PdfReader(BytesIO(client_as(app, world["chair"]).get(url).data)).pages) == len(merged.pages)


def test_a_dismissed_appeal_has_an_annex_too(app, world):
    decision = _negative(world)
    appeal = _validation_appeal(world, decision, status=AppealStatus.DISMISSED)
    text = _pdf_text(remedies.annex_pdf(appeal))
    assert "ODWOŁANIE ODDALONE" in text and "Środek" not in text
