"""Offer templates, offers (lines, generate, PDF, send) and the sandbox outbox."""
from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..blueprint import bp
from ..forms.choices import choices, choices_of
from ..forms.common import ConfirmForm, edit_form
from ..forms.offers import OfferForm, OfferLineForm, OfferTemplateForm, SendOfferForm
from ..host import host, session
from ..models import Company, Contact, Offer, OfferTemplate, OutboxMessage
from ..params import ID, PAGE, Choice, Present, form_params, params, parse_id
from ..registry import register_nav
from ..scoping import get_or_404
from ..services import offers as service
from ..services import products as product_service
from ..services import templating
from .helpers import attach_errors

register_nav("sandbox.offer_templates", _l("Offer templates"), 72)
register_nav("sandbox.offers", _l("Offers"), 74)
register_nav("sandbox.outbox", _l("Outbox"), 76)


def may_log() -> bool:
    """Whether a read (download, report) by the current user belongs in the workspace's log.

    Someone who may only look (an examiner, or anyone once the workspace is
    frozen) leaves no statements in the candidate's log.
    """
    workspace = g.workspace
    return not workspace.is_frozen and host().can_access(workspace, True)


# --------------------------------------------------------------------------- templates


@bp.route("/w/<int:ws_id>/offer-templates")
def offer_templates():
    return render_template("sandbox_crm/offers/templates.html", templates=service.list_templates(g.workspace))


def _template_page(form: OfferTemplateForm, template: OfferTemplate | None, preview=None):
    return render_template("sandbox_crm/offers/template_form.html", form=form, template=template, preview=preview,
                           palette=templating.palette(), rules=templating.RULES,
                           preview_doc=service.document_html(preview.html, "") if preview and preview.ok else None)


def _template_data(form: OfferTemplateForm) -> dict[str, Any]:
    return {"name": form.name.data, "description": form.description.data, "body": form.body.data or "",
            "validity_days": form.validity_days.data}


@bp.route("/w/<int:ws_id>/offer-templates/new", methods=["GET", "POST"])
@form_params(preview=Present())
def offer_template_new(preview: bool):
    form = OfferTemplateForm()
    if request.method == "GET":
        form.body.data = service.DEFAULT_TEMPLATE_BODY
    if form.validate_on_submit():
        if preview:
            return _template_page(form, None, service.preview_template(form.body.data or ""))
        try:
            template = service.create_template(g.workspace, _template_data(form))
        except service.OfferError as exc:
            attach_errors(form, exc.errors)
        else:
            session().commit()
            flash(_("Template %(name)s saved.", name=template.name), "success")
            return redirect(url_for("sandbox.offer_template_edit", template_id=template.id))
    return _template_page(form, None)


@bp.route("/w/<int:ws_id>/offer-templates/<int:template_id>", methods=["GET", "POST"])
@form_params(preview=Present())
def offer_template_edit(template_id: int, preview: bool):
    template = get_or_404(OfferTemplate, g.workspace, template_id)
    form = edit_form(OfferTemplateForm, template)
    if form.validate_on_submit():
        if preview:
            return _template_page(form, template, service.preview_template(form.body.data or ""))
        try:
            service.update_template(g.workspace, template, _template_data(form))
        except service.OfferError as exc:
            attach_errors(form, exc.errors)
        else:
            session().commit()
            flash(_("Template saved."), "success")
            return redirect(url_for("sandbox.offer_template_edit", template_id=template.id))
    shown = service.preview_template(template.body) if request.method == "GET" else None
    return _template_page(form, template, shown)


@bp.route("/w/<int:ws_id>/offer-templates/<int:template_id>/delete", methods=["POST"])
def offer_template_delete(template_id: int):
    template = get_or_404(OfferTemplate, g.workspace, template_id)
    if ConfirmForm().validate_on_submit():
        service.delete_template(g.workspace, template)
        session().commit()
        flash(_("Template %(name)s deleted.", name=template.name), "success")
    return redirect(url_for("sandbox.offer_templates"))


# --------------------------------------------------------------------------- offers


@bp.route("/w/<int:ws_id>/offers")
@params(status=Choice(service.OFFER_STATUSES), company_id=ID, page=PAGE)
def offers(status: str, company_id: int | None, page: int):
    rows = service.list_offers(g.workspace, status=status, company_id=company_id, page=page)
    return render_template("sandbox_crm/offers/list.html", page=rows, status=status,
                           status_labels=service.STATUS_LABELS, format_money=service.format_money,
                           companies=service.company_names(g.workspace, [o.company_id for o in rows.items]))


