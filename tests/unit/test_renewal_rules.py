"""The rules of renewal, without a request: the application window at its exact edges, the days of
work a holder's periods cover (overlaps once, partial periods clipped to the validity, the issue's
13-months-that-are-11 example), period checks, the reminders due and the renewed validity
continuing from the old expiry (also across a leap day)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask_babel import force_locale

from examportal.renewals import rules
from examportal.renewals.rules import Span

VALID_UNTIL = date(2026, 9, 30)


def test_months_are_calendar_months_and_short_months_clamp():
    assert rules.add_months(date(2026, 9, 30), -6) == date(2026, 3, 30)
    assert rules.add_months(date(2026, 8, 31), -6) == date(2026, 2, 28)
    assert rules.add_months(date(2028, 8, 31), -6) == date(2028, 2, 29)
    assert rules.add_months(date(2026, 1, 15), -1) == date(2025, 12, 15)
    assert rules.add_months(date(2025, 12, 31), 2) == date(2026, 2, 28)


@pytest.mark.parametrize("today, state", [
    (date(2026, 3, 29), rules.EARLY),  # a day before six months before expiry
    (date(2026, 3, 30), rules.OPEN),  # exactly six months before
    (date(2026, 6, 1), rules.OPEN),
    (VALID_UNTIL, rules.OPEN),  # the expiry day itself
    (date(2026, 10, 1), rules.EXPIRED),  # the day after
])
def test_the_window_at_its_edges(app, today, state):
    assert rules.window_state(VALID_UNTIL, today) == state
    with force_locale("en"):
        refusal = rules.window_refusal(VALID_UNTIL, today)
    if state == rules.OPEN:
        assert refusal is None
    elif state == rules.EARLY:
        assert refusal is not None and "from 2026-03-30" in refusal
    else:
        assert refusal is not None and "new validation" in refusal and "2026-09-30" in refusal


def test_the_window_of_a_certificate_ending_on_a_month_end():
    assert rules.window_opens_on(date(2026, 8, 31)) == date(2026, 2, 28)
    assert rules.window_state(date(2026, 8, 31), date(2026, 2, 27)) == rules.EARLY
    assert rules.window_state(date(2026, 8, 31), date(2026, 2, 28)) == rules.OPEN


def test_required_days():
    assert rules.required_days(12) == 365
    assert rules.required_days(6) == 183  # 182.5, rounded up
    assert rules.required_days(1) == 31  # 30.42
    with pytest.raises(ValueError):
        rules.required_days(0)


START, END = date(2021, 10, 1), date(2026, 9, 30)


def test_one_period_counts_both_its_days():
    assert rules.covered_days([Span(date(2024, 1, 1), date(2024, 1, 1))], START, END) == 1
    assert rules.covered_days([Span(date(2023, 1, 1), date(2023, 12, 31))], START, END) == 365
    assert rules.covered_days([], START, END) == 0


def test_overlapping_periods_count_each_day_once():
    periods = [Span(date(2023, 1, 1), date(2023, 6, 30)), Span(date(2023, 4, 1), date(2023, 12, 31)),
               Span(date(2023, 5, 1), date(2023, 5, 31))]  # inside the others
    assert rules.covered_days(periods, START, END) == 365


def test_adjacent_and_separate_periods_add_up():
    adjacent = [Span(date(2023, 1, 1), date(2023, 1, 31)), Span(date(2023, 2, 1), date(2023, 2, 28))]
    assert rules.covered_days(adjacent, START, END) == 59
    apart = [Span(date(2023, 1, 1), date(2023, 1, 10)), Span(date(2023, 3, 1), date(2023, 3, 10))]
    assert rules.covered_days(apart, START, END) == 20


def test_partial_periods_are_clipped_to_the_validity():
    before = Span(date(2021, 9, 1), date(2021, 10, 10))  # 10 days inside (1-10 October)
    after = Span(date(2026, 9, 21), date(2026, 12, 31))  # 10 days inside (21-30 September)
    outside = Span(date(2019, 1, 1), date(2020, 12, 31))
    assert rules.covered_days([before, after, outside], START, END) == 20


def test_two_periods_of_13_months_that_overlap_to_11_fail():
    """The issue's example: 7 + 6 = 13 months declared, but overlapping so that only 11 months of
    distinct days are covered — less than the year required."""
    first = Span(date(2023, 1, 1), date(2023, 7, 31))  # 7 months
    second = Span(date(2023, 6, 1), date(2023, 11, 30))  # 6 months, June and July again
    declared = sum((p.ends_on - p.starts_on).days + 1 for p in (first, second))
    assert declared == 395 >= rules.required_days(12)  # the sum alone would pass
    covered = rules.covered_days([first, second], START, END)
    assert covered == 334  # January to November: 11 months
    assert covered < rules.required_days(12)
    with force_locale("en"):
        assert "needs 365 days" in rules.decision_refusal(True, unjudged=0, accepted=1, covered=covered, required=365,
                                                          justification="")


@pytest.mark.parametrize("starts_on, ends_on, message", [
    (date(2024, 2, 1), date(2024, 1, 31), "ends before it starts"),
    (date(2024, 1, 1), date(2026, 6, 2), "cannot end after today"),
    (None, date(2024, 1, 1), "both dates"),
    (date(2024, 1, 1), None, "both dates"),
])
def test_a_period_must_be_in_order_and_in_the_past(app, starts_on, ends_on, message):
    today = date(2026, 6, 1)
    with force_locale("en"):
        assert message in rules.period_problem(starts_on, ends_on, today)
    assert rules.period_problem(date(2024, 1, 1), today, today) is None  # up to today inclusive
    assert rules.period_problem(today, today, today) is None


def test_the_renewed_validity_continues_from_the_old_expiry():
    assert rules.renewed_valid_until(date(2026, 9, 30), 5) == date(2031, 9, 30)
    # Not from the day of the decision: renewed five months early, still five years from expiry.
    decided_on = date(2026, 4, 30)
    assert rules.renewed_valid_until(VALID_UNTIL, 5) != decided_on.replace(year=decided_on.year + 5)


def test_the_renewed_validity_across_a_leap_day():
    assert rules.renewed_valid_until(date(2028, 2, 29), 5) == date(2033, 2, 28)
    assert rules.renewed_valid_until(date(2028, 2, 29), 4) == date(2032, 2, 29)
    assert rules.renewed_valid_until(date(2027, 2, 28), 1) == date(2028, 2, 28)
    assert rules.renewed_valid_until(date(2027, 3, 1), 1) == date(2028, 3, 1)
    with pytest.raises(ValueError):
        rules.renewed_valid_until(date(2027, 3, 1), 0)


@pytest.mark.parametrize("today, due", [
    (date(2026, 3, 29), None),
    (date(2026, 3, 30), 6),
    (date(2026, 6, 29), 6),
    (date(2026, 6, 30), 3),
    (date(2026, 8, 29), 3),  # found late, never reminded: the most recent reminder due only
    (date(2026, 8, 30), 1),
    (VALID_UNTIL, 1),
    (VALID_UNTIL + timedelta(days=1), None),  # expired: nothing to renew
])
def test_the_reminder_due(today, due):
    assert rules.due_reminder(VALID_UNTIL, today) == due


def test_a_decision_needs_every_item_judged_an_accepted_one_and_a_justification_to_refuse(app):
    with force_locale("en"):
        assert "not judged yet" in rules.decision_refusal(True, unjudged=1, accepted=1, covered=400, required=365,
                                                          justification="")
        assert "at least one accepted" in rules.decision_refusal(True, unjudged=0, accepted=0, covered=400, required=365,
                                                                 justification="")
        assert rules.decision_refusal(True, unjudged=0, accepted=1, covered=365, required=365, justification="") is None
        assert "justification" in rules.decision_refusal(False, unjudged=0, accepted=0, covered=0, required=365,
                                                         justification="  ")
        assert rules.decision_refusal(False, unjudged=0, accepted=0, covered=0, required=365,
                                      justification="Brak dowodów pracy z CRM.") is None
