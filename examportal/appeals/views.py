"""Appeal pages: the appellant's (file, follow, withdraw, add files, see one's work), the certifying
institution's staff (acknowledge, appoint the panel, start the review, file an appeal received in
writing or accept a late one, decide requests to see exam work) and the panel's (declare, read the
case, propose, vote).

Who sees what: an appellant only their own appeals and files; staff only the appeals their
institution handles, never the files; a panel member only the appeals they sit on, and the
grounds, files and work only after declaring impartiality. Anything else is "not found".
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..access import own_enrolment_or_404, own_or_404, row_or_404
from ..committee import services as committee
from ..extensions import db
from ..forms import PortalForm, QueryForm, add_error, params, parse_id, select_choices
from ..models import (
    Appeal,
    AppealPanelMember,
    AppealRemedy,
    AppealStatus,
    Enrolment,
    Role,
    User,
    WorkReview,
    utcnow,
)
from ..security import login_required, roles_required
from ..uploads import send_stored
from . import deciding, remedies, reviews, rules, services
from .forms import (
    AddFilesForm,
    AppealForm,
    AppointForm,
    DeclarationForm,
    GrantForm,
    LookupForm,
    ProposalForm,
    RefuseReviewForm,
    ReviewFilterForm,
    StaffAppealForm,
    StatusFilterForm,
    VoteForm,
)

bp = Blueprint("appeals", __name__)




@bp.app_template_global("appeal_option")
def appeal_option(subject: str, subject_id: int) -> services.AppealOption | None:
    """For the pages that show a person their decisions: the appeal beside one of them (see
    ``templates/appeals/_link.html``); None for someone else's decision or nothing to appeal."""
    if not current_user.is_authenticated:
        return None
    return services.appeal_option(current_user, subject, subject_id)


@bp.app_template_global("work_review_option")
def work_review_option(enrolment: Enrolment) -> dict[str, Any] | None:
    """For the candidate's result page: their request to see their work, or whether they may make one."""
    if not current_user.is_authenticated or enrolment.candidate_id != current_user.id:
        return None
    pending = reviews.pending(enrolment)
    return {"review": pending, "refusal": reviews.request_refusal(current_user, enrolment) if pending is None else None}


def _show_error(field: Any, message: str, form_shown: bool) -> None:
    """A rule's refusal: next to the field when its form is on the page again, else as a message
    at the top (the form is not offered any more: already signed, the panel closed ...)."""
    if form_shown:
        add_error(field, message)
    else:
        flash(message, "danger")


def _today_context() -> dict[str, Any]:
    return {"today": rules.today(), "days_left": rules.days_left, "date_text": rules.date_text}


# --------------------------------------------------------------------------- the appellant


@bp.route("/")
@login_required
def mine() -> ResponseReturnValue:
    """The person's appeals, the decisions they may still appeal and their requests to see their work."""
    today = rules.today()
    decisions = [d for d in services.candidate_decisions(current_user)
                 if d.late_refusal(today) is None and services.existing_appeal(d) is None]
    return render_template("appeals/mine.html", appeals=services.appellant_appeals(current_user), decisions=decisions,
                           reviews=reviews.candidate_reviews(current_user), now=utcnow(),
                           review_last_day=rules.review_last_day, **_today_context())


def _new_page(decision: services.Decision, form: AppealForm, status: int = 200,
              refusal: services.AppealError | None = None) -> ResponseReturnValue:
    return render_template("appeals/new.html", decision=decision, form=form, refusal=refusal,
                           **_today_context()), status


@bp.route("/new/<subject>/<int:subject_id>", methods=["GET", "POST"])
@login_required
def new(subject: str, subject_id: int) -> ResponseReturnValue:
    """File an appeal against one of the person's decisions (refused after the window, with its date,
    and when an appeal against it exists, with a link to it)."""
    decision = services.own_decision(current_user, subject, subject_id)
    if decision is None:
        abort(404)
    refusal = services.filing_refusal(decision, rules.today())
    form = AppealForm()
    if request.method == "GET":
        return _new_page(decision, form, refusal=refusal)
    if refusal is not None:
        return _new_page(decision, form, 400, refusal)
    if form.validate_on_submit():
        try:
            appeal = services.file_appeal(current_user, decision, form.grounds.data, form.files.uploads)
        except services.AppealError as error:
            db.session.rollback()
            if isinstance(error, (services.AlreadyAppealed, services.LateAppeal)):
                return _new_page(decision, form, 400, error)
            add_error(form.grounds, str(error))
        else:
            flash(_("Your appeal has been filed. The institution acknowledges it and tells you the deadline for the "
                    "decision by e-mail."), "success")
            return redirect(url_for("appeals.show", appeal_id=appeal.id))
    return _new_page(decision, form, 400)


