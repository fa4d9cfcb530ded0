"""Prometheus metrics at ``/metrics``: request latency, autosaves, the job queue and running attempts.

Recorded in each process as requests finish:

- ``examportal_http_request_duration_seconds{endpoint, method, status}``: a histogram labelled by
  Flask's endpoint name (``sessions.detail``), never the path, so ids in URLs cannot multiply the
  series, and by status class (``2xx``);
- ``examportal_theory_autosaves_total{status, lane}`` and ``examportal_theory_autosave_duration_seconds{status}``:
  the theory test's autosave (``theory.autosave``); ``lane`` is ``express`` for the autosaves its
  express lane answered (theory/express.py), ``full`` for the others.

Read from the shared stores when scraped, so any worker answers the same:

- ``examportal_jobs_queued{queue}`` and ``examportal_jobs_failed{queue}`` from Redis (REDIS_URL);
- ``examportal_theory_attempts_active{status}`` (in progress, paused) from the database;
- ``examportal_metrics_source_up{source}``: 0 when the database or Redis could not be read.

Under gunicorn each worker is its own process: with ``PROMETHEUS_MULTIPROC_DIR`` set (before the
processes start) every worker writes its figures to files there and a scrape, whichever worker
serves it, adds them all up (prometheus_client's multiprocess mode; gunicorn.conf.py cleans up
after a worker that exits).

``/metrics`` answers only a client on METRICS_ALLOW (default: loopback) or one that sends
``Authorization: Bearer <METRICS_TOKEN>``. A request that came through a proxy is not taken for a
loopback one unless TRUSTED_PROXIES says the forwarded address can be believed.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Iterable

import redis
from flask import Blueprint, Flask, abort, current_app, g, request
from flask.wrappers import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from rq import Queue
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .models import AttemptStatus, TheoryAttempt

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
AUTOSAVE_ENDPOINT = "theory.autosave"
ACTIVE_ATTEMPTS = (AttemptStatus.IN_PROGRESS, AttemptStatus.PAUSED)
# Any other method (a client may send "FOO") is counted as "other": labels must stay few.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# A Redis that does not answer must not hold up a scrape or a readiness probe.
REDIS_TIMEOUT_SECONDS = 2.0

# Not registered anywhere at import: each scrape builds its own registry (and in multiprocess
# mode reads every worker's files instead), so apps built in one process never collide.
REQUEST_LATENCY = Histogram(
    "examportal_http_request_duration_seconds", "Time to answer a request, by Flask endpoint, method and status class.",
    ["endpoint", "method", "status"], registry=None)
AUTOSAVES = Counter(
    "examportal_theory_autosaves", "Autosave requests of the theory test, by status class and the lane that answered.",
    ["status", "lane"], registry=None)
#: Set on ``g`` by the request hook that answered an autosave ahead of the view (theory/express.py).
AUTOSAVE_LANE = "autosave_lane"
AUTOSAVE_LATENCY = Histogram(
    "examportal_theory_autosave_duration_seconds", "Time to answer a theory autosave, by status class.",
    ["status"], registry=None, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
RECORDED = (REQUEST_LATENCY, AUTOSAVES, AUTOSAVE_LATENCY)

bp = Blueprint("metrics", __name__)


# --------------------------------------------------------------------------- Redis and the queue


def redis_connection(url: str) -> redis.Redis:
    """A client for ``url`` that gives up quickly instead of hanging a probe or a scrape."""
    return redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS)


def job_queue(connection: redis.Redis) -> Queue:
    """The RQ queue the portal's jobs go to (QUEUE_NAME, as examportal.jobs uses it)."""
    return Queue(current_app.config.get("QUEUE_NAME") or "examportal", connection=connection)


def queue_figures(url: str) -> tuple[str, int, int]:
    """(queue name, jobs waiting, jobs failed for good) of the job queue at ``url``; raises redis.RedisError."""
    connection = redis_connection(url)
    try:
        queue = job_queue(connection)
        # Without cleanup: a scrape only reads.
        return queue.name, queue.count, FailedJobRegistry(queue=queue).get_job_count(cleanup=False)
    finally:
        connection.close()


# --------------------------------------------------------------------------- recording


def status_class(status_code: int) -> str:
    return f"{status_code // 100}xx"


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _record(response: Response) -> Response:
    started = g.get("metrics_started")
    if started is None:  # a request that skipped our before_request (another hook answered first)
        return response
    observe(request.endpoint, request.method, response.status_code, time.perf_counter() - started,
            g.get(AUTOSAVE_LANE, "full"))
    return response


