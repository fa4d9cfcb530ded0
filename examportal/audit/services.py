"""Appending to and verifying the hash-chained audit log.

Each entry's ``hash`` is an HMAC (key ``AUDIT_KEY``, outside the database) of its content and
its predecessor's hash, and signed checkpoints of the head are kept outside the database too
(see ``anchor``): rewriting the chain needs the key, and cutting its tail shows against a
checkpoint. People appear in entries only by id, and free text only as a keyed digest, so that
anonymising a person after the retention period changes no hashed byte.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import select

from ..extensions import db
from ..models import AuditEntry, AuditHead, User, utcnow
from . import anchor

GENESIS = "0" * 64
RESTORE_ACTION = "backup.restored"
#: Keys that identify a person directly. ``record`` refuses them: an entry names people by id
#: (``user_id``, ``candidate_id`` ...) and the page looks the name up when it is shown.
PERSONAL_KEYS = frozenset({
    "email", "first_name", "last_name", "full_name", "pesel", "phone", "birth_date", "birth_place",
    "id_document_type", "id_document_number", "address", "password", "password_hash",
})
#: Free text that may name anyone (a candidate in a justification, an operator's reason). The text
#: stays in its own row, where anonymisation can reach it; the entry keeps a keyed digest of it.
FREE_TEXT_KEYS = frozenset({"reason", "note", "justification", "declaration", "remarks", "comment"})
TEXT_DIGEST_PREFIX = "text:hmac-sha256:"
MAX_RESTORE_REASON = 500


def jsonable(value: Any) -> Any:
    """``value`` as JSON: enums by their code, dates in ISO 8601, amounts as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def text_digest(text: str | None) -> str | None:
    """The keyed digest an entry keeps instead of free text (None for no text)."""
    if text is None or text == "":
        return text
    return TEXT_DIGEST_PREFIX + anchor.mac(anchor.TEXT_CONTEXT, {"text": text})


def _without_personal_data(value: Any, keep_text: frozenset[str], path: str = "") -> Any:
    if isinstance(value, dict):
        clean = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else key
            if key in PERSONAL_KEYS:
                raise ValueError(f"audit entries name people by id, not by {where!r}: "
                                 "personal data in the chain could never be anonymised")
            if key in FREE_TEXT_KEYS and key not in keep_text and isinstance(item, str):
                clean[key] = text_digest(item)
            else:
                clean[key] = _without_personal_data(item, keep_text, where)
        return clean
    if isinstance(value, list):
        return [_without_personal_data(item, keep_text, path) for item in value]
    return value


def _payload(entry: AuditEntry) -> dict[str, Any]:
    return {
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


def entry_hash(entry: AuditEntry, key: bytes | None = None) -> str:
    """The HMAC-SHA256 (the audit key) of the entry's content and its predecessor's hash."""
    return anchor.mac(anchor.ENTRY_CONTEXT, _payload(entry), key)


def unkeyed_hash(entry: AuditEntry) -> str:
    """The plain SHA-256 of the same content: how entries were hashed before the chain was keyed,
    and what anyone without the key can compute."""
    return hashlib.sha256(anchor.canonical(_payload(entry))).hexdigest()


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
    keep_text: Iterable[str] = (),
) -> AuditEntry:
    """Append an entry (in the caller's transaction, which the caller commits).

    ``obj`` may be a model instance, from which type and id are taken. The chain
    head row is locked FOR UPDATE so two concurrent writers append one after the
    other instead of forking the chain. ``before``/``after`` must not hold personal
    data (refused with ValueError); free text under the keys in FREE_TEXT_KEYS is
    replaced by its keyed digest unless named in ``keep_text`` (text that names no one).
    """
    if obj is not None:
        object_type = object_type or obj.__tablename__
        db.session.flush()
        object_id = object_id if object_id is not None else getattr(obj, "id", None)
    if object_type is None:
        raise ValueError("audit.record needs an object or an object_type")
    keep = frozenset(keep_text)
    before = _without_personal_data(jsonable(before), keep) if before is not None else None
    after = _without_personal_data(jsonable(after), keep) if after is not None else None
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
        # An id, never a name: the name belongs to the person's row, which may be anonymised.
        actor_label=f"user #{actor.id}" if actor else "system",
        institution_id=institution_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        before=before,
        after=after,
        prev_hash=head.last_hash,
    )
    entry.hash = entry_hash(entry)
    head.last_seq = entry.seq
    head.last_hash = entry.hash
    db.session.add(entry)
    return entry


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class ChainProblem:
    """A place in the chain. ``kind``: "tampered", "unkeyed" (hashed without the key), "cut"
    (shorter than a checkpoint), or for notes "restore" and "adopted"."""

    seq: int | None
    message: str
    kind: str = "tampered"

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.message}" if self.seq is not None else self.message


