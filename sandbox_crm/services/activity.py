"""Reading the workspace's action log: the filtered timeline and the xAPI export."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from ..actionlog import as_xapi, record
from ..host import session
from ..models import ActionStatement, Workspace
from ..pagination import Page, paginate

PER_PAGE = 50


@dataclass
class LogFilters:
    verb: str = ""
    object_type: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def active(self) -> dict[str, Any]:
        return {k: (val.isoformat() if isinstance(val, date) else val)
                for k, val in self.__dict__.items() if val not in ("", None)}


def log_query(workspace: Workspace, filters: LogFilters) -> Select:
    """The workspace's statements matching ``filters``, newest first."""
    stmt = select(ActionStatement).where(ActionStatement.workspace_id == workspace.id)
    if filters.verb:
        stmt = stmt.where(ActionStatement.verb == filters.verb)
    if filters.object_type:
        stmt = stmt.where(ActionStatement.object_type == filters.object_type)
    if filters.date_from:
        stmt = stmt.where(ActionStatement.timestamp >= datetime.combine(filters.date_from, time.min, UTC))
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, UTC)
        stmt = stmt.where(ActionStatement.timestamp < end)
    return stmt.order_by(ActionStatement.timestamp.desc(), ActionStatement.id.desc())


def log_page(workspace: Workspace, filters: LogFilters, page: int = 1) -> Page:
    """One page of the timeline; a new filtering (page 1, filters set) is itself recorded."""
    result = paginate(log_query(workspace, filters), page, PER_PAGE)
    active = filters.active()
    if active and page == 1 and not workspace.is_frozen:
        record(workspace, "filter", "action_log", None, None, {"filters": active, "count": result.total})
    return result


def log_choices(workspace: Workspace) -> tuple[list[str], list[str]]:
    """The verbs and object types that occur in the workspace's log (for the filter selects)."""
    def distinct(column) -> list[str]:
        return list(session().scalars(
            select(column).where(ActionStatement.workspace_id == workspace.id).distinct().order_by(column)))

    return distinct(ActionStatement.verb), distinct(ActionStatement.object_type)


def export_statements(workspace: Workspace, filters: LogFilters | None = None) -> list[dict]:
    """The (filtered) log as xAPI statements, oldest first; the export itself is recorded first."""
    filters = filters or LogFilters()
    statements = list(session().scalars(log_query(workspace, filters).order_by(None)
                                        .order_by(ActionStatement.timestamp, ActionStatement.id)))
    if not workspace.is_frozen:
        record(workspace, "export", "action_log", None, "xAPI JSON",
               {"format": "xapi-json", "statements": len(statements), "filters": filters.active()})
    return [as_xapi(statement) for statement in statements]


def recent(workspace: Workspace, limit: int = 8) -> list[ActionStatement]:
    return list(session().scalars(log_query(workspace, LogFilters()).limit(limit)))


def count(workspace: Workspace) -> int:
    return session().scalar(select(func.count()).select_from(ActionStatement)
                            .where(ActionStatement.workspace_id == workspace.id)) or 0
