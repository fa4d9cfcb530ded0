"""What anchors the audit chain outside the database: the MAC key and the signed checkpoints.

Whoever can write the database can edit a row and recompute every hash after it, or cut the
chain's tail and roll its head back. Two things they do not have stop that: the key (config
``AUDIT_KEY``, never stored in the database) that every entry's hash is keyed with, and the
checkpoint file, an append-only list of the head's sequence number and hash, each line signed
with the same key, kept where the database's writers cannot reach (``AUDIT_CHECKPOINT_DIR``).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from flask import current_app

from .. import keyfiles
from ..keyfiles import KeyFileError, configured_secret

CHECKPOINT_FILE = "audit-checkpoints.jsonl"
KEY_FILE = "audit_key"
# Domain separation: an entry's MAC can never be passed off as a checkpoint's, or a text digest.
ENTRY_CONTEXT = b"examportal-audit-entry\x00"
CHECKPOINT_CONTEXT = b"examportal-audit-checkpoint\x00"
TEXT_CONTEXT = b"examportal-audit-text\x00"
KEY_ID_CONTEXT = b"examportal-audit-key-id\x00"


#: The audit key is missing or unsafe to use.
AuditKeyError = KeyFileError


def canonical(payload: dict[str, Any]) -> bytes:
    """The one byte string a payload is signed as (sorted keys, no spaces, UTF-8)."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def key_file_path() -> Path:
    """Where a key generated outside production is kept."""
    return keyfiles.key_file_path("AUDIT_KEY_FILE", KEY_FILE)


def audit_key() -> bytes:
    """The MAC key: ``AUDIT_KEY``, else (never in production) a key file created on first use."""
    return configured_secret("AUDIT_KEY", "AUDIT_KEY_FILE", KEY_FILE)


def mac(context: bytes, payload: dict[str, Any], key: bytes | None = None) -> str:
    """The HMAC-SHA256 of ``payload`` (canonical JSON) for one ``context`` (entry, checkpoint, text)."""
    return hmac.new(key if key is not None else audit_key(), context + canonical(payload), hashlib.sha256).hexdigest()


def key_id(key: bytes | None = None) -> str:
    """A short public fingerprint of the key, so a wrong key is told apart from tampering."""
    return hmac.new(key if key is not None else audit_key(), KEY_ID_CONTEXT, hashlib.sha256).hexdigest()[:16]


# --------------------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class Checkpoint:
    """The head of the chain as it was at ``at``: entry ``seq`` had hash ``hash``. ``n`` numbers the
    lines of the file, so a line removed from the middle shows."""

    n: int
    seq: int
    hash: str
    at: str
    key_id: str

    def payload(self) -> dict[str, Any]:
        return {"n": self.n, "seq": self.seq, "hash": self.hash, "at": self.at, "key_id": self.key_id}


@dataclass(frozen=True)
class CheckpointFileProblem:
    line: int
    message: str


def checkpoint_path() -> Path:
    """The append-only checkpoint file (in AUDIT_CHECKPOINT_DIR, default the instance folder)."""
    configured = current_app.config.get("AUDIT_CHECKPOINT_DIR")
    return (Path(configured) if configured else Path(current_app.instance_path)) / CHECKPOINT_FILE


def _parse(lines: list[str], key: bytes) -> tuple[list[Checkpoint], list[CheckpointFileProblem]]:
    checkpoints: list[Checkpoint] = []
    problems: list[CheckpointFileProblem] = []
    own_key_id = key_id(key)
    expected_n = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        expected_n += 1
        try:
            data = json.loads(line)
            checkpoint = Checkpoint(n=int(data["n"]), seq=int(data["seq"]), hash=str(data["hash"]),
                                    at=str(data["at"]), key_id=str(data["key_id"]))
            signature = str(data["mac"])
        except (ValueError, KeyError, TypeError):
            problems.append(CheckpointFileProblem(number, "is not a checkpoint (damaged or edited)"))
            continue
        if checkpoint.key_id != own_key_id:
            problems.append(CheckpointFileProblem(number, f"was signed with another key (key id {checkpoint.key_id}, "
                                                          f"AUDIT_KEY here has {own_key_id})"))
            continue
        if not hmac.compare_digest(signature, mac(CHECKPOINT_CONTEXT, checkpoint.payload(), key)):
            problems.append(CheckpointFileProblem(number, "does not match its signature: the line was edited"))
            continue
        if checkpoint.n != expected_n:
            problems.append(CheckpointFileProblem(number, f"is checkpoint {checkpoint.n}: a line was removed, "
                                                          "added or moved"))
        checkpoints.append(checkpoint)
    return checkpoints, problems


def read_checkpoints(path: Path | None = None) -> tuple[list[Checkpoint], list[CheckpointFileProblem]]:
    """The signed checkpoints in the file (none if it does not exist yet) and every bad line."""
    path = path or checkpoint_path()
    if not path.exists():
        return [], []
    return _parse(path.read_text(encoding="utf-8").splitlines(), audit_key())


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[IO[str]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        # Two `flask audit verify` runs at once must not both write line n.
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def append_checkpoint(seq: int, head_hash: str, path: Path | None = None) -> Checkpoint | None:
    """Sign and append the head (``seq``, ``head_hash``); None when the last line already says so."""
    path = path or checkpoint_path()
    key = audit_key()
    with _locked(path) as handle:
        handle.seek(0)
        lines = handle.read().splitlines()
        checkpoints, _problems = _parse(lines, key)
        if checkpoints and (checkpoints[-1].seq, checkpoints[-1].hash) == (seq, head_hash):
            return None
        checkpoint = Checkpoint(n=len([line for line in lines if line.strip()]) + 1, seq=seq, hash=head_hash,
                                at=datetime.now(UTC).isoformat(timespec="seconds"), key_id=key_id(key))
        handle.write(json.dumps({**checkpoint.payload(), "mac": mac(CHECKPOINT_CONTEXT, checkpoint.payload(), key)},
                                sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return checkpoint


def copy_checkpoints(source: Path, target: Path | None = None) -> None:
    """Put a kept copy of the checkpoint file in place (the configured file must not exist or be empty)."""
    target = target or checkpoint_path()
    with _locked(target) as handle:
        handle.seek(0)
        if handle.read().strip():
            raise FileExistsError(target)
        handle.write(source.read_text(encoding="utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
