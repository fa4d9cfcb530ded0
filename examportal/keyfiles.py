"""Secrets kept outside the database: from the configuration, else (never in production) from a
key file in the instance folder, created on first use with owner-only permissions."""
from __future__ import annotations

import itertools
import os
import re
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

MIN_KEY_LENGTH = 32
#: The key file of CREDENTIAL_KEY outside production (instance/credential_key).
CREDENTIAL_KEY_FILE = "credential_key"


class KeyFileError(RuntimeError):
    """The key is missing or unsafe to use."""


def configured_secret(setting: str, file_setting: str, default_file: str) -> bytes:
    """The secret of config ``setting``; else, outside production, the content of the key file
    (``file_setting``, default ``instance/<default_file>``), generated on first use."""
    configured = current_app.config.get(setting)
    if configured:
        return str(configured).encode("utf-8")
    if current_app.config.get("ENV_NAME") == "production":
        raise KeyFileError(f"{setting} is not set: the production configuration needs it")
    return read_or_create(key_file_path(file_setting, default_file)).encode("utf-8")


def key_file_path(file_setting: str, default_file: str) -> Path:
    """Where a key generated outside production is kept (never archived by a backup)."""
    file = current_app.config.get(file_setting)
    return Path(file) if file else Path(current_app.instance_path) / default_file


def read_or_create(path: Path) -> str:
    """The key in ``path``, writing a new random one (mode 0600) when the file does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: two workers starting at once must not each write a different key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise KeyFileError(f"{path} is readable by others (mode {mode:04o}): run chmod 600 on it") from None
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_KEY_LENGTH:
        raise KeyFileError(f"{path} holds no usable key (fewer than {MIN_KEY_LENGTH} characters)")
    return key


def credential_cipher(purpose: bytes) -> AESGCM:
    """AES-256-GCM under a key derived (HKDF-SHA256) from CREDENTIAL_KEY for ``purpose``: each use
    of the key (sealing signing keys, sealing columns) gets a key of its own. Everything is sealed
    under this one."""
    return _cipher(configured_secret("CREDENTIAL_KEY", "CREDENTIAL_KEY_FILE", CREDENTIAL_KEY_FILE), purpose)


def open_sealed(purpose: bytes, nonce: bytes, sealed: bytes, aad: bytes) -> tuple[int, bytes] | None:
    """``sealed`` opened under :func:`credential_cipher`, else under each key of
    CREDENTIAL_KEY_PREVIOUS in turn: (which key opened it — 0 for CREDENTIAL_KEY —, the plain bytes),
    or None when none does. What was sealed under a key being replaced still opens until ``flask
    credentials seal-secrets`` (or its next use) seals it again under CREDENTIAL_KEY."""
    ciphers = itertools.chain([credential_cipher(purpose)], (_cipher(key, purpose) for key in previous_credential_keys()))
    for index, cipher in enumerate(ciphers):  # a previous key derived only when the ones before fail
        try:
            return index, cipher.decrypt(nonce, sealed, aad)
        except InvalidTag:
            continue
    return None


def previous_credential_keys() -> list[bytes]:
    """The keys CREDENTIAL_KEY replaced (CREDENTIAL_KEY_PREVIOUS: separated by spaces or commas)."""
    configured = str(current_app.config.get("CREDENTIAL_KEY_PREVIOUS") or "")
    return [key.encode("utf-8") for key in re.split(r"[\s,]+", configured) if key]


def _cipher(secret: bytes, purpose: bytes) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret))
