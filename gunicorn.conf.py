"""gunicorn's settings for examportal (read from the working directory: run gunicorn from the repository root).

Prometheus metrics with several workers: set PROMETHEUS_MULTIPROC_DIR to a directory of its own
before gunicorn starts. Each worker writes its figures there and /metrics adds them up; the hooks
below start every run with an empty directory and tidy up after a worker that exits.
"""
from __future__ import annotations

import os
import sys
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
# A worker that rendered many PDFs holds WeasyPrint's native memory (about 0.2 MB per document,
# never given back): it is replaced once it has laid out this many documents (post_request below),
# finishing the requests it serves first. Not by its count of requests: a new worker costs seconds
# of CPU to start and its caches start cold, and an exam day's requests are nearly all autosaves and
# heartbeats (a 1,000-candidate day sends some 60,000; replaced after 20,000 requests, each worker
# of 4 restarted during the day's busiest minutes — one restart in a 10 s closed-loop run cost 0.36
# ms of server CPU per autosave, 38 % more). The request count stays as a far bound for any other
# slow growth.
max_pdf_documents = int(os.environ.get("GUNICORN_MAX_PDF_DOCUMENTS", "1000"))
max_requests = 200000
max_requests_jitter = 20000

# The app writes one JSON line per request (endpoint, status, duration, request id) without the
# path, which may hold a token; gunicorn's own access log would print the path. Keep it off.
accesslog = None


def post_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """After each request: a worker that has laid out ``max_pdf_documents`` PDFs stops taking
    requests, finishes those it serves and is replaced (as gunicorn's own max_requests does)."""
    pdf = sys.modules.get("examportal.pdf")  # not imported: an app that renders no PDF (the bench's no-op)
    if pdf is not None and worker.alive and pdf.renderings() >= max_pdf_documents:
        worker.log.info("Replacing the worker after %d PDF documents.", pdf.renderings())
        worker.alive = False


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
