"""What the sales pages (pipelines, opportunities, board, tasks) share: showing rule errors on
forms, safe redirects, choice lists, the company picker, and number/date formatting."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal
from flask import g, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..blueprint import bp
from ..forms.choices import SelectChoice, choices
from ..host import session
from ..models import Company, Contact
from ..models.sales import Opportunity
from ..scoping import get_or_404, scoped
from ..services import customers as customer_service
from ..services.opportunities import stage_choices
from ..services.sales_util import SalesError, now, to_local
from .helpers import attach_errors, company_reference, resolve_company

# How many contacts and opportunities a select offers (a workspace may hold tens of thousands).
CHOICES_LIMIT = 300


def show_error(form: Any, error: SalesError) -> None:
    """Put a rule error next to its field, or flash it when it concerns no field of ``form``."""
    attach_errors(form, {error.field or "": error.message})


def safe_next(default: str, *targets: str | None) -> str:
    """The first of ``targets`` (a form's or the query's ``next``) that is a path of this site, else ``default``."""
    target = next((t for t in targets if t), "")
    parts = urlsplit(target)
    if (target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not parts.scheme and not parts.netloc):
        return target
    return default


def wants_json() -> bool:
    """Whether the caller is the board's script (it asks for JSON) rather than a plain form."""
    return request.accept_mimetypes.best == "application/json" or request.is_json


def company_picker(field: Any) -> None:
    """Make ``field`` the company picker: a datalist narrowed by the company lookup as the user types."""
    field.render_kw = (field.render_kw or {}) | {
        "list": "company-options", "autocomplete": "off",
        "data-company-lookup": url_for("sandbox.company_lookup"),
    }


def filter_company(form: Any, company_id: int | None) -> Company | None:
    """The company a list is filtered by: named by ``?company_id=`` (a link from its page) or typed in the picker."""
    company_picker(form.company)
    if company_id:
        company = get_or_404(Company, g.workspace, company_id)
        form.company.data = company_reference(company)
        return company
    if form.company.data and not form.company.errors:
        return resolve_company(form.company)[1]
    return None


def valid_data(form: Any, name: str) -> Any:
    """A filter field's value, or None when it did not validate (an invalid filter is not applied)."""
    field = getattr(form, name)
    return None if field.errors else field.data


def company_suggestions(limit: int = 200) -> list[Company]:
    """Companies for the picker's datalist (the script narrows it as the user types)."""
    return customer_service.company_choices(g.workspace, limit=limit)


def contact_choices(company_id: int | None, selected: int | None = None) -> list[SelectChoice]:
    """Contacts for a select: those of ``company_id`` (or the first ones of the workspace), plus ``selected``."""
    query = scoped(Contact, g.workspace).options(joinedload(Contact.company)).order_by(
        Contact.last_name, Contact.first_name, Contact.id)
    if company_id:
        query = query.where(Contact.company_id == company_id)
    contacts = list(session().scalars(query.limit(CHOICES_LIMIT)))
    if selected and all(c.id != selected for c in contacts):
        extra = session().scalar(scoped(Contact, g.workspace).where(Contact.id == selected))
        if extra is not None:
            contacts.append(extra)
    pairs: list[tuple[Any, str]] = [("", _("— none —"))]
    for contact in contacts:
        label = contact.full_name
        if not company_id and contact.company is not None:
            label = f"{label} — {contact.company.name}"
        pairs.append((contact.id, label))
    return choices(pairs)


def grouped_stage_choices(blank: str | None = None) -> list[SelectChoice]:
    """Every stage of the workspace, grouped by pipeline (``<optgroup>``), for a stage select."""
    groups: dict[str, list[SelectChoice]] = {}  # by group name (pipelines of one name: the last one's stages)
    if blank is not None:
        groups[""] = choices([("", blank)], optgroup="")
    for pipeline, stages in stage_choices(g.workspace):
        groups[pipeline.name] = choices(((stage.id, f"{stage.name} ({stage.probability}%)") for stage in stages),
                                        optgroup=pipeline.name)
    return [choice for group in groups.values() for choice in group]


def opportunity_choices(selected: int | None = None) -> list[SelectChoice]:
    """Open opportunities for a select (the most recent first), plus ``selected``."""
    rows = list(session().execute(
        select(Opportunity.id, Opportunity.name).where(Opportunity.workspace_id == g.workspace.id,
                                                       Opportunity.status == "open")
        .order_by(Opportunity.updated_at.desc(), Opportunity.id.desc()).limit(CHOICES_LIMIT)))
    if selected and all(row[0] != selected for row in rows):
        rows += list(session().execute(select(Opportunity.id, Opportunity.name).where(
            Opportunity.workspace_id == g.workspace.id, Opportunity.id == selected)))
    return choices([("", _("— none —"))] + [(row[0], row[1]) for row in rows])


# --- formatting ------------------------------------------------------------------------------

@bp.app_template_filter("sales_amount")
def sales_amount(value: Decimal | None, currency: str = "PLN") -> str:
    """Money in the user's language: ``12 500,50 zł``."""
    if value is None:
        return "—"
    return format_currency(value, currency or "PLN", locale=str(get_locale() or "pl"))


@bp.app_template_filter("sales_number")
def sales_number(value: Any) -> str:
    if value is None:
        return "—"
    return format_decimal(value, locale=str(get_locale() or "pl"))


@bp.app_template_filter("sales_date")
def sales_date(value: date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = to_local(value).date()
    return format_date(value, "medium", locale=str(get_locale() or "pl"))


@bp.app_template_filter("sales_datetime")
def sales_datetime(value: datetime | None) -> Markup | str:
    """A UTC instant shown in Polish local time, in a ``<time>`` element."""
    if value is None:
        return "—"
    local = to_local(value)
    text = format_datetime(local, "short", tzinfo=local.tzinfo, locale=str(get_locale() or "pl"))
    return Markup('<time datetime="{}">{}</time>').format(local.isoformat(), text)


@bp.app_template_filter("sales_is_past")
def sales_is_past(value: datetime | None) -> bool:
    """Whether the instant has passed (for marking overdue tasks)."""
    return value is not None and value < now()
