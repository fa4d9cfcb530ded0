"""The form staff fill in to record a person's competence."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import PortalForm, select_choices
from ..models import Education
from .services import MAX_EVIDENCE_BYTES, MAX_SUPERVISION_MONTHS


class CompetenceForm(PortalForm):
    education = SelectField(_l("Education"),
                            validators=[DataRequired(message=_l("Choose the person's education from the list."))])
    crm_supervision_months = IntegerField(
        _l("Months in posts directing or supervising the work of CRM operators"), default=0,
        validators=[InputRequired(message=_l("Enter a whole number of months (0 if none).")),
                    NumberRange(min=0, max=MAX_SUPERVISION_MONTHS,
                                message=_l("Enter a whole number of months from 0 to %(max)s (5 years are 60 months).",
                                           max=MAX_SUPERVISION_MONTHS))])
    computer_skills = BooleanField(_l("Operates a computer: starts it and uses the system and its applications"))
    troubleshooting_skills = BooleanField(
        _l("Solves a lost internet connection and a browser's incompatibility with the exam platform"))
    evidence = FileField(_l("Evidence: a PDF, JPEG or PNG file of at most %(mb)s MB", mb=MAX_EVIDENCE_BYTES // (1024 * 1024)))
    note = TextAreaField(_l("Note (what you checked)"), validators=[Optional(), Length(max=2000)])
    review_due = DateField(_l("Review by"), validators=[DataRequired(message=_l("Enter the review date as YYYY-MM-DD."))])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Built per request: a level's label is translated when it is read.
        self.education.choices = select_choices([("", _l("— choose —")), *((level.value, level.label) for level in Education)])
