"""Forms of the sales area: pipelines, stages, stage task templates, opportunities, tasks, filters."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    Field,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import NumberInput, TextInput

from ..models.sales import GOAL_METRICS
from ..params import parse_id
from .choices import choices
from .common import SandboxForm

DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y"]
BAD_DATE = _l("Enter a date as DD.MM.YYYY or pick it from the calendar.")
BAD_WHOLE = _l("Enter a whole number.")
MAX_DAYS = 3650  # ten years: longer is a typing error (and would overflow a date)
BAD_DAYS = _l("Enter a number of days from 0 to 3650.")

PRIORITY_CHOICES = [("low", _l("Low")), ("normal", _l("Normal")), ("high", _l("High")), ("urgent", _l("Urgent"))]
TASK_STATUS_CHOICES = [("open", _l("Not started")), ("in_progress", _l("In progress")), ("done", _l("Done")),
                       ("cancelled", _l("Cancelled"))]
METRIC_LABELS = {
    "revenue": _l("Revenue (PLN)"),
    "won_count": _l("Deals won"),
    "new_customers": _l("New customers"),
    "meetings": _l("Meetings held"),
    "offers_sent": _l("Offers sent"),
    "conversion_rate": _l("Conversion rate (%)"),
    "average_deal": _l("Average deal value (PLN)"),
}
METRIC_CHOICES = [("", _l("— choose —"))] + [(m, METRIC_LABELS[m]) for m in GOAL_METRICS]
CUSTOMER_TYPE_CHOICES = [("", _l("— choose —")), ("b2b", _l("Business (B2B)")), ("b2c", _l("Consumer (B2C)")),
                         ("b2g", _l("Public sector (B2G)"))]
OFFER_KIND_CHOICES = [("", _l("— choose —")), ("product", _l("Product")), ("service", _l("Service")),
                      ("mixed", _l("Products and services"))]
SALES_FORM_CHOICES = [("", _l("— choose —")), ("direct", _l("Direct (field sales)")), ("phone", _l("Telephone")),
                      ("online", _l("Online")), ("partner", _l("Through partners")), ("tender", _l("Tender"))]
CURRENCY_CHOICES = [("PLN", "PLN"), ("EUR", "EUR"), ("USD", "USD")]


def none_if_blank(value):
    return None if value in ("", None) else value


def optional_int(value) -> int | None:
    """A select's id (None for the empty choice); ValueError for anything that is not an id
    ("²", a 20-digit number, a negative one), which the field reports as its error."""
    if value in ("", None):
        return None
    if isinstance(value, int):
        return value
    parsed = parse_id(str(value))
    if parsed is None:
        raise ValueError(value)
    return parsed


class IdField(IntegerField):
    """A record id typed or sent in a link: ASCII digits within an INTEGER column, else an error."""

    def process_formdata(self, valuelist):
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        self.data = parse_id(str(valuelist[0]))
        if self.data is None:
            raise ValueError(_l("Enter a record number (a whole number from 1)."))


def optional_str(value) -> str | None:
    return None if value in ("", None) else str(value)


def OptionalSelect(label, pairs, **kwargs) -> SelectField:
    """A select of ``(value, label)`` pairs whose first choice is empty (``""`` → ``None``)."""
    # invalid_choice_message (WTForms 3.3) is not in the types-WTForms stubs (3.2) yet.
    return SelectField(label, choices=choices(pairs), coerce=optional_str, validators=[Optional()],  # type: ignore[call-arg]
                       invalid_choice_message=_l("Choose an option from the list."), **kwargs)


class AmountField(Field):
    """A money amount or a number typed the Polish way: ``12 500,50`` or ``12500.50``."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(label, validators, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return format(self.data, "f").replace(".", ",")

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        text = re.sub(r"[\s\u00a0]", "", valuelist[0] or "").removesuffix("zł").removesuffix("PLN")
        if not text:
            self.data = None
            return
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            number = Decimal(text)
        except InvalidOperation:
            self.data = None
            raise ValueError(_l("Enter a number, e.g. 12500,50.")) from None
        if not number.is_finite() or abs(number) >= Decimal("1e12"):
            self.data = None
            raise ValueError(_l("Enter a number, e.g. 12500,50."))
        self.data = number.quantize(Decimal("0.01"))


def _date(label, *validators):
    # invalid_value_message (WTForms 3.3) is not in the types-WTForms stubs (3.2) yet.
    return DateField(label, validators=[Optional(), *validators], format=DATE_FORMATS,  # type: ignore[call-arg]
                     invalid_value_message=BAD_DATE)


class SmartGoalMixin:
    goal_specific = TextAreaField(_l("Specific: what exactly is to be achieved"),
                                  validators=[Optional(), Length(max=2000)], filters=[none_if_blank])
    goal_metric = OptionalSelect(_l("Measurable: measure"), METRIC_CHOICES)
    goal_target = AmountField(_l("Measurable: target value"))
    goal_achievable = TextAreaField(_l("Achievable: why it is realistic"), validators=[Optional(), Length(max=2000)],
                                    filters=[none_if_blank])
    goal_relevance = TextAreaField(_l("Relevant: why it matters"), validators=[Optional(), Length(max=2000)],
                                   filters=[none_if_blank])
    goal_deadline = _date(_l("Time-bound: deadline"))

    def validate_goal_target(self, field):
        if field.data is not None and field.data < 0:
            raise ValidationError(_l("The target cannot be negative."))


