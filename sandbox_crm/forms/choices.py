"""Options of select and radio fields as WTForms 3.3 wants them: ``SelectChoice`` objects, not
``(value, label)`` tuples nor dicts of groups (both deprecated)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from wtforms import SelectField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # types-WTForms predates WTForms 3.3

__all__ = ["SelectChoice", "choices", "choices_of"]


def choices(pairs: Iterable[tuple[Any, Any]], optgroup: str | None = None) -> list[SelectChoice]:
    """``(value, label)`` pairs as the options of a field, in ``<optgroup label=optgroup>`` if given."""
    return [SelectChoice(value, label, optgroup=optgroup) for value, label in pairs]


def choices_of(field: SelectField) -> list[SelectChoice]:
    """The options a field was given (by :func:`choices`; the type stubs still describe tuples)."""
    return cast("list[SelectChoice]", field.choices)
