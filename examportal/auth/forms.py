"""Forms for logging in, registering and resetting a password."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, EmailField, PasswordField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from ..forms import PortalForm, person_name, select_choices
from ..validators import is_valid_pesel, pesel_birth_date

DOCUMENT_TYPES = [
    ("", _l("— choose —")),
    ("id_card", _l("Identity card")),
    ("passport", _l("Passport")),
    ("residence_card", _l("Residence card")),
    ("other", _l("Other identity document")),
]

PASSWORD_RULES = [DataRequired(), Length(min=10, max=128, message=_l("The password must have 10 to 128 characters."))]


class LoginForm(PortalForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address."))])
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    remember = BooleanField(_l("Remember me on this computer"))


class RegistrationForm(PortalForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=100), person_name])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=100), person_name])
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254)])
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=30)])
    has_pesel = RadioField(
        _l("Do you have a PESEL number?"),
        choices=select_choices([("yes", _l("Yes")), ("no", _l("No"))]),
        default="yes",
        validators=[DataRequired()],
    )
    # No Optional() on these three: it would stop the chain on an empty value before the
    # validate_* methods below, which require them depending on the has_pesel answer.
    pesel = StringField(_l("PESEL"), validators=[Length(max=11)])
    id_document_type = SelectField(_l("Identity document"), choices=select_choices(DOCUMENT_TYPES), default="")
    id_document_number = StringField(_l("Document number"), validators=[Length(max=40)])
    birth_date = DateField(_l("Date of birth"), validators=[DataRequired(message=_l("Enter your date of birth (YYYY-MM-DD)."))])
    birth_place = StringField(_l("Place of birth"), validators=[DataRequired(), Length(max=100)])
    password = PasswordField(_l("Password"), validators=PASSWORD_RULES)
    password_confirm = PasswordField(
        _l("Repeat the password"), validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))]
    )
    rodo_consent = BooleanField(
        _l("I have read the information on the processing of my personal data and I consent to it for the purpose of validation and certification."),
        validators=[DataRequired(message=_l("Without this consent we cannot process your application."))],
    )

    def validate_pesel(self, field):
        if self.has_pesel.data != "yes":
            return
        value = (field.data or "").strip()
        if not value:
            raise ValidationError(_l("Enter your PESEL number, or choose that you do not have one."))
        if not is_valid_pesel(value):
            raise ValidationError(_l("This PESEL number is not valid: check the digits."))
        if self.birth_date.data and pesel_birth_date(value) != self.birth_date.data:
            raise ValidationError(_l("The PESEL number does not match the date of birth."))

    def validate_id_document_type(self, field):
        if self.has_pesel.data == "no" and not field.data:
            raise ValidationError(_l("Without a PESEL, choose the type of your identity document."))

    def validate_id_document_number(self, field):
        if self.has_pesel.data == "no" and not (field.data or "").strip():
            raise ValidationError(_l("Without a PESEL, enter the number of your identity document."))

    def validate_birth_date(self, field):
        if field.data and not (date(1900, 1, 1) <= field.data <= date.today()):
            raise ValidationError(_l("Enter a real date of birth."))


class ResetRequestForm(PortalForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address."))])


class ResetPasswordForm(PortalForm):
    password = PasswordField(_l("New password"), validators=PASSWORD_RULES)
    password_confirm = PasswordField(
        _l("Repeat the new password"), validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))]
    )


class ResendConfirmationForm(PortalForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address."))])


class SecondFactorForm(PortalForm):
    """The second step of logging in, and the confirmation of a change to the second factor."""

    code = StringField(
        _l("Code from the authenticator app, or a recovery code"),
        validators=[DataRequired(message=_l("Enter the code.")), Length(max=40)],
        render_kw={"autocomplete": "one-time-code", "autocapitalize": "off", "spellcheck": "false"},
    )


class EnrolmentForm(PortalForm):
    code = StringField(
        _l("The 6-digit code the app shows"),
        validators=[DataRequired(message=_l("Enter the code.")), Length(max=20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
