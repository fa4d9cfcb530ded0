"""The theory-test engine: the blueprint draw, the clock, autosave ordering and scoring."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from flask_babel import force_locale
from hypothesis import given, settings
from hypothesis import strategies as st

from examportal.models import AttemptAnswer, AttemptStatus, OperatorActionKind, TheoryAttempt
from examportal.theory import clock, services
from examportal.theory.draw import DrawError, draw, draw_balanced, form_difficulty
from examportal.theory.errors import TheoryError
from examportal.theory.scoring import points_for
from question_bank import items as bank
from tests import factories

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
BANK = [bank.item_from_dict(d) for d in factories.theory_item_dicts(per_criterion=5)]
CRITERIA = list(factories.TEST_CRITERIA)


# --------------------------------------------------------------------------- the draw


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2 ** 62), count=st.integers(min_value=9, max_value=40))
def test_draw_covers_every_criterion_for_any_seed(seed, count):
    drawn = draw(BANK, CRITERIA, count, seed)
    assert len(drawn) == count
    assert len({d.item.id for d in drawn}) == count
    covered = Counter(code for d in drawn for code in d.item.criteria)
    assert set(covered) == set(CRITERIA)
    # Balanced: no criterion gets two more items than another while it still had items to give.
    assert max(covered.values()) - min(covered.values()) <= 1


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2 ** 62))
def test_draw_is_deterministic_from_the_seed(seed):
    first = draw(BANK, CRITERIA, 30, seed)
    again = draw(BANK, CRITERIA, 30, seed)
    assert [(d.item.id, d.presented) for d in first] == [(d.item.id, d.presented) for d in again]


def test_draw_shuffles_items_and_options_per_attempt():
    orders = {tuple(d.item.id for d in draw(BANK, CRITERIA, 30, seed)) for seed in range(20)}
    assert len(orders) == 20
    option_orders = {
        tuple(d.presented["options"]) for seed in range(20) for d in draw(BANK, CRITERIA, 30, seed)
        if d.item.id == "t-1.1.a-000"
    }
    assert len(option_orders) > 1


def test_draw_refuses_a_bank_missing_a_criterion():
    without = [i for i in BANK if "2.5.c" not in i.criteria]
    with pytest.raises(DrawError):
        draw(without, CRITERIA, 30, 1)


def test_draw_refuses_a_bank_too_small():
    with pytest.raises(DrawError):
        draw(BANK, CRITERIA, len(BANK) + 1, 1)


def test_draw_ignores_items_of_other_criteria():
    drawn = draw(BANK, ["1.1.a"], 5, 3)
    assert all(d.item.criteria == ("1.1.a",) for d in drawn)


# --------------------------------------------------------------------------- the clock


def _attempt(**kwargs) -> TheoryAttempt:
    values = {"status": AttemptStatus.IN_PROGRESS, "time_limit_seconds": 45 * 60, "started_at": T0,
                  "deadline_at": T0 + timedelta(minutes=45), "paused_seconds_total": 0.0, "extra_seconds": 0}
    values.update(kwargs)
    return TheoryAttempt(**values)


def test_time_left_counts_down_from_the_deadline():
    attempt = _attempt()
    assert clock.time_left(attempt, T0) == 45 * 60
    assert clock.time_left(attempt, T0 + timedelta(minutes=10)) == 35 * 60
    assert clock.time_left(attempt, T0 + timedelta(hours=2)) == 0


def test_the_whole_seconds_shown_are_rounded_up_so_that_0_00_means_the_time_is_up():
    attempt = _attempt()
    end = T0 + timedelta(minutes=45)
    assert clock.seconds_shown(attempt, end - timedelta(seconds=0.4)) == 1  # still running: the page shows 0:01
    assert clock.seconds_shown(attempt, end - timedelta(seconds=59.9)) == 60
    assert clock.seconds_shown(attempt, end) == 0 and clock.seconds_shown(attempt, end + timedelta(seconds=3)) == 0
    assert clock.seconds_shown(attempt, T0) == 45 * 60


def test_time_left_before_the_start_is_the_whole_limit_plus_extra():
    attempt = _attempt(status=AttemptStatus.UNLOCKED, started_at=None, deadline_at=None, extra_seconds=300)
    assert clock.time_left(attempt, T0 + timedelta(days=1)) == 50 * 60


def test_clock_stops_while_paused_and_extra_time_during_a_pause_counts():
    attempt = _attempt(status=AttemptStatus.PAUSED, paused_at=T0 + timedelta(minutes=10))
    assert clock.time_left(attempt, T0 + timedelta(minutes=10)) == 35 * 60
    assert clock.time_left(attempt, T0 + timedelta(minutes=30)) == 35 * 60
    attempt.extra_seconds = 5 * 60  # added during the pause
    assert clock.time_left(attempt, T0 + timedelta(minutes=30)) == 40 * 60
    # Resumed after a 20-minute pause: the clock runs again from 40 minutes left.
    attempt.status, attempt.paused_seconds_total, attempt.paused_at = AttemptStatus.IN_PROGRESS, 20 * 60, None
    assert clock.time_left(attempt, T0 + timedelta(minutes=30)) == 40 * 60
    assert clock.time_left(attempt, T0 + timedelta(minutes=50)) == 20 * 60


def test_connection_state():
    assert clock.connection_state(None, T0) == "never"
    assert clock.connection_state(T0, T0 + timedelta(seconds=10)) == "online"
    # A live page's stored contact is up to CONTACT_WRITE_SECONDS plus one 15 s heartbeat old.
    live = clock.CONTACT_WRITE_SECONDS + 15
    assert clock.connection_state(T0, T0 + timedelta(seconds=live)) == "online"
    assert clock.connection_state(T0, T0 + timedelta(seconds=clock.ONLINE_SECONDS + 1)) == "stale"
    assert clock.connection_state(T0, T0 + timedelta(minutes=5)) == "offline"


# --------------------------------------------------------------------------- scoring (pure)


def test_score_items_per_criterion_and_overall():
    scored = [(("1.1.a",), 1.0), (("1.1.a",), 0.0), (("1.1.b",), 1.0), (("1.1.b", "1.1.c"), 1.0)]
    result = services.score_items(scored, ["1.1.a", "1.1.b", "1.1.c", "1.1.d"], 55)
    assert result["points"] == 3 and result["max"] == 4 and result["percent"] == 75.0 and result["passed"]
    assert result["criteria"]["1.1.a"] == {"points": 1.0, "max": 2, "percent": 50.0, "passed": False}
    assert result["criteria"]["1.1.b"]["passed"] and result["criteria"]["1.1.c"]["passed"]
    assert result["criteria"]["1.1.d"] == {"points": 0, "max": 0, "percent": 0.0, "passed": False}


def test_score_at_the_pass_mark_passes_and_below_fails():
    assert services.score_items([((("x"),), 1.0)] * 11 + [((("x"),), 0.0)] * 9, [], 55)["passed"]
    assert not services.score_items([((("x"),), 1.0)] * 10 + [((("x"),), 0.0)] * 10, [], 55)["passed"]


def test_points_for_unanswered_and_unreadable_answers_are_zero():
    item = BANK[0]
    assert points_for(item, None) == 0
    assert points_for(item, ["zz"]) == 0
    assert points_for(item, "b") == 1.0


# --------------------------------------------------------------------------- with the database


@pytest.fixture
def running(app, qualification, tmp_path):
    """An attempt in progress since T0 on the synthetic bank."""
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    institution = factories.make_institution(qualifications=[qualification])
    operator = factories.make_user((factories.Role.OPERATOR, institution))
    session = factories.make_session(institution, qualification, operator_id=operator.id)
    candidate = factories.make_user(factories.Role.CANDIDATE)
    enrolment = factories.enrol(session, candidate)
    attempt = factories.make_attempt(enrolment, status=AttemptStatus.UNLOCKED)
    return services.start(attempt, now=T0)


def _answer_for(attempt_item):
    """The correct raw answer for a synthetic item, as a form would carry it."""
    key = attempt_item.snapshot["item"]["key"]
    return "true" if key is True else key


def test_start_draws_the_settings_item_count_and_freezes_snapshots(running):
    assert running.status == AttemptStatus.IN_PROGRESS
    assert len(running.items) == 36
    assert running.deadline_at == T0 + timedelta(minutes=45)  # the factory attempt has 45 minutes
    first = running.items[0]
    assert first.fingerprint == bank.fingerprint(bank.item_from_dict(first.snapshot["item"]))
    assert sorted(first.snapshot["presented"].get("options", first.snapshot["presented"].get("premises", [])))


def test_duplicate_autosave_is_idempotent(running, db_session):
    one = services.save_answer(running, 1, _answer_for(running.items[0]), 1, now=T0 + timedelta(minutes=1))
    again = services.save_answer(running, 1, _answer_for(running.items[0]), 1, now=T0 + timedelta(minutes=2))
    assert one["seq"] == again["seq"] == 1 and one["saved_at"] == again["saved_at"]
    assert db_session.query(AttemptAnswer).count() == 1


def test_older_autosave_arriving_late_does_not_overwrite_newer(running, db_session):
    item = running.items[0]
    presented = item.snapshot["presented"]
    options = presented.get("options") or presented.get("premises")
    first_answer = _answer_for(item)
    services.save_answer(running, 1, first_answer, 5, flagged=True, now=T0 + timedelta(minutes=1))
    late = services.save_answer(running, 1, None, 3, now=T0 + timedelta(minutes=2))
    assert late["applied"] is False
    db_session.refresh(item)
    assert item.answer_seq == 5 and item.flagged and item.response is not None
    assert db_session.query(AttemptAnswer).count() == 2 and options


def test_bad_answer_is_a_clear_error_not_a_crash(running):
    with force_locale("en"), pytest.raises(TheoryError, match="could not be read"):
        services.save_answer(running, 1, {"nonsense": [1, 2]} if running.items[0].snapshot["item"]["type"] != "matching"
                             else 42, 1, now=T0)
    with pytest.raises(TheoryError):
        services.save_answer(running, 99, None, 2, now=T0)
    with pytest.raises(TheoryError):
        services.save_answer(running, 1, None, 0, now=T0)


def test_answers_after_the_deadline_are_refused_and_submit(running):
    with pytest.raises(services.AttemptClosed):
        services.save_answer(running, 1, None, 1, now=T0 + timedelta(minutes=46))
    assert running.status == AttemptStatus.SUBMITTED
    assert running.submitted_at == T0 + timedelta(minutes=45) and running.submitted_by_deadline


def test_pause_refuses_answers_and_resume_restores_the_clock(running, db_session):
    session = running.session
    operator = session.operator
    services.operator_action(session, operator, OperatorActionKind.PAUSE, "fire alarm", now=T0 + timedelta(minutes=5))
    with pytest.raises(services.AttemptPaused):
        services.save_answer(running, 1, None, 1, now=T0 + timedelta(minutes=6))
    services.operator_action(session, operator, OperatorActionKind.EXTRA_TIME, "alarm", attempt=running, minutes=2,
                             now=T0 + timedelta(minutes=10))
    services.operator_action(session, operator, OperatorActionKind.RESUME, "all clear", now=T0 + timedelta(minutes=25))
    # 40 minutes left at the pause, plus 2 extra.
    assert clock.time_left(running, T0 + timedelta(minutes=25)) == 42 * 60
    ack = services.save_answer(running, 1, None, 1, now=T0 + timedelta(minutes=26))
    assert ack["time_left"] == 41 * 60


def test_operator_action_needs_a_reason(running):
    with force_locale("en"), pytest.raises(TheoryError, match="reason"):
        services.operator_action(running.session, running.session.operator, OperatorActionKind.INCIDENT, "   ")


def test_only_the_sessions_operator_acts(running):
    stranger = factories.make_user(factories.Role.OPERATOR)
    with force_locale("en"), pytest.raises(TheoryError, match="Only the session's exam-system operator"):
        services.operator_action(running.session, stranger, OperatorActionKind.INCIDENT, "alarm")


def test_scoring_all_correct_half_correct(running):
    for ai in running.items[:22]:
        services.save_answer(running, ai.position, _answer_for(ai), ai.position, now=T0 + timedelta(minutes=1))
    services.submit(running, now=T0 + timedelta(minutes=20))
    assert running.score_points == 22 and running.score_max == 36
    assert running.score_percent == pytest.approx(61.11) and running.passed  # 22 of 36 reach the 60 % mark
    assert set(running.criterion_scores) == set(CRITERIA)
    assert sum(c["max"] for c in running.criterion_scores.values()) == 36


def test_expire_submits_overdue_attempts_only(running):
    assert services.expire_overdue(now=T0 + timedelta(minutes=44)) == []
    expired = services.expire_overdue(now=T0 + timedelta(minutes=46))
    assert [a.id for a in expired] == [running.id]
    assert running.status == AttemptStatus.SUBMITTED and running.score_max == 36


def test_forms_of_one_session_are_balanced_in_difficulty():
    """Every form's mean difficulty stays near the pool's; unbalanced draws spread much wider."""
    import dataclasses

    varied = [dataclasses.replace(item, difficulty=0.3 + 0.6 * (n % 7) / 6) for n, item in enumerate(BANK)]
    target = sum(i.difficulty for i in varied) / len(varied)
    balanced = [form_difficulty(draw_balanced(varied, CRITERIA, 20, seed)) for seed in range(30)]
    plain = [form_difficulty(draw(varied, CRITERIA, 20, seed)) for seed in range(30)]
    assert max(abs(d - target) for d in balanced) <= 0.03
    assert max(abs(d - target) for d in balanced) < max(abs(d - target) for d in plain)
    assert draw_balanced(varied, CRITERIA, 20, 7) == draw_balanced(varied, CRITERIA, 20, 7)


@pytest.mark.parametrize(("partial_credit", "points"), [("all_or_nothing", 0.0), ("per_pair", 0.5)])
def test_the_partial_credit_setting_scores_a_half_right_matching_item(running, partial_credit, points):
    qualification = running.session.qualification
    qualification.settings = dict(qualification.settings, theory=dict(qualification.settings["theory"],
                                                                      partial_credit=partial_credit))
    matching = next(ai for ai in running.items if ai.snapshot["item"]["type"] == "matching")
    services.save_answer(running, matching.position, {"p1": "r2", "p2": "r3"}, 1, now=T0 + timedelta(minutes=1))
    services.submit(running, now=T0 + timedelta(minutes=2))
    assert matching.points == points
