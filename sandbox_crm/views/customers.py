"""Companies and contacts: lists, detail pages with history, forms, tags, notes, RODO actions."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..blueprint import bp
from ..forms.common import ConfirmForm, edit_form
from ..forms.customers import CompanyForm, ContactForm, NoteForm, TagForm
from ..host import session
from ..models import Company, Contact, Tag
from ..params import ID, PAGE, Choice, Flag, Text, params
from ..registry import register_nav
from ..scoping import get_or_404, scoped
from ..services import customers as service
from ..services.segments import list_segments
from .helpers import attach_errors, company_reference, resolve_company

register_nav("sandbox.companies", _l("Companies"), 10)
register_nav("sandbox.contacts", _l("Contacts"), 20)



def _common_choices() -> dict[str, Any]:
    ws = g.workspace
    return {
        "tags": list(session().scalars(scoped(Tag, ws).order_by(Tag.name))),
        "segments": list_segments(ws),
        "sizes": service.SIZES,
        "regions": service.REGIONS,
    }


# --- companies ------------------------------------------------------------------------------

@bp.route("/w/<int:ws_id>/companies")
@params(q=Text(max=200), industry=Text(max=100), size=Text(max=20), region=Text(max=60), tag=ID, segment=ID,
        incomplete=Choice(service.PROFILES), duplicates=Flag(), sort=Choice(service.COMPANY_SORTS, default="name"),
        page=PAGE)
def companies(q: str, industry: str, size: str, region: str, tag: int | None, segment: int | None, incomplete: str,
              duplicates: bool, sort: str, page: int):
    filters = service.CompanyFilters(q=q, industry=industry, size=size, region=region, tag=tag, segment=segment,
                                     incomplete=incomplete, duplicates=duplicates, sort=sort)
    rows = service.list_companies(g.workspace, filters, page)
    session().commit()
    return render_template(
        "sandbox_crm/companies/list.html", page=rows, filters=filters, profiles=service.PROFILES,
        industries=service.distinct_values(g.workspace, Company.industry), size_labels=service.SIZE_LABELS,
        **_common_choices(),
    )


def _company_data(form: CompanyForm) -> dict[str, Any]:
    return {key: getattr(form, key).data for key in service.COMPANY_FIELDS}


def _company_form_page(form: CompanyForm, company: Company | None, duplicates=()):
    return render_template(
        "sandbox_crm/companies/form.html", form=form, company=company, duplicates=duplicates,
        industries=service.distinct_values(g.workspace, Company.industry),
    )


@bp.route("/w/<int:ws_id>/companies/new", methods=["GET", "POST"])
def company_new():
    form = CompanyForm()
    duplicates = []
    if form.validate_on_submit():
        data = _company_data(form)
        clean, errors = service.clean_company_data(data)
        if errors:
            attach_errors(form, errors)
        else:
            duplicates = service.company_duplicates_to_confirm(g.workspace, clean)
            if duplicates and not form.allow_duplicate.data:
                form.allow_duplicate.errors = [_("This looks like a company that already exists. Open it, or tick "
                                                 "this box to save a separate account.")]
            else:
                company = service.create_company(g.workspace, data, service.parse_tags(form.tags.data))
                session().commit()
                flash(_("Company %(name)s created.", name=company.name), "success")
                return redirect(url_for("sandbox.company", company_id=company.id))
    return _company_form_page(form, None, duplicates)


@bp.route("/w/<int:ws_id>/companies/<int:company_id>")
@params(profile=Choice(service.PROFILES, default="offer").named("goal"))
def company(company_id: int, profile: str):
    row = get_or_404(Company, g.workspace, company_id)
    return render_template(
        "sandbox_crm/companies/detail.html", company=row, history=service.company_history(g.workspace, row),
        duplicates=service.find_company_duplicates(g.workspace, name=row.name, nip=row.nip, email=row.email,
                                                   exclude_id=row.id),
        completeness=service.completeness(row), profile=profile, profiles=service.PROFILES,
        note_form=NoteForm(), tag_form=TagForm(), size_labels=service.SIZE_LABELS,
        contact_flags={c.id: service.contact_flags(c) for c in row.contacts},
        legal_basis_labels=service.LEGAL_BASIS_LABELS, event_kinds=dict(service.EVENT_KINDS),
    )


@bp.route("/w/<int:ws_id>/companies/<int:company_id>/edit", methods=["GET", "POST"])
def company_edit(company_id: int):
    row = get_or_404(Company, g.workspace, company_id)
    form = edit_form(CompanyForm, row)
    form.keep_region(row.region)
    if request.method == "GET":
        form.tags.data = ", ".join(t.name for t in row.tags)
        form.potential_value.data = "" if row.potential_value is None else str(row.potential_value)
    duplicates = []
    if form.validate_on_submit():
        data = _company_data(form)
        clean, errors = service.clean_company_data(data)
        if errors:
            attach_errors(form, errors)
        else:
            duplicates = service.company_duplicates_to_confirm(g.workspace, clean, row)
            if duplicates and not form.allow_duplicate.data:
                form.allow_duplicate.errors = [_("After this change the company looks like another one. Tick this "
                                                 "box to save anyway.")]
            else:
                changes = service.update_company(g.workspace, row, data, service.parse_tags(form.tags.data))
                session().commit()
                flash(_("Saved.") if changes else _("Nothing changed."), "success")
                return redirect(url_for("sandbox.company", company_id=row.id))
    return _company_form_page(form, row, duplicates)


@bp.route("/w/<int:ws_id>/companies/<int:company_id>/delete", methods=["POST"])
def company_delete(company_id: int):
    row = get_or_404(Company, g.workspace, company_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.delete_company(g.workspace, row)
    except service.CustomerError as error:
        session().rollback()
        attach_errors(None, error.errors)
        return redirect(url_for("sandbox.company", company_id=company_id))
    session().commit()
    flash(_("Company deleted."), "success")
    return redirect(url_for("sandbox.companies"))


@bp.route("/w/<int:ws_id>/companies/<int:company_id>/tags", methods=["POST"])
def company_tag_add(company_id: int):
    row = get_or_404(Company, g.workspace, company_id)
    return _tag_add(row, url_for("sandbox.company", company_id=row.id))


@bp.route("/w/<int:ws_id>/companies/<int:company_id>/tags/<int:tag_id>/remove", methods=["POST"])
def company_tag_remove(company_id: int, tag_id: int):
    row = get_or_404(Company, g.workspace, company_id)
    return _tag_remove(row, tag_id, url_for("sandbox.company", company_id=row.id))


@bp.route("/w/<int:ws_id>/companies/<int:company_id>/notes", methods=["POST"])
def company_note(company_id: int):
    row = get_or_404(Company, g.workspace, company_id)
    return _note(row, url_for("sandbox.company", company_id=row.id))


@bp.route("/w/<int:ws_id>/companies/lookup.json")
@params(q=Text(max=100))
def company_lookup(q: str):
    """Company names for the company picker of the contact form."""
    rows = service.company_choices(g.workspace, q)
    return jsonify([{"id": c.id, "name": c.name, "nip": c.nip, "city": c.city} for c in rows])


def _tag_add(row, back: str):
    form = TagForm()
    if form.validate_on_submit():
        try:
            service.add_tag(g.workspace, row, form.name.data)
        except service.CustomerError as error:
            attach_errors(None, error.errors)
        else:
            session().commit()
            flash(_("Tag added."), "success")
    else:
        for message in form.name.errors:
            flash(message, "error")
    return redirect(back)


def _tag_remove(row, tag_id: int, back: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    get_or_404(Tag, g.workspace, tag_id)
    service.remove_tag(g.workspace, row, tag_id)
    session().commit()
    flash(_("Tag removed."), "success")
    return redirect(back)


def _note(row, back: str):
    form = NoteForm()
    if form.validate_on_submit():
        service.add_note(g.workspace, row, form.kind.data, form.text.data)
        session().commit()
        flash(_("Added to the history."), "success")
    else:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
    return redirect(back)


# --- contacts -------------------------------------------------------------------------------

@bp.route("/w/<int:ws_id>/contacts")
@params(q=Text(max=200), company=ID, legal_basis=Choice([*service.LEGAL_BASIS_LABELS, "none"]),
        consent=Choice(["yes", "no"]), tag=ID, segment=ID, incomplete=Flag(), duplicates=Flag(), page=PAGE)
def contacts(q: str, company: int | None, legal_basis: str, consent: str, tag: int | None, segment: int | None,
             incomplete: bool, duplicates: bool, page: int):
    filters = service.ContactFilters(q=q, company=company, legal_basis=legal_basis, consent=consent, tag=tag,
                                     segment=segment, incomplete=incomplete, duplicates=duplicates)
    company_filter = session().scalar(scoped(Company, g.workspace).where(Company.id == filters.company)) \
        if filters.company else None
    if company_filter is None:
        filters.company = None  # an id that is not a company of this workspace filters nothing
    rows = service.list_contacts(g.workspace, filters, page)
    session().commit()
    return render_template(
        "sandbox_crm/contacts/list.html", page=rows, filters=filters, company_filter=company_filter,
        legal_bases=service.LEGAL_BASES, legal_basis_labels=service.LEGAL_BASIS_LABELS,
        flags={c.id: service.contact_flags(c) for c in rows.items}, **_common_choices(),
    )


def _contact_data(form: ContactForm, company_id: int | None) -> dict[str, Any]:
    data = {key: getattr(form, key).data for key in service.CONTACT_FIELDS if key != "company_id"}
    data["company_id"] = company_id
    return data


def _contact_form_page(form: ContactForm, contact: Contact | None, duplicates=()):
    return render_template("sandbox_crm/contacts/form.html", form=form, contact=contact, duplicates=duplicates,
                           companies=service.company_choices(g.workspace, limit=200))


@bp.route("/w/<int:ws_id>/contacts/new", methods=["GET", "POST"])
@params(company_id=ID)
def contact_new(company_id: int | None):
    """A new contact; a link from a company's page presets the company."""
    form = ContactForm()
    if company_id and request.method == "GET":
        preset = get_or_404(Company, g.workspace, company_id)
        form.company.data = company_reference(preset)
    duplicates = []
    if form.validate_on_submit():
        ok, company = resolve_company(form.company)
        company_id = company.id if company is not None else None
        data = _contact_data(form, company_id)
        clean, errors = service.clean_contact_data(data)
        if errors:
            attach_errors(form, errors)
        elif ok:
            duplicates = service.contact_duplicates_to_confirm(g.workspace, clean, company_id)
            if duplicates and not form.allow_duplicate.data:
                form.allow_duplicate.errors = [_("This looks like a person who is already recorded. Open them, or "
                                                 "tick this box to save a separate contact.")]
            else:
                contact = service.create_contact(g.workspace, data, service.parse_tags(form.tags.data))
                session().commit()
                flash(_("Contact %(name)s created.", name=contact.full_name), "success")
                return redirect(url_for("sandbox.contact", contact_id=contact.id))
    return _contact_form_page(form, None, duplicates)