def _show_page(appeal: Appeal, files_form: AddFilesForm | None = None, status: int = 200) -> ResponseReturnValue:
    return render_template("appeals/show.html", appeal=appeal, decision=services.decision_of(appeal),
                           files_form=files_form or AddFilesForm(), max_files=rules.MAX_FILES,
                           **_today_context()), status


@bp.route("/<int:appeal_id>")
@login_required
def show(appeal_id: int) -> ResponseReturnValue:
    """The appellant's appeal: where it stands, the deadline, the grounds and files, the decision."""
    return _show_page(own_or_404(Appeal, appeal_id, owner="appellant_id"))


@bp.route("/<int:appeal_id>/withdraw", methods=["POST"])
@login_required
def withdraw(appeal_id: int) -> ResponseReturnValue:
    appeal = own_or_404(Appeal, appeal_id, owner="appellant_id")
    if not PortalForm().validate_on_submit():
        abort(400)
    try:
        services.withdraw(current_user, appeal)
    except services.AppealError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _show_page(appeal, status=400)
    flash(_("Your appeal has been withdrawn."), "success")
    return redirect(url_for("appeals.show", appeal_id=appeal.id))


@bp.route("/<int:appeal_id>/files", methods=["POST"])
@login_required
def add_files(appeal_id: int) -> ResponseReturnValue:
    """The appellant attaches more files (all or none, five in all at most) until the appeal is decided."""
    appeal = own_or_404(Appeal, appeal_id, owner="appellant_id")
    form = AddFilesForm()
    if form.validate_on_submit():
        try:
            services.add_files(current_user, appeal, form.files.uploads)
        except services.AppealError as error:
            db.session.rollback()
            _show_error(form.files, str(error), appeal.is_open and len(appeal.files) < rules.MAX_FILES)
        else:
            flash(_("The files have been attached to your appeal."), "success")
            return redirect(url_for("appeals.show", appeal_id=appeal.id))
    return _show_page(appeal, form, 400)


@bp.route("/<int:appeal_id>/files/<int:file_id>")
@login_required
def download(appeal_id: int, file_id: int) -> ResponseReturnValue:
    """A file of an appeal: for the appellant and the panel members who declared impartiality only."""
    appeal = row_or_404(Appeal, appeal_id)
    if not services.may_read_files(current_user, appeal):
        abort(404)
    stored = services.appeal_file(appeal, file_id)
    if stored is None:
        abort(404)
    return cast(Response, send_stored(stored))


@bp.route("/work-reviews/request/<int:enrolment_id>", methods=["POST"])
@login_required
def request_review(enrolment_id: int) -> ResponseReturnValue:
    """The candidate asks to see their exam work (from their result page)."""
    enrolment = own_enrolment_or_404(enrolment_id)
    if not PortalForm().validate_on_submit():
        abort(400)
    try:
        reviews.request(current_user, enrolment)
    except services.AppealError as error:
        db.session.rollback()
        return render_template("appeals/review_refused.html", enrolment=enrolment, message=str(error)), 400
    flash(_("Your request to see your exam work has been sent; the institution tells you its answer by e-mail."),
          "success")
    return redirect(url_for("appeals.mine"))


@bp.route("/work-reviews/<int:review_id>")
@login_required
def review_work(review_id: int) -> ResponseReturnValue:
    """The candidate's exam work, read-only, while the granted review is open (404 otherwise)."""
    review = own_or_404(WorkReview, review_id)
    if not reviews.is_open(review) or review.open_until is None:
        abort(404)
    return render_template("appeals/work.html", work=reviews.work(review.enrolment), locale=str(get_locale()),
                           review=review, last_day=rules.review_last_day(review.open_until), for_panel=False)


