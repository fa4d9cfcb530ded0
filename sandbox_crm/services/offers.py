"""Offer templates and offers (criteria 2.2.a–d).

- templates: the candidate writes the body with merge tags; it is checked and
  previewed with sample data by the sandboxed engine (:mod:`.templating`);
- offers: a recipient chosen from the database (company, contact, optionally an
  opportunity), lines from the price list with quantity and discount, totals
  computed with :class:`~decimal.Decimal`;
- generate: the template is rendered with a context of plain values built from
  those records, and the HTML is turned into an A4 PDF stored on the offer;
- send: an :class:`OutboxMessage` to the contact with the PDF attached, the offer
  marked sent, and an ``offer_sent`` entry in the customer's history.

Every change is recorded in the action log (create, update, delete, generate,
send, export). Functions flush but never commit.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import nodes
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..actionlog import diff, record
from ..host import host, session
from ..models import Company, Contact, Offer, OfferLine, OfferTemplate, Opportunity, OutboxMessage, Product, Workspace, WorkspaceScoped
from ..models.base import utcnow
from ..models.offers import OFFER_STATUSES, VAT_RATES, OfferStatus
from ..models.sales import OpportunityStatus
from ..pagination import Page, paginate
from ..params import MAX_ID, parse_number
from ..registry import seeder
from ..scoping import scoped
from ..validators import MAX_AMOUNT
from . import customers as customer_service
from . import pdf as pdf_service
from . import templating
from .products import parse_decimal

_Row = TypeVar("_Row", bound=WorkspaceScoped)

CENT = Decimal("0.01")
MAX_QUANTITY = Decimal("999999999")
STATUS_LABELS = {
    "draft": _l("Draft"), "generated": _l("Generated"), "sent": _l("Sent"),
    "accepted": _l("Accepted"), "rejected": _l("Rejected"),
}

DEFAULT_TEMPLATE_BODY = """<h1>{{ oferta.tytul }}</h1>
<p>Oferta nr {{ oferta.numer }} z dnia {{ data_oferty }}, ważna do {{ waznosc_do }}.</p>
<p><strong>{{ klient.nazwa }}</strong><br>{{ klient.adres }}, {{ klient.miasto }}<br>NIP: {{ klient.nip }}</p>
<p>Szanowna Pani / Szanowny Panie {{ kontakt.imie_nazwisko }},</p>
<p>w odpowiedzi na zapytanie przedstawiamy ofertę:</p>
<table>
  <tr><th>Lp.</th><th>Nazwa</th><th>Ilość</th><th>Cena netto</th><th>Rabat %</th><th>Wartość netto</th></tr>
  {% for p in pozycje %}
  <tr><td>{{ p.lp }}</td><td>{{ p.nazwa }}</td><td>{{ p.ilosc }} {{ p.jm }}</td><td>{{ p.cena_netto }}</td>
      <td>{{ p.rabat }}</td><td>{{ p.wartosc_netto }}</td></tr>
  {% endfor %}
</table>
<p>Razem netto: {{ suma_netto }} {{ waluta }}, VAT: {{ suma_vat }} {{ waluta }},
   <strong>brutto: {{ suma_brutto }} {{ waluta }}</strong></p>
