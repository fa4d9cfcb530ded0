"""The retention policy of exam records (examportal.records.retention.retention_of): a holder's
records are kept the retention years after their last certificate's validity (a renewal extends
it), a candidate's without a certificate the retention years after their last validation step;
anything open keeps them whatever the dates; kept_until itself is still kept, the next day not."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from flask_babel import force_locale

from examportal.certification.rules import WARSAW, add_years
from examportal.certification.rules import today as warsaw_today
from examportal.extensions import db
from examportal.models import (
    Appeal,
    AppealStatus,
    AppealSubject,
    ApplicationStatus,
    Complaint,
    ComplaintStatus,
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    Role,
    SessionStatus,
)
from examportal.records.retention import Retention, retention_of
from examportal.renewals import services as renewals
from tests.certtools import certification_world, make_certificate
from tests.factories import accept_renewal_evidence, enrol, expiring, make_application, make_renewal, make_session, make_user
from tests.remedytools import appeal_row


@pytest.fixture(autouse=True)
def _reasons_in_english(app):
    """The reasons are translated; these tests read the English ones."""
    with force_locale("en"):
        yield


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), WARSAW)


def date_validation(world: dict, day: date) -> None:
    """The world's session held, and its decisions taken, on ``day``."""
    world["session"].starts_at = noon(day)
    world["session"].status = SessionStatus.CLOSED
    for enrolment in world["enrolments"]:
        from examportal.committee.services import decision_for

        decision = decision_for(enrolment)
        assert decision is not None
        decision.decided_at = noon(day)
    db.session.commit()


@pytest.fixture
def world(app, qualification):
    world = certification_world(qualification)
    date_validation(world, date(2020, 3, 12))
    world["holder"], world["candidate"] = world["candidates"][0], world["candidates"][2]
    return world


def test_a_candidate_without_a_certificate_is_kept_the_retention_years_after_the_last_decision(world):
    candidate = world["candidate"]
    kept_until = date(2025, 3, 12)
    on_the_day = retention_of(candidate, today=kept_until)
    assert on_the_day.kept_until == kept_until and not on_the_day.past()
    assert on_the_day.erasable_on == date(2025, 3, 13)
    assert len(on_the_day.reasons) == 1 and "2020-03-12" in on_the_day.reasons[0] and "2025-03-12" in on_the_day.reasons[0]
    the_day_after = retention_of(candidate, today=date(2025, 3, 13))
    assert the_day_after.kept_until == kept_until and the_day_after.past()
    assert the_day_after.reasons == () and the_day_after.erasable_on == date(2025, 3, 13)
    years_later = retention_of(candidate, today=date(2031, 1, 1))
    assert years_later.erasable_on == date(2031, 1, 1)  # never a day in the past


def test_a_later_session_moves_the_end(world, qualification):
    candidate = world["candidate"]
    later = make_session(world["child"], qualification, starts_at=noon(date(2022, 6, 1)), status=SessionStatus.CLOSED)
    from tests.certtools import validation_decision

    decision = validation_decision(enrol(later, candidate), positive=False, decided_by=world["chair"])
    decision.decided_at = noon(date(2022, 6, 3))
    db.session.commit()
    assert retention_of(candidate, today=date(2025, 3, 13)).kept_until == date(2027, 6, 3)


def test_a_holder_is_kept_the_retention_years_after_the_certificate_ends(world):
    holder = world["holder"]
    certificate = make_certificate(world["enrolments"][0], world["staff"])
    certificate.issued_on, certificate.valid_until = date(2020, 4, 1), date(2025, 4, 1)
    assert certificate.decision is not None
    certificate.decision.decided_at = noon(date(2020, 3, 31))
    db.session.commit()
    kept = retention_of(holder, today=date(2030, 4, 1))
    assert kept.kept_until == date(2030, 4, 1) and not kept.past()
    assert any(certificate.number in reason and "2030-04-01" in reason for reason in kept.reasons)
    # The certificate keeps the records longer than the validation: only it is named.
    assert len(kept.reasons) == 1
    assert retention_of(holder, today=date(2030, 4, 2)).past()
    # The candidate of the same session without a certificate is long past.
    assert retention_of(world["candidate"], today=date(2030, 4, 1)).past()


def test_a_renewal_extends_the_retention(world):
    holder = world["holder"]
    old = expiring(make_certificate(world["enrolments"][0], world["staff"]), warsaw_today() + timedelta(days=150))
    assert retention_of(holder).kept_until == add_years(old.valid_until, 5)
    assessor = make_user((Role.ASSESSOR, world["ic"]), first_name="Ewa", last_name="Oceniająca")
    application = make_renewal(old)
    # Open: kept, and the reason says so.
    assert "An application to renew a certificate is open." in retention_of(holder).reasons
    renewals.assign(world["staff"], application, assessor)
    renewals.declare(assessor, application, True)
    accept_renewal_evidence(assessor, application)
    renewals.decide(assessor, application, True, None)
    db.session.expire_all()
    renewed = application.new_certificate
    assert renewed is not None and renewed.valid_until == add_years(old.valid_until, 5)
    kept = retention_of(holder)
    assert kept.kept_until == add_years(renewed.valid_until, 5)
    assert any(renewed.number in reason for reason in kept.reasons)


