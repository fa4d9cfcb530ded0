"""``flask jobs``: the worker and scheduler processes, and running a periodic task by hand."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

jobs_cli = AppGroup("jobs", help="Background jobs: the worker, the scheduler, periodic tasks.")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then stop (for tests and one-off runs).")
@click.option("--max-pdf-documents", type=click.IntRange(min=1), default=None,
              help="Stop after the job during which this process's PDF documents reached this many "
                   "(default: JOBS_WORKER_MAX_PDF_DOCUMENTS); the process manager starts a new worker.")
def worker(burst: bool, max_pdf_documents: int | None) -> None:
    """Run jobs from the queue (REDIS_URL). Start as many as the load needs, on any host."""
    from .core import requeue_lost
    from .queue import connection, queue
    from .worker import PdfBoundWorker

    if not current_app.config.get("REDIS_URL"):
        raise click.UsageError("REDIS_URL is not set: without it jobs run inside the web process and no worker is needed")
    limit = max_pdf_documents or current_app.config["JOBS_WORKER_MAX_PDF_DOCUMENTS"]
    requeue_lost()  # jobs recorded while the queue was away (the scheduler also looks every minute)
    # Each job runs in this process, inside the app context the command runs in (no fork: the
    # database connections stay this process's own) — so WeasyPrint's memory stays too, and the
    # worker stops once it has laid out `limit` documents (see PdfBoundWorker).
    PdfBoundWorker([queue()], connection=connection(), max_pdf_documents=limit).work(burst=burst, with_scheduler=True)


@jobs_cli.command("scheduler")
def scheduler() -> None:
    """Fire the periodic tasks of SCHEDULE (one slot is never run twice, even with two schedulers)."""
    from .scheduler import run_forever

    run_forever(current_app._get_current_object())  # type: ignore[attr-defined]


@jobs_cli.command("fire")
@click.argument("task")
def fire_task(task: str) -> None:
    """Run one periodic task now (as a job), whatever the schedule."""
    from .core import start
    from .scheduler import PERIODIC

    if task not in PERIODIC:
        raise click.BadParameter(f"unknown task; known: {', '.join(sorted(PERIODIC))}", param_hint="TASK")
    job = start("periodic", task=task)
    click.echo(f"job {job.id}: {job.status.value}")
