"""Forms of certification: the decision, fees, changes of a certificate, the register's filters and
the public lookup."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..forms import PortalForm, Rows, person_name, select_choices
from ..models import CertificateStatus
from ..validators import is_valid_pesel, pesel_birth_date
from . import rules

# Outside this range a date is a typo.
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _plausible(form: Any, field: Any) -> None:
    if field.data and not (EARLIEST <= field.data <= LATEST):
        raise ValidationError(_l("Enter a date between %(earliest)s and %(latest)s.",
                                 earliest=EARLIEST.isoformat(), latest=LATEST.isoformat()))


class DecideForm(PortalForm):
    """The certification decision on the candidates ticked in the session's list."""

    enrolments = SelectMultipleField(_l("Candidates"), coerce=int,
                                     validators=[DataRequired(message=_l("Choose at least one candidate."))])
    outcome = RadioField(_l("Certification decision"), default="positive",
                         choices=select_choices([("positive", _l("Certify: issue the certificate")),
                                                 ("negative", _l("Refuse certification"))]),
                         validators=[DataRequired(message=_l("Choose the decision."))])
    reason = TextAreaField(_l("Reason (required to refuse: the candidate receives it and may appeal)"),
                           validators=[Optional(), Length(max=5000)])

    def validate_reason(self, field: Any) -> None:
        if self.outcome.data == "negative" and not (field.data or "").strip():
            raise ValidationError(_l("A negative certification decision needs its reason: the candidate receives it and may appeal."))


REASON_CHOICES = (("", _l("— no reason —")), ("art122a", _l("free of charge under art. 122a of the education law")),
                  ("other", _l("another reason (type it)")))


class FeeRowForm(PortalForm):
    """The fee of one enrolment (a row of the session's fee list)."""

    class Meta:
        csrf = False  # a row inside the fees form, which carries the token

    enrolment_id = HiddenField()
    amount = StringField(_l("Fee (PLN)"), validators=[Length(max=20)])
    reason_choice = SelectField(_l("Reason for a fee of 0 zł"), choices=select_choices(REASON_CHOICES), default="")
    other_reason = StringField(_l("The institution's reason"), validators=[Length(max=300)],
                               render_kw={"placeholder": _l("another reason: type it here")})

    def parsed_amount(self) -> Decimal | None:
        return rules.parse_amount(self.amount.data or "") if (self.amount.data or "").strip() else None

    def reason_text(self) -> str | None:
        typed = (self.other_reason.data or "").strip()
        if self.reason_choice.data == "art122a":
            return rules.FREE_OF_CHARGE_122A
        return typed or None

    def validate_amount(self, field: Any) -> None:
        text = (field.data or "").strip()
        if not text:
            if self.reason_choice.data or (self.other_reason.data or "").strip():
                raise ValidationError(_l("Enter the fee: 0 zł for a validation free of charge."))
            return
        amount = rules.parse_amount(text)
        if amount is None:
            raise ValidationError(_l("Enter the fee in złoty, e.g. 350 or 350,00."))
        problem = rules.fee_problem(amount, self.reason_text())
        if problem:
            raise ValidationError(problem)

    def validate_other_reason(self, field: Any) -> None:
        if self.reason_choice.data == "other" and not (field.data or "").strip():
            raise ValidationError(_l("Type the institution's reason, or choose another option."))


class FeesForm(PortalForm):
    rows = Rows(FormField(FeeRowForm), max_entries=500)


class ReasonForm(PortalForm):
    """A change of a certificate's status (suspension, lifting it, a duplicate): the reason is mandatory."""

    reason = TextAreaField(_l("Reason (recorded and sent to the holder)"),
                           validators=[DataRequired(message=_l("Give the reason: it is recorded and sent to the holder.")),
                                       Length(max=5000)])


class RevokeForm(ReasonForm):
    confirm = BooleanField(_l("I understand that a revocation is final and can never be undone."),
                           validators=[DataRequired(message=_l("Confirm that you understand a revocation is final."))])


class CorrectionForm(ReasonForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(message=_l("Give the holder's first name.")),
                                                         Length(max=100), person_name])
    last_name = StringField(_l("Last name"), validators=[DataRequired(message=_l("Give the holder's last name.")),
                                                       Length(max=100), person_name])
    birth_date = DateField(_l("Date of birth"), validators=[Optional(), _plausible])
    # Never echoed back into the page (``value`` is always empty): a full PESEL is shown nowhere.
    pesel = StringField(_l("Corrected PESEL (leave empty to keep the current one)"),
                        validators=[Optional()], filters=[_strip],
                        render_kw={"value": "", "autocomplete": "off", "inputmode": "numeric"})

    def validate_pesel(self, field: Any) -> None:
        if not field.data:
            return
        if not is_valid_pesel(field.data):
            raise ValidationError(_l("This PESEL number is not valid: check the digits."))
        if self.birth_date.data and pesel_birth_date(field.data) != self.birth_date.data:
            raise ValidationError(_l("The PESEL number does not match the date of birth."))


class DuplicateRequestForm(PortalForm):
    """The holder's request for a duplicate of their certificate (on "my certificates")."""

    reason = TextAreaField(_l("Why do you need a duplicate?"),
                           validators=[DataRequired(message=_l("Say why you need a duplicate, e.g. the original was lost "
                                                               "or destroyed.")),
                                       Length(max=2000, message=_l("Keep the reason under %(max)d characters.", max=2000))],
                           render_kw={"rows": 2, "placeholder": _l("e.g. the original was lost")})


class DuplicateRefusalForm(PortalForm):
    """Staff refuse a holder's request for a duplicate: the holder receives the reason."""

    response = TextAreaField(_l("Reason for the refusal (sent to the holder)"),
                             validators=[DataRequired(message=_l("Give the reason for the refusal: the holder receives it.")),
                                         Length(max=5000, message=_l("Keep the reason under %(max)d characters.", max=5000))])


class VerifyForm(PortalForm):
    class Meta:
        csrf = False  # a lookup changes nothing

    q = StringField(_l("Certificate number or verification code"),
                    validators=[InputRequired(message=_l("Type the certificate's number or its verification code.")),
                                Length(max=100, message=_l("A certificate number or code is at most 100 characters."))])


STATUS_FILTER = (("", _l("any status")), *((s.value, s.lazy_label) for s in CertificateStatus))


class RegisterFilterForm(PortalForm):
    class Meta:
        csrf = False  # a GET filter form changes nothing

    status = SelectField(_l("Status"), choices=select_choices(STATUS_FILTER), default="",
                         validate_choice=True)
    session_id = SelectField(_l("Session"), default="")
    issued_from = DateField(_l("Issued from"), validators=[Optional(), _plausible])
    issued_to = DateField(_l("Issued until"), validators=[Optional(), _plausible])
    expiring_within_days = IntegerField(_l("Expiring within (days)"), validators=[
        Optional(), NumberRange(min=0, max=3650, message=_l("Enter a number of days from 0 to 3650."))])

    def validate_issued_to(self, field: Any) -> None:
        if field.data and self.issued_from.data and field.data < self.issued_from.data:
            raise ValidationError(_l("The end date is before the start date."))


class FeeFilterForm(PortalForm):
    class Meta:
        csrf = False

    date_from = DateField(_l("Sessions from"), validators=[Optional(), _plausible])
    date_to = DateField(_l("Sessions until"), validators=[Optional(), _plausible])

    def validate_date_to(self, field: Any) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))
