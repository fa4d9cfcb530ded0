"""Forms of the offers area: price list, offer templates, offers and their lines, sending, reports."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..services.products import KIND_LABELS, VAT_LABELS
from .choices import choices
from .common import SandboxForm

VAT_CHOICES = [(key, label) for key, label in VAT_LABELS.items()]
KIND_CHOICES = list(KIND_LABELS.items())


class ProductForm(SandboxForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Enter the product or service name.")),
                                               Length(max=200)])
    sku = StringField(_l("Code (SKU)"), validators=[Length(max=60)], description=_l("Optional, unique"))
    kind = SelectField(_l("Kind"), choices=choices(KIND_CHOICES))
    unit = StringField(_l("Unit"), default="szt.", validators=[DataRequired(_l("Enter the unit, e.g. szt., godz., usł.")),
                                                               Length(max=20)])
    unit_price = StringField(_l("Net unit price"), validators=[DataRequired(_l("Enter the net unit price.")),
                                                               Length(max=30)],
                             description=_l("Net, e.g. 1200,00"))
    vat_rate = SelectField(_l("VAT rate"), choices=choices(VAT_CHOICES), default="23")
    description = TextAreaField(_l("Description"), validators=[Length(max=5000)])
    active = BooleanField(_l("Active (offered)"), default=True)


class OfferTemplateForm(SandboxForm):
    name = StringField(_l("Template name"), validators=[DataRequired(_l("Enter the template name.")),
                                                        Length(max=150)])
    description = StringField(_l("Description"), validators=[Length(max=500)])
    validity_days = IntegerField(_l("Offer valid for (days)"), default=30,
                                 validators=[DataRequired(_l("Enter 1 to 365 days.")),
                                             NumberRange(1, 365, _l("Enter 1 to 365 days."))])
    body = TextAreaField(_l("Template text"), validators=[DataRequired(_l("Write the template text.")),
                                                          Length(max=50000)],
                         description=_l("Plain text (line breaks are kept) or HTML, with merge tags, "
                                        "e.g. {{ klient.nazwa }}"))


class OfferForm(SandboxForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Enter the offer title.")), Length(max=200)])
    company_id = SelectField(_l("Customer (company)"), coerce=str, validate_choice=False)
    contact_id = SelectField(_l("Recipient (contact)"), coerce=str, validate_choice=False)
    opportunity_id = SelectField(_l("Opportunity"), coerce=str, validate_choice=False)
    template_id = SelectField(_l("Template"), coerce=str, validate_choice=False)
    issue_date = DateField(_l("Issue date"), validators=[Optional()])
    valid_until = DateField(_l("Valid until"), validators=[Optional()],
                            description=_l("Empty: issue date + the template's validity"))
    currency = StringField(_l("Currency"), default="PLN", validators=[Length(max=3)])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])


class OfferLineForm(SandboxForm):
    product_id = SelectField(_l("Product or service"), coerce=str, validate_choice=False)
    name = StringField(_l("Or a line typed by hand"), validators=[Length(max=200)])
    quantity = StringField(_l("Quantity"), default="1", validators=[DataRequired(_l("Enter a quantity greater than 0.")),
                                                                    Length(max=20)])
    discount_pct = StringField(_l("Discount %"), default="0", validators=[Length(max=10)])
    unit_price = StringField(_l("Net unit price"), validators=[Length(max=30)],
                             description=_l("Empty: the price-list price"))
    vat_rate = SelectField(_l("VAT rate"), choices=choices([("", _l("as in the price list")), *VAT_CHOICES]), default="")


class SendOfferForm(SandboxForm):
    to_address = StringField(_l("To (e-mail)"), validators=[DataRequired(_l("Enter the recipient's e-mail address.")),
                                                            Length(max=254)])
    subject = StringField(_l("Subject"), validators=[DataRequired(_l("Enter the subject of the message.")),
                                                     Length(max=300)])
    body = TextAreaField(_l("Message"), validators=[DataRequired(_l("Write the message.")), Length(max=20000)])


class SaveReportForm(SandboxForm):
    name = StringField(_l("Report name"), validators=[DataRequired(_l("Enter a name for the report.")),
                                                      Length(max=150)])
    description = StringField(_l("Description"), validators=[Length(max=500)])
    config = HiddenField()
