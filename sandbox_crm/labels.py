"""How the sandbox's codes and figures read to people, in the page's language.

The action log stores codes (``update``, ``pipeline_stage``, ``percent_complete``, ``in_progress``),
as xAPI wants; every page that shows a statement — the timeline, the dashboard, and the host's own
pages through the template filters below — names them here. A code with no label is shown as it
is (a scenario may bring its own), never hidden. Percentages and a sentence's last full stop are
written here too.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint
from flask_babel import format_date, format_datetime, format_decimal, format_percent, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .forms.sales import (
    CUSTOMER_TYPE_CHOICES,
    METRIC_LABELS,
    OFFER_KIND_CHOICES,
    PRIORITY_CHOICES,
    SALES_FORM_CHOICES,
    TASK_STATUS_CHOICES,
)
from .services.customers import EVENT_KINDS, LEGAL_BASIS_LABELS, SIZE_LABELS
from .services.customers import FIELD_LABELS as CUSTOMER_FIELD_LABELS
from .services.imports import FIELD_LABELS as IMPORT_FIELD_LABELS
from .services.offers import STATUS_LABELS as OFFER_STATUS_LABELS
from .services.products import KIND_LABELS as PRODUCT_KIND_LABELS
from .services.products import VAT_LABELS

VERB_LABELS: dict[str, Any] = {
    "create": _l("creation"), "update": _l("change"), "delete": _l("deletion"), "move": _l("moving"),
    "send": _l("sending"), "generate": _l("generation"), "filter": _l("filtering"), "export": _l("export"),
    "import": _l("import"), "complete": _l("completion"), "won": _l("marked won"), "lost": _l("marked lost"),
    "freeze": _l("closing of the workspace"), "decide": _l("decision"),
    "answer": _l("answer beside the task sheet"),
}

OBJECT_LABELS: dict[str, Any] = {
    "company": _l("company"), "contact": _l("contact person"), "customer_event": _l("entry in the customer history"),
    "segment": _l("segment"), "import_source": _l("lead source"), "product": _l("price-list item"),
    "offer_template": _l("offer template"), "offer": _l("offer"), "pipeline": _l("sales pipeline"),
    "pipeline_stage": _l("pipeline stage"), "stage_task": _l("stage task"), "opportunity": _l("sales opportunity"),
    "board": _l("opportunity board"), "task": _l("task"), "report": _l("report"), "saved_report": _l("saved report"),
    "action_log": _l("action log"), "workspace": _l("workspace"), "import_row": _l("lead source row"),
    "sheet_task": _l("task of the sheet"),
}

# Field names of the diffs and of the details a statement carries (filters, exports, imports).
FIELD_LABELS: dict[str, Any] = {
    **CUSTOMER_FIELD_LABELS,
    "title": _l("Title"), "description": _l("Description"), "status": _l("Status"), "priority": _l("Priority"),
    "due_at": _l("Due date"), "due_date": _l("Due date"), "due_offset_days": _l("Due days after entering the stage"),
    "percent_complete": _l("Percent complete"), "assignee": _l("Assigned to"), "completed_at": _l("Completed"),
    "contact_id": _l("Contact person"), "opportunity_id": _l("Opportunity"), "pipeline_id": _l("Pipeline"),
    "stage_id": _l("Stage"), "stage": _l("Stage"), "stages": _l("Stages"), "pipeline": _l("Pipeline"),
    "value": _l("Value"), "currency": _l("Currency"), "expected_close_date": _l("Expected close"),
    "owner_name": _l("Owner"), "close_reason": _l("Reason"), "closed_at": _l("Closed at"),
    "tasks_created": _l("Tasks created"), "probability": _l("Probability (%)"), "duration_days": _l("Planned length (days)"),
    "position": _l("Position in the pipeline"), "order": _l("Order of the stages"),
    "customer_type": _l("Customer type"), "offer_kind": _l("Offer"), "sales_form": _l("Form of sale"),
    "goal_specific": _l("Specific: what exactly is to be achieved"), "goal_metric": _l("Measurable: measure"),
    "goal_target": _l("Measurable: target value"), "goal_achievable": _l("Achievable: why it is realistic"),
    "goal_relevance": _l("Relevant: why it matters"), "goal_deadline": _l("Time-bound: deadline"),
    "sku": _l("Code (SKU)"), "kind": _l("Kind"), "unit": _l("Unit"), "unit_price": _l("Net unit price"),
    "vat_rate": _l("VAT rate"), "active": _l("Active (offered)"), "product_id": _l("Product or service"),
    "quantity": _l("Quantity"), "discount_pct": _l("Discount %"),
    "body": _l("Template text"), "validity_days": _l("Offer valid for (days)"), "template_id": _l("Template"),
    "template": _l("Template"), "issue_date": _l("Issue date"), "valid_until": _l("Valid until"),
    "lines": _l("Lines"), "line_added": _l("Line added"), "line_removed": _l("Line removed"),
    "total_net": _l("Net total"), "total_vat": _l("VAT"), "total_gross": _l("Gross total"),
    "pdf_sha256": _l("PDF checksum (SHA-256)"), "to": _l("To (e-mail)"), "subject": _l("Subject"),
    "attachment": _l("Attachment"), "outbox_message_id": _l("Message in the outbox"),
    "target": _l("Segment of"), "sales_goal": _l("Sales goal"), "product": _l("Product or service"),
    "text": _l("Text"), "rules": _l("Rules"), "config": _l("Report settings"), "rows": _l("Rows"), "filters": _l("Filters"),
    "count": _l("Rows found"), "format": _l("Format"), "statements": _l("Actions"), "sort": _l("Sort"),
    "date_field": _l("Date field"), "date_from": _l("From"), "date_to": _l("To"),
    "customer_id": _l("Customer"), "summary": _l("What happened"),
    "characters": _l("Characters"), "rows_chosen": _l("Rows chosen"), "rows_imported": _l("Rows imported"),
    "rows_skipped": _l("Rows skipped"), "companies_created": _l("Companies created"),
    "contacts_created": _l("Contacts created"), "mapping": _l("Column mapping"), "search": _l("Search"),
    "decisions": _l("Decisions"), "source_id": _l("Lead source"), "row": _l("Row"), "decision": _l("Decision"),
    "values": _l("Values as read"), "fixed_values": _l("Values as fixed"), "flags": _l("Flags"),
    "unverified": _l("Values kept in the notes"), "company_created": _l("Company created"),
    "field": _l("Field"), "message": _l("Message"),
    **IMPORT_FIELD_LABELS,
}

# Amounts are logged as exact decimal strings ("1200.00"); dates and instants in ISO 8601.
AMOUNT_FIELDS = frozenset({"value", "potential_value", "goal_target", "unit_price", "quantity", "discount_pct",
                           "total_net", "total_vat", "total_gross"})
DATE_FIELDS = frozenset({"due_at", "due_date", "completed_at", "expected_close_date", "closed_at", "consent_at",
                         "goal_deadline", "issue_date", "valid_until", "date_from", "date_to"})

# Coded values, by field; a field whose codes depend on the object (a task's "open" is "not
# started", an opportunity's is "open") is keyed by (object type, field).
_VALUE_LABELS: dict[Any, Mapping[Any, Any]] = {
    "priority": dict(PRIORITY_CHOICES),
    ("task", "status"): dict(TASK_STATUS_CHOICES),
    ("opportunity", "status"): {"open": _l("Open"), "won": _l("Won"), "lost": _l("Lost")},
    ("offer", "status"): OFFER_STATUS_LABELS,
    ("product", "kind"): PRODUCT_KIND_LABELS,
    ("customer_event", "kind"): dict(EVENT_KINDS),
    ("import_source", "kind"): {"csv": _l("CSV file"), "paste": _l("pasted list")},
    ("import_row", "decision"): {"import": _l("import as it is"), "fix": _l("fix and import"), "skip": _l("skip")},
    ("import_row", "kind"): {"missing": _l("data missing"), "invalid": _l("value failing its check"),
                             "duplicate": _l("possible duplicate")},
    "legal_basis": LEGAL_BASIS_LABELS, "size": SIZE_LABELS, "vat_rate": VAT_LABELS,
    "goal_metric": METRIC_LABELS, "customer_type": dict(CUSTOMER_TYPE_CHOICES),
    "offer_kind": dict(OFFER_KIND_CHOICES), "sales_form": dict(SALES_FORM_CHOICES),
    "target": {"company": _l("Companies"), "contact": _l("Contacts")},
}


def verb_label(verb: str) -> str:
    """What was done, e.g. "change" for ``update``."""
    return str(VERB_LABELS.get(verb, verb))


def object_label(object_type: str) -> str:
    """What it was done to, e.g. "pipeline stage" for ``pipeline_stage``."""
    return str(OBJECT_LABELS.get(object_type, object_type))


def field_label(name: str) -> str:
    """A field of a diff or a detail of a statement, e.g. "Percent complete" for ``percent_complete``."""
    return str(FIELD_LABELS.get(name, name))


def value_text(value: Any, field: str | None = None, object_type: str | None = None) -> str:
    """A logged value as a person reads it: codes named, amounts and dates the page's way, yes/no,
    lists joined, "—" for nothing."""
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, Mapping):
        return "; ".join(f"{field_label(str(k))}: {value_text(v, str(k), object_type)}" for k, v in value.items())
    if isinstance(value, Iterable) and not isinstance(value, str):
        return ", ".join(value_text(v, field, object_type) for v in value)
    if field is not None:
        codes = _VALUE_LABELS.get((object_type, field)) or _VALUE_LABELS.get(field)
        if codes is not None and isinstance(value, str) and value in codes:
            return str(codes[value])
        if field in AMOUNT_FIELDS or isinstance(value, float):
            return _amount(value)
        if field in DATE_FIELDS and isinstance(value, str):
            return _date(value)
    return str(value)


def _amount(value: Any) -> str:
    try:
        return str(format_decimal(Decimal(str(value)), "#,##0.00##"))
    except InvalidOperation:
        return str(value)


def _date(value: str) -> str:
    try:
        if "T" in value:
            return str(format_datetime(datetime.fromisoformat(value), "short"))
        return str(format_date(date.fromisoformat(value), "medium"))
    except ValueError:
        return value


def percent_text(value: float | Decimal | None) -> str:
    """A percentage in percent units the page's way: "33,3 %" in Polish (a space before the sign,
    a decimal comma), "33.3%" in English."""
    if value is None:
        return "—"
    pattern = "#,##0.#\u00a0%" if str(get_locale()) == "pl" else "#,##0.#%"
    return str(format_percent(Decimal(str(value)) / 100, pattern))


def single_full_stop(text: str) -> str:
    """A sentence ending in a name that ends in a full stop ("… Alfa Sp. z o.o.") takes no second one."""
    if (text.endswith("..") and not text.endswith("...")) or text.endswith("...."):
        return text[:-1] if type(text) is str else type(text)(text[:-1])
    return text


def register_filters(bp: Blueprint) -> None:
    """Make the labels template filters for every page of the host application."""
    bp.add_app_template_filter(verb_label, "sandbox_verb")
    bp.add_app_template_filter(object_label, "sandbox_object")
    bp.add_app_template_filter(field_label, "sandbox_field")
    bp.add_app_template_filter(value_text, "sandbox_value")
    bp.add_app_template_filter(percent_text, "sandbox_percent")
    bp.add_app_template_filter(single_full_stop, "single_full_stop")
