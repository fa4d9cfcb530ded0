"""Forms of people's requests about their data and of their review by staff."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..forms import PortalForm
from .requests import MAX_TEXT

_TOO_LONG = _l("Shorten the text to at most %(max)s characters.", max=MAX_TEXT)


class ButtonForm(PortalForm):
    """Only the CSRF token: the button says it all (download, withdraw, erase)."""


class CorrectionRequestForm(PortalForm):
    details = TextAreaField(_l("What is wrong, and what should it be?"), validators=[
        DataRequired(message=_l("Say what is wrong and what it should be.")), Length(max=MAX_TEXT, message=_TOO_LONG)])


class ErasureRequestForm(PortalForm):
    details = TextAreaField(_l("Anything you want to add (optional)"),
                            validators=[Optional(), Length(max=MAX_TEXT, message=_TOO_LONG)])
    understood = BooleanField(
        _l("I understand that erased data cannot be restored and that I will no longer be able to sign in."),
        validators=[DataRequired(message=_l("Tick the box to confirm that you understand what erasure means."))])


class GrantCorrectionForm(PortalForm):
    done = TextAreaField(_l("What was corrected (the person receives it)"), validators=[
        DataRequired(message=_l("Say what was corrected: the person receives it.")),
        Length(max=MAX_TEXT, message=_TOO_LONG)])


class RefuseForm(PortalForm):
    reason = TextAreaField(_l("Reason for the refusal (the person receives it)"), validators=[
        DataRequired(message=_l("Give the reason for the refusal: the person receives it.")),
        Length(max=MAX_TEXT, message=_TOO_LONG)])


class ExtendForm(PortalForm):
    reason = TextAreaField(_l("Why the answer takes longer (the person receives it)"), validators=[
        DataRequired(message=_l("Give the reason for the extension: the person receives it.")),
        Length(max=MAX_TEXT, message=_TOO_LONG)])
