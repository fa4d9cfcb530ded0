"""What every evidence check needs: the candidate's statements, their diffs, evidence rows.

The candidate's work is what the action log attributes to someone other than ``system``:
seeding, and anything a host does without a signed-in person, is logged as ``system`` (or not
at all), so a scenario's starting records never count as the candidate's work.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..actionlog import split_result
from ..host import session
from ..labels import OBJECT_LABELS, VERB_LABELS
from ..models import ActionStatement, Workspace, WorkspaceScoped
from ..params import parse_id
from ..scoping import scoped
from ..services.sales_util import local_today
from ..textcase import name_key as folded  # noqa: F401  (re-exported: names compared as a person would)
from .base import CheckResult, EvidenceRow, Verdict

SYSTEM_ACTOR = "system"
# Evidence rows of one kind shown per check: enough to find the work, not a dump of the log.
MAX_ROWS = 10
_Row = TypeVar("_Row", bound=WorkspaceScoped)
EMPTY_VALUES: tuple[object, ...] = (None, "", [], {})

# Where each kind of record is shown: (endpoint, URL argument naming the record).
RECORD_ENDPOINTS: dict[str, tuple[str, str]] = {
    "company": ("sandbox.company", "company_id"),
    "contact": ("sandbox.contact", "contact_id"),
    "segment": ("sandbox.segment", "segment_id"),
    "pipeline": ("sandbox.pipeline", "pipeline_id"),
    "opportunity": ("sandbox.opportunity", "opportunity_id"),
    "task": ("sandbox.task_edit", "task_id"),
    "offer_template": ("sandbox.offer_template_edit", "template_id"),
    "offer": ("sandbox.offer", "offer_id"),
    "outbox_message": ("sandbox.outbox_message", "message_id"),
    "saved_report": ("sandbox.saved_report", "report_id"),
    "import_source": ("sandbox.import_preview", "source_id"),
}


def candidate_statements(
    workspace: Workspace,
    verbs: Iterable[str] | None = None,
    object_types: Iterable[str] | None = None,
) -> list[ActionStatement]:
    """The candidate's statements (actor other than ``system``), oldest first, by verb and object type."""
    stmt = select(ActionStatement).where(ActionStatement.workspace_id == workspace.id,
                                         ActionStatement.actor_ref != SYSTEM_ACTOR)
    if verbs is not None:
        stmt = stmt.where(ActionStatement.verb.in_(list(verbs)))
    if object_types is not None:
        stmt = stmt.where(ActionStatement.object_type.in_(list(object_types)))
    return list(session().scalars(stmt.order_by(ActionStatement.timestamp, ActionStatement.id)))


def changes_of(statement: ActionStatement) -> dict[str, Any]:
    """The ``{field: [before, after]}`` diff of a statement (``{}`` when it has none), read as the
    committee's replay reads it (:func:`actionlog.split_result`)."""
    return split_result(statement.result)[0]


def details_of(statement: ActionStatement) -> dict[str, Any]:
    """Everything a statement logged beside its diff (a filter's parameters, an import's summary,
    the tasks a move created), read as the committee's replay reads it."""
    return split_result(statement.result)[1]


def pair(changes: dict[str, Any], name: str) -> tuple[Any, Any] | None:
    """``(before, after)`` of ``name`` in a diff, or ``None`` if it did not change."""
    value = changes.get(name)
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return value[0], value[1]
    return None


def object_id_of(statement: ActionStatement) -> int | None:
    """The statement's object id as an integer (``None`` when it has none or it is not an id)."""
    return parse_id(statement.object_id)


def ids_of(statements: Iterable[ActionStatement]) -> list[int]:
    """The distinct object ids of ``statements``, in order of first appearance."""
    seen: dict[int, None] = {}
    for statement in statements:
        object_id = object_id_of(statement)
        if object_id is not None:
            seen.setdefault(object_id, None)
    return list(seen)


def existing(workspace: Workspace, model: type[_Row], ids: Iterable[int]) -> list[_Row]:
    """The rows of ``model`` in ``workspace`` among ``ids`` (one query), ordered by id."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return list(session().scalars(scoped(model, workspace).where(model.id.in_(wanted)).order_by(model.id)))


def statement_day(statement: ActionStatement) -> date:
    """The local calendar day a statement was made (rules about "today" are judged as of then)."""
    return local_today(statement.timestamp)


def record_row(workspace: Workspace, label: str, object_type: str, object_id: int,
               endpoint: str | None = None, **args: Any) -> EvidenceRow:
    """An evidence row pointing at a record and the sandbox page that shows it."""
    if endpoint is None and object_type in RECORD_ENDPOINTS:
        endpoint, arg = RECORD_ENDPOINTS[object_type]
        args = {arg: object_id} | args
    return EvidenceRow(label=label, object_type=object_type, object_id=object_id, endpoint=endpoint,
                       endpoint_args={"ws_id": workspace.id, **args} if endpoint else {})


def page_row(workspace: Workspace, label: str, endpoint: str, **args: Any) -> EvidenceRow:
    """An evidence row pointing at a sandbox page that is not one record's (the board, a summary)."""
    return EvidenceRow(label=label, endpoint=endpoint, endpoint_args={"ws_id": workspace.id, **args})


def statement_row(workspace: Workspace, statement: ActionStatement, label: Any = None,
                  page: tuple[str, dict[str, Any]] | None = None) -> EvidenceRow:
    """An evidence row pointing at a log statement and at its object's page: ``page`` (endpoint,
    arguments) when given, else the page of its object type, else the filtered action log."""
    object_id = object_id_of(statement)
    text = label or _l("%(action)s — %(object)s: %(name)s", action=VERB_LABELS.get(statement.verb, statement.verb),
                       object=OBJECT_LABELS.get(statement.object_type, statement.object_type),
                       name=statement.object_name or "—")
    args: dict[str, Any]
    if page is not None:
        endpoint, args = page[0], {"ws_id": workspace.id, **page[1]}
    elif object_id is not None and statement.object_type in RECORD_ENDPOINTS:
        endpoint, arg = RECORD_ENDPOINTS[statement.object_type]
        args = {"ws_id": workspace.id, arg: object_id}
    else:
        endpoint = "sandbox.action_log"
        args = {"ws_id": workspace.id, "verb": statement.verb, "object_type": statement.object_type}
    return EvidenceRow(label=text, object_type=statement.object_type, object_id=object_id,
                       statement_id=statement.id, endpoint=endpoint, endpoint_args=args)


def statement_rows(workspace: Workspace, statements: Sequence[ActionStatement],
                   pages: dict[tuple[str, int], tuple[str, dict[str, Any]]] | None = None) -> list[EvidenceRow]:
    """Evidence rows of the first :data:`MAX_ROWS` statements (``pages``: the page showing an
    object, by (object type, id), for objects without a page of their own)."""
    pages = pages or {}
    return [statement_row(workspace, statement,
                          page=pages.get((statement.object_type, object_id_of(statement) or 0)))
            for statement in statements[:MAX_ROWS]]


def result(criterion: str, verdict: Verdict, summary: str, *groups: Iterable[EvidenceRow]) -> CheckResult:
    """A check result with the evidence rows of ``groups`` (each cut to :data:`MAX_ROWS`)."""
    rows: list[EvidenceRow] = []
    for group in groups:
        rows.extend(list(group)[:MAX_ROWS])
    return CheckResult(criterion=criterion, verdict=verdict, summary=summary, evidence=tuple(rows))
