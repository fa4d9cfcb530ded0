"""Background work on a job queue: RQ on Redis in production, in-process without Redis.

The machinery is in :mod:`.core` (job kinds, progress, start, retries), the kinds and periodic
tasks in :mod:`.tasks`, the scheduler in :mod:`.scheduler`, staff's pages in :mod:`.views`.
"""
from __future__ import annotations

from typing import Any

from flask import Flask

from .core import KINDS, JobError, Progress, enqueue, execute, kind, queued_id, requeue_lost, run_job, start, uses_queue

__all__ = ["KINDS", "JobError", "Progress", "enqueue", "execute", "init_app", "kind", "queued_id", "requeue_lost", "run_job",
           "start", "uses_queue"]


def init_app(app: Flask) -> None:
    """Register the job kinds and periodic tasks, the staff pages and the job titles for templates."""
    from flask_babel import lazy_gettext as _l

    from . import tasks  # noqa: F401  (registers the kinds and periodic tasks)
    from .cli import jobs_cli
    from .views import bp

    app.register_blueprint(bp, url_prefix="/jobs")
    app.cli.add_command(jobs_cli)
    titles = {"session_archive": _l("Session archive: protocols and summary"), "periodic": _l("Scheduled task"),
              "certificate_batch": _l("Certificates of a session: issuing and their PDFs"),
              "records_purge": _l("Anonymisation of people past the retention of their records")}

    @app.context_processor
    def job_titles() -> dict[str, Any]:
        return {"job_titles": titles}
