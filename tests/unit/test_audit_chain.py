"""The hash-chained audit log: appending builds a valid chain; every kind of tampering done
behind the application's back (raw SQL) is found by verify_chain() and by `flask audit verify`."""
from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text

from examportal.audit import services as audit_log
from examportal.audit.services import GENESIS, entry_hash, verify_chain
from examportal.extensions import db
from examportal.models import AuditEntry, AuditHead
from tests.factories import make_user


def append(n: int) -> list[AuditEntry]:
    for i in range(n):
        audit_log.record("thing.changed", object_type="thing", object_id=i + 1,
                         before={"value": i}, after={"value": i + 1, "when": datetime(2026, 1, 1, tzinfo=UTC)})
        db.session.commit()
    return chain()


def chain() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))


def raw(sql: str, **params) -> None:
    """Tamper with the table directly, as someone with database access would."""
    db.session.execute(text(sql), params)
    db.session.commit()
    db.session.expire_all()


def broken_seqs() -> set:
    return {problem.seq for problem in verify_chain()}


def verify_cli(runner):
    result = runner.invoke(args=["audit", "verify"])
    output = result.output + (getattr(result, "stderr", "") or "")
    return result.exit_code, output


def test_appending_builds_a_valid_chain(app):
    actor = make_user()
    audit_log.record("first", object_type="thing", actor=actor, after={"name": "Zażółć <gęślą>"})
    db.session.commit()
    entries = append(3)
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash
    for entry in entries:
        assert entry.hash == entry_hash(entry) and len(entry.hash) == 64
    assert entries[0].actor_id == actor.id and entries[0].actor_label == f"user #{actor.id}"  # no name: see test_audit_anchor
    assert entries[1].actor_label == "system"
    assert entries[1].after["when"] == "2026-01-01T00:00:00+00:00"  # JSON-able, stable across backends
    head = db.session.get(AuditHead, 1)
    assert (head.last_seq, head.last_hash) == (4, entries[-1].hash)
    assert verify_chain() == []


def test_an_empty_log_is_intact(app, runner):
    assert verify_chain() == []
    assert verify_cli(runner)[0] == 0


def test_record_needs_an_object_type(app):
    with pytest.raises(ValueError):
        audit_log.record("nothing")


@pytest.mark.parametrize("column, value", [
    ("after", json.dumps({"value": 999, "when": "2026-01-01T00:00:00+00:00"})),
    ("action", "thing.deleted"),
    ("actor_label", "user #999"),
])
def test_an_edited_row_is_found(app, column, value):
    append(4)
    raw(f'UPDATE audit_entry SET "{column}" = :value WHERE seq = 2', value=value)
    problems = verify_chain()
    assert {p.seq for p in problems} == {2}
    assert "edited" in str(problems[0])


def test_a_deleted_row_in_the_middle_is_found(app):
    append(4)
    raw("DELETE FROM audit_entry WHERE seq = 2")
    assert 3 in broken_seqs()
    assert 4 not in broken_seqs()  # the rest still links up


def test_a_deleted_last_row_is_found_through_the_head(app):
    append(3)
    raw("DELETE FROM audit_entry WHERE seq = 3")
    problems = verify_chain()
    assert [p.seq for p in problems] == [3]
    assert "removed from the end" in str(problems[0])


def test_a_deleted_head_is_found(app):
    append(2)
    raw("DELETE FROM audit_head")
    assert verify_chain() != []


def test_swapped_rows_are_found(app):
    append(4)
    raw("UPDATE audit_entry SET seq = -2 WHERE seq = 2")
    raw("UPDATE audit_entry SET seq = 2 WHERE seq = 3")
    raw("UPDATE audit_entry SET seq = 3 WHERE seq = -2")
    assert {2, 3} <= broken_seqs()


def _forge(seq: int, prev_hash: str) -> None:
    """A row crafted with the public hashing rule, inserted without going through record()."""
    forged = AuditEntry(seq=seq, at=datetime.now(UTC), actor_id=None, actor_label="system",
                        institution_id=None, action="certificate.issued", object_type="certificate",
                        object_id="1", before=None, after={"forged": True}, prev_hash=prev_hash)
    forged.hash = entry_hash(forged)
    db.session.add(forged)
    db.session.commit()


