"""Reminders before a session: on the days the institution chose (Polish calendar days), to every
enrolled candidate, once per session, candidate and day however often the task runs, never to a
withdrawn candidate; run by the scheduler as ``sessions.remind``."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from examportal import jobs
from examportal.extensions import db
from examportal.institution import settings as institution_settings
from examportal.jobs import scheduler
from examportal.models import AuditEntry, EnrolmentStatus, JobStatus, OutboxMail, Role, SessionStatus
from examportal.sessions import reminders
from tests.factories import enrol, make_institution, make_session, make_user

WARSAW = ZoneInfo("Europe/Warsaw")


def warsaw(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=WARSAW)


def mails(subject_like: str = "%") -> list[OutboxMail]:
    return list(db.session.scalars(select(OutboxMail).where(OutboxMail.subject.like(subject_like)).order_by(OutboxMail.id)))


def sent_entries() -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "session.reminder_sent").order_by(AuditEntry.seq)))


@pytest.fixture
def world(app, qualification):
    ic = make_institution("Fundacja VCC", qualifications=[qualification], short_name="VCC")
    child = make_institution("Ośrodek VCC", parent=ic, short_name="VCC-O")
    staff = make_user((Role.STAFF, ic))
    institution_settings.update_settings(ic, staff, institution_settings.SettingsChange(
        reminder_days=[7, 1], contact_email="biuro@vcc.example", contact_phone="+48 12 345 67 89"))
    session = make_session(child, qualification, title="Sesja marcowa", place="Kraków, ul. Długa 1",
                           starts_at=warsaw(2030, 3, 15, 9, 0))
    anna = make_user(Role.CANDIDATE, first_name="Anna", email="anna@example.pl")
    ben = make_user(Role.CANDIDATE, first_name="Ben", email="ben@example.pl", locale="en")
    cyryl = make_user(Role.CANDIDATE, first_name="Cyryl", email="cyryl@example.pl")
    enrolments = {"anna": enrol(session, anna), "ben": enrol(session, ben), "cyryl": enrol(session, cyryl)}
    enrolments["cyryl"].status = EnrolmentStatus.WITHDRAWN
    db.session.commit()
    return {"ic": ic, "child": child, "staff": staff, "session": session, "enrolments": enrolments,
            "anna": anna, "ben": ben, "cyryl": cyryl, "qualification": qualification}


def test_each_reminder_goes_out_once_per_session_candidate_and_day(app, world):
    week_before = warsaw(2030, 3, 8, 7, 0)
    assert reminders.send_reminders(week_before) == 2
    assert sorted(m.recipient for m in mails()) == ["anna@example.pl", "ben@example.pl"]
    # Again the same day, later the same day, and on days nobody chose: nothing more.
    assert reminders.send_reminders(week_before) == 0
    assert reminders.send_reminders(week_before + timedelta(hours=16)) == 0
    for day in (9, 10, 11, 12, 13):
        assert reminders.send_reminders(warsaw(2030, 3, day, 7, 0)) == 0
    assert reminders.send_reminders(warsaw(2030, 3, 14, 7, 0)) == 2  # the day before
    assert reminders.send_reminders(warsaw(2030, 3, 14, 20, 0)) == 0
    assert reminders.send_reminders(warsaw(2030, 3, 15, 7, 0)) == 0  # the day itself: no reminder
    assert len(mails()) == 4
    entries = sent_entries()
    assert sorted((e.object_id, e.after["days"]) for e in entries) == sorted(
        (str(world["enrolments"][who].id), days) for who in ("anna", "ben") for days in (7, 1))
    for entry in entries:
        assert entry.object_type == "enrolment" and entry.institution_id == world["child"].id
        assert set(entry.after) == {"session_id", "candidate_id", "days"}
        assert "@" not in str(entry.after)


def test_a_withdrawn_candidate_is_never_reminded(app, world):
    assert reminders.send_reminders(warsaw(2030, 3, 8, 7, 0)) == 2
    world["enrolments"]["ben"].status = EnrolmentStatus.WITHDRAWN
    db.session.commit()
    assert reminders.send_reminders(warsaw(2030, 3, 14, 7, 0)) == 1
    recipients = [m.recipient for m in mails()]
    assert "cyryl@example.pl" not in recipients and recipients.count("ben@example.pl") == 1


def test_the_reminder_says_when_and_where_and_whom_to_ask_in_the_candidates_language(app, world):
    reminders.send_reminders(warsaw(2030, 3, 8, 7, 0))
    by_recipient = {m.recipient: m for m in mails()}
    english = by_recipient["ben@example.pl"]
    assert english.subject == "Reminder: your validation session Sesja marcowa"
    assert "Hello Ben," in english.body and "Kraków, ul. Długa 1" in english.body and "Ośrodek VCC" in english.body
    assert "biuro@vcc.example" in english.body and "+48 12 345 67 89" in english.body and "/sessions/mine" in english.body
    assert "15" in english.body and "9:00" in english.body  # the start in Polish time
    polish = by_recipient["anna@example.pl"]
    assert "Anna" in polish.body and "Sesja marcowa" in polish.subject and polish.subject != english.subject


def test_days_are_polish_calendar_days_across_the_change_of_time(app, world, qualification):
    # Poland moves to summer time on 31 March 2030: 10:00 that day is 08:00 UTC.
    session = make_session(world["child"], qualification, title="Sesja wiosenna", starts_at=warsaw(2030, 3, 31, 10, 0))
    assert reminders.days_before(session, warsaw(2030, 3, 30, 23, 30)) == 1  # only 9.5 hours before, yet the day before
    assert reminders.days_before(session, warsaw(2030, 3, 24, 0, 5)) == 7
    assert reminders.days_before(session, warsaw(2030, 3, 23, 23, 59)) == 8
    enrol(session, make_user(Role.CANDIDATE, email="dora@example.pl"))
    assert reminders.send_reminders(warsaw(2030, 3, 30, 23, 30)) == 1
    assert [m.recipient for m in mails()] == ["dora@example.pl"]


def test_a_validating_institutions_own_settings_apply_and_none_means_no_reminders(app, world, qualification):
    child_staff = make_user((Role.STAFF, world["child"]))
    # Its own settings without reminder days: the certifying institution's days no longer apply.
    institution_settings.update_settings(world["child"], child_staff, institution_settings.SettingsChange(contact_email="o@vcc.example"))
    assert reminders.send_reminders(warsaw(2030, 3, 8, 7, 0)) == 0
    institution_settings.update_settings(world["child"], child_staff, institution_settings.SettingsChange(
        contact_email="o@vcc.example", reminder_days=[3]))
    assert reminders.send_reminders(warsaw(2030, 3, 8, 7, 0)) == 0
    assert reminders.send_reminders(warsaw(2030, 3, 12, 7, 0)) == 2
    assert "o@vcc.example" in mails()[0].body
    # An institution without settings anywhere sends none.
    lone = make_session(make_institution("Warto Szkolić"), qualification, starts_at=warsaw(2030, 3, 15, 9, 0))
    enrol(lone, make_user(Role.CANDIDATE, email="ewa@example.pl"))
    for day in range(8, 15):
        reminders.send_reminders(warsaw(2030, 3, day, 7, 0))
    assert "ewa@example.pl" not in [m.recipient for m in mails()]


def test_a_cancelled_session_sends_no_reminders(app, world):
    world["session"].status = SessionStatus.CANCELLED
    db.session.commit()
    assert reminders.send_reminders(warsaw(2030, 3, 8, 7, 0)) == 0 and mails() == []


def test_the_scheduler_runs_the_reminders_once_a_day(app, world, monkeypatch):
    rule = app.config["SCHEDULE"]["sessions.remind"]
    assert "cron" in rule and "sessions.remind" in scheduler.PERIODIC
    scheduler.check_schedule(app.config["SCHEDULE"])
    monkeypatch.setattr(reminders, "utcnow", lambda: warsaw(2030, 3, 8, 7, 0))
    for _attempt in range(2):  # a retried or repeated run sends nothing twice
        job = jobs.start("periodic", task="sessions.remind")
        assert job.status == JobStatus.FINISHED
    assert sorted(m.recipient for m in mails()) == ["anna@example.pl", "ben@example.pl"]
    assert len(sent_entries()) == 2
