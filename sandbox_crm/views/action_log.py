"""The workspace's action log: a filtered timeline and its xAPI JSON download."""
from __future__ import annotations

import json
from datetime import date

from flask import Response, g, render_template, request
from flask_babel import lazy_gettext as _l

from ..blueprint import bp
from ..host import session
from ..pagination import parse_page
from ..registry import register_nav
from ..services import activity as service

register_nav("sandbox.action_log", _l("Action log"), 90)


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _filters() -> service.LogFilters:
    return service.LogFilters(verb=request.args.get("verb", "")[:40], object_type=request.args.get("object_type", "")[:40],
                              date_from=_date_arg("date_from"), date_to=_date_arg("date_to"))


@bp.route("/w/<int:ws_id>/log")
def action_log():
    filters = _filters()
    bad_dates = [name for name in ("date_from", "date_to") if request.args.get(name) and _date_arg(name) is None]
    page = service.log_page(g.workspace, filters, parse_page(request.args.get("page")))
    session().commit()
    verbs, object_types = service.log_choices(g.workspace)
    return render_template("sandbox_crm/log/timeline.html", page=page, filters=filters, verbs=verbs,
                           object_types=object_types, bad_dates=bad_dates)


@bp.route("/w/<int:ws_id>/log/xapi.json")
def action_log_xapi():
    statements = service.export_statements(g.workspace, _filters())
    session().commit()
    body = json.dumps(statements, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="workspace-{g.workspace.id}-xapi.json"'})