<p>Z poważaniem,<br>{{ sprzedawca.imie_nazwisko }}</p>
"""


class OfferError(ValueError):
    """Offer data or an offer action that cannot be done; ``errors`` maps a field to the reason."""

    def __init__(self, errors: dict[str, Any]):
        super().__init__("; ".join(f"{k}: {e}" for k, e in errors.items()))
        self.errors = errors


# --------------------------------------------------------------------------- money (pure)


@dataclass(frozen=True)
class LineAmounts:
    net: Decimal
    vat: Decimal
    gross: Decimal


@dataclass
class Totals:
    net: Decimal = Decimal("0.00")
    vat: Decimal = Decimal("0.00")
    gross: Decimal = Decimal("0.00")
    by_rate: dict[str, Decimal] = field(default_factory=dict)  # VAT rate → net value


def vat_percent(rate: str) -> Decimal:
    """The VAT rate as a percentage (``"zw"``, exempt, is 0)."""
    return Decimal("0") if rate == "zw" else Decimal(rate)


def line_amounts(quantity: Decimal, unit_price: Decimal, discount_pct: Decimal, vat_rate: str) -> LineAmounts:
    """Net, VAT and gross of one line, each rounded half-up to the grosz (VAT computed per line)."""
    net = (quantity * unit_price * (Decimal("100") - discount_pct) / Decimal("100")).quantize(CENT, ROUND_HALF_UP)
    vat = (net * vat_percent(vat_rate) / Decimal("100")).quantize(CENT, ROUND_HALF_UP)
    return LineAmounts(net, vat, net + vat)


def offer_totals(lines: Iterable[OfferLine]) -> Totals:
    """Sum of the lines' net, VAT and gross values, and the net value per VAT rate."""
    totals = Totals()
    for line in lines:
        amounts = line_amounts(line.quantity, line.unit_price, line.discount_pct, line.vat_rate)
        totals.net += amounts.net
        totals.vat += amounts.vat
        totals.gross += amounts.gross
        totals.by_rate[line.vat_rate] = totals.by_rate.get(line.vat_rate, Decimal("0.00")) + amounts.net
    return totals


def format_money(value: Decimal | None) -> str:
    """Polish money format: ``12 345,60`` (thousands separated by a non-breaking space)."""
    if value is None:
        return ""
    text = f"{value.quantize(CENT, ROUND_HALF_UP):,.2f}"
    return text.replace(",", "\u00a0").replace(".", ",")


def format_quantity(value: Decimal) -> str:
    """A quantity without needless zeros, with a decimal comma: ``2``, ``1,5``."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",")


def format_date(value: date | None) -> str:
    return value.strftime("%d.%m.%Y") if value else ""


# --------------------------------------------------------------------------- templates


def _clean_template(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = _("Enter the template name.")
    elif len(name) > 150:
        errors["name"] = _("The name may have at most 150 characters.")
    body = data.get("body") or ""
    if not body.strip():
        errors["body"] = _("Write the template text.")
    else:
        problems = templating.check_template(body)
        if problems:
            errors["body"] = "; ".join(str(p) for p in problems)
    try:
        validity = int(data.get("validity_days") or 30)
    except (TypeError, ValueError):
        validity = -1
    if not 1 <= validity <= 365:
        errors["validity_days"] = _("Validity must be 1 to 365 days.")
    if errors:
        raise OfferError(errors)
    return {"name": name, "description": (data.get("description") or "").strip() or None,
            "body": body, "validity_days": validity}


def template_snapshot(template: OfferTemplate) -> dict[str, Any]:
    return {"name": template.name, "description": template.description, "body": template.body,
            "validity_days": template.validity_days}


def _check_template_name(workspace: Workspace, name: str, template_id: int | None = None) -> None:
    stmt = scoped(OfferTemplate, workspace).where(OfferTemplate.name == name)
    if template_id is not None:
        stmt = stmt.where(OfferTemplate.id != template_id)
    if session().scalar(stmt.limit(1)) is not None:
        raise OfferError({"name": _("Another template already has this name.")})


def create_template(workspace: Workspace, data: dict[str, Any], *, log: bool = True) -> OfferTemplate:
    """Save a new offer template (its body must pass :func:`templating.check_template`)."""
    clean = _clean_template(data)
    _check_template_name(workspace, clean["name"])
    template = OfferTemplate(workspace_id=workspace.id, **clean)
    session().add(template)
    session().flush()
    if log:
        record(workspace, "create", "offer_template", template.id, template.name,
               {"diff": diff({}, template_snapshot(template)), "tags": used_tags(template.body)})
    return template


def update_template(workspace: Workspace, template: OfferTemplate, data: dict[str, Any]) -> dict:
    """Change a template; returns and records the diff (with the merge tags it now uses)."""
    clean = _clean_template({**template_snapshot(template), **data})
    _check_template_name(workspace, clean["name"], template.id)
    before = template_snapshot(template)
    for key, value in clean.items():
        setattr(template, key, value)
    changes = diff(before, template_snapshot(template))
    if changes:
        session().flush()
        record(workspace, "update", "offer_template", template.id, template.name,
               {"diff": changes, "tags": used_tags(template.body)})
    return changes


def delete_template(workspace: Workspace, template: OfferTemplate) -> None:
    """Delete a template (offers made from it keep their generated document)."""
    record(workspace, "delete", "offer_template", template.id, template.name,
           {"diff": diff(template_snapshot(template), {})})
    session().delete(template)
    session().flush()


def used_tags(body: str) -> list[str]:
    """The merge-tag roots a template body uses (``klient``, ``pozycje`` …), sorted."""
    try:
        ast = templating.OfferTemplateEnvironment().parse(body)
    except templating.TemplateSyntaxError:
        return []
    names = {n.name for n in ast.find_all(nodes.Name) if n.ctx == "load"}
    return sorted(names & set(templating.TAG_ROOTS))


def preview_template(body: str) -> templating.RenderResult:
    """Render a template body with the sample data (nothing is stored)."""
    return templating.render_template(body, templating.sample_context())


def list_templates(workspace: Workspace) -> list[OfferTemplate]:
    """All templates of the workspace, by name."""
    return list(session().scalars(scoped(OfferTemplate, workspace).order_by(OfferTemplate.name)))


@seeder("offer_templates", order=50)
def seed_offer_templates(workspace: Workspace, rows: list, context: dict) -> None:
    """Load the scenario's ready templates (``name``, ``body``, optional ``description``, ``validity_days``)."""
    for row in rows:
        create_template(workspace, {"body": DEFAULT_TEMPLATE_BODY, **row}, log=False)


