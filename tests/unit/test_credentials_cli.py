"""``flask credentials``: listing and rotating keys, issuing missing credentials, checking a file."""
from __future__ import annotations

import json

import pytest

from examportal.certification import hooks
from examportal.credentials import badge, keys
from tests.certtools import certification_world, make_certificate


@pytest.fixture
def world(app, qualification):
    return certification_world(qualification)


def test_rotate_and_list_keys(app, world):
    certificate = make_certificate(world["enrolments"][1], world["staff"])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["credentials", "rotate-key", world["ic"].short_name])
    assert result.exit_code == 0, result.output
    new = keys.active_key(world["ic"])
    assert new.kid in result.output and new.id != badge.credential_for(certificate).key_id
    listing = runner.invoke(args=["credentials", "keys", world["ic"].short_name]).output
    assert listing.count(world["ic"].short_name) == 2 and "retired" in listing and "signing" in listing


def test_an_unknown_institution_is_a_usage_error(app, world):
    result = app.test_cli_runner().invoke(args=["credentials", "rotate-key", "NIEMA"])
    assert result.exit_code == 2 and "no institution with the short name 'NIEMA'" in result.output


def test_issue_missing_credentials_once(app, world):
    receiver = badge._on_issued
    hooks.issued.disconnect(receiver)
    try:
        certificate = make_certificate(world["enrolments"][1], world["staff"])
    finally:
        hooks.issued.connect(receiver)
    runner = app.test_cli_runner()
    assert "1 credential(s) issued" in runner.invoke(args=["credentials", "issue-missing"]).output
    assert badge.credential_for(certificate) is not None
    assert "0 credential(s) issued" in runner.invoke(args=["credentials", "issue-missing"]).output


def test_verify_a_file(app, world, tmp_path):
    certificate = make_certificate(world["enrolments"][1], world["staff"])
    good = tmp_path / "good.json"
    good.write_bytes(badge.serialize(badge.credential_for(certificate).document))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["credentials", "verify", str(good)])
    assert result.exit_code == 0 and "verified" in result.output and certificate.number in result.output
    bad = tmp_path / "bad.json"
    document = json.loads(good.read_text())
    document["name"] = "Inna kwalifikacja"
    bad.write_text(json.dumps(document))
    result = runner.invoke(args=["credentials", "verify", str(bad)])
    assert result.exit_code == 1 and "bad_signature" in result.output
