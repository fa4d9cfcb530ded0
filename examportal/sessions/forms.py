"""Forms for validation sessions, committees and enrolment."""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, ValidationError

from ..forms import PortalForm, select_choices

# Outside this range a date is a typo (and year 1 would not even convert to UTC).
EARLIEST, LATEST = datetime(2000, 1, 1), datetime(2100, 12, 31, 23, 59)


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

    def validate_starts_at(self, field):
        if field.data and not (EARLIEST <= field.data <= LATEST):
            raise ValidationError(_l("Enter a date between %(earliest)s and %(latest)s.",
                                     earliest=EARLIEST.year, latest=LATEST.year))


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
