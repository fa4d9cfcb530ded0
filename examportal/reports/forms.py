"""Forms of the reports blueprint: the auditor's mandate."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional

from ..forms import PortalForm, person_name


class MandateForm(PortalForm):
    """Staff grant an external auditor a read-only mandate over one institution and one period."""

    institution_id = SelectField(_l("Institution audited"), validators=[DataRequired()])
    email = EmailField(_l("Auditor's e-mail"), validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address.")),
                                                          Length(max=254)])
    first_name = StringField(_l("First name (for a new account)"), validators=[Optional(), Length(max=100), person_name])
    last_name = StringField(_l("Last name (for a new account)"), validators=[Optional(), Length(max=100), person_name])
    period_from = DateField(_l("Records from"), validators=[InputRequired(message=_l("Enter a date."))])
    period_to = DateField(_l("Records to"), validators=[InputRequired(message=_l("Enter a date."))])
    expires_on = DateField(_l("Access until"), validators=[InputRequired(message=_l("Enter a date."))])
