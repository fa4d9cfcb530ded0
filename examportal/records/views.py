"""Routes of the records blueprint (see the package docstring): "my data" for every signed-in
person (a copy of everything held, requests for a correction or erasure) and the staff's review of
those requests. Each view finds its object and checks who may see it first (404 for anyone else),
then calls one service of :mod:`.requests`."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import Field

from ..access import own_or_404, row_or_404
from ..certification.rules import today
from ..extensions import db, limiter
from ..forms import PortalForm, add_error
from ..models import DataRequest, DataRequestKind, DataRequestStatus, Role, User
from ..security import login_required, roles_required
from . import bp, requests
from .forms import ButtonForm, CorrectionRequestForm, ErasureRequestForm, ExtendForm, GrantCorrectionForm, RefuseForm

#: A copy of everything is a heavy request: a few per hour are plenty for a person.
COPY_RATE_LIMIT = "3 per hour;10 per day"


# The day to answer a request by, for the pages that list or show it (a rule of the service).
bp.add_app_template_global(requests.answer_by, "data_request_answer_by")


def _person_key() -> str:
    """Copies are limited per person, whatever address they come from."""
    return f"data-copy-{current_user.id}"


# --------------------------------------------------------------------------- the person


def _mine_page(status: int = 200, **forms: Any) -> ResponseReturnValue:
    user = current_user._get_current_object()
    mine = requests.requests_of(user)
    open_kinds = {r.kind for r in mine if r.status == DataRequestStatus.OPEN}
    return render_template(
        "records/mine.html", data_requests=mine, open_kinds=open_kinds, kinds=DataRequestKind,
        copy_form=ButtonForm(prefix="copy"), withdraw_form=ButtonForm(prefix="withdraw"),
        correction_form=forms.get("correction_form") or CorrectionRequestForm(prefix="correction", formdata=None),
        erasure_form=forms.get("erasure_form") or ErasureRequestForm(prefix="erasure", formdata=None),
    ), status


@bp.route("/mine")
@login_required
def mine() -> ResponseReturnValue:
    """The person's requests about their data, the copy of it, and the forms to ask."""
    return _mine_page()