@dataclass
class Verification:
    """What ``verify_log`` found: problems (tampering) and notes (explained events such as a restore)."""

    entries: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    problems: list[ChainProblem] = field(default_factory=list)
    notes: list[ChainProblem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Restore:
    seq: int
    at: datetime
    reason: str
    restored_seq: int
    checkpoints_seen: int


def _restore_of(entry: AuditEntry) -> _Restore | None:
    after = entry.after or {}
    try:
        restore = _Restore(seq=entry.seq, at=entry.at, reason=str(after["reason"]),
                           restored_seq=int(after["restored_seq"]), checkpoints_seen=int(after["checkpoints_seen"]))
    except (KeyError, TypeError, ValueError):
        return None
    # A restore explains only what follows the head it was recorded on.
    if restore.restored_seq != entry.seq - 1 or after.get("restored_hash") != entry.prev_hash:
        return None
    return restore


def _ranges(seqs: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for seq in seqs:
        if ranges and ranges[-1][1] == seq - 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}–{last}"


def verify_log(entries: Iterable[AuditEntry] | None = None,
               checkpoints: list[anchor.Checkpoint] | None = None) -> Verification:
    """Check every link, every entry's MAC, the head, and the signed checkpoints.

    Without ``checkpoints`` the configured checkpoint file is read. A restore recorded with
    ``record_restore`` explains the entries it lost (a note, not a problem).
    """
    key = anchor.audit_key()
    report = Verification()
    if checkpoints is None:
        checkpoints, file_problems = anchor.read_checkpoints()
        report.problems += [ChainProblem(None, f"checkpoint file {anchor.checkpoint_path()}, line {p.line}, {p.message}")
                            for p in file_problems]
    wanted = {c.seq for c in checkpoints}
    hashes_at: dict[int, str] = {}
    unkeyed: list[int] = []
    restores: list[_Restore] = []
    stored = _Stored() if entries is None else None
    expected_seq, prev_hash = 1, GENESIS
    for entry in stored if stored is not None else entries or ():
        report.entries += 1
        if entry.seq != expected_seq:
            report.problems.append(ChainProblem(entry.seq, f"expected sequence number {expected_seq}: "
                                                           "a row is missing or out of order"))
        if entry.prev_hash != prev_hash:
            report.problems.append(ChainProblem(entry.seq, "does not link to the previous entry's hash"))
        if hmac.compare_digest(entry.hash, entry_hash(entry, key)):
            restore = _restore_of(entry) if entry.action == RESTORE_ACTION else None
            if restore is not None:
                restores.append(restore)
        elif entry.hash == unkeyed_hash(entry):
            unkeyed.append(entry.seq)
        else:
            report.problems.append(ChainProblem(entry.seq, "content does not match its hash: the row was edited "
                                                           "(or AUDIT_KEY is not the key the log was written with)"))
        if entry.seq in wanted:
            hashes_at[entry.seq] = entry.hash
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    last_seq = expected_seq - 1
    report.head_seq, report.head_hash = last_seq, prev_hash
    _check_head(report, last_seq, prev_hash, stored.head if stored is not None else _head())
    covered = _check_checkpoints(report, checkpoints, hashes_at, restores, last_seq)
    for first, last in _ranges(unkeyed):
        if last <= covered:
            report.notes.append(ChainProblem(first, f"{_span(first, last)} were hashed before the chain was keyed; "
                                                    f"a signed checkpoint at entry {covered} vouches for them", "adopted"))
        else:
            report.problems.append(ChainProblem(
                max(first, covered + 1), f"{_span(max(first, covered + 1), last)} hashed without the audit key: recomputed "
                "by someone without AUDIT_KEY, or written before the chain was keyed (then an administrator "
                "vouches for them with `flask audit checkpoint --adopt-unkeyed`)", "unkeyed"))
    for restore in restores:
        report.notes.append(ChainProblem(restore.seq, f"backup restored on {restore.at.isoformat(timespec='seconds')}: "
                                                      f"the chain continues from entry {restore.restored_seq}; "
                                                      f"reason: {restore.reason}", "restore"))
    return report


def _head() -> tuple[int, str] | None:
    """The chain head as committed now: (its last sequence number, its hash), None without one."""
    row = db.session.execute(select(AuditHead.last_seq, AuditHead.last_hash).where(AuditHead.id == 1)).one_or_none()
    return None if row is None else (row.last_seq, row.last_hash)


class _Stored:
    """The stored entries in order, up to the head: every entry read in one statement, then those
    that audited writes appended while it ran, up to the head read after them (an entry and the
    head move in one transaction, so every entry up to a head read is committed when it is read).
    ``head`` is that head, which the chain must end at — not one read later, which writes
    committing meanwhile (a live portal's) would have moved past the entries read."""

    #: Rounds of catching up with writes that commit while the last round's entries were read.
    ROUNDS = 20

    def __init__(self) -> None:
        self.head: tuple[int, str] | None = None

    def __iter__(self) -> Iterator[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.seq)
        last = 0
        for entry in db.session.scalars(query).yield_per(1000):
            last = entry.seq
            yield entry
        for _round in range(self.ROUNDS):
            self.head = _head()
            if self.head is None or self.head[0] <= last:
                return
            more = db.session.scalars(query.where(AuditEntry.seq > last, AuditEntry.seq <= self.head[0])).all()
            if not more:  # the head is ahead of the entries: rows were removed from the end
                return
            for entry in more:
                last = entry.seq
                yield entry


def _check_head(report: Verification, last_seq: int, last_hash: str, head: tuple[int, str] | None) -> None:
    if head is None:
        if last_seq:
            report.problems.append(ChainProblem(None, f"the chain head is missing but the chain has {last_seq} entries"))
        return
    head_seq, head_hash = head
    if head_seq > last_seq:
        report.problems.append(ChainProblem(head_seq, f"the head records {head_seq} entries but the chain ends "
                                                      f"at {last_seq}: rows were removed from the end"))
    elif head_seq < last_seq:
        report.problems.append(ChainProblem(head_seq + 1, f"the head records {head_seq} entries but the chain "
                                                          f"goes on to {last_seq}: rows were added outside the log"))
    elif head_hash != last_hash:
        report.problems.append(ChainProblem(last_seq, "the last entry does not match the hash the head records: "
                                                      "it was replaced"))


def _check_checkpoints(report: Verification, checkpoints: list[anchor.Checkpoint], hashes_at: dict[int, str],
                       restores: list[_Restore], last_seq: int) -> int:
    """Compare the chain with each checkpoint; the highest checkpointed entry that matches."""
    covered = 0
    lost: dict[int, tuple[_Restore, int]] = {}
    for checkpoint in checkpoints:
        if hashes_at.get(checkpoint.seq) == checkpoint.hash:
            covered = max(covered, checkpoint.seq)
            continue
        restore = next((r for r in restores
                        if r.restored_seq < checkpoint.seq and checkpoint.n <= r.checkpoints_seen), None)
        if restore is not None:
            previous = lost.get(restore.seq)
            if previous is None or previous[1] < checkpoint.seq:
                lost[restore.seq] = (restore, checkpoint.seq)
        elif checkpoint.seq > last_seq:
            report.problems.append(ChainProblem(checkpoint.seq, f"checkpoint {checkpoint.n} ({checkpoint.at}) recorded "
                                                                f"entry {checkpoint.seq} but the chain ends at {last_seq}: "
                                                                "entries were removed from the end and the head rolled "
                                                                "back", "cut"))
        else:
            report.problems.append(ChainProblem(checkpoint.seq, f"differs from checkpoint {checkpoint.n} "
                                                                f"({checkpoint.at}): the chain was rewritten up to here"))
    for restore, lost_to in lost.values():
        report.notes.append(ChainProblem(restore.seq, f"{_span(restore.restored_seq + 1, lost_to)} recorded before the "
                                                      "backup was restored were lost with the restore (a checkpoint "
                                                      "written before it recorded them)", "restore"))
    return covered


def verify_chain(entries: Iterable[AuditEntry] | None = None) -> list[ChainProblem]:
    """Every place where the chain is broken: an edited, deleted, inserted or reordered row, a
    rewritten or cut chain (against the signed checkpoints)."""
    return verify_log(entries).problems


# --------------------------------------------------------------------------- checkpoints and restores


class AuditRefused(ValueError):
    """A checkpoint or restore was refused; the message says why and what to do."""


def write_checkpoint(report: Verification) -> anchor.Checkpoint | None:
    """Sign the head of a verified chain into the checkpoint file (None if already there or empty)."""
    if report.problems:
        raise AuditRefused("the chain is not intact: a checkpoint would vouch for tampering")
    if report.head_seq == 0:
        return None
    return anchor.append_checkpoint(report.head_seq, report.head_hash)


def checkpoint(adopt_unkeyed: bool = False) -> tuple[Verification, anchor.Checkpoint | None]:
    """Verify the chain and sign its head. ``adopt_unkeyed``: an administrator vouches for entries
    hashed before the chain was keyed (once, after upgrading); any other problem still refuses."""
    report = verify_log()
    blocking = [p for p in report.problems if not (adopt_unkeyed and p.kind == "unkeyed")]
    if blocking:
        return report, None
    vouched = [ChainProblem(p.seq, f"vouched for by this checkpoint: {p.message.split(':')[0]}", "adopted")
               for p in report.problems]
    adopted = Verification(report.entries, report.head_seq, report.head_hash, [], report.notes + vouched)
    return adopted, write_checkpoint(adopted)


@dataclass(frozen=True)
class RestoreRecord:
    entry: AuditEntry
    restored_seq: int
    lost_to_seq: int | None
    checkpoint: anchor.Checkpoint | None


def record_restore(reason: str, checkpoint_file: Path | None = None) -> RestoreRecord:
    """Record that the database was restored from a backup, continuing the chain on the restored head.

    Refused unless the restored chain is intact on its own and agrees with every checkpoint up to
    its end; checkpoints beyond its end are what the restore lost, and ``verify`` then reports them
    as explained by this entry. ``checkpoint_file``: a kept copy of the checkpoint file, put in
    place when the configured one is missing (lost with the server).
    """
    reason = (reason or "").strip()
    if not reason:
        raise AuditRefused("give the reason for the restore (--reason): it goes into the audit trail")
    if len(reason) > MAX_RESTORE_REASON:
        raise AuditRefused(f"the reason is longer than {MAX_RESTORE_REASON} characters")
    configured = anchor.checkpoint_path()
    if checkpoint_file is not None and checkpoint_file.resolve() != configured.resolve():
        try:
            anchor.copy_checkpoints(checkpoint_file, configured)
        except FileExistsError:
            raise AuditRefused(f"{configured} already holds checkpoints: compare the restored chain with it (leave "
                               "out --checkpoint-file) or move it away first") from None
    checkpoints, file_problems = anchor.read_checkpoints()
    if file_problems:
        raise AuditRefused("the checkpoint file is damaged: " + "; ".join(f"line {p.line} {p.message}"
                                                                          for p in file_problems))
    report = verify_log(checkpoints=checkpoints)
    broken = [p for p in report.problems if p.kind != "cut"]
    if broken:
        raise AuditRefused("the restored chain is not intact, and a restore does not explain that: "
                           + "; ".join(str(p) for p in broken))
    lost = [c for c in checkpoints if c.seq > report.head_seq]
    entry = record(RESTORE_ACTION, object_type="audit_log", keep_text={"reason"}, after={
        "reason": reason, "restored_seq": report.head_seq, "restored_hash": report.head_hash,
        "checkpoints_seen": max((c.n for c in checkpoints), default=0),
        "lost_to_seq": max((c.seq for c in lost), default=None)})
    db.session.commit()
    written = anchor.append_checkpoint(entry.seq, entry.hash)
    return RestoreRecord(entry, report.head_seq, max((c.seq for c in lost), default=None), written)


def snapshot(obj: Any, fields: Iterable[str]) -> dict:
    """The named attributes of ``obj`` as a JSON-able dict, for before/after."""
    return {name: jsonable(getattr(obj, name)) for name in fields}
