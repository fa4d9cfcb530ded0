"""Workspace home (dashboard)."""
from __future__ import annotations

from flask import g, render_template

from ..blueprint import bp


@bp.route("/w/<int:ws_id>/")
def dashboard():
    return render_template("sandbox_crm/dashboard.html", workspace=g.workspace)
