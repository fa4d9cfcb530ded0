"""The job worker's process: RQ's SimpleWorker, replaced after its share of PDF documents."""
from __future__ import annotations

from typing import Any

from rq import Queue, SimpleWorker
from rq.exceptions import StopRequested
from rq.job import Job

from .. import pdf


class PdfBoundWorker(SimpleWorker):
    """A SimpleWorker (each job in this process) that stops after the job during which the process
    laid out ``max_pdf_documents`` PDF documents: WeasyPrint keeps some native memory per document
    (about 0.2 MB, never given back), and a certificate batch lays out one per certificate. The
    job finishes and is recorded first; the process manager (compose's ``restart``) starts a new
    worker, as gunicorn replaces a web worker after its documents (gunicorn.conf.py)."""

    def __init__(self, *args: Any, max_pdf_documents: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_pdf_documents = max_pdf_documents

    def execute_job(self, job: Job, queue: Queue) -> None:
        super().execute_job(job, queue)
        if pdf.renderings() >= self.max_pdf_documents:
            self.log.info("Worker %s: stopping after %d PDF documents; a new worker takes the queue",
                          self.name, pdf.renderings())
            raise StopRequested  # RQ's work loop ends on it, as on a warm shutdown
