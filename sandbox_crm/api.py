"""The narrow API examportal (or any host) uses: create, seed, freeze, read the log, check evidence,
forget a person's name."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update

from .actionlog import as_xapi, record, split_result
from .errors import SeedError
from .evidence import TARGET_KINDS, CheckResult, ScenarioKey, key_problems, monitoring, run_checks
from .evidence.monitoring import StageReading
from .host import session
from .models import ActionStatement, CustomerEvent, OpportunityStageChange, Workspace
from .params import parse_number
from .registry import SEEDERS


def seed_sections() -> frozenset[str]:
    """The seed-data sections the sandbox can load (so a host can check its scenarios)."""
    return frozenset(SEEDERS)


def create_workspace(
    label: str,
    owner_ref: str,
    seed: Mapping[str, list[Any]] | None = None,
    purpose: str = "practice",
    scenario_code: str | None = None,
) -> Workspace:
    """Create an isolated workspace and load ``seed`` (sections → rows) into it.

    The workspace is flushed, not committed: the host commits it together with
    its own records (e.g. the practical attempt that owns it).
    """
    seed = seed or {}
    unknown = sorted(set(seed) - set(SEEDERS))
    if unknown:
        raise SeedError(f"unknown seed section(s): {', '.join(unknown)}")
    workspace = Workspace(label=label, owner_ref=owner_ref, purpose=purpose, scenario_code=scenario_code)
    db = session()
    db.add(workspace)
    db.flush()
    context: dict[str, Any] = {}
    for seeder in sorted(SEEDERS.values(), key=lambda s: s.order):
        if seeder.section in seed:
            seeder.load(workspace, seed[seeder.section], context)
    db.flush()
    return workspace


def freeze_workspace(workspace_id: int) -> Workspace:
    """Make a workspace read-only (idempotent); it stays viewable."""
    workspace = session().get(Workspace, workspace_id)
    if workspace is None:
        raise LookupError(f"no sandbox workspace {workspace_id}")
    if workspace.frozen_at is None:
        workspace.frozen_at = datetime.now(UTC)
        record(workspace, "freeze", "workspace", workspace.id, workspace.label)
    return workspace


def get_workspace(workspace_id: int) -> Workspace | None:
    """The workspace, or ``None``."""
    return session().get(Workspace, workspace_id)


def action_log(workspace_id: int) -> list[ActionStatement]:
    """Every statement of the workspace, oldest first."""
    return list(
        session().scalars(
            select(ActionStatement)
            .where(ActionStatement.workspace_id == workspace_id)
            .order_by(ActionStatement.timestamp, ActionStatement.id)
        )
    )


def replay(workspace_id: int) -> list[ReplayRow]:
    """The workspace's action log as the committee reads it: a timeline of changes and details."""
    return replay_rows(action_log(workspace_id))


@dataclass(frozen=True)
class ReplayRow:
    """One statement of the action log as the committee reads it."""

    statement_id: int
    at: datetime
    actor: str
    verb: str
    object_type: str
    object_id: str | None
    object_name: str | None
    changes: tuple[tuple[str, Any, Any], ...]
    details: tuple[tuple[str, Any], ...]


def replay_rows(statements: Iterable[ActionStatement]) -> list[ReplayRow]:
    """The action log as a timeline: a statement's diff becomes changes, anything else (filter or
    export parameters, import summaries) details; read by :func:`actionlog.split_result`, as the
    evidence checks read it."""
    rows = []
    for statement in statements:
        changes, details = split_result(statement.result)
        rows.append(ReplayRow(
            statement_id=statement.id, at=statement.timestamp, actor=statement.actor_name, verb=statement.verb,
            object_type=statement.object_type, object_id=statement.object_id, object_name=statement.object_name,
            changes=tuple((field, pair[0], pair[1]) for field, pair in sorted(changes.items())),
            details=tuple(sorted(details.items()))))
    return rows


def export_xapi(workspace_id: int) -> list[dict]:
    """The workspace's action log as a list of xAPI statements."""
    return [as_xapi(statement) for statement in action_log(workspace_id)]


def run_evidence_checks(workspace_id: int, key: Mapping[str, Any] | None = None) -> dict[str, CheckResult]:
    """Every simulation criterion's evidence check on the workspace, by criterion code, judged
    against the scenario's ``key`` (``{"sale_kind": ..., "tasks": [{"task": n, "targets": {...}}]}``)
    where it names targets.

    Raises :class:`LookupError` for an unknown workspace. The checks only read.
    """
    workspace = session().get(Workspace, workspace_id)
    if workspace is None:
        raise LookupError(f"no sandbox workspace {workspace_id}")
    return run_checks(workspace, key=ScenarioKey.from_data(key))