# --------------------------------------------------------------------------- offers

OFFER_FIELDS = ("title", "company_id", "contact_id", "opportunity_id", "template_id", "issue_date",
                "valid_until", "currency", "notes")


def _as_id(value: Any) -> int | None:
    """A row id as a form sends it: None when none is chosen, -1 (no row has it) for anything that
    is not a whole number a row could have (an id beyond the database's integers included)."""
    if value in (None, "", 0, "0"):
        return None
    number = parse_number(str(value), 1, MAX_ID)
    return -1 if number is None else number


def _as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _scoped_get(model: type[_Row], workspace: Workspace, row_id: int | None) -> _Row | None:
    if row_id is None:
        return None
    return session().scalar(scoped(model, workspace).where(model.id == row_id))


def _clean_offer(workspace: Workspace, data: dict[str, Any]) -> dict[str, Any]:
    """Validate an offer's header: the recipient and records must be of this workspace and agree."""
    errors: dict[str, Any] = {}
    clean: dict[str, Any] = {}
    title = (data.get("title") or "").strip()
    if not title:
        errors["title"] = _("Enter the offer title.")
    elif len(title) > 200:
        errors["title"] = _("The title may have at most 200 characters.")
    clean["title"] = title
    company = _scoped_get(Company, workspace, _as_id(data.get("company_id")))
    if company is None:
        errors["company_id"] = _("Choose the customer (company) the offer is for.")
    clean["company_id"] = company.id if company else None
    contact_id = _as_id(data.get("contact_id"))
    contact = _scoped_get(Contact, workspace, contact_id)
    if contact_id is not None and contact is None:
        errors["contact_id"] = _("Choose a contact from the list.")
    elif contact is not None and company is not None and contact.company_id not in (None, company.id):
        errors["contact_id"] = _("This contact works at another company.")
    clean["contact_id"] = contact.id if contact else None
    opportunity_id = _as_id(data.get("opportunity_id"))
    opportunity = _scoped_get(Opportunity, workspace, opportunity_id)
    if opportunity_id is not None and opportunity is None:
        errors["opportunity_id"] = _("Choose an opportunity from the list.")
    elif opportunity is not None and company is not None and opportunity.company_id != company.id:
        errors["opportunity_id"] = _("This opportunity belongs to another company.")
    clean["opportunity_id"] = opportunity.id if opportunity else None
    template_id = _as_id(data.get("template_id"))
    template = _scoped_get(OfferTemplate, workspace, template_id)
    if template is None:
        errors["template_id"] = _("Choose the offer template.")
    clean["template_id"] = template.id if template else None
    issue_date = _as_date(data.get("issue_date")) or date.today()
    clean["issue_date"] = issue_date
    valid_until = _as_date(data.get("valid_until"))
    if data.get("valid_until") and valid_until is None:
        errors["valid_until"] = _("Enter a date as YYYY-MM-DD.")
    if valid_until is None and template is not None and not data.get("valid_until"):
        valid_until = issue_date + timedelta(days=template.validity_days)
    if valid_until is not None and valid_until < issue_date:
        errors["valid_until"] = _("The offer cannot expire before it is issued.")
    clean["valid_until"] = valid_until
    currency = (data.get("currency") or "PLN").strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        errors["currency"] = _("Enter a three-letter currency code, e.g. PLN.")
    clean["currency"] = currency
    clean["notes"] = (data.get("notes") or "").strip() or None
    if errors:
        raise OfferError(errors)
    return clean


