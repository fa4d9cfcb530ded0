"""Voiding a faulty theory item: the only route by which a test criterion's result changes.

Staff of the certifying institution void an item with a reason; every submitted attempt that drew
it is rescored without it by the system. Recorded test-criterion results follow where no decision
has been made; a final decision is never changed here: it is listed to staff, who correct it
through the recorded-correction route.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select

from question_bank import items as bank

from ..audit import services as audit_log
from ..committee import services as committee
from ..extensions import db
from ..models import AttemptItem, AttemptStatus, InstitutionKind, Role, TheoryAttempt, User, VoidedItem, utcnow
from . import services


class VoidError(ValueError):
    """Voiding refused; the message says why (translated)."""


@dataclass
class VoidReport:
    voided: VoidedItem
    rescored: list[TheoryAttempt] = field(default_factory=list)
    changed: list[TheoryAttempt] = field(default_factory=list)  # the pass/fail outcome changed
    followed: dict[str, list[TheoryAttempt]] = field(default_factory=dict)  # committee outcome → attempts


def may_void(user: User) -> bool:
    """Staff of a certifying institution (the bank is theirs)."""
    return any(r.role == Role.STAFF and r.institution is not None and r.institution.kind == InstitutionKind.CERTIFYING
               for r in user.roles)


def drew_item(user: User, item_id: str) -> bool:
    """Whether ``user`` drew the item in a theory test of their own (as a candidate): voiding it
    would rescore their own attempt, so they may not (nobody changes their own result)."""
    return db.session.scalar(
        select(AttemptItem.id).join(TheoryAttempt, AttemptItem.attempt_id == TheoryAttempt.id)
        .where(AttemptItem.item_id == item_id, TheoryAttempt.candidate_id == user.id).limit(1)) is not None


def void_item(actor: User, item_id: str, reason: str) -> VoidReport:
    """Void the item and rescore every submitted attempt that drew it. Refused to whoever drew the
    item in their own test (:func:`drew_item`)."""
    if not may_void(actor):
        raise VoidError(_("Only the certifying institution's staff void an item."))
    item_id, reason = (item_id or "").strip(), (reason or "").strip()
    try:
        known = {item.id for item in services.all_bank_items()}
    except bank.BankError as error:
        raise VoidError(_("The item bank cannot be used at the moment.")) from error
    if item_id not in known:
        raise VoidError(_("There is no item %(id)s in the bank.", id=item_id[:80]))
    if db.session.scalar(select(VoidedItem.id).where(VoidedItem.item_id == item_id)) is not None:
        raise VoidError(_("Item %(id)s has already been voided.", id=item_id))
    if drew_item(actor, item_id):
        raise VoidError(_("Item %(id)s was in your own theory test: voiding it would change your own result. Another "
                          "staff member must void it.", id=item_id))
    if not reason:
        raise VoidError(_("Give the reason the item is faulty: it goes into the record of every rescored attempt."))
    voided = VoidedItem(item_id=item_id, reason=reason, voided_by_id=actor.id, voided_at=utcnow())
    db.session.add(voided)
    db.session.flush()
    audit_log.record("theory.item_voided", voided, after={"item_id": item_id, "reason": reason})
    report = VoidReport(voided)
    excluded = services.voided_ids() | {item_id}
    attempts = db.session.scalars(
        select(TheoryAttempt).join(AttemptItem, AttemptItem.attempt_id == TheoryAttempt.id)
        .where(AttemptItem.item_id == item_id, TheoryAttempt.status == AttemptStatus.SUBMITTED)
        .order_by(TheoryAttempt.id).with_for_update(of=TheoryAttempt))
    for attempt in attempts:
        before = audit_log.snapshot(attempt, services.ATTEMPT_FIELDS)
        services.score(attempt, excluded)
        report.rescored.append(attempt)
        if before.get("passed") != attempt.passed:
            report.changed.append(attempt)
        audit_log.record("theory.rescored", attempt, before=before,
                         after={**audit_log.snapshot(attempt, services.ATTEMPT_FIELDS), "voided_item": item_id},
                         institution_id=attempt.session.institution_id)
        if attempt.released_at is not None:
            outcome = committee.follow_rescored_theory(attempt.enrolment)
            if outcome:
                report.followed.setdefault(outcome, []).append(attempt)
    db.session.commit()
    return report


def voided_items() -> list[VoidedItem]:
    return list(db.session.scalars(select(VoidedItem).order_by(VoidedItem.voided_at.desc())))
