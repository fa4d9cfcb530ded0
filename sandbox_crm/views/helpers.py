"""What every area's views share: a service's errors shown on the form that caused them, and the
company picker's reading of what was typed in it (contacts, opportunities and tasks name their
company the same way)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, g
from flask_babel import gettext as _

from ..models import Company
from ..services import customers as customer_service


def attach_errors(form: Any, errors: Mapping[str, Any]) -> None:
    """Show a service's errors next to their fields (a key names the field, or the field an id is
    chosen in: ``company_id`` → ``company``), or as a message when no field of ``form`` matches.

    A message may be a lazy string or a plain message id; either is shown in the user's language.
    """
    for key, message in errors.items():
        field = getattr(form, key, None) if key else None
        if field is None and key.endswith("_id"):
            field = getattr(form, key[:-3], None)
        text = _(str(message))
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors), text]
        else:
            flash(text, "error")


def resolve_company(field: Any) -> tuple[bool, Company | None]:
    """The company a picker field names (name, NIP or ``#id``); an error on the field when it is unclear."""
    reference = (field.data or "").strip()
    if not reference:
        return True, None
    found = customer_service.find_company_by_reference(g.workspace, reference)
    if len(found) == 1:
        return True, found[0]
    field.errors = [*list(field.errors),
                  _("No such company: type its exact name or NIP, or create it first.") if not found
                  else _("Several companies match: type the NIP or pick one from the list.")]
    return False, None


def company_reference(company: Company | None) -> str:
    """What to put in a company picker so that it names exactly ``company``."""
    if company is None:
        return ""
    unique = customer_service.find_company_by_reference(g.workspace, company.name) == [company]
    return company.name if unique else f"#{company.id}"
