"""Forms of the theory test (the answer fields themselves are read by the question type's read_form, through services.read_form_answer)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import PortalForm


class StartForm(PortalForm):
    """Starting the clock: a form so that it is a POST with a CSRF token."""


class SubmitForm(PortalForm):
    confirm = BooleanField(
        _l("I have checked my answers and want to submit the test. I cannot change it afterwards."),
        validators=[DataRequired(message=_l("Tick the box to confirm that you want to submit the test."))],
    )


class ReleaseForm(PortalForm):
    confirm = BooleanField(
        _l("Release the theory results of this session to the candidates."),
        validators=[DataRequired(message=_l("Tick the box to confirm the release."))],
    )


class VoidForm(PortalForm):
    item_id = StringField(_l("Item id (as in the item statistics, e.g. 1.3.a-003)"),
                          validators=[DataRequired(message=_l("Enter the item's id.")), Length(max=80)])
    reason = TextAreaField(_l("Why the item is faulty"),
                           validators=[DataRequired(message=_l("Give the reason the item is faulty.")), Length(max=2000)])


class CorrectionForm(PortalForm):
    reason = TextAreaField(_l("Reason for the correction (the candidate receives it)"),
                           validators=[DataRequired(message=_l("Give the reason for the correction.")), Length(max=4000)])
