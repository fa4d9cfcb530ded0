"""Where other modules join certification without this package knowing them (the Open Badges 3.0
credential and its status lists are the first): signals on a certificate's life, and a registry of
files issued beside each certificate's PDF.

Signals are sent inside the transaction that made the change, before its commit: a receiver's own
writes (a credential, a status-list bit) are committed with it or rolled back with it.
"""
from __future__ import annotations

from collections.abc import Callable

from blinker import Namespace

from ..models import Certificate

_signals = Namespace()

#: A certificate was numbered and its PDF stored (a first issue or a corrected reissue): ``sender``
#: is the certificate.
issued = _signals.signal("certificate-issued")
#: A certificate's status changed: ``sender`` is the certificate, ``action`` one of "suspend",
#: "lift", "revoke" or "supersede" (replaced by a corrected certificate).
status_changed = _signals.signal("certificate-status-changed")

#: A file issued beside the PDF: the certificate → (suffix of the file name, its bytes), e.g.
#: ``(".credential.json", b"{...}")``; the session's ZIP holds it next to the certificate's PDF.
Artifact = Callable[[Certificate], tuple[str, bytes]]
ARTIFACTS: dict[str, Artifact] = {}


def artifact(name: str) -> Callable[[Artifact], Artifact]:
    """Register a function making a file issued with every certificate."""
    def register(function: Artifact) -> Artifact:
        ARTIFACTS[name] = function
        return function
    return register


def artifacts_for(certificate: Certificate) -> list[tuple[str, bytes]]:
    """Every registered file for ``certificate``, in registration order."""
    return [make(certificate) for make in ARTIFACTS.values()]
