"""The audit chain holds no personal data: the real flows that name people (registration, roles,
enrolment, a declaration, an operator's incident note, a log-in) leave only ids and keyed digests
in the hashed payload, so anonymising a person after the retention period leaves the chain intact,
and the log page then shows the person by number only."""
from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select

from examportal.audit import services as audit_log
from examportal.auth.services import register_candidate
from examportal.competence import services as competence
from examportal.extensions import db
from examportal.institution.services import grant_role
from examportal.models import AuditEntry, CompetenceKind, OperatorActionKind, Role
from examportal.sessions import services as sessions
from examportal.theory.services import operator_action
from tests.factories import client_as, make_institution, make_session, make_user, valid_pesel

PESEL = valid_pesel(date(1991, 3, 14), "4567")
PERSONAL = ("Anna", "Kandydacka", "anna.kandydacka@example.pl", PESEL, "600700800", "Zakopane",
            "Ewa", "Zielińska", "ewa.zielinska@example.pl")


def _everything_hashed() -> str:
    """Every hashed field of every entry, as one string to search."""
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
    return json.dumps([audit_log._payload(e) for e in entries], ensure_ascii=False, default=str)


def _people_in_the_log(app, qualification):
    institution = make_institution("Ośrodek Walidacji Tatry")
    staff = make_user((Role.STAFF, institution), first_name="Stefan", last_name="Kadrowy")
    operator = make_user((Role.OPERATOR, institution))
    with app.test_request_context():  # mail sent by the services links to the site
        candidate = register_candidate({
            "email": "anna.kandydacka@example.pl", "password": "bardzo-tajne-haslo-1", "first_name": "Anna",
            "last_name": "Kandydacka", "phone": "600700800", "has_pesel": "yes", "pesel": PESEL,
            "birth_date": date(1991, 3, 14), "birth_place": "Zakopane",
        })
        assert candidate is not None
        assessor = grant_role(institution, "ewa.zielinska@example.pl", Role.ASSESSOR, "Ewa", "Zielińska").user
        # Her competence is recorded before she may sit on a committee; the note names her.
        competence.save_record(staff, institution, assessor, CompetenceKind.ASSESSOR, {
            "education": "higher", "crm_supervision_months": 84, "review_due": competence.today() + timedelta(days=365),
            "note": "Świadectwo pracy Ewy Zielińskiej z Zakopanego sprawdzone."},
            competence.read_evidence("ewa_zielinska_dyplom.pdf", b"%PDF-1.4 Ewa"))
        session = make_session(institution, qualification)
        sessions.assign_operator(session, operator)
        sessions.enrol_candidate(session, candidate)
        member = sessions.add_assessor(session, assessor, is_chair=True)
        sessions.declare_impartiality(member, "Oświadczam, że jestem bezstronna.", "Nie znam Anny Kandydackiej.")
        operator_action(session, operator, OperatorActionKind.INCIDENT, "Anna Kandydacka zgłosiła awarię myszy")
    client_as(app, staff)  # a log-in, by the staff member
    return {"institution": institution, "staff": staff, "candidate": candidate, "assessor": assessor, "member": member}


def test_no_personal_data_enters_the_hashed_payload(app, qualification):
    _people_in_the_log(app, qualification)
    hashed = _everything_hashed()
    for value in (*PERSONAL, "Stefan", "Kadrowy", "Nie znam", "awarię myszy", "Świadectwo", "dyplom.pdf"):
        assert value not in hashed, value
    actions = set(db.session.scalars(select(AuditEntry.action)))
    assert {"account.registered", "institution.role_granted", "session.candidate_enrolled", "competence.recorded",
            "committee.impartiality_declared", "operator.incident", "account.login"} <= actions


def test_anonymising_a_person_leaves_the_chain_intact(app, qualification, runner):
    people = _people_in_the_log(app, qualification)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # and the head is checkpointed
    admin = make_user(Role.ADMIN)
    page = client_as(app, admin).get("/audit/?actor=Stefan").get_data(as_text=True)
    assert "Stefan Kadrowy" in page

    # After the retention period: the people lose their names and contact data, the
    # declaration its text; nothing in the audit log is touched.
    for user in (people["candidate"], people["assessor"], people["staff"]):
        user.first_name = user.last_name = ""
        user.email = f"anonymised-{user.id}@invalid.example"
        user.pesel = user.phone = user.birth_place = user.birth_date = None
    people["member"].declaration_text = ""
    db.session.commit()

    assert audit_log.verify_chain() == []
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    page = client_as(app, admin).get("/audit/").get_data(as_text=True)
    for value in (*PERSONAL, "Stefan", "Kadrowy"):
        assert value not in page, value
    assert f"anonymised person #{people['candidate'].id}" in page
    assert f"anonymised person #{people['staff'].id}" in page
    # Searching by a removed name finds nothing any more.
    assert "anonymised person" not in client_as(app, admin).get("/audit/?actor=Kadrowy").get_data(as_text=True)


def test_an_anonymised_actor_is_shown_by_number(app):
    person = make_user(Role.ADMIN, first_name="Gabriela", last_name="Zapomniana")
    audit_log.record("session.created", object_type="validation_session", object_id=1, actor=person)
    db.session.commit()
    viewer = make_user(Role.ADMIN)
    assert "Gabriela Zapomniana" in client_as(app, viewer).get("/audit/?action=session.created").get_data(as_text=True)
    person.first_name = person.last_name = ""
    db.session.commit()
    page = client_as(app, viewer).get("/audit/?action=session.created").get_data(as_text=True)
    assert f"anonymised person #{person.id}" in page and "Zapomniana" not in page
    assert audit_log.verify_chain() == []
