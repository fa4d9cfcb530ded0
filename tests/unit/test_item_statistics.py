"""Facility, point-biserial discrimination, distractor counts and review flags."""
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from examportal.theory import statistics as stats
from examportal.theory.statistics import Response


def _rows(matrix, key="a", answers=None):
    """matrix[attempt][item] = points; answers[attempt][item] = chosen option."""
    rows = []
    for a, item_points in enumerate(matrix):
        for i, points in enumerate(item_points):
            chosen = answers[a][i] if answers else (key if points else "b")
            rows.append(Response(a, f"item-{i}", points, chosen, key=[key], options=("a", "b", "c", "d")))
    return rows


def test_point_biserial_matches_the_textbook_value():
    # Item scores and rest scores from a worked example: r = 0.7746 (Pearson).
    item = [1, 1, 1, 0, 0]
    rest = [9, 8, 5, 6, 2]
    mean_i, mean_r = 0.6, 6.0
    expected = sum((i - mean_i) * (r - mean_r) for i, r in zip(item, rest, strict=True)) / math.sqrt(
        sum((i - mean_i) ** 2 for i in item) * sum((r - mean_r) ** 2 for r in rest))
    assert stats.point_biserial(item, rest) == pytest.approx(expected)
    assert stats.point_biserial([1, 1, 1], [3, 4, 5]) is None  # the item does not vary


def test_facility_and_discrimination_of_a_good_and_a_bad_item():
    # 30 candidates; item-0 is answered by the strong ones, item-1 by the weak ones.
    matrix = []
    for ability in range(30):
        strong = ability >= 15
        matrix.append([1 if strong else 0, 0 if strong else 1] + [1 if ability > k * 3 else 0 for k in range(8)])
    result = {s.item_id: s for s in stats.compute(_rows(matrix))}
    assert result["item-0"].facility == pytest.approx(0.5)
    assert result["item-0"].discrimination > 0.5
    assert result["item-1"].discrimination < 0
    assert "low_discrimination" in result["item-1"].flags
    assert "low_discrimination" not in result["item-0"].flags


def test_too_easy_too_hard_and_dead_distractors_are_flagged():
    n = 25
    matrix = [[1, 0, 1 if a % 2 else 0] for a in range(n)]
    answers = [["a", "b", "a" if a % 2 else "b"] for a in range(n)]
    result = {s.item_id: s for s in stats.compute(_rows(matrix, answers=answers))}
    assert "too_easy" in result["item-0"].flags
    assert "too_hard" in result["item-1"].flags
    assert result["item-2"].option_counts == {"a": 12, "b": 13, "c": 0, "d": 0}
    assert "dead_distractor" in result["item-2"].flags


def test_no_flags_below_the_minimum_number_of_answers():
    result = stats.compute(_rows([[1, 0]] * 5))
    assert all(s.flags == [] for s in result)


def test_multiple_choice_and_true_false_counts():
    rows = [Response(1, "mc", 1.0, ["a", "c"], key=["a", "c"], options=("a", "b", "c")),
            Response(2, "mc", 0.0, ["a", "b"], key=["a", "c"], options=("a", "b", "c")),
            Response(1, "tf", 1.0, True, key=True, options=("true", "false")),
            Response(2, "tf", 0.0, False, key=True, options=("true", "false"))]
    result = {s.item_id: s for s in stats.compute(rows)}
    assert result["mc"].option_counts == {"a": 2, "b": 1, "c": 1}
    assert result["tf"].option_counts == {"true": 1, "false": 1} and result["tf"].key == ("true",)


def test_csv_is_formula_safe():
    rows = [Response(1, "=HYPERLINK(\"x\")", 1.0, "a", key=["a"], options=("a", "b"))]
    text = stats.to_csv(stats.compute(rows))
    assert text.startswith("\ufeff")
    assert "'=HYPERLINK" in text


@given(st.lists(st.lists(st.sampled_from([0.0, 1.0]), min_size=3, max_size=3), min_size=2, max_size=40))
def test_statistics_stay_in_range(matrix):
    for s in stats.compute(_rows(matrix)):
        assert 0.0 <= s.facility <= 1.0
        assert s.discrimination is None or -1.0 - 1e-9 <= s.discrimination <= 1.0 + 1e-9
        assert sum(s.option_counts.values()) == s.responses
