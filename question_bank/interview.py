"""Structured interview question sets: loading and validation against the qualification."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .yamlio import load_strict

INTERVIEW_DIR = Path(__file__).resolve().parent / "interview"


class InterviewSetError(ValueError):
    """The question-set file is malformed; the message names the place."""


@dataclass(frozen=True)
class Question:
    text: Mapping[str, str]
    probes: tuple[Mapping[str, str], ...]


@dataclass(frozen=True)
class Variant:
    """One of the alternative question sets for a criterion (rotated among a session's candidates)."""

    id: str
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Rubric:
    """How the committee judges the answers, whichever variant was asked.

    ``look_for`` are the points a complete answer covers; the criterion is met when the answers
    cover at least ``met_when`` of them; ``not_met`` are anchors: answers that show it is not met.
    """

    look_for: tuple[Mapping[str, str], ...]
    met_when: int
    not_met: tuple[Mapping[str, str], ...]


@dataclass(frozen=True)
class QuestionSet:
    criterion: str
    follow_up: bool
    rubric: Rubric
    variants: tuple[Variant, ...]

    def variant_for(self, position: int) -> Variant:
        """The variant for the candidate at ``position`` in the session's rotation."""
        return self.variants[position % len(self.variants)]


#: Alternative question sets needed per interview criterion (a follow-up needs one).
MIN_VARIANTS = 3


def _text(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, dict) or not str(value.get("pl") or "").strip():
        raise InterviewSetError(f"{where}: needs a Polish text (pl)")
    return {"pl": value["pl"].strip(), "en": str(value.get("en") or "").strip()}


def _texts(values: Any, where: str) -> tuple[Mapping[str, str], ...]:
    if not isinstance(values, list):
        raise InterviewSetError(f"{where}: expected a list")
    return tuple(_text(v, f"{where}[{k}]") for k, v in enumerate(values))


def _rubric(raw: Any, where: str) -> Rubric:
    if not isinstance(raw, dict):
        raise InterviewSetError(f"{where}: expected a rubric with look_for, met_when and not_met")
    look_for = _texts(raw.get("look_for"), f"{where}.look_for")
    not_met = _texts(raw.get("not_met"), f"{where}.not_met")
    met_when = raw.get("met_when")
    if isinstance(met_when, bool) or not isinstance(met_when, int) or not 1 <= met_when <= len(look_for):
        raise InterviewSetError(f"{where}.met_when: a number of look-for points from 1 to {len(look_for)}")
    if not look_for or not not_met:
        raise InterviewSetError(f"{where}: needs look-for points and at least one not-met anchor")
    return Rubric(look_for, met_when, not_met)


def _variant(raw: Any, where: str) -> Variant:
    if not isinstance(raw, dict) or not str(raw.get("id") or "").strip():
        raise InterviewSetError(f"{where}: a variant needs an id and questions")
    questions = []
    for j, q in enumerate(raw.get("questions") or []):
        qwhere = f"{where}.questions[{j}]"
        questions.append(Question(text=_text(q.get("text"), f"{qwhere}.text"),
                                  probes=_texts(q.get("probes") or [], f"{qwhere}.probes")))
    if not questions:
        raise InterviewSetError(f"{where}.questions: at least one question is needed")
    return Variant(str(raw["id"]).strip(), tuple(questions))


def load_sets(code: str, criteria_methods: Mapping[str, tuple[str, bool]]) -> dict[str, QuestionSet]:
    """The question sets of qualification ``code`` by criterion.

    ``criteria_methods`` maps a criterion code to (method, interview_follow_up): a set may
    only verify an interview criterion or a test criterion marked for a follow-up. Every
    interview criterion has a rubric and at least :data:`MIN_VARIANTS` alternative variants.
    """
    path = INTERVIEW_DIR / f"{code}.yaml"
    data = load_strict(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("qualification") != code or not isinstance(data.get("sets"), list):
        raise InterviewSetError(f"{path.name}: expected 'qualification: \"{code}\"' and a list 'sets'")
    result: dict[str, QuestionSet] = {}
    for i, raw in enumerate(data["sets"]):
        where = f"{path.name}: sets[{i}]"
        criterion = str(raw.get("criterion", ""))
        if criterion not in criteria_methods:
            raise InterviewSetError(f"{where}.criterion: unknown criterion {criterion!r}")
        method, follow_up = criteria_methods[criterion]
        if method != "interview" and not follow_up:
            raise InterviewSetError(f"{where}.criterion: {criterion} is verified by {method}, not in the interview")
        if criterion in result:
            raise InterviewSetError(f"{where}.criterion: a second set for {criterion}")
        variants = tuple(_variant(v, f"{where}.variants[{k}]") for k, v in enumerate(raw.get("variants") or []))
        needed = MIN_VARIANTS if method == "interview" else 1
        if len(variants) < needed:
            raise InterviewSetError(f"{where}.variants: {criterion} needs at least {needed} alternative question sets")
        if len({v.id for v in variants}) != len(variants):
            raise InterviewSetError(f"{where}.variants: the variant ids repeat")
        result[criterion] = QuestionSet(criterion, bool(raw.get("follow_up")), _rubric(raw.get("rubric"), f"{where}.rubric"),
                                        variants)
    missing = [c for c, (method, _f) in criteria_methods.items() if method == "interview" and c not in result]
    if missing:
        raise InterviewSetError(f"{path.name}: no question set for interview criteria {', '.join(missing)}")
    return result
