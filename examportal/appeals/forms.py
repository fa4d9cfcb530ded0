"""Forms of appeals: filing (grounds and files), the institution's handling, the panel's declaration,
proposals and votes, and requests to see one's exam work."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..forms import PortalForm, select_choices
from ..models import AppealStatus, WorkReviewStatus
from ..uploads import MAX_UPLOAD_BYTES
from . import rules, services

MAX_GROUNDS = 20000
MAX_REASON = 5000


class CheckedFiles:
    """The files chosen, each checked by its content (:func:`services.read_files`): the first refused
    one is the field's error and none is kept. The checked files are left on the field (``field.uploads``)."""

    def __call__(self, form: Any, field: Any) -> None:
        field.uploads = []
        try:
            field.uploads = services.read_files(field.data or [])
        except services.AppealError as error:
            raise ValidationError(str(error)) from None


def _files_field() -> MultipleFileField:
    return MultipleFileField(
        _l("Files (optional): up to %(n)d PDF, JPEG or PNG files, each at most %(mb)d MB, together at most 5 MB; "
           "you can add more later", n=rules.MAX_FILES, mb=MAX_UPLOAD_BYTES // (1024 * 1024)),
        validators=[CheckedFiles()])


class AppealForm(PortalForm):
    """The appellant's appeal: the grounds (required) and files."""

    grounds = TextAreaField(
        _l("Grounds of the appeal: what is wrong with the decision and why it should change"),
        validators=[DataRequired(message=_l("Give the grounds of the appeal: say what is wrong with the decision and why "
                                            "it should change.")),
                    Length(max=MAX_GROUNDS, message=_l("Keep the grounds under %(max)d characters; attach a longer text "
                                                       "as a PDF file.", max=MAX_GROUNDS))],
        render_kw={"rows": 8})
    files = _files_field()


class StaffAppealForm(AppealForm):
    """An appeal staff record for the appellant (received in writing), and their reason for
    accepting it after the window."""

    late_reason = TextAreaField(_l("Reason for accepting the appeal after the window (required when it is late)"),
                                validators=[Optional(), Length(max=MAX_REASON)])


class AddFilesForm(PortalForm):
    files = _files_field()

    def validate_files(self, field: Any) -> None:
        if not getattr(field, "uploads", None) and not field.errors:
            raise ValidationError(_l("Choose a file to attach."))


class LookupForm(PortalForm):
    class Meta:
        csrf = False  # a lookup changes nothing

    email = StringField(_l("The appellant's e-mail address"),
                        validators=[Optional(), Length(max=254, message=_l("An e-mail address is at most 254 characters."))])


STATUS_CHOICES = (("open", _l("open (not yet decided)")), ("overdue", _l("overdue")),
                  *((s.value, s.lazy_label) for s in AppealStatus), ("all", _l("all")))


class StatusFilterForm(PortalForm):
    class Meta:
        csrf = False  # a GET filter form changes nothing

    status = SelectField(_l("Status"), choices=select_choices(STATUS_CHOICES), default="open")


class AppointForm(PortalForm):
    """Staff appoint an appeals-panel member (the rules' refusal, naming why, shows at the field)."""

    member = SelectField(_l("Appeals panel member"), validate_choice=False,
                         validators=[DataRequired(message=_l("Choose an appeals panel member."))])
    is_chair = BooleanField(_l("Chair of the panel"))


class DeclarationForm(PortalForm):
    confirm = BooleanField(
        _l("I declare that I am impartial towards the appellant and the decision appealed: I took no part in it, "
           "I did not prepare the appellant for this qualification and I have no conflict of interest."),
        validators=[DataRequired(message=_l("You must confirm the declaration to sit on the panel."))])


class ProposalForm(PortalForm):
    outcome = RadioField(_l("The panel's decision"),
                         choices=select_choices([("dismiss", _l("Dismiss the appeal")), ("uphold", _l("Uphold the appeal"))]),
                         validators=[DataRequired(message=_l("Choose whether the appeal is dismissed or upheld."))])
    # No Optional(): it would stop validate_remedy, which requires a remedy for an upheld appeal.
    remedy = RadioField(_l("When upheld, what the system carries out"), validate_choice=False)
    justification = TextAreaField(_l("Justification (the appellant receives it)"),
                                  validators=[DataRequired(message=_l("Write the justification of the decision: the "
                                                                      "appellant receives it.")),
                                              Length(max=MAX_GROUNDS)], render_kw={"rows": 8})

    def validate_remedy(self, field: Any) -> None:
        if self.outcome.data != "uphold":
            return
        if not field.data:
            raise ValidationError(_l("Choose what the system carries out when the appeal is upheld."))
        if field.data not in {value for value, _label, *_rest in field.iter_choices()}:
            raise ValidationError(_l("Choose one of the remedies offered for this appeal."))


class VoteForm(PortalForm):
    vote = RadioField(_l("Your vote"), choices=select_choices([("approve", _l("I approve the proposed decision")),
                                                               ("dissent", _l("I dissent"))]),
                      validators=[DataRequired(message=_l("Choose whether you approve or dissent."))])
    reason = TextAreaField(_l("Reason for the dissent"), validators=[Optional(), Length(max=MAX_REASON)])

    def validate_reason(self, field: Any) -> None:
        if self.vote.data == "dissent" and not (field.data or "").strip():
            raise ValidationError(_l("A dissent needs its reason: the panel reads it before another proposal."))


class GrantForm(PortalForm):
    days = IntegerField(_l("Open for (days)"), default=rules.REVIEW_DAYS_DEFAULT,
                        validators=[InputRequired(message=_l("Give the number of days the work stays open: 1 to %(max)d.",
                                                             max=rules.REVIEW_DAYS_MAX)),
                                    NumberRange(min=1, max=rules.REVIEW_DAYS_MAX,
                                                message=_l("Give the number of days the work stays open: 1 to %(max)d.",
                                                           max=rules.REVIEW_DAYS_MAX))])


class RefuseReviewForm(PortalForm):
    reason = TextAreaField(_l("Reason for the refusal (sent to the candidate)"),
                           validators=[DataRequired(message=_l("Give the reason for the refusal: the candidate receives it.")),
                                       Length(max=MAX_REASON)])


REVIEW_STATUS_CHOICES = (*((s.value, s.lazy_label) for s in WorkReviewStatus), ("all", _l("all")))


class ReviewFilterForm(PortalForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=select_choices(REVIEW_STATUS_CHOICES), default="requested")
