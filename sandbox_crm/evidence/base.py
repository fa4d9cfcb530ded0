"""The shape of an evidence check and its registry (see the package's docstring)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..models import Workspace
from .key import EMPTY_KEY, ScenarioKey


class Verdict(str, Enum):
    MET = "met"
    NOT_MET = "not_met"
    CANT_TELL = "cant_tell"


@dataclass(frozen=True)
class EvidenceRow:
    """One piece of evidence: a record (object type + id) or a log statement, with a label."""

    label: Any  # a lazy message, like a result's summary, or a record's own name
    object_type: str | None = None
    object_id: int | None = None
    statement_id: int | None = None
    endpoint: str | None = None  # sandbox endpoint showing the record, e.g. "sandbox.company_detail"
    endpoint_args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckResult:
    criterion: str
    verdict: Verdict
    # A lazy message (``lazy_gettext("… %(n)s …", n=…)``): rendered with str() in the reader's language.
    summary: Any
    evidence: tuple[EvidenceRow, ...] = ()


CheckFunction = Callable[[Workspace, ScenarioKey], CheckResult]
CHECKS: dict[str, CheckFunction] = {}


def check(criterion: str) -> Callable[[CheckFunction], CheckFunction]:
    """Register ``func`` as the evidence check of ``criterion``."""

    def decorate(func: CheckFunction) -> CheckFunction:
        if criterion in CHECKS:
            raise ValueError(f"a second evidence check for {criterion}")
        CHECKS[criterion] = func
        return func

    return decorate


def run_checks(workspace: Workspace, criteria: list[str] | None = None,
               key: ScenarioKey = EMPTY_KEY) -> dict[str, CheckResult]:
    """Run the checks of ``criteria`` (all registered ones by default), in criterion order,
    judging against the scenario's ``key`` where it names targets."""
    codes = sorted(criteria if criteria is not None else CHECKS)
    return {code: CHECKS[code](workspace, key) for code in codes if code in CHECKS}
