"""The panel decides an appeal: a member proposes the decision (dismiss, or uphold with the remedy the
system then carries out) with its written justification, every member approves it or dissents with
a reason; no single person decides. A dissent closes the proposal and another may be proposed;
when every member has approved, the appeal is decided, the remedy carried out (:mod:`.remedies`),
the annex to the validation protocol stored and the appellant mailed.

This is the one module that calls :mod:`.remedies` (which may use :mod:`.services` itself).
"""
from __future__ import annotations

import hashlib
from typing import Any

from ..audit import services as audit_log
from ..certification.rules import _
from ..extensions import db
from ..mail.services import queue_localised
from ..models import Appeal, AppealPanelMember, AppealProposal, AppealRemedy, AppealStatus, AppealVote, User, utcnow
from ..security import public_url
from . import remedies, rules
from .services import AppealError, _locked, decision_of, min_panel_size, sitting_members, sitting_refusals


def open_proposal(appeal: Appeal) -> AppealProposal | None:
    return next((p for p in appeal.proposals if p.status == "open"), None)


def _acting_refusal(member: AppealPanelMember | None, appeal: Appeal) -> str | None:
    if member is None or member.appeal_id != appeal.id:
        return _("You are not on this appeal's panel.")
    if member.declared_at is None:
        return _("Sign the declaration of impartiality first.")
    if appeal.status != AppealStatus.UNDER_REVIEW:
        return (_("The review has not started yet: the institution completes the panel first.")
                if appeal.is_open else _("This appeal is closed."))
    refused = sitting_refusals(appeal)
    if member.id in refused:
        return refused[member.id]
    if len(appeal.panel) - len(refused) < min_panel_size(appeal):
        return _("The panel has fewer members who may act on the appeal than it needs: the institution appoints "
                 "another member first.")
    return None


def proposal_refusal(member: AppealPanelMember | None, appeal: Appeal) -> str | None:
    """Why the member may not propose a decision now (translated), or None."""
    refusal = _acting_refusal(member, appeal)
    if refusal:
        return refusal
    if open_proposal(appeal) is not None:
        return _("A decision has already been proposed: the panel is voting on it.")
    return None


def vote_refusal(member: AppealPanelMember | None, appeal: Appeal) -> str | None:
    """Why the member may not vote on the open proposal now (translated), or None."""
    refusal = _acting_refusal(member, appeal)
    if refusal or member is None:
        return refusal
    proposal = open_proposal(appeal)
    if proposal is None:
        return _("There is no proposed decision to vote on.")
    if any(v.member_id == member.id for v in proposal.votes):
        return _("You have already voted on this proposal; a vote cannot be changed.")
    return None


def allowed_remedies(appeal: Appeal) -> list[AppealRemedy]:
    """What an upheld appeal against this decision may order (at least "none")."""
    return list(remedies.applicable(appeal)) or [AppealRemedy.NONE]


def propose(member: AppealPanelMember, appeal: Appeal, upheld: bool, remedy: AppealRemedy | None,
            remedy_detail: dict[str, Any] | None, justification: str | None) -> AppealProposal:
    """A member proposes the panel's decision, with its justification (required) and, when upheld,
    the remedy (one of :func:`allowed_remedies`; its parameters from the remedy's own fields). It
    counts as the proposer's approval; the others vote (:func:`vote`)."""
    appeal = _locked(appeal)
    refusal = proposal_refusal(member, appeal)
    if refusal:
        raise AppealError(refusal)
    text = (justification or "").strip()
    if not text:
        raise AppealError(_("Write the justification of the decision: the appellant receives it."))
    if upheld:
        if remedy is None or remedy not in allowed_remedies(appeal):
            raise AppealError(_("Choose what the system carries out when the appeal is upheld."))
    else:
        remedy, remedy_detail = AppealRemedy.NONE, None
    now = utcnow()
    proposal = AppealProposal(upheld=upheld, remedy=remedy, remedy_detail=remedy_detail, justification=text,
                              proposed_by_id=member.id, proposed_at=now, status="open")
    appeal.proposals.append(proposal)
    proposal.votes.append(AppealVote(member_id=member.id, approve=True, voted_at=now))
    db.session.flush()
    audit_log.record("appeal.decision_proposed", appeal, after={
        "proposal_id": proposal.id, "upheld": upheld, "remedy": remedy, "remedy_detail": remedy_detail,
        "justification": text, "user_id": member.member_id}, actor=member.member, institution_id=appeal.institution_id)
    _settle(appeal, proposal, member.member)
    db.session.commit()
    return proposal


