"""Filters of the audit log browser."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import Length, Optional


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter form changes nothing

    action = StringField(_l("Action"), validators=[Optional(), Length(max=80)])
    object_type = StringField(_l("Object type"), validators=[Optional(), Length(max=60)])
    actor = StringField(_l("Who (name or e-mail)"), validators=[Optional(), Length(max=200)])
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
