"""gunicorn's settings for examportal (read from the working directory: run gunicorn from the repository root).

Prometheus metrics with several workers: set PROMETHEUS_MULTIPROC_DIR to a directory of its own
before gunicorn starts. Each worker writes its figures there and /metrics adds them up; the hooks
below start every run with an empty directory and tidy up after a worker that exits.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# The worker model (#16, measured by `bench/run.py examday`): threaded workers, so a request waiting
# on PostgreSQL does not hold a whole worker while autosaves queue behind it. With 4 workers × 4
# threads against 4 sync workers, 100 candidates' autosave p95 fell from 28 to 18 ms, the start
# p95 from 0.53 to 0.17 s and login p95 from 0.92 to 0.45 s; the closed-loop autosave rate rose
# from 131 to 231 per second. The app keeps nothing per worker that threads could share wrongly
# (one database session per request, rate limits in Redis). `--workers` and `--threads` stay
# settable through GUNICORN_CMD_ARGS.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A worker that rendered many PDFs holds WeasyPrint's native memory (about 0.2 MB per rendering,
# never given back): replace each worker after this many requests, at staggered moments. Not
# sooner: a new worker costs seconds of CPU to start, and an exam day of 1,000 candidates sends
# some 60,000 requests (at 2,000 each of 4 workers was replaced about eight times during the test).
max_requests = 20000
max_requests_jitter = 2000

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
