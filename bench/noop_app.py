"""A bare Flask application with one no-op endpoint: the exam-day bench's ceiling for a request.

Served by gunicorn with the same settings as the portal (``bench/examday.py``), so that the
autosave's closed-loop throughput is compared with what the same server and client reach for a
request that does nothing.
"""
from __future__ import annotations

from flask import Flask


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/noop")
    def noop() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app
