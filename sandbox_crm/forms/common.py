"""Forms every area of the sandbox uses."""
from __future__ import annotations

from typing import Any, TypeVar

from flask import request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, MultiDict
from wtforms import FileField, HiddenField
from wtforms.meta import DefaultMeta

_Form = TypeVar("_Form", bound=FlaskForm)


class UploadsInFileFieldsOnly(DefaultMeta):
    """A form's Meta: a file sent in a request's part is data for the form's file fields only.

    Flask-WTF reads a posted form from its text fields and its uploads together, so a file part
    named like a text field (``email=@x.txt``) became that field's value — a FileStorage where every
    filter, validator and widget reads text (500s on nearly every form). Here a text field reads
    text: one sent as a file is left out, and the field says it is missing, as for any other empty one.
    """

    def wrap_formdata(self, form: Any, formdata: Any) -> Any:
        data = super().wrap_formdata(form, formdata)
        if isinstance(data, CombinedMultiDict) and request.files:
            names = {field.name for field in form if isinstance(field, FileField)}
            uploads = MultiDict([(k, v) for k, v in request.files.items(multi=True) if k in names])
            return CombinedMultiDict([uploads, request.form])
        return data


class SandboxForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    """Every sandbox form: Flask-WTF's, its text fields reading text (:class:`UploadsInFileFieldsOnly`)."""

    class Meta(UploadsInFileFieldsOnly):
        pass


def edit_form(form_class: type[_Form], row: Any) -> _Form:
    """The edit form of ``row``: filled from the row to show it, and read from what was sent alone
    when posted — a field left out of a post is missing (its error shown), never the row's stored
    value in the database's form (a Decimal, a list, a related row) where the form reads text."""
    form: _Form = form_class() if request.method == "POST" else form_class(obj=row)
    return form


class ConfirmForm(SandboxForm):
    """A button's form (delete, reopen, complete, send, confirm an import): the CSRF token, and
    where to go afterwards when the button says (``next``, checked by ``safe_next``)."""

    next = HiddenField()
