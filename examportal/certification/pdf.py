"""The certificate PDF: WeasyPrint, A4, always in Polish, rendered from a plain dict.

The template gets nothing but the certificate's stored ``content`` (plain data fixed at issue),
so a reprint shows the same text; it is rendered through :mod:`examportal.pdf`, which may fetch
nothing but this application's own static files and inline ``data:`` URIs: a template or a value
that names any other resource stops the rendering. It is printed in two layers (see "the two
layers" below): the text shared by a qualification's certificates, rendered once and kept, and
each holder's blocks drawn over it.

The one thing not in the content itself is the issuer's logo and signature image: the content
holds their SHA-256 (``issuer_marks``, fixed at issue) and :func:`mark_images` loads the bytes
from the institution's settings while they still match. An image changed or removed since the
issue prints as no image: a reprint never shows another image than the certificate was issued with.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import segno
from flask import current_app, render_template
from flask_babel import force_locale

from ..extensions import db
from ..institution.settings import IMAGE_FIELDS, image_data_uri, sha256_of
from ..models import InstitutionSettings
from ..pdf import Backdrop, Box, backdrop, layout, write


def content_sha256(content: Mapping[str, Any]) -> str:
    """A fingerprint of the certificate's content (canonical JSON): equal text and data, equal hash."""
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


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


# ------------------------------------------------------------------------------- the two layers
# Everything on both pages but the holder's blocks (number, name, birth date and PESEL, dates,
# the basis of issue, the verification link and its QR codes, the duplicate mark) is the same for
# every certificate of one qualification, issuer and validating institution, and is most of the
# rendering (the supplement's table of outcomes above all). It is rendered once per process as a
# backdrop, from placeholders alone, so it can hold no holder's data; each certificate lays out
# only its own blocks, at the places the backdrop kept for them (their ids), and is drawn over it.

TEMPLATE = "certification/certificate_pdf.html"
STYLESHEET = "certification/certificate_pdf.css"
HOLDER_PT = 24.0  # .holder's font size; a longer name is set smaller to stay on its line
HOLDER_MIN_PT = 12.0  # below this a name takes two lines instead
FIRST_FIT = {"holder": "white-space:nowrap"}  # so that its width is measured on one line
BACKDROPS = 8  # backdrops kept (least recently used first out): one per qualification and issuer in a batch
_backdrops: OrderedDict[str, Backdrop] = OrderedDict()
_backdrops_lock = threading.Lock()


def _zeroed(text: str | None) -> str:
    """Digits as zeros: DejaVu's digits are all one width, so the placeholder takes the value's place."""
    return re.sub(r"\d", "0", text or "")


def _context(content: Mapping[str, Any], duplicate_issued_on: str | None) -> dict[str, Any]:
    holder = content["holder"]
    return {
        "c": content,
        "duplicate_issued_on": polish_date(duplicate_issued_on) if duplicate_issued_on else None,
        "issued_on": polish_date(content["issued_on"]),
        "valid_until": polish_date(content["valid_until"]),
        "birth_date": polish_date(holder["birth_date"]),
        "validated_on": polish_date(content.get("validated_on")),
        "validity_years": polish_years(int(content["qualification"]["validity_years"])),
        "supersedes_issued_on": polish_date((content.get("supersedes") or {}).get("issued_on")),
        "holder_name": f"{holder['first_name']} {holder['last_name']}",
        "about_name": f"{holder['first_name']} {holder['last_name']}",
        "marks": content.get("issuer_marks") or {},  # certificates issued before the settings existed have none
    }


def _shared(context: Mapping[str, Any]) -> dict[str, Any]:
    """The backdrop's context: the certificate's shared data, and for the holder's blocks
    placeholders of the same shape (their own text never reaches the backdrop)."""
    content = context["c"]
    holder = content["holder"]
    return {
        **context,
        "c": {
            "number": _zeroed(content["number"]),
            "verification_code": "0" * len(content["verification_code"]),
            "verification_url": "0" * len(content["verification_url"]),
            "holder": {"pesel_masked": "0" if holder.get("pesel_masked") else None},
            "qualification": content["qualification"],
            "institution": content["institution"],
            "validating_institution": content.get("validating_institution"),
            "supersedes": None,
        },
        "duplicate_issued_on": _zeroed(context["duplicate_issued_on"]) or None,
        "issued_on": "00.00.0000", "valid_until": "00.00.0000", "validated_on": "", "supersedes_issued_on": "",
        "birth_date": "0" if context["birth_date"] else "",
        "holder_name": "X",
        "about_name": "Xxxxxxxxxxxxx Xxxxxxxxxxxxxxx",  # room for a name of some thirty letters; a longer one is set smaller
    }


