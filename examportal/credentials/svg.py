"""The badge image: an SVG naming the qualification, and for a holder the same image with their
signed credential baked in (Open Badges 3.0, "Baking": an ``openbadges:credential`` element in
the ``https://purl.imsglobal.org/ob/v3p0`` namespace holding the credential in CDATA)."""
from __future__ import annotations

import json
import textwrap
from typing import Any

from flask import render_template


def _cdata_safe(document: dict[str, Any]) -> str:
    # "]]>" would end the CDATA section; ">" inside a JSON string may be written \u003e.
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).replace("]]>", "]]\\u003e")


def badge_svg(code: str, name: str, *, credential: dict[str, Any] | None = None, holder: str | None = None,
              number: str | None = None) -> str:
    """The badge for qualification ``code``; with ``credential``, baked for its holder."""
    lines = textwrap.wrap(name, 24)[:4]
    return render_template("credentials/badge.svg", code=code, lines=lines, holder=holder, number=number,
                           credential=_cdata_safe(credential) if credential is not None else None)
