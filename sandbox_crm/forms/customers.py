"""Forms of the customers area: companies, contacts, notes, tags, segments, lead import."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from ..services.customers import EVENT_KINDS, LEGAL_BASES, REGIONS, SIZES
from .choices import SelectChoice, choices, choices_of
from .common import SandboxForm

NONE_CHOICE = ("", _l("— not set —"))


class CompanyForm(SandboxForm):
    """Company fields; the values are verified by the customers service (one set of rules)."""

    name = StringField(_l("Company name"), validators=[DataRequired(_l("Enter the company name.")), Length(max=200)])
    nip = StringField(_l("NIP"), validators=[Length(max=20)], description=_l("10 digits, dashes allowed"))
    regon = StringField(_l("REGON"), validators=[Length(max=20)], description=_l("9 or 14 digits"))
    industry = StringField(_l("Industry"), validators=[Length(max=100)])
    size = SelectField(_l("Size"), choices=choices([NONE_CHOICE, *SIZES]), validate_choice=False)
    region = SelectField(_l("Region (voivodeship)"), choices=choices([NONE_CHOICE, *[(r, r) for r in REGIONS]]),
                         validate_choice=False)
    city = StringField(_l("City"), validators=[Length(max=100)])
    address = StringField(_l("Address"), validators=[Length(max=300)])
    website = StringField(_l("Website"), validators=[Length(max=300)])
    email = StringField(_l("E-mail"), validators=[Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Length(max=40)])
    source = StringField(_l("Data source"), validators=[Length(max=200)],
                         description=_l("Where the data comes from, e.g. trade fair, CEIDG, website form"))
    potential_value = StringField(_l("Potential value (PLN)"), validators=[Length(max=30)])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=10000)])
    tags = StringField(_l("Tags"), validators=[Length(max=500)], description=_l("Separate tags with commas"))
    allow_duplicate = BooleanField(_l("Save anyway: this is not a duplicate"))

    def keep_region(self, value: str | None) -> None:
        """Offer a stored region that is not a voivodeship (e.g. from imported data) as a choice."""
        if value and value not in {choice.value for choice in choices_of(self.region)}:
            self.region.choices = [*choices_of(self.region), SelectChoice(value, value)]


class ContactForm(SandboxForm):
    first_name = StringField(_l("First name"), validators=[DataRequired(_l("Enter the first name.")),
                                                           Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(_l("Enter the last name.")), Length(max=100)])
    position = StringField(_l("Position"), validators=[Length(max=150)])
    company = StringField(_l("Company"), validators=[Length(max=200)],
                          description=_l("Company name or NIP; leave empty for a private person"))
    email = StringField(_l("E-mail"), validators=[Length(max=254)])
    phone = StringField(_l("Phone"), validators=[Length(max=40)])
    pesel = StringField(_l("PESEL"), validators=[Length(max=20)],
                        description=_l("Only if the purpose requires it (data minimisation)"))
    source = StringField(_l("Data source"), validators=[Length(max=200)],
                         description=_l("Where the personal data was obtained"))
    legal_basis = SelectField(_l("Legal basis of processing"), choices=choices([NONE_CHOICE, *LEGAL_BASES]),
                              validate_choice=False)
    marketing_consent = BooleanField(_l("Marketing consent given"))
    consent_at = DateField(_l("Consent date"), validators=[Optional()])
    consent_method = StringField(_l("How consent was obtained"), validators=[Length(max=200)],
                                 description=_l("e.g. website form with checkbox, signed paper form"))
    notes = TextAreaField(_l("Notes"), validators=[Length(max=10000)])
    tags = StringField(_l("Tags"), validators=[Length(max=500)], description=_l("Separate tags with commas"))
    allow_duplicate = BooleanField(_l("Save anyway: this is not a duplicate"))


class NoteForm(SandboxForm):
    kind = SelectField(_l("Kind"), choices=choices(EVENT_KINDS))
    text = TextAreaField(_l("What happened"), validators=[DataRequired(_l("Write what happened.")),
                                                          Length(max=5000)])


class TagForm(SandboxForm):
    name = StringField(_l("Tag"), validators=[DataRequired(_l("Enter a tag name.")), Length(max=60)])


class SegmentForm(SandboxForm):
    """A segment's purpose and rules; the segments service checks and cleans the rules."""

    name = StringField(_l("Segment name"), validators=[DataRequired(_l("Give the segment a name.")),
                                                       Length(max=150)])
    target = SelectField(_l("Segment of"), choices=choices([("company", _l("Companies")), ("contact", _l("Contacts"))]),
                         validate_choice=False)
    sales_goal = TextAreaField(_l("Sales goal"), validators=[Length(max=2000)],
                               description=_l("What the segment is for, e.g. offer the new service to big buyers"))
    product = StringField(_l("Product or service"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])
    industries = SelectMultipleField(_l("Industry"), choices=[], validate_choice=False)
    sizes = SelectMultipleField(_l("Size"), choices=choices(SIZES))
    regions = SelectMultipleField(_l("Region"), choices=choices((r, r) for r in REGIONS), validate_choice=False)
    min_value = StringField(_l("Potential value from (PLN)"), validators=[Length(max=30)])
    max_value = StringField(_l("Potential value to (PLN)"), validators=[Length(max=30)])
    tags = SelectMultipleField(_l("Tags"), choices=[], validate_choice=False)
    tag_mode = RadioField(_l("Tags must match"), choices=choices([("any", _l("any of them")), ("all", _l("all of them"))]),
                          default="any", validate_choice=False)
    marketing_consent = SelectField(_l("Marketing consent"), choices=choices([
        ("", _l("does not matter")), ("yes", _l("with marketing consent")), ("no", _l("without marketing consent"))]),
        validate_choice=False)

    def rules(self) -> dict:
        consent = {"yes": True, "no": False}.get(self.marketing_consent.data or "")
        return {
            "industries": self.industries.data, "sizes": self.sizes.data, "regions": self.regions.data,
            "min_value": self.min_value.data, "max_value": self.max_value.data, "tags": self.tags.data,
            "tag_mode": self.tag_mode.data, "marketing_consent": consent,
        }

    def load_rules(self, rules: dict) -> None:
        for key in ("industries", "sizes", "regions", "tags"):
            getattr(self, key).data = list(rules.get(key) or [])
        self.min_value.data = rules.get("min_value") or ""
        self.max_value.data = rules.get("max_value") or ""
        self.tag_mode.data = rules.get("tag_mode") or "any"
        consent = rules.get("marketing_consent")
        self.marketing_consent.data = "" if consent is None else ("yes" if consent else "no")


class UploadForm(SandboxForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file to upload."))])


class PasteForm(SandboxForm):
    name = StringField(_l("Name of the list"), validators=[Length(max=200)])
    text = TextAreaField(_l("Leads, one per line"), validators=[DataRequired(_l("Paste at least one line."))],
                         description=_l("e.g. Jan Kowalski, Kierownik zakupów, Firma X sp. z o.o., jan@x.pl, "
                                        "+48 600 100 200"))
