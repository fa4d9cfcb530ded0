"""Reminders before a certificate expires: 6, 3 and 1 month(s) before its last valid day, to the
holder in their language, with the link to apply for renewal; each once per certificate however
often (or however concurrently) the task runs; a certificate found late gets only the most recent
reminder due; none for a suspended, revoked, superseded or expired certificate, nor for a holder
who has already applied. Run by ``flask certificates remind`` and the scheduler."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from examportal import jobs
from examportal.certification import rules as certificate_rules
from examportal.certification import services as certification
from examportal.extensions import db
from examportal.jobs import scheduler
from examportal.models import AuditEntry, CertificateReminder, JobStatus, OutboxMail
from examportal.renewals.services import send_expiry_reminders
from tests.certtools import certification_world, make_certificate
from tests.factories import expiring, make_renewal

VALID_UNTIL = date(2030, 9, 30)


@pytest.fixture
def world(app, qualification):
    world = certification_world(qualification)
    world["candidates"][1].locale = "en"
    world["certificates"] = [expiring(make_certificate(e, world["staff"]), VALID_UNTIL) for e in world["enrolments"]]
    return world


def mails(recipient: str | None = None) -> list[OutboxMail]:
    """The reminders queued (the mails about issuing the certificates are not)."""
    query = select(OutboxMail).where(OutboxMail.body.like("%/renewals/certificates/%")).order_by(OutboxMail.id)
    if recipient:
        query = query.where(OutboxMail.recipient == recipient)
    return list(db.session.scalars(query))


def reminders_of(certificate) -> list[int]:
    return sorted(db.session.scalars(select(CertificateReminder.months_before)
                                     .where(CertificateReminder.certificate_id == certificate.id)))


def test_six_three_and_one_month_before_each_once(app, world):
    certificate = world["certificates"][0]
    assert send_expiry_reminders(date(2030, 3, 29)) == 0  # a day before the first lead
    assert send_expiry_reminders(date(2030, 3, 30)) == 3  # six months before: every holder
    assert send_expiry_reminders(date(2030, 3, 30)) == 0  # the same day again
    for day in (date(2030, 4, 15), date(2030, 6, 29)):
        assert send_expiry_reminders(day) == 0
    assert send_expiry_reminders(date(2030, 6, 30)) == 3
    assert send_expiry_reminders(date(2030, 7, 1)) == 0
    assert send_expiry_reminders(date(2030, 8, 30)) == 3
    for day in (date(2030, 9, 15), VALID_UNTIL, VALID_UNTIL + timedelta(days=1)):
        assert send_expiry_reminders(day) == 0
    assert reminders_of(certificate) == [1, 3, 6]
    assert len(mails("lucja@example.pl")) == 3
    entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "certificate.expiry_reminder_sent")))
    assert len(entries) == 9 and all("@" not in str(e.after) for e in entries)


def test_the_mail_links_to_the_renewal_application_in_the_holders_language(app, world):
    send_expiry_reminders(date(2030, 6, 30))
    polish = mails("lucja@example.pl")[0]
    english = mails("bogdan@example.pl")[0]
    certificate = world["certificates"][1]
    assert english.subject == f"Your certificate {certificate.number} expires on Sep 30, 2030"
    assert "expires in 3 months" in english.body
    assert f"/renewals/certificates/{certificate.id}/apply" in english.body
    assert f"/renewals/certificates/{world['certificates'][0].id}/apply" in polish.body
    assert polish.subject != english.subject and world["certificates"][0].number in polish.subject


def test_a_certificate_found_late_gets_only_the_most_recent_reminder(app, world):
    certificate = world["certificates"][0]
    assert send_expiry_reminders(date(2030, 7, 31)) == 3  # two months before, never reminded
    assert reminders_of(certificate) == [3]
    assert len(mails("lucja@example.pl")) == 1
    assert send_expiry_reminders(date(2030, 8, 1)) == 0
    assert send_expiry_reminders(date(2030, 9, 29)) == 3  # the last month: found late again
    assert reminders_of(certificate) == [1, 3]


def test_a_reminder_another_run_recorded_meanwhile_is_never_sent_again(app, world):
    """Two runs at once: the one whose row is committed first sends; the other's insert hits the
    unique (certificate, months) and skips the mail — without stopping the others' reminders."""
    first = world["certificates"][0]
    db.session.add(CertificateReminder(certificate_id=first.id, months_before=6, sent_at=certification.utcnow()))
    db.session.commit()
    assert send_expiry_reminders(date(2030, 3, 30)) == 2
    assert mails("lucja@example.pl") == []
    assert len(mails("bogdan@example.pl")) == 1 and len(mails("cezary@example.pl")) == 1
    assert reminders_of(first) == [6]


@pytest.mark.parametrize("change", ["suspend", "revoke", "supersede", "expire"])
def test_no_reminder_for_a_certificate_not_valid(app, world, change):
    certificate = world["certificates"][0]
    if change in ("suspend", "revoke"):
        certification.change_status(world["staff"], certificate, change, "Wyjaśnianie.")
    elif change == "supersede":
        replacement = certification.correct(world["staff"], certificate, first_name="Łucja", last_name="Nowa",
                                            birth_date=None, reason="Zmiana nazwiska.")
        replacement.valid_until = date(2035, 1, 1)  # the replacement itself is not due
        db.session.commit()
    else:
        certificate.valid_until = date(2030, 3, 1)
        db.session.commit()
    for day in (date(2030, 3, 30), date(2030, 6, 30), date(2030, 8, 30)):
        send_expiry_reminders(day)
    assert reminders_of(certificate) == []
    assert mails("lucja@example.pl") == []
    assert len(mails("bogdan@example.pl")) == 3


def test_no_reminder_once_the_holder_has_applied(app, world, monkeypatch):
    monkeypatch.setattr(certificate_rules, "today", lambda: date(2030, 6, 1))
    make_renewal(world["certificates"][0])
    sent_before = len(mails("lucja@example.pl"))  # the application's own confirmation
    assert send_expiry_reminders(date(2030, 6, 30)) == 2
    assert len(mails("lucja@example.pl")) == sent_before and reminders_of(world["certificates"][0]) == []


def test_the_command_and_the_scheduler_send_todays_reminders(app, world, runner):
    today = certificate_rules.today()
    for certificate in world["certificates"]:
        expiring(certificate, today + timedelta(days=20))
    result = runner.invoke(args=["certificates", "remind"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "3 reminder(s) queued"
    assert runner.invoke(args=["certificates", "remind"]).output.strip() == "0 reminder(s) queued"
    assert "Usage:" in runner.invoke(args=["certificates", "remind", "--help"]).output
    assert "cron" in app.config["SCHEDULE"]["certificates.remind"] and "certificates.remind" in scheduler.PERIODIC
    scheduler.check_schedule(app.config["SCHEDULE"])
    for certificate in world["certificates"]:
        db.session.delete(db.session.scalars(select(CertificateReminder)
                                             .where(CertificateReminder.certificate_id == certificate.id)).one())
    db.session.commit()
    for _attempt in range(2):  # a repeated run sends nothing twice
        assert jobs.start("periodic", task="certificates.remind").status == JobStatus.FINISHED
    assert all(reminders_of(c) == [1] for c in world["certificates"])
    assert len(mails()) == 6
