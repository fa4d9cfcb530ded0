"""The renewal assessor's rules hold at every step, not only when they are assigned or declare:
someone found to have trained the holder, whose assessor role at the issuing institution was
withdrawn, or whose competence record falls short of the qualification's requirements does not
judge or decide; and nobody who sat on a committee that assessed the holder's work for this
certificate — the first one too, after an upheld appeal — assesses the renewal."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale

from examportal.appeals import remedies
from examportal.certification import services as certification
from examportal.certification.rules import today
from examportal.competence import services as competence
from examportal.extensions import db
from examportal.models import AppealRemedy, AppealSubject, CompetenceKind, RenewalStatus, Role, UserRole
from examportal.renewals import services as renewals
from examportal.sessions import services as sessions
from tests import factories
from tests.certtools import certification_world, make_certificate
from tests.factories import accept_renewal_evidence, client_as, expiring, make_renewal, make_user
from tests.remedytools import appeal_row, decide, validation_world


def _renewal_world(qualification, short_name):
    """A holder (not trained by the world's trainer) whose certificate expires in 150 days, and an
    assessor of the issuing institution free to assess them."""
    w = certification_world(qualification, short_name=short_name)
    w["holder"] = w["candidates"][1]
    w["certificate"] = expiring(make_certificate(w["enrolments"][1], w["staff"]), today() + timedelta(days=150))
    w["assessor"] = make_user((Role.ASSESSOR, w["ic"]), first_name="Ewa", last_name="Oceniająca", locale="en")
    return w


def _declared_renewal(w, application=None):
    """The renewal (a new one unless given) assigned to ``w["assessor"]``, declared, its evidence
    accepted: ready to decide."""
    application = renewals.assign(w["staff"], application or make_renewal(w["certificate"]), w["assessor"])
    application = renewals.declare(w["assessor"], application, True)
    return accept_renewal_evidence(w["assessor"], application, "Kompletne.")


def test_a_renewal_assessor_found_to_have_trained_the_holder_cannot_decide(app, qualification):
    """The training is recorded after the assessor declared impartiality: judging and deciding are
    refused, naming the training."""
    w = _renewal_world(qualification, "RT")
    application = _declared_renewal(w)
    sessions.record_training(w["staff"], w["ic"], w["assessor"], w["holder"], "Kurs CRM dla zaawansowanych")
    with force_locale("en"):
        with pytest.raises(renewals.RenewalError, match="trained the holder"):
            renewals.judge(w["assessor"], application, application.evidence[0].id, "accepted", "Kompletne.")
        db.session.rollback()
        with pytest.raises(renewals.RenewalError, match="trained the holder"):
            renewals.decide(w["assessor"], application, True, None)
    db.session.rollback()
    assert application.status == RenewalStatus.UNDER_REVIEW and application.new_certificate is None


def test_a_renewal_assessor_found_to_have_trained_the_holder_no_longer_sees_the_evidence(app, qualification):
    """The evidence (the holder's work documents) is shown to the assigned assessor while they may
    assess the holder: once the training is recorded, neither the files nor the page's list."""
    w = _renewal_world(qualification, "RE")
    application = _declared_renewal(w)
    item = application.evidence[0]
    assessor = client_as(app, w["assessor"])
    file_url = f"/renewals/{application.id}/evidence/{item.id}"
    assert assessor.get(file_url).status_code == 200
    assert file_url in assessor.get(f"/renewals/assess/{application.id}").get_data(as_text=True)
    sessions.record_training(w["staff"], w["ic"], w["assessor"], w["holder"], "Kurs CRM dla zaawansowanych")
    assert assessor.get(file_url).status_code == 404
    page = assessor.get(f"/renewals/assess/{application.id}").get_data(as_text=True)
    assert 'id="assessor-refusal"' in page and "trained the holder" in page
    assert file_url not in page and item.description not in page
    assert client_as(app, w["staff"]).get(file_url).status_code == 200  # staff assign another assessor


def test_a_renewal_is_decided_only_by_someone_still_authorised(app, qualification):
    """The assessor's role at the issuing institution is withdrawn after the assignment (they are still
    an assessor elsewhere, so the pages open): the decision is refused, and their page says why and
    offers no decision form; the staff page tells staff to assign another assessor."""
    w = _renewal_world(qualification, "RA")
    elsewhere = factories.make_institution("Inna Fundacja RA", qualifications=[qualification])
    w["assessor"].roles.append(UserRole(role=Role.ASSESSOR, institution_id=elsewhere.id))
    application = _declared_renewal(w)
    for role in list(w["assessor"].roles):
        if role.role == Role.ASSESSOR and role.institution_id == w["ic"].id:
            w["assessor"].roles.remove(role)
    db.session.commit()
    with force_locale("en"), pytest.raises(renewals.RenewalError, match="is not an assessor of"):
        renewals.decide(w["assessor"], application, True, None)
    db.session.rollback()
    page = client_as(app, w["assessor"]).get(f"/renewals/assess/{application.id}").get_data(as_text=True)
    assert 'id="assessor-refusal"' in page and "is not an assessor of" in page
    assert f"/renewals/assess/{application.id}/decide" not in page
    staff_page = client_as(app, w["staff"]).get(f"/renewals/staff/{application.id}").get_data(as_text=True)
    assert 'id="assessor-refusal"' in staff_page


def test_a_renewal_assessor_must_meet_the_qualifications_requirements_on_assessors(app, qualification):
    """An assessor without a competence record meeting the qualification's requirements (a committee
    appointment would refuse them) is not assigned; one whose record lapses (its review overdue)
    after the assignment does not decide."""
    w = _renewal_world(qualification, "RK")
    novice = make_user((Role.ASSESSOR, w["ic"]), first_name="Nina", last_name="Bezuprawnień", competent=False)
    application = make_renewal(w["certificate"])
    with force_locale("en"):
        assert "does not meet" in sessions.picker_label(w["session"], novice, CompetenceKind.ASSESSOR)
        with pytest.raises(renewals.RenewalError, match="does not meet"):
            renewals.assign(w["staff"], application, novice)
    db.session.rollback()
    application = _declared_renewal(w, application)
    competence.record_of(w["assessor"], CompetenceKind.ASSESSOR).review_due = today() - timedelta(days=1)
    db.session.commit()
    with force_locale("en"), pytest.raises(renewals.RenewalError, match="does not meet"):
        renewals.decide(w["assessor"], application, True, None)


def test_the_first_committee_of_a_reassessed_holder_does_not_assess_the_renewal(app, qualification):
    """After an upheld appeal a new committee assessed the same practical work again and the holder was
    certified on it: the first committee assessed this holder too, so its members do not assess the
    renewal (nor do the new committee's)."""
    w = validation_world(qualification, short_name="RR")
    first = decide(w["enrolment"], [w["chair"], w["member"]], not_met=("2.4.a",))
    appeal = appeal_row(AppealSubject.VALIDATION, first, w["candidate"], w["ic"], remedy=AppealRemedy.REASSESSMENT,
                        enrolment=w["enrolment"], panel=(w["panel"], w["panel2"]))
    remedies.carry_out(appeal, w["panel"])
    db.session.commit()
    new = db.session.get(type(w["enrolment"]), appeal.remedy_detail["enrolment_id"])
    for person, chair in ((w["spare"], True), (w["spare2"], False)):
        member = sessions.add_assessor(new.session, person, is_chair=chair)
        sessions.declare_impartiality(member, "Oświadczam, że jestem bezstronny.", None)
    decide(new, [w["spare"], w["spare2"]])
    certifier = make_user((Role.STAFF, w["ic"]), first_name="Cecylia", last_name="Certyfikująca")
    (cert_decision,) = certification.decide(certifier, new.session, [new.id], True, None)
    certificate = certification.render_issued(certification.issue_certificate(cert_decision, certifier), certifier)
    expiring(certificate, today() + timedelta(days=150))
    application = make_renewal(certificate)
    with force_locale("en"):
        for person in (w["chair"], w["spare"]):
            with pytest.raises(renewals.RenewalError, match="sat on the committee"):
                renewals.assign(w["staff"], application, person)
            db.session.rollback()
    outsider = make_user((Role.ASSESSOR, w["ic"]), first_name="Ewa", last_name="Niezależna")
    assert renewals.assign(w["staff"], application, outsider).assessor_id == outsider.id


def test_an_assessor_who_stays_authorised_renews(app, qualification):
    """The legitimate path: the same checks at every step let a free, qualified assessor decide."""
    w = _renewal_world(qualification, "RZ")
    application = _declared_renewal(w)
    decided = renewals.decide(w["assessor"], application, True, None)
    assert decided.status == RenewalStatus.ACCEPTED and decided.new_certificate is not None
    assert decided.new_certificate.valid_until > date.today()