def offer_snapshot(offer: Offer) -> dict[str, Any]:
    return {
        "title": offer.title, "company_id": offer.company_id, "contact_id": offer.contact_id,
        "opportunity_id": offer.opportunity_id, "template_id": offer.template_id,
        "issue_date": offer.issue_date.isoformat() if offer.issue_date else None,
        "valid_until": offer.valid_until.isoformat() if offer.valid_until else None,
        "currency": offer.currency, "notes": offer.notes, "status": offer.status,
    }


def _next_number(workspace: Workspace, year: int) -> str:
    count = session().scalar(select(func.count()).select_from(Offer).where(Offer.workspace_id == workspace.id)) or 0
    while True:
        count += 1
        number = f"OF/{year}/{count:04d}"
        if session().scalar(scoped(Offer, workspace).where(Offer.number == number).limit(1)) is None:
            return number


def create_offer(workspace: Workspace, data: dict[str, Any]) -> Offer:
    """Start an offer (status draft) for a company and, optionally, a contact and an opportunity."""
    clean = _clean_offer(workspace, data)
    offer = Offer(workspace_id=workspace.id, number=_next_number(workspace, clean["issue_date"].year),
                  status=OfferStatus.DRAFT, **clean)
    session().add(offer)
    session().flush()
    record(workspace, "create", "offer", offer.id, offer.number, {"diff": diff({}, offer_snapshot(offer))})
    return offer


def _to_draft(offer: Offer) -> None:
    """A change after generation makes the document stale: back to draft until generated again."""
    if offer.status == OfferStatus.GENERATED:
        offer.status = OfferStatus.DRAFT
        offer.pdf = None
        offer.pdf_sha256 = None
        offer.html = None
        offer.generated_at = None


def _editable(offer: Offer) -> None:
    if offer.status not in (OfferStatus.DRAFT, OfferStatus.GENERATED):
        raise OfferError({"status": _("A sent offer cannot be changed; make a new offer instead.")})


def update_offer(workspace: Workspace, offer: Offer, data: dict[str, Any]) -> dict:
    """Change the offer's header (only before it is sent); returns and records the diff."""
    _editable(offer)
    clean = _clean_offer(workspace, {**offer_snapshot(offer), **data})
    before = offer_snapshot(offer)
    for key, value in clean.items():
        setattr(offer, key, value)
    changes = diff(before, offer_snapshot(offer))
    if changes:
        _to_draft(offer)
        session().flush()
        record(workspace, "update", "offer", offer.id, offer.number, {"diff": changes})
    return changes


def delete_offer(workspace: Workspace, offer: Offer) -> None:
    """Delete an offer that has not been sent (a sent one is part of the customer's history)."""
    _editable(offer)
    record(workspace, "delete", "offer", offer.id, offer.number, {"diff": diff(offer_snapshot(offer), {})})
    session().delete(offer)
    session().flush()


