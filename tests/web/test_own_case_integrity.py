"""Nobody acts on their own case, and nobody keeps acting after a conflict is recorded: a staff member
who holds a certificate does not change it, an appellant who is staff does not handle their appeal
or their request to see their work, a staff member does not record their own fee, an operator does
not sit (or check in, or extend) the exam they supervise, an assessor is not a candidate of their
own committee, an appeals-panel member found to have trained the appellant stops deciding (and is
replaced), and nobody is enrolled in a closed session."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.appeals import deciding
from examportal.appeals import services as appeals
from examportal.certification import services as certification
from examportal.extensions import db
from examportal.models import (
    Appeal,
    AppealStatus,
    Certificate,
    CertificateStatus,
    Enrolment,
    Role,
    SessionStatus,
    TheoryAttempt,
    UserRole,
)
from examportal.sessions import services as sessions
from tests import appealtools as at
from tests.certtools import make_certificate
from tests.factories import (
    add_member,
    client_as,
    enrol,
    make_applicant,
    make_institution,
    make_session,
    make_user,
    record_training,
    write_theory_bank,
)


def _refusal(error_class, action) -> str:
    with force_locale("en"), pytest.raises(error_class) as caught:
        action()
    db.session.rollback()
    return str(caught.value)


# --------------------------------------------------------------------------- certificates and fees


def test_a_staff_member_does_not_change_their_own_certificate(app, qualification):
    """The holder became staff of the certifying institution; a colleague suspended the certificate.
    The holder may not lift the suspension (nor correct it or issue its duplicate); the colleague may."""
    ic = make_institution("Fundacja Własna", qualifications=[qualification], short_name="OW1")
    issuer, colleague = make_user((Role.STAFF, ic)), make_user((Role.STAFF, ic))
    holder = make_user(Role.CANDIDATE, (Role.STAFF, ic), first_name="Sabina", last_name="Posiadaczka")
    certificate = make_certificate(enrol(make_session(ic, qualification), holder), issuer)
    certification.change_status(colleague, certificate, "suspend", "Podejrzenie nieuczciwości na egzaminie.")

    own = "your own certificate"
    assert own in _refusal(certification.CertificationError,
                           lambda: certification.change_status(holder, certificate, "lift", "Nie zgadzam się."))
    assert own in _refusal(certification.CertificationError, lambda: certification.correct(
        holder, certificate, first_name="Inna", last_name="Osoba", birth_date=certificate.holder_birth_date,
        reason="Literówka."))
    response = client_as(app, holder).post(f"/certification/certificates/{certificate.id}/lift",
                                           data={"lift-reason": "Nie zgadzam się."})
    assert response.status_code in (302, 400)
    db.session.expire_all()
    assert db.session.get(Certificate, certificate.id).state == CertificateStatus.SUSPENDED
    certification.change_status(colleague, certificate, "lift", "Wyjaśniono.")
    assert db.session.get(Certificate, certificate.id).state == CertificateStatus.VALID


def test_a_staff_member_does_not_record_their_own_fee(app, qualification):
    ic = make_institution("Fundacja Opłat", qualifications=[qualification], short_name="OW2")
    me, colleague = make_user(Role.CANDIDATE, (Role.STAFF, ic)), make_user((Role.STAFF, ic))
    session = make_session(ic, qualification)
    enrolment = enrol(session, me)
    free = {enrolment.id: certification.FeeEntry(amount=Decimal("0"), reason="zwolnienie")}
    assert "another staff member records your fee" in _refusal(
        certification.CertificationError, lambda: certification.record_fees(me, session, free))
    assert db.session.get(Enrolment, enrolment.id).fee_pln is None
    assert certification.record_fees(colleague, session, free) == 1


# --------------------------------------------------------------------------- the operator and the committee


@pytest.fixture
def operator_day(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    ic = make_institution("Ośrodek Egzaminów", qualifications=[qualification], short_name="OW3")
    operator = make_user((Role.OPERATOR, ic), (Role.ASSESSOR, ic), Role.CANDIDATE,
                         first_name="Olga", last_name="Samoobsługa")
    session = make_session(ic, qualification, operator_id=operator.id, starts_at=datetime.now(UTC) + timedelta(minutes=30))
    return {"ic": ic, "operator": operator, "session": session}


def test_the_operator_is_not_a_candidate_of_the_session_they_supervise(app, operator_day):
    session, operator = operator_day["session"], operator_day["operator"]
    message = _refusal(sessions.SessionRuleError, lambda: sessions.enrol_candidate(session, operator))
    assert "does not sit the exam they supervise" in message
    assert db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id)).all() == []


def test_an_operator_enrolled_before_becoming_the_operator_neither_checks_in_nor_extends_their_own_test(
        app, operator_day):
    """Old data, or an enrolment made another way: the operator is a candidate of the session. The
    appointment is refused now; an operator already appointed does not check themself in or act."""
    session, operator = operator_day["session"], operator_day["operator"]
    session.operator_id = None
    db.session.commit()
    enrolment = sessions.enrol_candidate(session, operator)
    assert "does not supervise their own exam" in _refusal(sessions.SessionRuleError,
                                                           lambda: sessions.assign_operator(session, operator))
    session.operator_id = operator.id  # as such data may already be
    db.session.commit()
    client = client_as(app, operator)
    client.post(f"/operator/sessions/{session.id}/check-in/{enrolment.id}",
                data={f"e{enrolment.id}-document": "id_card", f"e{enrolment.id}-matches": "y"})
    client.post(f"/operator/sessions/{session.id}/actions", data={"target": "0", "kind": "unlock", "minutes": "",
                                                                 "reason": "Start."})
    db.session.expire_all()
    assert db.session.get(Enrolment, enrolment.id).checked_in_at is None
    assert db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == enrolment.id)) is None


def test_a_committee_member_is_not_a_candidate_of_their_own_committee(app, operator_day, qualification):
    session, person = operator_day["session"], operator_day["operator"]
    session.operator_id = None
    add_member(session, person, declared=True)
    assert "sits on the session's committee" in _refusal(sessions.SessionRuleError,
                                                         lambda: sessions.enrol_candidate(session, person))
    other = make_session(operator_day["ic"], qualification, title="Druga sesja")
    enrol(other, person)
    assert "is a candidate of this session" in _refusal(sessions.SessionRuleError,
                                                        lambda: sessions.add_assessor(other, person))


def test_nobody_is_enrolled_in_a_closed_session(app, qualification):
    ic = make_institution("Fundacja Zamknięta", qualifications=[qualification], short_name="OW4")
    session = make_session(ic, qualification, starts_at=datetime.now(UTC) - timedelta(days=14))
    session.status = SessionStatus.CLOSED
    db.session.commit()
    late = make_applicant(first_name="Łukasz", last_name="Spóźniony")
    assert "The session is closed" in _refusal(sessions.SessionRuleError, lambda: sessions.enrol_candidate(session, late))
    staff = client_as(app, make_user((Role.STAFF, ic)))
    page = staff.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert 'id="enrolment-closed"' in page and f"/sessions/{session.id}/enrol" not in page
    response = staff.post(f"/sessions/{session.id}/enrol", data={"email": late.email})
    assert response.status_code == 400
    assert db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id)).all() == []
    # Nor does its committee or its operator change: the record keeps who assessed and supervised.
    assert 'id="operator-fixed"' in page and f"/sessions/{session.id}/operator" not in page
    assessor, operator = make_user((Role.ASSESSOR, ic)), make_user((Role.OPERATOR, ic))
    assert "The session is closed" in _refusal(sessions.SessionRuleError, lambda: sessions.add_assessor(session, assessor))
    assert "The session is closed" in _refusal(sessions.SessionRuleError, lambda: sessions.assign_operator(session, operator))


def test_a_decision_recorded_without_a_proposal_fixes_the_committee_too(app, qualification):
    """Older data (and the demo) hold decisions with no proposal: the members who decided stay."""
    from tests.certtools import validation_decision
    from tests.remedytools import validation_world

    w = validation_world(qualification, short_name="OW5")
    validation_decision(w["enrolment"], positive=True, decided_by=w["chair"])
    member = next(m for m in w["session"].committee if m.assessor_id == w["member"].id)
    assert "can no longer change" in _refusal(sessions.SessionRuleError, lambda: sessions.remove_assessor(member))


# --------------------------------------------------------------------------- appeals


def test_an_appellant_who_is_staff_does_not_handle_their_own_appeal(app, qualification):
    w = at.appeal_world(qualification, letter="W")
    w["candidate"].roles.append(UserRole(role=Role.STAFF, institution_id=w["ic"].id))
    db.session.commit()
    appeal = at.file_appeal(w)
    me = w["candidate"]
    assert "your own appeal" in _refusal(appeals.AppealError, lambda: appeals.acknowledge(me, appeal))
    appeals.acknowledge(w["staff"], appeal)
    assert "your own appeal" in _refusal(appeals.AppealError, lambda: appeals.appoint(me, appeal, w["panel1"], True))
    assert db.session.get(Appeal, appeal.id).panel == []


def test_an_appeals_panel_member_found_to_have_trained_the_appellant_stops_deciding_and_is_replaced(app, qualification):
    """The panel started its review and panel1 proposed; then panel1 is found to have trained the
    appellant. They may not act any more, and the other member alone may not carry the proposal (one
    person never decides an appeal). Staff appoint another member — the panel is otherwise fixed
    during the review, and nobody is taken off it: panel1 stays named, as what they did stays in the
    record, but counts no more — which withdraws the proposal panel1 voted on; that panel decides."""
    w = at.appeal_world(qualification, letter="X")
    appeal = at.file_appeal(w)
    at.ready_for_review(w, appeal)
    member1, member2 = at.seat(appeal, w["panel1"]), at.seat(appeal, w["panel2"])
    deciding.propose(member1, appeal, False, None, None, "Komisja oceniła pracę prawidłowo.")
    record_training(w["panel1"], w["candidate"], w["ic"])

    assert "trained" in _refusal(appeals.AppealError, lambda: deciding.propose(member1, appeal, True, None, None, "X."))
    assert "appoints another member first" in _refusal(appeals.AppealError,
                                                       lambda: deciding.vote(member2, appeal, True, None))
    assert db.session.get(Appeal, appeal.id).status == AppealStatus.UNDER_REVIEW
    assert "only to appoint a member" in _refusal(appeals.AppealError,
                                                  lambda: appeals.remove_member(w["staff"], appeal, member1))
    # The staff page names the member who may no longer act and offers the appointment form.
    staff = client_as(app, w["staff"])
    page = staff.get(f"/appeals/staff/{appeal.id}").get_data(as_text=True)
    assert "sitting-refusal" in page and f'action="/appeals/staff/{appeal.id}/panel"' in page
    assert staff.post(f"/appeals/staff/{appeal.id}/panel", data={"member": str(w["panel3"].id)}).status_code == 302
    assert [p.status for p in db.session.get(Appeal, appeal.id).proposals] == ["withdrawn"]  # panel1 had voted on it
    assert "only to appoint a member" in _refusal(appeals.AppealError,
                                                  lambda: appeals.appoint(w["staff"], appeal, w["panel1"]))
    appeals.declare(at.seat(appeal, w["panel3"]), "Oświadczam, że jestem bezstronny.")
    decided = at.decide(w, appeal, members=("panel3", "panel2"))
    assert decided.status == AppealStatus.DISMISSED


def test_staff_who_took_part_in_the_decision_appealed_do_not_handle_the_appeal(app, qualification):
    """The staff member who decided (here: recorded the validation decision's results, as the chair)
    would choose the panel that judges their own decision: refused; another staff member handles it."""
    w = at.appeal_world(qualification, letter="V")
    w["chair"].roles.append(UserRole(role=Role.STAFF, institution_id=w["ic"].id))
    db.session.commit()
    appeal = at.file_appeal(w)
    assert "took part in the decision appealed" in _refusal(appeals.AppealError,
                                                           lambda: appeals.acknowledge(w["chair"], appeal))
    appeals.acknowledge(w["staff"], appeal)
    assert db.session.get(Appeal, appeal.id).status == AppealStatus.ACKNOWLEDGED
