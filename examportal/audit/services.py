"""Appending to and verifying the hash-chained audit log."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import AuditEntry, AuditHead, User, utcnow

GENESIS = "0" * 64


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def entry_hash(entry: AuditEntry) -> str:
    """The SHA-256 of the entry's content and its predecessor's hash (canonical JSON)."""
    payload = {
        "seq": entry.seq,
        "at": entry.at.isoformat(),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "institution_id": entry.institution_id,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "before": entry.before,
        "after": entry.after,
        "prev_hash": entry.prev_hash,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _current_actor() -> User | None:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def record(
    action: str,
    obj: Any = None,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict | None = None,
    after: dict | None = None,
    actor: User | None = None,
    institution_id: int | None = None,
) -> AuditEntry:
    """Append an entry (in the caller's transaction, which the caller commits).

    ``obj`` may be a model instance, from which type and id are taken. The chain
    head row is locked FOR UPDATE so two concurrent writers append one after the
    other instead of forking the chain.
    """
    if obj is not None:
        object_type = object_type or obj.__tablename__
        db.session.flush()
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    if object_type is None:
        raise ValueError("audit.record needs an object or an object_type")
    actor = actor or _current_actor()
    head = db.session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    if head is None:
        head = AuditHead(id=1, last_seq=0, last_hash=GENESIS)
        db.session.add(head)
        db.session.flush()
    entry = AuditEntry(
        seq=head.last_seq + 1,
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_label=f"{actor.full_name} <{actor.email}>" if actor else "system",
        institution_id=institution_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        prev_hash=head.last_hash,
    )
    entry.hash = entry_hash(entry)
    head.last_seq = entry.seq
    head.last_hash = entry.hash
    db.session.add(entry)
    return entry


@dataclass(frozen=True)
class ChainProblem:
    seq: int | None
    message: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.message}" if self.seq is not None else self.message


def verify_chain(entries: Iterable[AuditEntry] | None = None) -> list[ChainProblem]:
    """Every place where the chain is broken: an edited, deleted, inserted or reordered row."""
    if entries is None:
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(1000)
    problems: list[ChainProblem] = []
    expected_seq, prev_hash = 1, GENESIS
    for entry in entries:
        if entry.seq != expected_seq:
            problems.append(ChainProblem(entry.seq, f"expected sequence number {expected_seq}: a row is missing or out of order"))
        if entry.prev_hash != prev_hash:
            problems.append(ChainProblem(entry.seq, "does not link to the previous entry's hash"))
        if entry_hash(entry) != entry.hash:
            problems.append(ChainProblem(entry.seq, "content does not match its hash: the row was edited"))
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    last_seq = expected_seq - 1
    head = db.session.get(AuditHead, 1)
    if head is None:
        if last_seq:
            problems.append(ChainProblem(None, f"the chain head is missing but the chain has {last_seq} entries"))
    elif head.last_seq > last_seq:
        problems.append(ChainProblem(head.last_seq, f"the head records {head.last_seq} entries but the chain ends at {last_seq}: "
                                                    "rows were removed from the end"))
    elif head.last_seq < last_seq:
        problems.append(ChainProblem(head.last_seq + 1, f"the head records {head.last_seq} entries but the chain goes on to "
                                                        f"{last_seq}: rows were added outside the log"))
    elif head.last_hash != prev_hash:
        problems.append(ChainProblem(last_seq, "the last entry does not match the hash the head records: it was replaced"))
    return problems


def snapshot(obj: Any, fields: Iterable[str]) -> dict:
    """The named attributes of ``obj`` as a JSON-able dict, for before/after."""
    return {name: _jsonable(getattr(obj, name)) for name in fields}
