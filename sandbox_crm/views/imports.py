"""Lead import: upload a CSV or paste a list, preview the mapped and verified rows, import the chosen ones."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..blueprint import bp
from ..forms.customers import ConfirmForm, PasteForm, UploadForm
from ..host import session
from ..models import ImportSource
from ..params import MAX_ID, Choice, Indexed, Many, Number, form_params, params
from ..registry import register_nav
from ..scoping import get_or_404
from ..services import imports as service

register_nav("sandbox.imports", _l("Import"), 25)


def _page(upload_form=None, paste_form=None, status: int = 200):
    return render_template(
        "sandbox_crm/imports/index.html", sources=service.list_sources(g.workspace),
        upload_form=upload_form or UploadForm(), paste_form=paste_form or PasteForm(),
        max_kb=service.max_upload_bytes() // 1000,
    ), status


@bp.route("/w/<int:ws_id>/import")
def imports():
    return _page()


@bp.route("/w/<int:ws_id>/import/upload", methods=["POST"])
def import_upload():
    form = UploadForm()
    if not form.validate_on_submit():
        return _page(upload_form=form, status=400)
    upload = form.file.data
    # Read one byte past the limit: enough to know the file is too big without reading it all.
    data = upload.stream.read(service.max_upload_bytes() + 1)
    try:
        text = service.read_upload(upload.filename or "", upload.mimetype, data)
        source = service.save_source(g.workspace, name=upload.filename or "upload.csv", kind="csv", content=text)
        service.parse_csv(text)
    except service.LeadImportError as error:
        session().rollback()
        form.file.errors = [str(error)]
        return _page(upload_form=form, status=400)
    session().commit()
    return redirect(url_for("sandbox.import_preview", source_id=source.id))


@bp.route("/w/<int:ws_id>/import/paste", methods=["POST"])
def import_paste():
    form = PasteForm()
    if not form.validate_on_submit():
        return _page(paste_form=form, status=400)
    try:
        source = service.save_source(g.workspace, name=form.name.data or _("Pasted list"), kind="pasted",
                                     content=form.text.data or "")  # (required: never empty here)
    except service.LeadImportError as error:
        session().rollback()
        form.text.errors = [str(error)]
        return _page(paste_form=form, status=400)
    session().commit()
    return redirect(url_for("sandbox.import_preview", source_id=source.id))


#: The column mapping sent with the preview: ``map_0``, ``map_1``, … (one per column) → a field.
MAPPING = Indexed("map_", Choice(service.FIELD_KEYS), limit=1000)


@bp.route("/w/<int:ws_id>/import/<int:source_id>", methods=["GET", "POST"])
@params(mapping=MAPPING)
@form_params(posted_mapping=MAPPING, rows=Many(Number(1, MAX_ID)).named("row"))
def import_preview(source_id: int, mapping: list[str] | None, posted_mapping: list[str] | None, rows: list[int]):
    """The rows of a source mapped and verified (GET: remap the columns), and importing the ticked ones (POST)."""
    source = get_or_404(ImportSource, g.workspace, source_id)
    if request.method == "POST":
        mapping = posted_mapping
    form = ConfirmForm()
    result = None
    if request.method == "POST" and form.validate_on_submit():
        selected = set(rows)
        try:
            result = service.import_rows(g.workspace, source, selected, mapping)
        except service.LeadImportError as error:
            flash(str(error), "error")
        else:
            session().commit()
            flash(_("Imported %(rows)d row(s): %(companies)d new companies, %(contacts)d new contacts.",
                    rows=len(result.imported_rows), companies=len(result.companies),
                    contacts=len(result.contacts)), "success")
            if result.skipped:
                flash(_("%(n)d chosen row(s) were not imported: see their errors below.", n=len(result.skipped)),
                      "warning")
    try:
        preview = service.preview(g.workspace, source, mapping)
    except service.LeadImportError as error:
        flash(str(error), "error")
        return redirect(url_for("sandbox.imports"))
    return render_template("sandbox_crm/imports/preview.html", preview=preview, source=source, form=form,
                           fields=service.FIELDS, field_labels=service.FIELD_LABELS, result=result)
