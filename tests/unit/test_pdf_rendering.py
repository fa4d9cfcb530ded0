"""Every PDF goes through examportal/pdf.py: it fetches only the application's static files and
``data:`` URIs, and no other module renders with WeasyPrint on its own."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from examportal import pdf

ROOT = Path(__file__).resolve().parents[2]


def test_the_renderer_fetches_only_local_static_files(app, tmp_path):
    fetcher = pdf.static_fetcher()
    static = Path(app.static_folder)
    response = fetcher.fetch(f"file://{static / 'app.css'}")
    assert response.read() == (static / "app.css").read_bytes()
    assert fetcher.fetch("data:text/plain,ok").read() == b"ok"
    secret = tmp_path / "secret.txt"
    secret.write_text("tajne")
    for url in ("http://example.com/logo.png", "https://127.0.0.1/x.png", "ftp://example.com/x", f"file://{secret}",
                "file:///etc/passwd", f"file://{static}/../../README.md", f"file://evil.example{static / 'app.css'}"):
        with pytest.raises(pdf.RefusedResource):
            fetcher.fetch(url)


@pytest.mark.parametrize("source", ['<img src="http://example.com/tracker.png">',
                                    '<link rel="stylesheet" href="file:///etc/passwd">',
                                    '<p style="background: url(https://example.com/x.png)">x</p>'])
def test_a_document_that_reaches_outside_stops_the_rendering(app, source):
    with pytest.raises(pdf.RefusedResource):
        pdf.render_pdf(source)


def test_a_document_renders_with_a_static_image(app):
    assert pdf.render_pdf('<p>Zażółć</p><img src="favicon.svg">').startswith(b"%PDF")


def test_no_module_renders_with_weasyprint_on_its_own():
    """The one renderer keeps the restricted fetcher and the shared fonts for every document.
    (The sandbox CRM, independent of the portal, has its own: sandbox_crm/services/pdf.py, data: URIs only.)"""
    offenders = []
    for package in ("examportal",):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "examportal" / "pdf.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "weasyprint") \
                        or (isinstance(node, ast.Import) and any(a.name.split(".")[0] == "weasyprint" for a in node.names)):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"render PDFs with examportal.pdf.render_pdf: {offenders}"


# --------------------------------------------------------------------------- a web worker's share of documents


def _gunicorn_hooks() -> dict:
    import runpy

    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


def test_each_document_laid_out_is_counted(app):
    before = pdf.renderings()
    pdf.render_pdf("<p>jeden</p>")
    pdf.layout("<p>dwa</p>")
    assert pdf.renderings() == before + 2


def test_a_worker_is_replaced_after_its_share_of_documents_not_of_requests(monkeypatch):
    """gunicorn.conf.py: the post_request hook ends a worker that has laid out max_pdf_documents
    PDFs (WeasyPrint keeps native memory per document); requests alone replace it only at the far
    bound of max_requests, beyond an exam day's."""
    import logging
    from types import SimpleNamespace

    hooks = _gunicorn_hooks()
    limit = hooks["max_pdf_documents"]
    assert hooks["max_requests"] >= 100_000  # an exam day of 1,000 candidates sends some 60,000 requests
    worker = SimpleNamespace(alive=True, log=logging.getLogger("gunicorn.error"))
    monkeypatch.setattr(pdf, "_rendered", [limit - 1])
    hooks["post_request"](worker, None, {}, None)
    assert worker.alive is True
    monkeypatch.setattr(pdf, "_rendered", [limit])
    hooks["post_request"](worker, None, {}, None)
    assert worker.alive is False


def test_an_app_that_renders_no_pdf_keeps_its_workers(monkeypatch):
    """The hook imports nothing: the bench's no-op app, served with the same settings, has no PDFs."""
    import sys
    from types import SimpleNamespace

    hooks = _gunicorn_hooks()
    monkeypatch.delitem(sys.modules, "examportal.pdf")
    worker = SimpleNamespace(alive=True, log=None)
    hooks["post_request"](worker, None, {}, None)
    assert worker.alive is True and "examportal.pdf" not in sys.modules


def test_the_share_of_documents_is_configurable(monkeypatch):
    monkeypatch.setenv("GUNICORN_MAX_PDF_DOCUMENTS", "7")
    assert _gunicorn_hooks()["max_pdf_documents"] == 7
