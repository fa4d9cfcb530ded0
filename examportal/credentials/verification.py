"""Checking a credential someone presents: is it signed by a key this portal publishes for its
issuer, unchanged since, within its validity, and not revoked or suspended in the status lists?

Only credentials of this portal's issuers can be checked here (their keys and status lists are
local; nothing is fetched). Each failed check comes with a reason code and words for people.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..certification.services import chain
from ..extensions import db
from ..models import Certificate, CertificateStatus, Credential, CredentialKey, StatusList
from . import keys, proof, status
from .jsonld import OB_V3, VC_V2

MAX_BYTES = 256 * 1024
MAX_DEPTH = 24

REASONS = {
    "not_json": _l("This is not a JSON document."),
    "too_large": _l("The credential is larger than %(kb)d KB.", kb=MAX_BYTES // 1024),
    "too_deep": _l("The credential is nested too deeply to be a credential."),
    "not_a_credential": _l("This is not an Open Badges 3.0 credential (OpenBadgeCredential with the VC 2.0 and OB 3.0 contexts)."),
    "unknown_context": _l("The credential names a JSON-LD context that is not recognised; it is never fetched."),
    "malformed_proof": _l("The credential's proof is missing or malformed."),
    "unsupported_proof": _l("The proof is not an eddsa-rdfc-2022 Data Integrity proof."),
    "unknown_key": _l("The credential is signed with a key this portal does not publish."),
    "key_not_issuers": _l("The signing key does not belong to the credential's issuer."),
    "bad_signature": _l("The signature does not match: the credential was changed after it was signed."),
    "invalid_document": _l("The credential is not valid JSON-LD."),
    "undefined_term": _l("The credential holds a property its contexts do not define, which a signature cannot cover."),
    "not_yet_valid": _l("The credential is not valid yet (validFrom is in the future)."),
    "expired": _l("The credential has expired (validUntil has passed)."),
    "bad_dates": _l("The credential's validity dates are missing or malformed."),
    "revoked": _l("The credential has been revoked."),
    "superseded": _l("The credential was replaced by a newer one: its certificate was corrected or renewed. "
                     "Ask the holder for the current credential."),
    "suspended": _l("The credential is suspended."),
    "status_unknown": _l("The credential's status cannot be checked here (its status list is not published by this portal)."),
}


@dataclass
class Verdict:
    """What the checks found. ``verified`` only when the signature is valid, the dates hold and
    no status bit is set."""

    signature_valid: bool = False
    expired: bool = False
    not_yet_valid: bool = False
    revoked: bool = False
    superseded: bool = False
    suspended: bool = False
    status_checked: bool = False
    problems: list[str] = field(default_factory=list)
    certificate: Certificate | None = None
    replaced_by: Certificate | None = None  # the certificate in force now, when ``superseded``
    issuer: str | None = None
    name: str | None = None

    @property
    def verified(self) -> bool:
        return (self.signature_valid and self.status_checked and not self.problems)

    def as_json(self) -> dict[str, Any]:
        return {
            "verified": self.verified,
            "signature": {"valid": self.signature_valid},
            "validity": {"expired": self.expired, "not_yet_valid": self.not_yet_valid},
            "status": {"checked": self.status_checked, "revoked": self.revoked, "superseded": self.superseded,
                       "suspended": self.suspended},
            "problems": [{"code": code, "message": str(REASONS[code])} for code in self.problems],
            "issuer": self.issuer,
            "name": self.name,
            "certificate": ({**_certificate_json(self.certificate),
                             "replaced_by": _certificate_json(self.replaced_by) if self.replaced_by is not None else None}
                            if self.certificate is not None else None),
        }


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(item, level + 1) for item in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(item, level + 1) for item in value), default=level + 1)
    return level


def parse(data: bytes | str) -> tuple[dict[str, Any] | None, str | None]:
    """The posted credential as a dict, or the reason it is not one."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        return None, "too_large"
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, "not_json"
    if not isinstance(document, dict):
        return None, "not_a_credential"
    if _depth(document) > MAX_DEPTH:
        return None, "too_deep"
    return document, None


_KEY_PATH = re.compile(r"^/ob/issuers/(?P<institution>[0-9]{1,9})/keys/(?P<kid>[A-Za-z0-9_-]{1,40})$")


def _local_path(url: str) -> str | None:
    """The path of ``url`` when it points at this portal (its PUBLIC_BASE_URL), else None."""
    base = urlsplit(keys.issuer_url(0))  # any public URL carries the configured scheme and host
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL at all ("http://[::1" — a bracket without its pair): not ours
        return None
    if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or parts.query:
        return None
    return parts.path


