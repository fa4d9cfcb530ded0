"""Products and services (the price list)."""
from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..blueprint import bp
from ..forms.common import ConfirmForm, edit_form
from ..forms.offers import ProductForm
from ..host import session
from ..models import Product
from ..params import PAGE, Choice, Text, params
from ..registry import register_nav
from ..scoping import get_or_404
from ..services import products as service
from .helpers import attach_errors

register_nav("sandbox.products", _l("Products and services"), 70)



def _data(form: ProductForm) -> dict[str, Any]:
    return {key: getattr(form, key).data for key in service.PRODUCT_FIELDS}


@bp.route("/w/<int:ws_id>/products")
@params(q=Text(max=200), kind=Choice(service.PRODUCT_KINDS), active=Choice(["1", "0"]), page=PAGE)
def products(q: str, kind: str, active: str, page: int):
    rows = service.list_products(g.workspace, q=q, kind=kind, active=active, page=page)
    return render_template("sandbox_crm/products/list.html", page=rows, q=q, kind=kind, active=active,
                           kind_labels=service.KIND_LABELS, vat_labels=service.VAT_LABELS)


@bp.route("/w/<int:ws_id>/products/new", methods=["GET", "POST"])
def product_new():
    form = ProductForm()
    if form.validate_on_submit():
        try:
            product = service.create_product(g.workspace, _data(form))
        except service.ProductError as exc:
            attach_errors(form, exc.errors)
        else:
            session().commit()
            flash(_("%(name)s added to the price list.", name=product.name), "success")
            return redirect(url_for("sandbox.products"))
    return render_template("sandbox_crm/products/form.html", form=form, product=None)


@bp.route("/w/<int:ws_id>/products/<int:product_id>/edit", methods=["GET", "POST"])
def product_edit(product_id: int):
    product = get_or_404(Product, g.workspace, product_id)
    form = edit_form(ProductForm, product)
    if request.method == "GET":
        form.unit_price.data = str(product.unit_price).replace(".", ",")
    if form.validate_on_submit():
        try:
            service.update_product(g.workspace, product, _data(form))
        except service.ProductError as exc:
            attach_errors(form, exc.errors)
        else:
            session().commit()
            flash(_("Saved."), "success")
            return redirect(url_for("sandbox.products"))
    return render_template("sandbox_crm/products/form.html", form=form, product=product)


@bp.route("/w/<int:ws_id>/products/<int:product_id>/delete", methods=["POST"])
def product_delete(product_id: int):
    product = get_or_404(Product, g.workspace, product_id)
    if ConfirmForm().validate_on_submit():
        service.delete_product(g.workspace, product)
        session().commit()
        flash(_("%(name)s removed from the price list.", name=product.name), "success")
    return redirect(url_for("sandbox.products"))