class PipelineForm(SmartGoalMixin, SandboxForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)], filters=[none_if_blank])
    customer_type = OptionalSelect(_l("Customer type"), CUSTOMER_TYPE_CHOICES)
    offer_kind = OptionalSelect(_l("Offer"), OFFER_KIND_CHOICES)
    sales_form = OptionalSelect(_l("Form of sale"), SALES_FORM_CHOICES)
    currency = SelectField(_l("Currency"), choices=choices(CURRENCY_CHOICES), default="PLN")
    submit = SubmitField(_l("Save"))


class StageForm(SmartGoalMixin, SandboxForm):
    name = StringField(_l("Stage name"), validators=[DataRequired(_l("Enter a name.")), Length(max=120)])
    probability = IntegerField(
        _l("Probability of winning (%)"), widget=NumberInput(min=0, max=100),
        validators=[InputRequired(_l("Give a probability from 0 to 100.")),
                    NumberRange(0, 100, _l("Probability is a percentage from 0 to 100."))],
    )
    duration_days = IntegerField(_l("Planned length (days)"), widget=NumberInput(min=0, max=MAX_DAYS),
                                 validators=[Optional(), NumberRange(0, MAX_DAYS, BAD_DAYS)])
    description = TextAreaField(_l("What happens in this stage"), validators=[Optional(), Length(max=4000)],
                                filters=[none_if_blank])
    submit = SubmitField(_l("Save stage"))


class StageTaskForm(SandboxForm):
    title = StringField(_l("Task"), validators=[DataRequired(_l("Enter what is to be done.")), Length(max=200)])
    description = TextAreaField(_l("Details"), validators=[Optional(), Length(max=2000)], filters=[none_if_blank])
    priority = SelectField(_l("Priority"), choices=choices(PRIORITY_CHOICES), default="normal")
    due_offset_days = IntegerField(_l("Due days after entering the stage"), widget=NumberInput(min=0, max=MAX_DAYS),
                                   validators=[Optional(), NumberRange(0, MAX_DAYS, BAD_DAYS)])
    due_date = _date(_l("or on a fixed date"))
    submit = SubmitField(_l("Add task"))

    def validate_due_offset_days(self, field):
        typed_date = bool(self.due_date.raw_data and self.due_date.raw_data[0].strip())
        if field.data is None and self.due_date.data is None and not typed_date:
            raise ValidationError(_l("Give either the number of days after entering the stage or a fixed date."))

    def validate_due_date(self, field):
        if field.data is not None and self.due_offset_days.data is not None:
            raise ValidationError(_l("Give the days after entering the stage or a fixed date, not both."))


