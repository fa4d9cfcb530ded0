"""The action log: every mutating, filtering and exporting action as an xAPI-shaped statement."""
from __future__ import annotations

from collections.abc import Mapping
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
    export, import, complete, won, lost ...; ``result`` has one shape in every area: the diff
    (if any) under ``"diff"`` as ``{"field": [before, after]}``, any other detail (the
    parameters of a filter or export, an import's summary, the stage it happened in) as a key of
    its own. :func:`split_result` reads it back.
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


#: Details that logs written before the diff went under ``"diff"`` (the sales areas wrote the
#: diff as the whole result) kept beside the diff's fields: lists of names, never a change,
#: even when they hold two names.
_LEGACY_LISTS = frozenset({"tasks_created", "order"})
#: Details those logs kept as a plain value beside the diff (a closed opportunity's value and
#: stage); the same keys holding a ``[before, after]`` pair were fields of the diff.
_LEGACY_VALUES = frozenset({"value", "stage"})


def _is_pair(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) == 2


def split_result(result: Mapping[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A statement's ``result`` as ``(changes, details)``: the diff's ``{field: [before, after]}``
    and every other key with its value.

    The one reader of the log's result (the committee's replay, the evidence checks and the
    workspace's own timeline all read it here), so that they cannot disagree. New statements keep
    the diff under ``"diff"``; the sales areas' first logs wrote it as the whole result, with a
    few details beside its fields. Those logs are evidence of stored exam workspaces and are never
    rewritten, so they are still read: a result without ``"diff"`` whose values are all pairs,
    apart from the details those logs kept, is such a log.
    """
    if not result:
        return {}, {}
    inner = result.get("diff")
    if isinstance(inner, dict):
        return ({name: pair for name, pair in inner.items() if _is_pair(pair)},
                {key: value for key, value in result.items() if key != "diff"})
    changes = {k: v for k, v in result.items() if k not in _LEGACY_LISTS and _is_pair(v)}
    details = {k: v for k, v in result.items() if k not in changes}
    if "diff" in result or not changes or not set(details) <= _LEGACY_LISTS | _LEGACY_VALUES:
        return {}, dict(result)
    return changes, details


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
