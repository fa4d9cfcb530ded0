"""Segments: saved rule sets listing matching customers live, and the workspace's tags."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .. import models
from ..blueprint import bp
from ..forms.choices import choices
from ..forms.common import ConfirmForm, edit_form
from ..forms.customers import SegmentForm
from ..host import session
from ..models import Company, Segment
from ..params import PAGE, params
from ..registry import register_nav
from ..scoping import get_or_404, scoped
from ..services import customers as customer_service
from ..services import segments as service
from .helpers import attach_errors

register_nav("sandbox.segments", _l("Segments"), 30)


def _form(segment: Segment | None = None) -> SegmentForm:
    form = edit_form(SegmentForm, segment)
    form.industries.choices = choices((i, i) for i in customer_service.distinct_values(g.workspace, Company.industry))
    stored_regions = customer_service.distinct_values(g.workspace, Company.region)
    form.regions.choices = choices((r, r) for r in sorted(set(customer_service.REGIONS) | set(stored_regions)))
    form.tags.choices = choices((t.name, t.name) for t, _c, _p in customer_service.list_tags(g.workspace))
    if segment is not None and request.method == "GET":
        form.load_rules(segment.rules or {})
    return form


def _products() -> list[str]:
    """Names of the workspace's products, when the offers area provides them (a hint for the form)."""
    product = getattr(models, "Product", None)
    if product is None:
        return []
    return list(session().scalars(scoped(product, g.workspace).with_only_columns(product.name)
                                  .order_by(product.name).limit(200)))


def _save(form: SegmentForm, segment: Segment | None):
    data = {"name": form.name.data, "target": form.target.data, "rules": form.rules(), "sales_goal": form.sales_goal.data,
                "product": form.product.data, "description": form.description.data}
    try:
        if segment is None:
            segment = service.create_segment(g.workspace, **data)
        else:
            service.update_segment(g.workspace, segment, **data)
    except service.SegmentError as error:
        session().rollback()
        attach_errors(form, {error.field or "": str(error)})
        return None
    session().commit()
    flash(_("Segment saved."), "success")
    return redirect(url_for("sandbox.segment", segment_id=segment.id))


@bp.route("/w/<int:ws_id>/segments")
def segments():
    rows = service.list_segments(g.workspace)
    return render_template("sandbox_crm/segments/list.html", segments=rows, tags=customer_service.list_tags(g.workspace),
                           describe=service.describe_rules)


@bp.route("/w/<int:ws_id>/segments/new", methods=["GET", "POST"])
def segment_new():
    form = _form()
    if form.validate_on_submit():
        response = _save(form, None)
        if response is not None:
            return response
    return render_template("sandbox_crm/segments/form.html", form=form, segment=None, products=_products())


@bp.route("/w/<int:ws_id>/segments/<int:segment_id>")
@params(page=PAGE)
def segment(segment_id: int, page: int):
    row = get_or_404(Segment, g.workspace, segment_id)
    return render_template("sandbox_crm/segments/detail.html", segment=row, page=service.members_page(g.workspace, row, page),
                           rules=service.describe_rules(row.rules or {}), size_labels=customer_service.SIZE_LABELS)


@bp.route("/w/<int:ws_id>/segments/<int:segment_id>/edit", methods=["GET", "POST"])
def segment_edit(segment_id: int):
    row = get_or_404(Segment, g.workspace, segment_id)
    form = _form(row)
    if form.validate_on_submit():
        response = _save(form, row)
        if response is not None:
            return response
    return render_template("sandbox_crm/segments/form.html", form=form, segment=row, products=_products())


@bp.route("/w/<int:ws_id>/segments/<int:segment_id>/delete", methods=["POST"])
def segment_delete(segment_id: int):
    row = get_or_404(Segment, g.workspace, segment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    service.delete_segment(g.workspace, row)
    session().commit()
    flash(_("Segment deleted."), "success")
    return redirect(url_for("sandbox.segments"))
