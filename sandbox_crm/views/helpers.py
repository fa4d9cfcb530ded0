"""What every area's views share: a service's errors shown on the form that caused them."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash
from flask_babel import gettext as _


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