def _backdrop(shared: Mapping[str, Any], images: Mapping[str, str]) -> Backdrop:
    """The backdrop for ``shared`` (see :func:`_shared`), from this process's cache when the same
    data, images and template were rendered before. Each worker process keeps its own few: a
    backdrop is a pure function of its key, so another worker's copy is never stale, only absent."""
    templates = [Path(current_app.jinja_env.get_template(name).filename or "") for name in (TEMPLATE, STYLESHEET)]
    key = hashlib.sha256(json.dumps([shared, sorted(images.items()), [(str(t), t.stat().st_mtime_ns) for t in templates]],
                                    sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
    with _backdrops_lock:
        if (found := _backdrops.get(key)) is not None:
            _backdrops.move_to_end(key)
            return found
    with force_locale("pl"):
        made = backdrop(render_template(TEMPLATE, part="background", images=images, **shared))
    with _backdrops_lock:
        _backdrops[key] = made
        while len(_backdrops) > BACKDROPS:
            _backdrops.popitem(last=False)
    return made


def _px(value: float) -> str:
    return f"{value:.3f}px"


def _slots(under: Backdrop, fit: Mapping[str, str]) -> dict[str, str]:
    """Each holder's block's place in the overlay (CSS, relative to its page's content area)."""
    slots = {}
    for page, anchors in enumerate(under.anchors):
        origin_x, origin_y, _x2, _y2 = anchors[f"page-{page + 1}"]
        for name, (left, y1, x2, _y2) in anchors.items():
            if name.startswith("slot-"):
                slot = name.removeprefix("slot-")
                x1 = anchors.get(f"indent-{slot}", (left,))[0]  # beside a float, where its lines begin
                slots[slot] = (f"left:{_px(x1 - origin_x)};top:{_px(y1 - origin_y)};width:{_px(x2 - x1)};"
                               f"box-sizing:border-box;{fit.get(slot, FIRST_FIT.get(slot, ''))}")
    return slots


def _refit(under: Backdrop, laid: list[dict[str, Box]]) -> dict[str, str]:
    """Smaller type for the blocks that overflow their places: the holder's name on page 1 (one
    line, or two below HOLDER_MIN_PT), the line naming the holder and qualification on page 2."""
    fit = {}
    room = under.anchors[0]["slot-holder"]
    x1, _y1, x2, _y2 = laid[0]["fit-holder"]
    if x2 - x1 > room[2] - room[0]:
        size = HOLDER_PT * (room[2] - room[0]) / (x2 - x1) * 0.98
        if size >= HOLDER_MIN_PT:
            fit["holder"] = f"font-size:{size:.2f}pt;white-space:nowrap"
        else:  # two lines in the place of one
            size = min(HOLDER_MIN_PT, HOLDER_PT * 2 * (room[2] - room[0]) / (x2 - x1) * 0.9)
            fit["holder"] = f"font-size:{size:.2f}pt;line-height:{HOLDER_PT * 0.6:.2f}pt"
    room = under.anchors[1]["slot-about"]
    bottom = laid[1]["fit-about"][3]  # the end of its last line
    if bottom - room[1] > (room[3] - room[1]) * 1.05:
        fit["about"] = f"font-size:{9.5 * ((room[3] - room[1]) / (bottom - room[1])) ** 0.5 * 0.97:.2f}pt"
    return fit


def qr_drawing(matrix: Sequence[Sequence[int]], box: Box, page_height: float) -> bytes:
    """A QR code's ``matrix`` (``segno.make(url, error="m").matrix``: error correction M) with a
    quiet zone of two modules, filling ``box`` (CSS pixels) as PDF operators: one
    rectangle per run of dark modules in a row."""
    modules = len(matrix) + 4
    x1, y1, x2, _y2 = box
    unit = (x2 - x1) * 0.75 / modules
    left, top = x1 * 0.75 + 2 * unit, (page_height - y1) * 0.75 - 2 * unit
    operators = [b"0 g"]
    for row, cells in enumerate(matrix):
        column = 0
        while column < len(cells):
            if cells[column]:
                start = column
                while column < len(cells) and cells[column]:
                    column += 1
                operators.append(b"%.3f %.3f %.3f %.3f re" % (left + start * unit, top - (row + 1) * unit,
                                                              (column - start) * unit, unit))
            column += 1
    operators.append(b"f")
    return b"\n".join(operators)


def render_certificate(content: Mapping[str, Any], duplicate_issued_on: str | None = None) -> bytes:
    """The certificate (page 1) and its supplement (page 2) as a PDF; ``duplicate_issued_on``
    (ISO date) marks the print as a duplicate issued that day."""
    context = _context(content, duplicate_issued_on)
    under = _backdrop(_shared(context), mark_images(content.get("issuer_marks")))

    def overlay(fit: Mapping[str, str]) -> Any:
        with force_locale("pl"):
            return layout(render_template(TEMPLATE, part="overlay", slots=_slots(under, fit), **context),
                          render_template(STYLESHEET, part="overlay"))

    document = overlay({})
    if fit := _refit(under, [dict(page.anchors) for page in document.pages]):
        document = overlay(fit)
    qr = segno.make(content["verification_url"], error="m").matrix
    return write(document, under, [qr_drawing(qr, under.anchors[page][f"qr-{page + 1}"], under.heights[page])
                                   for page in range(len(under.anchors))])
