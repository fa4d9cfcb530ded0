"""The operator's action form: one form for every action, the reason always required."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, RadioField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..forms import PortalForm, select_choices
from .services import MAX_EXTRA_MINUTES

ALL = "0"
"""The action form's target for the whole session (the theory test of every candidate)."""
PRACTICAL = "p"
"""The prefix of a practical attempt's id among the action form's targets."""


class ActionForm(PortalForm):
    # ALL (every candidate's theory test), a theory attempt's id, or PRACTICAL and a practical attempt's
    # id. The choices are the session's own (views._action_form): another session's attempt is refused.
    target = SelectField(_l("For whom"), default=ALL)
    kind = RadioField(_l("Action"), default="incident", choices=select_choices([
        ("unlock", _l("Unlock the test")),
        ("extra_time", _l("Add time")),
        ("pause", _l("Pause (the clock stops)")),
        ("resume", _l("Resume")),
        ("incident", _l("Record an incident")),
    ]), validators=[DataRequired(message=_l("Choose an action."))])
    minutes = IntegerField(_l("Extra minutes"), validators=[
        Optional(), NumberRange(min=1, max=MAX_EXTRA_MINUTES, message=_l("Enter a whole number of minutes from 1 to 240."))])
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
