"""What the formal check carries into the exam: the extra time granted reaches the theory attempt
from its start and the operator sees the accommodation; an earlier passed theory part is
recognised (ZSK act art. 49) within the qualification's carry-over period, at the same institution
only, and then counts for the practical part and the committee's test criteria."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from examportal.applications import services
from examportal.committee import services as committee
from examportal.extensions import db
from examportal.models import AttemptStatus, OperatorActionKind, Role, TheoryAttempt
from examportal.practical import services as practical
from examportal.theory import clock
from examportal.theory import services as theory
from examportal.theory.errors import TheoryError
from tests.factories import (
    check_in_everyone,
    client_as,
    enrol,
    make_applicant,
    make_application,
    make_attempt,
    make_institution,
    make_published_session,
    make_session,
    make_theory_result,
    make_user,
    write_theory_bank,
)

T0 = datetime(2027, 1, 11, 8, 0, tzinfo=UTC)


@pytest.fixture
def world(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = write_theory_bank(tmp_path)
    ic = make_institution("Fundacja Egzaminów", qualifications=[qualification])
    staff = make_user((Role.STAFF, ic), locale="en")
    operator = make_user((Role.OPERATOR, ic), locale="en")
    session = make_published_session(ic, qualification, title="SESJA-TEORIA", operator_id=operator.id)
    return {"ic": ic, "staff": staff, "operator": operator, "session": session, "qualification": qualification}


def test_add_months_keeps_the_day_or_takes_the_months_last():
    assert clock.add_months(datetime(2026, 1, 31, 9, tzinfo=UTC), 1) == datetime(2026, 2, 28, 9, tzinfo=UTC)
    assert clock.add_months(datetime(2026, 3, 15, tzinfo=UTC), 12) == datetime(2027, 3, 15, tzinfo=UTC)
    assert clock.add_months(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(2027, 2, 28, tzinfo=UTC)


# --------------------------------------------------------------------------- extra time


def test_the_granted_extra_time_lengthens_the_deadline_from_the_start_by_exactly_those_minutes(app, world):
    session, staff = world["session"], world["staff"]
    granted = make_application(session, make_applicant(first_name="Gabriela"), extra_time_minutes=30, needs_large_font=True)
    services.accept(staff, granted, extra_time_minutes=30, accommodations="Czcionka 16 pt")
    plain = services.accept(staff, make_application(session, make_applicant(first_name="Paweł"))).application
    attempts = {a.enrolment_id: a for a in theory.ensure_attempts(session)}
    check_in_everyone(session)
    theory.operator_action(session, world["operator"], OperatorActionKind.UNLOCK, "start", now=T0)
    db.session.expire_all()
    with_time, without = attempts[granted.enrolment_id], attempts[plain.enrolment_id]
    limit = with_time.time_limit_seconds
    # Before the start the clock already shows the granted time; the operator's extra time stays separate.
    assert clock.time_left(with_time, T0) == limit + 30 * 60 and clock.time_left(without, T0) == limit
    theory.start(with_time, now=T0)
    theory.start(without, now=T0)
    assert with_time.deadline_at - without.deadline_at == timedelta(minutes=30)
    assert with_time.deadline_at == T0 + timedelta(seconds=limit, minutes=30) and with_time.extra_seconds == 0
    assert clock.time_left(with_time, T0) - clock.time_left(without, T0) == 30 * 60
    # An operator's extra time for an incident adds on top, and pauses move both alike.
    theory.operator_action(session, world["operator"], OperatorActionKind.EXTRA_TIME, "awaria", attempt=with_time,
                           minutes=5, now=T0 + timedelta(minutes=1))
    later = T0 + timedelta(minutes=10)
    assert clock.time_left(with_time, later) == limit + 35 * 60 - 600
    # At the plain deadline the candidate with extra time is still writing; 30 minutes later not.
    end = T0 + timedelta(seconds=limit)
    theory.touch(without, now=end)
    theory.touch(with_time, now=end)
    assert without.status == AttemptStatus.SUBMITTED and with_time.status == AttemptStatus.IN_PROGRESS
    theory.touch(with_time, now=end + timedelta(minutes=35))
    assert with_time.status == AttemptStatus.SUBMITTED
    assert with_time.submitted_at == end + timedelta(minutes=35)


def test_the_operator_sees_the_accommodation_on_the_console(app, world):
    session = world["session"]
    application = make_application(session, make_applicant(first_name="Gabriela", last_name="Lupa"),
                                   extra_time_minutes=20, needs_reader=True)
    services.accept(world["staff"], application, extra_time_minutes=20, accommodations="lektor; stolik przy oknie")
    client = client_as(app, world["operator"])
    page = client.get(f"/operator/sessions/{session.id}").get_data(as_text=True)
    assert "Accommodation" in page and "+20 min from the start" in page and "lektor; stolik przy oknie" in page
    [row] = client.get(f"/operator/sessions/{session.id}/status.json").get_json()["rows"]
    assert row["accommodation_minutes"] == 20 and row["accommodations"] == "lektor; stolik przy oknie"
    assert row["time_left"] == row["items"] * 0 + session.qualification.rules.theory.time_limit_minutes * 60 + 20 * 60


# --------------------------------------------------------------------------- recognition of an earlier theory part


def _earlier_pass(institution, qualification, candidate, months_before_new_session: float, new_session, passed=True,
                  released=True):
    """A theory part the candidate took in an earlier session of ``institution``, submitted that
    many months (of 30 days) before ``new_session`` starts."""
    submitted = new_session.starts_at - timedelta(days=30 * months_before_new_session)
    old = make_session(institution, qualification, title=f"SESJA-DAWNA-{months_before_new_session}",
                       starts_at=submitted - timedelta(hours=1))
    enrolment = enrol(old, candidate)
    attempt = make_theory_result(enrolment, qualification, passed=passed, released=released, failed_criteria=("1.1.a",))
    attempt.submitted_at = attempt.started_at = submitted
    db.session.commit()
    return enrolment


def _apply_for_recognition(world, candidate):
    return make_application(world["session"], candidate, recognition_requested=True, recognition_note="Sesja jesienna")


def test_a_pass_within_the_carry_over_period_is_recognised_and_counts_for_the_rest(app, world, qualification):
    candidate = make_applicant(first_name="Renata", locale="en")
    earlier = _earlier_pass(world["ic"], qualification, candidate, 6, world["session"])
    old_attempt = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == earlier.id))
    application = _apply_for_recognition(world, candidate)
    client = client_as(app, world["staff"])
    response = client.post(f"/applications/{application.id}/accept", data={}, follow_redirects=True)
    assert "is recognised: the candidate does not take the theory test" in response.get_data(as_text=True)
    db.session.expire_all()
    enrolment = application.enrolment
    assert enrolment.theory_recognized_from_id == earlier.id
    assert "Your theory part passed earlier is recognised" in mail_body(candidate)

    # No test for them: no attempt is made, and an attempt made earlier cannot be started.
    assert all(a.enrolment_id != enrolment.id for a in theory.ensure_attempts(world["session"]))
    stale = make_attempt(enrolment, status=AttemptStatus.UNLOCKED)
    with force_locale("en"), pytest.raises(TheoryError, match="Your theory part is recognised"):
        theory.start(stale)
    page = client_as(app, candidate).post(f"/theory/enrolments/{enrolment.id}/start", data={}, follow_redirects=True)
    assert "Your theory part is recognised from your earlier validation" in page.get_data(as_text=True)
    overview = client_as(app, candidate).get(f"/theory/enrolments/{enrolment.id}").get_data(as_text=True)
    assert 'data-status="recognised"' in overview and 'id="theory-recognised"' in overview
    assert "The test is locked" not in overview and "Start the test" not in overview
    assert "The result that counts" in overview and 'id="theory-result"' in overview  # the earlier, released pass
    db.session.expire_all()
    assert stale.status == AttemptStatus.UNLOCKED and stale.started_at is None
    console = client_as(app, world["operator"]).get(f"/operator/sessions/{world['session'].id}").get_data(as_text=True)
    assert "Theory part recognised from an earlier validation (no test): Renata" in console

    # The practical part is open as after a pass; the committee's test criteria follow the earlier attempt.
    assert practical.theory_passed(enrolment) and practical.eligibility_refusal(enrolment) is None
    assert committee.theory_attempt(enrolment).id == old_attempt.id
    assert committee.theory_released(enrolment)
    assert set(committee.theory_results(enrolment).values()) == {True}  # compensatory: passed → all test criteria
    assert committee.practical_state(enrolment) == "missing"
    fixed = committee.system_results(enrolment)
    assert all(fixed[c.code] is True for c in committee.all_criteria(enrolment) if c.method == "test")
    assert "practical part" in committee.missing_parts(enrolment)
    # The candidate's list says so too.
    mine = client_as(app, candidate).get("/applications/mine").get_data(as_text=True)
    assert "recognised from your earlier validation" in mine


def test_the_protocol_names_the_recognised_part_and_where_it_was_passed(app, world, qualification):
    import io

    from pypdf import PdfReader

    from examportal.committee.protocol import render_protocol
    from examportal.models import ValidationDecision

    candidate = make_applicant()
    _earlier_pass(world["ic"], qualification, candidate, 6, world["session"])
    enrolment = services.accept(world["staff"], _apply_for_recognition(world, candidate)).application.enrolment
    decision = ValidationDecision(enrolment_id=enrolment.id, positive=False, justification="Brak części praktycznej.",
                                  decided_at=datetime.now(UTC))
    pdf = render_protocol(enrolment, decision, committee.summary(enrolment), results=committee.results(enrolment),
                          theory=committee.theory_attempt(enrolment), criteria=committee.all_criteria(enrolment),
                          members=committee.committee_for(enrolment), proposals=[],
                          practical_state=committee.practical_state(enrolment))
    text = " ".join("".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "część uznana na podstawie wcześniejszej walidacji (art. 49 ustawy o ZSK)" in text
    assert f"sesja „{enrolment.theory_recognized_from.session.title}”" in text.replace("- ", "-")  # a line break


def test_a_recognised_part_follows_a_per_criterion_rule_from_the_earlier_attempt(app, world, qualification):
    qualification.settings = {**qualification.settings,
                              "theory": {**qualification.settings["theory"], "decision_rule": "per_criterion"}}
    db.session.commit()
    candidate = make_applicant()
    earlier = _earlier_pass(world["ic"], qualification, candidate, 2, world["session"])
    application = _apply_for_recognition(world, candidate)
    enrolment = services.accept(world["staff"], application).application.enrolment
    assert enrolment.theory_recognized_from_id == earlier.id
    results = committee.theory_results(enrolment)
    assert results["1.1.a"] is False and results["1.1.b"] is True  # the earlier attempt's own sub-results


def mail_body(user) -> str:
    from examportal.models import OutboxMail

    return db.session.scalars(select(OutboxMail.body).where(OutboxMail.user_id == user.id).order_by(OutboxMail.id.desc())).first()


@pytest.mark.parametrize("months, recognised", [(11.5, True), (12.5, False), (30, False)])
def test_only_a_pass_within_carry_over_months_of_the_session_counts(app, world, qualification, months, recognised):
    assert qualification.settings["carry_over_months"] == 12
    candidate = make_applicant()
    earlier = _earlier_pass(world["ic"], qualification, candidate, months, world["session"])
    outcome = services.accept(world["staff"], _apply_for_recognition(world, candidate))
    assert outcome.application.enrolment.theory_recognized_from_id == (earlier.id if recognised else None)
    assert outcome.recognition_not_found is not recognised


def test_staff_are_told_when_nothing_can_be_recognised(app, world, qualification):
    candidate = make_applicant()
    _earlier_pass(world["ic"], qualification, candidate, 14, world["session"])
    application = _apply_for_recognition(world, candidate)
    response = client_as(app, world["staff"]).post(f"/applications/{application.id}/accept", data={}, follow_redirects=True)
    assert "No earlier passed theory part of this candidate counts here" in response.get_data(as_text=True)
    db.session.expire_all()
    enrolment = application.enrolment
    assert enrolment.theory_recognized_from_id is None
    # They take the test: an attempt is made for them, and the practical waits for its result.
    assert any(a.enrolment_id == enrolment.id for a in theory.ensure_attempts(world["session"]))
    assert practical.eligibility_refusal(enrolment) is not None


def test_another_institutions_pass_is_not_recognised(app, world, qualification):
    candidate = make_applicant()
    other = make_institution("Inna Fundacja", qualifications=[qualification])
    _earlier_pass(other, qualification, candidate, 3, world["session"])
    outcome = services.accept(world["staff"], _apply_for_recognition(world, candidate))
    assert outcome.recognition_not_found and outcome.application.enrolment.theory_recognized_from_id is None


@pytest.mark.parametrize("passed, released", [(False, True), (True, False)])
def test_a_failed_or_unreleased_theory_part_is_not_recognised(app, world, qualification, passed, released):
    candidate = make_applicant()
    _earlier_pass(world["ic"], qualification, candidate, 3, world["session"], passed=passed, released=released)
    outcome = services.accept(world["staff"], _apply_for_recognition(world, candidate))
    assert outcome.recognition_not_found


def test_without_a_request_nothing_is_recognised(app, world, qualification):
    candidate = make_applicant()
    _earlier_pass(world["ic"], qualification, candidate, 3, world["session"])
    outcome = services.accept(world["staff"], make_application(world["session"], candidate))
    assert outcome.application.enrolment.theory_recognized_from_id is None and not outcome.recognition_not_found


def test_the_latest_pass_counts(app, world, qualification):
    candidate = make_applicant()
    _earlier_pass(world["ic"], qualification, candidate, 10, world["session"])
    latest = _earlier_pass(world["ic"], qualification, candidate, 4, world["session"])
    outcome = services.accept(world["staff"], _apply_for_recognition(world, candidate))
    assert outcome.recognised_from.id == latest.id
