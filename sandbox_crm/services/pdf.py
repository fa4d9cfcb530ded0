"""HTML → PDF with WeasyPrint, for offers and reports.

The HTML may contain candidate-written markup, so WeasyPrint must not fetch
anything: the URL fetcher only serves ``data:`` URLs (inline images, the SVG of
a chart) and refuses ``file:``, ``http:`` and every other scheme. Fonts come from
the system (DejaVu Sans on Debian), which covers Polish diacritics.
"""
from __future__ import annotations

import hashlib

from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher

FONT_STACK = '"DejaVu Sans", "Liberation Sans", "Noto Sans", Arial, sans-serif'

BASE_CSS = f"""
@page {{ size: A4; margin: 18mm 16mm 20mm 16mm;
        @bottom-right {{ content: counter(page) " / " counter(pages); font-size: 8pt; color: #666; }} }}
html {{ font-family: {FONT_STACK}; font-size: 10pt; line-height: 1.35; color: #111; }}
h1 {{ font-size: 16pt; margin: 0 0 6pt; }} h2 {{ font-size: 13pt; margin: 12pt 0 4pt; }}
table {{ border-collapse: collapse; width: 100%; margin: 6pt 0; }}
th, td {{ border: 0.5pt solid #999; padding: 3pt 4pt; vertical-align: top; text-align: left; }}
th {{ background: #eee; }}
td.num, th.num {{ text-align: right; }}
table.offer-lines td:nth-child(n+3) {{ text-align: right; }}
tr.totals th {{ text-align: right; }}
img, svg {{ max-width: 100%; }}
"""


def data_only_fetcher() -> URLFetcher:
    """A fetcher serving ``data:`` URLs only; anything else (file, http, …) is refused."""
    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=2)


def html_to_pdf(html: str, extra_css: str = "") -> bytes:
    """Render ``html`` to A4 PDF bytes with the base stylesheet (and ``extra_css``)."""
    fetcher = data_only_fetcher()
    stylesheets = [CSS(string=BASE_CSS, url_fetcher=fetcher)]
    if extra_css:
        stylesheets.append(CSS(string=extra_css, url_fetcher=fetcher))
    document = HTML(string=html, url_fetcher=fetcher, base_url="data:,")
    return document.write_pdf(stylesheets=stylesheets)


def sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data`` (stored beside a generated PDF)."""
    return hashlib.sha256(data).hexdigest()
