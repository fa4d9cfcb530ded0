"""Evidence checks: one registered function per simulation criterion.

Each check reads a workspace's final state and its action log and returns met / not met /
can't tell with the evidence it relied on (links to records and log statements). Checks
advise the committee; the committee decides.

Adding a check is writing a function and decorating it with ``@check("2.4.f")`` in one of the
modules imported below.
"""
from __future__ import annotations

# The checks register themselves on import; importing this package registers them all.
from . import customers, funnels, monitoring, offers, opportunities, reports  # noqa: F401
from .base import CHECKS, CheckFunction, CheckResult, EvidenceRow, Verdict, check, run_checks

__all__ = ["CHECKS", "CheckFunction", "CheckResult", "EvidenceRow", "Verdict", "check", "run_checks"]
