"""Changes that race for the same rows, played in the order two simultaneous requests can take.

Real threads, each with its own application context (its own session and connection), really
committing. One thread is held at a point of the product's own code until the other waits for a
row lock (``pg_stat_activity``): the interleaving in which a check read without the lock would
let both through. PostgreSQL only — SQLite's locking read takes the whole database's write lock
(``BEGIN IMMEDIATE``, examportal/extensions.py), so there the two run one after the other anyway.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text

from examportal.appeals import remedies
from examportal.applications import seats
from examportal.applications import services as applications
from examportal.audit import services as audit_log
from examportal.committee import services as committee
from examportal.extensions import db
from examportal.models import (
    AppealRemedy,
    AppealStatus,
    AppealSubject,
    Application,
    ApplicationStatus,
    CommitteeMember,
    Enrolment,
    EnrolmentStatus,
    Role,
    Scoresheet,
    User,
    ValidationSession,
    utcnow,
)
from examportal.sessions import services as sessions
from tests.factories import (
    add_member,
    enrol,
    make_applicant,
    make_application,
    make_institution,
    make_practical_attempt,
    make_published_session,
    make_session,
    make_theory_result,
    make_user,
)
from tests.remedytools import appeal_row, decide, validation_world

pytestmark = pytest.mark.committing


@pytest.fixture(autouse=True)
def _postgres(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row-lock interleavings need PostgreSQL's row locks (SQLite runs the two one after the other)")


class Race:
    """The test's threads and their database backends (to see which of them waits for a lock)."""

    def __init__(self, app: Any) -> None:
        self.app, self.pids = app, {}
        self.url = db.engine.url.render_as_string(hide_password=False)

    def spawn(self, work: Callable[[], Any], name: str) -> tuple[threading.Thread, dict[str, Any]]:
        outcome: dict[str, Any] = {}

        def run() -> None:
            with self.app.app_context():
                try:
                    self.pids[name] = db.session.connection().connection.driver_connection.info.backend_pid
                    outcome["result"] = work()
                except Exception as error:  # the test reads it
                    outcome["error"] = error
                    db.session.rollback()
                finally:
                    db.session.remove()

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread, outcome

    def wait_for_a_lock_waiter(self, timeout: float = 10.0) -> bool:
        """Block until another of the test's threads waits for a row lock (True), or ``timeout`` passes."""
        me = threading.current_thread().name
        engine = create_engine(self.url)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    waiting = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                                "AND pid = ANY(:pids)"),
                                           {"pids": [pid for name, pid in self.pids.items() if name != me]}).scalar()
                if waiting:
                    return True
                time.sleep(0.05)
            return False
        finally:
            engine.dispose()

    def hold_after(self, monkeypatch: Any, owner: Any, name: str, thread_name: str, then: Callable[[], None]) -> None:
        """``owner.name``'s first call in ``thread_name`` runs ``then()`` before returning."""
        original, done = getattr(owner, name), threading.Event()

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            if threading.current_thread().name == thread_name and not done.is_set():
                done.set()
                then()
            return result

        monkeypatch.setattr(owner, name, wrapper)


def _enrolled(session_id: int) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Enrolment.id)).where(
        Enrolment.session_id == session_id, Enrolment.status == EnrolmentStatus.ENROLLED))


def _a_session_with_one_place_left(qualification):
    ic = make_institution("Fundacja Miejsc", qualifications=[qualification])
    session = make_published_session(ic, qualification, capacity=2)
    enrol(session, make_applicant())
    return ic, session


def _accepting_holds_the_session(race: Race, monkeypatch: Any) -> threading.Event:
    """Accepting an application stops, holding the session's lock, until the other thread waits for a lock."""
    locked = threading.Event()

    def hold() -> None:
        locked.set()
        race.wait_for_a_lock_waiter()

    race.hold_after(monkeypatch, seats, "seats_taken", "accept", hold)
    return locked


