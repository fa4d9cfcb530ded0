"""Lead import: upload a CSV or paste a list, preview the mapped and checked rows, decide on each: import,
fix, skip."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..blueprint import bp
from ..forms.common import ConfirmForm
from ..forms.customers import PasteForm, UploadForm
from ..host import session
from ..models import ImportSource
from ..params import Choice, Indexed, RowValues, form_params, params
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
#: The decision on each row: ``decision_3=fix`` (an empty one: decide later).
DECISIONS = Indexed("decision_", Choice(service.DECISIONS), limit=service.MAX_ROWS + 1)
#: Values typed over rows in the preview: ``fix_3-company.nip`` → row 3's NIP.
TYPED = RowValues("fix_", service.VALUE_KEYS, rows=service.MAX_ROWS)


@bp.route("/w/<int:ws_id>/import/<int:source_id>", methods=["GET", "POST"])
@params(mapping=MAPPING)
@form_params(posted_mapping=MAPPING, decisions=DECISIONS, typed=TYPED)
def import_preview(source_id: int, mapping: list[str] | None, posted_mapping: list[str] | None,
                   decisions: list[str] | None, typed: dict[int, dict[str, str]]):
    """The rows of a source mapped and checked (GET: remap the columns), and carrying out the
    decision taken on each row (POST): import as it is, fix and import, skip, or later."""
    source = get_or_404(ImportSource, g.workspace, source_id)
    if request.method == "POST":
        mapping = posted_mapping
    form = ConfirmForm()
    chosen = {number: decision for number, decision in enumerate(decisions or []) if decision}
    refusal: service.DecisionError | None = None
    decided = False
    if request.method == "POST" and form.validate_on_submit():
        try:
            result = service.decide(g.workspace, source, chosen, typed, mapping)
        except service.DecisionError as error:
            refusal = error
        except service.LeadImportError as error:
            flash(str(error), "error")
            return redirect(url_for("sandbox.imports"))
        else:
            session().commit()
            _flash_result(result)
            decided = True
    if refusal is not None:
        # Nothing was done: the rows again with every decision and value as the user sent them.
        return _preview_page(source, refusal.preview, form, chosen, typed, refusal.problems, 400)
    try:
        preview = service.preview(g.workspace, source, mapping)
    except service.LeadImportError as error:
        flash(str(error), "error")
        return redirect(url_for("sandbox.imports"))
    waiting = preview.counts["flagged"] + preview.counts["clean"]
    if decided and waiting:
        flash(_("%(n)d row(s) still wait for your decision.", n=waiting), "info")
    return _preview_page(source, preview, form, {}, {}, {}, 200)


def _flash_result(result: service.ImportResult) -> None:
    if result.imported_rows:
        flash(_("Imported %(rows)d row(s): %(companies)d new companies, %(contacts)d new contacts.",
                rows=len(result.imported_rows), companies=len(result.companies),
                contacts=len(result.contacts)), "success")
    if result.skipped:
        flash(_("Skipped %(n)d row(s).", n=len(result.skipped)), "success")


def _preview_page(source: ImportSource, preview: service.Preview, form: ConfirmForm, chosen: dict[int, str],
                  typed: dict[int, dict[str, str]], problems: dict[int, list[str]], status: int):
    return render_template("sandbox_crm/imports/preview.html", preview=preview, source=source, form=form,
                           fields=service.FIELDS, field_labels=service.FIELD_LABELS, chosen=chosen, typed=typed,
                           problems=problems), status