@bp.route("/w/<int:ws_id>/contacts/<int:contact_id>")
def contact(contact_id: int):
    row = get_or_404(Contact, g.workspace, contact_id)
    return render_template(
        "sandbox_crm/contacts/detail.html", contact=row, history=service.contact_history(g.workspace, row),
        duplicates=service.find_contact_duplicates(g.workspace, first_name=row.first_name, last_name=row.last_name,
                                                   email=row.email, pesel=row.pesel, company_id=row.company_id,
                                                   exclude_id=row.id),
        flags=service.contact_flags(row), legal_basis_labels=service.LEGAL_BASIS_LABELS,
        note_form=NoteForm(), tag_form=TagForm(), event_kinds=dict(service.EVENT_KINDS),
    )


@bp.route("/w/<int:ws_id>/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
def contact_edit(contact_id: int):
    row = get_or_404(Contact, g.workspace, contact_id)
    form = edit_form(ContactForm, row)
    if request.method == "GET":
        form.tags.data = ", ".join(t.name for t in row.tags)
        form.company.data = company_reference(row.company)
        form.consent_at.data = row.consent_at.date() if row.consent_at else None
        form.legal_basis.data = row.legal_basis or ""
    duplicates = []
    if form.validate_on_submit():
        ok, company = resolve_company(form.company)
        company_id = company.id if company is not None else None
        data = _contact_data(form, company_id)
        if row.consent_at is not None and form.consent_at.data == row.consent_at.date():
            data["consent_at"] = row.consent_at  # keep the stored time of day
        clean, errors = service.clean_contact_data(data)
        if errors:
            attach_errors(form, errors)
        elif ok:
            duplicates = service.contact_duplicates_to_confirm(g.workspace, clean, company_id, row)
            if duplicates and not form.allow_duplicate.data:
                form.allow_duplicate.errors = [_("After this change the contact looks like another one. Tick this "
                                                 "box to save anyway.")]
            else:
                changes = service.update_contact(g.workspace, row, data, service.parse_tags(form.tags.data))
                session().commit()
                flash(_("Saved.") if changes else _("Nothing changed."), "success")
                return redirect(url_for("sandbox.contact", contact_id=row.id))
    return _contact_form_page(form, row, duplicates)


@bp.route("/w/<int:ws_id>/contacts/<int:contact_id>/delete", methods=["POST"])
def contact_delete(contact_id: int):
    row = get_or_404(Contact, g.workspace, contact_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        service.delete_contact(g.workspace, row)
    except service.CustomerError as error:
        session().rollback()
        attach_errors(None, error.errors)
        return redirect(url_for("sandbox.contact", contact_id=contact_id))
    session().commit()
    flash(_("Contact deleted."), "success")
    return redirect(url_for("sandbox.contacts"))


@bp.route("/w/<int:ws_id>/contacts/<int:contact_id>/withdraw-consent", methods=["POST"])
def contact_withdraw_consent(contact_id: int):
    row = get_or_404(Contact, g.workspace, contact_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if service.withdraw_consent(g.workspace, row):
        session().commit()
        flash(_("Marketing consent withdrawn. The contact will no longer get marketing messages."), "success")
    else:
        flash(_("This contact has no marketing consent to withdraw."), "info")
    return redirect(url_for("sandbox.contact", contact_id=row.id))


@bp.route("/w/<int:ws_id>/contacts/<int:contact_id>/tags", methods=["POST"])
def contact_tag_add(contact_id: int):
    row = get_or_404(Contact, g.workspace, contact_id)
    return _tag_add(row, url_for("sandbox.contact", contact_id=row.id))


@bp.route("/w/<int:ws_id>/contacts/<int:contact_id>/tags/<int:tag_id>/remove", methods=["POST"])
def contact_tag_remove(contact_id: int, tag_id: int):
    row = get_or_404(Contact, g.workspace, contact_id)
    return _tag_remove(row, tag_id, url_for("sandbox.contact", contact_id=row.id))


@bp.route("/w/<int:ws_id>/contacts/<int:contact_id>/notes", methods=["POST"])
def contact_note(contact_id: int):
    row = get_or_404(Contact, g.workspace, contact_id)
    return _note(row, url_for("sandbox.contact", contact_id=row.id))

