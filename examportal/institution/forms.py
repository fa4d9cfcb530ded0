"""Forms for managing an institution's people and, for administrators, institutions."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional

from ..forms import PortalForm, select_choices

INSTITUTION_ROLE_CHOICES = [
    ("operator", _l("Exam-system operator")),
    ("assessor", _l("Assessor (committee member)")),
    ("appeals", _l("Appeals panel member")),
    ("staff", _l("Institution staff")),
]


class PersonRoleForm(PortalForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254)])
    first_name = StringField(_l("First name (for a new account)"), validators=[Optional(), Length(max=100)])
    last_name = StringField(_l("Last name (for a new account)"), validators=[Optional(), Length(max=100)])
    role = SelectField(_l("Role"), choices=select_choices(INSTITUTION_ROLE_CHOICES), validators=[DataRequired()])


class InstitutionForm(PortalForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[DataRequired(), Length(max=60)])
    kind = SelectField(_l("Kind"), choices=select_choices([("certifying", _l("Certifying institution")),
                                                           ("validating", _l("Validating institution"))]))
    parent_id = SelectField(_l("Certifying institution it validates for"), coerce=int, validators=[Optional()])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100)])


RESET_CAUSES = [
    ("", _l("— choose —")),
    ("lost_device", _l("The phone is lost, broken or replaced, and no recovery code is left")),
    ("app_removed", _l("The app or its examportal entry was deleted, and no recovery code is left")),
    ("compromised", _l("The phone or the recovery codes may be in someone else's hands")),
]


class SecondFactorResetForm(PortalForm):
    """An administrator clears a person's second factor (lost phone, no recovery codes left)."""

    email = EmailField(_l("E-mail of the person"),
                       validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254)])
    # A fixed list, not free text: the audit log keeps the cause, and a cause names no one.
    cause = SelectField(_l("Why (kept in the audit log)"), choices=select_choices(RESET_CAUSES),
                        validators=[DataRequired(message=_l("Choose why, for the audit log."))])
