"""Every PDF the portal prints (protocols, certificates, appeal annexes, session summaries) is
rendered here: WeasyPrint with one font configuration per thread (fontconfig's list of fonts is
read once, not for every document) and a URL fetcher that may read nothing but this
application's static files and inline ``data:`` URIs.

The documents are official records built from the portal's own data: none needs the network or
another file of the server, and refusing them keeps a template slip (or a value that reached
markup) from reading local files or calling out.
"""
from __future__ import annotations

import mimetypes
import threading
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

from flask import current_app
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse, path2url


class RefusedResource(FatalURLFetchingError):  # type: ignore[misc]  # WeasyPrint ships no type information
    """A document asked for a resource outside the application's static files."""


class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no type information
    """Serves ``file:`` URLs inside ``root`` and inline ``data:`` URIs; refuses everything else."""

    def __init__(self, root: Path) -> None:
        super().__init__(allowed_protocols=("file", "data"), fail_on_errors=True)
        self.root = root.resolve()

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            parts = urlsplit(url)
            path = Path(unquote(parts.path)).resolve()
            if parts.netloc in ("", "localhost") and path.is_relative_to(self.root) and path.is_file():
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})
        raise RefusedResource(f"a document may use only the application's static files, not {url!r}")


def static_root() -> Path:
    return Path(current_app.static_folder or current_app.root_path)


def static_fetcher() -> StaticOnlyFetcher:
    return StaticOnlyFetcher(static_root())


_local = threading.local()


def font_configuration() -> FontConfiguration:
    """This thread's font configuration (Pango's objects are not shared between threads)."""
    config: FontConfiguration | None = getattr(_local, "fonts", None)
    if config is None:
        config = _local.fonts = FontConfiguration()
    return config


def render_pdf(html: str) -> bytes:
    """``html`` as a PDF; relative URLs point into the static files."""
    document = HTML(string=html, base_url=path2url(str(static_root())), url_fetcher=static_fetcher())
    return bytes(document.write_pdf(font_config=font_configuration()))
