"""Forms for managing an institution's people and, for administrators, institutions."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from ..forms import PortalForm, person_name, select_choices
from . import settings as institution_settings

INSTITUTION_ROLE_CHOICES = [
    ("operator", _l("Exam-system operator")),
    ("assessor", _l("Assessor (committee member)")),
    ("appeals", _l("Appeals panel member")),
    ("staff", _l("Institution staff")),
]


class PersonRoleForm(PortalForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254)])
    first_name = StringField(_l("First name (for a new account)"), validators=[Optional(), Length(max=100), person_name])
    last_name = StringField(_l("Last name (for a new account)"), validators=[Optional(), Length(max=100), person_name])
    role = SelectField(_l("Role"), choices=select_choices(INSTITUTION_ROLE_CHOICES), validators=[DataRequired()])


class InstitutionForm(PortalForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    short_name = StringField(_l("Short name"), validators=[DataRequired(), Length(max=60)])
    kind = SelectField(_l("Kind"), choices=select_choices([("certifying", _l("Certifying institution")),
                                                           ("validating", _l("Validating institution"))]))
    parent_id = SelectField(_l("Certifying institution it validates for"), coerce=int, validators=[Optional()])
    city = StringField(_l("City"), validators=[Optional(), Length(max=100), person_name])


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


class ImageUpload:
    """A logo or signature upload: PNG or JPEG by its bytes, at most 512 KB (institution_settings.image_problem).

    The bytes read are kept on the field (``field.image``) for the view; no file chosen leaves None.
    """

    def __call__(self, form: Any, field: Any) -> None:
        field.image = None
        storage = field.data
        if not isinstance(storage, FileStorage) or not storage.filename:
            return
        data = storage.stream.read(institution_settings.MAX_IMAGE_BYTES + 1)
        problem = institution_settings.image_problem(data)
        if problem:
            raise ValidationError(problem)
        field.image = data


class InstitutionSettingsForm(PortalForm):
    """What an institution changes without a deploy (see institution_settings.update_settings)."""

    contact_email = EmailField(_l("Contact e-mail for candidates"),
                               validators=[Optional(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254)])
    contact_phone = StringField(_l("Contact telephone"), validators=[Optional(), Length(max=30)])
    contact_note = TextAreaField(_l("Note for candidates (office hours, where to come)"), validators=[Optional(), Length(max=1000)])
    reminder_days = StringField(_l("Remind enrolled candidates this many days before a session"),
                                validators=[Optional(), Length(max=100)], render_kw={"placeholder": "7, 1"})
    logo = FileField(_l("Logo (PNG or JPEG, at most 512 KB)"), validators=[ImageUpload()],
                     render_kw={"accept": "image/png,image/jpeg"})
    remove_logo = BooleanField(_l("Remove the logo"))
    signature = FileField(_l("Signature image (PNG or JPEG, at most 512 KB)"), validators=[ImageUpload()],
                          render_kw={"accept": "image/png,image/jpeg"})
    remove_signature = BooleanField(_l("Remove the signature image"))
    signatory_name = StringField(_l("Name of the person who signs the certificates"), validators=[Optional(), Length(max=200)])
    signatory_title = StringField(_l("Their position (e.g. President of the Board)"), validators=[Optional(), Length(max=200)])

    def validate_contact_phone(self, field: Any) -> None:
        if field.data and field.data.strip() and (problem := institution_settings.phone_problem(field.data.strip())):
            raise ValidationError(problem)

    def validate_reminder_days(self, field: Any) -> None:
        try:
            field.parsed = institution_settings.parse_reminder_days(field.data)
        except institution_settings.SettingsRefused as error:
            field.parsed = []
            raise ValidationError(str(error)) from None

    def validate_remove_logo(self, field: Any) -> None:
        if field.data and getattr(self.logo, "image", None) is not None:
            raise ValidationError(_l("Either choose a new image or remove the present one, not both."))

    def validate_remove_signature(self, field: Any) -> None:
        if field.data and getattr(self.signature, "image", None) is not None:
            raise ValidationError(_l("Either choose a new image or remove the present one, not both."))

    def change(self) -> institution_settings.SettingsChange:
        """The validated form as the service takes it."""
        return institution_settings.SettingsChange(
            contact_email=self.contact_email.data, contact_phone=self.contact_phone.data, contact_note=self.contact_note.data,
            reminder_days=list(getattr(self.reminder_days, "parsed", [])), signatory_name=self.signatory_name.data,
            signatory_title=self.signatory_title.data, logo=getattr(self.logo, "image", None), remove_logo=bool(self.remove_logo.data),
            signature=getattr(self.signature, "image", None), remove_signature=bool(self.remove_signature.data))


class QualificationForm(PortalForm):
    """Authorise an institution for a qualification, or take the authorisation away."""

    qualification_id = SelectField(_l("Qualification"), coerce=int,
                                   validators=[DataRequired(message=_l("Choose a qualification from the list."))])


DEACTIVATION_CAUSES = [
    ("", _l("— choose —")),
    ("left", _l("The person no longer works for the institution or in validation")),
    ("person_request", _l("The person asked for it")),
    ("compromised", _l("The account may be in someone else's hands")),
    ("duplicate", _l("The person has another account")),
    ("breach", _l("A breach of impartiality or confidentiality is being examined")),
]

REACTIVATION_CAUSES = [
    ("", _l("— choose —")),
    ("returned", _l("The person works for the institution again")),
    ("person_request", _l("The person asked for it")),
    ("secured", _l("The account is in the person's hands again")),
    ("cleared", _l("The examination of a breach has ended")),
    ("mistake", _l("It was deactivated by mistake")),
]


class _AccountStatusForm(PortalForm):
    email = EmailField(_l("E-mail of the person"),
                       validators=[DataRequired(), Email(message=_l("Enter a valid e-mail address.")), Length(max=254)])


class DeactivationForm(_AccountStatusForm):
    """An administrator deactivates an account: the person can no longer log in."""

    # A fixed list, not free text: the audit log keeps the cause, and a cause names no one.
    cause = SelectField(_l("Why (kept in the audit log)"), choices=select_choices(DEACTIVATION_CAUSES),
                        validators=[DataRequired(message=_l("Choose why, for the audit log."))])


class ReactivationForm(_AccountStatusForm):
    """An administrator lets a deactivated account log in again."""

    cause = SelectField(_l("Why (kept in the audit log)"), choices=select_choices(REACTIVATION_CAUSES),
                        validators=[DataRequired(message=_l("Choose why, for the audit log."))])
