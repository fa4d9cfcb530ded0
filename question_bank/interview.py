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
    look_for: tuple[Mapping[str, str], ...]


@dataclass(frozen=True)
class QuestionSet:
    criterion: str
    follow_up: bool
    questions: tuple[Question, ...]


def _text(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, dict) or not str(value.get("pl") or "").strip():
        raise InterviewSetError(f"{where}: needs a Polish text (pl)")
    return {"pl": value["pl"].strip(), "en": str(value.get("en") or "").strip()}


def load_sets(code: str, criteria_methods: Mapping[str, tuple[str, bool]]) -> dict[str, QuestionSet]:
    """The question sets of qualification ``code`` by criterion.

    ``criteria_methods`` maps a criterion code to (method, interview_follow_up): a set may
    only verify an interview criterion or a test criterion marked for a follow-up.
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
        questions = []
        for j, q in enumerate(raw.get("questions") or []):
            qwhere = f"{where}.questions[{j}]"
            questions.append(Question(
                text=_text(q.get("text"), f"{qwhere}.text"),
                probes=tuple(_text(p, f"{qwhere}.probes[{k}]") for k, p in enumerate(q.get("probes") or [])),
                look_for=tuple(_text(p, f"{qwhere}.look_for[{k}]") for k, p in enumerate(q.get("look_for") or [])),
            ))
        if not questions:
            raise InterviewSetError(f"{where}.questions: at least one question is needed")
        result[criterion] = QuestionSet(criterion, bool(raw.get("follow_up")), tuple(questions))
    missing = [c for c, (method, _f) in criteria_methods.items() if method == "interview" and c not in result]
    if missing:
        raise InterviewSetError(f"{path.name}: no question set for interview criteria {', '.join(missing)}")
    return result