def test_a_forged_row_appended_at_the_end_is_found(app):
    entries = append(3)
    _forge(4, entries[-1].hash)
    problems = verify_chain()
    assert [p.seq for p in problems] == [4]
    assert "added outside the log" in str(problems[0])


def test_a_forged_row_inserted_in_the_middle_is_found(app):
    entries = append(3)
    raw("UPDATE audit_entry SET seq = 4 WHERE seq = 3")
    _forge(3, entries[1].hash)
    assert 4 in broken_seqs()


def test_a_forged_row_with_a_made_up_hash_is_found(app):
    append(2)
    raw("INSERT INTO audit_entry (seq, at, actor_label, action, object_type, prev_hash, hash) "
        "VALUES (3, :at, 'system', 'forged', 'thing', :prev, :hash)",
        at=datetime.now(UTC), prev=GENESIS, hash="f" * 64)
    assert 3 in broken_seqs()


def test_verify_accepts_an_explicit_list_of_entries(app):
    entries = append(3)
    assert verify_chain(entries) == []
    problems = verify_chain([entries[0], entries[2]])
    assert 3 in {p.seq for p in problems}


# --- the command ----------------------------------------------------------------------------


def test_cli_verify_passes_on_an_intact_chain(app, runner):
    append(3)
    code, output = verify_cli(runner)
    assert code == 0, output
    assert "intact: 3 entries" in output


TAMPERING = {
    "edited after": (["UPDATE audit_entry SET \"after\" = :v WHERE seq = 2"], {"v": json.dumps({"value": 5})}, 2),
    "edited action": (["UPDATE audit_entry SET action = 'other' WHERE seq = 3"], {}, 3),
    "deleted middle": (["DELETE FROM audit_entry WHERE seq = 2"], {}, 3),
    "deleted last": (["DELETE FROM audit_entry WHERE seq = 4"], {}, 4),
    "swapped": (["UPDATE audit_entry SET seq = -1 WHERE seq = 1", "UPDATE audit_entry SET seq = 1 WHERE seq = 2",
                 "UPDATE audit_entry SET seq = 2 WHERE seq = -1"], {}, 1),
}


@pytest.mark.parametrize("kind", [*sorted(TAMPERING), "forged"])
def test_cli_verify_fails_listing_the_broken_seq(app, runner, kind):
    entries = append(4)
    if kind == "forged":
        _forge(5, entries[-1].hash)
        broken = 5
    else:
        statements, params, broken = TAMPERING[kind]
        for statement in statements:
            raw(statement, **{k: v for k, v in params.items() if f":{k}" in statement})
    code, output = verify_cli(runner)
    assert code != 0
    assert "TAMPERED" in output
    assert f"seq {broken}:" in output, output


@pytest.mark.committing
def test_writes_committing_while_the_chain_is_verified_are_no_tampering(app, monkeypatch):
    """A live portal keeps auditing while `flask audit verify` or the hourly checkpoint reads the
    chain: entries appended after the scan began are read up to the head they moved, never taken
    for rows removed from the end (the checkpoint would then refuse to sign)."""
    append(2)
    real_head, writes = audit_log._head, []

    def another_request_audits_first():
        if len(writes) < 2:  # two rounds: each head read finds a write committed after the entries read
            def write():
                with app.app_context():
                    audit_log.record("thing.changed", object_type="thing", object_id=99)
                    db.session.commit()
                    writes.append(True)
                    db.session.remove()

            thread = threading.Thread(target=write)
            thread.start()
            thread.join(30)
        return real_head()

    monkeypatch.setattr(audit_log, "_head", another_request_audits_first)
    report = audit_log.verify_log(checkpoints=[])
    assert len(writes) == 2
    assert report.problems == [] and report.entries == report.head_seq == 4


def test_a_head_ahead_of_the_entries_is_still_reported_when_nothing_catches_it_up(app):
    append(3)
    raw("UPDATE audit_head SET last_seq = 5")
    problems = verify_chain()
    assert [p.seq for p in problems] == [5] and "removed from the end" in str(problems[0])