def test_fewer_places_while_an_application_is_accepted_never_leave_more_enrolled_than_places(app, qualification,
                                                                                            monkeypatch):
    race = Race(app)
    ic, session = _a_session_with_one_place_left(qualification)
    staff_b = make_user((Role.STAFF, ic))
    application = make_application(session, make_applicant())
    ids = {"session": session.id, "b": staff_b.id, "application": application.id}
    locked = _accepting_holds_the_session(race, monkeypatch)

    def lower() -> ValidationSession:
        locked.wait(10)
        s = db.session.get(ValidationSession, ids["session"])
        return sessions.update_session(s, {"title": s.title, "starts_at": sessions.utc_to_local(s.starts_at),
                                           "place": s.place, "mode": s.mode.value, "capacity": 1})

    accepting, accepted = race.spawn(lambda: applications.accept(db.session.get(User, ids["b"]),
                                                                 db.session.get(Application, ids["application"])), "accept")
    lowering, lowered = race.spawn(lower, "lower")
    accepting.join(60), lowering.join(60)
    assert "error" not in accepted  # the accept went first: its candidate is enrolled
    assert isinstance(lowered.get("error"), sessions.SessionRuleError)  # then 2 enrolled: not 1 place
    db.session.expire_all()
    assert db.session.get(ValidationSession, ids["session"]).capacity == 2 == _enrolled(ids["session"])


def test_a_direct_enrolment_while_an_application_is_accepted_never_overfills_the_session(app, qualification,
                                                                                         monkeypatch):
    race = Race(app)
    ic, session = _a_session_with_one_place_left(qualification)
    staff = make_user((Role.STAFF, ic))
    application, walk_in = make_application(session, make_applicant()), make_applicant()
    ids = {"session": session.id, "staff": staff.id, "application": application.id, "walk_in": walk_in.id}
    locked = _accepting_holds_the_session(race, monkeypatch)

    def enrol_directly() -> Enrolment:
        locked.wait(10)
        return sessions.enrol_candidate(db.session.get(ValidationSession, ids["session"]), db.session.get(User, ids["walk_in"]))

    accepting, accepted = race.spawn(lambda: applications.accept(db.session.get(User, ids["staff"]),
                                                                 db.session.get(Application, ids["application"])), "accept")
    enrolling, enrolled = race.spawn(enrol_directly, "enrol")
    accepting.join(60), enrolling.join(60)
    assert "error" not in accepted
    assert isinstance(enrolled.get("error"), sessions.SessionRuleError) and "Brak wolnych miejsc" in str(enrolled["error"])  # full
    assert _enrolled(ids["session"]) == 2


