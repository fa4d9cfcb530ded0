"""Scoring a theory attempt and the decision rule (pure functions, no database).

``points_for`` scores one answer to the item as drawn (``item_of``); ``score_items`` turns the
points of the drawn items into the overall and per-criterion results; ``decides_pass`` applies the
qualification's decision rule (``theory.decision_rule``) to them.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from question_bank import items as bank

from ..models import AttemptItem


def item_of(attempt_item: AttemptItem) -> bank.Item:
    """The item exactly as it was when drawn (from the snapshot, not from today's bank)."""
    return bank.item_from_dict(attempt_item.snapshot["item"])


def points_for(item: bank.Item, response: Any, partial: bool = False) -> float:
    """Points for one answer: 0 for no answer or an unreadable one, else the type's score
    (per pair for matching and ordering items when ``partial``)."""
    if response in (None, [], {}, ""):
        return 0.0
    try:
        return bank.score(item, response, partial)
    except bank.ResponseError:
        return 0.0


def score_items(scored: Iterable[tuple[Sequence[str], float]], criteria: Sequence[str], pass_mark: float) -> dict[str, Any]:
    """Overall and per-criterion results from (criteria of the item, points) pairs.

    An item tagged with several criteria counts towards each. The theory part is passed when the
    overall percentage reaches ``pass_mark``; a criterion is met when its own percentage does.
    """
    per: dict[str, list[float]] = defaultdict(list)
    total, count = 0.0, 0
    for item_criteria, points in scored:
        total += points
        count += 1
        for code in item_criteria:
            per[code].append(points)
    percent = round(100.0 * total / count, 2) if count else 0.0
    by_criterion = {}
    for code in sorted(set(criteria) | set(per)):
        values = per.get(code, [])
        crit_percent = round(100.0 * sum(values) / len(values), 2) if values else 0.0
        by_criterion[code] = {"points": sum(values), "max": len(values), "percent": crit_percent,
                              "passed": bool(values) and crit_percent >= pass_mark}
    return {"points": total, "max": count, "percent": percent, "passed": count > 0 and percent >= pass_mark,
            "criteria": by_criterion}


def _compensatory(scores: Mapping[str, Any], pass_mark: float) -> bool:
    return bool(scores["max"]) and float(scores["percent"]) >= pass_mark


def _per_criterion(scores: Mapping[str, Any], pass_mark: float) -> bool:
    criteria = scores["criteria"]
    return bool(criteria) and all(bool(c["passed"]) for c in criteria.values())


#: Decision rules by the name the qualification's settings use (``theory.decision_rule``).
RULES: dict[str, Callable[[Mapping[str, Any], float], bool]] = {
    "compensatory": _compensatory,
    "per_criterion": _per_criterion,
}


def criteria_confirmed_together(rule: str) -> bool:
    """Under a compensatory rule the test criteria are confirmed together by passing the test."""
    return rule == "compensatory"


def decides_pass(scores: Mapping[str, Any], rule: str, pass_mark: float) -> bool:
    """Whether a scored attempt (``score_items``' result) passes under ``rule``."""
    return RULES[rule](scores, pass_mark)
