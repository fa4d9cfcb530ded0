"""Home page, the personal dashboard, the language switch and the health probes."""
from __future__ import annotations

from pathlib import Path

import redis
from flask import Blueprint, Response, current_app, redirect, render_template, session, url_for
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..forms import NEXT, form_params
from ..metrics import job_queue, redis_connection
from ..models import Qualification
from ..security import is_safe_local_path

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    qualifications = db.session.scalars(select(Qualification).order_by(Qualification.code)).all()
    return render_template("main/index.html", qualifications=qualifications)


@bp.route("/healthz")
def healthz():
    """Liveness: the process answers. Nothing else is asked, so an outage of the database does
    not get every web process restarted; /readyz says whether to send it traffic."""
    return {"status": "ok"}


def _database_problem() -> str | None:
    try:
        db.session.execute(select(1))
    except SQLAlchemyError as error:
        current_app.logger.warning("readiness: the database is unreachable: %s", error)
        try:
            db.session.rollback()
        except SQLAlchemyError as rollback_error:  # the connection is gone: nothing to roll back
            current_app.logger.warning("readiness: rollback failed: %s", rollback_error)
        return f"database unreachable ({type(error).__name__})"
    return None


def _redis_targets() -> dict[str, str]:
    """The Redis servers the app uses, by role (never shown: a URL may hold a password)."""
    targets = {}
    if current_app.config.get("REDIS_URL"):
        targets["job queue"] = current_app.config["REDIS_URL"]
    limits = str(current_app.config.get("RATELIMIT_STORAGE_URI") or "")
    if limits.split(":", 1)[0] in ("redis", "rediss") and limits not in targets.values():
        targets["rate-limit store"] = limits
    return targets


def _redis_problem(role: str, url: str) -> str | None:
    try:
        connection = redis_connection(url)
    except ValueError:  # a malformed URL
        return f"Redis misconfigured ({role})"
    try:
        connection.ping()
        if role == "job queue":
            job_queue(connection).count  # noqa: B018  (reading the queue proves it reachable)
    except redis.RedisError as error:
        current_app.logger.warning("readiness: Redis (%s) is unreachable: %s", role, error)
        return f"Redis unreachable ({role}: {type(error).__name__})"
    finally:
        connection.close()
    return None


@bp.route("/readyz")
def readyz():
    """Readiness: the database, Redis and the job queue answer. 503 naming what does not."""
    problems: dict[str, str] = {}
    checks = {"database": "ok", "redis": "not configured", "queue": "in-process"}
    database = _database_problem()
    if database:
        problems["database"] = checks["database"] = database
    targets = _redis_targets()
    if targets:
        checks["redis"] = "ok"
    for role, url in targets.items():
        problem = _redis_problem(role, url)
        if problem:
            problems.setdefault("redis", problem)
            checks["redis"] = problems["redis"]
            if role == "job queue":
                checks["queue"] = problems["queue"] = "job queue unreachable"
        elif role == "job queue":
            checks["queue"] = "ok"
    headers = {"Cache-Control": "no-store"}
    if problems:
        return {"status": "unavailable", "reason": "; ".join(problems.values()), "checks": checks}, 503, headers
    return {"status": "ready", "checks": checks}, 200, headers


@bp.route("/favicon.ico")
def favicon():
    """Where browsers look for the icon of a page that names none (a print view, a PDF viewer).

    Served from memory: a browser that drops the request half-way (it often does for icons)
    leaves no open file behind.
    """
    icon = Path(current_app.static_folder or "", "favicon.ico").read_bytes()
    return Response(icon, mimetype="image/vnd.microsoft.icon", headers={"Cache-Control": "public, max-age=86400"})


@bp.route("/dashboard")
@login_required
def dashboard():
    return render_template("main/dashboard.html")


@bp.route("/lang/<code>", methods=["POST"])
@form_params(target=NEXT)
def set_language(code: str, target: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    if not is_safe_local_path(target):
        target = url_for("main.index")
    return redirect(target)