# --------------------------------------------------------------------------- the institution's staff


def _managed(appeal_id: int) -> Appeal:
    """The appeal, for staff of the certifying institution that handles it (404 for anyone else)."""
    appeal = row_or_404(Appeal, appeal_id)
    if not services.can_manage(current_user, appeal):
        abort(404)
    return appeal



@bp.route("/staff")
@roles_required(Role.STAFF)
@params(form=QueryForm(StatusFilterForm))
def staff_index(form: StatusFilterForm) -> ResponseReturnValue:
    """The appeals the staff member's institution handles, by status, with the days left to decide."""
    valid = form.validate()
    status = (form.status.data or "open") if valid else "open"
    appeals = list(db.session.scalars(services.staff_query(current_user, status)))
    return render_template("appeals/staff_index.html", form=form, appeals=appeals,
                           decisions={a.id: services.decision_of(a) for a in appeals},
                           **_today_context()), 200 if valid else 400


def _staff_page(appeal: Appeal, status: int = 200, appoint_form: AppointForm | None = None) -> ResponseReturnValue:
    candidates = services.panel_candidates(appeal)
    form = appoint_form or AppointForm(formdata=None)
    form.member.choices = select_choices([("", _("— choose —")), *((str(person.id), _(
        "%(name)s (cannot be appointed)", name=person.full_name) if refusal else person.full_name)
        for person, refusal in candidates)])
    reviewing = appeal.status == AppealStatus.UNDER_REVIEW
    refused = services.sitting_refusals(appeal) if reviewing else {}
    return render_template("appeals/staff_show.html", appeal=appeal, decision=services.decision_of(appeal),
                           candidates=candidates, appoint_form=form, action_form=PortalForm(),
                           sitting_refusals=refused,
                           panel_short=reviewing and len(appeal.panel) - len(refused) < services.min_panel_size(appeal),
                           review_refusal=services.review_refusal(appeal), proposal=deciding.open_proposal(appeal),
                           minimum=services.min_panel_size(appeal), **_today_context()), status


@bp.route("/staff/<int:appeal_id>")
@roles_required(Role.STAFF)
def staff_show(appeal_id: int) -> ResponseReturnValue:
    """One appeal for the institution: the decision, the grounds, the panel (never the files)."""
    return _staff_page(_managed(appeal_id))


def _staff_action(appeal: Appeal, action: Callable[[], Any], done: str) -> ResponseReturnValue:
    if not PortalForm().validate_on_submit():
        abort(400)
    try:
        action()
    except services.AppealError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _staff_page(appeal, 400)
    flash(done, "success")
    return redirect(url_for("appeals.staff_show", appeal_id=appeal.id))


@bp.route("/staff/<int:appeal_id>/acknowledge", methods=["POST"])
@roles_required(Role.STAFF)
def acknowledge(appeal_id: int) -> ResponseReturnValue:
    appeal = _managed(appeal_id)
    return _staff_action(appeal, lambda: services.acknowledge(current_user, appeal),
                         _("The appeal is acknowledged; the appellant has been told the deadline for the decision."))


@bp.route("/staff/<int:appeal_id>/panel", methods=["POST"])
@roles_required(Role.STAFF)
def appoint(appeal_id: int) -> ResponseReturnValue:
    """Appoint a member of the panel; anyone involved in the decision is refused, with the reason."""
    appeal = _managed(appeal_id)
    form = AppointForm()
    if form.validate_on_submit():
        person_id = parse_id(form.member.data)
        person = db.session.get(User, person_id) if person_id is not None else None
        try:
            services.appoint(current_user, appeal, person, bool(form.is_chair.data))
        except services.AppealError as error:
            db.session.rollback()
            _show_error(form.member, str(error), appeal.status in (AppealStatus.FILED, AppealStatus.ACKNOWLEDGED))
        else:
            flash(_("The member has been appointed and told by e-mail."), "success")
            return redirect(url_for("appeals.staff_show", appeal_id=appeal.id))
    return _staff_page(appeal, 400, form)


