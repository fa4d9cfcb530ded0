"""gunicorn's settings for examportal (read from the working directory: run gunicorn from the repository root).

Prometheus metrics with several workers: set PROMETHEUS_MULTIPROC_DIR to a directory of its own
before gunicorn starts. Each worker writes its figures there and /metrics adds them up; the hooks
below start every run with an empty directory and tidy up after a worker that exits.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# The app writes one JSON line per request (endpoint, status, duration, request id) without the
# path, which may hold a token; gunicorn's own access log would print the path. Keep it off.
accesslog = None


def on_starting(server: Any) -> None:
    """Before the first worker: empty the metrics directory (figures of a previous run would be added in)."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited: its live gauges leave the sum (its counters and histograms stay counted)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