def _fill_choices(form: OfferForm, company_id: int | None) -> None:
    recipients = service.recipient_choices(g.workspace, company_id)
    none = [("", _("— choose —"))]
    form.company_id.choices = choices(none + [(str(i), label) for i, label in recipients["companies"]])
    form.contact_id.choices = choices([("", _("— none —"))] + [(str(i), label) for i, label in recipients["contacts"]])
    form.opportunity_id.choices = choices([("", _("— none —"))] + [(str(i), label) for i, label in recipients["opportunities"]])
    form.template_id.choices = choices(none + [(str(i), label) for i, label in recipients["templates"]])


def _offer_data(form: OfferForm) -> dict[str, Any]:
    return {key: getattr(form, key).data for key in service.OFFER_FIELDS}


@bp.route("/w/<int:ws_id>/offers/new", methods=["GET", "POST"])
@params(company_id=ID, contact_id=ID, opportunity_id=ID)
@form_params(reload=Present())
def offer_new(company_id: int | None, contact_id: int | None, opportunity_id: int | None, reload: bool):
    """A new offer; a link may preset its customer, contact and opportunity. "Reload" (the customer
    changed) only refreshes the choices."""
    form = OfferForm()
    if request.method == "POST":
        company_id = parse_id(form.company_id.data)
    _fill_choices(form, company_id)
    if request.method == "GET":
        form.company_id.data = str(company_id or "")
        form.contact_id.data = str(contact_id or "")
        form.opportunity_id.data = str(opportunity_id or "")
        templates = choices_of(form.template_id)
        if len(templates) == 2:
            form.template_id.data = templates[1].value
    if not reload and form.validate_on_submit():
        try:
            offer = service.create_offer(g.workspace, _offer_data(form))
        except service.OfferError as exc:
            attach_errors(form, exc.errors)
        else:
            session().commit()
            flash(_("Offer %(number)s created. Add its lines.", number=offer.number), "success")
            return redirect(url_for("sandbox.offer", offer_id=offer.id))
    return render_template("sandbox_crm/offers/form.html", form=form, offer=None)


@bp.route("/w/<int:ws_id>/offers/<int:offer_id>/edit", methods=["GET", "POST"])
@form_params(reload=Present())
def offer_edit(offer_id: int, reload: bool):
    offer = get_or_404(Offer, g.workspace, offer_id)
    form = edit_form(OfferForm, offer)
    company_id = parse_id(form.company_id.data) if request.method == "POST" else offer.company_id
    _fill_choices(form, company_id)
    if request.method == "GET":
        for key in ("company_id", "contact_id", "opportunity_id", "template_id"):
            getattr(form, key).data = str(getattr(offer, key) or "")
    if not reload and form.validate_on_submit():
        try:
            service.update_offer(g.workspace, offer, _offer_data(form))
        except service.OfferError as exc:
            attach_errors(form, exc.errors)
        else:
            session().commit()
            flash(_("Offer saved."), "success")
            return redirect(url_for("sandbox.offer", offer_id=offer.id))
    return render_template("sandbox_crm/offers/form.html", form=form, offer=offer)


def _line_form() -> OfferLineForm:
    form = OfferLineForm()
    form.product_id.choices = choices([("", _("— choose —"))] + [
        (str(p.id), f"{p.name} ({service.format_money(p.unit_price)} / {p.unit})")
        for p in product_service.active_products(g.workspace)])
    return form


def _offer_page(offer: Offer, line_form: OfferLineForm | None = None, problems=None, send_form=None):
    company = session().get(Company, offer.company_id) if offer.company_id else None
    contact = session().get(Contact, offer.contact_id) if offer.contact_id else None
    template = session().get(OfferTemplate, offer.template_id) if offer.template_id else None
    return render_template(
        "sandbox_crm/offers/detail.html", offer=offer, company=company, contact=contact, template=template,
        line_form=line_form or _line_form(), problems=problems or [],
        totals=service.offer_totals(offer.lines), amounts=service.line_amounts, fmt=service.format_money,
        qty=service.format_quantity, status_labels=service.STATUS_LABELS,
        messages=service.offer_messages(g.workspace, offer),
    )


@bp.route("/w/<int:ws_id>/offers/<int:offer_id>")
def offer(offer_id: int):
    return _offer_page(get_or_404(Offer, g.workspace, offer_id))


@bp.route("/w/<int:ws_id>/offers/<int:offer_id>/lines", methods=["POST"])
def offer_line_add(offer_id: int):
    offer = get_or_404(Offer, g.workspace, offer_id)
    form = _line_form()
    if form.validate_on_submit():
        try:
            service.add_line(g.workspace, offer, {key: getattr(form, key).data for key in
                                                  ("product_id", "name", "quantity", "discount_pct", "unit_price",
                                                   "vat_rate")})
        except service.OfferError as exc:
            attach_errors(form, exc.errors)
        else:
            session().commit()
            flash(_("Line added."), "success")
            return redirect(url_for("sandbox.offer", offer_id=offer.id))
    return _offer_page(offer, line_form=form), 400


