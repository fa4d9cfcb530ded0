"""A scenario's key as the evidence checks read it.

The key is data beside a scenario's task sheet (the host loads it; see
``question_bank/scenarios.py``): for each task, the *targets* the sheet names — records, values,
won/lost, filters, the report asked for — under a *kind* the checks know, plus the alternatives
the sheet allows and notes for assessors (those two are for people, not for the checks).

A check asks the key for the targets of a kind (``key.targets("won")``) and judges the
candidate's work against them; with no target of that kind (a practice workspace, a scenario
whose sheet names none) it judges by the criterion's own meaning. Every kind a check reads is
registered here with :func:`target_kind`, so the host can refuse a key naming a kind no check
reads (a typo would otherwise silently make a check fall back to the general rule).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# kind -> (what it holds, for the key's author; validator returning a problem or None)
TargetValidator = Callable[[Any], str | None]
TARGET_KINDS: dict[str, tuple[str, TargetValidator]] = {}


def _any(_value: Any) -> str | None:
    return None


def target_kind(kind: str, description: str, validator: TargetValidator = _any) -> str:
    """Register a kind of target the checks read; returns ``kind`` (for a module constant)."""
    if kind in TARGET_KINDS:
        raise ValueError(f"target kind {kind!r} registered twice")
    TARGET_KINDS[kind] = (description, validator)
    return kind


def key_problems(targets: Mapping[str, Any]) -> list[str]:
    """What is wrong with one task's ``targets`` (unknown kinds, values a kind refuses)."""
    problems = []
    for kind, value in targets.items():
        if kind not in TARGET_KINDS:
            problems.append(f"unknown target kind {kind!r} (the checks read: {', '.join(sorted(TARGET_KINDS))})")
            continue
        problem = TARGET_KINDS[kind][1](value)
        if problem:
            problems.append(f"{kind}: {problem}")
    return problems


@dataclass(frozen=True)
class KeyTarget:
    """One target of a task: its kind, the task naming it and the value (as the key states it)."""

    kind: str
    task: int
    value: Any


@dataclass(frozen=True)
class ScenarioKey:
    """The targets of a scenario's key, by kind (empty: judge by the criterion's meaning only)."""

    items: tuple[KeyTarget, ...] = ()
    sale_kind: str | None = None  # the scenario's kind of sale, e.g. "b2b_goods" (for 2.1.b)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None) -> ScenarioKey:
        """Build from the host's plain data: ``{"sale_kind": ..., "tasks": [{"task": n, "targets": {...}}]}``."""
        if not data:
            return cls()
        items = tuple(KeyTarget(kind=kind, task=int(entry["task"]), value=value)
                      for entry in data.get("tasks", ()) for kind, value in (entry.get("targets") or {}).items())
        return cls(items=items, sale_kind=data.get("sale_kind"))

    def targets(self, kind: str) -> list[KeyTarget]:
        """The targets of ``kind``, in task order."""
        return sorted((item for item in self.items if item.kind == kind), key=lambda item: item.task)

    def values(self, kind: str) -> list[Any]:
        """The values of the targets of ``kind``, in task order."""
        return [item.value for item in self.targets(kind)]

    def __bool__(self) -> bool:
        return bool(self.items) or self.sale_kind is not None


EMPTY_KEY = ScenarioKey()