def _recalculate(offer: Offer) -> None:
    totals = offer_totals(offer.lines)
    offer.total_net, offer.total_vat, offer.total_gross = totals.net, totals.vat, totals.gross


def line_snapshot(line: OfferLine) -> dict[str, Any]:
    return {"name": line.name, "product_id": line.product_id, "unit": line.unit, "quantity": str(line.quantity),
            "unit_price": str(line.unit_price), "discount_pct": str(line.discount_pct), "vat_rate": line.vat_rate}


def _clean_line(workspace: Workspace, data: dict[str, Any]) -> dict[str, Any]:
    """A line from a price-list product (name, unit, price and VAT copied unless given) or typed by hand."""
    errors: dict[str, Any] = {}
    product_id = _as_id(data.get("product_id"))
    product = _scoped_get(Product, workspace, product_id)
    if product_id is not None and product is None:
        errors["product_id"] = _("Choose a product from the price list.")
    name = (data.get("name") or (product.name if product else "")).strip()
    if not name:
        errors["name"] = _("Choose a product or type the line's name.")
    quantity = parse_decimal(data.get("quantity"))
    # Stored to 0.001: a quantity that rounds to nothing is none (the table's CHECK would refuse it).
    if quantity is None or quantity <= 0 or quantity > MAX_QUANTITY or quantity.quantize(Decimal("0.001")) <= 0:
        errors["quantity"] = _("Enter a quantity greater than 0.")
    discount = parse_decimal(data.get("discount_pct") or "0")
    if discount is None or not Decimal("0") <= discount <= Decimal("100"):
        errors["discount_pct"] = _("The discount must be between 0 and 100%.")
    price_raw = data.get("unit_price")
    price = parse_decimal(price_raw) if price_raw not in (None, "") else (product.unit_price if product else None)
    # Beyond MAX_AMOUNT (the column's NUMERIC(14, 2)), alone or times the quantity, it cannot be stored.
    if price is None or price < 0 or price > MAX_AMOUNT or (quantity is not None and 0 < quantity <= MAX_QUANTITY
                                                            and quantity * price > MAX_AMOUNT):
        errors["unit_price"] = _("Enter the net unit price as a number, e.g. 1200,00.")
    vat = str(data.get("vat_rate") or (product.vat_rate if product else "23"))
    if vat not in VAT_RATES:
        errors["vat_rate"] = _("Choose a VAT rate: 23, 8, 5, 0 or zw.")
    if errors or quantity is None or discount is None or price is None:  # (None only with an error)
        raise OfferError(errors)
    return {
        "product_id": product.id if product else None, "name": name[:200],
        "description": (data.get("description") or (product.description if product else "") or "").strip() or None,
        "unit": ((data.get("unit") or (product.unit if product else "szt.")).strip() or "szt.")[:20],
        "quantity": quantity.quantize(Decimal("0.001")), "unit_price": price.quantize(CENT),
        "discount_pct": discount.quantize(CENT), "vat_rate": vat,
    }


def add_line(workspace: Workspace, offer: Offer, data: dict[str, Any]) -> OfferLine:
    """Add a line to an offer and recompute its totals."""
    _editable(offer)
    clean = _clean_line(workspace, data)
    position = max((line.position for line in offer.lines), default=0) + 1
    line = OfferLine(workspace_id=workspace.id, position=position, **clean)
    if offer_totals([*offer.lines, line]).gross > MAX_AMOUNT:  # the offer's totals are NUMERIC(14, 2) too
        raise OfferError({"unit_price": _("Enter the net unit price as a number, e.g. 1200,00.")})
    offer.lines.append(line)
    _recalculate(offer)
    _to_draft(offer)
    session().flush()
    record(workspace, "update", "offer", offer.id, offer.number,
           {"line_added": line_snapshot(line), "total_net": str(offer.total_net)})
    return line


