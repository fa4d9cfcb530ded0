"""Whether the CRM may coach: tell the user how good their work is against what is assessed.

A practice workspace coaches: the live SMART checklist of a sales goal, the RODO and
data-completeness flags of customer records, the advice on which chart suits which data, the
prompts to the next step of a funnel. An exam workspace does not: each of those hints tells the
candidate what a criterion checks (2.1.a SMART goal, 1.2.c customer data, 2.5.e form of
presentation...), so the work would show the CRM's judgement instead of the candidate's.

Every page and view that shows such a hint asks :func:`coaching_allowed` (templates call it as a
global), so the rule lives in one place. Plain CRM behaviour is not coaching and shows in both
modes: input validation (a NIP checksum, a date), duplicate warnings, the importer's flags on
suspect rows, what a field or a chart is.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models import Workspace

#: Neutral labels of the goal fields of a pipeline or stage, used where coaching is not allowed:
#: the fields stay, without naming the SMART element each one stands for.
PLAIN_GOAL_LABELS = {
    "goal_specific": _l("Goal"),
    "goal_metric": _l("Measure"),
    "goal_target": _l("Target value"),
    "goal_deadline": _l("Deadline"),
    "goal_achievable": _l("Resources and assumptions"),
    "goal_relevance": _l("Business context"),
}


def coaching_allowed(workspace: Workspace | None) -> bool:
    """Whether pages of ``workspace`` may show hints that judge the work: only in practice.

    Anything but a practice workspace (an exam, or no workspace at all) gets no coaching, so a
    new purpose is safe until someone decides otherwise.
    """
    return workspace is not None and workspace.purpose == "practice"
