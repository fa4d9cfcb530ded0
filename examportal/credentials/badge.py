"""The Open Badges 3.0 credential of a certificate.

An ``OpenBadgeCredential`` (VC 2.0 data model) issued by the certifying institution's ``Profile``:
valid from the date of issue to the end of the certificate's last valid day (Warsaw time); its
``credentialSubject`` an ``AchievementSubject`` identified by the holder's e-mail address hashed
with a random salt (never the PESEL) and their name; its ``Achievement`` the qualification, whose
``criteria`` lists the learning outcomes the validation confirmed and whose ``alignment`` links
each outcome on the qualification's public page — all taken from the certificate's stored
content, never typed by hand. It carries one ``BitstringStatusListEntry`` per purpose.

The credential is issued once, with the certificate (a receiver of :data:`hooks.issued`), and
never re-signed; a later change of status is published in the status lists
(:data:`hooks.status_changed`).
"""
from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import select

from ..audit import services as audit_log
from ..certification import hooks
from ..certification.rules import WARSAW
from ..extensions import db
from ..models import Certificate, CertificateStatus, Credential, utcnow
from ..security import public_url
from . import keys, proof, status
from .jsonld import OB_V3, VC_V2

FRAMEWORK = "Zintegrowany System Kwalifikacji (ZSK)"


def _utc(day: date, at: time) -> str:
    return datetime.combine(day, at, tzinfo=WARSAW).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def identity_hash(email: str, salt: str) -> str:
    """``sha256$<hex>`` of the address (trimmed, lower case) followed by the salt (OB 3.0 IdentityObject)."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode("utf-8")).hexdigest()


def _criteria_narrative(qualification: dict[str, Any]) -> str:
    lines = ["Walidacja potwierdziła wszystkie efekty uczenia się kwalifikacji:", ""]
    for outcome_set in qualification["outcome_sets"]:
        lines.append(f"**Zestaw efektów uczenia się {outcome_set['number']}: {outcome_set['name']['pl']}**")
        lines.append("")
        lines.extend(f"- {outcome['code']} {outcome['name']['pl']}" for outcome in outcome_set["outcomes"])
        lines.append("")
    return "\n".join(lines).rstrip()


def achievement(content: dict[str, Any]) -> dict[str, Any]:
    """The qualification as an OB 3.0 ``Achievement``, from the certificate's stored content."""
    qualification = content["qualification"]
    page = public_url("qualifications.show", code=qualification["code"])
    description = (f"Kwalifikacja rynkowa włączona do Zintegrowanego Systemu Kwalifikacji, kod {qualification['code']}. "
                   f"Certyfikat ważny {qualification['validity_years']} lat od daty wydania.")
    if qualification.get("prk_level"):
        description += f" Poziom Polskiej Ramy Kwalifikacji: {qualification['prk_level']}."
    if qualification.get("validity_text"):
        description += " " + qualification["validity_text"]["pl"]
    return {
        "id": page,
        "type": ["Achievement"],
        "achievementType": "Certification",
        "name": qualification["name"]["pl"],
        "description": description,
        "humanCode": qualification["code"],
        "inLanguage": "pl",
        "image": {"id": public_url("ob.badge_image", code=qualification["code"]), "type": "Image"},
        "criteria": {"id": f"{page}#kryteria", "narrative": _criteria_narrative(qualification)},
        "alignment": [
            {"type": ["Alignment"], "targetName": outcome["name"]["pl"], "targetCode": outcome["code"],
             "targetFramework": FRAMEWORK, "targetUrl": f"{page}#efekt-{outcome['code']}"}
            for outcome_set in qualification["outcome_sets"] for outcome in outcome_set["outcomes"]
        ],
    }


def build(certificate: Certificate, row: Credential, salt: str) -> dict[str, Any]:
    """The unsigned credential of ``certificate`` (with ``row``'s status entries)."""
    content = certificate.content
    institution = content["institution"]
    qualification = content["qualification"]
    return {
        "@context": [VC_V2, OB_V3],
        "id": f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": f"Certyfikat: {qualification['name']['pl']} ({qualification['code']})",
        "description": f"Certyfikat nr {content['number']} potwierdzający kwalifikację {qualification['code']}.",
        "issuer": {"id": keys.issuer_url(certificate.institution_id), "type": ["Profile"], "name": institution["name"],
                   "url": public_url("main.index")},
        "validFrom": _utc(certificate.issued_on, time(0, 0)),
        "validUntil": _utc(certificate.valid_until, time(23, 59, 59)),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {"type": "IdentityObject", "identityType": "emailAddress", "hashed": True, "salt": salt,
                 "identityHash": identity_hash(certificate.holder.email, salt)},
                {"type": "IdentityObject", "identityType": "name", "hashed": False,
                 "identityHash": f"{content['holder']['first_name']} {content['holder']['last_name']}"},
            ],
            "licenseNumber": content["number"],
            "achievement": achievement(content),
        },
        "evidence": [{"id": content["verification_url"], "type": ["Evidence"],
                      "name": "Publiczna weryfikacja certyfikatu"}, *_predecessor(content)],
        "credentialStatus": status.entries(row),
    }


