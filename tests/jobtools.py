"""The real job queue in tests: a Redis database of its own, a queue name per test, a worker process."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from redis import Redis

REDIS_URL = os.environ.get("TEST_JOBS_REDIS_URL", "redis://127.0.0.1:6379/7")


def _worker_env(database_url: str, queue_name: str) -> dict[str, str]:
    return {**os.environ, "EXAMPORTAL_CONFIG": "test", "TEST_DATABASE_URL": database_url, "TEST_REDIS_URL": REDIS_URL,
            "QUEUE_NAME": queue_name, "FLASK_APP": "examportal"}


def run_worker(database_url: str, queue_name: str, *options: str) -> subprocess.CompletedProcess[str]:
    """``flask jobs worker --burst`` in its own process, on the test database: runs what is queued, then stops."""
    return subprocess.run([sys.executable, "-m", "flask", "jobs", "worker", "--burst", *options],
                          env=_worker_env(database_url, queue_name), capture_output=True, text=True, timeout=120, check=False)


def start_worker(database_url: str, queue_name: str) -> subprocess.Popen[bytes]:
    """``flask jobs worker --burst`` started in its own process and left running (to be stopped or killed)."""
    return subprocess.Popen([sys.executable, "-m", "flask", "jobs", "worker", "--burst"], env=_worker_env(database_url, queue_name),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture
def real_queue(app: Flask) -> Iterator[str]:
    """Send this test's jobs to Redis (a queue of its own, retries without pauses); yields the queue's name."""
    queue_name = f"test-{uuid.uuid4().hex[:12]}"
    app.config.update(REDIS_URL=REDIS_URL, QUEUE_NAME=queue_name, JOB_RETRY_INTERVALS=(0, 0))
    yield queue_name
    redis = Redis.from_url(REDIS_URL)
    for key in redis.scan_iter(f"rq:*{queue_name}*"):
        redis.delete(key)
    redis.srem("rq:queues", f"rq:queue:{queue_name}")
