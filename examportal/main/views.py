"""Home page, the personal dashboard and the language switch."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import login_required
from sqlalchemy import select

from ..extensions import db
from ..models import Qualification
from ..security import is_safe_local_path

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    qualifications = db.session.scalars(select(Qualification).order_by(Qualification.code)).all()
    return render_template("main/index.html", qualifications=qualifications)


@bp.route("/healthz")
def healthz():
    """For the proxy and load balancers: the app answers and the database is reachable."""
    db.session.execute(select(1))
    return {"status": "ok"}


@bp.route("/dashboard")
@login_required
def dashboard():
    return render_template("main/dashboard.html")


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.form.get("next", "")
    if not is_safe_local_path(target):
        target = url_for("main.index")
    return redirect(target)
