"""Filters of the audit log browser."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional, ValidationError

from ..forms import PortalForm

# Outside this range a date is a typo (and 9999-12-31 + 1 day would overflow).
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)


def _plausible(form, field):
    if field.data and not (EARLIEST <= field.data <= LATEST):
        raise ValidationError(_l("Enter a date between %(earliest)s and %(latest)s.",
                                 earliest=EARLIEST.isoformat(), latest=LATEST.isoformat()))


class AuditFilterForm(PortalForm):
    class Meta:
        csrf = False  # a GET filter form changes nothing

    action = StringField(_l("Action"), validators=[Optional(), Length(max=80)])
    object_type = StringField(_l("Object type"), validators=[Optional(), Length(max=60)])
    actor = StringField(_l("Who (name or e-mail)"), validators=[Optional(), Length(max=200)])
    date_from = DateField(_l("From"), validators=[Optional(), _plausible])
    date_to = DateField(_l("To"), validators=[Optional(), _plausible])

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))
