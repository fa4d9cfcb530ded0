"""Segments: customers selected by rules (industry, size, region, potential value, tags, consent)."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, exists, func, select, true
from sqlalchemy.orm import selectinload

from ..actionlog import diff, record
from ..host import session
from ..models import Company, Contact, Segment, Tag, Workspace
from ..models.customers import company_tag, contact_tag
from ..pagination import Page, paginate
from ..scoping import scoped
from ..textcase import name_key
from ..validators import parse_amount

TARGETS = ("company", "contact")
RULE_KEYS = ("industries", "sizes", "regions", "min_value", "max_value", "tags", "tag_mode", "marketing_consent")


class SegmentError(ValueError):
    """A segment that cannot be saved (e.g. its name is taken); ``field`` names the culprit."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def clean_rules(rules: dict[str, Any]) -> dict[str, Any]:
    """Keep only known, non-empty rules, in a JSON-friendly shape."""
    clean: dict[str, Any] = {}
    for key in ("industries", "sizes", "regions", "tags"):
        values = sorted({str(v).strip() for v in rules.get(key) or [] if str(v).strip()})
        if values:
            clean[key] = values
    for key in ("min_value", "max_value"):
        value = rules.get(key)
        if value not in (None, ""):
            try:
                amount = parse_amount(value)
            except ValueError:
                raise SegmentError(_l("Enter a number."), key) from None
            if abs(amount) >= Decimal("1e12"):
                raise SegmentError(_l("Enter a number."), key)
            clean[key] = str(amount)
    if "min_value" in clean and "max_value" in clean and Decimal(clean["min_value"]) > Decimal(clean["max_value"]):
        raise SegmentError(_l("The minimum value is greater than the maximum."), "min_value")
    if clean.get("tags"):
        clean["tag_mode"] = "all" if rules.get("tag_mode") == "all" else "any"
    consent = rules.get("marketing_consent")
    if consent in (True, False):
        clean["marketing_consent"] = consent
    return clean


def _tag_condition(link_table, link_column, owner_id, workspace: Workspace, names: list[str], mode: str):
    def has(name_filter):
        return exists(
            select(1)
            .select_from(link_table.join(Tag, Tag.id == link_table.c.tag_id))
            .where(link_column == owner_id, Tag.workspace_id == workspace.id, name_filter)
        )

    if mode == "all":
        return and_(*[has(Tag.name == name) for name in names])
    return has(Tag.name.in_(names))


def company_conditions(workspace: Workspace, rules: dict[str, Any]) -> list[ColumnElement]:
    """SQL conditions on :class:`Company` for ``rules`` (companies of ``workspace`` assumed)."""
    conditions: list[ColumnElement] = []
    if rules.get("industries"):
        conditions.append(Company.industry.in_(rules["industries"]))
    if rules.get("sizes"):
        conditions.append(Company.size.in_(rules["sizes"]))
    if rules.get("regions"):
        conditions.append(Company.region.in_(rules["regions"]))
    if rules.get("min_value") is not None:
        conditions.append(Company.potential_value >= Decimal(rules["min_value"]))
    if rules.get("max_value") is not None:
        conditions.append(Company.potential_value <= Decimal(rules["max_value"]))
    if rules.get("tags"):
        conditions.append(
            _tag_condition(company_tag, company_tag.c.company_id, Company.id, workspace, rules["tags"],
                           rules.get("tag_mode", "any"))
        )
    if rules.get("marketing_consent") is not None:
        with_consent = exists(
            select(1).where(Contact.company_id == Company.id, Contact.marketing_consent.is_(True))
        )
        conditions.append(with_consent if rules["marketing_consent"] else ~with_consent)
    return conditions


def contact_conditions(workspace: Workspace, rules: dict[str, Any]) -> list[ColumnElement]:
    """SQL conditions on :class:`Contact`: company rules apply to the contact's company, tags to the contact."""
    company_rules = {k: v for k, v in rules.items() if k not in ("tags", "tag_mode", "marketing_consent")}
    conditions: list[ColumnElement] = []
    company_side = company_conditions(workspace, company_rules)
    if company_side:
        conditions.append(
            exists(select(1).where(Company.id == Contact.company_id, *company_side))
        )
    if rules.get("tags"):
        conditions.append(
            _tag_condition(contact_tag, contact_tag.c.contact_id, Contact.id, workspace, rules["tags"],
                           rules.get("tag_mode", "any"))
        )
    if rules.get("marketing_consent") is not None:
        conditions.append(Contact.marketing_consent.is_(bool(rules["marketing_consent"])))
    return conditions


def segment_condition(workspace: Workspace, segment: Segment) -> ColumnElement:
    """One condition on the segment's target model (Company or Contact)."""
    build = company_conditions if segment.target == "company" else contact_conditions
    conditions = build(workspace, segment.rules or {})
    return and_(*conditions) if conditions else true()


