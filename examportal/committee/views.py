"""The committee assesses a candidate: blind scoring, consolidation, results, decision, protocol."""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..access import own_enrolment_or_404, row_or_404
from ..appeals import remedies
from ..extensions import db
from ..forms import add_error
from ..models import Enrolment, Role
from ..practical import services as practical_services
from ..security import roles_required
from . import corrections, services
from .forms import AbsenceForm, DecisionForm, ResultsForm, ScoresheetForm, VerdictError, VoteForm, parse_verdicts

bp = Blueprint("committee", __name__)
# The choices of the remedy fields on the appeals panel's proposal form (templates/appeals/_remedy_fields.html).
bp.add_app_template_global(remedies.options, "remedy_options")


def _changes(enrolment: Enrolment, decision) -> dict:
    """What the decision pages show of later changes: the decision as it stands, its corrections,
    the upheld appeals carried out, and the new assessment this enrolment is (or was given)."""
    found: list = []
    upheld: list = []
    if decision is not None:
        found, upheld = remedies.decision_changes(decision)
    return {"standing_positive": corrections.standing_positive(decision) if decision is not None else None,
            "corrections": found, "upheld_appeals": upheld,
            "reassessments": practical_services.reassessing_enrolments(enrolment)}


def _assessed(enrolment_id: int):
    """The enrolment and the current assessor's membership; 404 for anyone not on its committee."""
    enrolment = row_or_404(Enrolment, enrolment_id)
    member = services.member_of(enrolment, current_user)
    if member is None:
        abort(404)
    return enrolment, member


def _case_page(enrolment, member, form=None, status=200, typed=None, absence_form=None):
    refusal = services.scoring_refusal(member, enrolment)
    sheet = services.scoresheet_to_show(member, enrolment) if refusal is None else None
    return render_template(
        "committee/case.html", enrolment=enrolment, member=member, refusal=refusal, sheet=sheet,
        quorum_refusal=services.quorum_refusal(enrolment),
        form=form or ScoresheetForm(), criteria=services.scored_criteria(enrolment),
        theory=services.theory_results(enrolment), attempt=services.theory_attempt(enrolment),
        others_visible=sheet is not None and sheet.is_submitted,
        submitted_ids={s.member_id for s in services.sheets(enrolment) if s.is_submitted},
        typed=typed or {}, decision=(decision := services.decision_for(enrolment)), **_changes(enrolment, decision),
        practical_state=services.practical_state(enrolment), may_record=services.may_record(member, enrolment),
        submission_refusal=services.submission_refusal(enrolment), absence_form=absence_form or AbsenceForm(),
        interview_sets=services.interview_sets(enrolment) if refusal is None else {},
        practical=practical_services.committee_view(enrolment, str(get_locale())) if refusal is None else None,
    ), status


@bp.route("/enrolments/<int:enrolment_id>")
@roles_required(Role.ASSESSOR)
def case(enrolment_id: int):
    enrolment, member = _assessed(enrolment_id)
    return _case_page(enrolment, member)


@bp.route("/enrolments/<int:enrolment_id>/scores", methods=["POST"])
@roles_required(Role.ASSESSOR)
def save_scores(enrolment_id: int):
    enrolment, member = _assessed(enrolment_id)
    form = ScoresheetForm()
    if not form.validate_on_submit():
        return _case_page(enrolment, member, form, 400, request.form)
    try:
        parsed = parse_verdicts(request.form, [c.id for c in services.scored_criteria(enrolment)], "c")
        entries = {cid: services.ScoreEntry(met, comment, notes) for cid, (met, comment, notes) in parsed.items()}
        services.save_scores(member, enrolment, entries, submit=bool(form.submit.data))
    except VerdictError:
        flash(_("The form contained a value that is not one of the choices. Check your answers."), "danger")
        return _case_page(enrolment, member, form, 400, request.form)
    except services.CommitteeRuleError as error:
        db.session.rollback()
        flash(str(error), "danger")
        return _case_page(enrolment, member, form, 400, request.form)
    flash(_("Your scores have been submitted.") if form.submit.data else _("Draft saved."), "success")
    return redirect(url_for("committee.case", enrolment_id=enrolment.id))