def observe(endpoint: str | None, method: str, status_code: int, seconds: float, lane: str = "full") -> None:
    """Count one answered request (``lane``: which lane answered an autosave, theory/express.py)."""
    status = status_class(status_code)
    REQUEST_LATENCY.labels(endpoint or "unmatched", method if method in METHODS else "other", status).observe(seconds)
    if endpoint == AUTOSAVE_ENDPOINT:
        AUTOSAVES.labels(status, lane).inc()
        AUTOSAVE_LATENCY.labels(status).observe(seconds)


# --------------------------------------------------------------------------- scraping


class _Snapshot:
    """Metric families computed once for this scrape, handed to the registry as a collector."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def _live_families() -> list[Metric]:
    """The figures read from the database and Redis at scrape time."""
    up = GaugeMetricFamily("examportal_metrics_source_up", "Whether the source could be read for this scrape.",
                           labels=["source"])
    families: list[Metric] = [up]

    attempts = GaugeMetricFamily("examportal_theory_attempts_active",
                                 "Theory attempts running now (in progress or paused by the operator).", labels=["status"])
    try:
        rows = db.session.execute(select(TheoryAttempt.status, func.count()).where(TheoryAttempt.status.in_(ACTIVE_ATTEMPTS))
                                  .group_by(TheoryAttempt.status)).all()
    except SQLAlchemyError as error:
        log.warning("metrics: the database could not be read: %s", error)
        try:
            db.session.rollback()
        except SQLAlchemyError as rollback_error:  # the connection is gone: nothing to roll back
            log.warning("metrics: rollback after a database error failed: %s", rollback_error)
        up.add_metric(["database"], 0)
    else:
        counts = dict(rows)
        for status in ACTIVE_ATTEMPTS:
            attempts.add_metric([status.value], counts.get(status, 0))
        families.append(attempts)
        up.add_metric(["database"], 1)

    url = current_app.config.get("REDIS_URL")
    if url:
        try:
            name, queued, failed = queue_figures(url)
        except redis.RedisError as error:
            log.warning("metrics: the job queue could not be read: %s", error)
            up.add_metric(["redis"], 0)
        else:
            waiting = GaugeMetricFamily("examportal_jobs_queued", "Jobs waiting in the queue.", labels=["queue"])
            waiting.add_metric([name], queued)
            failures = GaugeMetricFamily("examportal_jobs_failed",
                                         "Jobs that failed after their retries (RQ's failed job registry).", labels=["queue"])
            failures.add_metric([name], failed)
            families += [waiting, failures]
            up.add_metric(["redis"], 1)
    return families


def scrape_registry() -> CollectorRegistry:
    """This scrape's registry: every worker's recorded figures (multiprocess mode) or this
    process's, plus the live figures."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for metric in RECORDED:
            registry.register(metric)
    registry.register(_Snapshot(_live_families()))
    return registry


def parse_allow_list(entries: object) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """METRICS_ALLOW (a comma-separated string or a list of addresses and networks) as networks."""
    if not entries:
        return []
    if isinstance(entries, str):
        items = entries.split(",")
    elif isinstance(entries, Iterable):
        items = [str(entry) for entry in entries]
    else:
        raise ValueError(f"METRICS_ALLOW must be a comma-separated string or a list, not {entries!r}")
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip()]


def scrape_allowed() -> bool:
    """Whether this request may read the metrics (bearer token, or an address on the allow-list)."""
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), str(token).encode()):
            return True
    # Through a proxy that is not trusted, the address is the proxy's (often 127.0.0.1): anyone
    # on the internet would pass for loopback.
    forwarded = "X-Forwarded-For" in request.headers or "Forwarded" in request.headers
    if forwarded and not current_app.config.get("TRUSTED_PROXIES"):
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in parse_allow_list(current_app.config.get("METRICS_ALLOW")))


@bp.route("/metrics")
def scrape() -> Response:
    """Prometheus' scrape: the text exposition format."""
    if not scrape_allowed():
        abort(403)
    response = Response(generate_latest(scrape_registry()), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """Time every request (register first, so no other hook's early answer goes unmeasured) and serve /metrics."""
    parse_allow_list(app.config.get("METRICS_ALLOW"))  # a typo fails at start, not at the first scrape
    app.before_request(_start_timer)
    app.after_request(_record)
    app.register_blueprint(bp)
