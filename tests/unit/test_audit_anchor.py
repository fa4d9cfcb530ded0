"""The audit chain anchored outside the database: a keyed hash per entry and signed checkpoints of
the head, so that someone who can write the database (but has neither the key nor the checkpoint
file) cannot rewrite or cut the chain unseen; a recorded restore from backup is explained, not
tampering; and no personal data enters the hashed payload."""
from __future__ import annotations

import json
import os
import secrets
import stat

import pytest
from sqlalchemy import select, text

from examportal import create_app
from examportal.audit import anchor
from examportal.audit import services as audit_log
from examportal.audit.services import GENESIS, entry_hash, unkeyed_hash, verify_chain, verify_log
from examportal.extensions import db
from examportal.models import AuditEntry, AuditHead


def append(n: int, start: int = 0) -> list[AuditEntry]:
    for i in range(start, start + n):
        audit_log.record("thing.changed", object_type="thing", object_id=i + 1, before={"value": i}, after={"value": i + 1})
        db.session.commit()
    return chain()


def chain() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def raw(sql: str, **params) -> None:
    """Change the tables directly, as someone with write access to the database would."""
    db.session.execute(text(sql), params)
    db.session.commit()
    db.session.expire_all()


def rehash_from(seq: int, hasher) -> None:
    """What an attacker does after editing row ``seq``: recompute every later link and hash, and the head."""
    entries = chain()
    previous = next((e.hash for e in entries if e.seq == seq - 1), GENESIS)
    for entry in entries:
        if entry.seq < seq:
            continue
        entry.prev_hash = previous
        entry.hash = hasher(entry)
        previous = entry.hash
        raw("UPDATE audit_entry SET prev_hash = :p, hash = :h WHERE seq = :s", p=entry.prev_hash, h=entry.hash, s=entry.seq)
    raw("UPDATE audit_head SET last_seq = :s, last_hash = :h", s=entries[-1].seq, h=previous)


def cut_to(seq: int) -> None:
    """Delete every entry after ``seq`` and roll the head back to it: the chain looks whole."""
    raw("DELETE FROM audit_entry WHERE seq > :s", s=seq)
    last = chain()[-1]
    raw("UPDATE audit_head SET last_seq = :s, last_hash = :h", s=last.seq, h=last.hash)


def cli(runner, *args):
    result = runner.invoke(args=["audit", *args])
    return result.exit_code, result.output + (getattr(result, "stderr", "") or "")


def checkpoint_lines() -> list[dict]:
    path = anchor.checkpoint_path()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


# --------------------------------------------------------------------------- the keyed hash


def test_a_row_edited_and_every_hash_recomputed_without_the_key_is_found(app, runner):
    append(4)
    raw("""UPDATE audit_entry SET "after" = :v WHERE seq = 2""", v=json.dumps({"value": 999}))
    rehash_from(2, unkeyed_hash)
    # The forgery is consistent by the public rule: links, hashes and head all agree ...
    entries = chain()
    assert all(e.hash == unkeyed_hash(e) for e in entries[1:]) and entries[1].after == {"value": 999}
    assert db.session.get(AuditHead, 1).last_hash == entries[-1].hash
    # ... but without the key its hashes are not the chain's.
    problems = verify_chain()
    assert [(p.seq, p.kind) for p in problems] == [(2, "unkeyed")]
    assert "entries 2–4 hashed without the audit key" in str(problems[0])
    code, output = cli(runner, "verify")
    assert code == 1 and "TAMPERED seq 2:" in output


def test_a_row_rehashed_with_a_guessed_key_is_found(app):
    append(3)
    raw("UPDATE audit_entry SET action = 'thing.deleted' WHERE seq = 3")
    rehash_from(3, lambda entry: entry_hash(entry, key=b"a guess at the key, 32 characters"))
    problems = verify_chain()
    assert [p.seq for p in problems] == [3] and "the row was edited" in str(problems[0])


def test_entries_are_keyed_with_the_configured_key(app):
    [entry] = append(1)
    assert entry.hash == entry_hash(entry) != unkeyed_hash(entry)
    assert entry.hash != entry_hash(entry, key=b"another key, also long enough....")


# --------------------------------------------------------------------------- checkpoints


