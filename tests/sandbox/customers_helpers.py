"""Factories and valid-number generators for the customers area's tests."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

import sandbox_crm
from sandbox_crm import validators as v
from sandbox_crm.models import ActionStatement


def make_nip(seed: int) -> str:
    """A valid NIP built from ``seed`` (the first nine digits vary; the control digit is computed)."""
    n = seed
    while True:
        body = f"{(123456789 + n * 7919) % 10**9:09d}"
        control = v.nip_checksum(body)
        if control != 10:
            return body + str(control)
        n += 1


def make_regon(seed: int, long: bool = False) -> str:
    body = f"{(12345678 + seed * 104729) % 10**8:08d}"
    regon9 = body + str(v.regon_checksum(body))
    if not long:
        return regon9
    body14 = regon9 + f"{seed % 10000:04d}"
    return body14 + str(v.regon_checksum(body14))


def make_pesel(year: int, month: int, day: int, serial: int = 1234) -> str:
    offset = {18: 80, 19: 0, 20: 20, 21: 40, 22: 60}[year // 100]
    body = f"{year % 100:02d}{month + offset:02d}{day:02d}{serial:04d}"
    return body + str(v.pesel_checksum(body))


def company(workspace, **data: Any):
    """A company created through the service (recorded like a user's)."""
    from sandbox_crm.services.customers import create_company

    tags = data.pop("tags", ())
    data.setdefault("name", "Firma Testowa sp. z o.o.")
    return create_company(workspace, data, tags)


def contact(workspace, **data: Any):
    from sandbox_crm.services.customers import create_contact

    tags = data.pop("tags", ())
    if "company" in data:
        data["company_id"] = data.pop("company").id
    data.setdefault("first_name", "Jan")
    data.setdefault("last_name", "Kowalski")
    return create_contact(workspace, data, tags)


def statements(workspace, verb: str | None = None, object_type: str | None = None) -> list[ActionStatement]:
    """The workspace's logged statements, optionally of one verb / object type, oldest first."""
    stmt = select(ActionStatement).where(ActionStatement.workspace_id == workspace.id)
    if verb:
        stmt = stmt.where(ActionStatement.verb == verb)
    if object_type:
        stmt = stmt.where(ActionStatement.object_type == object_type)
    return list(sandbox_crm.session().scalars(stmt.order_by(ActionStatement.id)))