def remove_line(workspace: Workspace, offer: Offer, line_id: int) -> None:
    """Remove a line of the offer (404-like ``OfferError`` if it is not one of its lines)."""
    _editable(offer)
    line = next((line for line in offer.lines if line.id == line_id), None)
    if line is None:
        raise OfferError({"line": _("No such line on this offer.")})
    offer.lines.remove(line)
    _recalculate(offer)
    _to_draft(offer)
    session().flush()
    record(workspace, "update", "offer", offer.id, offer.number,
           {"line_removed": line_snapshot(line), "total_net": str(offer.total_net)})


def offer_context(workspace: Workspace, offer: Offer) -> dict[str, Any]:
    """The merge-tag values of an offer: plain dicts, lists and strings built from its records."""
    company = _scoped_get(Company, workspace, offer.company_id)
    contact = _scoped_get(Contact, workspace, offer.contact_id)
    opportunity = _scoped_get(Opportunity, workspace, offer.opportunity_id)
    actor = host().actor()
    lines = []
    for index, line in enumerate(offer.lines, start=1):
        amounts = line_amounts(line.quantity, line.unit_price, line.discount_pct, line.vat_rate)
        lines.append({
            "lp": index, "nazwa": line.name, "opis": line.description or "", "jm": line.unit,
            "ilosc": format_quantity(line.quantity), "cena_netto": format_money(line.unit_price),
            "rabat": format_quantity(line.discount_pct),
            "stawka_vat": "zw" if line.vat_rate == "zw" else f"{line.vat_rate}%",
            "wartosc_netto": format_money(amounts.net), "wartosc_vat": format_money(amounts.vat),
            "wartosc_brutto": format_money(amounts.gross),
        })
    totals = offer_totals(offer.lines)
    net, vat, gross = format_money(totals.net), format_money(totals.vat), format_money(totals.gross)
    text = lambda value: "" if value is None else str(value)  # noqa: E731
    return {
        "klient": {
            "nazwa": text(company and company.name), "nip": text(company and company.nip),
            "regon": text(company and company.regon), "adres": text(company and company.address),
            "miasto": text(company and company.city), "region": text(company and company.region),
            "branza": text(company and company.industry), "email": text(company and company.email),
            "telefon": text(company and company.phone), "www": text(company and company.website),
        },
        "kontakt": {
            "imie": text(contact and contact.first_name), "nazwisko": text(contact and contact.last_name),
            "imie_nazwisko": text(contact and contact.full_name), "stanowisko": text(contact and contact.position),
            "email": text(contact and contact.email), "telefon": text(contact and contact.phone),
        },
        "oferta": {"numer": offer.number, "tytul": offer.title, "uwagi": text(offer.notes)},
        "szansa": {"nazwa": text(opportunity and opportunity.name),
                   "wartosc": format_money(opportunity.value) if opportunity and opportunity.value else ""},
        "sprzedawca": {"imie_nazwisko": actor.name if actor else ""},
        "pozycje": lines,
        "tabela_pozycji": templating.lines_table(lines, net, vat, gross),
        "suma_netto": net, "suma_vat": vat, "suma_brutto": gross,
        "waluta": offer.currency,
        "data_oferty": format_date(offer.issue_date),
        "waznosc_do": format_date(offer.valid_until),
    }


