"""The theory decision rule and its error rates (pure functions)."""
from __future__ import annotations

import math

import pytest

from examportal.theory.reliability import FormItem, item_probabilities, pass_probabilities
from examportal.theory.scoring import criteria_confirmed_together, decides_pass, score_items

CRITERIA = ("1.1.a", "1.1.b", "1.1.c")


def _binomial_at_least(n: int, k: int, p: float) -> float:
    return sum(math.comb(n, i) * p ** i * (1 - p) ** (n - i) for i in range(k, n + 1))


def test_the_compensatory_rule_passes_on_the_overall_mark_whatever_one_criterion_scored():
    scored = [(("1.1.a",), 0.0), (("1.1.a",), 0.0)] + [(("1.1.b",), 1.0)] * 4 + [(("1.1.c",), 1.0)] * 4
    result = score_items(scored, CRITERIA, pass_mark=60)
    assert result["percent"] == 80.0 and result["criteria"]["1.1.a"]["passed"] is False
    assert decides_pass(result, "compensatory", 60) is True
    assert decides_pass(result, "per_criterion", 60) is False
    assert criteria_confirmed_together("compensatory") and not criteria_confirmed_together("per_criterion")


def test_below_the_mark_fails_under_either_rule():
    result = score_items([(("1.1.a",), 1.0), (("1.1.b",), 0.0), (("1.1.c",), 0.0)], CRITERIA, pass_mark=60)
    assert not decides_pass(result, "compensatory", 60) and not decides_pass(result, "per_criterion", 60)


@pytest.mark.parametrize("ability", [0.3, 0.5, 0.75, 0.9])
def test_facilities_are_shifted_so_the_expected_proportion_is_the_ability(ability):
    facilities = [0.9, 0.8, 0.5, 0.3, None, 0.65]
    probabilities = item_probabilities(facilities, ability)
    assert sum(probabilities) / len(probabilities) == pytest.approx(ability, abs=1e-6)
    # The easier item stays easier for every candidate.
    assert probabilities[0] > probabilities[1] > probabilities[5] > probabilities[2] > probabilities[3]


def test_without_statistics_every_item_is_the_ability():
    assert item_probabilities([None, None, None], 0.6) == [0.6, 0.6, 0.6]


def test_the_simulation_matches_the_exact_binomial_figures():
    """40 items without statistics, a 60 % compensatory mark: P(X >= 24) for X ~ Bin(40, p)."""
    form = [FormItem((CRITERIA[i % 3],)) for i in range(40)]
    figures = pass_probabilities([form], CRITERIA, 60, "compensatory", abilities=(0.45, 0.6, 0.75), trials=20000)
    for ability, probability in figures.items():
        assert probability == pytest.approx(_binomial_at_least(40, 24, ability), abs=0.01), ability


def test_the_simulation_is_reproducible():
    form = [FormItem((CRITERIA[i % 3],), facility=0.4 + 0.01 * i) for i in range(30)]
    first = pass_probabilities([form], CRITERIA, 55, "per_criterion", abilities=(0.7,), trials=2000)
    assert first == pass_probabilities([form], CRITERIA, 55, "per_criterion", abilities=(0.7,), trials=2000)
