"""The Open Badges 3.0 credential of a certificate: its content, its eddsa-rdfc-2022 proof, the
signing keys (sealed, rotated) and the Bitstring Status Lists."""
from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from examportal.certification import services
from examportal.credentials import badge, jsonld, keys, proof, status, verification
from examportal.extensions import db
from examportal.models import STATUS_LIST_SIZE, AuditEntry, CredentialKey, StatusList
from tests.certtools import certification_world, make_certificate
from tests.factories import make_institution


@pytest.fixture
def world(app, qualification):
    return certification_world(qualification)


@pytest.fixture
def issued(world):
    certificate = make_certificate(world["enrolments"][1], world["staff"])
    return certificate, badge.credential_for(certificate)


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _set(document, path, value):
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value


# --------------------------------------------------------------------------- the content


def test_a_certificate_gets_a_signed_open_badge_credential(issued, world):
    certificate, row = issued
    document = row.document
    assert document["@context"] == [jsonld.VC_V2, jsonld.OB_V3]
    assert document["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert document["issuer"]["id"].endswith(f"/ob/issuers/{world['ic'].id}")
    assert document["issuer"]["type"] == ["Profile"]
    assert document["validFrom"] < document["validUntil"]
    assert document["validUntil"].startswith(certificate.valid_until.isoformat()[:4])
    subject = document["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["licenseNumber"] == certificate.number
    proof_ = document["proof"]
    assert proof_["type"] == "DataIntegrityProof" and proof_["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof_["proofPurpose"] == "assertionMethod" and proof_["proofValue"].startswith("z")
    assert row.document_sha256 == hashlib.sha256(badge.serialize(document)).hexdigest()


def test_the_subject_is_a_salted_hash_of_the_email_and_never_the_pesel(issued, world):
    certificate, row = issued
    text = json.dumps(row.document, ensure_ascii=False)
    holder = world["candidates"][1]
    assert holder.pesel not in text and holder.pesel[-4:] not in text.replace(certificate.number, "")
    assert holder.email not in text
    email_id = next(i for i in row.document["credentialSubject"]["identifier"] if i["identityType"] == "emailAddress")
    assert email_id["hashed"] is True and len(email_id["salt"]) >= 16
    assert email_id["identityHash"] == "sha256$" + hashlib.sha256((holder.email + email_id["salt"]).encode()).hexdigest()
    other = make_certificate(world["enrolments"][2], world["staff"])
    other_id = badge.credential_for(other).document["credentialSubject"]["identifier"][0]
    assert other_id["salt"] != email_id["salt"]


def test_the_achievement_lists_every_learning_outcome_from_the_qualification(issued, qualification):
    _, row = issued
    achievement = row.document["credentialSubject"]["achievement"]
    outcomes = [o for s in qualification.outcome_sets for o in s.outcomes]
    assert len(outcomes) == 8
    assert achievement["id"].endswith(f"/qualifications/{qualification.code}")
    assert achievement["criteria"]["id"] != achievement["id"]  # its own node: the narrative stays on the criteria
    for outcome in outcomes:
        assert f"{outcome.code} {outcome.name_pl}" in achievement["criteria"]["narrative"]
    assert [(a["targetCode"], a["targetName"]) for a in achievement["alignment"]] == [(o.code, o.name_pl) for o in outcomes]
    assert all(a["targetUrl"].endswith(f"#efekt-{a['targetCode']}") for a in achievement["alignment"])


def test_each_credential_has_random_entries_in_both_status_lists(issued, world):
    _, row = issued
    entries = {e["statusPurpose"]: e for e in row.document["credentialStatus"]}
    assert set(entries) == {"revocation", "suspension"}
    for purpose, entry in entries.items():
        assert entry["type"] == "BitstringStatusListEntry"
        assert entry["statusListCredential"].endswith(f"/ob/status/{getattr(row, purpose + '_list_id')}")
        assert int(entry["statusListIndex"]) == getattr(row, purpose + "_index")
    indexes = {badge.credential_for(make_certificate(e, world["staff"])).revocation_index for e in world["enrolments"][2:]}
    assert row.revocation_index not in indexes


def test_the_credential_is_issued_once(issued):
    certificate, row = issued
    assert badge.ensure(certificate).id == row.id
    assert badge.issue(certificate).id == row.id


# --------------------------------------------------------------------------- the proof


def test_the_credential_verifies(issued):
    certificate, row = issued
    verdict = verification.check(copy.deepcopy(row.document))
    assert verdict.verified, verdict.problems
    assert verdict.certificate.id == certificate.id


def test_a_reserialised_credential_still_verifies(issued):
    _, row = issued
    reordered = json.loads(json.dumps(row.document, sort_keys=True, indent=4))
    assert verification.verify_bytes(json.dumps(reordered)).verified


def test_changing_any_value_breaks_the_signature(issued):
    """Every leaf of the credential is covered by the proof (none falls outside the contexts)."""
    _, row = issued
    for path, value in _leaves({k: v for k, v in row.document.items() if k != "proof"}):
        if path[0] == "@context":
            continue
        tampered = copy.deepcopy(row.document)
        _set(tampered, path, (not value) if isinstance(value, bool) else f"{value}x")
        verdict = verification.check(tampered)
        assert not verdict.signature_valid and not verdict.verified, path
        if path[0] == "type":
            expected = "not_a_credential"  # checked before the proof
        elif path == ("issuer", "id"):
            expected = "key_not_issuers"  # the signing key is not the new issuer's
        elif "type" in path:
            expected = "undefined_term"  # "AchievementSubjectx" is no type the contexts define
        else:
            expected = "bad_signature"
        assert verdict.problems == [expected], path


def test_an_added_property_or_type_is_refused_not_ignored(issued):
    """Canonicalisation would drop what the contexts do not define; the check refuses it instead."""
    _, row = issued
    for change in (lambda d: d["credentialSubject"].update(grade="A"),
                   lambda d: d["credentialSubject"]["achievement"].update(level="5"),
                   lambda d: d["credentialSubject"]["type"].append("Graduate"),
                   lambda d: d.update(note="x")):
        tampered = copy.deepcopy(row.document)
        change(tampered)
        assert verification.check(tampered).problems == ["undefined_term"]


def test_a_proof_value_from_another_key_fails(issued):
    _, row = issued
    forged = proof.sign({k: v for k, v in row.document.items() if k != "proof"}, Ed25519PrivateKey.generate().sign,
                        row.document["proof"]["verificationMethod"], datetime.now(UTC))
    assert verification.check(forged).problems == ["bad_signature"]


def test_a_key_of_another_issuer_does_not_vouch(issued, world, qualification):
    _, row = issued
    foreign_key = keys.signing_key(make_institution("Inna", qualifications=[qualification], short_name="INNA"))
    db.session.commit()
    document = {k: v for k, v in row.document.items() if k != "proof"}
    forged = proof.sign(document, foreign_key.sign, keys.method_url(foreign_key.row), datetime.now(UTC))
    assert verification.check(forged).problems == ["key_not_issuers"]


def test_an_unknown_key_or_a_malformed_proof_is_named(issued):
    _, row = issued
    unknown = copy.deepcopy(row.document)
    unknown["proof"]["verificationMethod"] = "https://elsewhere.example/keys/1"
    assert verification.check(unknown).problems == ["unknown_key"]
    for broken in ({"proofValue": "not-multibase"}, {"cryptosuite": "ecdsa-rdfc-2019"}, {"proofPurpose": "authentication"}):
        document = copy.deepcopy(row.document)
        document["proof"].update(broken)
        assert verification.check(document).problems[0] in ("malformed_proof", "unsupported_proof")
    missing = copy.deepcopy(row.document)
    del missing["proof"]
    assert verification.check(missing).problems == ["malformed_proof"]


def test_a_context_is_never_fetched(issued):
    _, row = issued
    document = copy.deepcopy(row.document)
    document["@context"].append("https://attacker.example/context.json")
    assert verification.check(document).problems == ["unknown_context"]
    with pytest.raises(jsonld.ContextRefused):
        jsonld.canonicalize({"@context": "https://schema.org/", "name": "x"})


@pytest.mark.parametrize("data, code", [
    (b"not json", "not_json"), (b"[1, 2]", "not_a_credential"), (b"\xff\xfe", "not_json"),
    (b'{"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"]}', "not_a_credential"),
    (b"[" * 5000 + b"]" * 5000, "not_json"), (b'{"a":' * 40 + b"1" + b"}" * 40, "too_deep"),
    (b" " * (verification.MAX_BYTES + 1), "too_large"),
])
def test_what_is_not_a_credential_says_why(app, data, code):
    verdict = verification.verify_bytes(data)
    assert not verdict.verified and verdict.problems == [code]


def test_expiry_and_not_yet_valid_are_reported(issued):
    _, row = issued
    until = datetime.fromisoformat(row.document["validUntil"].replace("Z", "+00:00"))
    start = datetime.fromisoformat(row.document["validFrom"].replace("Z", "+00:00"))
    assert verification.check(row.document, now=until + timedelta(seconds=1)).problems == ["expired"]
    assert verification.check(row.document, now=start - timedelta(seconds=1)).problems == ["not_yet_valid"]
    assert verification.check(row.document, now=until - timedelta(seconds=1)).verified


# --------------------------------------------------------------------------- keys


def test_the_private_key_is_sealed_in_the_database(issued, world):
    _, row = issued
    key = db.session.get(CredentialKey, row.key_id)
    raw_private = keys.unseal(key).private_bytes_raw()
    assert raw_private not in key.sealed_private_key
    assert len(key.sealed_private_key) == keys.NONCE_BYTES + 32 + 16


def test_a_sealed_key_does_not_open_under_another_credential_key(issued, app):
    _, row = issued
    key = db.session.get(CredentialKey, row.key_id)
    app.config["CREDENTIAL_KEY"] = "another-credential-key-0123456789abcdefghij"
    with pytest.raises(keys.CredentialKeyError, match="CREDENTIAL_KEY"):
        keys.unseal(key)


def test_a_sealed_key_moved_to_another_row_does_not_open(issued, world, qualification):
    _, row = issued
    key = db.session.get(CredentialKey, row.key_id)
    other_key = keys.signing_key(make_institution("Inna", qualifications=[qualification], short_name="INNA")).row
    other_key.sealed_private_key = key.sealed_private_key
    with pytest.raises(keys.CredentialKeyError):
        keys.unseal(other_key)


def test_a_rotated_out_key_still_verifies_what_it_signed(issued, world):
    _, row = issued
    old_kid = db.session.get(CredentialKey, row.key_id).kid
    new_key = keys.rotate(world["ic"], world["staff"])
    assert new_key.kid != old_kid
    assert verification.check(row.document).verified
    later = make_certificate(world["enrolments"][2], world["staff"])
    later_row = badge.credential_for(later)
    assert later_row.key_id == new_key.id
    assert verification.check(later_row.document).verified
    assert [k.retired_at is None for k in keys.published_keys(world["ic"].id)] == [False, True]
    actions = set(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("credential_key.%"))))
    assert actions == {"credential_key.created", "credential_key.retired"}


def test_multikey_encoding_round_trips():
    raw = bytes(range(32))
    text = keys.multibase_public_key(raw)
    assert text.startswith("z6Mk")  # the usual form of an Ed25519 Multikey
    assert keys.public_key_from_multibase(text) == raw
    assert keys.public_key_from_multibase("u" + text[1:]) is None
    assert keys.public_key_from_multibase("z0OIl") is None


# --------------------------------------------------------------------------- status lists


@settings(max_examples=50, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=STATUS_LIST_SIZE - 1), max_size=40))
def test_the_encoded_list_round_trips_with_the_bits_in_place(indexes):
    bits = bytes(STATUS_LIST_SIZE // 8)
    for index in indexes:
        bits = status.with_bit(bits, index, True)
    decoded = status.decode(status.encode(bits))
    assert decoded == bits
    assert {i for i in range(STATUS_LIST_SIZE) if status.bit(decoded, i)} == indexes if len(indexes) < 5 else True
    assert all(status.bit(decoded, i) for i in indexes)


def test_index_zero_is_the_leftmost_bit():
    bits = status.with_bit(bytes(2), 0, True)
    assert bits == b"\x80\x00"
    assert status.with_bit(bytes(2), 9, True) == b"\x00\x40"
    assert status.encode(bytes(16)).startswith("u")
    with pytest.raises(ValueError):
        status.decode("zabc")
    with pytest.raises(ValueError):
        status.decode("uAAAA")  # base64url, but not GZIP


def _published_bit(status_list: StatusList, index: int) -> bool:
    db.session.refresh(status_list)
    published = status_list.published
    assert verification.proof.verify(published, verification.resolve_key, published["issuer"]).valid
    return status.bit(status.decode(published["credentialSubject"]["encodedList"]), index)


def test_suspension_sets_and_lifting_clears_the_suspension_bit(issued, world):
    certificate, row = issued
    services.change_status(world["staff"], certificate, "suspend", "Wyjaśnienie nieprawidłowości.")
    assert _published_bit(row.suspension_list, row.suspension_index)
    assert not _published_bit(row.revocation_list, row.revocation_index)
    assert verification.check(row.document).problems == ["suspended"]
    services.change_status(world["staff"], certificate, "lift", "Wyjaśniono.")
    assert not _published_bit(row.suspension_list, row.suspension_index)
    assert verification.check(row.document).verified


def test_revocation_sets_a_bit_that_is_never_cleared(issued, world):
    certificate, row = issued
    services.change_status(world["staff"], certificate, "revoke", "Oszustwo wykryte po wydaniu.")
    assert _published_bit(row.revocation_list, row.revocation_index)
    verdict = verification.check(row.document)
    assert verdict.revoked and verdict.problems == ["revoked"] and not verdict.verified
    with pytest.raises(status.StatusListError, match="final"):
        status.set_status(row.revocation_list, row.revocation_index, False)


def test_a_corrected_certificate_revokes_the_old_credential_and_gets_its_own(issued, world):
    certificate, row = issued
    replacement = services.correct(world["staff"], certificate, first_name="Bogusław", last_name="Świątek",
                                   birth_date=certificate.holder_birth_date, reason="Błąd w imieniu.")
    assert verification.check(row.document).revoked
    new_row = badge.credential_for(replacement)
    assert new_row.id != row.id and verification.check(new_row.document).verified
    name = next(i for i in new_row.document["credentialSubject"]["identifier"] if i["identityType"] == "name")
    assert name["identityHash"] == "Bogusław Świątek"


def test_a_list_is_big_enough_and_the_next_one_opens_when_half_full(issued, world):
    _, row = issued
    first = row.revocation_list
    assert first.size >= 131_072 and len(first.bits) * 8 == first.size
    first.used = first.size // 2
    db.session.commit()
    later = badge.credential_for(make_certificate(world["enrolments"][2], world["staff"]))
    assert later.revocation_list_id != first.id and later.revocation_list.purpose == "revocation"
    assert later.suspension_list_id == row.suspension_list_id


# --------------------------------------------------------------------------- contexts


PINNED = {
    "credentials-v2.jsonld": "8a9f494a89ecc51db093e90e84713e07e84d6d9204364a9b3c7868b21751236f",
    "ob-v3p0-context-3.0.3.json": "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761",
    "data-integrity-v2.jsonld": "0f77743daf5b4e8fc067fc5ba5b21044283053aa717fc6b0219843bed3b00363",
    "multikey-v1.jsonld": "c5f3806f8286920573221938917988a18a4cc5a09e968d29649613c7a1c2b1f6",
    "vc-bitstring-status-list-v1.jsonld": "fd08cbf28ddd829ab2f1978c48f43ab07a112c1c90245a0cfac7ba721c65170c",
}


def test_the_shipped_contexts_are_the_pinned_ones():
    assert set(jsonld.CONTEXT_FILES.values()) == set(PINNED)
    for name, digest in PINNED.items():
        assert hashlib.sha256((jsonld.CONTEXTS_DIR / name).read_bytes()).hexdigest() == digest, name


def test_the_loader_refuses_the_network():
    with pytest.raises(jsonld.jsonld.JsonLdError):
        jsonld.document_loader("https://www.w3.org/2018/credentials/v1")
    assert jsonld.document_loader(jsonld.OB_V3)["document"]["@context"]["@protected"] is True


def test_a_list_found_without_its_signed_copy_is_published_once_and_served(issued, client):
    _certificate, row = issued
    status_list = row.revocation_list
    status_list.published = None
    db.session.commit()
    response = client.get(f"/ob/status/{status_list.id}")
    assert response.status_code == 200
    served = response.get_json()
    assert verification.proof.verify(served, verification.resolve_key, served["issuer"]).valid
    db.session.refresh(status_list)
    assert status_list.published == served
