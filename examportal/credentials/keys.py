"""The institutions' Ed25519 signing keys.

Each certifying institution signs with its own key. The private key never lies in the database
in clear: it is sealed with AES-256-GCM under a key-encryption key derived from ``CREDENTIAL_KEY``
(configuration or environment; outside production a key file in the instance folder, never
archived by a backup). A key sealed under one of CREDENTIAL_KEY_PREVIOUS (the keys CREDENTIAL_KEY
replaced) still opens, and ``flask credentials seal-secrets`` seals it again under CREDENTIAL_KEY.
Rotation retires the signing key and creates the next; a retired key signs nothing more but stays
published, so every credential it signed still verifies.

Public keys are published as Multikey documents (``publicKeyMultibase``: ``z`` + base58btc of the
multicodec ``ed25519-pub`` prefix and the 32 raw bytes) and as a JWKS.
"""
from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

import base58
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy import select

from ..audit import services as audit_log
from ..extensions import db
from ..keyfiles import CREDENTIAL_KEY_FILE, credential_cipher, open_sealed
from ..models import CredentialKey, Institution, User, utcnow
from ..security import public_url

KEY_FILE = CREDENTIAL_KEY_FILE
ED25519_PUB_PREFIX = b"\xed\x01"  # multicodec ed25519-pub, varint-encoded
NONCE_BYTES = 12


class CredentialKeyError(RuntimeError):
    """A signing key cannot be used (the key-encryption key is missing or is not the one it was sealed with)."""


WRAP_PURPOSE = b"examportal-credential-key-wrap"


def _wrapping_key() -> AESGCM:
    return credential_cipher(WRAP_PURPOSE)


def _seal(key: CredentialKey, raw_private: bytes) -> None:
    nonce = secrets.token_bytes(NONCE_BYTES)
    key.sealed_private_key = nonce + _wrapping_key().encrypt(nonce, raw_private, _aad(key))


def _aad(key: CredentialKey) -> bytes:
    # Binds the sealed bytes to their row: a sealed key copied onto another institution's row fails.
    return f"examportal-credential-key:{key.institution_id}:{key.kid}".encode()


def multibase_public_key(raw: bytes) -> str:
    return "z" + base58.b58encode(ED25519_PUB_PREFIX + raw).decode("ascii")


def public_key_from_multibase(text: str) -> bytes | None:
    """The raw 32-byte Ed25519 key of a ``publicKeyMultibase``, or None when it is not one."""
    if not text.startswith("z"):
        return None
    try:
        decoded = base58.b58decode(text[1:])
    except ValueError:
        return None
    if len(decoded) != 34 or not decoded.startswith(ED25519_PUB_PREFIX):
        return None
    return decoded[2:]


@dataclass(frozen=True)
class SigningKey:
    """A key unsealed for signing, with the row it came from."""

    row: CredentialKey
    private: Ed25519PrivateKey

    def sign(self, data: bytes) -> bytes:
        return self.private.sign(data)


def _create(institution: Institution, actor: User | None) -> CredentialKey:
    private = Ed25519PrivateKey.generate()
    raw_private = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    raw_public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    key = CredentialKey(institution_id=institution.id, kid=secrets.token_urlsafe(12), public_key=raw_public,
                        sealed_private_key=b"", created_at=utcnow())
    _seal(key, raw_private)
    db.session.add(key)
    db.session.flush()
    audit_log.record("credential_key.created", key, after={"kid": key.kid, "public_key": multibase_public_key(raw_public)},
                     actor=actor, institution_id=institution.id)
    return key


def active_key(institution: Institution) -> CredentialKey | None:
    return db.session.scalar(select(CredentialKey).where(CredentialKey.institution_id == institution.id,
                                                         CredentialKey.retired_at.is_(None)))


def signing_key(institution: Institution, actor: User | None = None) -> SigningKey:
    """The institution's signing key, unsealed (created on first use, in the caller's transaction)."""
    key = active_key(institution)
    if key is None:
        # Two issuers creating the first key at once: the one-active-key index lets one through;
        # the institution row lock makes the other wait and then find it.
        db.session.execute(select(Institution.id).where(Institution.id == institution.id).with_for_update(key_share=True))
        key = active_key(institution) or _create(institution, actor)
    return SigningKey(key, unseal(key))


def unseal(key: CredentialKey) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_opened(key)[1])


def _opened(key: CredentialKey) -> tuple[int, bytes]:
    """(which configured key opened it — 0 for CREDENTIAL_KEY —, the raw private key)."""
    sealed = key.sealed_private_key
    opened_by = open_sealed(WRAP_PURPOSE, sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], _aad(key))
    if opened_by is None:
        raise CredentialKeyError(f"the signing key {key.kid} cannot be unsealed: CREDENTIAL_KEY is not the key it "
                                 "was sealed with (nor is any of CREDENTIAL_KEY_PREVIOUS)")
    return opened_by


def reseal(actor: User | None = None) -> tuple[int, list[str]]:
    """Seal under CREDENTIAL_KEY every signing key sealed under one of CREDENTIAL_KEY_PREVIOUS
    (audited, in the caller's transaction): how many, and the kids of those no configured key opens."""
    resealed, closed = 0, []
    for key in db.session.scalars(select(CredentialKey).order_by(CredentialKey.id).with_for_update()):
        try:
            index, raw_private = _opened(key)
        except CredentialKeyError:
            closed.append(key.kid)
            continue
        if index > 0:
            _seal(key, raw_private)
            audit_log.record("credential_key.resealed", key, after={"kid": key.kid}, actor=actor,
                             institution_id=key.institution_id)
            resealed += 1
    db.session.flush()
    return resealed, closed


def rotate(institution: Institution, actor: User | None = None) -> CredentialKey:
    """Retire the institution's signing key and create the next one (committed). Credentials the
    retired key signed keep verifying: it stays published."""
    db.session.execute(select(Institution.id).where(Institution.id == institution.id).with_for_update(key_share=True))
    current = active_key(institution)
    if current is not None:
        current.retired_at = utcnow()
        db.session.flush()
        audit_log.record("credential_key.retired", current, after={"kid": current.kid}, actor=actor,
                         institution_id=institution.id)
    key = _create(institution, actor)
    db.session.commit()
    return key


def published_keys(institution_id: int) -> list[CredentialKey]:
    """Every key of the institution, signing or retired, oldest first."""
    return list(db.session.scalars(select(CredentialKey).where(CredentialKey.institution_id == institution_id)
                                   .order_by(CredentialKey.id)))


def find_key(institution_id: int, kid: str) -> CredentialKey | None:
    return db.session.scalar(select(CredentialKey).where(CredentialKey.institution_id == institution_id,
                                                         CredentialKey.kid == kid))


def public_key(key: CredentialKey) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(key.public_key)


def jwk(key: CredentialKey) -> dict[str, str]:
    """The public key as a JSON Web Key (RFC 8037)."""
    return {"kty": "OKP", "crv": "Ed25519", "kid": key.kid, "use": "sig", "alg": "EdDSA",
            "x": base64.urlsafe_b64encode(key.public_key).rstrip(b"=").decode("ascii")}


def method_url(key: CredentialKey) -> str:
    """The key's ``verificationMethod`` URL: it answers with the key's Multikey document."""
    return public_url("ob.key", institution_id=key.institution_id, kid=key.kid)


def issuer_url(institution_id: int) -> str:
    """The institution's Open Badges issuer ``Profile`` URL (the controller of its keys)."""
    return public_url("ob.issuer", institution_id=institution_id)
