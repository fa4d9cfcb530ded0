"""examportal as the host of the bundled sandbox CRM: session, actor, access rules and the exam chrome.

The sandbox knows nothing of exams. Here examportal decides who may see or change a workspace
(nobody changes an exam workspace while the operator has the exam paused), ends an exam attempt
whose time is up before the sandbox handles the request, and puts the
task sheet and the countdown beside every sandbox page (``templates/sandbox_layout.html``).
"""
from __future__ import annotations

from flask import Flask, abort, g, has_request_context, request
from flask_login import current_user

import sandbox_crm
from sandbox_crm import Actor, SandboxHost
from sandbox_crm.blueprint import READ_METHODS

from .access import may_read_exam_workspace
from .extensions import db
from .models import Role
from .practical import services as practical
from .practical.services import owner_ref


def _actor():
    """The signed-in user; ``None`` outside a request (a command such as ``flask practical expire``),
    where the sandbox logs the action as the system."""
    if has_request_context() and current_user.is_authenticated:
        return Actor(ref=owner_ref(current_user), name=current_user.full_name)
    return None


def _can_access(workspace, write: bool) -> bool:
    """The owner may use their workspace (the sandbox refuses writes once it is frozen), but not
    change an exam workspace while the operator has the exam paused. Others may only look: an
    administrator at any; for an exam workspace, a committee member of the candidate's session who
    may assess them, and staff of the session's institution."""
    if not current_user.is_authenticated:
        return False
    if workspace.owner_ref == owner_ref(current_user):
        return not write or workspace.purpose != "exam" or practical.workspace_write_refusal(workspace.id) is None
    if write:
        return False
    if current_user.has_role(Role.ADMIN):
        return True
    if workspace.purpose == "exam":
        return may_read_exam_workspace(current_user, workspace.id)
    return False


def _expire_overdue_attempt(endpoint, values) -> None:
    """Runs before the sandbox loads the workspace: an exam whose time is up ends (and its workspace
    freezes) here, so the request that meets the deadline already sees it read-only."""
    if not endpoint or not endpoint.startswith("sandbox.") or not values or "ws_id" not in values:
        return
    practical.expire_workspace_if_overdue(values["ws_id"])


def _refuse_changes_while_paused(endpoint, values) -> None:
    """A change sent to an exam workspace while the operator has the exam paused: refused here with
    the reason (``_can_access`` refuses it too, but the sandbox could only say "no permission").
    Only to the workspace's candidate: anyone else learns nothing about it here."""
    if (not endpoint or not endpoint.startswith("sandbox.") or not values or "ws_id" not in values
            or request.method in READ_METHODS or not current_user.is_authenticated):
        return
    attempt = practical.attempt_for_workspace(values["ws_id"])
    if attempt is not None and attempt.candidate_id == current_user.id and practical.is_paused(attempt):
        abort(409, description=practical.paused_message())


def _practical_sheet() -> dict:
    """The task sheet (and an exam's clock) for the sandbox layout, when the page shows a workspace."""
    workspace = g.get("workspace")
    if workspace is None or request.blueprint != "sandbox":
        return {"practical_sheet": None}
    user = current_user._get_current_object() if current_user.is_authenticated else None
    return {"practical_sheet": practical.sheet_for_workspace(workspace, user)}


def init_app(app: Flask) -> None:
    sandbox_crm.init_app(
        app,
        SandboxHost(session=db.session, actor=_actor, can_access=_can_access,
                    layout_template="sandbox_layout.html"),
    )
    # App-wide URL preprocessors run before the sandbox blueprint's own (which checks write access).
    app.url_value_preprocessor(_expire_overdue_attempt)
    app.url_value_preprocessor(_refuse_changes_while_paused)
    app.context_processor(_practical_sheet)