def test_an_assessor_removed_while_submitting_scores_never_takes_a_submitted_sheet_along(app, qualification,
                                                                                        monkeypatch):
    race = Race(app)
    vcc = make_institution("Fundacja VCC", qualifications=[qualification])
    session = make_session(vcc, qualification)
    members = [add_member(session, make_user((Role.ASSESSOR, vcc)), declared=True) for _ in range(3)]
    members[0].is_chair = True
    enrolment = enrol(session, make_user(Role.CANDIDATE))
    make_theory_result(enrolment, qualification)
    make_practical_attempt(enrolment)
    db.session.commit()
    ids = {"member": members[2].id, "enrolment": enrolment.id}
    checked = threading.Event()
    original = sessions.membership_change_refusal

    def refusal_then_hold(session: ValidationSession) -> str | None:
        found = original(session)
        if threading.current_thread().name == "remove":
            checked.set()  # the removal has begun; the submission goes now
        return found

    monkeypatch.setattr(sessions, "membership_change_refusal", refusal_then_hold)
    # The removal holds on after its check for a submitted sheet (at its audit entry) until the
    # submission waits for a lock: the submission must not land between the check and the removal.
    original_record = audit_log.record

    def record_then_hold(action: str, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name == "remove" and action == "committee.member_removed":
            race.wait_for_a_lock_waiter()
        return original_record(action, *args, **kwargs)

    monkeypatch.setattr(audit_log, "record", record_then_hold)

    def submit() -> Scoresheet:
        checked.wait(10)
        member, e = db.session.get(CommitteeMember, ids["member"]), db.session.get(Enrolment, ids["enrolment"])
        entries = {c.id: committee.ScoreEntry(met=True, interview_notes="Notatki z rozmowy.")
                   for c in committee.scored_criteria(e) if not c.interview_follow_up}
        return committee.save_scores(member, e, entries, submit=True)

    def remove() -> None:
        sessions.remove_assessor(db.session.get(CommitteeMember, ids["member"]))

    removing, removed = race.spawn(remove, "remove")
    submitting, submitted = race.spawn(submit, "submit")
    removing.join(60), submitting.join(60)
    db.session.expire_all()
    sheets = db.session.scalars(select(Scoresheet).where(Scoresheet.enrolment_id == ids["enrolment"],
                                                        Scoresheet.submitted_at.is_not(None))).all()
    # Either order may win; never a submission reported done whose sheet went with the membership.
    if "error" in submitted:
        assert "error" not in removed and db.session.get(CommitteeMember, ids["member"]) is None
        assert "Nie jesteś członkiem komisji" in str(submitted["error"])  # not on the committee (any more)
    else:
        assert len(sheets) == 1 and db.session.get(CommitteeMember, ids["member"]) is not None
        assert isinstance(removed.get("error"), sessions.SessionRuleError)


def test_a_free_retake_granted_by_an_appeal_is_used_by_one_enrolment_only(app, qualification, monkeypatch):
    race = Race(app)
    w = validation_world(qualification)
    decision = decide(w["enrolment"], [w["chair"], w["member"]], not_met=("2.4.a", "2.5.a"))
    appeal = appeal_row(AppealSubject.VALIDATION, decision, w["candidate"], w["ic"], status=AppealStatus.UPHELD,
                        remedy=AppealRemedy.RETAKE, detail={"part": "practical"}, enrolment=w["enrolment"],
                        panel=(w["panel"], w["panel2"]))
    remedies.carry_out(appeal, w["panel"])
    db.session.commit()
    staff2 = make_user((Role.STAFF, w["ic"]))
    first = make_published_session(w["ic"], qualification, starts_at=utcnow() + timedelta(days=20), fee_pln=Decimal("450.00"))
    second = make_published_session(w["ic"], qualification, starts_at=utcnow() + timedelta(days=30), fee_pln=Decimal("450.00"))
    pairs = [(w["staff"].id, make_application(first, w["candidate"]).id),
             (staff2.id, make_application(second, w["candidate"]).id)]
    read = threading.Event()

    def hold() -> None:
        read.set()
        race.wait_for_a_lock_waiter()  # the other accept is about to read the grant too

    race.hold_after(monkeypatch, sessions, "retake_waiver", "accept-0", hold)

    def accept(staff_id: int, application_id: int, after: threading.Event | None) -> Callable[[], Application]:
        def run() -> Application:
            if after is not None:
                after.wait(10)
            return applications.accept(db.session.get(User, staff_id), db.session.get(Application, application_id))
        return run

    threads = [race.spawn(accept(*pairs[0], None), "accept-0"), race.spawn(accept(*pairs[1], read), "accept-1")]
    for thread, _outcome in threads:
        thread.join(60)
    assert all("error" not in outcome for _thread, outcome in threads), [o for _t, o in threads]
    db.session.expire_all()
    free = db.session.scalars(select(Enrolment).where(Enrolment.candidate_id == w["candidate"].id,
                                                      Enrolment.fee_reason == sessions.RETAKE_FEE_REASON)).all()
    assert len(free) == 1, [(e.id, e.session_id, e.fee_pln) for e in free]
    assert db.session.get(type(appeal), appeal.id).remedy_detail["used_by_enrolment_id"] == free[0].id


def _a_full_session_with_a_waiting_list(qualification, accepted: int, waiting: int):
    """A published session whose ``accepted`` places are all taken by accepted applications, and
    ``waiting`` applications on its waiting list, first in line first."""
    ic = make_institution("Fundacja Kolejki", qualifications=[qualification])
    session = make_published_session(ic, qualification, capacity=accepted)
    staff = make_user((Role.STAFF, ic))
    taken = [make_application(session, make_applicant()) for _ in range(accepted)]
    for application in taken:
        applications.accept(staff, application)
    queue = [make_application(session, make_applicant(), status=ApplicationStatus.WAITING,
                              waiting_since=utcnow() - timedelta(hours=waiting - n)) for n in range(waiting)]
    return staff, taken, queue


def _status(application_id: int) -> ApplicationStatus:
    db.session.expire_all()
    return db.session.get(Application, application_id).status


def test_a_withdrawal_moving_the_waiting_list_up_while_staff_reject_the_first_in_line(app, qualification, monkeypatch):
    """Both change the first waiting application: the two run one after the other (the session's
    lock first), never deadlock, and the rejection is never undone by the move up."""
    race = Race(app)
    staff, taken, queue = _a_full_session_with_a_waiting_list(qualification, accepted=1, waiting=2)
    ids = {"staff": staff.id, "candidate": taken[0].candidate_id, "accepted": taken[0].id, "first": queue[0].id}
    held = threading.Event()

    def hold() -> None:
        held.set()
        race.wait_for_a_lock_waiter()

    race.hold_after(monkeypatch, seats, "seats_left", "withdraw", hold)

    def reject() -> Application:
        held.wait(10)
        return applications.reject(db.session.get(User, ids["staff"]), db.session.get(Application, ids["first"]),
                                   "Niekompletne dokumenty.")

    withdrawing, withdrawn = race.spawn(lambda: applications.withdraw(db.session.get(User, ids["candidate"]),
                                                                      db.session.get(Application, ids["accepted"])),
                                        "withdraw")
    rejecting, rejected = race.spawn(reject, "reject")
    withdrawing.join(60), rejecting.join(60)
    assert "error" not in withdrawn and "error" not in rejected, (withdrawn, rejected)
    assert _status(ids["first"]) == ApplicationStatus.REJECTED
    # The seat the withdrawal freed went to the next in line after the rejection freed its promise.
    assert _status(queue[1].id) == ApplicationStatus.SUBMITTED
    assert not audit_log.verify_log().problems


def test_two_seats_freed_at_once_move_two_waiting_applications_up(app, qualification, monkeypatch):
    race = Race(app)
    _staff, taken, queue = _a_full_session_with_a_waiting_list(qualification, accepted=2, waiting=3)
    pairs = [(a.candidate_id, a.id) for a in taken]
    held = threading.Event()

    def hold() -> None:
        held.set()
        race.wait_for_a_lock_waiter()

    race.hold_after(monkeypatch, seats, "seats_left", "withdraw-0", hold)

    def withdraw(candidate_id: int, application_id: int, after: threading.Event | None) -> Callable[[], None]:
        def run() -> None:
            if after is not None:
                after.wait(10)
            applications.withdraw(db.session.get(User, candidate_id), db.session.get(Application, application_id))
        return run

    threads = [race.spawn(withdraw(*pairs[0], None), "withdraw-0"), race.spawn(withdraw(*pairs[1], held), "withdraw-1")]
    for thread, _outcome in threads:
        thread.join(60)
    assert all("error" not in outcome for _thread, outcome in threads), [o for _t, o in threads]
    assert [_status(a.id) for a in queue] == [ApplicationStatus.SUBMITTED, ApplicationStatus.SUBMITTED,
                                             ApplicationStatus.WAITING]
