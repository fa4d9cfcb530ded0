"""Products and services: the workspace's price list (net unit price, VAT rate, unit, kind, active).

Functions flush but never commit: the view commits once per request. Every change
is recorded in the action log with its diff.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_

from ..actionlog import diff, record
from ..host import session
from ..models import Product, Workspace
from ..models.offers import PRODUCT_KINDS, VAT_RATES
from ..pagination import Page, paginate
from ..registry import seeder
from ..scoping import scoped
from ..textcase import unicode_lower

PRODUCT_FIELDS = ("name", "sku", "kind", "unit", "unit_price", "vat_rate", "description", "active")
MAX_PRICE = Decimal("999999999999.99")

KIND_LABELS = {"product": _l("Product"), "service": _l("Service")}
VAT_LABELS = {"23": "23%", "8": "8%", "5": "5%", "0": "0%", "zw": _l("exempt (zw)")}


class ProductError(ValueError):
    """Product data that cannot be saved; ``errors`` maps a field to the reason."""

    def __init__(self, errors: dict[str, Any]):
        super().__init__("; ".join(f"{k}: {e}" for k, e in errors.items()))
        self.errors = errors


def parse_decimal(value: Any) -> Decimal | None:
    """A Decimal from a number or a text typed the Polish way ("1 234,50"); ``None`` if not a number."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def clean_product_data(data: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise product fields (raises :class:`ProductError` with every bad field)."""
    clean: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = _("Enter the product or service name.")
    elif len(name) > 200:
        errors["name"] = _("The name may have at most 200 characters.")
    clean["name"] = name
    sku = (data.get("sku") or "").strip()
    if len(sku) > 60:
        errors["sku"] = _("The code may have at most 60 characters.")
    clean["sku"] = sku or None
    kind = data.get("kind") or "product"
    if kind not in PRODUCT_KINDS:
        errors["kind"] = _("Choose product or service.")
    clean["kind"] = kind
    unit = (data.get("unit") or "").strip()
    if not unit:
        errors["unit"] = _("Enter the unit, e.g. szt., godz., usł.")
    elif len(unit) > 20:
        errors["unit"] = _("The unit may have at most 20 characters.")
    clean["unit"] = unit
    price = parse_decimal(data.get("unit_price"))
    if price is None:
        errors["unit_price"] = _("Enter the net unit price as a number, e.g. 1200,00.")
    elif price < 0 or price > MAX_PRICE:
        errors["unit_price"] = _("The price must be between 0 and 999 999 999 999,99.")
    else:
        price = price.quantize(Decimal("0.01"))
    clean["unit_price"] = price
    vat = str(data.get("vat_rate") if data.get("vat_rate") is not None else "23").strip().rstrip("%")
    if vat not in VAT_RATES:
        errors["vat_rate"] = _("Choose a VAT rate: 23, 8, 5, 0 or zw.")
    clean["vat_rate"] = vat
    clean["description"] = (data.get("description") or "").strip() or None
    clean["active"] = bool(data.get("active", True))
    if errors:
        raise ProductError(errors)
    return clean


def snapshot(product: Product) -> dict[str, Any]:
    """The product's fields as JSON-friendly values (for diffs)."""
    return {
        "name": product.name, "sku": product.sku, "kind": product.kind, "unit": product.unit,
        "unit_price": None if product.unit_price is None else str(product.unit_price),
        "vat_rate": product.vat_rate, "description": product.description, "active": product.active,
    }


def _check_sku_free(workspace: Workspace, sku: str | None, product_id: int | None = None) -> None:
    if not sku:
        return
    stmt = scoped(Product, workspace).where(Product.sku == sku)
    if product_id is not None:
        stmt = stmt.where(Product.id != product_id)
    if session().scalar(stmt.limit(1)) is not None:
        raise ProductError({"sku": _("Another product already has this code.")})


def create_product(workspace: Workspace, data: dict[str, Any], *, log: bool = True) -> Product:
    """Add a product or service to the price list."""
    clean = clean_product_data(data)
    _check_sku_free(workspace, clean["sku"])
    product = Product(workspace_id=workspace.id, **clean)
    session().add(product)
    session().flush()
    if log:
        record(workspace, "create", "product", product.id, product.name, {"diff": diff({}, snapshot(product))})
    return product


def update_product(workspace: Workspace, product: Product, data: dict[str, Any]) -> dict:
    """Change a product's fields; returns and records the diff."""
    clean = clean_product_data({**snapshot(product), **data})
    _check_sku_free(workspace, clean["sku"], product.id)
    before = snapshot(product)
    for key, value in clean.items():
        setattr(product, key, value)
    changes = diff(before, snapshot(product))
    if changes:
        session().flush()
        record(workspace, "update", "product", product.id, product.name, {"diff": changes})
    return changes


def delete_product(workspace: Workspace, product: Product) -> None:
    """Remove a product from the price list (offer lines keep their copied name and price)."""
    record(workspace, "delete", "product", product.id, product.name, {"diff": diff(snapshot(product), {})})
    session().delete(product)
    session().flush()


def list_products(workspace: Workspace, *, q: str = "", kind: str = "", active: str = "",
                  page: int = 1) -> Page:
    """One page of the price list, filtered by text (name, code), kind and active flag."""
    stmt = scoped(Product, workspace)
    if q:
        pattern = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(unicode_lower(Product.name).like(pattern), unicode_lower(Product.sku).like(pattern)))
    if kind in PRODUCT_KINDS:
        stmt = stmt.where(Product.kind == kind)
    if active in ("1", "0"):
        stmt = stmt.where(Product.active.is_(active == "1"))
    return paginate(stmt.order_by(Product.name, Product.id), page)


def active_products(workspace: Workspace) -> list[Product]:
    """Active products, by name (choices when adding offer lines)."""
    return list(session().scalars(scoped(Product, workspace).where(Product.active.is_(True))
                                  .order_by(Product.name, Product.id)))


@seeder("products", order=15)
def seed_products(workspace: Workspace, rows: list, context: dict) -> None:
    """Load the scenario's price list; products are left in ``context["products"][key or sku or name]``."""
    products = context.setdefault("products", {})
    for row in rows:
        product = create_product(workspace, row, log=False)
        products[row.get("key") or product.sku or product.name] = product