@bp.route("/mine/copy", methods=["POST"])
@login_required
@limiter.limit(COPY_RATE_LIMIT, key_func=_person_key, scope="data-copy")
def copy() -> ResponseReturnValue:
    """Everything held about the person, as a ZIP (recorded as a granted request for a copy)."""
    if not ButtonForm(prefix="copy").validate_on_submit():
        abort(400)
    _request, data = requests.copy_of_data(current_user._get_current_object())
    name = f"my-data-{today().isoformat()}.zip"
    return Response(data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


def _ask(kind: DataRequestKind, form: CorrectionRequestForm | ErasureRequestForm, key: str) -> ResponseReturnValue:
    if not form.validate_on_submit():
        return _mine_page(400, **{key: form})
    try:
        requests.ask(current_user._get_current_object(), kind, form.details.data)
    except requests.DataRequestError as error:
        db.session.rollback()
        add_error(form.details, str(error))
        return _mine_page(400, **{key: form})
    flash(_("Your request has been sent. You will be told the answer by e-mail."), "success")
    return redirect(url_for("records.mine"))


@bp.route("/mine/correction", methods=["POST"])
@login_required
def ask_correction() -> ResponseReturnValue:
    """Ask for a correction of data held (says what is wrong)."""
    return _ask(DataRequestKind.CORRECTION, CorrectionRequestForm(prefix="correction"), "correction_form")


@bp.route("/mine/erasure", methods=["POST"])
@login_required
def ask_erasure() -> ResponseReturnValue:
    """Ask for the erasure of one's data."""
    return _ask(DataRequestKind.ERASURE, ErasureRequestForm(prefix="erasure"), "erasure_form")


@bp.route("/mine/<int:data_request_id>/withdraw", methods=["POST"])
@login_required
def withdraw(data_request_id: int) -> ResponseReturnValue:
    """The person withdraws their open request."""
    request = own_or_404(DataRequest, data_request_id, owner="user_id")
    if not ButtonForm(prefix="withdraw").validate_on_submit():
        abort(400)
    try:
        requests.withdraw(current_user._get_current_object(), request)
    except requests.DataRequestError as error:
        db.session.rollback()
        flash(str(error), "warning")
    else:
        flash(_("Your request has been withdrawn."), "info")
    return redirect(url_for("records.mine"))


# --------------------------------------------------------------------------- staff


def _reviewed(data_request_id: int) -> DataRequest:
    """The request, for those who review it (404 for anyone else: no hint that it exists)."""
    request = row_or_404(DataRequest, data_request_id)
    if request.kind == DataRequestKind.ACCESS or not requests.may_review(current_user, request):
        abort(404)
    return request


@bp.route("/requests")
@roles_required(Role.STAFF, Role.ADMIN)
def staff_index() -> ResponseReturnValue:
    """Requests for a correction or erasure the user reviews, open ones first."""
    found = list(db.session.scalars(requests.reviewable(current_user).limit(500)))
    return render_template("records/staff_index.html", data_requests=found)


def _staff_page(request: DataRequest, status: int = 200, **forms: Any) -> ResponseReturnValue:
    retention, erasable = requests.retention_for(request) \
        if request.kind == DataRequestKind.ERASURE and request.status == DataRequestStatus.OPEN else (None, False)
    return render_template(
        "records/staff_show.html", data_request=request, retention=retention, erasable=erasable,
        certificates=requests.certificates_to_correct(current_user, request)
        if request.kind == DataRequestKind.CORRECTION else [],
        grant_form=forms.get("grant_form") or GrantCorrectionForm(prefix="grant", formdata=None),
        refuse_form=forms.get("refuse_form") or RefuseForm(prefix="refuse", formdata=None),
        extend_form=forms.get("extend_form") or ExtendForm(prefix="extend", formdata=None),
        extension_refusal=requests.extension_refusal(request),
        erase_form=ButtonForm(prefix="erase"),
    ), status


def _decided_with_text(request: DataRequest, name: str, form: PortalForm, text: Field,
                       act: Callable[[User, DataRequest, str | None], object]) -> ResponseReturnValue | None:
    """Staff act on ``request`` with the text of ``form`` (the person receives it): None when done,
    else the page again (400) with the form as typed and the reason — the form's own or the
    service's refusal, shown at ``text``."""
    if not form.validate_on_submit():
        return _staff_page(request, 400, **{name: form})
    try:
        act(current_user._get_current_object(), request, text.data)
    except requests.DataRequestError as error:
        db.session.rollback()
        add_error(text, str(error))
        return _staff_page(request, 400, **{name: form})
    return None


@bp.route("/requests/<int:data_request_id>")
@roles_required(Role.STAFF, Role.ADMIN)
def staff_show(data_request_id: int) -> ResponseReturnValue:
    """One request: the person, what they ask, and — for an erasure — what must be kept and why."""
    return _staff_page(_reviewed(data_request_id))


@bp.route("/requests/<int:data_request_id>/grant", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def grant(data_request_id: int) -> ResponseReturnValue:
    """Grant a correction (saying what was done) or an erasure (refused by the code while the
    records must be kept)."""
    request = _reviewed(data_request_id)
    staff = current_user._get_current_object()
    if request.kind == DataRequestKind.ERASURE:
        if not ButtonForm(prefix="erase").validate_on_submit():
            abort(400)
        try:
            outcome = requests.erase(staff, request)
        except requests.DataRequestError as error:
            db.session.rollback()
            flash(str(error), "danger")
            return _staff_page(request, 400)
        if outcome.granted:
            flash(_("The person's data has been erased; they have been told."), "success")
        elif outcome.request.possible_on is None:
            flash(_("Erasure is not possible while the matters named are open: the request has been refused with the "
                    "reasons, and the person has been told."), "warning")
        else:
            flash(_("Erasure is not possible before %(day)s: the request has been refused with the reasons, and the "
                    "person has been told.", day=format_date(outcome.request.possible_on, "medium")), "warning")
        return redirect(url_for("records.staff_show", data_request_id=request.id))
    form = GrantCorrectionForm(prefix="grant")
    refused = _decided_with_text(request, "grant_form", form, form.done, requests.grant_correction)
    if refused is not None:
        return refused
    flash(_("The correction is recorded; the person has been told."), "success")
    return redirect(url_for("records.staff_show", data_request_id=request.id))


@bp.route("/requests/<int:data_request_id>/extend", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def extend(data_request_id: int) -> ResponseReturnValue:
    """Extend the time to answer by two months, with the reason the person receives."""
    request = _reviewed(data_request_id)
    form = ExtendForm(prefix="extend")
    refused = _decided_with_text(request, "extend_form", form, form.reason, requests.extend)
    if refused is not None:
        return refused
    flash(_("The time to answer is extended to %(day)s; the person has been told why.",
            day=format_date(requests.answer_by(request), "medium")), "success")
    return redirect(url_for("records.staff_show", data_request_id=request.id))


@bp.route("/requests/<int:data_request_id>/refuse", methods=["POST"])
@roles_required(Role.STAFF, Role.ADMIN)
def refuse(data_request_id: int) -> ResponseReturnValue:
    """Refuse a correction or an erasure, with the reason the person receives."""
    request = _reviewed(data_request_id)
    form = RefuseForm(prefix="refuse")
    refused = _decided_with_text(request, "refuse_form", form, form.reason, requests.refuse)
    if refused is not None:
        return refused
    flash(_("The refusal is recorded; the person has been told."), "success")
    return redirect(url_for("records.staff_show", data_request_id=request.id))
