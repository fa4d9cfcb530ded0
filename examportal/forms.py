"""The base of every form: Flask-WTF plus the checks every field needs, whatever its type."""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, FieldList
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # types-WTForms predates WTForms 3.3
from wtforms.validators import StopValidation, ValidationError

# Request parameters (ids in query strings and ad-hoc form values) have one parser for the whole
# code base; it lives in the sandbox, which must not depend on examportal.
from sandbox_crm.forms.common import UploadsInFileFieldsOnly
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

__all__ = ["ID", "MAX_ID", "NEXT", "PAGE", "Flag", "Number", "Param", "PortalForm", "QueryForm", "Rows", "Text", "add_error",
           "form_params", "params", "parse_id", "person_name", "refuse_damaged", "reject_nul", "select_choices"]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def reject_nul(form, field) -> None:
    """A NUL byte is never meaningful in a form, and PostgreSQL cannot store one in text."""
    if any(isinstance(value, str) and "\x00" in value for value in field.raw_data or ()):
        raise StopValidation(_l("Remove the invisible control character (NUL) from this field."))


#: Unicode categories never part of a person's name: control and format characters (zero-width
#: spaces, direction overrides), private-use and surrogate code points, line and paragraph separators.
_NOT_IN_A_NAME = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})


def person_name(form, field) -> None:
    """A person's name as it is printed (on a certificate, a protocol, a register): visible characters
    only, at least one of them a letter."""
    value = field.data
    if not isinstance(value, str) or not value:
        return
    if any(unicodedata.category(character) in _NOT_IN_A_NAME for character in value):
        raise ValidationError(_l("Remove the invisible or control characters from the name."))
    if not any(character.isalpha() for character in value):
        raise ValidationError(_l("A name needs at least one letter."))


def select_choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """The options of a select or radio field from (value, label) pairs, as WTForms wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


def add_error(field: Any, message: str) -> None:
    """Show ``message`` at ``field`` (a rule refused the value), whether or not the form was validated."""
    field.errors = [*field.errors, message]


class PortalForm(FlaskForm):
    """Every examportal form: each field first refuses NUL bytes, before any other check or query,
    and a text field reads text (a file sent in its name is left out: :class:`UploadsInFileFieldsOnly`)."""

    class Meta(UploadsInFileFieldsOnly):
        def bind_field(self, form, unbound_field, options):
            field = super().bind_field(form, unbound_field, options)
            field.validators = [reject_nul, *field.validators]
            if isinstance(field, EmailField):
                # A pasted address often carries spaces around it; they are never part of it.
                field.filters = (_strip, *field.filters)
            return field


class Rows(FieldList):
    """A list of sub-forms (``rows-0-amount``, ``rows-1-amount`` …) whose row numbers are ASCII digits.

    WTForms takes any key whose number part ``str.isdigit()`` accepts as a row, and then ``int()``
    fails on digits it accepts but cannot read (``rows-²-amount``): a 500 while the form is made.
    Such a key is no row here; it is left out as any unknown field is.
    """

    def _extract_indices(self, prefix: str, formdata: Any) -> Iterable[int]:
        offset, separator = len(prefix) + 1, getattr(self, "_field_separator", "-")
        for key in formdata:
            if key.startswith(prefix):
                number = key[offset:].split(separator, 1)[0]
                if number.isascii() and number.isdigit():
                    yield int(number)
