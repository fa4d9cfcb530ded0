"""The SMART check of a sales goal: which of Specific, Measurable, Achievable, Relevant and
Time-bound a goal is missing, told in words the candidate can act on.

Pure: no database, no request. Messages are lazy translations, rendered where shown.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

ELEMENTS = ("specific", "measurable", "achievable", "relevant", "time_bound")
ELEMENT_LABELS = {
    "specific": _l("Specific"),
    "measurable": _l("Measurable"),
    "achievable": _l("Achievable"),
    "relevant": _l("Relevant"),
    "time_bound": _l("Time-bound"),
}
# A specific goal names what is to be achieved in at least a few words.
MIN_SPECIFIC_WORDS = 4
MIN_JUSTIFICATION_WORDS = 3
_WORD = re.compile(r"\w+", re.UNICODE)
# Filler is not a goal: "a b c d" or "test test test test" has words but says nothing. Only real
# words count towards the minimums: three letters or more, at least one vowel (Polish "y", "ą",
# "ę", "ó" included), not one letter repeated, each distinct word once. Numbers and acronyms
# ("PLN", "B2B") are welcome in a goal but do not count as words.
_LETTERS = re.compile(r"[^\W\d_]+", re.UNICODE)
MIN_REAL_WORD_LETTERS = 3
_VOWELS = frozenset("aeiouyąęó")


@dataclass(frozen=True)
class SmartIssue:
    """One SMART element the goal does not meet, with the form field to fix."""

    element: str
    field: str
    message: Any  # a lazy translated string


@dataclass
class SmartReport:
    """The outcome of a SMART check: the elements met and the issues found."""

    issues: list[SmartIssue] = field(default_factory=list)
    empty: bool = False  # no goal field filled in at all

    @property
    def ok(self) -> bool:
        return not self.issues and not self.empty

    @property
    def missing(self) -> list[str]:
        """The SMART elements not met, in S-M-A-R-T order, each once."""
        found = {issue.element for issue in self.issues}
        return [element for element in ELEMENTS if element in found or self.empty]

    def status(self, element: str) -> bool:
        """Whether ``element`` is met."""
        return element not in self.missing

    def by_field(self) -> dict[str, list[Any]]:
        """The issue messages grouped by the form field they concern."""
        grouped: dict[str, list[Any]] = {}
        for issue in self.issues:
            grouped.setdefault(issue.field, []).append(issue.message)
        return grouped


def _words(text: str | None) -> int:
    return len(_WORD.findall(text or ""))


def real_words(text: str | None) -> list[str]:
    """The distinct real words of ``text``, case-folded, in order of appearance (see ``_LETTERS``)."""
    seen: dict[str, None] = {}
    for word in _LETTERS.findall((text or "").casefold()):
        if len(word) >= MIN_REAL_WORD_LETTERS and len(set(word)) > 1 and _VOWELS & set(word):
            seen.setdefault(word, None)
    return list(seen)


def _too_few_words(text: str | None, minimum: int) -> bool:
    return len(real_words(text)) < minimum


def check_goal(
    *,
    specific: str | None,
    metric: str | None,
    target: Decimal | int | float | None,
    deadline: date | None,
    achievable: str | None = None,
    relevance: str | None = None,
    today: date,
) -> SmartReport:
    """Check a goal against the SMART rule.

    ``today`` is passed in (not read from the clock) so the check is repeatable.
    """
    values = (specific, metric, target, deadline, achievable, relevance)
    if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
        return SmartReport(empty=True)

    issues: list[SmartIssue] = []
    if _words(specific) == 0:
        issues.append(SmartIssue("specific", "goal_specific", _l("Describe what exactly is to be achieved.")))
    elif _words(specific) < MIN_SPECIFIC_WORDS:
        issues.append(SmartIssue(
            "specific", "goal_specific",
            _l("Too general: say what, for whom and how, in at least %(n)d words.", n=MIN_SPECIFIC_WORDS),
        ))
    elif _too_few_words(specific, MIN_SPECIFIC_WORDS):
        issues.append(SmartIssue(
            "specific", "goal_specific",
            _l("Write the goal in real words, not single letters or repeats: at least %(n)d different ones.",
               n=MIN_SPECIFIC_WORDS),
        ))

    if not metric:
        issues.append(SmartIssue("measurable", "goal_metric", _l("Choose the measure the goal is counted in.")))
    if target is None:
        issues.append(SmartIssue("measurable", "goal_target", _l("Give a number to reach, e.g. 150000 or 12.")))
    elif Decimal(str(target)) <= 0:
        issues.append(SmartIssue("measurable", "goal_target", _l("The target must be a number greater than zero.")))
    elif metric == "conversion_rate" and Decimal(str(target)) > 100:
        issues.append(SmartIssue("measurable", "goal_target", _l("A conversion rate is a percentage: at most 100.")))

    if _too_few_words(achievable, MIN_JUSTIFICATION_WORDS):
        issues.append(SmartIssue(
            "achievable", "goal_achievable",
            _l("Explain why the target is realistic (resources, past results)."),
        ))
    if _too_few_words(relevance, MIN_JUSTIFICATION_WORDS):
        issues.append(SmartIssue(
            "relevant", "goal_relevance", _l("Explain why the goal matters for the company's sales."),
        ))

    if deadline is None:
        issues.append(SmartIssue("time_bound", "goal_deadline", _l("Set a deadline date.")))
    elif deadline < today:
        issues.append(SmartIssue("time_bound", "goal_deadline", _l("The deadline is in the past: choose a later date.")))

    return SmartReport(issues=issues)


def check_goal_of(obj: Any, today: date) -> SmartReport:
    """Check the goal columns (``goal_*``) of a pipeline or a stage."""
    return check_goal(
        specific=obj.goal_specific,
        metric=obj.goal_metric,
        target=obj.goal_target,
        deadline=obj.goal_deadline,
        achievable=obj.goal_achievable,
        relevance=obj.goal_relevance,
        today=today,
    )
