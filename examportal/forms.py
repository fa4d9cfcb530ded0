"""The base of every form: Flask-WTF plus the checks every field needs, whatever its type."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # types-WTForms predates WTForms 3.3
from wtforms.meta import DefaultMeta
from wtforms.validators import StopValidation

# Request parameters (ids in query strings and ad-hoc form values) have one parser for the whole
# code base; it lives in the sandbox, which must not depend on examportal.
from sandbox_crm.params import (
    ID,
    MAX_ID,
    NEXT,
    PAGE,
    Flag,
    Number,
    Param,
    QueryForm,
    Text,
    form_params,
    params,
    parse_id,
    refuse_damaged,
)

__all__ = ["ID", "MAX_ID", "NEXT", "PAGE", "Flag", "Number", "Param", "PortalForm", "QueryForm", "Text", "add_error",
           "form_params", "params", "parse_id", "refuse_damaged", "reject_nul", "select_choices"]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def reject_nul(form, field) -> None:
    """A NUL byte is never meaningful in a form, and PostgreSQL cannot store one in text."""
    if any(isinstance(value, str) and "\x00" in value for value in field.raw_data or ()):
        raise StopValidation(_l("Remove the invisible control character (NUL) from this field."))


def select_choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """The options of a select or radio field from (value, label) pairs, as WTForms wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


def add_error(field: Any, message: str) -> None:
    """Show ``message`` at ``field`` (a rule refused the value), whether or not the form was validated."""
    field.errors = [*field.errors, message]


class PortalForm(FlaskForm):
    """Every examportal form: each field first refuses NUL bytes, before any other check or query."""

    class Meta(DefaultMeta):
        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            field.validators = [reject_nul, *field.validators]
            if isinstance(field, EmailField):
                # A pasted address often carries spaces around it; they are never part of it.
                field.filters = (_strip, *field.filters)
            return field