class CoercedSelectField(SelectField):
    """A select of database ids: the empty choice gives ``None``; anything not offered is an error."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("coerce", optional_int)
        kwargs.setdefault("invalid_value_message", _l("Choose an option from the list."))
        kwargs.setdefault("invalid_choice_message", _l("Choose an option from the list."))
        super().__init__(label, validators, **kwargs)


class OpportunityForm(SandboxForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter a name.")), Length(max=200)])
    company = StringField(_l("Customer (company)"),
                          validators=[DataRequired(_l("Choose the customer (company).")), Length(max=200)],
                          description=_l("Type the name, the NIP or pick from the list."))
    contact_id = CoercedSelectField(_l("Contact person"), validators=[Optional()], validate_choice=False)
    stage_id = CoercedSelectField(_l("Pipeline and stage"), validators=[InputRequired(_l("Choose a stage."))])
    value = AmountField(_l("Value"))
    currency = SelectField(_l("Currency"), choices=choices(CURRENCY_CHOICES), default="PLN")
    expected_close_date = _date(_l("Expected close date"))
    owner_name = StringField(_l("Owner"), validators=[Optional(), Length(max=120)], filters=[none_if_blank])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=4000)], filters=[none_if_blank])
    submit = SubmitField(_l("Save"))

    def validate_value(self, field):
        if field.data is not None and field.data < 0:
            raise ValidationError(_l("The value cannot be negative."))


class MoveForm(SandboxForm):
    stage_id = CoercedSelectField(_l("Move to"), validators=[InputRequired(_l("Choose a stage."))],
                                  validate_choice=False)
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)], filters=[none_if_blank])
    next = HiddenField()
    submit = SubmitField(_l("Move"))


class CloseForm(SandboxForm):
    outcome = SelectField(_l("Outcome"), choices=choices([("won", _l("Won")), ("lost", _l("Lost"))]))
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Say why the opportunity was won or lost.")),
                                                     Length(min=3, max=2000)])
    submit = SubmitField(_l("Close opportunity"))


class TaskForm(SandboxForm):
    title = StringField(_l("Task"), validators=[DataRequired(_l("Enter what is to be done.")), Length(max=200)])
    description = TextAreaField(_l("Details"), validators=[Optional(), Length(max=4000)], filters=[none_if_blank])
    due_date = _date(_l("Due date"))
    due_time = TimeField(_l("Time"), validators=[Optional()],  # type: ignore[call-arg]  # (as in _date)
                         invalid_value_message=_l("Enter a time as HH:MM."))
    priority = SelectField(_l("Priority"), choices=choices(PRIORITY_CHOICES), default="normal")
    status = SelectField(_l("Status"), choices=choices(TASK_STATUS_CHOICES), default="open")
    percent_complete = IntegerField(_l("Percent complete"), default=0, widget=NumberInput(min=0, max=100, step=5),
                                    validators=[InputRequired(_l("Give a number from 0 to 100.")),
                                                NumberRange(0, 100, _l("Percent complete is a number from 0 to 100."))])
    assignee = StringField(_l("Assigned to"), validators=[Optional(), Length(max=120)], filters=[none_if_blank])
    opportunity_id = CoercedSelectField(_l("Opportunity"), validators=[Optional()], validate_choice=False)
    stage_id = CoercedSelectField(_l("Stage"), validators=[Optional()])
    company = StringField(_l("Company"), validators=[Optional(), Length(max=200)], filters=[none_if_blank],
                          description=_l("Type the name, the NIP or pick from the list."))
    contact_id = CoercedSelectField(_l("Contact"), validators=[Optional()], validate_choice=False)
    next = HiddenField()
    submit = SubmitField(_l("Save"))

    def validate_due_time(self, field):
        if field.data is not None and self.due_date.data is None and not self.due_date.errors:
            raise ValidationError(_l("Give the date as well."))


class ProgressForm(SandboxForm):
    percent_complete = IntegerField(_l("Percent complete"), widget=NumberInput(min=0, max=100, step=5),
                                    validators=[InputRequired(_l("Give a number from 0 to 100.")),
                                                NumberRange(0, 100, _l("Percent complete is a number from 0 to 100."))])
    next = HiddenField()
    submit = SubmitField(_l("Save"))


class OpportunityFilterForm(SandboxForm):
    """The opportunity list's filters (GET; no CSRF: it changes nothing but the log of filters)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name contains"), validators=[Optional(), Length(max=100)], filters=[none_if_blank])
    pipeline = CoercedSelectField(_l("Pipeline"), validators=[Optional()])
    stage = CoercedSelectField(_l("Stage"), validators=[Optional()])
    status = OptionalSelect(_l("Status"), [("", _l("Any")), ("open", _l("Open")), ("won", _l("Won")),
                                             ("lost", _l("Lost"))])
    company = StringField(_l("Company"), validators=[Optional(), Length(max=200)], filters=[none_if_blank])
    value_min = AmountField(_l("Value from"))
    value_max = AmountField(_l("Value to"))
    close_from = _date(_l("Expected close from"))
    close_to = _date(_l("Expected close to"))
    sort = SelectField(_l("Sort by"), choices=choices([("close", _l("Expected close date")), ("-value", _l("Value, highest")),
                                                       ("value", _l("Value, lowest")), ("name", _l("Name")),
                                                       ("-created", _l("Newest"))]), default="close")
    apply = SubmitField(_l("Filter"))

    def validate_value_max(self, field):
        if field.data is not None and self.value_min.data is not None and field.data < self.value_min.data:
            raise ValidationError(_l("The upper value is below the lower one."))

    def validate_close_to(self, field):
        if field.data and self.close_from.data and field.data < self.close_from.data:
            raise ValidationError(_l("The end date is before the start date."))


class TaskFilterForm(SandboxForm):
    """The task list's filters (GET)."""

    class Meta:
        csrf = False

    period = OptionalSelect(_l("Period"), [
        ("", _l("Any time")), ("today", _l("Today")), ("tomorrow", _l("Tomorrow")), ("week", _l("This week")),
        ("next_week", _l("Next week")), ("month", _l("This month")), ("overdue", _l("Overdue")),
        ("custom", _l("From–to")),
    ])
    date_from = _date(_l("From"))
    date_to = _date(_l("To"))
    priority = OptionalSelect(_l("Priority"), [("", _l("Any")), *PRIORITY_CHOICES])
    status = OptionalSelect(_l("Status"), [("", _l("Any")), ("active", _l("Not done")), *TASK_STATUS_CHOICES])
    assignee = StringField(_l("Assigned to"), validators=[Optional(), Length(max=120)], filters=[none_if_blank])
    opportunity = IdField(_l("Opportunity"), widget=NumberInput(), validators=[Optional()])
    company = StringField(_l("Company"), validators=[Optional(), Length(max=200)], filters=[none_if_blank])
    stage = CoercedSelectField(_l("Stage"), validators=[Optional()])
    q = StringField(_l("Title contains"), validators=[Optional(), Length(max=100)], filters=[none_if_blank])
    sort = SelectField(_l("Sort by"), choices=choices([("due", _l("Due date")), ("-due", _l("Due date, latest first")),
                                                       ("priority", _l("Priority, highest first")),
                                                       ("-priority", _l("Priority, lowest first"))]), default="due")
    apply = SubmitField(_l("Filter"))

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))