def test_an_open_appeal_keeps_everything_until_it_is_decided(world):
    candidate, enrolment = world["candidate"], world["enrolments"][2]
    today = date(2026, 1, 1)
    assert retention_of(candidate, today=today).past()
    appeal = appeal_row(AppealSubject.VALIDATION, enrolment, candidate, world["ic"], status=AppealStatus.UNDER_REVIEW,
                        enrolment=enrolment)
    appeal.filed_at = noon(date(2020, 3, 20))
    db.session.commit()
    kept = retention_of(candidate, today=today)
    assert kept.kept_until == today and not kept.past() and kept.erasable_on == today + timedelta(days=1)
    assert "An appeal is open." in kept.reasons
    appeal.status, appeal.decided_at, appeal.justification = AppealStatus.DISMISSED, noon(date(2020, 4, 1)), "Oddalone."
    db.session.commit()
    # Decided: the appeal is one more step of the validation (decided 2020-04-01).
    assert retention_of(candidate, today=today).kept_until == date(2025, 4, 1)


def test_an_appeal_decided_later_moves_the_end(world):
    candidate, enrolment = world["candidate"], world["enrolments"][2]
    appeal = appeal_row(AppealSubject.VALIDATION, enrolment, candidate, world["ic"], status=AppealStatus.DISMISSED,
                        enrolment=enrolment)
    appeal.decided_at = noon(date(2021, 9, 30))
    db.session.commit()
    assert retention_of(candidate, today=date(2026, 9, 30)).kept_until == date(2026, 9, 30)
    assert retention_of(candidate, today=date(2026, 10, 1)).past()


def _complaint(world: dict, user, status: ComplaintStatus) -> Complaint:
    complaint = Complaint(institution_id=world["ic"].id, user_id=user.id, name=user.full_name, email=user.email,
                          text="Skarga na przebieg egzaminu.", filed_at=noon(date(2020, 3, 13)), status=status,
                          outcome="Wyjaśniono." if status == ComplaintStatus.CLOSED else None,
                          closed_at=noon(date(2020, 5, 1)) if status == ComplaintStatus.CLOSED else None)
    db.session.add(complaint)
    db.session.commit()
    return complaint


def test_an_open_complaint_keeps_everything(world):
    candidate = world["candidate"]
    today = date(2026, 1, 1)
    complaint = _complaint(world, candidate, ComplaintStatus.ASSIGNED)
    kept = retention_of(candidate, today=today)
    assert kept.kept_until == today and "A complaint is open." in kept.reasons
    complaint.status, complaint.outcome, complaint.closed_at = ComplaintStatus.CLOSED, "Wyjaśniono.", noon(date(2020, 5, 1))
    db.session.commit()
    assert retention_of(candidate, today=today).past()


@pytest.mark.parametrize("kind, keeps", [(DataRequestKind.ACCESS, True), (DataRequestKind.CORRECTION, True),
                                         (DataRequestKind.ERASURE, False)])
def test_an_open_data_request_keeps_everything_but_the_request_for_erasure_itself(world, kind, keeps):
    candidate = world["candidate"]
    today = date(2026, 1, 1)
    db.session.add(DataRequest(user_id=candidate.id, kind=kind, status=DataRequestStatus.OPEN,
                               details="Proszę poprawić nazwisko." if kind == DataRequestKind.CORRECTION else None))
    db.session.commit()
    kept = retention_of(candidate, today=today)
    assert kept.past() is not keeps
    assert ("A request about personal data is open." in kept.reasons) is keeps


def test_an_undecided_session_and_an_application_waiting_keep_everything(world, qualification):
    candidate = world["candidate"]
    today = date(2026, 1, 1)
    pending = make_session(world["child"], qualification, starts_at=noon(date(2020, 9, 1)))
    enrolment = enrol(pending, candidate)
    kept = retention_of(candidate, today=today)
    assert kept.kept_until == today and "A validation session has not yet been decided." in kept.reasons
    # A cancelled session, or a withdrawal, decides nothing that is still open.
    pending.status = SessionStatus.CANCELLED
    db.session.commit()
    assert retention_of(candidate, today=today).kept_until == date(2025, 9, 1)
    db.session.delete(enrolment)
    db.session.commit()
    application = make_application(make_session(world["child"], qualification, starts_at=noon(date(2020, 10, 1))),
                                   candidate)
    application.submitted_at = noon(date(2020, 9, 1))
    db.session.commit()
    kept = retention_of(candidate, today=today)
    assert "An application to a session awaits its formal check." in kept.reasons and kept.kept_until == today
    application.status, application.decided_at = ApplicationStatus.WITHDRAWN, noon(date(2020, 9, 2))
    db.session.commit()
    assert retention_of(candidate, today=today).past()


def test_a_person_acting_for_an_institution_is_kept(world):
    chair = world["chair"]  # no exam records of their own
    kept = retention_of(chair, today=date(2040, 1, 1))
    assert kept.kept_until == date(2040, 1, 1) and not kept.past()
    assert "The person holds a role at an institution or on the platform." in kept.reasons


def test_nothing_to_keep(app):
    newcomer = make_user(Role.CANDIDATE)
    kept = retention_of(newcomer, today=date(2026, 5, 5))
    assert kept == Retention(kept_until=None, reasons=(), as_of=date(2026, 5, 5))
    assert kept.erasable_on == date(2026, 5, 5) and not kept.past()


def test_the_retention_years_are_a_setting(app, world):
    app.config["RECORDS_RETENTION_YEARS"] = 10
    assert retention_of(world["candidate"], today=date(2026, 1, 1)).kept_until == date(2030, 3, 12)


def test_an_open_appeal_of_another_person_changes_nothing(world):
    other = world["candidates"][1]
    enrolment = world["enrolments"][1]
    appeal_row(AppealSubject.VALIDATION, enrolment, other, world["ic"], status=AppealStatus.FILED, enrolment=enrolment)
    assert retention_of(world["candidate"], today=date(2026, 1, 1)).past()
    assert db.session.query(Appeal).count() == 1
