"""Forms every area of the sandbox uses."""
from __future__ import annotations

from typing import Any, TypeVar

from flask import request
from flask_wtf import FlaskForm
from wtforms import HiddenField

_Form = TypeVar("_Form", bound=FlaskForm)


def edit_form(form_class: type[_Form], row: Any) -> _Form:
    """The edit form of ``row``: filled from the row to show it, and read from what was sent alone
    when posted — a field left out of a post is missing (its error shown), never the row's stored
    value in the database's form (a Decimal, a list, a related row) where the form reads text."""
    form: _Form = form_class() if request.method == "POST" else form_class(obj=row)
    return form


class ConfirmForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """A button's form (delete, reopen, complete, send, confirm an import): the CSRF token, and
    where to go afterwards when the button says (``next``, checked by ``safe_next``)."""

    next = HiddenField()