def members_query(workspace: Workspace, segment: Segment):
    """A SELECT of the segment's members, ordered by name."""
    if segment.target == "contact":
        return (
            scoped(Contact, workspace)
            .where(segment_condition(workspace, segment))
            .options(selectinload(Contact.company))
            .order_by(Contact.last_name, Contact.first_name, Contact.id)
        )
    return scoped(Company, workspace).where(segment_condition(workspace, segment)).order_by(Company.name, Company.id)


def members_page(workspace: Workspace, segment: Segment, page: int = 1) -> Page:
    """One page of the segment's current members, with their count and (for companies) total potential."""
    result = paginate(members_query(workspace, segment), page)
    if segment.target == "company":
        result.extra["potential_total"] = session().scalar(
            select(func.coalesce(func.sum(Company.potential_value), 0))
            .where(Company.workspace_id == workspace.id, segment_condition(workspace, segment))
        )
    return result


def _snapshot(segment: Segment) -> dict[str, Any]:
    return {
        "name": segment.name, "target": segment.target, "sales_goal": segment.sales_goal,
        "product": segment.product, "description": segment.description, "rules": segment.rules,
    }


def _check_name(workspace: Workspace, name: str, exclude_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise SegmentError(_l("Give the segment a name."), "name")
    # Compared in Python: SQLite's lower() leaves Polish capitals as they are (see textcase).
    stmt = scoped(Segment, workspace).with_only_columns(Segment.name)
    if exclude_id is not None:
        stmt = stmt.where(Segment.id != exclude_id)
    if any(name_key(taken) == name_key(name) for taken in session().scalars(stmt)):
        raise SegmentError(_l("A segment with this name already exists."), "name")
    return name


def create_segment(workspace: Workspace, *, name: str, target: str = "company", rules: dict[str, Any],
                   sales_goal: str | None = None, product: str | None = None,
                   description: str | None = None) -> Segment:
    """Save a new segment and record it."""
    if target not in TARGETS:
        raise SegmentError(_l("Choose companies or contacts."), "target")
    segment = Segment(
        workspace_id=workspace.id, name=_check_name(workspace, name), target=target, rules=clean_rules(rules),
        sales_goal=(sales_goal or "").strip() or None, product=(product or "").strip() or None,
        description=(description or "").strip() or None,
    )
    session().add(segment)
    session().flush()
    record(workspace, "create", "segment", segment.id, segment.name, {"diff": diff({}, _snapshot(segment))})
    return segment


def update_segment(workspace: Workspace, segment: Segment, *, name: str, target: str, rules: dict[str, Any],
                   sales_goal: str | None = None, product: str | None = None,
                   description: str | None = None) -> dict:
    """Change a segment; returns and records the diff."""
    if target not in TARGETS:
        raise SegmentError(_l("Choose companies or contacts."), "target")
    before = _snapshot(segment)
    segment.name = _check_name(workspace, name, segment.id)
    segment.target = target
    segment.rules = clean_rules(rules)
    segment.sales_goal = (sales_goal or "").strip() or None
    segment.product = (product or "").strip() or None
    segment.description = (description or "").strip() or None
    changes = diff(before, _snapshot(segment))
    if changes:
        record(workspace, "update", "segment", segment.id, segment.name, {"diff": changes})
    return changes


def delete_segment(workspace: Workspace, segment: Segment) -> None:
    """Delete a saved segment (its customers stay) and record it."""
    record(workspace, "delete", "segment", segment.id, segment.name, {"diff": diff(_snapshot(segment), {})})
    session().delete(segment)


def list_segments(workspace: Workspace) -> list[Segment]:
    return list(session().scalars(scoped(Segment, workspace).order_by(Segment.name)))


def describe_rules(rules: dict[str, Any]) -> list[tuple[str, str]]:
    """The rules as (label, value) pairs for display."""
    out: list[tuple[Any, str]] = []
    labels = {"industries": _l("Industry"), "sizes": _l("Size"), "regions": _l("Region"), "tags": _l("Tags")}
    for key, label in labels.items():
        if rules.get(key):
            joiner = " + " if key == "tags" and rules.get("tag_mode") == "all" else ", "
            out.append((label, joiner.join(rules[key])))
    if rules.get("min_value") is not None:
        out.append((_l("Potential value from"), rules["min_value"]))
    if rules.get("max_value") is not None:
        out.append((_l("Potential value to"), rules["max_value"]))
    if rules.get("marketing_consent") is not None:
        out.append((_l("Marketing consent"), str(_l("yes") if rules["marketing_consent"] else _l("no"))))
    return out