def stage_value_readings(workspace_id: int, key: Mapping[str, Any] | None = None) -> list[StageReading]:
    """The values of opportunities per stage the candidate recorded (where the scenario's ``key``
    says, else in any answer or note), each beside the workspace's true values at the moment it
    was recorded, oldest first: what the committee sees beside the interview on those values.

    Raises :class:`LookupError` for an unknown workspace. Only reads.
    """
    workspace = session().get(Workspace, workspace_id)
    if workspace is None:
        raise LookupError(f"no sandbox workspace {workspace_id}")
    return monitoring.stage_value_readings(workspace, ScenarioKey.from_data(key))


def key_target_kinds() -> frozenset[str]:
    """The kinds of key targets the evidence checks read (so a host can check its scenario keys)."""
    return frozenset(TARGET_KINDS)


def key_target_problems(targets: Mapping[str, Any]) -> list[str]:
    """What the checks would refuse in one task's key targets (unknown kinds, malformed values)."""
    return key_problems(targets)


ANSWER_VERB = "answer"
ANSWER_OBJECT = "sheet_task"
MAX_ANSWER_LENGTH = 4000


def record_answer(workspace_id: int, task_number: int, text: str) -> ActionStatement:
    """Log what the candidate recorded for a task of the sheet (e.g. figures read from the CRM).

    The answer is a statement of the workspace's log like any other action (timestamped, the
    current actor's), so a check can compare it with the workspace's true figures at that moment.
    Refused (:class:`PermissionError`) in a frozen workspace; ``text`` is cut to
    :data:`MAX_ANSWER_LENGTH` characters.
    """
    workspace = session().get(Workspace, workspace_id)
    if workspace is None:
        raise LookupError(f"no sandbox workspace {workspace_id}")
    if workspace.is_frozen:
        raise PermissionError("the workspace is frozen")
    statement = record(workspace, ANSWER_VERB, ANSWER_OBJECT, task_number, f"#{task_number}",
                       {"text": text.strip()[:MAX_ANSWER_LENGTH]})
    session().flush()
    return statement


def answers(workspace_id: int) -> dict[int, str]:
    """The text of the latest answer recorded for each task of the sheet, by task number (read
    here, so that a host never decodes the log's results itself)."""
    latest: dict[int, str] = {}
    for statement in session().scalars(
            select(ActionStatement).where(ActionStatement.workspace_id == workspace_id,
                                          ActionStatement.verb == ANSWER_VERB,
                                          ActionStatement.object_type == ANSWER_OBJECT)
            .order_by(ActionStatement.timestamp, ActionStatement.id)):
        number = parse_number(statement.object_id, 0)
        if number is not None:
            latest[number] = str(split_result(statement.result)[1].get("text") or "")
    return latest


def _actor_rows(ref: str, names: Iterable[str]) -> list[tuple[Any, Any]]:
    """Where the sandbox holds the name of the actor ``ref``: their log statements anywhere, and in
    the workspaces they own the customer events and stage changes recorded under any name they
    acted under (their statements' names, and ``names``)."""
    known = set(session().scalars(select(ActionStatement.actor_name).where(ActionStatement.actor_ref == ref).distinct()))
    known |= {name for name in names if name}
    owned = select(Workspace.id).where(Workspace.owner_ref == ref)
    rows: list[tuple[Any, Any]] = [(ActionStatement, ActionStatement.actor_ref == ref)]
    rows += [(model, model.workspace_id.in_(owned) & model.actor_name.in_(known)) for model in (CustomerEvent, OpportunityStageChange)]
    return rows


def actor_name_count(ref: str, names: Iterable[str] = ()) -> int:
    """How many rows :func:`forget_actor` would change (only reads)."""
    return sum(int(session().scalar(select(func.count()).select_from(model).where(where)) or 0)
               for model, where in _actor_rows(ref, names))


def forget_actor(ref: str, replacement: str, names: Iterable[str] = ()) -> int:
    """Replace the name of the actor ``ref`` wherever the sandbox recorded it (see
    :func:`_actor_rows`) by ``replacement``: what a host forgetting a person asks of the sandbox.
    The workspaces' content (fictional customers) stays. Returns the rows changed; not committed."""
    changed = 0
    for model, where in _actor_rows(ref, names):
        result = session().execute(update(model).where(where).values(actor_name=replacement)
                                   .execution_options(synchronize_session=False))
        changed += int(getattr(result, "rowcount", 0) or 0)
    return changed
