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
import html
import json
import re
import unicodedata
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
from ..pdf import Backdrop, backdrop, kept, write
from ..pdf_text import Box, draw, parse, styled


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
# backdrop, from placeholders alone, so it can hold no holder's data. Each certificate's blocks
# are then drawn straight over it (examportal/pdf_text.py), at the places and in the styles its
# placeholders had (their ids), in its fonts: no layout, no font subsetting per certificate. The
# backdrop's fonts carry a fixed repertoire of characters (and any other the certificate needs:
# such a certificate has a backdrop of its own), so a PDF's fonts tell nothing of other holders.

TEMPLATE = "certification/certificate_pdf.html"
STYLESHEET = "certification/certificate_pdf.css"
REPERTOIRE = "".join(chr(code) for code in range(0x20, 0x7F)) + "ĄĆĘŁŃÓŚŹŻąćęłńóśźżÄÖÜäöüßÉéÁáÍíÚú„”“’·–—…"
"""The characters every backdrop's fonts carry for the holders' blocks, in each of their faces;
a certificate whose blocks need another gets a backdrop whose fonts carry it too."""
_REPERTOIRE = frozenset(REPERTOIRE)


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


def _backdrop(shared: Mapping[str, Any], images: Mapping[str, str], repertoire: str) -> Backdrop:
    """The backdrop for ``shared`` (see :func:`_shared`), its fonts carrying ``repertoire``, from
    this process's cache when the same data, images and template were rendered before. Each worker
    process keeps its own few: a backdrop is a pure function of its key, so another worker's copy
    is never stale, only absent."""
    templates = [Path(current_app.jinja_env.get_template(name).filename or "") for name in (TEMPLATE, STYLESHEET)]
    key = hashlib.sha256(json.dumps([shared, sorted(images.items()), repertoire, [(str(t), t.stat().st_mtime_ns) for t in templates]],
                                    sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()

    def make() -> Backdrop:
        with force_locale("pl"):
            background = render_template(TEMPLATE, part="background", images=images, **shared)
            made = backdrop(background, render_template(TEMPLATE, part="fonts", images=images, repertoire=repertoire, **shared))
            # A character no font here has would only be a .notdef glyph (whose text map then confuses
            # some readers): rendered again without it, it is drawn as the face's .notdef alone.
            if missing := {char for char in repertoire if not any(char in face.glyphs for face in made.faces.values())} - _REPERTOIRE:
                made = backdrop(background, render_template(TEMPLATE, part="fonts", images=images, **shared,
                                                             repertoire="".join(char for char in repertoire if char not in missing)))
        return made

    return kept(f"certificate:{key}", make)


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
    with force_locale("pl"):
        overlay = render_template(TEMPLATE, part="overlay", **context)
    needed = {char for char in html.unescape(re.sub(r"<[^>]*>", "", overlay))
              if not char.isspace() and unicodedata.category(char) != "Cc"} - _REPERTOIRE
    under = _backdrop(_shared(context), mark_images(content.get("issuer_marks")), REPERTOIRE + "".join(sorted(needed)))
    qr = segno.make(content["verification_url"], error="m").matrix
    blocks = parse(overlay)
    drawings: list[bytes] = []
    drawn: set[str] = set()
    for page, slots in enumerate(under.slots):
        here = [name for name in blocks if name in slots]
        operators = [draw(styled(blocks[name], slots[name]), slots[name], under.faces, under.heights[page]) for name in here]
        operators += [qr_drawing(qr, box, under.heights[page]) for name, box in under.anchors[page].items() if name.startswith("qr-")]
        drawings.append(b"\n".join(operators))
        drawn.update(here)
    if missing := set(blocks) - drawn:
        raise ValueError(f"the certificate's backdrop has no place for {sorted(missing)}")
    return write(under, drawings, f"Certyfikat nr {content['number']}")
