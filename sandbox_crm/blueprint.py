"""The sandbox blueprint and the workspace guard every workspace URL goes through."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, g, request
from flask_babel import gettext as _

from .host import host, session
from .models import Workspace

bp = Blueprint("sandbox", __name__, static_folder="static", static_url_path="/static")

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


@bp.url_value_preprocessor
def load_workspace(endpoint, values):
    """Resolve ``ws_id`` from the URL into ``g.workspace`` and check access once, for every view.

    Writing (any non-GET request) to a frozen workspace is refused here, so no
    view can forget it.
    """
    if not values or "ws_id" not in values:
        return
    ws_id = values.pop("ws_id")
    workspace = session().get(Workspace, ws_id)
    write = request.method not in READ_METHODS
    if workspace is None or not host().can_access(workspace, False):
        abort(404)
    if write and not host().can_access(workspace, True):
        abort(403)
    if write and workspace.is_frozen:
        abort(403, description=_("This workspace is frozen: it can be viewed but not changed."))
    g.workspace = workspace
    # Only someone who may change the workspace adds to its action log, even by a read
    # (a filter, an export): see actionlog.record.
    g.workspace_log_open = not workspace.is_frozen and host().can_access(workspace, True)


@bp.before_request
def refuse_nul_bytes():
    """No form field or query parameter may carry a NUL byte (PostgreSQL cannot store one in text)."""
    # Every value of every key: a repeated field (ticked industries, tags) sends several.
    values = [value for source in (request.args, request.form) for _key, value in source.items(multi=True)]
    if any("\x00" in value for value in values):
        abort(400, description=_("The form contained an invisible control character (NUL). Remove it and send the form again."))


@bp.url_defaults
def add_workspace(endpoint, values):
    """Let ``url_for`` inside a workspace omit ``ws_id``."""
    if "ws_id" in values or not g.get("workspace"):
        return
    if current_app.url_map.is_endpoint_expecting(endpoint, "ws_id"):
        values["ws_id"] = g.workspace.id
