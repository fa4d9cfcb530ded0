"""The Redis connection and the RQ queue (``REDIS_URL``, ``QUEUE_NAME``)."""
from __future__ import annotations

from flask import current_app
from redis import Redis
from rq import Queue


def connection() -> Redis:
    return Redis.from_url(current_app.config["REDIS_URL"])


def queue() -> Queue:
    return Queue(current_app.config.get("QUEUE_NAME", "examportal"), connection=connection())
