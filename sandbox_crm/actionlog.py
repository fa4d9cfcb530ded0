"""The action log: every mutating, filtering and exporting action as an xAPI-shaped statement."""
from __future__ import annotations

from typing import Any

from flask import g, has_request_context

from .host import Actor, host, session
from .models import ActionStatement, Workspace

XAPI_VERB_BASE = "https://examportal.local/xapi/verbs/"


def record(
    workspace: Workspace,
    verb: str,
    object_type: str,
    object_id: Any = None,
    object_name: str | None = None,
    result: dict | None = None,
    actor: Actor | None = None,
) -> ActionStatement:
    """Append a statement to ``workspace``'s log (added to the session, not committed).

    ``verb`` is one of create, update, delete, move, send, generate, filter,
    export, import, complete, won, lost ...; ``result`` holds the diff
    (``{"field": [before, after]}``) or the parameters of a filter/export.
    """
    actor = actor or host().actor() or Actor(ref="system", name="system")
    statement = ActionStatement(
        workspace_id=workspace.id,
        actor_ref=actor.ref,
        actor_name=actor.name,
        verb=verb,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        object_name=object_name,
        result=result,
    )
    if log_is_closed_to_request(workspace):
        # A read (filter, export, download) by someone who may only look, or in a frozen
        # workspace, is not the owner's action: it must not become evidence in their log.
        return statement
    session().add(statement)
    return statement


def log_is_closed_to_request(workspace: Workspace) -> bool:
    """Whether the current request may not add to ``workspace``'s log.

    The workspace guard (``blueprint.load_workspace``) decides once per request whether the
    user may write to the workspace it opened; a viewer (an examiner, or anyone once the
    workspace is frozen) leaves no statements. Outside such a request (the host's API, a
    command) the log is open.
    """
    if not has_request_context():
        return False
    current = g.get("workspace")
    if current is None or current.id != workspace.id:
        return False
    return not g.get("workspace_log_open", True)


def diff(before: dict, after: dict) -> dict:
    """The fields whose value changed, as ``{field: [before, after]}``."""
    return {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def as_xapi(statement: ActionStatement) -> dict:
    """One statement in xAPI 1.0.3 JSON shape."""
    return {
        "id": f"urn:examportal:sandbox:statement:{statement.id}",
        "actor": {"objectType": "Agent", "name": statement.actor_name,
                  "account": {"homePage": "urn:examportal", "name": statement.actor_ref}},
        "verb": {"id": XAPI_VERB_BASE + statement.verb, "display": {"en-US": statement.verb}},
        "object": {
            "objectType": "Activity",
            "id": f"urn:examportal:sandbox:workspace:{statement.workspace_id}:{statement.object_type}:{statement.object_id or ''}",
            "definition": {"type": f"urn:examportal:sandbox:type:{statement.object_type}",
                           "name": {"pl-PL": statement.object_name or statement.object_type}},
        },
        "result": {"extensions": {"urn:examportal:sandbox:result": statement.result}} if statement.result else {},
        "context": {"extensions": {"urn:examportal:sandbox:workspace": statement.workspace_id}},
        "timestamp": statement.timestamp.isoformat(),
    }