@bp.route("/enrolments/<int:enrolment_id>/practical/xapi.json")
@roles_required(Role.ASSESSOR)
def practical_xapi(enrolment_id: int):
    """The candidate's practical-exam action log as xAPI statements, for the committee."""
    enrolment, member = _assessed(enrolment_id)
    attempt = practical_services.assessed_attempt(enrolment)
    if services.scoring_refusal(member, enrolment) is not None or attempt is None:
        abort(404)
    body = json.dumps(practical_services.xapi_export(attempt), ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="praktyka-{enrolment.id}-xapi.json"'})


def _consolidation_page(enrolment, member, results_form=None, decision_form=None, status=200, typed=None, vote_form=None):
    if not services.can_see_others(member, enrolment):
        if status != 200:  # a refused post: its message (flashed) shows on the member's own page
            return _case_page(enrolment, member, status=status)
        flash(_("Submit your own scores first: the others' scores stay hidden until then."), "warning")
        return redirect(url_for("committee.case", enrolment_id=enrolment.id))
    return render_template(
        "committee/consolidation.html", enrolment=enrolment, member=member,
        rows=services.consolidation(enrolment), all_submitted=services.all_submitted(enrolment),
        may_record=services.may_record(member, enrolment), criteria=services.all_criteria(enrolment),
        committee_codes={c.code for c in services.committee_criteria(enrolment)},
        quorum_refusal=services.quorum_refusal(enrolment), missing_part=services.missing_parts(enrolment),
        fixed=services.system_results(enrolment), results=services.results(enrolment),
        summary=services.summary(enrolment), decision=(decision := services.decision_for(enrolment)),
        **_changes(enrolment, decision), members=services.deciding_members(enrolment), practical_state=services.practical_state(enrolment),
        proposals=services.proposals(enrolment), proposal=services.open_proposal(enrolment),
        vote_refusal=services.vote_refusal(member, enrolment),
        results_form=results_form or ResultsForm(), decision_form=decision_form or DecisionForm(), typed=typed or {},
        vote_form=vote_form or VoteForm(),
    ), status


@bp.route("/enrolments/<int:enrolment_id>/consolidation")
@roles_required(Role.ASSESSOR)
def consolidation(enrolment_id: int):
    enrolment, member = _assessed(enrolment_id)
    return _consolidation_page(enrolment, member)


@bp.route("/enrolments/<int:enrolment_id>/results", methods=["POST"])
@roles_required(Role.ASSESSOR)
def record_results(enrolment_id: int):
    enrolment, member = _assessed(enrolment_id)
    form = ResultsForm()
    if form.validate_on_submit():
        try:
            # The committee's criteria, and any test criterion the form (forged) tries to set: the service refuses those.
            committee_ids = {c.id for c in services.committee_criteria(enrolment)}
            sent = [c.id for c in services.all_criteria(enrolment) if c.id in committee_ids or request.form.get(f"r-{c.id}-met")]
            parsed = parse_verdicts(request.form, sent, "r")
            services.record_results(member, enrolment, {cid: (met, comment) for cid, (met, comment, _n) in parsed.items()})
        except VerdictError:
            flash(_("The form contained a value that is not one of the choices. Check your answers."), "danger")
        except services.CommitteeRuleError as error:
            db.session.rollback()
            flash(str(error), "danger")
        else:
            flash(_("The committee's results have been recorded."), "success")
            return redirect(url_for("committee.consolidation", enrolment_id=enrolment.id))
    return _consolidation_page(enrolment, member, results_form=form, status=400, typed=request.form)


@bp.route("/enrolments/<int:enrolment_id>/decision", methods=["POST"])
@roles_required(Role.ASSESSOR)
def propose(enrolment_id: int):
    """The chair proposes the decision; the committee approves or dissents."""
    enrolment, member = _assessed(enrolment_id)
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            proposal = services.propose(member, enrolment, form.outcome.data == "positive", form.justification.data)
        except services.CommitteeRuleError as error:
            db.session.rollback()
            add_error(form.justification, str(error))
        else:
            flash(_("The decision has been recorded and the candidate notified.") if proposal.status.value == "final"
                  else _("The decision has been proposed. It is final when every member has approved it."), "success")
            return redirect(url_for("committee.consolidation", enrolment_id=enrolment.id))
    return _consolidation_page(enrolment, member, decision_form=form, status=400)


@bp.route("/enrolments/<int:enrolment_id>/vote", methods=["POST"])
@roles_required(Role.ASSESSOR)
def vote(enrolment_id: int):
    """A member approves the proposed decision or dissents with a reason."""
    enrolment, member = _assessed(enrolment_id)
    form = VoteForm()
    if form.validate_on_submit():
        try:
            services.vote(member, enrolment, form.vote.data == "approve", form.reason.data)
        except services.CommitteeRuleError as error:
            db.session.rollback()
            flash(str(error), "danger")  # the vote form may not be on the page (e.g. already voted)
        else:
            flash(_("Your vote has been recorded."), "success")
            return redirect(url_for("committee.consolidation", enrolment_id=enrolment.id))
    return _consolidation_page(enrolment, member, vote_form=form, status=400)


@bp.route("/enrolments/<int:enrolment_id>/absence", methods=["POST"])
@roles_required(Role.ASSESSOR)
def record_absence(enrolment_id: int):
    """The chair records that the candidate did not come to the practical part."""
    enrolment, member = _assessed(enrolment_id)
    form = AbsenceForm()
    if form.validate_on_submit():
        try:
            services.record_practical_absence(current_user, enrolment, form.note.data or "")
        except services.CommitteeRuleError as error:
            db.session.rollback()
            flash(str(error), "danger")  # the absence form is shown only while it may be recorded
        else:
            flash(_("The absence from the practical part has been recorded."), "success")
            return redirect(url_for("committee.case", enrolment_id=enrolment.id))
    return _case_page(enrolment, member, status=400, absence_form=form)


@bp.route("/enrolments/<int:enrolment_id>/protocol.pdf")
@login_required
def protocol(enrolment_id: int):
    enrolment = row_or_404(Enrolment, enrolment_id)
    decision = services.decision_for(enrolment)
    if decision is None or not services.can_read_decision(current_user, enrolment):
        abort(404)
    if not decision.protocol_pdf:  # removed when the candidate was anonymised (records.retention)
        abort(404)
    # The stored protocol, then the annexes of the decided appeals (the stored bytes never change).
    return Response(remedies.protocol_with_annexes(decision), mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="protokol-walidacji-{enrolment.id}.pdf"'})


@bp.route("/result/<int:enrolment_id>")
@login_required
def result(enrolment_id: int):
    """The candidate's own result: decision, justification, per-outcome summary, how to appeal."""
    enrolment = own_enrolment_or_404(enrolment_id)
    decision = services.decision_for(enrolment)
    return render_template("committee/result.html", enrolment=enrolment, decision=decision,
                           summary=services.summary(enrolment) if decision else None, **_changes(enrolment, decision),
                           appeal_days=enrolment.session.qualification.rules.appeal_window_days)