@bp.route("/w/<int:ws_id>/offers/<int:offer_id>/lines/<int:line_id>/delete", methods=["POST"])
def offer_line_remove(offer_id: int, line_id: int):
    offer = get_or_404(Offer, g.workspace, offer_id)
    if ConfirmForm().validate_on_submit():
        try:
            service.remove_line(g.workspace, offer, line_id)
        except service.OfferError as exc:
            if "line" in exc.errors:
                abort(404)
            for message in exc.errors.values():
                flash(str(message), "error")
        else:
            session().commit()
            flash(_("Line removed."), "success")
    return redirect(url_for("sandbox.offer", offer_id=offer.id))


@bp.route("/w/<int:ws_id>/offers/<int:offer_id>/generate", methods=["POST"])
def offer_generate(offer_id: int):
    offer = get_or_404(Offer, g.workspace, offer_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("sandbox.offer", offer_id=offer.id))
    try:
        result = service.generate_offer(g.workspace, offer)
    except service.OfferError as exc:
        for message in exc.errors.values():
            flash(str(message), "error")
        return redirect(url_for("sandbox.offer", offer_id=offer.id))
    if not result.ok:
        return _offer_page(offer, problems=result.problems), 400
    session().commit()
    flash(_("Offer generated: the PDF is ready."), "success")
    return redirect(url_for("sandbox.offer", offer_id=offer.id))


@bp.route("/w/<int:ws_id>/offers/<int:offer_id>/document")
def offer_document(offer_id: int):
    """The generated HTML, shown in a sandboxed frame (no scripts, no same-origin access)."""
    offer = get_or_404(Offer, g.workspace, offer_id)
    if not offer.html:
        abort(404)
    response = Response(offer.html, mimetype="text/html")
    # The offer page frames this document, so it says itself that its own site may frame it: a
    # host that denies framing by default (X-Frame-Options: DENY) would leave the frame empty.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'")
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.route("/w/<int:ws_id>/offers/<int:offer_id>/pdf")
def offer_pdf(offer_id: int):
    offer = get_or_404(Offer, g.workspace, offer_id)
    if not offer.pdf:
        abort(404)
    if may_log():
        service.record_pdf_download(g.workspace, offer)
        session().commit()
    return Response(offer.pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{service.pdf_filename(offer)}"'})


@bp.route("/w/<int:ws_id>/offers/<int:offer_id>/send", methods=["GET", "POST"])
def offer_send(offer_id: int):
    offer = get_or_404(Offer, g.workspace, offer_id)
    form = SendOfferForm(data=service.default_message(offer) if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            message = service.send_offer(g.workspace, offer, to_address=form.to_address.data,
                                         subject=form.subject.data, body=form.body.data)
        except service.OfferError as exc:
            attach_errors(form, exc.errors)
        else:
            session().commit()
            flash(_("Offer sent to %(address)s and recorded in the customer's history.",
                    address=message.to_address), "success")
            return redirect(url_for("sandbox.offer", offer_id=offer.id))
    return render_template("sandbox_crm/offers/send.html", offer=offer, form=form)


@bp.route("/w/<int:ws_id>/offers/<int:offer_id>/outcome/<status>", methods=["POST"])
def offer_outcome(offer_id: int, status: str):
    offer = get_or_404(Offer, g.workspace, offer_id)
    if ConfirmForm().validate_on_submit():
        try:
            service.set_outcome(g.workspace, offer, status)
        except service.OfferError as exc:
            for message in exc.errors.values():
                flash(str(message), "error")
        else:
            session().commit()
            flash(_("Offer marked %(status)s.", status=service.STATUS_LABELS[status]), "success")
    return redirect(url_for("sandbox.offer", offer_id=offer.id))


@bp.route("/w/<int:ws_id>/offers/<int:offer_id>/delete", methods=["POST"])
def offer_delete(offer_id: int):
    offer = get_or_404(Offer, g.workspace, offer_id)
    if ConfirmForm().validate_on_submit():
        try:
            service.delete_offer(g.workspace, offer)
        except service.OfferError as exc:
            for message in exc.errors.values():
                flash(str(message), "error")
            return redirect(url_for("sandbox.offer", offer_id=offer.id))
        session().commit()
        flash(_("Offer deleted."), "success")
    return redirect(url_for("sandbox.offers"))


# --------------------------------------------------------------------------- outbox


@bp.route("/w/<int:ws_id>/outbox")
@params(page=PAGE)
def outbox(page: int):
    return render_template("sandbox_crm/offers/outbox.html", page=service.list_outbox(g.workspace, page))


@bp.route("/w/<int:ws_id>/outbox/<int:message_id>")
def outbox_message(message_id: int):
    message = get_or_404(OutboxMessage, g.workspace, message_id)
    return render_template("sandbox_crm/offers/message.html", message=message)
