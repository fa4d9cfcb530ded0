"""Validation sessions through the web: scheduling, committee, enrolment, conflicts of interest,
the declaration of impartiality, and the audit entry each change leaves."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from examportal.audit import services as audit_log
from examportal.extensions import db
from examportal.models import (
    AuditEntry,
    CommitteeMember,
    Enrolment,
    EnrolmentStatus,
    Role,
    SessionMode,
    TrainingRecord,
    ValidationSession,
)
from examportal.sessions import services
from tests.factories import add_member, client_as, enrol, make_institution, make_session, make_user, record_training

FORM = {
    "title": "Sesja walidacyjna grudzień",
    "starts_at": "2026-12-01T10:00",
    "mode": "remote",
    "place": "Pokój wideo 7",
    "capacity": "12",
}


@pytest.fixture
def world(app, qualification):
    """A certifying institution with a validating child, both able to run 13881, and another IC."""
    ic = make_institution("Fundacja A", qualifications=[qualification])
    child = make_institution("Ośrodek A Kraków", parent=ic)
    other = make_institution("Instytucja B", qualifications=[qualification])
    unauthorised = make_institution("Instytucja bez uprawnień")
    staff = make_user((Role.STAFF, ic), first_name="Beata", last_name="Nowak")
    return {"ic": ic, "child": child, "other": other, "unauthorised": unauthorised, "staff": staff,
            "qualification": qualification}


def entries(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq)))


def body(response) -> str:
    return response.get_data(as_text=True)


# --- scheduling -----------------------------------------------------------------------------


def test_staff_schedule_a_session_at_their_institution(app, world):
    client = client_as(app, world["staff"])
    response = client.post("/sessions/new", data=dict(FORM, institution_id=world["child"].id,
                                                      qualification_id=world["qualification"].id))
    assert response.status_code == 302
    session = db.session.scalar(select(ValidationSession))
    assert response.headers["Location"].endswith(f"/sessions/{session.id}")
    assert session.institution_id == world["child"].id
    assert session.mode == SessionMode.REMOTE
    assert session.place == "Pokój wideo 7"
    assert session.capacity == 12
    # 10:00 in Warsaw in December is 09:00 UTC.
    assert session.starts_at == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert session.created_by_id == world["staff"].id

    [entry] = entries("session.created")
    assert entry.actor_id == world["staff"].id
    assert entry.institution_id == world["child"].id
    assert entry.object_type == "validation_session" and entry.object_id == str(session.id)
    assert entry.before is None
    assert entry.after["title"] == "Sesja walidacyjna grudzień"
    assert entry.after["mode"] == "remote"
    assert entry.after["starts_at"].startswith("2026-12-01T09:00")


def test_an_institution_not_authorised_for_the_qualification_is_refused(app, world):
    staff = make_user((Role.STAFF, world["unauthorised"]))
    client = client_as(app, staff)
    response = client.post("/sessions/new", data=dict(FORM, institution_id=world["unauthorised"].id,
                                                      qualification_id=world["qualification"].id))
    assert response.status_code == 400
    assert 'class="error"' in body(response)
    assert "is not authorised to validate 13881" in body(response)
    assert 'value="Sesja walidacyjna grudzień"' in body(response)  # what was typed is kept
    assert db.session.scalar(select(ValidationSession)) is None
    assert entries("session.created") == []


def test_a_validating_institution_needs_its_own_authorisation(app, world):
    """Acting for an authorised certifying institution is not enough: the administrator authorises
    each validating institution, and until then it schedules no session of the qualification."""
    unauthorised_child = make_institution("Ośrodek bez upoważnienia", parent=world["child"].parent, qualifications=())
    staff = make_user((Role.STAFF, unauthorised_child))
    response = client_as(app, staff).post("/sessions/new", data=dict(
        FORM, institution_id=unauthorised_child.id, qualification_id=world["qualification"].id))
    assert response.status_code == 400
    assert "Ośrodek bez upoważnienia is not authorised to validate 13881: the administrator authorises it" in body(response)
    assert db.session.scalar(select(ValidationSession)) is None

    admin = make_user(Role.ADMIN)
    client_as(app, admin).post(f"/institution/all/{unauthorised_child.id}/qualifications",
                               data={"qualification_id": world["qualification"].id})
    response = client_as(app, staff).post("/sessions/new", data=dict(
        FORM, institution_id=unauthorised_child.id, qualification_id=world["qualification"].id))
    assert response.status_code == 302
    assert db.session.scalar(select(ValidationSession)).institution_id == unauthorised_child.id


def test_another_institution_is_not_offered_and_a_forged_id_is_refused(app, world):
    client = client_as(app, world["staff"])
    page = body(client.get("/sessions/new"))
    assert "Fundacja A" in page and "Ośrodek A Kraków" in page
    assert "Instytucja B" not in page
    assert f'<option value="{world["other"].id}"' not in page

    response = client.post("/sessions/new", data=dict(FORM, institution_id=world["other"].id,
                                                      qualification_id=world["qualification"].id))
    assert response.status_code == 400
    assert 'class="error"' in body(response)
    assert db.session.scalar(select(ValidationSession)) is None


def test_staff_of_a_validating_institution_cannot_schedule_for_its_parent(app, world):
    staff = make_user((Role.STAFF, world["child"]))
    client = client_as(app, staff)
    page = body(client.get("/sessions/new"))
    assert "Ośrodek A Kraków" in page and "Fundacja A" not in page
    response = client.post("/sessions/new", data=dict(FORM, institution_id=world["ic"].id,
                                                      qualification_id=world["qualification"].id))
    assert response.status_code == 400
    assert db.session.scalar(select(ValidationSession)) is None


def test_edit_a_session_keeps_its_date_and_form_and_is_audited(app, world):
    client = client_as(app, world["staff"])
    client.post("/sessions/new", data=dict(FORM, institution_id=world["ic"].id,
                                           qualification_id=world["qualification"].id))
    session = db.session.scalar(select(ValidationSession))

    # The edit form shows the local (Warsaw) time and the current form of the session.
    page = body(client.get(f"/sessions/{session.id}/edit"))
    assert 'value="2026-12-01T10:00"' in page
    assert '<option selected value="remote">' in page

    response = client.post(f"/sessions/{session.id}/edit", data=dict(
        FORM, title="Sesja przeniesiona", place="Kraków, ul. Długa 1", mode="onsite", starts_at="2026-12-02T11:30",
        capacity="15"))
    assert response.status_code == 302
    db.session.expire_all()
    assert session.title == "Sesja przeniesiona"
    assert session.mode == SessionMode.ONSITE
    assert session.capacity == 15
    assert session.starts_at == datetime(2026, 12, 2, 10, 30, tzinfo=UTC)

    [entry] = entries("session.updated")
    assert entry.actor_id == world["staff"].id
    assert entry.before["title"] == "Sesja walidacyjna grudzień" and entry.after["title"] == "Sesja przeniesiona"
    assert entry.before["mode"] == "remote" and entry.after["mode"] == "onsite"
    assert entry.before["capacity"] == 12 and entry.after["capacity"] == 15


def test_saving_the_edit_form_unchanged_does_not_move_the_session(app, world):
    session = make_session(world["ic"], world["qualification"], mode=SessionMode.REMOTE,
                           starts_at=datetime(2026, 6, 1, 8, 0, tzinfo=UTC))
    client = client_as(app, world["staff"])
    page = body(client.get(f"/sessions/{session.id}/edit"))
    assert 'value="2026-06-01T10:00"' in page  # 08:00 UTC is 10:00 in Warsaw in summer
    response = client.post(f"/sessions/{session.id}/edit", data={
        "title": session.title, "starts_at": "2026-06-01T10:00", "mode": "remote", "place": session.place,
        "capacity": str(session.capacity)})
    assert response.status_code == 302
    db.session.expire_all()
    assert session.starts_at == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert session.mode == SessionMode.REMOTE


def test_capacity_cannot_drop_below_the_enrolled_candidates(app, world):
    session = make_session(world["ic"], world["qualification"], capacity=5)
    for _ in range(3):
        enrol(session, make_user(Role.CANDIDATE))
    client = client_as(app, world["staff"])
    response = client.post(f"/sessions/{session.id}/edit", data=dict(FORM, capacity="2", title="Nowy tytuł"))
    assert response.status_code == 400
    assert "More candidates are enrolled than the new number of places." in body(response)
    db.session.expire_all()
    assert session.capacity == 5 and session.title != "Nowy tytuł"
    assert entries("session.updated") == []


# --- operator and committee -----------------------------------------------------------------


def test_assign_an_operator_of_the_institution_or_its_certifying_parent(app, world):
    session = make_session(world["child"], world["qualification"])
    own = make_user((Role.OPERATOR, world["child"]), last_name="Operatorska")
    parents = make_user((Role.OPERATOR, world["ic"]), last_name="Nadrzędna")
    foreign = make_user((Role.OPERATOR, world["other"]), last_name="Obca")
    client = client_as(app, world["staff"])

    page = body(client.get(f"/sessions/{session.id}"))
    assert "Operatorska" in page and "Nadrzędna" in page and "Obca" not in page

    assert client.post(f"/sessions/{session.id}/operator", data={"operator_id": own.id}).status_code == 302
    assert client.post(f"/sessions/{session.id}/operator", data={"operator_id": parents.id}).status_code == 302
    db.session.expire_all()
    assert session.operator_id == parents.id

    response = client.post(f"/sessions/{session.id}/operator", data={"operator_id": foreign.id})
    assert response.status_code == 400 and 'class="error"' in body(response)
    db.session.expire_all()
    assert session.operator_id == parents.id

    first, second = entries("session.operator_assigned")
    assert first.before == {"operator_id": None} and first.after == {"operator_id": own.id}
    assert second.before == {"operator_id": own.id} and second.after == {"operator_id": parents.id}
    assert first.actor_id == world["staff"].id


def test_the_service_refuses_an_operator_of_another_institution(app, world):
    session = make_session(world["ic"], world["qualification"])
    foreign = make_user((Role.OPERATOR, world["other"]))
    with pytest.raises(services.SessionRuleError):
        services.assign_operator(session, foreign)
    with pytest.raises(services.SessionRuleError):
        services.add_assessor(session, make_user((Role.ASSESSOR, world["other"])))


def test_add_assessors_only_of_the_institution(app, world):
    session = make_session(world["ic"], world["qualification"])
    own = make_user((Role.ASSESSOR, world["ic"]), last_name="Asesorska")
    foreign = make_user((Role.ASSESSOR, world["other"]), last_name="Obcy")
    client = client_as(app, world["staff"])
    page = body(client.get(f"/sessions/{session.id}"))
    assert "Asesorska" in page and "Obcy" not in page

    response = client.post(f"/sessions/{session.id}/committee", data={"assessor_id": own.id, "is_chair": "y"})
    assert response.status_code == 302
    response = client.post(f"/sessions/{session.id}/committee", data={"assessor_id": foreign.id})
    assert response.status_code == 400 and 'class="error"' in body(response)
    # Already on the committee: no longer offered, so a second add is refused.
    response = client.post(f"/sessions/{session.id}/committee", data={"assessor_id": own.id})
    assert response.status_code == 400

    members = db.session.scalars(select(CommitteeMember)).all()
    assert [(m.assessor_id, m.is_chair) for m in members] == [(own.id, True)]
    [entry] = entries("committee.member_added")
    assert entry.after == {"session_id": session.id, "assessor_id": own.id, "is_chair": True}
    assert entry.actor_id == world["staff"].id and entry.institution_id == world["ic"].id


def test_remove_an_assessor_is_audited(app, world):
    session = make_session(world["ic"], world["qualification"])
    assessor = make_user((Role.ASSESSOR, world["ic"]))
    member = add_member(session, assessor)
    client = client_as(app, world["staff"])
    assert client.post(f"/sessions/{session.id}/committee/{member.id}/remove").status_code == 302
    assert db.session.scalar(select(CommitteeMember)) is None
    [entry] = entries("committee.member_removed")
    assert entry.before == {"session_id": session.id, "assessor_id": assessor.id}


def test_committee_is_ready_only_with_enough_members_who_all_signed(app, world):
    qualification = world["qualification"]
    assert qualification.settings["min_committee_size"] == 2
    session = make_session(world["ic"], qualification)
    first = add_member(session, make_user((Role.ASSESSOR, world["ic"])), declared=True)
    assert services.committee_ready(session) is False  # one signed member is too few

    second = add_member(session, make_user((Role.ASSESSOR, world["ic"])))
    db.session.refresh(session)
    assert services.committee_ready(session) is False  # enough members, one has not signed

    client = client_as(app, world["staff"])
    assert "badge warn" in body(client.get(f"/sessions/{session.id}"))

    second.declared_at = first.declared_at
    db.session.commit()
    db.session.refresh(session)
    assert services.committee_ready(session) is True
    page = body(client.get(f"/sessions/{session.id}"))
    assert "complete, all declarations signed" in page

    # The minimum comes from the qualification's settings, not from the code.
    qualification.settings = dict(qualification.settings, min_committee_size=3)
    db.session.commit()
    db.session.refresh(session)
    assert services.committee_ready(session) is False


# --- enrolment ------------------------------------------------------------------------------


def test_enrol_a_candidate_by_email(app, world):
    session = make_session(world["ic"], world["qualification"])
    candidate = make_user(Role.CANDIDATE, email="kandydatka@example.pl", first_name="Irena", last_name="Kowalczyk")
    client = client_as(app, world["staff"])
    response = client.post(f"/sessions/{session.id}/enrol", data={"email": "Kandydatka@Example.PL"})
    assert response.status_code == 302
    [enrolment] = db.session.scalars(select(Enrolment)).all()
    assert enrolment.candidate_id == candidate.id and enrolment.status == EnrolmentStatus.ENROLLED
    assert "Irena Kowalczyk" in body(client.get(f"/sessions/{session.id}"))
    [entry] = entries("session.candidate_enrolled")
    assert entry.after == {"session_id": session.id, "candidate_id": candidate.id}
    assert entry.actor_id == world["staff"].id


@pytest.mark.parametrize("case", ["unknown", "not_a_candidate", "duplicate", "full"])
def test_enrolment_errors_are_clear_and_keep_the_email(app, world, case):
    session = make_session(world["ic"], world["qualification"], capacity=1)
    email = "ktos@example.pl"
    if case == "not_a_candidate":
        make_user((Role.ASSESSOR, world["ic"]), email=email)
    if case in ("duplicate", "full"):
        candidate = make_user(Role.CANDIDATE, email=email if case == "duplicate" else "inny@example.pl")
        enrol(session, candidate)
        if case == "full":
            make_user(Role.CANDIDATE, email=email)
    before = db.session.query(Enrolment).count()
    client = client_as(app, world["staff"])
    response = client.post(f"/sessions/{session.id}/enrol", data={"email": email})
    page = body(response)
    assert response.status_code == 400
    assert '<p class="error" id="email-error">' in page
    assert f'value="{email}"' in page
    expected = {
        "unknown": "The candidate must register first.",
        "not_a_candidate": "The candidate must register first.",
        "duplicate": "This candidate is already enrolled in the session.",
        "full": "The session is full.",
    }[case]
    assert expected in page
    assert db.session.query(Enrolment).count() == before
    assert entries("session.candidate_enrolled") == []


def test_withdraw_and_enrol_again(app, world):
    session = make_session(world["ic"], world["qualification"])
    candidate = make_user(Role.CANDIDATE, last_name="Wycofana")
    enrolment = enrol(session, candidate)
    client = client_as(app, world["staff"])
    assert client.post(f"/sessions/{session.id}/enrolments/{enrolment.id}/withdraw").status_code == 302
    db.session.expire_all()
    assert enrolment.status == EnrolmentStatus.WITHDRAWN
    assert "Wycofana" not in body(client.get(f"/sessions/{session.id}"))
    [entry] = entries("session.candidate_withdrawn")
    assert entry.before == {"status": "enrolled"} and entry.after == {"status": "withdrawn"}

    # Withdrawing again changes nothing, so it leaves no (false) audit entry.
    client.post(f"/sessions/{session.id}/enrolments/{enrolment.id}/withdraw")
    assert len(entries("session.candidate_withdrawn")) == 1

    assert client.post(f"/sessions/{session.id}/enrol", data={"email": candidate.email}).status_code == 302
    db.session.expire_all()
    assert enrolment.status == EnrolmentStatus.ENROLLED
    assert db.session.query(Enrolment).count() == 1
    [again] = entries("session.candidate_enrolled")
    assert again.before == {"status": "withdrawn"}
    assert again.after == {"session_id": session.id, "candidate_id": candidate.id, "status": "enrolled"}


def test_an_enrolment_of_another_session_cannot_be_withdrawn_through_this_one(app, world):
    mine = make_session(world["ic"], world["qualification"])
    other = make_session(world["ic"], world["qualification"])
    enrolment = enrol(other, make_user(Role.CANDIDATE))
    client = client_as(app, world["staff"])
    assert client.post(f"/sessions/{mine.id}/enrolments/{enrolment.id}/withdraw").status_code == 404
    db.session.expire_all()
    assert enrolment.status == EnrolmentStatus.ENROLLED


# --- conflicts of interest ------------------------------------------------------------------


def _record_training_via_web(client, trainer, candidate):
    response = client.post("/sessions/training", data={"trainer_id": trainer.id, "candidate_email": candidate.email,
                                                       "course": "Kurs CRM"})
    assert response.status_code == 302, body(response)[:2000]


def test_record_a_training(app, world):
    trainer = make_user((Role.ASSESSOR, world["ic"]), first_name="Edward", last_name="Trener")
    candidate = make_user(Role.CANDIDATE, first_name="Irena", last_name="Szkolona")
    client = client_as(app, world["staff"])
    _record_training_via_web(client, trainer, candidate)
    [record] = db.session.scalars(select(TrainingRecord)).all()
    assert (record.trainer_id, record.candidate_id, record.course) == (trainer.id, candidate.id, "Kurs CRM")
    assert record.recorded_by_id == world["staff"].id
    page = body(client.get("/sessions/training"))
    assert "Edward Trener" in page and "Irena Szkolona" in page
    [entry] = entries("training.recorded")
    assert entry.after == {"trainer_id": trainer.id, "candidate_id": candidate.id, "course": "Kurs CRM"}

    response = client.post("/sessions/training", data={"trainer_id": trainer.id, "candidate_email": candidate.email})
    assert response.status_code == 400 and "This training is already recorded." in body(response)
    response = client.post("/sessions/training", data={"trainer_id": trainer.id, "candidate_email": "nikt@example.pl"})
    assert response.status_code == 400 and 'value="nikt@example.pl"' in body(response)
    assert db.session.query(TrainingRecord).count() == 1


def test_a_trainer_cannot_join_the_committee_of_their_trainee(app, world):
    session = make_session(world["ic"], world["qualification"])
    trainer = make_user((Role.ASSESSOR, world["ic"]), first_name="Edward", last_name="Trener")
    candidate = make_user(Role.CANDIDATE, first_name="Irena", last_name="Szkolona")
    enrol(session, candidate)
    client = client_as(app, world["staff"])
    _record_training_via_web(client, trainer, candidate)

    assert ">Edward Trener — cannot sit on this committee</option>" in body(client.get(f"/sessions/{session.id}"))
    response = client.post(f"/sessions/{session.id}/committee", data={"assessor_id": trainer.id})
    page = body(response)
    assert response.status_code == 400
    assert 'class="error"' in page and "Irena Szkolona" in page and "trained" in page
    assert db.session.scalar(select(CommitteeMember)) is None
    assert entries("committee.member_added") == []


def test_a_trainee_cannot_be_enrolled_before_their_trainer(app, world):
    session = make_session(world["ic"], world["qualification"])
    trainer = make_user((Role.ASSESSOR, world["ic"]), first_name="Edward", last_name="Trener")
    candidate = make_user(Role.CANDIDATE, first_name="Irena", last_name="Szkolona")
    add_member(session, trainer)
    client = client_as(app, world["staff"])
    _record_training_via_web(client, trainer, candidate)

    response = client.post(f"/sessions/{session.id}/enrol", data={"email": candidate.email})
    page = body(response)
    assert response.status_code == 400
    assert 'class="error"' in page and "Edward Trener" in page
    assert f'value="{candidate.email}"' in page
    assert db.session.scalar(select(Enrolment)) is None
    assert entries("session.candidate_enrolled") == []


# --- declaration of impartiality ------------------------------------------------------------


def test_declaration_of_impartiality(app, world):
    session = make_session(world["ic"], world["qualification"], title="Sesja z deklaracją")
    assessor = make_user((Role.ASSESSOR, world["ic"]))
    enrolment = enrol(session, make_user(Role.CANDIDATE, first_name="Irena", last_name="Kowalczyk"))
    member = add_member(session, assessor)
    client = client_as(app, assessor)
    url = f"/sessions/{session.id}/committee-view"
    case_link = f"/committee/enrolments/{enrolment.id}"

    page = body(client.get(url))
    assert "Sesja z deklaracją" in page
    # The declaration names the candidates it covers; their work opens only once it is signed.
    assert "Irena Kowalczyk" in page and case_link not in page

    response = client.post(url, data={"remarks": "bez uwag"})
    assert response.status_code == 400
    assert 'class="error"' in body(response) and case_link not in body(response)
    db.session.expire_all()
    assert member.declared_at is None

    response = client.post(url, data={"confirm": "y", "remarks": "Nie znam kandydatów."})
    assert response.status_code == 302
    db.session.expire_all()
    assert member.declared_at is not None
    assert "I declare that I am impartial towards the candidates named above" in member.declaration_text
    assert f"Candidates covered: Irena Kowalczyk (enrolment no. {enrolment.id})." in member.declaration_text
    assert member.declaration_text.endswith("Nie znam kandydatów.")
    page = body(client.get(url))
    assert "Irena Kowalczyk" in page and case_link in page

    [entry] = entries("committee.impartiality_declared")
    assert entry.actor_id == assessor.id
    assert entry.institution_id == world["ic"].id
    assert entry.after["session_id"] == session.id
    assert datetime.fromisoformat(entry.after["declared_at"]) == member.declared_at
    # Free text (the remarks may name anyone) stays in the member row; the chain keeps a keyed digest.
    assert entry.after["declaration"].startswith(audit_log.TEXT_DIGEST_PREFIX)
    assert "Nie znam" not in str(entry.after)
    assert entry.after["enrolment_ids"] == [enrolment.id] and "Kowalczyk" not in str(entry.after)

    # A second signing is refused: nothing changes and nothing new is audited.
    signed_at = member.declared_at
    client.post(url, data={"confirm": "y", "remarks": "jeszcze raz"})
    db.session.expire_all()
    assert member.declared_at == signed_at and "jeszcze raz" not in member.declaration_text
    assert len(entries("committee.impartiality_declared")) == 1
    with pytest.raises(services.SessionRuleError):
        services.declare_impartiality(member, "again", None)


def test_a_trainer_already_on_the_committee_cannot_declare_impartiality(app, world):
    session = make_session(world["ic"], world["qualification"])
    trainer = make_user((Role.ASSESSOR, world["ic"]))
    candidate = make_user(Role.CANDIDATE, last_name="Szkolona")
    member = add_member(session, trainer)
    enrol(session, candidate)  # enrolled directly, before the training was known
    record_training(trainer, candidate, world["ic"])
    client = client_as(app, trainer)
    response = client.post(f"/sessions/{session.id}/committee-view", data={"confirm": "y"})
    assert response.status_code == 400
    assert 'class="error"' in body(response) and "/committee/enrolments/" not in body(response)
    db.session.expire_all()
    assert member.declared_at is None
    assert entries("committee.impartiality_declared") == []


def test_my_committees_lists_only_my_memberships(app, world):
    mine = make_session(world["ic"], world["qualification"], title="Moja sesja")
    not_mine = make_session(world["ic"], world["qualification"], title="Cudza sesja")
    assessor = make_user((Role.ASSESSOR, world["ic"]))
    add_member(mine, assessor)
    add_member(not_mine, make_user((Role.ASSESSOR, world["ic"])))
    client = client_as(app, assessor)
    page = body(client.get("/sessions/committees"))
    assert "Moja sesja" in page and "Cudza sesja" not in page
    assert client.get(f"/sessions/{not_mine.id}/committee-view").status_code == 404


def test_training_is_recorded_at_the_trainers_own_institution(app, login):
    from examportal.models import TrainingRecord
    from tests.factories import make_institution, make_user

    parent = make_institution("Certyfikująca X")
    child = make_institution("Walidująca X", parent=parent)
    staff = make_user((Role.STAFF, parent))
    trainer = make_user((Role.ASSESSOR, child))
    candidate = make_user(Role.CANDIDATE, email="kursant@example.pl")
    client = login(staff)
    response = client.post("/sessions/training", data={"trainer_id": trainer.id, "candidate_email": " kursant@example.pl ",
                                                       "course": "Kurs CRM"})
    assert response.status_code == 302
    record = db.session.scalar(select(TrainingRecord))
    assert record.institution_id == child.id and record.candidate_id == candidate.id