def resolve_key(method: str) -> tuple[Ed25519PublicKey, str] | None:
    """A verificationMethod URL of this portal → the published key and its controller (the issuer)."""
    path = _local_path(method)
    match = _KEY_PATH.match(path or "")
    if match is None:
        return None
    key: CredentialKey | None = keys.find_key(int(match["institution"]), match["kid"])
    if key is None:
        return None
    return keys.public_key(key), keys.issuer_url(key.institution_id)


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _issuer_id(document: dict[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, dict) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None


def _certificate_json(certificate: Certificate) -> dict[str, str]:
    return {"number": certificate.number,
            "verification_url": url_for("verify.show", code=certificate.verification_code, _external=False)}


_STATUS_PATH = re.compile(r"^/ob/status/(?P<list>[0-9]{1,9})$")


def _check_status(document: dict[str, Any], verdict: Verdict) -> None:
    entries = document.get("credentialStatus")
    entries = entries if isinstance(entries, list) else [entries] if isinstance(entries, dict) else []
    checked: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
            continue
        match = _STATUS_PATH.match(_local_path(str(entry.get("statusListCredential", ""))) or "")
        index_text = entry.get("statusListIndex")
        if match is None or not isinstance(index_text, str) or not index_text.isdigit():
            continue
        status_list = db.session.get(StatusList, int(match["list"]))
        if status_list is None or status_list.purpose != entry.get("statusPurpose") \
                or keys.issuer_url(status_list.institution_id) != verdict.issuer:
            continue
        index = int(index_text)
        if index >= status_list.size:
            continue
        checked.add(status_list.purpose)
        if status.bit(status_list.bits, index):
            if status_list.purpose == "revocation":
                verdict.revoked = True
            else:
                verdict.suspended = True
    verdict.status_checked = {"revocation", "suspension"} <= checked
    if verdict.revoked:
        verdict.problems.append("revoked")
    if verdict.suspended:
        verdict.problems.append("suspended")
    if not verdict.status_checked:
        verdict.problems.append("status_unknown")


def check(document: dict[str, Any], now: datetime | None = None) -> Verdict:
    """Every check on a parsed credential (see the module's docstring)."""
    verdict = Verdict()
    context = document.get("@context")
    types = document.get("type")
    if not (isinstance(context, list) and context[:2] == [VC_V2, OB_V3] and isinstance(types, list)
            and "VerifiableCredential" in types and "OpenBadgeCredential" in types):
        verdict.problems.append("not_a_credential")
        return verdict
    verdict.issuer = _issuer_id(document)
    verdict.name = document.get("name") if isinstance(document.get("name"), str) else None
    outcome = proof.verify(document, resolve_key, verdict.issuer)
    verdict.signature_valid = outcome.valid
    if not outcome.valid:
        verdict.problems.append(outcome.reason or "malformed_proof")
        return verdict  # nothing else a forged or altered document says can be believed
    moment = now or datetime.now(UTC)
    valid_from, valid_until = _datetime(document.get("validFrom")), _datetime(document.get("validUntil"))
    if valid_from is None or ("validUntil" in document and valid_until is None):
        verdict.problems.append("bad_dates")
    else:
        verdict.not_yet_valid = moment < valid_from
        verdict.expired = valid_until is not None and moment > valid_until
        if verdict.not_yet_valid:
            verdict.problems.append("not_yet_valid")
        if verdict.expired:
            verdict.problems.append("expired")
    _check_status(document, verdict)
    number = document.get("credentialSubject", {}).get("licenseNumber") if isinstance(document.get("credentialSubject"), dict) else None
    if isinstance(number, str):
        verdict.certificate = db.session.scalar(select(Certificate).join(Credential, Credential.certificate_id == Certificate.id)
                                                .where(Certificate.number == number))
    if verdict.revoked and verdict.certificate is not None \
            and verdict.certificate.state == CertificateStatus.SUPERSEDED:
        # The status list has one revocation bit, set for a replaced certificate too: say which it
        # was, so that a corrected or renewed holder is not taken for one whose certificate was taken away.
        verdict.superseded = True
        verdict.problems[verdict.problems.index("revoked")] = "superseded"
        verdict.replaced_by = chain(verdict.certificate)[-1]  # the last of the corrections and renewals
    return verdict


def verify_bytes(data: bytes | str, now: datetime | None = None) -> Verdict:
    document, reason = parse(data)
    if document is None:
        verdict = Verdict()
        verdict.problems.append(reason or "not_json")
        return verdict
    return check(document, now)