@bp.route("/staff/<int:appeal_id>/panel/<int:panel_member_id>/remove", methods=["POST"])
@roles_required(Role.STAFF)
def remove_member(appeal_id: int, panel_member_id: int) -> ResponseReturnValue:
    appeal = _managed(appeal_id)
    member = row_or_404(AppealPanelMember, panel_member_id, appeal_id=appeal.id)
    return _staff_action(appeal, lambda: services.remove_member(current_user, appeal, member),
                         _("The member has been taken off the panel."))


@bp.route("/staff/<int:appeal_id>/start", methods=["POST"])
@roles_required(Role.STAFF)
def start_review(appeal_id: int) -> ResponseReturnValue:
    appeal = _managed(appeal_id)
    return _staff_action(appeal, lambda: services.start_review(current_user, appeal),
                         _("The review has started: the panel may now propose and vote on the decision."))


@bp.route("/staff/file")
@roles_required(Role.STAFF)
@params(form=QueryForm(LookupForm))
def staff_file(form: LookupForm) -> ResponseReturnValue:
    """Find a person's decisions to record an appeal they sent in writing, or to accept a late one."""
    valid = form.validate()
    person, decisions = (services.staff_lookup(current_user, form.email.data)
                         if valid and form.email.data else (None, []))
    return render_template("appeals/staff_file.html", form=form, person=person, decisions=decisions,
                           searched=bool(valid and form.email.data), **_today_context()), 200 if valid else 400


def _staff_file_page(decision: services.Decision, form: StaffAppealForm, status: int = 200,
                     refusal: services.AppealError | None = None) -> ResponseReturnValue:
    return render_template("appeals/staff_file_for.html", decision=decision, form=form, refusal=refusal,
                           late=decision.late_refusal(rules.today()), **_today_context()), status


@bp.route("/staff/file/<subject>/<int:subject_id>", methods=["GET", "POST"])
@roles_required(Role.STAFF)
def staff_file_for(subject: str, subject_id: int) -> ResponseReturnValue:
    """Record an appeal for the person the decision concerns: one received in writing, or a late one
    accepted with the institution's reason."""
    decision = services.staff_decision(current_user, subject, subject_id)
    if decision is None:
        abort(404)
    form = StaffAppealForm()
    if request.method == "GET":
        return _staff_file_page(decision, form)
    if form.validate_on_submit():
        try:
            appeal = services.file_appeal(current_user, decision, form.grounds.data, form.files.uploads,
                                          late_reason=form.late_reason.data)
        except services.AppealError as error:
            db.session.rollback()
            if isinstance(error, services.AlreadyAppealed):
                return _staff_file_page(decision, form, 400, error)
            add_error(form.late_reason if decision.late_refusal(rules.today()) and not (form.late_reason.data or "").strip()
                      else form.grounds, str(error))
        else:
            flash(_("The appeal has been recorded; the appellant has been told by e-mail."), "success")
            return redirect(url_for("appeals.staff_show", appeal_id=appeal.id))
    return _staff_file_page(decision, form, 400)


def _reviews_page(form: ReviewFilterForm, status: int = 200, typed: dict[int, Any] | None = None) -> ResponseReturnValue:
    valid = form.validate()
    rows = list(db.session.scalars(reviews.staff_query(current_user, (form.status.data or "requested") if valid
                                                       else "requested")))
    typed = typed or {}
    forms = {r.id: typed.get(r.id) or (GrantForm(prefix=f"grant-{r.id}", formdata=None),
                                       RefuseReviewForm(prefix=f"refuse-{r.id}", formdata=None)) for r in rows}
    return render_template("appeals/staff_reviews.html", form=form, rows=rows, forms=forms, now=utcnow(),
                           review_last_day=rules.review_last_day, **_today_context()), status if valid else 400


@bp.route("/staff/work-reviews")
@roles_required(Role.STAFF)
@params(form=QueryForm(ReviewFilterForm))
def staff_reviews(form: ReviewFilterForm) -> ResponseReturnValue:
    """Candidates' requests to see their exam work, to grant or refuse."""
    return _reviews_page(form)


def _managed_review(review_id: int) -> WorkReview:
    review = row_or_404(WorkReview, review_id)
    if not reviews.can_manage(current_user, review):
        abort(404)
    return review


