"""Forms for validation sessions, committees and enrolment."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import TextInput

from ..certification import rules as certification_rules
from ..checkin import services as checkin
from ..forms import PortalForm, select_choices

# Outside this range a date is a typo (and year 1 would not even convert to UTC).
EARLIEST, LATEST = datetime(2000, 1, 1), datetime(2100, 12, 31, 23, 59)


class AmountField(Field):
    """An amount in złoty as people type it ("350", "350,00"); ``data`` is a Decimal or None. What
    was typed is shown back as typed, also when it is not an amount."""

    widget = TextInput()

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return f"{self.data:.2f}" if isinstance(self.data, Decimal) else ""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        text = str(valuelist[0]) if valuelist else ""
        if text.strip():
            amount = certification_rules.parse_amount(text) if len(text) <= 30 else None
            if amount is None:
                raise ValueError(_l("Enter the fee in złoty, e.g. 350 or 350,00."))
            self.data = amount


class SessionForm(PortalForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    institution_id = SelectField(_l("Institution"), coerce=int, validators=[DataRequired()])
    qualification_id = SelectField(_l("Qualification"), coerce=int, validators=[DataRequired()])
    starts_at = DateTimeLocalField(
        _l("Date and time"), format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(message=_l("Enter the date and time as YYYY-MM-DD HH:MM."))],
    )
    mode = SelectField(_l("Form"), choices=select_choices([("onsite", _l("On site")), ("remote", _l("Remote"))]))
    place = StringField(_l("Place (address or video-call room)"), validators=[DataRequired(), Length(max=300)])
    capacity = IntegerField(
        _l("Places"), default=20,
        validators=[DataRequired(message=_l("Enter a whole number.")), NumberRange(min=1, max=500, message=_l("Enter a number from 1 to 500."))],
    )
    published = BooleanField(_l("Published: candidates see the session and may apply until the deadline"))
    registration_deadline = DateTimeLocalField(
        _l("Applications until"), format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
    )
    fee_pln = AmountField(_l("Announced fee (PLN)"))
    exam_networks = TextAreaField(_l("Exam room's networks (optional)"), validators=[Optional(), Length(max=2000)])

    def validate_exam_networks(self, field):
        try:
            checkin.parse_networks(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def validate_starts_at(self, field):
        if field.data and not (EARLIEST <= field.data <= LATEST):
            raise ValidationError(_l("Enter a date between %(earliest)s and %(latest)s.",
                                     earliest=EARLIEST.year, latest=LATEST.year))

    def validate_registration_deadline(self, field):
        # Empty, Optional() has stopped here (a published session without one is refused by the service).
        if field.data is None:
            raise ValidationError(_l("Enter the date and time as YYYY-MM-DD HH:MM."))
        if not (EARLIEST <= field.data <= LATEST):
            raise ValidationError(_l("Enter a date between %(earliest)s and %(latest)s.",
                                     earliest=EARLIEST.year, latest=LATEST.year))
        if self.starts_at.data and field.data >= self.starts_at.data:
            raise ValidationError(_l("The deadline for applications must be before the session starts."))

    def validate_fee_pln(self, field):
        if field.data is None:
            return
        if field.data < 0:
            raise ValidationError(_l("The fee cannot be negative."))
        if field.data != field.data.quantize(Decimal("0.01")):
            raise ValidationError(_l("Give the fee in złoty with at most two decimal places (grosze)."))
        if field.data > certification_rules.MAX_FEE:
            raise ValidationError(_l("The fee cannot exceed %(max)s zł.", max=f"{certification_rules.MAX_FEE:.2f}"))


class OperatorForm(PortalForm):
    operator_id = SelectField(_l("Exam-system operator"), coerce=int, validators=[DataRequired()])


class AssessorForm(PortalForm):
    assessor_id = SelectField(_l("Assessor"), coerce=int, validators=[DataRequired()])
    is_chair = BooleanField(_l("Chair of the committee"))


class EnrolForm(PortalForm):
    email = EmailField(_l("Candidate's e-mail"), validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address."))])


class DeclarationForm(PortalForm):
    confirm = BooleanField(
        _l("I declare that I am impartial towards the candidates named above: I did not prepare any of them "
           "for this qualification and I have no conflict of interest."),
        validators=[DataRequired(message=_l("You must confirm the declaration to take part in the committee."))],
    )
    remarks = TextAreaField(_l("Remarks (optional)"), validators=[Optional(), Length(max=2000)])
    # The enrolment ids the page named, comma-separated: the declaration covers exactly these.
    covered = HiddenField()


class TrainingForm(PortalForm):
    trainer_id = SelectField(_l("Trainer"), coerce=int, validators=[DataRequired()])
    candidate_email = EmailField(_l("Candidate's e-mail"), validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address."))])
    course = StringField(_l("Course or training"), validators=[Optional(), Length(max=200)])


class ProgressForm(PortalForm):
    """The candidates ticked on the session's progress page, and the message for them (the export
    needs only the ticks; the service refuses an empty subject or message)."""

    candidates = SelectMultipleField(_l("Candidates"), coerce=int,
                                     validators=[DataRequired(message=_l("Choose at least one candidate."))])
    subject = StringField(_l("Subject"), validators=[Optional(), Length(max=200)])
    body = TextAreaField(_l("Message"), validators=[Optional(), Length(max=5000)])
