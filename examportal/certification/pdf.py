"""The certificate PDF: WeasyPrint, A4, always in Polish, rendered from a plain dict.

The template gets nothing but the certificate's stored ``content`` (plain data fixed at issue),
so a reprint shows the same text; it is rendered by :func:`examportal.pdf.render_pdf`, which may
fetch nothing but this application's own static files and inline ``data:`` URIs: a template or a
value that names any other resource stops the rendering.

The one thing not in the content itself is the issuer's logo and signature image: the content
holds their SHA-256 (``issuer_marks``, fixed at issue) and :func:`mark_images` loads the bytes
from the institution's settings while they still match. An image changed or removed since the
issue prints as no image: a reprint never shows another image than the certificate was issued with.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import segno
from flask import render_template
from flask_babel import force_locale

from ..extensions import db
from ..institution.settings import IMAGE_FIELDS, image_data_uri, sha256_of
from ..models import InstitutionSettings
from ..pdf import render_pdf


def content_sha256(content: Mapping[str, Any]) -> str:
    """A fingerprint of the certificate's content (canonical JSON): equal text and data, equal hash."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def qr_data_uri(url: str) -> str:
    """The verification link as a QR code (SVG data URI, error correction M)."""
    return str(segno.make(url, error="m").svg_data_uri(scale=4, border=2))


def polish_date(iso: str | None) -> str:
    return date.fromisoformat(iso).strftime("%d.%m.%Y") if iso else ""


def polish_years(years: int) -> str:
    """"1 rok", "2 lata", "5 lat", "22 lata": the Polish plural of a number of years."""
    if years == 1:
        return "1 rok"
    if years % 10 in (2, 3, 4) and years % 100 not in (12, 13, 14):
        return f"{years} lata"
    return f"{years} lat"


def mark_images(marks: Mapping[str, Any] | None) -> dict[str, str]:
    """The issuer's logo and signature as ``data:`` URIs, by name, loaded from its settings when
    their SHA-256 is the one ``marks`` (the certificate's ``issuer_marks``) fixed at issue."""
    if not marks or not isinstance(marks.get("institution_id"), int):
        return {}
    settings = db.session.get(InstitutionSettings, marks["institution_id"])
    if settings is None:
        return {}
    images = {}
    for name in IMAGE_FIELDS:
        expected = marks.get(f"{name}_sha256")
        data: bytes | None = getattr(settings, name) if expected else None
        if data is not None and sha256_of(data) == expected and (uri := image_data_uri(data)):
            images[name] = uri
    return images


def render_certificate(content: Mapping[str, Any], duplicate_issued_on: str | None = None) -> bytes:
    """The certificate (page 1) and its supplement (page 2) as a PDF; ``duplicate_issued_on``
    (ISO date) marks the print as a duplicate issued that day."""
    context = {
        "c": content,
        "duplicate_issued_on": polish_date(duplicate_issued_on) if duplicate_issued_on else None,
        "issued_on": polish_date(content["issued_on"]),
        "valid_until": polish_date(content["valid_until"]),
        "birth_date": polish_date(content["holder"]["birth_date"]),
        "validated_on": polish_date(content.get("validated_on")),
        "validity_years": polish_years(int(content["qualification"]["validity_years"])),
        "supersedes_issued_on": polish_date((content.get("supersedes") or {}).get("issued_on")),
        "qr": qr_data_uri(content["verification_url"]),
        "marks": content.get("issuer_marks") or {},  # certificates issued before the settings existed have none
        "images": mark_images(content.get("issuer_marks")),
    }
    with force_locale("pl"):
        html = render_template("certification/certificate_pdf.html", **context)
    return render_pdf(html)
