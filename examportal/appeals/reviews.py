"""The right to see one's exam work: the candidate asks within the qualification's
``review_request_days`` of the validation decision being sent; staff of the certifying institution
grant it for a set number of days (or refuse with a reason); while it is open the candidate reads,
and only reads, their theory answers with the key, the replay of their practical exam's action log
and the committee's per-criterion results and justification. Every step is audited and mailed.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, false, or_, select

from sandbox_crm import api as sandbox_api

from ..audit import services as audit_log
from ..certification.rules import _
from ..certification.services import certifying_institution
from ..committee import services as committee
from ..extensions import db
from ..mail.services import queue_localised
from ..models import (
    Criterion,
    CriterionResult,
    Enrolment,
    Institution,
    PracticalAttempt,
    Role,
    TheoryAttempt,
    User,
    ValidationDecision,
    ValidationSession,
    WorkReview,
    WorkReviewStatus,
    utcnow,
)
from ..practical import services as practical_services
from ..security import public_url, role_holders
from . import rules
from .services import AppealError, validation_sent_moment


def sent_on(decision: ValidationDecision) -> date:
    """The day the validation decision as it stands was sent (its mail queued, else the day it was
    taken; a decision staff corrected: the correction's), as the appeal window counts it."""
    return rules.local_day(validation_sent_moment(decision))


def window_days(enrolment: Enrolment) -> int:
    return enrolment.session.qualification.rules.review_request_days


def pending(enrolment: Enrolment, on: datetime | None = None) -> WorkReview | None:
    """The candidate's request that is waiting, or granted and still open."""
    now = on or utcnow()
    for review in reviews_of(enrolment):
        if review.status == WorkReviewStatus.REQUESTED:
            return review
        if review.status == WorkReviewStatus.GRANTED and review.open_until is not None and review.open_until > now:
            return review
    return None


def reviews_of(enrolment: Enrolment) -> list[WorkReview]:
    return list(db.session.scalars(select(WorkReview).where(WorkReview.enrolment_id == enrolment.id)
                                   .order_by(WorkReview.id.desc())))


def request_refusal(user: User, enrolment: Enrolment, on: date | None = None) -> str | None:
    """Why ``user`` may not ask to see their work of ``enrolment`` now (translated), or None."""
    if enrolment.candidate_id != user.id:
        return _("Only the candidate may ask to see their exam work.")
    decision = committee.decision_for(enrolment)
    if decision is None:
        return _("You may ask to see your exam work once the committee's decision has been sent to you.")
    late = rules.review_refusal(sent_on(decision), window_days(enrolment), on or rules.today())
    if late:
        return late
    if pending(enrolment) is not None:
        return _("You have already asked to see your exam work: see the state of your request on “My appeals”.")
    return None


def request(user: User, enrolment: Enrolment) -> WorkReview:
    """The candidate asks to see their exam work; staff of the certifying institution are mailed."""
    db.session.execute(select(Enrolment.id).where(Enrolment.id == enrolment.id).with_for_update())
    refusal = request_refusal(user, enrolment)
    if refusal:
        raise AppealError(refusal)
    decision = committee.decision_for(enrolment)
    if decision is None:  # request_refusal checked it
        raise AppealError(_("You may ask to see your exam work once the committee's decision has been sent to you."))
    review = WorkReview(enrolment_id=enrolment.id, candidate_id=user.id, requested_at=utcnow(), sent_on=sent_on(decision),
                        status=WorkReviewStatus.REQUESTED)
    db.session.add(review)
    db.session.flush()
    institution = certifying_institution(enrolment)
    audit_log.record("work_review.requested", review, after={"enrolment_id": enrolment.id, "candidate_id": user.id,
                                                             "sent_on": review.sent_on}, actor=user,
                     institution_id=institution.id)
    for staff in role_holders([institution.id], [Role.STAFF]):
        queue_localised(staff, "appeal_work_review_requested", lambda: _("A candidate asks to see their exam work"), review=review,
             staff_link=public_url("appeals.staff_reviews"))
    db.session.commit()
    return review


def can_manage(user: User, review: WorkReview) -> bool:
    return user.has_role(Role.STAFF, certifying_institution(review.enrolment).id)


def _decidable(user: User, review: WorkReview) -> WorkReview:
    locked = db.session.scalar(select(WorkReview).where(WorkReview.id == review.id).with_for_update()
                               .execution_options(populate_existing=True))
    if locked is None:
        raise AppealError(_("The request no longer exists."))
    if not can_manage(user, locked):
        raise AppealError(_("Only staff of the certifying institution decide requests to see exam work."))
    if user.id == locked.candidate_id:
        raise AppealError(_("This is your own request: another staff member decides it."))
    if locked.status != WorkReviewStatus.REQUESTED:
        raise AppealError(_("This request has already been decided. Reload the page."))
    return locked


def grant(user: User, review: WorkReview, days: int | None, on: date | None = None) -> WorkReview:
    """Staff grant the request for ``days`` days (1 to 30), through the end of the last one (Warsaw)."""
    review = _decidable(user, review)
    if days is None or not 1 <= days <= rules.REVIEW_DAYS_MAX:
        raise AppealError(_("Give the number of days the work stays open: 1 to %(max)d.", max=rules.REVIEW_DAYS_MAX))
    review.status, review.decided_by_id, review.decided_at = WorkReviewStatus.GRANTED, user.id, utcnow()
    review.open_until = rules.review_open_until(on or rules.today(), days)
    audit_log.record("work_review.granted", review, before={"status": WorkReviewStatus.REQUESTED}, after={
        "status": review.status, "open_until": review.open_until, "days": days, "by": user.id}, actor=user,
        institution_id=certifying_institution(review.enrolment).id)
    queue_localised(review.candidate, "appeal_work_review_granted", lambda: _("You may see your exam work"), review=review,
         last_day=rules.review_last_day(review.open_until),
         work_link=public_url("appeals.review_work", review_id=review.id))
    db.session.commit()
    return review


def refuse(user: User, review: WorkReview, reason: str | None) -> WorkReview:
    """Staff refuse the request with a reason, which the candidate receives."""
    review = _decidable(user, review)
    text = (reason or "").strip()
    if not text:
        raise AppealError(_("Give the reason for the refusal: the candidate receives it."))
    review.status, review.decided_by_id, review.decided_at = WorkReviewStatus.REFUSED, user.id, utcnow()
    review.refusal_reason = text
    audit_log.record("work_review.refused", review, before={"status": WorkReviewStatus.REQUESTED}, after={
        "status": review.status, "reason": text, "by": user.id}, actor=user,
        institution_id=certifying_institution(review.enrolment).id)
    queue_localised(review.candidate, "appeal_work_review_refused", lambda: _("Your request to see your exam work"), review=review,
         mine_link=public_url("appeals.mine"))
    db.session.commit()
    return review


def is_open(review: WorkReview, now: datetime | None = None) -> bool:
    """Granted and not yet past ``open_until``."""
    return (review.status == WorkReviewStatus.GRANTED and review.open_until is not None
            and (now or utcnow()) < review.open_until)


def candidate_reviews(user: User) -> list[WorkReview]:
    return list(db.session.scalars(select(WorkReview).where(WorkReview.candidate_id == user.id)
                                   .order_by(WorkReview.id.desc())))


def staff_query(user: User, status: str = "requested") -> Select[WorkReview]:
    """Requests of candidates validated at (or for) the certifying institutions where ``user`` is
    staff: ``status`` "requested", "granted", "refused" or "all", the oldest first."""
    ids = [i for i in user.institution_ids(Role.STAFF)
           if (institution := db.session.get(Institution, i)) is not None and institution.parent_id is None]
    query = (select(WorkReview).join(Enrolment, WorkReview.enrolment_id == Enrolment.id)
             .join(ValidationSession, Enrolment.session_id == ValidationSession.id)
             .join(Institution, ValidationSession.institution_id == Institution.id)
             .where(or_(Institution.id.in_(ids), Institution.parent_id.in_(ids)) if ids else false()))
    if status != "all":
        query = query.where(WorkReview.status == WorkReviewStatus(status))
    return query.order_by(WorkReview.requested_at, WorkReview.id)


# --------------------------------------------------------------------------- the work, read-only


@dataclass(frozen=True)
class ResultRow:
    criterion: Criterion
    result: CriterionResult | None


@dataclass(frozen=True)
class Work:
    """What the candidate (or the appeal's panel) reads of an enrolment's exam work."""

    enrolment: Enrolment
    theory: TheoryAttempt | None
    practical: PracticalAttempt | None
    replay: list[sandbox_api.ReplayRow]
    decision: ValidationDecision | None
    results: list[ResultRow]
    summary: Any


def work(enrolment: Enrolment) -> Work:
    """The enrolment's exam work: the theory attempt as shown (answers and key), the practical
    exam's action log as a timeline, the committee's per-criterion results and its decision."""
    attempt = committee.theory_attempt(enrolment)
    theory = attempt if attempt is not None and attempt.submitted_at is not None else None
    exam = practical_services.assessed_attempt(enrolment)
    replay = sandbox_api.replay(exam.workspace_id) if exam is not None else []
    decision = committee.decision_for(enrolment)
    recorded = committee.results(enrolment)
    rows = [ResultRow(c, recorded.get(c.code)) for c in committee.all_criteria(enrolment)]
    return Work(enrolment=enrolment, theory=theory, practical=exam, replay=replay, decision=decision, results=rows,
                summary=committee.summary(enrolment) if decision is not None else None)

