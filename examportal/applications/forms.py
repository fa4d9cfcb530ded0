"""Forms of applications: the candidate's application, their identity data, and staff's decision."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..auth.forms import DOCUMENT_TYPES
from ..forms import PortalForm, select_choices
from ..models import Application
from ..validators import is_valid_pesel, pesel_birth_date
from .services import MAX_EXTRA_MINUTES, requested_accommodations

MINUTES = NumberRange(min=0, max=MAX_EXTRA_MINUTES, message=_l("Enter a whole number of minutes from 0 to 240."))


class ApplicationForm(PortalForm):
    identity_confirmed = BooleanField(
        _l("My data shown above is correct."),
        validators=[DataRequired(message=_l("Confirm that your data is correct, or ask the institution to correct it first."))])
    consent = BooleanField(
        _l("I consent to the processing of my personal data for the purpose of validation and certification."),
        validators=[DataRequired(message=_l("Without this consent we cannot process your application."))])
    rodo_read = BooleanField(
        _l("I have read the information on the processing of personal data (RODO) above."),
        validators=[DataRequired(message=_l("Read the information on the processing of personal data and confirm it."))])
    rules_accepted = BooleanField(
        _l("I know the rules of the validation: its parts, the time limits, the pass marks and the right to appeal."),
        validators=[DataRequired(message=_l("Read the rules of the validation and confirm you know them."))])
    extra_time_minutes = IntegerField(_l("Extra time for the theory test (minutes)"), default=0,
                                      validators=[Optional(), MINUTES])
    needs_large_font = BooleanField(_l("A larger font"))
    needs_reader = BooleanField(_l("A reader (someone who reads the questions aloud)"))
    needs_other = TextAreaField(_l("Other needs"), validators=[Optional(), Length(max=1000)])
    recognition_requested = BooleanField(
        _l("I ask for recognition of an earlier passed theory part (ZSK act, art. 49)"))
    recognition_note = TextAreaField(_l("Which earlier validation (session, date)"), validators=[Optional(), Length(max=1000)])


class IdentityForm(PortalForm):
    """The identity data a certificate needs, for an account that lacks some of it (the fields
    already known are not on the form: only the institution corrects them)."""

    birth_date = DateField(_l("Date of birth"), validators=[DataRequired(message=_l("Enter your date of birth (YYYY-MM-DD)."))])
    birth_place = StringField(_l("Place of birth"), validators=[DataRequired(), Length(max=100)])
    has_pesel = RadioField(
        _l("Do you have a PESEL number?"), choices=select_choices([("yes", _l("Yes")), ("no", _l("No"))]),
        default="yes", validators=[DataRequired()])
    pesel = StringField(_l("PESEL"), validators=[Length(max=11)])
    id_document_type = SelectField(_l("Identity document"), choices=select_choices(DOCUMENT_TYPES), default="")
    id_document_number = StringField(_l("Document number"), validators=[Length(max=40)])
    #: The date of birth the account already has, when the form does not ask for it.
    known_birth_date: date | None = None

    def validate_birth_date(self, field: Any) -> None:
        if field.data and not (date(1900, 1, 1) <= field.data <= date.today()):
            raise ValidationError(_l("Enter a real date of birth."))

    def validate_pesel(self, field: Any) -> None:
        if self.has_pesel.data != "yes":
            return
        value = (field.data or "").strip()
        if not value:
            raise ValidationError(_l("Enter your PESEL number, or choose that you do not have one."))
        if not is_valid_pesel(value):
            raise ValidationError(_l("This PESEL number is not valid: check the digits."))
        birth_date = self.birth_date.data if "birth_date" in self else self.known_birth_date
        if birth_date and pesel_birth_date(value) != birth_date:
            raise ValidationError(_l("The PESEL number does not match the date of birth."))

    def validate_id_document_type(self, field: Any) -> None:
        if self.has_pesel.data == "no" and not field.data:
            raise ValidationError(_l("Without a PESEL, choose the type of your identity document."))

    def validate_id_document_number(self, field: Any) -> None:
        if self.has_pesel.data == "no" and not (field.data or "").strip():
            raise ValidationError(_l("Without a PESEL, enter the number of your identity document."))


class AcceptForm(PortalForm):
    """Staff accept an application, granting the accommodation (the request comes filled in)."""

    extra_time_minutes = IntegerField(_l("Extra time granted (minutes)"), validators=[Optional(), MINUTES])
    accommodations = TextAreaField(_l("Other accommodation granted (for the operator)"),
                                   validators=[Optional(), Length(max=1000)])


class RejectForm(PortalForm):
    reason = TextAreaField(_l("Reason for the rejection (the candidate receives it)"), validators=[
        DataRequired(message=_l("Give the reason for the rejection: the candidate receives it and may appeal.")),
        Length(max=2000)])


def accept_form(application: Application, formdata: bool = False) -> AcceptForm:
    """The accept form of one application on the session's page: as posted, or filled in with what
    the candidate asked for. Each application's forms have their own prefix (unique field ids)."""
    prefix = f"accept-{application.id}"
    if formdata:
        return AcceptForm(prefix=prefix)
    return AcceptForm(prefix=prefix, formdata=None, data={
        "extra_time_minutes": application.extra_time_minutes,
        "accommodations": requested_accommodations(application) or ""})


def reject_form(application: Application, formdata: bool = False) -> RejectForm:
    """The reject form of one application on the session's page (as posted, or empty)."""
    prefix = f"reject-{application.id}"
    return RejectForm(prefix=prefix) if formdata else RejectForm(prefix=prefix, formdata=None)
