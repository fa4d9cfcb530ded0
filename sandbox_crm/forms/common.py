"""Forms every area of the sandbox uses."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField


class ConfirmForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """A button's form (delete, reopen, complete, send, confirm an import): the CSRF token, and
    where to go afterwards when the button says (``next``, checked by ``safe_next``)."""

    next = HiddenField()
