"""Prometheus metrics at /metrics: request latency by endpoint name, the theory autosave, running
attempts, the job queue; restricted to loopback or a token; added up across worker processes.

The recorded metrics live in the test process for its whole run (as in a worker), so these tests
compare figures before and after; the figures read at scrape time are exact.
"""
from __future__ import annotations

import functools
import os
import runpy
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry

from examportal.extensions import db
from examportal.models import AttemptStatus, Role, utcnow
from examportal.theory import services
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
LIVE_REDIS = "redis://127.0.0.1:6379/11"
LATENCY = "examportal_http_request_duration_seconds"


def scrape(client, **kwargs) -> str:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    return response.get_data(as_text=True)


@functools.lru_cache(maxsize=8)
def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape by name and labels. Parsed once per scrape: the process's metrics
    grow with every test run before (in a long run, thousands of series), and a test reads many values."""
    return {(found.name, frozenset(found.labels.items())): found.value
            for family in text_string_to_metric_families(text) for found in family.samples}


def value(text: str, sample: str, **labels) -> float:
    """The value of ``sample`` (e.g. ``..._count``) with exactly these labels (0 when absent)."""
    return _samples(text).get((sample, frozenset(labels.items())), 0.0)


def test_requests_are_timed_by_endpoint_name_never_by_path(app, client):
    before = scrape(client)
    for _ in range(2):
        assert client.get("/healthz").status_code == 200
    assert client.get("/sessions/987654321").status_code == 302  # anonymous: to the login page
    assert client.get("/no/such/page/55555").status_code == 404
    after = scrape(client)
    for endpoint, status, expected in (("main.healthz", "2xx", 2), ("sessions.detail", "3xx", 1), ("unmatched", "4xx", 1)):
        labels = {"endpoint": endpoint, "method": "GET", "status": status}
        assert value(after, f"{LATENCY}_count", **labels) - value(before, f"{LATENCY}_count", **labels) == expected, endpoint
        assert value(after, f"{LATENCY}_bucket", **labels, le="+Inf") == value(after, f"{LATENCY}_count", **labels)
    # No label carries a path or an id (the values may hold any digits: only the labels count).
    labels = [str(sample.labels) for family in text_string_to_metric_families(after) for sample in family.samples]
    assert not [text for text in labels if "987654321" in text or "55555" in text or "/sessions" in text]
    # Every series these requests added to is labelled with an endpoint of the app.
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} | {"unmatched"}
    grown = {sample.labels["endpoint"] for family in text_string_to_metric_families(after) if family.name == LATENCY
             for sample in family.samples
             if sample.name == f"{LATENCY}_count" and sample.value > value(before, sample.name, **sample.labels)}
    assert grown and grown <= endpoints, grown - endpoints


@pytest.mark.committing  # the autosave's lane reads committed data on its own connections
def test_autosaves_and_running_attempts(app, qualification, tmp_path):
    app.config["THEORY_ITEM_BANK"] = factories.write_theory_bank(tmp_path)
    institution = factories.make_institution(qualifications=[qualification])
    session = factories.make_session(institution, qualification)
    candidate = factories.make_user(Role.CANDIDATE)
    attempt = factories.make_attempt(factories.enrol(session, candidate), status=AttemptStatus.UNLOCKED)
    services.start(attempt)
    now = utcnow()
    paused = factories.make_attempt(factories.enrol(session, factories.make_user(Role.CANDIDATE)), status=AttemptStatus.PAUSED,
                                    started_at=now, paused_at=now)
    factories.make_attempt(factories.enrol(session, factories.make_user(Role.CANDIDATE)), status=AttemptStatus.SUBMITTED,
                           started_at=now, submitted_at=now)
    staff = factories.client_as(app)

    before = scrape(staff)
    assert value(before, "examportal_theory_attempts_active", status="in_progress") == 1
    assert value(before, "examportal_theory_attempts_active", status="paused") == 1
    assert value(before, "examportal_metrics_source_up", source="database") == 1

    item = next(i for i in attempt.items if i.snapshot["item"]["type"] == "single_choice")
    option = services.candidate_display(item, "pl")["options"][0][0]
    client = factories.client_as(app, candidate)
    url = f"/theory/attempts/{attempt.id}/answer"
    assert client.post(url, data={"position": str(item.position), "seq": "1", "answer": option}).status_code == 200
    assert client.post(url, data={"position": "x", "seq": "2"}).status_code == 400

    after = scrape(staff)
    ordinary = "express" if db.engine.dialect.name == "postgresql" else "full"  # the lane runs on PostgreSQL
    for status, lane, expected in (("2xx", ordinary, 1), ("4xx", "full", 1)):
        assert value(after, "examportal_theory_autosaves_total", status=status, lane=lane) \
            - value(before, "examportal_theory_autosaves_total", status=status, lane=lane) == expected
        assert value(after, "examportal_theory_autosave_duration_seconds_count", status=status) \
            - value(before, "examportal_theory_autosave_duration_seconds_count", status=status) == expected
    autosave = {"endpoint": "theory.autosave", "method": "POST", "status": "2xx"}
    assert value(after, f"{LATENCY}_count", **autosave) - value(before, f"{LATENCY}_count", **autosave) == 1
    paused.status, paused.submitted_at = AttemptStatus.SUBMITTED, now
    db.session.commit()
    assert value(scrape(staff), "examportal_theory_attempts_active", status="paused") == 0


@pytest.fixture
def queue_name():
    """A queue of this test's own on the test Redis, removed afterwards."""
    name = f"metrics-test-{uuid.uuid4().hex[:12]}"
    yield name
    connection = Redis.from_url(LIVE_REDIS)
    for key in connection.scan_iter(f"rq:*{name}*"):
        connection.delete(key)
    connection.srem("rq:queues", f"rq:queue:{name}")  # RQ's list of known queues
    connection.close()


