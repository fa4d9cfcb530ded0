"""Forms of the practical exam."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from sandbox_crm.api import MAX_ANSWER_LENGTH

from ..forms import PortalForm


class StartForm(PortalForm):
    confirm = BooleanField(
        _l("I am at my exam workstation and ready to start. The clock starts now and cannot be stopped."),
        validators=[DataRequired(message=_l("Tick the box to confirm that you want to start the practical exam."))],
    )


class FinishForm(PortalForm):
    confirm = BooleanField(
        _l("I have finished my work. The workspace will be closed and I cannot change it afterwards."),
        validators=[DataRequired(message=_l("Tick the box to confirm that you want to finish the practical exam."))],
    )


class PracticeForm(PortalForm):
    """A fresh practice workspace from the chosen scenario (choices set by the view: only the
    practice scenarios, so a forged code — an exam scenario's among them — is refused here)."""

    scenario = SelectField(_l("Scenario"), choices=[], validate_choice=False,
                           validators=[DataRequired(message=_l("Choose a scenario."))])

    def validate_scenario(self, field) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError(_l("Choose one of the listed practice scenarios."))


class AnswerForm(PortalForm):
    """What the candidate read in the CRM, recorded beside a task of the sheet (the view checks that
    the task asks for it). ``next``: the page to return to (checked to be a path of this site)."""

    text = TextAreaField(_l("Your answer"), validators=[
        DataRequired(message=_l("Write what you read in the CRM, then save.")),
        Length(max=MAX_ANSWER_LENGTH, message=_l("Shorten your answer to at most %(max)d characters."))])
    next = HiddenField()