def _predecessor(content: dict[str, Any]) -> list[dict[str, Any]]:
    """The certificate this one renewed or corrected, as an OB 3.0 ``Evidence`` entry linking its
    public verification page (certificates issued before the link was stored have none)."""
    previous = content.get("supersedes") or {}
    if not previous.get("verification_url"):
        return []
    if previous.get("renewal"):
        return [{"id": previous["verification_url"], "type": ["Evidence"], "genre": "Odnowienie certyfikatu",
                 "name": f"Odnowiony certyfikat nr {previous['number']}",
                 "description": (f"Certyfikat odnawia certyfikat nr {previous['number']} ważny do dnia "
                                 f"{previous['valid_until']}; ważność biegnie dalej od dnia upływu jego ważności.")}]
    why = "po uwzględnieniu odwołania" if previous.get("after_appeal") else "sprostowanie danych"
    return [{"id": previous["verification_url"], "type": ["Evidence"], "genre": "Zastąpienie certyfikatu",
             "name": f"Zastąpiony certyfikat nr {previous['number']}",
             "description": f"Certyfikat zastępuje certyfikat nr {previous['number']} ({why})."}]


def credential_for(certificate: Certificate) -> Credential | None:
    return db.session.scalar(select(Credential).where(Credential.certificate_id == certificate.id))


def issue(certificate: Certificate) -> Credential:
    """Sign and store the certificate's credential (in the caller's transaction); the existing one
    when it has one."""
    existing = credential_for(certificate)
    if existing is not None:
        return existing
    institution = certificate.institution
    key = keys.signing_key(institution)
    revocation_list, revocation_index = status.allocate(institution, "revocation")
    suspension_list, suspension_index = status.allocate(institution, "suspension")
    row = Credential(certificate_id=certificate.id, key_id=key.row.id, document={}, document_sha256="",
                     issued_at=utcnow(), revocation_list=revocation_list, revocation_index=revocation_index,
                     suspension_list=suspension_list, suspension_index=suspension_index)
    signed = proof.sign(build(certificate, row, secrets.token_hex(16)), key.sign, keys.method_url(key.row), row.issued_at)
    row.document, row.document_sha256 = signed, hashlib.sha256(serialize(signed)).hexdigest()
    db.session.add(row)
    db.session.flush()
    audit_log.record("credential.issued", row, after={
        "certificate_id": certificate.id, "number": certificate.number, "kid": key.row.kid,
        "document_sha256": row.document_sha256, "revocation": [revocation_list.id, revocation_index],
        "suspension": [suspension_list.id, suspension_index]}, institution_id=certificate.institution_id)
    if certificate.state is not CertificateStatus.VALID:  # issued for a certificate already changed
        _publish_state(certificate, row)
    return row


def ensure(certificate: Certificate) -> Credential:
    """The certificate's credential, issued now (committed) when it has none yet — e.g. a
    certificate issued before credentials existed."""
    existing = credential_for(certificate)
    if existing is not None:
        return existing
    db.session.execute(select(Certificate.id).where(Certificate.id == certificate.id).with_for_update())
    row = issue(certificate)
    db.session.commit()
    return row


def serialize(document: dict[str, Any]) -> bytes:
    """The credential file as downloaded: UTF-8 JSON, indented."""
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


def _publish_state(certificate: Certificate, row: Credential) -> None:
    revoked = certificate.state in (CertificateStatus.REVOKED, CertificateStatus.SUPERSEDED)
    if revoked:
        status.set_status(row.revocation_list, row.revocation_index, True)
    status.set_status(row.suspension_list, row.suspension_index, certificate.state is CertificateStatus.SUSPENDED)


# --------------------------------------------------------------------------- hooks


@hooks.issued.connect
def _on_issued(certificate: Certificate, **_: Any) -> None:
    issue(certificate)


@hooks.status_changed.connect
def _on_status_changed(certificate: Certificate, action: str, **_: Any) -> None:
    """Publish the change: revoke and supersede set the revocation bit (never cleared), suspend
    sets and lift clears the suspension bit."""
    row = credential_for(certificate)
    if row is None:
        return  # a certificate without a credential has nothing published to change
    if action in ("revoke", "supersede"):
        status.set_status(row.revocation_list, row.revocation_index, True)
        status.set_status(row.suspension_list, row.suspension_index, False)
    elif action in ("suspend", "lift"):
        status.set_status(row.suspension_list, row.suspension_index, action == "suspend")
    audit_log.record("credential.status_published", row, after={"action": action, "certificate_id": certificate.id},
                     institution_id=certificate.institution_id)


@hooks.artifact("credential")
def _credential_file(certificate: Certificate) -> tuple[str, bytes]:
    row = ensure(certificate)
    return ".credential.json", serialize(row.document)
