"""Forms of renewal: the holder's application (periods, evidence, declaration), the staff's choice
of assessor, and the assessor's declaration, verdicts, request for more and decision."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import (
    BooleanField,
    DateField,
    FormField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from ..certification import rules as certificate_rules
from ..certification.forms import EARLIEST, LATEST
from ..forms import PortalForm, Rows, select_choices
from ..uploads import MAX_UPLOAD_BYTES, Upload, UploadError, read_storage
from . import rules
from .services import EvidenceInput, PeriodInput


def _plausible(form: Any, field: Any) -> None:
    if field.data and not (EARLIEST <= field.data <= LATEST):
        raise ValidationError(_l("Enter a date between %(earliest)s and %(latest)s.",
                                 earliest=EARLIEST.isoformat(), latest=LATEST.isoformat()))


class PeriodForm(PortalForm):
    """One period of CRM work (a row of the application; a row left empty is ignored)."""

    class Meta:
        csrf = False  # a row inside the application form, which carries the token

    employer = StringField(_l("Employer"), validators=[Length(max=200, message=_l("At most %(max)d characters.",
                                                                                  max=200))])
    role = StringField(_l("Your role"), validators=[Length(max=200, message=_l("At most %(max)d characters.", max=200))],
                       render_kw={"placeholder": _l("e.g. customer service specialist")})
    starts_on = DateField(_l("From"), validators=[Optional(), _plausible])
    ends_on = DateField(_l("To"), validators=[Optional(), _plausible])

    def is_blank(self) -> bool:
        """Nothing typed in the row (nor filled in from a period declared earlier)."""
        return not any(field.data or any((raw or "").strip() for raw in field.raw_data or ())
                       for field in (self.employer, self.role, self.starts_on, self.ends_on))

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.is_blank():
            return True
        ok = True
        for field, message in ((self.employer, _l("Give the employer.")), (self.role, _l("Give your role."))):
            if not (field.data or "").strip():
                field.errors = [*field.errors, message]
                ok = False
        problem = rules.period_problem(self.starts_on.data, self.ends_on.data, certificate_rules.today())
        if problem:
            target = self.starts_on if self.starts_on.data is None else self.ends_on
            target.errors = [*target.errors, problem]
            ok = False
        return ok

    def period(self) -> PeriodInput | None:
        """The period typed (None for an empty row or one whose dates are missing)."""
        if self.is_blank() or self.starts_on.data is None or self.ends_on.data is None:
            return None
        return PeriodInput(employer=self.employer.data or "", role=self.role.data or "",
                           starts_on=self.starts_on.data, ends_on=self.ends_on.data)


class EvidenceForm(PortalForm):
    """One piece of evidence: the file (checked by its content) and what it is."""

    class Meta:
        csrf = False

    file = FileField(_l("File (PDF, JPEG or PNG, at most %(mb)d MB)", mb=MAX_UPLOAD_BYTES // (1024 * 1024)))
    description = StringField(_l("What it is"), validators=[Length(max=200, message=_l("At most %(max)d characters.",
                                                                                       max=200))],
                              render_kw={"placeholder": _l("e.g. employer's certificate of work, 2023–2025")})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.upload: Upload | None = None

    def chosen(self) -> bool:
        return isinstance(self.file.data, FileStorage) and bool(self.file.data.filename)

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        described = bool((self.description.data or "").strip())
        if not self.chosen():
            if described:
                self.file.errors = [*self.file.errors, _l("Choose the file this description belongs to.")]
                return False
            return True
        try:
            self.upload = read_storage(self.file.data, default_name="dowod")
        except UploadError as error:
            self.file.errors = [*self.file.errors, str(error)]
            return False
        if not described:
            self.description.errors = [*self.description.errors,
                                       _l("Say in a few words what this file is (e.g. the employer's certificate).")]
            return False
        return True

    def evidence(self) -> EvidenceInput | None:
        if self.upload is None:
            return None
        return EvidenceInput(upload=self.upload, description=self.description.data or "")


class RenewalForm(PortalForm):
    """The holder's application, or what they add when the assessor asked for more."""

    periods = Rows(FormField(PeriodForm), min_entries=3, max_entries=rules.MAX_PERIODS)
    evidence = Rows(FormField(EvidenceForm), min_entries=3, max_entries=rules.MAX_EVIDENCE)
    declaration = BooleanField(_l("I declare that the periods of work I give are true and that the evidence I attach "
                                  "is authentic; I know that a false declaration is a reason to revoke the certificate."))
    compute = SubmitField(_l("Count the days covered"))
    send = SubmitField(_l("Send the application"))

    def declared_periods(self) -> list[PeriodInput]:
        return [p for row in self.periods if (p := row.form.period()) is not None]

    def attached_evidence(self) -> list[EvidenceInput]:
        return [e for row in self.evidence if (e := row.form.evidence()) is not None]

    def with_blank_rows(self, evidence_needed: bool = True) -> RenewalForm:
        """One empty row more for each list that is full (up to its maximum), so the holder can add."""
        if all(not row.form.is_blank() for row in self.periods) and len(self.periods) < rules.MAX_PERIODS:
            self.periods.append_entry()
        if evidence_needed and len(self.evidence) < rules.MAX_EVIDENCE and all(
                (row.form.description.data or "").strip() for row in self.evidence):
            self.evidence.append_entry()
        return self


