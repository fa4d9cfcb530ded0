"""The theory decision rule and its error rates.

A cut rule is an instrument: it must pass a competent candidate and fail a weak one with known,
small error rates on the real bank and blueprint. :func:`decides_pass` applies the qualification's
rule to a scored attempt (in :mod:`.scoring`); :func:`pass_probabilities` estimates, by simulation with a fixed seed,
how often a candidate of a given true ability passes.

The model: a candidate of true ability ``p`` (their expected proportion correct) answers each
item independently. Where an item has statistics, its probability is its facility shifted on the
logit scale so that the candidate's expected proportion correct over the form is ``p``; where
none of the form's items has statistics, every item is a plain Bernoulli(``p``).
"""
from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from .scoring import decides_pass, score_items  # the very scoring an attempt gets

#: Abilities reported by ``flask theory reliability`` and the item-statistics page.
ABILITIES: tuple[float, ...] = tuple(round(0.30 + 0.05 * step, 2) for step in range(14))

#: The goal the shipped bank and settings must meet (issue #9): competent passes, weak fails.
COMPETENT, WEAK = 0.75, 0.45
COMPETENT_MIN_PASS, WEAK_MAX_PASS = 0.95, 0.05


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def item_probabilities(facilities: Sequence[float | None], ability: float) -> list[float]:
    """Each item's probability of a correct answer for a candidate of true ``ability``.

    Items with a facility are shifted together on the logit scale (found by bisection) so that the
    mean over the form equals ``ability``; items without one answer with probability ``ability``.
    """
    known = [f for f in facilities if f is not None]
    if not known:
        return [ability] * len(facilities)
    logits = [_logit(f) if f is not None else None for f in facilities]

    def mean(shift: float) -> float:
        return sum(_sigmoid(x + shift) if x is not None else ability for x in logits) / len(logits)

    low, high = -20.0, 20.0
    for _ in range(60):
        middle = (low + high) / 2
        if mean(middle) < ability:
            low = middle
        else:
            high = middle
    shift = (low + high) / 2
    return [_sigmoid(x + shift) if x is not None else ability for x in logits]


@dataclass(frozen=True)
class FormItem:
    """One drawn item as the simulation needs it: its criteria and its facility (None: no statistics)."""

    criteria: tuple[str, ...]
    facility: float | None = None


def pass_probabilities(
    forms: Sequence[Sequence[FormItem]],
    criteria: Sequence[str],
    pass_mark: float,
    rule: str,
    abilities: Sequence[float] = ABILITIES,
    trials: int = 4000,
    seed: int = 13881,
) -> dict[float, float]:
    """The estimated probability of passing, by true ability, over ``trials`` simulated sittings.

    Each sitting takes the next of ``forms`` (forms drawn by the real blueprint) in turn.
    """
    rng = random.Random(seed)  # noqa: S311  (a reproducible simulation, not a secret)
    result = {}
    for ability in abilities:
        probabilities = [item_probabilities([i.facility for i in form], ability) for form in forms]
        passed = 0
        for trial in range(trials):
            index = trial % len(forms)
            scored = [(item.criteria, 1.0 if rng.random() < p else 0.0)
                      for item, p in zip(forms[index], probabilities[index], strict=True)]
            if decides_pass(score_items(scored, criteria, pass_mark), rule, pass_mark):
                passed += 1
        result[ability] = passed / trials
    return result