def _review_decision(review: WorkReview, form: GrantForm | RefuseReviewForm, action: Callable[[], Any],
                     done: str) -> ResponseReturnValue:
    if form.validate_on_submit():
        try:
            action()
        except services.AppealError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            flash(done, "success")
            return redirect(url_for("appeals.staff_reviews"))
    pair = (form, RefuseReviewForm(prefix=f"refuse-{review.id}", formdata=None)) if isinstance(form, GrantForm) \
        else (GrantForm(prefix=f"grant-{review.id}", formdata=None), form)
    return _reviews_page(ReviewFilterForm(formdata=MultiDict({"status": "all"})), 400, {review.id: pair})


@bp.route("/staff/work-reviews/<int:review_id>/grant", methods=["POST"])
@roles_required(Role.STAFF)
def grant_review(review_id: int) -> ResponseReturnValue:
    review = _managed_review(review_id)
    form = GrantForm(prefix=f"grant-{review.id}")
    return _review_decision(review, form, lambda: reviews.grant(current_user, review, form.days.data),
                            _("The candidate may now see their exam work and has been told by e-mail."))


@bp.route("/staff/work-reviews/<int:review_id>/refuse", methods=["POST"])
@roles_required(Role.STAFF)
def refuse_review(review_id: int) -> ResponseReturnValue:
    review = _managed_review(review_id)
    form = RefuseReviewForm(prefix=f"refuse-{review.id}")
    return _review_decision(review, form, lambda: reviews.refuse(current_user, review, form.reason.data),
                            _("The request has been refused; the candidate has been told the reason."))


# --------------------------------------------------------------------------- the panel


def _seat(appeal_id: int) -> tuple[Appeal, AppealPanelMember]:
    """The appeal and the current user's seat on its panel; 404 for anyone not on it."""
    appeal = row_or_404(Appeal, appeal_id)
    member = services.panel_member(appeal, current_user)
    if member is None:
        abort(404)
    return appeal, member


def _declared_seat(appeal_id: int) -> tuple[Appeal, AppealPanelMember]:
    appeal, member = _seat(appeal_id)
    if member.declared_at is None:
        abort(404)
    return appeal, member


@bp.route("/panel")
@roles_required(Role.APPEALS)
def panel_index() -> ResponseReturnValue:
    """The appeals on whose panel the user sits."""
    appeals = services.panel_appeals(current_user)
    return render_template("appeals/panel_index.html", appeals=appeals,
                           seats={a.id: services.panel_member(a, current_user) for a in appeals},
                           decisions={a.id: services.decision_of(a) for a in appeals}, **_today_context())


def _panel_page(appeal: Appeal, member: AppealPanelMember, status: int = 200, *,
                declaration_form: DeclarationForm | None = None, proposal_form: ProposalForm | None = None,
                vote_form: VoteForm | None = None, formdata: Any = None) -> ResponseReturnValue:
    allowed = deciding.allowed_remedies(appeal) if member.declared_at is not None and appeal.is_open else []
    form = proposal_form or ProposalForm(formdata=None)
    form.remedy.choices = select_choices((r.value, r.label) for r in allowed)
    decision = services.decision_of(appeal)
    return render_template(
        "appeals/panel_show.html", appeal=appeal, member=member, decision=decision,
        declaration_form=declaration_form or DeclarationForm(formdata=None), proposal_form=form,
        vote_form=vote_form or VoteForm(formdata=None), remedies=allowed, formdata=formdata or MultiDict(),
        proposal=deciding.open_proposal(appeal), proposal_refusal=deciding.proposal_refusal(member, appeal),
        vote_refusal=deciding.vote_refusal(member, appeal),
        protocol=committee.decision_for(decision.enrolment) if decision.enrolment is not None else None,
        **_today_context()), status


@bp.route("/panel/<int:appeal_id>")
@roles_required(Role.APPEALS)
def panel_show(appeal_id: int) -> ResponseReturnValue:
    """The case for a panel member: after their declaration, the grounds, files, decision and votes."""
    appeal, member = _seat(appeal_id)
    return _panel_page(appeal, member)


