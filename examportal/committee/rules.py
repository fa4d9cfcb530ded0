"""The committee's rules as pure functions: outcome confirmation, consensus, justification.

A learning outcome is confirmed when all its criteria are met; an outcome set when all its
outcomes are; the qualification when both sets are (the seed's rule, DESIGN.md "Domain spine").
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class OutcomeResult:
    code: str
    criteria: dict[str, bool | None]  # None: no result recorded yet

    @property
    def confirmed(self) -> bool | None:
        """True when every criterion is met, False when any is not met, None while incomplete."""
        values = list(self.criteria.values())
        if any(v is False for v in values):
            return False
        if any(v is None for v in values):
            return None
        return True


@dataclass(frozen=True)
class SetResult:
    number: int
    outcomes: list[OutcomeResult]

    @property
    def confirmed(self) -> bool | None:
        values = [o.confirmed for o in self.outcomes]
        if any(v is False for v in values):
            return False
        if any(v is None for v in values):
            return None
        return True


@dataclass(frozen=True)
class Summary:
    sets: list[SetResult]
    unmet: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def granted(self) -> bool | None:
        """Whether the qualification can be granted (None while results are missing)."""
        values = [s.confirmed for s in self.sets]
        if any(v is False for v in values):
            return False
        if any(v is None for v in values):
            return None
        return True


def summarise(structure: Sequence[tuple[int, Sequence[tuple[str, Sequence[str]]]]], results: Mapping[str, bool]) -> Summary:
    """Roll criterion results up to outcomes, sets and the overall result.

    ``structure`` is ``[(set number, [(outcome code, [criterion codes])])]``.
    """
    sets, unmet, missing = [], [], []
    for number, outcomes in structure:
        outcome_results = []
        for code, criteria in outcomes:
            values = {c: results.get(c) for c in criteria}
            unmet += [c for c, v in values.items() if v is False]
            missing += [c for c, v in values.items() if v is None]
            outcome_results.append(OutcomeResult(code, values))
        sets.append(SetResult(number, outcome_results))
    return Summary(sets, unmet, missing)


def agreement(verdicts: Mapping[Any, bool | None]) -> bool | None:
    """The verdict all assessors share, or None when they differ or someone gave none."""
    values = set(verdicts.values())
    if len(values) == 1 and None not in values:
        return values.pop()
    return None


CODE = re.compile(r"\b\d\.\d\.[a-z]\b")


def justification_problems(justification: str | None, unmet: Sequence[str]) -> list[str]:
    """What a negative decision's justification lacks: its text, or the unmet criteria it must name.

    Returns the codes of unmet criteria not named (``["__empty__"]`` when there is no text).
    """
    text = (justification or "").strip()
    if len(text) < 20:
        return ["__empty__"]
    named = set(CODE.findall(text))
    return [code for code in unmet if code not in named]
