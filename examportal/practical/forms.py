"""Forms of the practical exam."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField
from wtforms.validators import DataRequired, ValidationError

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