def test_verify_signs_the_head_into_the_checkpoint_file(app, runner):
    append(3)
    code, output = cli(runner, "verify")
    assert code == 0 and "checkpoint 1 written: entry 3" in output
    [line] = checkpoint_lines()
    assert (line["n"], line["seq"], line["hash"]) == (1, 3, chain()[-1].hash)
    assert line["key_id"] == anchor.key_id() and len(line["mac"]) == 64
    assert stat.S_IMODE(os.stat(anchor.checkpoint_path()).st_mode) == 0o600
    # Nothing new, no new line; --no-checkpoint writes none either.
    assert cli(runner, "verify")[0] == 0 and len(checkpoint_lines()) == 1
    append(1, start=3)
    assert cli(runner, "verify", "--no-checkpoint")[0] == 0 and len(checkpoint_lines()) == 1
    code, output = cli(runner, "checkpoint")
    assert code == 0 and "checkpoint 2 written" in output and checkpoint_lines()[-1]["seq"] == 4
    code, output = cli(runner, "checkpoint")
    assert code == 0 and "no new checkpoint" in output and len(checkpoint_lines()) == 2


def test_an_empty_log_writes_no_checkpoint(app, runner):
    code, output = cli(runner, "checkpoint")
    assert code == 0 and "the audit log is empty" in output and checkpoint_lines() == []


def test_cutting_the_tail_and_rolling_the_head_back_is_found_through_a_checkpoint(app, runner):
    append(5)
    assert cli(runner, "verify")[0] == 0  # checkpoint 1: entry 5
    cut_to(3)
    # The database alone looks whole: only the checkpoint knows there were five entries.
    assert verify_log(checkpoints=[]).problems == []
    problems = verify_chain()
    assert [(p.seq, p.kind) for p in problems] == [(5, "cut")]
    assert "checkpoint 1" in str(problems[0]) and "the chain ends at 3" in str(problems[0])
    code, output = cli(runner, "verify")
    assert code == 1 and "TAMPERED seq 5:" in output and "removed from the end" in output
    assert len(checkpoint_lines()) == 1  # a tampered head is never checkpointed


def test_a_cut_chain_grown_again_differs_from_the_checkpoint(app):
    append(5)
    audit_log.write_checkpoint(verify_log())
    cut_to(3)
    append(3, start=10)  # the application carries on: entries 4, 5, 6 are new ones
    problems = verify_chain()
    assert [p.seq for p in problems] == [5] and "differs from checkpoint 1" in str(problems[0])


def test_a_checkpoint_refuses_a_tampered_chain(app, runner):
    append(3)
    raw("UPDATE audit_entry SET action = 'x' WHERE seq = 2")
    code, output = cli(runner, "checkpoint")
    assert code == 1 and "no checkpoint written" in output and checkpoint_lines() == []
    with pytest.raises(audit_log.AuditRefused):
        audit_log.write_checkpoint(verify_log())


