"""Workspace scoping: the one place that turns a URL id into a row of *this* workspace."""
from __future__ import annotations

from typing import Any, TypeVar

from flask import abort
from sqlalchemy import Select, select

from .host import session
from .models.base import WorkspaceScoped

T = TypeVar("T", bound=WorkspaceScoped)


def scoped(model: type[T], workspace: Any) -> Select[T]:
    """A SELECT of ``model`` restricted to ``workspace``."""
    return select(model).where(model.workspace_id == workspace.id)


def get_or_404(model: type[T], workspace: Any, object_id: int) -> T:
    """The row ``object_id`` of ``model`` in ``workspace``, or 404 (never another workspace's row)."""
    row = session().scalar(scoped(model, workspace).where(model.id == object_id))
    if row is None:
        abort(404)
    return row
