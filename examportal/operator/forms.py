"""The operator's action form: one form for every action, the reason always required."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..forms import PortalForm, select_choices


class ActionForm(PortalForm):
    target = SelectField(_l("For whom"), coerce=int, default=0)
    kind = RadioField(_l("Action"), default="incident", choices=select_choices([
        ("unlock", _l("Unlock the test")),
        ("extra_time", _l("Add time")),
        ("pause", _l("Pause (the clock stops)")),
        ("resume", _l("Resume")),
        ("incident", _l("Record an incident")),
    ]), validators=[DataRequired(message=_l("Choose an action."))])
    minutes = IntegerField(_l("Extra minutes"), validators=[
        Optional(), NumberRange(min=1, max=240, message=_l("Enter a whole number of minutes from 1 to 240."))])
    reason = TextAreaField(_l("Reason (goes into the session record)"), validators=[
        DataRequired(message=_l("Give the reason for this action.")), Length(max=2000)])

    def validate_minutes(self, field):
        if self.kind.data == "extra_time" and field.data is None:
            raise ValidationError(_l("Enter how many minutes to add."))


class AbsenceForm(PortalForm):
    """The operator records that a candidate did not come to the practical part."""

    enrolment_id = SelectField(_l("Candidate"), coerce=int, validators=[DataRequired(message=_l("Choose the candidate."))])
    note = TextAreaField(_l("How the absence was established"),
                         validators=[DataRequired(message=_l("Say how the absence was established.")), Length(max=2000)])