def vote(member: AppealPanelMember, appeal: Appeal, approve: bool, reason: str | None) -> AppealProposal:
    """A member approves the proposed decision or dissents with a reason (which closes it)."""
    appeal = _locked(appeal)
    refusal = vote_refusal(member, appeal)
    if refusal:
        raise AppealError(refusal)
    proposal = open_proposal(appeal)
    if proposal is None:  # vote_refusal checked it
        raise AppealError(_("There is no proposed decision to vote on."))
    text = (reason or "").strip() or None
    if not approve and text is None:
        raise AppealError(_("A dissent needs its reason: the panel reads it before another proposal."))
    proposal.votes.append(AppealVote(member_id=member.id, approve=approve, reason=text, voted_at=utcnow()))
    db.session.flush()
    audit_log.record("appeal.decision_vote", appeal, after={"proposal_id": proposal.id, "user_id": member.member_id,
                                                            "approve": approve, "reason": text},
                     actor=member.member, institution_id=appeal.institution_id)
    _settle(appeal, proposal, member.member)
    db.session.commit()
    return proposal


def _settle(appeal: Appeal, proposal: AppealProposal, actor: User) -> None:
    # Only the members who may act on the appeal decide it (:func:`sitting_refusal`).
    carried = rules.all_approved([m.id for m in sitting_members(appeal)], {v.member_id: v.approve for v in proposal.votes})
    if carried is None:
        return
    if carried is False:
        proposal.status, proposal.closed_at = "rejected", utcnow()
        audit_log.record("appeal.decision_rejected", appeal, after={"proposal_id": proposal.id}, actor=actor,
                         institution_id=appeal.institution_id)
        return
    _decide(appeal, proposal, actor)


def _decide(appeal: Appeal, proposal: AppealProposal, actor: User) -> None:
    """Every member approved: the appeal is decided as proposed, an upheld one's remedy carried out,
    the annex to the protocol stored (an appeal about an enrolment) and the appellant mailed."""
    now = utcnow()
    proposal.status, proposal.closed_at = "final", now
    before = appeal.status
    appeal.status = AppealStatus.UPHELD if proposal.upheld else AppealStatus.DISMISSED
    appeal.decided_at, appeal.justification = now, proposal.justification
    appeal.remedy = proposal.remedy
    appeal.remedy_detail = dict(proposal.remedy_detail) if proposal.remedy_detail else None
    db.session.flush()
    if proposal.upheld:
        try:
            remedies.carry_out(appeal, actor)
        except remedies.RemedyError as error:
            raise AppealError(str(error)) from None
    if appeal.enrolment_id is not None:
        annex = remedies.annex_pdf(appeal)
        appeal.annex_pdf, appeal.annex_sha256 = annex, hashlib.sha256(annex).hexdigest()
    audit_log.record("appeal.decided", appeal, before={"status": before}, after={
        "status": appeal.status, "proposal_id": proposal.id, "remedy": appeal.remedy, "remedy_detail": appeal.remedy_detail,
        "justification": appeal.justification, "annex_sha256": appeal.annex_sha256,
        "votes": {v.member.member_id: v.approve for v in proposal.votes}}, actor=actor,
        institution_id=appeal.institution_id)
    queue_localised(appeal.appellant, "appeal_decided", lambda: _("The decision on your appeal"), appeal=appeal,
         decision=decision_of(appeal), appeal_link=public_url("appeals.show", appeal_id=appeal.id))
