"""Exam-day check-in: the operator compares each candidate's identity document with the
application; the theory test is unlocked only for checked-in candidates; a session may restrict
its test to the exam room's networks."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from examportal.extensions import db
from examportal.models import (
    AttemptStatus,
    AuditEntry,
    EnrolmentStatus,
    OperatorActionKind,
    Role,
    TheoryAttempt,
    VoidedItem,
)
from examportal.theory import services as theory
from examportal.theory.errors import TheoryError
from tests.factories import (
    client_as,
    enrol,
    make_institution,
    make_session,
    make_user,
    write_theory_bank,
)


@pytest.fixture
def day(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    institution = make_institution("Ośrodek Egzaminacyjny", qualifications=[qualification])
    operator = make_user((Role.OPERATOR, institution), first_name="Olga", last_name="Operatorka")
    staff = make_user((Role.STAFF, institution))
    session = make_session(institution, qualification, operator_id=operator.id,
                           starts_at=datetime.now(UTC) + timedelta(minutes=30))
    arrived = enrol(session, make_user(Role.CANDIDATE, first_name="Anna", last_name="Przybyła"), checked_in=False)
    late = enrol(session, make_user(Role.CANDIDATE, first_name="Bartosz", last_name="Spóźniony"), checked_in=False)
    return {"session": session, "operator": operator, "staff": staff, "arrived": arrived, "late": late,
            "institution": institution, "qualification": qualification}


def _check_in(client, session, enrolment, document="id_card", matches="y"):
    data = {f"e{enrolment.id}-document": document}
    if matches:
        data[f"e{enrolment.id}-matches"] = matches
    return client.post(f"/operator/sessions/{session.id}/check-in/{enrolment.id}", data=data)


def test_the_operator_checks_a_candidate_in_and_it_is_recorded_and_audited(app, day):
    client = client_as(app, day["operator"])
    page = client.get(f"/operator/sessions/{day['session'].id}/check-in")
    assert page.status_code == 200 and "Przybyła" in page.get_data(as_text=True)
    response = _check_in(client, day["session"], day["arrived"], document="passport")
    assert response.status_code == 302
    db.session.expire_all()
    enrolment = day["arrived"]
    assert enrolment.checked_in_at is not None and enrolment.checked_in_by_id == day["operator"].id
    assert enrolment.identity_document == "passport"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "session.checked_in"))
    assert entry is not None and entry.object_id == str(enrolment.id)
    assert "checked in" in client.get(f"/operator/sessions/{day['session'].id}/check-in").get_data(as_text=True)


@pytest.mark.parametrize(("document", "matches", "message"), [
    ("id_card", "", "must match"),  # the box not ticked
    ("", "y", "Choose the kind of identity document"),
    ("driving_licence", "y", "Not a valid choice"),
])
def test_a_check_in_without_a_compared_document_is_refused_and_the_choice_kept(app, day, document, matches, message):
    client = client_as(app, day["operator"])
    response = _check_in(client, day["session"], day["arrived"], document=document, matches=matches)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message.split()[0] in body or "match the application" in body
    if document == "id_card":
        assert 'selected value="id_card"' in body
    db.session.expire_all()
    assert day["arrived"].checked_in_at is None


def test_check_in_is_refused_before_it_opens_twice_and_for_a_withdrawn_candidate(app, day):
    client = client_as(app, day["operator"])
    session = day["session"]
    session.starts_at = datetime.now(UTC) + timedelta(days=1)
    db.session.commit()
    body = _check_in(client, session, day["arrived"]).get_data(as_text=True)
    assert "Check-in opens 120 minutes before the start" in body

    session.starts_at = datetime.now(UTC) + timedelta(minutes=10)
    db.session.commit()
    assert _check_in(client, session, day["arrived"]).status_code == 302
    # A second check-in: the row has no form any more; a forged post is refused.
    assert "already checked in" in _check_in(client, session, day["arrived"]).get_data(as_text=True)

    day["late"].status = EnrolmentStatus.WITHDRAWN
    db.session.commit()
    assert "withdrawn" in _check_in(client, session, day["late"]).get_data(as_text=True)


def test_only_the_sessions_operator_checks_in_and_only_its_candidates(app, day, qualification):
    other_operator = make_user((Role.OPERATOR, day["institution"]))
    assert _check_in(client_as(app, other_operator), day["session"], day["arrived"]).status_code == 404
    other_session = make_session(day["institution"], qualification, operator_id=day["operator"].id)
    stranger = enrol(other_session, make_user(Role.CANDIDATE), checked_in=False)
    assert _check_in(client_as(app, day["operator"]), day["session"], stranger).status_code == 404
    assert _check_in(client_as(app, day["staff"]), day["session"], day["arrived"]).status_code == 403
    db.session.expire_all()
    assert day["arrived"].checked_in_at is None and stranger.checked_in_at is None


def test_the_test_is_unlocked_only_for_checked_in_candidates(app, day):
    session, operator = day["session"], day["operator"]
    console = client_as(app, operator)
    assert console.get(f"/operator/sessions/{session.id}").get_data(as_text=True).count("not checked in") == 2
    _check_in(console, session, day["arrived"])
    assert console.get(f"/operator/sessions/{session.id}").get_data(as_text=True).count("not checked in") == 1
    attempts = {a.enrolment_id: a for a in theory.ensure_attempts(session)}
    theory.operator_action(session, operator, OperatorActionKind.UNLOCK, "start")
    db.session.expire_all()
    assert attempts[day["arrived"].id].status == AttemptStatus.UNLOCKED
    assert attempts[day["late"].id].status == AttemptStatus.NOT_STARTED
    with pytest.raises(TheoryError, match="Check the candidate in first"):
        theory.operator_action(session, operator, OperatorActionKind.UNLOCK, "late", attempt=attempts[day["late"].id])
    with pytest.raises(TheoryError, match="no locked candidate is checked in"):
        theory.operator_action(session, operator, OperatorActionKind.UNLOCK, "again")


# --------------------------------------------------------------------------- the exam room's networks


def test_staff_restrict_the_test_to_the_exam_rooms_networks_and_bad_entries_are_refused(app, day):
    client = client_as(app, day["staff"])
    session = day["session"]
    form = {"title": session.title, "starts_at": "2027-01-15T09:00", "mode": "onsite", "place": session.place,
            "capacity": "10", "exam_networks": "10.1.2.0/24\nsala 12"}
    refused = client.post(f"/sessions/{session.id}/edit", data=form)
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "sala" in body and "is not an IP address" in body
    assert "10.1.2.0/24" in body  # what was typed is kept
    form["exam_networks"] = "10.1.2.0/24, 192.168.7.15"
    assert client.post(f"/sessions/{session.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert session.exam_networks == "10.1.2.0/24\n192.168.7.15/32"


def test_a_restricted_test_is_taken_from_the_exam_room_only(app, day):
    session, operator = day["session"], day["operator"]
    session.exam_networks = "10.1.2.0/24"
    db.session.commit()
    _check_in(client_as(app, operator), session, day["arrived"])
    theory.ensure_attempts(session)
    theory.operator_action(session, operator, OperatorActionKind.UNLOCK, "start")
    candidate = day["arrived"].candidate

    outside = client_as(app, candidate, address="203.0.113.9")
    refused = outside.post(f"/theory/enrolments/{day['arrived'].id}/start", data={"confirm": "y"})
    assert refused.status_code == 403, refused.headers.get("Location")
    assert "can only be taken from the exam room" in refused.get_data(as_text=True)
    attempt = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == day["arrived"].id))
    assert attempt.status == AttemptStatus.UNLOCKED

    inside = client_as(app, candidate, address="10.1.2.77")
    assert inside.post(f"/theory/enrolments/{day['arrived'].id}/start", data={"confirm": "y"}).status_code == 200
    # Once started, the questions too are refused outside the room (JSON for the autosave script).
    assert outside.get(f"/theory/attempts/{attempt.id}/q/1").status_code == 403
    saved = outside.post(f"/theory/attempts/{attempt.id}/answer", data={"position": "1", "seq": "1"},
                         headers={"Accept": "application/json"})
    assert saved.status_code == 403 and "exam room" in saved.get_json()["error"]
    assert inside.get(f"/theory/attempts/{attempt.id}/q/1").status_code == 200


# --------------------------------------------------------------------------- items drawn at check-in


def test_the_items_are_drawn_at_check_in_and_the_start_only_starts_the_clock(app, day):
    session, operator = day["session"], day["operator"]
    _check_in(client_as(app, operator), session, day["arrived"])
    db.session.expire_all()
    attempt = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == day["arrived"].id))
    drawn = [item.item_id for item in attempt.items]
    assert drawn and attempt.status == AttemptStatus.NOT_STARTED
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "theory.items_drawn")) is not None
    # Nothing is shown before the start.
    candidate = client_as(app, day["arrived"].candidate)
    assert candidate.get(f"/theory/attempts/{attempt.id}/q/1").status_code == 302

    theory.operator_action(session, operator, OperatorActionKind.UNLOCK, "start")
    theory.start(attempt)
    db.session.expire_all()
    assert [item.item_id for item in attempt.items] == drawn
    assert attempt.status == AttemptStatus.IN_PROGRESS


def test_an_item_voided_between_check_in_and_the_start_is_replaced(app, day):
    session, operator = day["session"], day["operator"]
    _check_in(client_as(app, operator), session, day["arrived"])
    db.session.expire_all()
    attempt = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == day["arrived"].id))
    faulty = attempt.items[0].item_id
    db.session.add(VoidedItem(item_id=faulty, reason="Błąd w treści", voided_by_id=day["staff"].id))
    db.session.commit()
    theory.operator_action(session, operator, OperatorActionKind.UNLOCK, "start")
    theory.start(attempt)
    db.session.expire_all()
    assert faulty not in {item.item_id for item in attempt.items}
    assert [item.position for item in attempt.items] == list(range(1, len(attempt.items) + 1))
