"""Columns whose secret the portal must read back (a second factor's key), kept sealed in the
database: AES-256-GCM under a key derived from CREDENTIAL_KEY, which lives outside the database
and its backups (examportal/keyfiles.py). A copy of the database or of a backup then hands out
nobody's second factor.

The model reads and writes the plain value; the database holds ``v1.`` and the nonce, the
ciphertext and the tag in URL-safe base64. A value stored before sealing (no prefix) is read as it
is; it is sealed when its owner's code is next accepted, or all at once by ``flask credentials
seal-secrets`` (``auth.two_factor.seal_secrets``). A sealed value that does not open —
CREDENTIAL_KEY is not the one it was sealed under — reads as itself, prefix and all, which
:func:`opened` tells apart: such a secret matches no code (the person signs in with a recovery code
and sets the factor up again); it is logged once per process. To replace CREDENTIAL_KEY, move the
old key to CREDENTIAL_KEY_PREVIOUS: values sealed under it still open, and are sealed again under
the new key at their owner's next accepted code or all at once by ``flask credentials
seal-secrets`` (:func:`stale`); then the old key can go.

The sealed value is not bound to its row: one copied onto another account's row opens there, as a
copied password hash would verify there (both need write access to the database).
"""
from __future__ import annotations

import base64
import logging
import os
from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from ..keyfiles import credential_cipher, open_sealed

log = logging.getLogger(__name__)

PREFIX = "v1."
NONCE_BYTES = 12
#: Binds a sealed value to its use: one sealed for another purpose under the same key does not open here.
AAD = b"examportal:sealed-column:v1"
PURPOSE = b"examportal-sealed-columns"
_told = False  # a value that does not open is logged once per process, not on every load


def seal(value: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = credential_cipher(PURPOSE).encrypt(nonce, value.encode("utf-8"), AAD)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(stored: str) -> str:
    """The plain value of ``stored``: itself when it was stored before sealing or does not open."""
    opened_by = _open(stored)
    return stored if opened_by is None else opened_by[1]


def stale(stored: str) -> bool:
    """Whether ``stored`` (as the database holds it) should be sealed again under CREDENTIAL_KEY:
    stored before sealing, or sealed under a key of CREDENTIAL_KEY_PREVIOUS."""
    if not stored.startswith(PREFIX):
        return True
    opened_by = _open(stored)
    return opened_by is not None and opened_by[0] > 0


def _open(stored: str) -> tuple[int, str] | None:
    """(which configured key opened ``stored`` — 0 for CREDENTIAL_KEY —, its plain value); None
    when it is not sealed or opens under none (logged once per process)."""
    if not stored.startswith(PREFIX):
        return None
    global _told
    try:
        raw = base64.urlsafe_b64decode(stored[len(PREFIX):].encode("ascii"))
        opened_by = open_sealed(PURPOSE, raw[:NONCE_BYTES], raw[NONCE_BYTES:], AAD)
        plain = None if opened_by is None else (opened_by[0], opened_by[1].decode("utf-8"))
    except ValueError:  # not base64, a nonce of the wrong size, not UTF-8: it does not open
        plain = None
    if plain is None and not _told:
        _told = True
        log.error("a sealed column does not open with the configured CREDENTIAL_KEY (logged once per process)")
    return plain


def opened(value: str) -> bool:
    """Whether ``value`` (as the model reads it) is the plain secret, not a sealed one that did not open."""
    return not value.startswith(PREFIX)


class SealedString(TypeDecorator[str]):
    """A string column stored sealed (see the module's text)."""

    impl = String(255)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else seal(str(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else unseal(str(value))