def document_html(body_html: str, title: str) -> str:
    """A full HTML document around a rendered offer body (the same for the screen preview and the PDF)."""
    return (f'<!doctype html><html lang="pl"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{pdf_service.BASE_CSS}</style></head><body>{body_html}</body></html>")


def generate_offer(workspace: Workspace, offer: Offer) -> templating.RenderResult:
    """Render the offer from its records with its template, make the PDF, store both, record ``generate``.

    Returns the render result; when it has problems nothing is stored and the
    problems are what the candidate sees.
    """
    _editable(offer)
    template = _scoped_get(OfferTemplate, workspace, offer.template_id)
    if template is None:
        raise OfferError({"template_id": _("Choose the offer template.")})
    if not offer.lines:
        raise OfferError({"lines": _("Add at least one line (product or service) before generating.")})
    result = templating.render_template(template.body, offer_context(workspace, offer))
    if not result.ok:
        return result
    html = document_html(result.html or "", str(offer))
    pdf = pdf_service.html_to_pdf(html)
    company = _scoped_get(Company, workspace, offer.company_id)
    contact = _scoped_get(Contact, workspace, offer.contact_id)
    _recalculate(offer)
    offer.html = html
    offer.pdf = pdf
    offer.pdf_sha256 = pdf_service.sha256(pdf)
    offer.generated_at = utcnow()
    offer.status = OfferStatus.GENERATED
    offer.recipient_name = ", ".join(x for x in (contact.full_name if contact else "", company.name if company else "") if x)
    offer.recipient_email = (contact.email if contact and contact.email else (company.email if company else None))
    session().flush()
    record(workspace, "generate", "offer", offer.id, offer.number, {
        "template_id": template.id, "template": template.name, "company_id": offer.company_id,
        "contact_id": offer.contact_id, "opportunity_id": offer.opportunity_id, "lines": len(offer.lines),
        "total_net": str(offer.total_net), "total_vat": str(offer.total_vat),
        "total_gross": str(offer.total_gross), "pdf_sha256": offer.pdf_sha256, "tags": used_tags(template.body),
    })
    return result


def pdf_filename(offer: Offer) -> str:
    return "oferta-" + offer.number.replace("/", "-") + ".pdf"


def record_pdf_download(workspace: Workspace, offer: Offer) -> None:
    """Record that the offer's PDF was exported (downloaded)."""
    record(workspace, "export", "offer", offer.id, offer.number, {"format": "pdf", "pdf_sha256": offer.pdf_sha256})


def default_message(offer: Offer) -> dict[str, str]:
    """The e-mail the send form starts with."""
    return {
        "to_address": offer.recipient_email or "",
        "subject": _("Offer %(number)s: %(title)s", number=offer.number, title=offer.title),
        "body": _("Good morning,\n\nplease find attached our offer %(number)s.\n\nKind regards",
                  number=offer.number),
    }


def send_offer(workspace: Workspace, offer: Offer, *, to_address: str | None, subject: str | None,
               body: str | None) -> OutboxMessage:
    """"Send" the generated offer: an outbox message with the PDF attached, status sent, customer history.

    Records ``send`` in the action log and an ``offer_sent`` event in the history
    of the offer's company and contact.
    """
    from email_validator import EmailNotValidError, validate_email

    errors: dict[str, Any] = {}
    if offer.status != OfferStatus.GENERATED or not offer.pdf_sha256:
        errors["status"] = _("Generate the offer (PDF) before sending it.")
    address = (to_address or "").strip()
    try:
        address = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        errors["to_address"] = _("Enter the recipient's e-mail address, e.g. anna@firma.pl.")
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = _("Enter the subject of the message.")
    elif len(subject) > 300:
        errors["subject"] = _("The subject may have at most 300 characters.")
    body = (body or "").strip()
    if not body:
        errors["body"] = _("Write the message.")
    if errors:
        raise OfferError(errors)
    company = _scoped_get(Company, workspace, offer.company_id)
    contact = _scoped_get(Contact, workspace, offer.contact_id)
    actor = host().actor()
    now = utcnow()
    message = OutboxMessage(
        workspace_id=workspace.id, to_address=address, to_name=contact.full_name if contact else None,
        subject=subject, body=body[:20000], offer_id=offer.id, attachment_name=pdf_filename(offer),
        attachment_sha256=offer.pdf_sha256, company_id=company.id if company else None,
        contact_id=contact.id if contact else None, sent_by=actor.name if actor else None, sent_at=now,
    )
    session().add(message)
    offer.status = OfferStatus.SENT
    offer.sent_at = now
    session().flush()
    customer_service.add_event(
        workspace, kind="offer_sent",
        summary=_("Offer %(number)s sent to %(address)s (gross %(gross)s %(currency)s)", number=offer.number,
                  address=address, gross=format_money(offer.total_gross), currency=offer.currency),
        company=company, contact=contact, object_type="offer", object_id=offer.id,
    )
    record(workspace, "send", "offer", offer.id, offer.number, {
        "outbox_message_id": message.id, "to": address, "subject": subject,
        "company_id": offer.company_id, "contact_id": offer.contact_id,
        "attachment": message.attachment_name, "pdf_sha256": offer.pdf_sha256,
    })
    return message


def set_outcome(workspace: Workspace, offer: Offer, status: str) -> None:
    """Mark a sent offer accepted or rejected by the customer."""
    outcomes = (OfferStatus.ACCEPTED, OfferStatus.REJECTED)
    if status not in outcomes or offer.status not in (OfferStatus.SENT, *outcomes):
        raise OfferError({"status": _("Only a sent offer can be marked accepted or rejected.")})
    before = offer.status
    offer.status = OfferStatus(status)
    session().flush()
    record(workspace, "update", "offer", offer.id, offer.number, {"diff": {"status": [before, status]}})


def list_offers(workspace: Workspace, *, status: str = "", company_id: int | None = None,
                page: int = 1) -> Page:
    """One page of offers, newest first, filtered by status and company."""
    stmt = scoped(Offer, workspace)
    if status in OFFER_STATUSES:
        stmt = stmt.where(Offer.status == status)
    if company_id:
        stmt = stmt.where(Offer.company_id == company_id)
    return paginate(stmt.order_by(Offer.issue_date.desc(), Offer.id.desc()), page)


def list_outbox(workspace: Workspace, page: int = 1) -> Page:
    """One page of the sandbox outbox, newest first."""
    stmt = scoped(OutboxMessage, workspace).options(selectinload(OutboxMessage.offer))
    return paginate(stmt.order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc()), page)


