"""The narrow API examportal (or any host) uses: create, seed, freeze, read the log, check evidence."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from .actionlog import as_xapi, record
from .errors import SeedError
from .evidence import CheckResult, run_checks
from .host import session
from .models import ActionStatement, Workspace
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


def export_xapi(workspace_id: int) -> list[dict]:
    """The workspace's action log as a list of xAPI statements."""
    return [as_xapi(statement) for statement in action_log(workspace_id)]


def run_evidence_checks(workspace_id: int) -> dict[str, CheckResult]:
    """Every simulation criterion's evidence check on the workspace, by criterion code.

    Raises :class:`LookupError` for an unknown workspace. The checks only read.
    """
    workspace = session().get(Workspace, workspace_id)
    if workspace is None:
        raise LookupError(f"no sandbox workspace {workspace_id}")
    return run_checks(workspace)
