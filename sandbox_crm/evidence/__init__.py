"""Evidence checks: one registered function per simulation criterion.

Each check reads a workspace's final state and its action log and returns met / not met /
can't tell with the evidence it relied on (links to records and log statements). Checks
advise the committee; the committee decides.

Adding a check is writing a function ``(workspace, key) -> CheckResult`` and decorating it with
``@check("2.4.f")`` in one of the modules imported below. ``key`` is the scenario's key
(:mod:`.key`): where the sheet names a target, the check judges against it; where it does not,
by the criterion's own meaning. Summaries and evidence labels are lazy messages with
parameters, so the committee reads them in its own language.
"""
from __future__ import annotations

# The checks register themselves on import; importing this package registers them all.
from . import customers, funnels, monitoring, offers, opportunities, reports  # noqa: F401
from .base import CHECKS, CheckFunction, CheckResult, EvidenceRow, Verdict, check, run_checks
from .key import EMPTY_KEY, TARGET_KINDS, KeyTarget, ScenarioKey, key_problems, target_kind

__all__ = ["CHECKS", "EMPTY_KEY", "TARGET_KINDS", "CheckFunction", "CheckResult", "EvidenceRow", "KeyTarget",
           "ScenarioKey", "Verdict", "check", "key_problems", "run_checks", "target_kind"]