def offer_messages(workspace: Workspace, offer: Offer) -> list[OutboxMessage]:
    """The outbox messages that carried this offer, newest first."""
    return list(session().scalars(scoped(OutboxMessage, workspace).where(OutboxMessage.offer_id == offer.id)
                                  .order_by(OutboxMessage.sent_at.desc())))


def company_names(workspace: Workspace, ids: Iterable[int | None]) -> dict[int, str]:
    """Names of the given companies of the workspace (one query, for list pages)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = session().execute(select(Company.id, Company.name).where(Company.workspace_id == workspace.id,
                                                                     Company.id.in_(wanted)))
    return {row.id: row.name for row in rows}


def recipient_choices(workspace: Workspace, company_id: int | None = None) -> dict[str, list]:
    """Companies, contacts, opportunities and templates for the offer form, as (id, label) pairs.

    Bounded lists: the first 500 companies by name (plus the chosen one), and the
    contacts and open opportunities of the chosen company (or the first 500).
    """
    db = session()
    companies = db.execute(select(Company.id, Company.name).where(Company.workspace_id == workspace.id)
                           .order_by(Company.name).limit(500)).all()
    pairs = [(c.id, c.name) for c in companies]
    chosen = _scoped_get(Company, workspace, company_id)
    if chosen is not None and all(pid != chosen.id for pid, _name in pairs):
        pairs.insert(0, (chosen.id, chosen.name))
    contact_stmt = select(Contact.id, Contact.first_name, Contact.last_name, Contact.email).where(
        Contact.workspace_id == workspace.id)
    opportunity_stmt = select(Opportunity.id, Opportunity.name).where(
        Opportunity.workspace_id == workspace.id, Opportunity.status == OpportunityStatus.OPEN)
    if chosen is not None:
        contact_stmt = contact_stmt.where(Contact.company_id == chosen.id)
        opportunity_stmt = opportunity_stmt.where(Opportunity.company_id == chosen.id)
    contacts = db.execute(contact_stmt.order_by(Contact.last_name, Contact.first_name).limit(500)).all()
    opportunities = db.execute(opportunity_stmt.order_by(Opportunity.name).limit(500)).all()
    return {
        "companies": pairs,
        "contacts": [(c.id, f"{c.first_name} {c.last_name}" + (f" <{c.email}>" if c.email else "")) for c in contacts],
        "opportunities": [(o.id, o.name) for o in opportunities],
        "templates": [(t.id, t.name) for t in list_templates(workspace)],
    }