def period_rows(periods: list[Any]) -> dict[str, Any]:
    """The form's data for periods already declared (a returned application), one empty row more."""
    rows = [{"employer": p.employer, "role": p.role, "starts_on": p.starts_on, "ends_on": p.ends_on} for p in periods]
    return {"periods": [*rows, {}][:rules.MAX_PERIODS]}


class AssignForm(PortalForm):
    assessor_id = SelectField(_l("Assessor"), validators=[DataRequired(message=_l("Choose the assessor."))],
                              validate_choice=False)


class DeclarationForm(PortalForm):
    confirm = BooleanField(_l("I declare that I am impartial towards the holder named above: I did not prepare them for "
                              "the qualification, I did not examine them and I have no conflict of interest."),
                           validators=[DataRequired(message=_l("Confirm the declaration to analyse the evidence; if "
                                                               "you cannot, tell the institution."))])


class PeriodFindingForm(PortalForm):
    """The assessor's finding on one declared period of work."""

    confirmed = RadioField(_l("Does the evidence show this period?"),
                           choices=select_choices([("yes", _l("confirmed by the evidence")),
                                                   ("no", _l("not shown by the evidence"))]),
                           validators=[DataRequired(message=_l("Choose whether the evidence shows this period of work."))])


class VerdictForm(PortalForm):
    verdict = RadioField(_l("Verdict"), choices=select_choices([("accepted", _l("accepted")), ("rejected", _l("rejected"))]),
                         validators=[DataRequired(message=_l("Choose whether the evidence is accepted or rejected."))])
    note = TextAreaField(_l("Note (required to reject: the holder reads it)"),
                         validators=[Optional(), Length(max=2000, message=_l("At most %(max)d characters.", max=2000))],
                         render_kw={"rows": 2})

    def validate_note(self, field: Any) -> None:
        if self.verdict.data == "rejected" and not (field.data or "").strip():
            raise ValidationError(_l("Say why the evidence is rejected: the holder reads your note."))


class ReturnForm(PortalForm):
    note = TextAreaField(_l("What should the holder add? (they receive this note)"),
                         validators=[DataRequired(message=_l("Say what the holder should add: they receive your note.")),
                                     Length(max=5000, message=_l("At most %(max)d characters.", max=5000))])


class DecisionForm(PortalForm):
    outcome = RadioField(_l("Decision"), choices=select_choices([
        ("positive", _l("Positive: renew the certificate")),
        ("negative", _l("Negative: a new validation is needed"))]),
        validators=[DataRequired(message=_l("Choose the decision."))])
    justification = TextAreaField(_l("Justification (required for a negative decision: the holder receives it and may "
                                     "appeal)"),
                                  validators=[Optional(), Length(max=5000, message=_l("At most %(max)d characters.",
                                                                                      max=5000))])

    def validate_justification(self, field: Any) -> None:
        if self.outcome.data == "negative" and not (field.data or "").strip():
            raise ValidationError(_l("A negative decision needs its written justification: the holder receives it and "
                                     "may appeal."))


class WithdrawForm(PortalForm):
    """Only the CSRF token: withdrawing needs no more."""
