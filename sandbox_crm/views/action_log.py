"""The workspace's action log: a filtered timeline and its xAPI JSON download."""
from __future__ import annotations

import json
from datetime import date

from flask import Response, g, render_template
from flask_babel import lazy_gettext as _l

from ..actionlog import split_result
from ..blueprint import bp
from ..host import session
from ..params import PAGE, Date, Text, invalid_params, params
from ..registry import register_nav
from ..services import activity as service

register_nav("sandbox.action_log", _l("Action log"), 90)

FILTERS = {"verb": Text(max=40), "object_type": Text(max=40), "date_from": Date(), "date_to": Date()}


@bp.route("/w/<int:ws_id>/log")
@params(**FILTERS, page=PAGE)
def action_log(verb: str, object_type: str, date_from: date | None, date_to: date | None, page: int):
    filters = service.LogFilters(verb=verb, object_type=object_type, date_from=date_from, date_to=date_to)
    bad_dates = sorted(invalid_params() & {"date_from", "date_to"})
    rows = service.log_page(g.workspace, filters, page)
    session().commit()
    verbs, object_types = service.log_choices(g.workspace)
    # Each statement's diff and details, read as the committee's replay reads them.
    results = {statement.id: split_result(statement.result) for statement in rows.items}
    return render_template("sandbox_crm/log/timeline.html", page=rows, filters=filters, verbs=verbs,
                           object_types=object_types, bad_dates=bad_dates, results=results)


@bp.route("/w/<int:ws_id>/log/xapi.json")
@params(**FILTERS)
def action_log_xapi(verb: str, object_type: str, date_from: date | None, date_to: date | None):
    filters = service.LogFilters(verb=verb, object_type=object_type, date_from=date_from, date_to=date_to)
    statements = service.export_statements(g.workspace, filters)
    session().commit()
    body = json.dumps(statements, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="workspace-{g.workspace.id}-xapi.json"'})