def test_queue_depth_and_failed_jobs_come_from_redis(app_factory, queue_name):
    connection = Redis.from_url(LIVE_REDIS)
    queue = Queue(queue_name, connection=connection)
    jobs = [queue.enqueue("builtins.print", n, job_id=f"{queue_name}-{n}") for n in range(3)]
    queue.remove(jobs[0])
    FailedJobRegistry(queue=queue).add(jobs[0], exc_string="boom")
    for n in range(3):  # the key of each job, for the fixture's clean-up
        assert connection.exists(f"rq:job:{queue_name}-{n}")

    app = app_factory(REDIS_URL=LIVE_REDIS, QUEUE_NAME=queue_name)
    text = scrape(app.test_client())
    assert value(text, "examportal_jobs_queued", queue=queue_name) == 2
    assert value(text, "examportal_jobs_failed", queue=queue_name) == 1
    assert value(text, "examportal_metrics_source_up", source="redis") == 1
    connection.close()


def test_a_dead_redis_is_reported_not_a_failed_scrape(app_factory):
    app = app_factory(REDIS_URL="redis://:s3cret@127.0.0.1:1/0")
    text = scrape(app.test_client())
    assert value(text, "examportal_metrics_source_up", source="redis") == 0
    assert "examportal_jobs_queued" not in text and "s3cret" not in text


def test_metrics_are_only_for_loopback_or_the_token(app_factory):
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    plain = app_factory().test_client()
    assert plain.get("/metrics", environ_base=outside).status_code == 403
    # Through a proxy that is not trusted, 127.0.0.1 is the proxy's address, not the client's.
    assert plain.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403
    assert plain.get("/metrics").status_code == 200

    behind_proxy = app_factory(TRUSTED_PROXIES=1).test_client()
    assert behind_proxy.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403
    assert behind_proxy.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200

    with_token = app_factory(METRICS_TOKEN="scrape-token-0123456789", METRICS_ALLOW="").test_client()
    assert with_token.get("/metrics").status_code == 403  # loopback is not on an empty allow-list
    assert with_token.get("/metrics", environ_base=outside,
                          headers={"Authorization": "Bearer wrong-token"}).status_code == 403
    assert with_token.get("/metrics", environ_base=outside,
                          headers={"Authorization": "Bearer scrape-token-0123456789"}).status_code == 200

    network = app_factory(METRICS_ALLOW="10.0.0.0/8, ::1").test_client()
    assert network.get("/metrics", environ_base={"REMOTE_ADDR": "10.20.30.40"}).status_code == 200
    assert network.get("/metrics").status_code == 403


def test_a_misspelt_allow_list_stops_the_start(app_factory):
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6"):
        app_factory(METRICS_ALLOW="127.0.0.1,localhost")


def test_gunicorn_starts_with_an_empty_metrics_directory(tmp_path, monkeypatch):
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"figures of the last run")
    (directory / "gauge_livesum_999999.db").write_bytes(b"a live gauge of a worker that is gone")
    (directory / "keep.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    hooks["child_exit"](None, SimpleNamespace(pid=999999))
    assert sorted(p.name for p in directory.iterdir()) == ["counter_999999.db", "keep.txt"]
    hooks["on_starting"](None)
    assert [p.name for p in directory.iterdir()] == ["keep.txt"]
    assert hooks["accesslog"] is None


# What one gunicorn worker does: serve requests, each process writing its own figures to the
# shared directory.
WORKER = """
import sys
from examportal import create_app

app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1]})
client = app.test_client()
for _ in range(int(sys.argv[2])):
    assert client.get("/healthz").status_code == 200
for _ in range(int(sys.argv[3])):
    assert client.get("/sessions/424242").status_code == 302
"""


def test_several_worker_processes_are_added_up(database_url, tmp_path, monkeypatch, client):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    env = {**os.environ, "EXAMPORTAL_CONFIG": "test", "PROMETHEUS_MULTIPROC_DIR": str(directory),
           "PYTHONPATH": str(ROOT)}
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, database_url, healthz, detail], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for healthz, detail in (("3", "1"), ("4", "2"))]
    for worker in workers:
        _out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err[-2000:]
    # One file of figures per process: two processes wrote.
    assert {path.name for path in directory.glob("histogram_*.db")} == {f"histogram_{w.pid}.db" for w in workers}

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))  # this process scrapes like a worker
    text = scrape(client)
    assert value(text, f"{LATENCY}_count", endpoint="main.healthz", method="GET", status="2xx") == 3 + 4
    assert value(text, f"{LATENCY}_count", endpoint="sessions.detail", method="GET", status="3xx") == 1 + 2
    assert value(text, f"{LATENCY}_bucket", endpoint="main.healthz", method="GET", status="2xx", le="+Inf") == 7
    assert "424242" not in text
    # The live figures come along in multiprocess mode too.
    assert value(text, "examportal_metrics_source_up", source="database") == 1