@pytest.mark.parametrize("damage, message", [
    ("edit", "does not match its signature"),
    ("remove", "a line was removed"),
    ("garbage", "is not a checkpoint"),
    ("other key", "signed with another key"),
])
def test_a_tampered_checkpoint_file_is_found(app, damage, message):
    for n in range(3):
        append(1, start=n)
        audit_log.write_checkpoint(verify_log())
    path = anchor.checkpoint_path()
    lines = path.read_text(encoding="utf-8").splitlines()
    if damage == "edit":
        line = json.loads(lines[1])
        line["seq"] = 1
        lines[1] = json.dumps(line)
    elif damage == "remove":
        del lines[1]
    elif damage == "garbage":
        lines[1] = "{not json"
    else:
        line = json.loads(lines[1])
        other = b"someone else's key, long enough for it"
        line["key_id"] = anchor.key_id(other)
        line["mac"] = anchor.mac(anchor.CHECKPOINT_CONTEXT, {k: line[k] for k in ("n", "seq", "hash", "at", "key_id")}, other)
        lines[1] = json.dumps(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = verify_chain()
    assert problems and any(message in str(p) for p in problems), problems


# --------------------------------------------------------------------------- restore from backup


def _restore_backup_taken_at(seq: int) -> None:
    """The database goes back to a backup taken when the chain ended at ``seq``."""
    cut_to(seq)


def test_a_recorded_restore_is_accepted_and_reported(app, runner):
    append(5)
    assert cli(runner, "verify")[0] == 0          # checkpoint 1: entry 5 (the backup is taken now)
    append(3, start=5)
    assert cli(runner, "verify")[0] == 0          # checkpoint 2: entry 8
    _restore_backup_taken_at(5)
    code, output = cli(runner, "verify")
    assert code == 1 and "TAMPERED seq 8:" in output  # unexplained, a restore looks like a cut

    code, output = cli(runner, "restored", "--reason", "Awaria dysku serwera bazy danych")
    assert code == 0, output
    assert "entry 6, continuing from entry 5" in output and "entries 6–8" in output
    entry = chain()[-1]
    assert (entry.seq, entry.action, entry.prev_hash) == (6, "backup.restored", chain()[4].hash)
    assert entry.after["reason"] == "Awaria dysku serwera bazy danych"  # an incident, not a person
    assert (entry.after["restored_seq"], entry.after["checkpoints_seen"], entry.after["lost_to_seq"]) == (5, 2, 8)

    append(4, start=20)                           # the chain goes on past the lost entries' numbers
    code, output = cli(runner, "verify")
    assert code == 0, output
    assert "RESTORED seq 6: backup restored" in output and "Awaria dysku" in output
    assert "entries 6–8 recorded before the backup was restored were lost" in output
    assert "intact: 10 entries" in output
    report = verify_log()
    assert report.intact and {n.kind for n in report.notes} == {"restore"}
    # Later checkpoints are compared as usual: the restore explains only what it lost.
    append(1, start=30)
    assert cli(runner, "verify")[0] == 0
    cut_to(9)
    code, output = cli(runner, "verify")
    assert code == 1 and "TAMPERED seq 11:" in output


def test_a_restore_forged_without_the_key_explains_nothing(app):
    append(5)
    audit_log.write_checkpoint(verify_log())
    cut_to(3)
    last = chain()[-1]
    forged = AuditEntry(seq=4, at=last.at, actor_id=None, actor_label="system", institution_id=None,
                        action="backup.restored", object_type="audit_log", object_id=None, before=None,
                        after={"reason": "x", "restored_seq": 3, "restored_hash": last.hash, "checkpoints_seen": 1,
                               "lost_to_seq": 5}, prev_hash=last.hash)
    forged.hash = unkeyed_hash(forged)
    db.session.add(forged)
    raw("UPDATE audit_head SET last_seq = 4, last_hash = :h", h=forged.hash)
    kinds = {p.kind for p in verify_chain()}
    assert kinds == {"unkeyed", "cut"}


def test_a_restore_of_something_else_is_refused(app, runner):
    """A "backup" whose chain disagrees with a checkpoint at or before its end is not a copy of this log."""
    append(5)
    assert cli(runner, "verify")[0] == 0
    raw("UPDATE audit_entry SET action = 'other' WHERE seq = 3")
    rehash_from(3, lambda entry: entry_hash(entry, key=b"not the key, but long enough......"))
    code, output = cli(runner, "restored", "--reason", "Przywrócenie kopii")
    assert code == 1 and "the restored chain is not intact" in output
    assert chain()[-1].action != "backup.restored"


@pytest.mark.parametrize("reason, message", [("   ", "give the reason"), ("x" * 501, "longer than 500")])
def test_a_restore_needs_a_short_reason(app, runner, reason, message):
    append(1)
    code, output = cli(runner, "restored", "--reason", reason)
    assert code == 1 and message in output


def test_a_kept_copy_of_the_checkpoint_file_is_put_in_place(app, runner, tmp_path):
    append(4)
    audit_log.write_checkpoint(verify_log())
    append(2, start=4)
    audit_log.write_checkpoint(verify_log())
    kept = tmp_path / "kept-copy.jsonl"
    kept.write_bytes(anchor.checkpoint_path().read_bytes())
    # The configured file exists: the copy is not taken over it.
    code, output = cli(runner, "restored", "--reason", "Serwer odtworzony", "--checkpoint-file", str(kept))
    assert code == 1 and "already holds checkpoints" in output
    # Server and instance folder lost: the database comes back from a backup at entry 4, the
    # checkpoints from the kept copy.
    anchor.checkpoint_path().unlink()
    _restore_backup_taken_at(4)
    code, output = cli(runner, "restored", "--reason", "Serwer odtworzony", "--checkpoint-file", str(kept))
    assert code == 0, output
    assert "entries 5–6" in output and len(checkpoint_lines()) == 3
    assert cli(runner, "verify")[0] == 0


# --------------------------------------------------------------------------- entries from before the key


def test_entries_hashed_before_the_key_are_adopted_once_by_an_administrator(app, runner):
    append(4)
    rehash_from(1, unkeyed_hash)  # as every entry was hashed before this version
    code, output = cli(runner, "verify")
    assert code == 1 and "entries 1–4 hashed without the audit key" in output and "--adopt-unkeyed" in output
    assert cli(runner, "checkpoint")[0] == 1
    code, output = cli(runner, "checkpoint", "--adopt-unkeyed")
    assert code == 0 and "checkpoint 1 written" in output
    append(2, start=4)  # keyed from now on
    code, output = cli(runner, "verify")
    assert code == 0 and "NOTE seq 1: entries 1–4 were hashed before the chain was keyed" in output
    # The adoption vouches for those entries as they were: a later rewrite shows.
    raw("UPDATE audit_entry SET action = 'other' WHERE seq = 2")
    rehash_from(2, unkeyed_hash)
    assert cli(runner, "verify")[0] == 1


def test_adopting_does_not_excuse_other_tampering(app, runner):
    append(3)
    rehash_from(1, unkeyed_hash)
    raw("DELETE FROM audit_entry WHERE seq = 2")
    code, output = cli(runner, "checkpoint", "--adopt-unkeyed")
    assert code == 1 and "no checkpoint written" in output and checkpoint_lines() == []


# --------------------------------------------------------------------------- the key


def test_without_a_configured_key_one_is_created_with_mode_600_and_kept(app_factory, tmp_path):
    key_file = tmp_path / "keys" / "audit_key"
    other = app_factory(AUDIT_KEY=None, AUDIT_KEY_FILE=str(key_file))
    with other.app_context():
        first = anchor.audit_key()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(first) == 64
        assert anchor.audit_key() == first
        key_file.chmod(0o644)
        with pytest.raises(anchor.AuditKeyError, match="chmod 600"):
            anchor.audit_key()


def test_production_never_generates_a_key(app_factory, tmp_path):
    other = app_factory(AUDIT_KEY=None, AUDIT_KEY_FILE=str(tmp_path / "audit_key"), ENV_NAME="production")
    with other.app_context(), pytest.raises(anchor.AuditKeyError, match="AUDIT_KEY"):
        anchor.audit_key()
    assert not (tmp_path / "audit_key").exists()


def _production(monkeypatch, audit_key):
    from examportal.config import ProductionConfig

    secret = secrets.token_hex(32)
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", secret)
    monkeypatch.setattr(ProductionConfig, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setattr(ProductionConfig, "AUDIT_KEY", secret if audit_key == "same" else audit_key)
    monkeypatch.setattr(ProductionConfig, "CREDENTIAL_KEY", secrets.token_hex(32))
    return ProductionConfig


@pytest.mark.parametrize("audit_key", [None, "", "a" * 64, "changeme" * 4, "same"])
def test_production_refuses_to_start_without_a_real_audit_key(monkeypatch, audit_key):
    _production(monkeypatch, audit_key)
    with pytest.raises(RuntimeError, match="AUDIT_KEY must be set in production"):
        create_app("production")


def test_production_accepts_a_random_audit_key(monkeypatch):
    config = _production(monkeypatch, secrets.token_hex(32))
    config.check()


# --------------------------------------------------------------------------- no personal data in the chain


@pytest.mark.parametrize("data", [
    {"email": "jan@example.pl"},
    {"first_name": "Jan"},
    {"pesel": "90051701234"},
    {"nested": {"last_name": "Kowalski"}},
    {"people": [{"phone": "600100200"}]},
])
def test_record_refuses_personal_data(app, data):
    with pytest.raises(ValueError, match="by id"):
        audit_log.record("thing.changed", object_type="thing", after=data)
    assert chain() == []


def test_free_text_is_kept_as_a_keyed_digest(app):
    audit_log.record("thing.changed", object_type="thing", before={"note": None},
                     after={"reason": "Pan Jan Kowalski zasłabł", "note": "", "scores": {"justification": "Anna Nowak"}})
    db.session.commit()
    entry = chain()[-1]
    assert "Kowalski" not in json.dumps(entry.after, ensure_ascii=False) and "Nowak" not in json.dumps(entry.after)
    assert entry.after["reason"] == audit_log.text_digest("Pan Jan Kowalski zasłabł")
    assert entry.after["reason"].startswith(audit_log.TEXT_DIGEST_PREFIX)
    assert entry.after["scores"]["justification"].startswith(audit_log.TEXT_DIGEST_PREFIX)
    assert entry.after["note"] == "" and entry.before == {"note": None}
    # Keyed: nobody without the key confirms a guess of the text.
    assert entry.after["reason"] != audit_log.TEXT_DIGEST_PREFIX + anchor.mac(
        anchor.TEXT_CONTEXT, {"text": "Pan Jan Kowalski zasłabł"}, b"someone else's key, long enough")


def test_a_savepoint_rolled_back_takes_only_its_own_entries(app):
    audit_log.record("thing.before", object_type="thing")
    savepoint = db.session.begin_nested()
    audit_log.record("thing.inside", object_type="thing")
    savepoint.rollback()
    with db.session.begin_nested():
        audit_log.record("thing.kept_inside", object_type="thing")
    audit_log.record("thing.after", object_type="thing")
    db.session.commit()
    assert [e.action for e in chain()] == ["thing.before", "thing.kept_inside", "thing.after"]
    assert not audit_log.verify_log().problems