@bp.route("/panel/<int:appeal_id>/declare", methods=["POST"])
@roles_required(Role.APPEALS)
def declare(appeal_id: int) -> ResponseReturnValue:
    appeal, member = _seat(appeal_id)
    form = DeclarationForm()
    if form.validate_on_submit():
        try:
            services.declare(member, str(form.confirm.label.text))
        except services.AppealError as error:
            db.session.rollback()
            _show_error(form.confirm, str(error), member.declared_at is None)
        else:
            flash(_("Your declaration of impartiality has been recorded."), "success")
            return redirect(url_for("appeals.panel_show", appeal_id=appeal.id))
    return _panel_page(appeal, member, 400, declaration_form=form)


@bp.route("/panel/<int:appeal_id>/propose", methods=["POST"])
@roles_required(Role.APPEALS)
def propose(appeal_id: int) -> ResponseReturnValue:
    """A member proposes the panel's decision (the remedy's own fields are read by :mod:`.remedies`)."""
    appeal, member = _declared_seat(appeal_id)
    form = ProposalForm()
    allowed = deciding.allowed_remedies(appeal) if appeal.is_open else []
    form.remedy.choices = select_choices((r.value, r.label) for r in allowed)
    formdata = request.form
    if form.validate_on_submit():
        upheld = form.outcome.data == "uphold"
        remedy = AppealRemedy(form.remedy.data) if upheld else None
        try:
            detail = remedies.detail_from_form(appeal, remedy, formdata) if remedy is not None else None
        except remedies.RemedyError as error:
            add_error(form.remedy, str(error))
        else:
            try:
                deciding.propose(member, appeal, upheld, remedy, detail, form.justification.data)
            except services.AppealError as error:
                db.session.rollback()
                _show_error(form.justification, str(error), deciding.proposal_refusal(member, appeal) is None)
            else:
                flash(_("The decision has been proposed. It is the panel's decision when every member has approved it."),
                      "success")
                return redirect(url_for("appeals.panel_show", appeal_id=appeal.id))
    return _panel_page(appeal, member, 400, proposal_form=form, formdata=formdata)


@bp.route("/panel/<int:appeal_id>/vote", methods=["POST"])
@roles_required(Role.APPEALS)
def vote(appeal_id: int) -> ResponseReturnValue:
    appeal, member = _declared_seat(appeal_id)
    form = VoteForm()
    if form.validate_on_submit():
        try:
            proposal = deciding.vote(member, appeal, form.vote.data == "approve", form.reason.data)
        except services.AppealError as error:
            db.session.rollback()
            _show_error(form.reason, str(error), deciding.vote_refusal(member, appeal) is None)
        else:
            flash(_("The appeal is decided; the appellant has been told.") if proposal.status == "final"
                  else _("Your vote has been recorded."), "success")
            return redirect(url_for("appeals.panel_show", appeal_id=appeal.id))
    return _panel_page(appeal, member, 400, vote_form=form)


@bp.route("/panel/<int:appeal_id>/work")
@roles_required(Role.APPEALS)
def panel_work(appeal_id: int) -> ResponseReturnValue:
    """The appellant's exam work, read-only, for a member who declared impartiality."""
    appeal, _member = _declared_seat(appeal_id)
    if appeal.enrolment is None:
        abort(404)
    return render_template("appeals/work.html", work=reviews.work(appeal.enrolment), locale=str(get_locale()),
                           appeal=appeal, for_panel=True)


@bp.route("/panel/<int:appeal_id>/protocol.pdf")
@roles_required(Role.APPEALS)
def panel_protocol(appeal_id: int) -> ResponseReturnValue:
    """The validation protocol of the appellant's enrolment, for a member who declared impartiality."""
    appeal, _member = _declared_seat(appeal_id)
    decision = committee.decision_for(appeal.enrolment) if appeal.enrolment is not None else None
    if decision is None or not decision.protocol_pdf:  # none, or removed when the candidate was anonymised
        abort(404)
    # As everyone else reads it: with the annexes of the appeals already decided about the enrolment.
    return Response(remedies.protocol_with_annexes(decision), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="protokol-walidacji-{decision.enrolment_id}.pdf"',
        "Cache-Control": "private, no-store"})
