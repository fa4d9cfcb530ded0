"""The shipped bank, blueprint and decision rule meet the error-rate goal (issue #9)."""
from __future__ import annotations

from examportal.theory import services
from examportal.theory.draw import draw_balanced
from examportal.theory.reliability import COMPETENT, COMPETENT_MIN_PASS, WEAK, WEAK_MAX_PASS


def test_the_shipped_bank_and_settings_meet_the_goal(app, qualification):
    figures = services.reliability(qualification, forms=20, trials=4000)
    assert figures[COMPETENT] >= COMPETENT_MIN_PASS
    assert figures[WEAK] <= WEAK_MAX_PASS
    assert list(figures.values()) == sorted(figures.values())  # never harder for a stronger candidate


def test_the_former_rule_misses_the_goal(app, qualification):
    """30 items, 55 %, every criterion on its own: a 0.75 candidate fails far too often."""
    qualification.settings = dict(qualification.settings, theory={
        "item_count": 30, "time_limit_minutes": 45, "pass_mark_percent": 55, "decision_rule": "per_criterion"})
    figures = services.reliability(qualification, forms=20, trials=2000)
    assert figures[COMPETENT] < COMPETENT_MIN_PASS


def test_the_reliability_command_prints_the_figures_and_the_goal(app, qualification, runner):
    result = runner.invoke(args=["theory", "reliability", "--forms", "10", "--trials", "1000"])
    assert result.exit_code == 0, result.output
    assert "36 items, pass mark 60 %, rule compensatory" in result.output
    assert "0.75" in result.output and "goal:" in result.output and "met" in result.output


def test_the_reliability_command_refuses_an_unknown_qualification(app, runner):
    result = runner.invoke(args=["theory", "reliability", "--qualification", "99999"])
    assert result.exit_code == 1 and "not loaded" in result.output


def test_one_sitting_shows_at_most_a_fifth_of_a_criterions_pool(app, qualification):
    from collections import Counter

    items = services.bank_items()
    criteria = services.test_criteria(qualification.id)
    pools = Counter(code for item in items for code in item.criteria)
    count = qualification.rules.theory.item_count
    for seed in range(10):
        form = draw_balanced(items, criteria, count, seed)
        shown = Counter(code for drawn in form for code in drawn.item.criteria)
        assert all(shown[code] / pools[code] <= 0.2 for code in criteria), shown
