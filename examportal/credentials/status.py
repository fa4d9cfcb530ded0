"""W3C Bitstring Status Lists: one list per institution and purpose (``revocation``,
``suspension``), each of at least 131,072 entries.

A credential gets a random free index in each list (a neighbour's index tells nothing about the
order of issue). A revocation bit is set once and never cleared; a suspension bit is set on
suspension and cleared when it is lifted. Each list is published at a stable URL as a
``BitstringStatusListCredential`` signed like the credentials themselves, and signed again
whenever one of its bits changes. Index 0 is the left-most bit of the first byte; the published
``encodedList`` is the GZIP of the bitstring in base64url without padding, with the multibase
``u`` prefix.
"""
from __future__ import annotations

import base64
import binascii
import gzip
import secrets
from typing import Any, cast

from sqlalchemy import select

from ..extensions import db
from ..models import STATUS_LIST_SIZE, Credential, Institution, StatusList, utcnow
from ..security import public_url
from . import keys, proof
from .jsonld import VC_V2

#: A list takes new credentials while under this share full; then the next list is opened, so a
#: random free index is always found in a few draws.
FILL_LIMIT = 0.5


class StatusListError(ValueError):
    """A status list operation that the rules forbid (e.g. clearing a revocation bit)."""


def encode(bits: bytes) -> str:
    """``u`` + base64url (no padding) of the GZIP-compressed bitstring."""
    compressed = gzip.compress(bits, mtime=0)  # mtime 0: the same bits always encode the same
    return "u" + base64.urlsafe_b64encode(compressed).rstrip(b"=").decode("ascii")


def decode(encoded: str) -> bytes:
    """The bitstring of an ``encodedList`` (ValueError when it is not one)."""
    if not encoded.startswith("u"):
        raise ValueError("encodedList must carry the multibase prefix u (base64url)")
    body = encoded[1:]
    try:
        return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (binascii.Error, OSError, EOFError) as error:
        raise ValueError("encodedList is not GZIP data in base64url") from error


def bit(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise IndexError(index)
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def with_bit(bits: bytes, index: int, value: bool) -> bytes:
    if not 0 <= index < len(bits) * 8:
        raise IndexError(index)
    data = bytearray(bits)
    mask = 0x80 >> (index % 8)
    data[index // 8] = data[index // 8] | mask if value else data[index // 8] & ~mask
    return bytes(data)


def list_url(status_list: StatusList) -> str:
    return public_url("ob.status_list", list_id=status_list.id)


def _open_list(institution: Institution, purpose: str) -> StatusList:
    """The institution's list for ``purpose`` that takes new entries, locked (FOR UPDATE) until
    the caller's transaction ends; a new one when the last is full enough."""
    current = db.session.scalar(
        select(StatusList).where(StatusList.institution_id == institution.id, StatusList.purpose == purpose)
        .order_by(StatusList.id.desc()).limit(1).with_for_update().execution_options(populate_existing=True))
    if current is not None and current.used < current.size * FILL_LIMIT:
        return current
    created = StatusList(institution_id=institution.id, purpose=purpose, size=STATUS_LIST_SIZE, used=0,
                         bits=bytes(STATUS_LIST_SIZE // 8), updated_at=utcnow())
    db.session.add(created)
    db.session.flush()
    publish(created)
    return created


def allocate(institution: Institution, purpose: str) -> tuple[StatusList, int]:
    """A random index of ``purpose``'s open list that no credential holds yet."""
    status_list = _open_list(institution, purpose)
    column = Credential.revocation_index if purpose == "revocation" else Credential.suspension_index
    list_column = Credential.revocation_list_id if purpose == "revocation" else Credential.suspension_list_id
    while True:  # under half full: each draw is free with probability > 1/2
        index = secrets.randbelow(status_list.size)
        taken = db.session.scalar(select(Credential.id).where(list_column == status_list.id, column == index))
        if taken is None:
            status_list.used += 1
            return status_list, index


def set_status(status_list: StatusList, index: int, value: bool) -> None:
    """Set or clear one bit (in the caller's transaction) and publish the list signed again.
    A revocation is final: its bit is never cleared."""
    locked = db.session.scalar(select(StatusList).where(StatusList.id == status_list.id).with_for_update()
                               .execution_options(populate_existing=True))
    if locked is None:
        raise StatusListError("the status list no longer exists")
    if locked.purpose == "revocation" and not value and bit(locked.bits, index):
        raise StatusListError("a revocation is final: its status bit is never cleared")
    if bit(locked.bits, index) == value:
        return
    locked.bits = with_bit(locked.bits, index, value)
    locked.updated_at = utcnow()
    publish(locked)


def document(status_list: StatusList) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` of the list as it is now."""
    url = list_url(status_list)
    return {
        "@context": [VC_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": keys.issuer_url(status_list.institution_id),
        "validFrom": status_list.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": status_list.purpose,
            "encodedList": encode(status_list.bits),
        },
    }


def publish(status_list: StatusList) -> None:
    """Sign the list's credential as it is now and keep it as the one served at its URL."""
    institution = db.session.get(Institution, status_list.institution_id)
    if institution is None:
        raise StatusListError("the institution of the status list no longer exists")
    key = keys.signing_key(institution)
    status_list.published = proof.sign(document(status_list), key.sign, keys.method_url(key.row), utcnow())


def published(status_list: StatusList) -> dict[str, Any]:
    """The signed list served at its URL. Lists are published when created; a list found without
    its signed copy (a gap) is published and committed here, once."""
    if status_list.published is None:
        publish(status_list)
        db.session.commit()
    return cast("dict[str, Any]", status_list.published)  # publish() always signs


def entries(credential_row: Credential) -> list[dict[str, Any]]:
    """The credential's ``credentialStatus``: one ``BitstringStatusListEntry`` per purpose."""
    result = []
    for purpose, status_list, index in (("revocation", credential_row.revocation_list, credential_row.revocation_index),
                                        ("suspension", credential_row.suspension_list, credential_row.suspension_index)):
        url = list_url(status_list)
        result.append({"id": f"{url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": purpose,
                       "statusListIndex": str(index), "statusListCredential": url})
    return result
