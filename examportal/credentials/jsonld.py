"""JSON-LD processing on local contexts only.

Canonicalisation (RDFC-1.0, which ``pyld`` implements as URDNA2015) must see exactly the contexts
the credential names; a context fetched from the network could change what a signature covers,
so the document loader serves the pinned local copies (``contexts/``) and refuses every other URL.
"""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from pyld import jsonld

CONTEXTS_DIR = Path(__file__).parent / "contexts"

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
STATUS_LIST_V1 = "https://www.w3.org/ns/credentials/status/v1"

#: Context URL → the local file that answers for it.
CONTEXT_FILES = {
    VC_V2: "credentials-v2.jsonld",
    OB_V3: "ob-v3p0-context-3.0.3.json",
    DATA_INTEGRITY_V2: "data-integrity-v2.jsonld",
    MULTIKEY_V1: "multikey-v1.jsonld",
    STATUS_LIST_V1: "vc-bitstring-status-list-v1.jsonld",
}


class ContextRefused(ValueError):
    """The document names a context that is not shipped here (it is never fetched)."""


@cache
def _context(url: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((CONTEXTS_DIR / CONTEXT_FILES[url]).read_text(encoding="utf-8"))
    return document


def document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """pyld's loader: the local copy of a known context; any other URL is refused, never fetched."""
    if url not in CONTEXT_FILES:
        raise jsonld.JsonLdError(f"context {url!r} is not available offline", "jsonld.LoadDocumentError",
                                 {"url": url}, code="loading document failed")
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": _context(url)}


class UndefinedTerm(ValueError):
    """The document holds a property or type that its contexts do not define: canonicalisation
    would drop it silently, and a signature would not cover it (JSON-LD "safe mode")."""


def _dropped(name: str | None) -> None:
    raise UndefinedTerm(f"undefined term {name!r}")


def _check_iris(node: Any) -> None:
    """Every ``@id`` and ``@type`` of the expanded document is an absolute IRI or a blank node;
    a relative one (an undefined type such as ``"Grade"``) would vanish from the RDF."""
    if isinstance(node, list):
        for item in node:
            _check_iris(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "@id" and isinstance(value, str) and ":" not in value:
            raise UndefinedTerm(f"relative @id {value!r}")
        if key == "@type" and "@value" not in node:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str) and ":" not in item:
                    raise UndefinedTerm(f"undefined type {item!r}")
        elif key not in ("@value", "@language"):
            _check_iris(value)


def canonicalize(document: dict[str, Any]) -> str:
    """The document's RDF dataset in canonical N-Quads (RDFC-1.0).

    Raises :class:`ContextRefused` when it names a context that is not shipped here,
    :class:`UndefinedTerm` when a property or type is not defined by its contexts (it would be
    dropped without a trace) and ``ValueError`` when it is not valid JSON-LD.
    """
    for url in _context_urls(document.get("@context")):
        if url not in CONTEXT_FILES:
            raise ContextRefused(url)
    try:
        # base None: a relative IRI stays relative (and is refused) instead of being resolved against a default
        expanded = jsonld.expand(document, {"documentLoader": document_loader, "base": None}, on_property_dropped=_dropped)
        _check_iris(expanded)
        result: str = jsonld.normalize(expanded, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                                  "documentLoader": document_loader})
    except jsonld.JsonLdError as error:
        raise ValueError(f"not valid JSON-LD: {error.type}") from error
    return result


def _context_urls(context: Any) -> list[str]:
    if isinstance(context, str):
        return [context]
    if isinstance(context, list):
        return [item for item in context if isinstance(item, str)]
    return []
