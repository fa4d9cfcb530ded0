"""Columns whose secret the portal must read back (a second factor's key), kept sealed in the
database: AES-256-GCM under a key derived from CREDENTIAL_KEY, which lives outside the database
and its backups (examportal/keyfiles.py). A copy of the database or of a backup then hands out
nobody's second factor.

The model reads and writes the plain value; the database holds ``v1.`` and the nonce, the
ciphertext and the tag in URL-safe base64. A value stored before sealing (no prefix) is read as it
is and sealed the next time it is written (a second-factor check writes it: see
``auth.two_factor.check_code``). A sealed value that does not open — CREDENTIAL_KEY is not the one
it was sealed under — reads as itself, prefix and all, which :func:`opened` tells apart: such a
secret matches no code (the person signs in with a recovery code and sets the factor up again).
"""
from __future__ import annotations

import base64
import functools
import logging
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from ..keyfiles import configured_secret

log = logging.getLogger(__name__)

PREFIX = "v1."
NONCE_BYTES = 12
#: Binds a sealed value to its use: one sealed for another purpose under the same key does not open here.
AAD = b"examportal:sealed-column:v1"


@functools.lru_cache(maxsize=4)
def _cipher(secret: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"examportal-sealed-columns").derive(secret)
    return AESGCM(derived)


def _current_cipher() -> AESGCM:
    return _cipher(configured_secret("CREDENTIAL_KEY", "CREDENTIAL_KEY_FILE", "credential_key"))


def seal(value: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = _current_cipher().encrypt(nonce, value.encode("utf-8"), AAD)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(stored: str) -> str:
    """The plain value of ``stored``: itself when it was stored before sealing or does not open."""
    if not stored.startswith(PREFIX):
        return stored
    try:
        raw = base64.urlsafe_b64decode(stored[len(PREFIX):].encode("ascii"))
        return _current_cipher().decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], AAD).decode("utf-8")
    except (InvalidTag, ValueError):
        log.error("a sealed column does not open with the configured CREDENTIAL_KEY")
        return stored


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
