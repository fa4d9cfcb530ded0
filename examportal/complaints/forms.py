"""The public complaint form, the staff's forms and the list's filters."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import PortalForm, person_name, select_choices
from ..models import ComplaintStatus
from .services import MAX_OUTCOME, MAX_TEXT, OPEN


class ComplaintForm(PortalForm):
    """Anyone's complaint; ``institution_id`` choices are set by the view."""

    institution_id = SelectField(_l("The institution you complain about"), default="",
                                 validators=[DataRequired(message=_l("Choose the institution from the list."))])
    name = StringField(_l("Your name"), validators=[
        DataRequired(message=_l("Enter your name: the institution replies to you by name.")),
        Length(max=200, message=_l("Shorten the name to at most %(max)s characters.", max=200)), person_name])
    email = EmailField(_l("Your e-mail address"), validators=[
        DataRequired(message=_l("Enter your e-mail address: the institution replies to it.")),
        Email(message=_l("Enter a valid e-mail address.")),
        Length(max=254, message=_l("Shorten the address to at most %(max)s characters.", max=254))])
    text = TextAreaField(_l("Your complaint"), validators=[
        DataRequired(message=_l("Describe what you complain about.")),
        Length(max=MAX_TEXT, message=_l("Shorten the complaint to at most %(max)s characters.", max=MAX_TEXT))])
    privacy = BooleanField(
        _l("I have read the information on how my personal data are processed to handle the complaint."),
        validators=[DataRequired(message=_l("Confirm that you have read the information on your personal data."))])


class AcknowledgeForm(PortalForm):
    """Nothing to fill in: the button (and the form's token)."""


class AssignForm(PortalForm):
    """The handler and the persons the complaint concerns; choices are set by the view."""

    # The choices are not enforced here: the service says why a person cannot handle the complaint
    # (their role may have ended since the page was opened), instead of a bare "not a valid choice".
    handler = SelectField(_l("Handler"), default="", validate_choice=False,
                          validators=[DataRequired(message=_l("Choose the handler from the list."))])
    concerned = SelectMultipleField(
        _l("Persons the complaint concerns (they cannot handle it)"), validate_choice=False,
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())


class OutcomeForm(PortalForm):
    outcome = TextAreaField(_l("Outcome (the complainant receives it)"), validators=[
        DataRequired(message=_l("Write the outcome: the complainant receives it.")),
        Length(max=MAX_OUTCOME, message=_l("Shorten the outcome to at most %(max)s characters.", max=MAX_OUTCOME))])


class ComplaintFilterForm(PortalForm):
    class Meta:
        csrf = False  # a GET filter form changes nothing

    status = SelectField(_l("Status"), default=OPEN, validate_choice=True)
    institution_id = SelectField(_l("Institution"), default="", validate_choice=True)
    mine = BooleanField(_l("Only those I handle"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per request: a status's label is translated when it is read.
        self.status.choices = select_choices([(OPEN, _l("open (not closed)")), ("", _l("any")),
                                              *((status.value, status.label) for status in ComplaintStatus)])
