"""The pure rules of appeals: the day a decision was sent (per subject, in Warsaw), the appeal and
work-review windows at their exact edges, around midnight and across both changes of clocks, the
panel's deadline, who may not sit on a panel, and when a proposal is carried."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale

from examportal.appeals import rules
from examportal.appeals.rules import Involvement
from examportal.models import (
    AppealSubject,
    Application,
    ApplicationStatus,
    AttemptStatus,
    CertificateEvent,
    CertificateEventKind,
    CertificationDecision,
    PracticalAttempt,
    PracticalStatus,
    RenewalApplication,
    RenewalStatus,
    TheoryAttempt,
    ValidationDecision,
)

WINDOW = 14  # 13881's appeal_window_days
REVIEW = 7  # its review_request_days


def warsaw(*args: int) -> datetime:
    return datetime(*args, tzinfo=rules.WARSAW)


def on_time(sent: datetime, appealed: datetime, days: int = WINDOW) -> bool:
    return rules.late_refusal(rules.local_day(sent), days, rules.local_day(appealed)) is None


# --------------------------------------------------------------------------- the window's edges


def test_day_d_plus_14_is_on_time_and_d_plus_15_is_late():
    sent = warsaw(2026, 5, 4, 10, 0)
    assert on_time(sent, warsaw(2026, 5, 4, 10, 1))
    assert on_time(sent, warsaw(2026, 5, 18, 0, 0))
    assert on_time(sent, warsaw(2026, 5, 18, 23, 59, 59))  # D + 14, the last second of its day
    assert not on_time(sent, warsaw(2026, 5, 19, 0, 0))  # D + 15
    assert not on_time(sent, warsaw(2026, 5, 19, 9, 0))


def test_the_refusal_gives_the_date_that_applied(app):
    with force_locale("en"):
        refusal = rules.late_refusal(date(2026, 5, 4), WINDOW, date(2026, 5, 19))
    assert refusal is not None
    assert "The appeal window ended on 18.05.2026" in refusal and "04.05.2026" in refusal
    assert rules.window_end(date(2026, 5, 4), WINDOW) == date(2026, 5, 18)


def test_the_days_are_warsaw_days_not_utc_days():
    # 23:30 and 00:30 in Warsaw (winter, UTC+1) are 22:30 and 23:30 UTC: the same UTC day,
    # two Warsaw days, so the windows end on different days.
    late_evening, after_midnight = warsaw(2026, 1, 10, 23, 30), warsaw(2026, 1, 11, 0, 30)
    assert late_evening.astimezone(UTC).date() == after_midnight.astimezone(UTC).date() == date(2026, 1, 10)
    assert rules.local_day(late_evening) == date(2026, 1, 10)
    assert rules.local_day(after_midnight) == date(2026, 1, 11)
    assert on_time(late_evening, warsaw(2026, 1, 24, 23, 59))
    assert not on_time(late_evening, warsaw(2026, 1, 25, 0, 30))
    assert on_time(after_midnight, warsaw(2026, 1, 25, 0, 30))  # D + 14 for the one sent after midnight
    assert not on_time(after_midnight, warsaw(2026, 1, 26, 0, 0))


def test_an_appeal_at_half_past_midnight_warsaw_is_the_next_day_though_utc_says_otherwise():
    sent = warsaw(2026, 6, 1, 12, 0)
    last_minute = warsaw(2026, 6, 15, 23, 59)  # 21:59 UTC (summer, UTC+2)
    first_late = warsaw(2026, 6, 16, 0, 30)  # 22:30 UTC on 15 June
    assert first_late.astimezone(UTC).date() == date(2026, 6, 15)
    assert on_time(sent, last_minute)
    assert not on_time(sent, first_late)
    # Naive UTC arithmetic would have let it through:
    assert first_late.astimezone(UTC).date() <= sent.astimezone(UTC).date() + timedelta(days=WINDOW)


def test_the_window_across_the_spring_change_of_clocks():
    # The night of 28/29 March 2026 lasts 23 hours; the window still counts 14 calendar days.
    sent = warsaw(2026, 3, 20, 16, 0)  # UTC+1
    assert rules.window_end(rules.local_day(sent), WINDOW) == date(2026, 4, 3)
    assert on_time(sent, warsaw(2026, 4, 3, 23, 59))  # UTC+2: 21:59 UTC
    assert not on_time(sent, warsaw(2026, 4, 4, 0, 1))
    # 14 × 24 hours and 6 more after the decision is still its last day (23:00 in summer time):
    elapsed = sent.astimezone(UTC)
    assert on_time(sent, elapsed + timedelta(days=WINDOW, hours=6))
    assert not on_time(sent, elapsed + timedelta(days=WINDOW, hours=7))  # midnight: the hour the clocks took counts


def test_the_window_across_the_autumn_change_of_clocks():
    # The night of 24/25 October 2026 lasts 25 hours.
    sent = warsaw(2026, 10, 20, 0, 15)  # UTC+2: 19 October 22:15 UTC
    assert sent.astimezone(UTC).date() == date(2026, 10, 19)
    assert rules.local_day(sent) == date(2026, 10, 20)
    assert on_time(sent, warsaw(2026, 11, 3, 23, 59))  # UTC+1
    assert not on_time(sent, warsaw(2026, 11, 4, 0, 0))


def test_a_naive_datetime_has_no_warsaw_day():
    with pytest.raises(ValueError):
        rules.local_day(datetime(2026, 1, 1, 12, 0))


# --------------------------------------------------------------------------- seeing one's work


def test_the_review_request_window_is_seven_days(app):
    assert rules.review_refusal(date(2026, 3, 25), REVIEW, date(2026, 4, 1)) is None
    with force_locale("en"):
        refusal = rules.review_refusal(date(2026, 3, 25), REVIEW, date(2026, 4, 2))
    assert refusal is not None and "ended on 01.04.2026" in refusal


def test_a_granted_review_stays_open_through_its_last_warsaw_day_across_the_change_of_clocks():
    until = rules.review_open_until(date(2026, 3, 27), 7)
    assert until == warsaw(2026, 4, 4, 0, 0)  # midnight in Warsaw after 3 April
    assert until.astimezone(UTC) == datetime(2026, 4, 3, 22, 0, tzinfo=UTC)  # summer time by then
    assert rules.review_last_day(until) == date(2026, 4, 3)
    with pytest.raises(ValueError):
        rules.review_open_until(date(2026, 3, 27), 0)
    with pytest.raises(ValueError):
        rules.review_open_until(date(2026, 3, 27), rules.REVIEW_DAYS_MAX + 1)


# --------------------------------------------------------------------------- the panel's deadline


def test_the_decision_is_due_thirty_days_after_filing_and_then_overdue():
    due = rules.decide_by(date(2026, 3, 20), 30)
    assert due == date(2026, 4, 19)
    assert rules.days_left(due, date(2026, 4, 9)) == 10
    assert rules.days_left(due, due) == 0  # due today, not overdue
    assert rules.days_left(due, date(2026, 4, 20)) == -1  # overdue by a day
    assert rules.days_left(due, date(2026, 5, 19)) == -30


# --------------------------------------------------------------------------- when each decision was sent


MOMENT = datetime(2026, 4, 30, 22, 30, tzinfo=UTC)  # 1 May, 00:30 in Warsaw
LATER = MOMENT + timedelta(days=2)


@pytest.mark.parametrize("subject, record, expected", [
    (AppealSubject.APPLICATION, Application(status=ApplicationStatus.REJECTED, decided_at=MOMENT), MOMENT),
    (AppealSubject.APPLICATION, Application(status=ApplicationStatus.ACCEPTED, decided_at=MOMENT), None),
    (AppealSubject.THEORY, TheoryAttempt(status=AttemptStatus.SUBMITTED, submitted_at=MOMENT, released_at=LATER), LATER),
    (AppealSubject.THEORY, TheoryAttempt(status=AttemptStatus.SUBMITTED, submitted_at=MOMENT, released_at=None), MOMENT),
    (AppealSubject.THEORY, TheoryAttempt(status=AttemptStatus.IN_PROGRESS, submitted_at=None), None),
    (AppealSubject.PRACTICAL, PracticalAttempt(status=PracticalStatus.FINISHED, finished_at=MOMENT), MOMENT),
    (AppealSubject.PRACTICAL, PracticalAttempt(status=PracticalStatus.IN_PROGRESS, finished_at=None), None),
    (AppealSubject.VALIDATION, ValidationDecision(positive=False, decided_at=MOMENT, notified_at=LATER), LATER),
    (AppealSubject.VALIDATION, ValidationDecision(positive=False, decided_at=MOMENT, notified_at=None), MOMENT),
    (AppealSubject.CERTIFICATION, CertificationDecision(positive=False, decided_at=MOMENT, notified_at=LATER), LATER),
    (AppealSubject.CERTIFICATION, CertificationDecision(positive=False, decided_at=MOMENT, notified_at=None), MOMENT),
    (AppealSubject.CERTIFICATE, CertificateEvent(kind=CertificateEventKind.SUSPENDED, at=MOMENT), MOMENT),
    (AppealSubject.CERTIFICATE, CertificateEvent(kind=CertificateEventKind.REVOKED, at=MOMENT), MOMENT),
    (AppealSubject.CERTIFICATE, CertificateEvent(kind=CertificateEventKind.SUSPENSION_LIFTED, at=MOMENT), None),
    (AppealSubject.CERTIFICATE, CertificateEvent(kind=CertificateEventKind.CORRECTED, at=MOMENT), None),
    (AppealSubject.RENEWAL, RenewalApplication(status=RenewalStatus.REJECTED, decided_at=MOMENT, notified_at=LATER), LATER),
    (AppealSubject.RENEWAL, RenewalApplication(status=RenewalStatus.REJECTED, decided_at=MOMENT, notified_at=None), MOMENT),
    (AppealSubject.RENEWAL, RenewalApplication(status=RenewalStatus.UNDER_REVIEW, decided_at=None, notified_at=None), None),
])
def test_the_moment_each_kind_of_decision_was_sent(subject, record, expected):
    assert rules.sent_moment(subject, record) == expected
    assert rules.sent_on(subject, record) == (rules.local_day(expected) if expected else None)


def test_a_decision_sent_at_half_past_midnight_counts_from_that_warsaw_day():
    record = ValidationDecision(positive=False, decided_at=MOMENT, notified_at=None)
    assert rules.sent_on(AppealSubject.VALIDATION, record) == date(2026, 5, 1)  # UTC still says 30 April


# --------------------------------------------------------------------------- who may not sit on a panel


@pytest.mark.parametrize("kind, fragment", [
    (Involvement.APPELLANT, "is the appellant"),
    (Involvement.COMMITTEE, "member (or the chair) of the validation committee"),
    (Involvement.VALIDATION, "scored the appellant or took part in the validation decision"),
    (Involvement.OPERATOR, "exam-system operator"),
    (Involvement.TRAINER, "trained the appellant"),
    (Involvement.THEORY_RELEASE, "released the appellant's theory results"),
    (Involvement.CERTIFICATION, "took the certification decision"),
    (Involvement.CERTIFICATE_ACTION, "suspended or revoked the appellant's certificate"),
    (Involvement.RENEWAL, "assessed or decided the appellant's renewal"),
    (Involvement.APPLICATION, "decided the appellant's application"),
])
def test_every_kind_of_involvement_is_refused_naming_the_person_and_the_reason(app, kind, fragment):
    with force_locale("en"):
        refusal = rules.panel_refusal("Jan Kowalski", [kind])
    assert refusal is not None and refusal.startswith("Jan Kowalski") and fragment in refusal


def test_no_involvement_no_refusal_and_the_first_reason_is_named(app):
    assert rules.panel_refusal("Jan Kowalski", []) is None
    with force_locale("en"):
        refusal = rules.panel_refusal("Jan Kowalski", {Involvement.TRAINER, Involvement.COMMITTEE})
    assert refusal is not None and "validation committee" in refusal and "trained" not in refusal


def test_the_panel_needs_the_committee_minimum_and_exactly_one_chair(app):
    with force_locale("en"):
        assert "at least 2 members" in (rules.panel_composition_refusal(1, 1, 2) or "")
        assert "exactly one chair" in (rules.panel_composition_refusal(2, 0, 2) or "")
        assert "exactly one chair" in (rules.panel_composition_refusal(3, 2, 2) or "")
    assert rules.panel_composition_refusal(2, 1, 2) is None
    assert rules.panel_composition_refusal(3, 1, 2) is None


def test_a_proposal_is_carried_only_when_every_member_approves():
    assert rules.all_approved([1, 2, 3], {1: True}) is None
    assert rules.all_approved([1, 2, 3], {1: True, 2: True}) is None
    assert rules.all_approved([1, 2, 3], {1: True, 2: True, 3: True}) is True
    assert rules.all_approved([1, 2, 3], {1: True, 2: False}) is False  # one dissent is enough
    assert rules.all_approved([1, 2], {1: True, 2: True, 9: False}) is True  # a vote of no member counts for nothing
    with pytest.raises(ValueError):
        rules.all_approved([], {})


def test_dates_are_written_the_polish_way():
    assert rules.date_text(date(2026, 3, 5)) == "05.03.2026"
