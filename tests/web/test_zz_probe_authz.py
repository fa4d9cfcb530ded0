"""Probe: one person bending a decision (authz review)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from examportal.appeals import deciding
from examportal.appeals import services as appeal_services
from examportal.certification import services as cert_services
from examportal.extensions import db
from examportal.models import (
    Appeal,
    AttemptStatus,
    Certificate,
    CertificateStatus,
    Role,
    TheoryAttempt,
)
from examportal.sessions import services as session_services
from examportal.theory import services as theory
from tests import appealtools as at
from tests.certtools import make_certificate
from tests.factories import (
    client_as,
    enrol,
    make_institution,
    make_session,
    make_user,
    record_training,
    write_theory_bank,
)


# ---------------------------------------------------------------- 1. staff holder lifts own suspension
def test_staff_holder_lifts_suspension_of_own_certificate(app, qualification):
    ic = make_institution("Fundacja P1", qualifications=[qualification], short_name="PA1")
    issuer = make_user((Role.STAFF, ic))
    suspender = make_user((Role.STAFF, ic))
    # The holder later became staff of the same certifying institution.
    holder = make_user(Role.CANDIDATE, (Role.STAFF, ic), first_name="Samo", last_name="Zwolnienie")
    session = make_session(ic, qualification)
    enrolment = enrol(session, holder)
    certificate = make_certificate(enrolment, issuer)
    cert_services.change_status(suspender, certificate, "suspend", "Podejrzenie nieuczciwości na egzaminie.")
    assert db.session.get(Certificate, certificate.id).state == CertificateStatus.SUSPENDED

    client = client_as(app, holder)
    response = client.post(f"/certification/certificates/{certificate.id}/lift",
                           data={"lift-reason": "Nie zgadzam się."})
    db.session.expire_all()
    state = db.session.get(Certificate, certificate.id).state
    print("lift own:", response.status_code, state)
    assert state == CertificateStatus.SUSPENDED, "the holder lifted the suspension of their own certificate"


def test_staff_holder_corrects_own_certificate(app, qualification):
    ic = make_institution("Fundacja P1b", qualifications=[qualification], short_name="PA1B")
    issuer = make_user((Role.STAFF, ic))
    holder = make_user(Role.CANDIDATE, (Role.STAFF, ic), first_name="Samo", last_name="Poprawka")
    session = make_session(ic, qualification)
    certificate = make_certificate(enrol(session, holder), issuer)
    replacement_or_error = None
    try:
        replacement_or_error = cert_services.correct(holder, certificate, first_name="Inne", last_name="Nazwisko",
                                                     birth_date=certificate.holder_birth_date, reason="Literówka")
    except cert_services.CertificationError as error:
        replacement_or_error = error
    print("correct own:", replacement_or_error)
    assert isinstance(replacement_or_error, cert_services.CertificationError)


# ---------------------------------------------------------------- 2. operator enrolled in their own session
@pytest.fixture
def op_day(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    ic = make_institution("Ośrodek P2", qualifications=[qualification], short_name="PA2")
    staff = make_user((Role.STAFF, ic))
    operator = make_user((Role.OPERATOR, ic), Role.CANDIDATE, first_name="Olga", last_name="Samoobsługa")
    session = make_session(ic, qualification, operator_id=operator.id,
                           starts_at=datetime.now(UTC) + timedelta(minutes=30))
    return locals()


def test_operator_is_enrolled_in_own_session_and_checks_self_in_and_gives_self_extra_time(app, op_day):
    session, operator = op_day["session"], op_day["operator"]
    # Staff enrol the operator as a candidate of the session they operate: accepted.
    enrolment = session_services.enrol_candidate(session, operator)
    assert enrolment.id
    client = client_as(app, operator)
    r = client.post(f"/operator/sessions/{session.id}/check-in/{enrolment.id}",
                    data={f"e{enrolment.id}-document": "id_card", f"e{enrolment.id}-matches": "y"})
    db.session.expire_all()
    print("self check-in:", r.status_code, enrolment.checked_in_by_id == operator.id)
    # unlock own test, start it, then extra time
    r = client.post(f"/operator/sessions/{session.id}/actions",
                    data={"target": "0", "kind": "unlock", "minutes": "", "reason": "start"})
    print("unlock:", r.status_code)
    attempt = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == enrolment.id))
    print("attempt before start:", attempt and attempt.status)
    r = client.post(f"/operator/sessions/{session.id}/actions",
                    data={"target": str(attempt.id), "kind": "extra_time", "minutes": "240", "reason": "awaria"})
    print("extra before start:", r.status_code, r.headers.get("Location"))
    start = client.post(f"/theory/enrolments/{enrolment.id}/start")
    db.session.expire_all()
    attempt = db.session.get(TheoryAttempt, attempt.id)
    print("after start:", start.status_code, attempt.status, attempt.started_at, attempt.deadline_at, attempt.extra_seconds)
    from examportal.models import OperatorAction
    print("actions:", [(a.kind, a.attempt_id, a.minutes) for a in db.session.scalars(select(OperatorAction))])
    assert attempt.extra_seconds == 0, "the operator gave their own attempt 240 minutes"
    assert enrolment.checked_in_by_id != operator.id, "the operator checked themselves in"


# ---------------------------------------------------------------- 3. appeal panel member later found to have trained the appellant
def test_panel_member_found_to_be_trainer_after_declaring_still_decides(app, qualification):
    w = at.appeal_world(qualification, letter="Q")
    appeal = at.file_appeal(w)
    at.ready_for_review(w, appeal)
    # Since the declaration, the institution records that panel1 trained the appellant.
    record_training(w["panel1"], w["candidate"], w["ic"])
    error = None
    try:
        at.decide(w, appeal, upheld=True, remedy=None) if False else at.decide(w, appeal)
    except appeal_services.AppealError as e:
        error = e
    db.session.expire_all()
    status = db.session.get(Appeal, appeal.id).status
    print("panel trainer decides:", error, status)
    assert error is not None, f"a panel member who trained the appellant proposed and the appeal was decided: {status}"


# ---------------------------------------------------------------- 4. staff appellant handles own appeal
def test_staff_appellant_appoints_panel_of_own_appeal(app, qualification):
    w = at.appeal_world(qualification, letter="R")
    # The candidate is (also) staff of the certifying institution.
    from examportal.models import UserRole
    w["candidate"].roles.append(UserRole(role=Role.STAFF, institution_id=w["ic"].id))
    db.session.commit()
    appeal = at.file_appeal(w)
    me = w["candidate"]
    error = None
    try:
        appeal_services.acknowledge(me, appeal)
        appeal_services.appoint(me, appeal, w["panel1"], is_chair=True)
        appeal_services.appoint(me, appeal, w["panel2"])
        appeal_services.start_review(me, appeal)
    except appeal_services.AppealError as e:
        error = e
    print("own appeal managed:", error, db.session.get(Appeal, appeal.id).status)
    assert error is not None, "the appellant (staff) chose the panel of their own appeal and started the review"
