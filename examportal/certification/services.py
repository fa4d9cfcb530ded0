"""Certification: the decision after validation, issuing certificates, their later changes,
fees, the register and public verification.

ISO/IEC 17024 and the ZSK act make certification a decision of its own: a staff member of the
certifying institution takes it after the committee's positive validation decision, and never
someone who examined, operated for, trained or scored the candidate (:func:`involvement`).
Every change is audited (people by id only) and the holder is told by mail.
"""
from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import force_locale
from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.exc import IntegrityError

from ..audit import services as audit_log
from ..committee.corrections import corrected_to_negative, standing_positive
from ..committee.services import committee_for, decision_for
from ..extensions import db
from ..institution.settings import document_marks
from ..mail.services import queue_localised
from ..models import (
    Certificate,
    CertificateDuplicate,
    CertificateEvent,
    CertificateEventKind,
    CertificateStatus,
    CertificationDecision,
    CommitteeMember,
    CriterionResult,
    DecisionProposal,
    DecisionVote,
    DuplicateRequest,
    DuplicateRequestStatus,
    Enrolment,
    EnrolmentStatus,
    Institution,
    OperatorAction,
    Qualification,
    Role,
    Scoresheet,
    SessionStatus,
    User,
    ValidationDecision,
    ValidationSession,
    utcnow,
)
from ..operator.services import concerning as operator_actions_concerning
from ..security import public_url, role_holders
from ..sessions.services import reassessed_enrolments, trained_pairs
from ..theory.statistics import safe_cell
from ..validators import is_valid_pesel, pesel_birth_date
from . import hooks, numbering, pdf, rules
from .rules import _


class CertificationError(ValueError):
    """A rule of certification refused the action; the message says why (translated)."""


class DecisionRefused(CertificationError):
    """Some chosen candidates may not be decided by this person: ``refusals`` maps enrolment id to why."""

    def __init__(self, refusals: dict[int, str]) -> None:
        self.refusals = refusals
        super().__init__(_("Nothing was decided: %(n)d of the chosen candidates cannot be decided by you (see the reasons in the list).",
                           n=len(refusals)))


# --------------------------------------------------------------------------- who may decide


def certifying_institution(enrolment: Enrolment) -> Institution:
    """The institution that certifies the candidate: the session's, or the one it validates for."""
    return enrolment.session.institution.certifying


def certification_decision(enrolment: Enrolment) -> CertificationDecision | None:
    """The standing certification decision of the enrolment (not one an upheld appeal overturned)."""
    return db.session.scalar(select(CertificationDecision).where(CertificationDecision.enrolment_id == enrolment.id,
                                                                 CertificationDecision.overturned_at.is_(None)))


def _operated(user: User, enrolment: Enrolment) -> bool:
    """Whether the user supervised the candidate's exam: the session's operator, an operator action
    on the candidate's theory or practical attempt (or on the whole session), or the recorded absence."""
    if enrolment.session.operator_id == user.id or enrolment.practical_absent_by_id == user.id:
        return True
    acted = select(OperatorAction.id).where(
        OperatorAction.session_id == enrolment.session_id, OperatorAction.operator_id == user.id,
        operator_actions_concerning(enrolment.id))
    return db.session.scalar(acted.limit(1)) is not None


def _scored(user: User, enrolment: Enrolment) -> bool:
    """Whether the user scored the candidate or recorded, proposed, voted on or took their decision."""
    members = select(CommitteeMember.id).where(CommitteeMember.assessor_id == user.id)
    proposals = select(DecisionProposal.id).where(DecisionProposal.enrolment_id == enrolment.id)
    traces: list[Select[Any]] = [
        select(Scoresheet.id).where(Scoresheet.enrolment_id == enrolment.id, Scoresheet.member_id.in_(members)),
        select(CriterionResult.id).where(CriterionResult.enrolment_id == enrolment.id, CriterionResult.recorded_by_id == user.id),
        select(DecisionProposal.id).where(DecisionProposal.enrolment_id == enrolment.id, DecisionProposal.proposed_by_id == user.id),
        select(DecisionVote.id).where(DecisionVote.proposal_id.in_(proposals), DecisionVote.member_id.in_(members)),
        select(ValidationDecision.id).where(ValidationDecision.enrolment_id == enrolment.id,
                                            ValidationDecision.decided_by_id == user.id),
    ]
    return any(db.session.scalar(query.limit(1)) is not None for query in traces)


def assessments(enrolment: Enrolment) -> tuple[Enrolment, ...]:
    """The validations in which the candidate's work for this enrolment was assessed: the enrolment
    itself and, for a new assessment after an upheld appeal, every earlier one whose work it assessed
    again. Whoever examined the candidate in any of them took part in this validation."""
    return (enrolment, *reassessed_enrolments(enrolment))


def involvement(user: User, enrolment: Enrolment) -> str | None:
    """Why the user may not decide the candidate's certification because of their part in the
    validation (translated), or None: the candidate themself, a committee member, the operator,
    the trainer, or anyone who scored or decided the validation — in a new assessment after an
    appeal, in the first assessment as well."""
    if user.id == enrolment.candidate_id:
        return _("You are the candidate: you may not decide your own certification.")
    # A new assessment after an appeal: whoever took part in the first one is involved as well.
    validations = assessments(enrolment)
    if any(member.assessor_id == user.id for validated in validations for member in committee_for(validated)):
        return _("You examined this candidate as a member of the validation committee, so you may not decide their certification.")
    if any(_operated(user, validated) for validated in validations):
        return _("You were the exam-system operator for this candidate, so you may not decide their certification.")
    if trained_pairs([user.id], [enrolment.candidate_id]):
        return _("You trained this candidate, so you may not decide their certification.")
    if any(_scored(user, validated) for validated in validations):
        return _("You scored this candidate or took part in their validation decision, so you may not decide their certification.")
    return None


def validation_stands_positive(enrolment: Enrolment) -> bool:
    """Whether the committee's validation decision on the candidate stands positive today: as the
    last recorded correction left it (a voided item or an upheld appeal may have turned it either
    way), else as decided (:func:`examportal.committee.corrections.standing_positive`).

    Certification follows this at every step: deciding it, and issuing the certificate — in the
    batch job too, which may run after a correction turned the validation negative."""
    validation = decision_for(enrolment)
    return validation is not None and standing_positive(validation)


def decision_refusal(user: User, enrolment: Enrolment) -> str | None:
    """Why the user may not decide this candidate's certification now (translated), or None."""
    certifying = certifying_institution(enrolment)
    if not user.has_role(Role.STAFF, certifying.id):
        return _("Only staff of the certifying institution (%(name)s) decide certification.", name=certifying.name)
    if enrolment.status != EnrolmentStatus.ENROLLED:
        return _("This candidate was withdrawn from the session.")
    if certification_decision(enrolment) is not None:
        return _("The certification decision for this candidate has already been made.")
    if not validation_stands_positive(enrolment):
        return _("Certification follows a positive validation decision of the committee; this candidate has none.")
    return involvement(user, enrolment)


@dataclass
class CandidateRow:
    """One candidate of a session as the certification screen shows them."""

    enrolment: Enrolment
    validation: ValidationDecision | None
    decision: CertificationDecision | None
    certificates: list[Certificate]
    refusal: str | None

    @property
    def validation_positive(self) -> bool | None:
        """The validation decision as it stands today (corrections included); None: not decided."""
        return validation_stands_positive(self.enrolment) if self.validation is not None else None

    @property
    def awaiting(self) -> bool:
        return self.validation_positive is True and self.decision is None


def session_rows(session: ValidationSession, user: User) -> list[CandidateRow]:
    """Every enrolled candidate of the session with their validation result, certification decision,
    certificates and — for those waiting — why this user may not decide them (None: they may)."""
    rows = []
    for enrolment in session.enrolments:
        if enrolment.status != EnrolmentStatus.ENROLLED:
            continue
        decision = certification_decision(enrolment)
        certificates = list(db.session.scalars(select(Certificate).where(Certificate.enrolment_id == enrolment.id)
                                               .order_by(Certificate.id)))
        row = CandidateRow(enrolment, decision_for(enrolment), decision, certificates, None)
        if row.awaiting:
            row.refusal = decision_refusal(user, enrolment)
        rows.append(row)
    return rows


def _lock(enrolment: Enrolment) -> None:
    """Serialise decisions on one candidate (a row lock on PostgreSQL; on SQLite the database's
    write lock, ``extensions._sqlite_locking_read``)."""
    db.session.execute(select(Enrolment.id).where(Enrolment.id == enrolment.id).with_for_update())


def decide(user: User, session: ValidationSession, enrolment_ids: Sequence[int], positive: bool,
           reason: str | None) -> list[CertificationDecision]:
    """Decide the certification of the chosen candidates of a session, all or none.

    Every chosen candidate must wait for the decision and the user must be free to decide them
    (:func:`decision_refusal`); otherwise nothing is decided and :class:`DecisionRefused` names each
    refusal. A negative decision needs its reason, which goes to the candidate. Certificates for
    positive decisions are issued afterwards (:func:`issue_certificate`, by the batch job).
    """
    reason = (reason or "").strip() or None
    if not enrolment_ids:
        raise CertificationError(_("Choose at least one candidate."))
    if not positive and reason is None:
        raise CertificationError(_("A negative certification decision needs its reason: the candidate receives it and may appeal."))
    enrolments = {e.id: e for e in session.enrolments}
    if any(enrolment_id not in enrolments for enrolment_id in enrolment_ids):
        raise CertificationError(_("A chosen candidate is not enrolled in this session. Reload the page."))
    chosen = [enrolments[enrolment_id] for enrolment_id in dict.fromkeys(enrolment_ids)]
    for enrolment in sorted(chosen, key=lambda e: e.id):  # one order for everyone: two batches never deadlock
        _lock(enrolment)
    refusals = {e.id: refusal for e in chosen if (refusal := decision_refusal(user, e)) is not None}
    if refusals:
        raise DecisionRefused(refusals)
    decisions = []
    for enrolment in chosen:
        validation = decision_for(enrolment)
        if validation is None:  # decision_refusal checked it; only a concurrent change gets here
            raise CertificationError(_("The validation decision for a chosen candidate has changed. Reload the page."))
        decision = CertificationDecision(enrolment_id=enrolment.id, validation_decision_id=validation.id, positive=positive,
                                         reason=reason, decided_by_id=user.id, decided_at=utcnow())
        db.session.add(decision)
        db.session.flush()
        audit_log.record("certification.decided", decision, after={
            "enrolment_id": enrolment.id, "candidate_id": enrolment.candidate_id, "positive": positive,
            "reason": reason, "validation_decision_id": validation.id, "by": user.id},
            actor=user, institution_id=certifying_institution(enrolment).id)
        if not positive:
            queue_localised(enrolment.candidate, "certification_refused", lambda: _("Certification decision"),
                  enrolment=enrolment, decision=decision,
                  appeal_days=enrolment.session.qualification.rules.appeal_window_days)
            decision.notified_at = utcnow()  # an appeal's window counts from the day this mail was queued
        decisions.append(decision)
    db.session.commit()
    return decisions


# --------------------------------------------------------------------------- issuing


def validity_years(qualification: Qualification) -> int:
    """The certificate validity of the qualification's definition, in years."""
    years = qualification.rules.certificate_validity_years
    if years is None:
        raise CertificationError(_("The qualification's definition sets no certificate validity: load a complete definition."))
    return years


def _local_date(moment: datetime) -> date:
    return moment.astimezone(rules.WARSAW).date()


def _institution_data(institution: Institution | None) -> dict[str, Any] | None:
    if institution is None:
        return None
    return {"name": institution.name, "short_name": institution.short_name, "city": institution.city,
            "address": institution.address}


def _qualification_data(qualification: Qualification) -> dict[str, Any]:
    """The qualification as the certificate states it: names, PRK level when set, validity and
    every outcome set and learning outcome (a positive validation confirmed all of them)."""
    validity_text = ({"pl": qualification.validity_pl, "en": qualification.validity_en or qualification.validity_pl}
                     if qualification.validity_pl else None)
    return {
        "code": qualification.code,
        "name": {"pl": qualification.name_pl, "en": qualification.name_en},
        "prk_level": qualification.prk_level,
        "validity_years": validity_years(qualification),
        "validity_text": validity_text,
        "outcome_sets": [
            {"number": outcome_set.number, "name": {"pl": outcome_set.name_pl, "en": outcome_set.name_en},
             "outcomes": [{"code": o.code, "name": {"pl": o.name_pl, "en": o.name_en}} for o in outcome_set.outcomes]}
            for outcome_set in qualification.outcome_sets
        ],
    }


def build_content(certificate: Certificate, validated_on: date | None, renewal: bool = False) -> dict[str, Any]:
    """The plain data the certificate's PDF is rendered from (and the verification page shows);
    ``renewal``: it replaces the certificate it supersedes by a renewal, not a correction."""
    supersedes = certificate.supersedes
    return {
        "number": certificate.number,
        "verification_code": certificate.verification_code,
        "verification_url": public_url("verify.show", code=certificate.verification_code),
        "holder": {"first_name": certificate.holder_first_name, "last_name": certificate.holder_last_name,
                   "birth_date": certificate.holder_birth_date.isoformat() if certificate.holder_birth_date else None,
                   "pesel_masked": certificate.holder_pesel_masked},
        "qualification": _qualification_data(certificate.qualification),
        "institution": _institution_data(certificate.institution),
        "validating_institution": _institution_data(certificate.validating_institution),
        "issued_on": certificate.issued_on.isoformat(),
        "valid_until": certificate.valid_until.isoformat(),
        "validated_on": validated_on.isoformat() if validated_on else None,
        "supersedes": ({"number": supersedes.number, "issued_on": supersedes.issued_on.isoformat(),
                        "valid_until": supersedes.valid_until.isoformat(), "renewal": renewal,
                        "verification_url": public_url("verify.show", code=supersedes.verification_code)}
                       if supersedes is not None else None),
        # The issuer's signatory and the SHA-256 of its logo and signature image, as its settings
        # are at issue (the PDF loads the images by these hashes: see pdf.mark_images).
        "issuer_marks": document_marks(certificate.institution),
    }


def _new_certificate(enrolment: Enrolment, *, issued_on: date, valid_until: date, first_name: str, last_name: str,
                     birth_date: date | None, decision: CertificationDecision | None, supersedes: Certificate | None,
                     actor: User | None, renewal: bool = False, numbered_in: int | None = None,
                     after_appeal: int | None = None) -> Certificate:
    """Number and store a certificate (in the caller's transaction); its PDF is rendered next.

    The number is taken in the year of ``issued_on``, or of ``numbered_in`` for a certificate dated
    back (a replacement after an appeal keeps the original dates but is numbered when issued);
    ``after_appeal`` is the id of the appeal such a replacement is issued on (its content says so).
    """
    session = enrolment.session
    issuer = session.institution.certifying
    qualification = session.qualification
    validation = decision_for(enrolment)
    year = numbered_in or issued_on.year
    number, sequence = numbering.take_number(issuer, qualification, year)
    validating = session.institution if session.institution_id != issuer.id else None
    certificate = Certificate(
        number=number, year=year, sequence=sequence, institution=issuer, validating_institution=validating,
        qualification=qualification, enrolment=enrolment, holder=enrolment.candidate, decision=decision,
        supersedes=supersedes, holder_first_name=first_name, holder_last_name=last_name, holder_birth_date=birth_date,
        holder_pesel_masked=rules.mask_pesel(enrolment.candidate.pesel), issued_on=issued_on, valid_until=valid_until,
        state=CertificateStatus.VALID, verification_code=rules.new_verification_code(),
        issued_by_id=actor.id if actor else None)
    with db.session.no_autoflush:
        certificate.content = build_content(certificate, _local_date(validation.decided_at) if validation else None,
                                            renewal=renewal)
        if after_appeal is not None and certificate.content.get("supersedes"):
            certificate.content["supersedes"]["after_appeal"] = after_appeal
        certificate.content_sha256 = pdf.content_sha256(certificate.content)
        db.session.add(certificate)
    db.session.flush()
    audit_log.record("certificate.issued", certificate, after={
        "number": number, "enrolment_id": enrolment.id, "candidate_id": enrolment.candidate_id,
        "decision_id": certificate.decision_id, "supersedes_id": certificate.supersedes_id,
        "issued_on": issued_on, "valid_until": valid_until, "content_sha256": certificate.content_sha256},
        actor=actor, institution_id=issuer.id)
    return certificate


def issued_for(decision: CertificationDecision) -> Certificate | None:
    return db.session.scalar(select(Certificate).where(Certificate.decision_id == decision.id))


def _check_issuable(decision: CertificationDecision) -> None:
    """Refuse a certificate to a negative certification decision, and to one whose validation no
    longer stands positive (:func:`validation_stands_positive`): a correction recorded after the
    certification decision (a voided theory item, an upheld appeal) turned it negative."""
    if not decision.positive:
        raise CertificationError(_("A negative certification decision issues no certificate."))
    if not validation_stands_positive(decision.enrolment):
        raise CertificationError(_("The validation decision no longer stands positive: a certificate cannot be issued."))


def issue_certificate(decision: CertificationDecision, actor: User | None = None) -> Certificate:
    """The certificate for a positive certification decision, numbered and stored (committed).

    Idempotent: the certificate of a decision is created once; a retried job finds it and never
    takes a second number. Its PDF is rendered by :func:`render_issued`. Refused when the
    validation no longer stands positive (:func:`_check_issuable`).
    """
    existing = issued_for(decision)
    if existing is not None:
        return existing
    enrolment = decision.enrolment
    _lock(enrolment)  # the lock a correction of the validation takes: none lands between the check and the number
    db.session.execute(select(CertificationDecision.id).where(CertificationDecision.id == decision.id).with_for_update())
    existing = issued_for(decision)  # issued by another worker while this one waited for the lock
    if existing is not None:
        db.session.commit()
        return existing
    _check_issuable(decision)
    candidate = enrolment.candidate
    issued_on = rules.today()
    certificate = _new_certificate(
        enrolment, issued_on=issued_on, valid_until=rules.valid_until(issued_on, validity_years(enrolment.session.qualification)),
        first_name=candidate.first_name, last_name=candidate.last_name, birth_date=candidate.birth_date,
        decision=decision, supersedes=None, actor=actor)
    db.session.commit()
    return certificate


def issue_rendered(decision: CertificationDecision, actor: User) -> Certificate:
    """The certificate for a positive certification decision — numbered, its PDF rendered, the
    credential hooks run and the holder mailed — in the caller's transaction (for the system
    carrying out an appeal that overturned a refusal; :func:`issue_certificate` and
    :func:`render_issued` are the committing steps of the ordinary batch)."""
    if issued_for(decision) is not None:
        raise CertificationError(_("The certificate for this decision has already been issued."))
    _check_issuable(decision)
    enrolment = decision.enrolment
    candidate = enrolment.candidate
    issued_on = rules.today()
    certificate = _new_certificate(
        enrolment, issued_on=issued_on, valid_until=rules.valid_until(issued_on, validity_years(enrolment.session.qualification)),
        first_name=candidate.first_name, last_name=candidate.last_name, birth_date=candidate.birth_date,
        decision=decision, supersedes=None, actor=actor)
    _store_pdf(certificate, actor)
    queue_localised(certificate.holder, "certificate_issued", lambda: _("Your certificate has been issued"),
          certificate=certificate, **_links(certificate))
    hooks.issued.send(certificate)
    return certificate


def _store_pdf(certificate: Certificate, actor: User | None) -> None:
    data = pdf.render_certificate(certificate.content)
    certificate.pdf, certificate.pdf_sha256, certificate.rendered_at = data, hashlib.sha256(data).hexdigest(), utcnow()
    audit_log.record("certificate.rendered", certificate, after={
        "number": certificate.number, "pdf_sha256": certificate.pdf_sha256, "content_sha256": certificate.content_sha256},
        actor=actor, institution_id=certificate.institution_id)


def render_issued(certificate: Certificate, actor: User | None = None) -> Certificate:
    """Render and store the PDF of a freshly numbered certificate and mail its holder (committed).

    Idempotent: a certificate whose PDF is stored is left as it is, and its holder is not mailed again.
    """
    if certificate.pdf_sha256 is not None:
        return certificate
    locked = db.session.scalar(select(Certificate).where(Certificate.id == certificate.id).with_for_update()
                               .execution_options(populate_existing=True))
    if locked is None or locked.pdf_sha256 is not None:
        db.session.commit()
        return certificate
    _store_pdf(certificate, actor)
    queue_localised(certificate.holder, "certificate_issued", lambda: _("Your certificate has been issued"),
          certificate=certificate, **_links(certificate))
    if certificate.decision is not None and certificate.decision.notified_at is None:
        certificate.decision.notified_at = utcnow()  # the holder's mail about the positive decision
    hooks.issued.send(certificate)
    db.session.commit()
    return certificate


def reprint(user: User, certificate: Certificate) -> bytes:
    """Render the certificate again from its stored content — the same text and data as issued
    (a print spoilt before it was handed over); the print's SHA-256 is audited."""
    refusal = manage_refusal(user, certificate) or rules.action_refusal("reprint", certificate.status_on(rules.today()))
    if refusal:
        raise CertificationError(refusal)
    data = pdf.render_certificate(certificate.content)
    audit_log.record("certificate.reprinted", certificate, after={
        "number": certificate.number, "pdf_sha256": hashlib.sha256(data).hexdigest(),
        "content_sha256": certificate.content_sha256}, actor=user, institution_id=certificate.institution_id)
    db.session.commit()
    return data


def _links(certificate: Certificate) -> dict[str, str]:
    return {"verify_link": public_url("verify.show", code=certificate.verification_code),
            "mine_link": public_url("certification.mine")}



# --------------------------------------------------------------------------- later changes


def manage_refusal(user: User, certificate: Certificate) -> str | None:
    """Why the user may not change the certificate: only staff of the issuing institution may, and
    never on their own certificate (a staff member who holds one does not lift its suspension, correct
    it or issue its duplicate: another staff member does)."""
    if not user.has_role(Role.STAFF, certificate.institution_id):
        return _("Only staff of the certifying institution (%(name)s) change its certificates.", name=certificate.institution.name)
    if user.id == certificate.holder_id:
        return _("This is your own certificate: another staff member must change it.")
    return None


def _locked(certificate: Certificate) -> Certificate:
    locked = db.session.scalar(select(Certificate).where(Certificate.id == certificate.id).with_for_update()
                               .execution_options(populate_existing=True))
    if locked is None:
        raise CertificationError(_("The certificate no longer exists."))
    return locked


def _check(user: User, certificate: Certificate, action: str, reason: str | None) -> str:
    refusal = manage_refusal(user, certificate) or rules.action_refusal(
        action, certificate.status_on(rules.today()), valid_until=certificate.valid_until, on=rules.today())
    if refusal:
        raise CertificationError(refusal)
    text = (reason or "").strip()
    if not text:
        raise CertificationError(_("Give the reason: it is recorded and sent to the holder."))
    return text


_STATE_CHANGES = {
    "suspend": (CertificateStatus.SUSPENDED, CertificateEventKind.SUSPENDED),
    "lift": (CertificateStatus.VALID, CertificateEventKind.SUSPENSION_LIFTED),
    "revoke": (CertificateStatus.REVOKED, CertificateEventKind.REVOKED),
}


def change_status(user: User, certificate: Certificate, action: str, reason: str | None) -> Certificate:
    """Suspend a certificate, lift its suspension or revoke it, with the reason (audited, mailed).

    A suspension is reversible; a revocation is final and nothing undoes it.
    """
    certificate = _locked(certificate)
    text = _check(user, certificate, action, reason)
    apply_status_change(user, certificate, action, text)
    db.session.commit()
    return certificate


def apply_status_change(user: User, certificate: Certificate, action: str, reason: str) -> CertificateEvent:
    """The change of :func:`change_status` in the caller's transaction, without its check that
    the user is staff: for the system carrying out an appeal's remedy (lifting a suspension),
    where ``user`` is who the record names. The status must still allow the change."""
    refusal = rules.action_refusal(action, certificate.status_on(rules.today()), valid_until=certificate.valid_until,
                                   on=rules.today())
    if refusal:
        raise CertificationError(refusal)
    text = reason.strip()
    if not text:
        raise CertificationError(_("Give the reason: it is recorded and sent to the holder."))
    state, kind = _STATE_CHANGES[action]
    before = certificate.state
    certificate.state, certificate.state_changed_at, certificate.state_reason = state, utcnow(), text
    event = CertificateEvent(certificate_id=certificate.id, kind=kind, reason=text, actor_id=user.id, at=utcnow())
    db.session.add(event)
    db.session.flush()
    audit_log.record("certificate.suspended" if action == "suspend" else
                     "certificate.suspension_lifted" if action == "lift" else "certificate.revoked",
                     certificate, before={"state": before}, after={"state": state, "reason": text, "number": certificate.number,
                                                                   "event_id": event.id},
                     actor=user, institution_id=certificate.institution_id)
    queue_localised(certificate.holder, "certificate_changed", lambda: _("A change to your certificate"),
          certificate=certificate, change=kind.value, reason=text, **_links(certificate))
    hooks.status_changed.send(certificate, action=action)
    return event


@corrected_to_negative.connect
def suspend_on_negative_correction(enrolment: Enrolment, actor: User, **_kw: Any) -> list[Certificate]:
    """The certificates issued on the candidate's validation that are valid today, suspended because
    a correction left the validation decision negative (in the caller's transaction).

    A certificate rests on a positive validation: one corrected to negative (a voided theory item
    rescored, an appeal) leaves it without that ground, and the public must not read it as valid
    meanwhile. It is suspended at once, with the reason, audited, the holder mailed; its certifying
    institution's staff are told to revoke it or, should the decision stand positive again, lift the
    suspension (a revocation is final, and theirs to decide).
    """
    suspended = []
    for issued in db.session.scalars(select(Certificate).where(Certificate.enrolment_id == enrolment.id)
                                     .order_by(Certificate.id)):
        certificate = _locked(issued)
        if certificate.status_on(rules.today()) != CertificateStatus.VALID:
            continue
        with force_locale(certificate.holder.locale or "pl"):
            reason = _("The validation result the certificate was issued on has been corrected: it is no longer "
                       "positive. The certifying institution decides whether the certificate is revoked.")
        apply_status_change(actor, certificate, "suspend", str(reason))
        for staff in role_holders([certificate.institution_id], [Role.STAFF]):
            queue_localised(staff, "certificate_suspended_on_correction",
                            lambda: _("A certificate was suspended: its validation result was corrected to negative"),
                            certificate=certificate,
                            certificate_link=public_url("certification.certificate", certificate_id=certificate.id))
        suspended.append(certificate)
    return suspended


def issue_replacement(actor: User, revoked: Certificate, appeal_id: int) -> Certificate:
    """A replacement for a revoked certificate after an appeal overturned the revocation: a new
    number, the holder's data and the ORIGINAL dates of issue and validity as printed on the
    revoked one, whose revocation stands (it stays revoked: revocations are never undone). The PDF
    is rendered, the credential issued (:data:`hooks.issued`) and the holder mailed; in the
    caller's transaction.
    """
    revoked = _locked(revoked)
    if revoked.state != CertificateStatus.REVOKED:
        raise CertificationError(_("Certificate no. %(number)s is not revoked: there is nothing to replace.",
                                   number=revoked.number))
    if revoked.superseded_by is not None:
        raise CertificationError(_("Certificate no. %(number)s has already been replaced by no. %(new)s.",
                                   number=revoked.number, new=revoked.superseded_by.number))
    replacement = _new_certificate(
        revoked.enrolment, issued_on=revoked.issued_on, valid_until=revoked.valid_until,
        first_name=revoked.holder_first_name, last_name=revoked.holder_last_name, birth_date=revoked.holder_birth_date,
        decision=None, supersedes=revoked, actor=actor, numbered_in=rules.today().year, after_appeal=appeal_id)
    audit_log.record("certificate.replaced_after_appeal", revoked, after={
        "number": revoked.number, "replacement_id": replacement.id, "replacement_number": replacement.number,
        "appeal_id": appeal_id}, actor=actor, institution_id=revoked.institution_id)
    _store_pdf(replacement, actor)
    queue_localised(revoked.holder, "certificate_changed", lambda: _("A change to your certificate"),
          certificate=replacement, change="replaced_after_appeal", reason=None, old_number=revoked.number,
          **_links(replacement))
    hooks.issued.send(replacement)
    return replacement


def _pesel_correction(certificate: Certificate, pesel: str | None, birth_date: date | None) -> str | None:
    """The corrected PESEL when it changes the holder's account (None: no change), after its checks:
    a valid PESEL, agreeing with the birth date when one is given, and no other account's."""
    pesel = (pesel or "").strip() or None
    if pesel is None:
        return None
    if not is_valid_pesel(pesel):
        raise CertificationError(_("This PESEL number is not valid: check the digits."))
    if birth_date is not None and pesel_birth_date(pesel) != birth_date:
        raise CertificationError(_("The PESEL number does not match the date of birth."))
    if pesel == certificate.holder.pesel:
        return None
    if db.session.scalar(select(User.id).where(User.pesel == pesel, User.id != certificate.holder_id)) is not None:
        raise CertificationError(_pesel_taken())
    return pesel


def _pesel_taken() -> str:
    return _("This PESEL number is already in another person's account: check the digits, or ask the administrator "
             "to sort out the two accounts.")


def correct(user: User, certificate: Certificate, *, first_name: str, last_name: str, birth_date: date | None,
            reason: str | None, pesel: str | None = None) -> Certificate:
    """Reissue the certificate with corrected holder data (a recorded reason): the new certificate
    gets its own number and keeps the validity of the old one, which becomes ``superseded``; both
    stay in the chain the verification page shows.

    A corrected ``pesel`` (None or empty: unchanged) also corrects the holder's account, and the
    new certificate shows it masked; the audit records only that it changed, never the number.
    """
    certificate = _locked(certificate)
    text = _check(user, certificate, "correct", reason)
    first_name, last_name = first_name.strip(), last_name.strip()
    if not first_name or not last_name:
        raise CertificationError(_("Give the holder's first and last name as they should be printed."))
    new_pesel = _pesel_correction(certificate, pesel, birth_date)
    if new_pesel is None and (first_name, last_name, birth_date) == (
            certificate.holder_first_name, certificate.holder_last_name, certificate.holder_birth_date):
        raise CertificationError(_("Nothing was changed: correct the holder's data first."))
    if new_pesel is not None:
        holder = certificate.holder
        holder.pesel = new_pesel
        try:
            with db.session.begin_nested():  # the unique PESEL: an account given it meanwhile wins
                db.session.flush()
        except IntegrityError:
            raise CertificationError(_pesel_taken()) from None
        audit_log.record("account.pesel_corrected", holder, after={"pesel_changed": True, "certificate_id": certificate.id},
                         actor=user, institution_id=certificate.institution_id)
    replacement = _new_certificate(certificate.enrolment, issued_on=rules.today(), valid_until=certificate.valid_until,
                                   first_name=first_name, last_name=last_name, birth_date=birth_date, decision=None,
                                   supersedes=certificate, actor=user)
    certificate.state, certificate.state_changed_at, certificate.state_reason = CertificateStatus.SUPERSEDED, utcnow(), text
    event = CertificateEvent(certificate_id=certificate.id, kind=CertificateEventKind.CORRECTED, reason=text,
                             actor_id=user.id, at=utcnow())
    db.session.add(event)
    db.session.flush()
    audit_log.record("certificate.corrected", certificate, after={
        "number": certificate.number, "replacement_id": replacement.id, "replacement_number": replacement.number,
        "reason": text, "event_id": event.id, "pesel_changed": new_pesel is not None},
        actor=user, institution_id=certificate.institution_id)
    _store_pdf(replacement, user)
    queue_localised(certificate.holder, "certificate_changed", lambda: _("A change to your certificate"),
          certificate=replacement, change="corrected", reason=text, old_number=certificate.number, **_links(replacement))
    hooks.status_changed.send(certificate, action="supersede")
    hooks.issued.send(replacement)
    db.session.commit()
    return replacement


def renew_certificate(actor: User, certificate: Certificate, *, valid_until: date) -> Certificate:
    """Issue the certificate renewing ``certificate`` after a positive renewal decision, in the
    caller's transaction (the renewal's service commits it with its own records).

    The new certificate gets its own number, today's date of issue and ``valid_until`` (the
    validity continuing from the old expiry: see :func:`examportal.renewals.rules.renewed_valid_until`);
    it keeps the holder's data as the old one printed them (a correction stays corrected). The old
    one becomes ``superseded``; the PDF is rendered and the credential hooks run as for any issue.
    The holder is mailed by the caller, with the decision.
    """
    certificate = _locked(certificate)
    if certificate.state != CertificateStatus.VALID:
        raise CertificationError(rules.action_refusal("correct", certificate.state)
                                 or _("Only a valid certificate can be renewed."))
    renewed = _new_certificate(certificate.enrolment, issued_on=rules.today(), valid_until=valid_until,
                               first_name=certificate.holder_first_name, last_name=certificate.holder_last_name,
                               birth_date=certificate.holder_birth_date, decision=None, supersedes=certificate,
                               actor=actor, renewal=True)
    certificate.state, certificate.state_changed_at = CertificateStatus.SUPERSEDED, utcnow()
    certificate.state_reason = f"renewed: replaced by {renewed.number}"
    audit_log.record("certificate.renewed", certificate, before={"state": CertificateStatus.VALID}, after={
        "state": CertificateStatus.SUPERSEDED, "number": certificate.number, "replacement_id": renewed.id,
        "replacement_number": renewed.number, "valid_until": renewed.valid_until},
        actor=actor, institution_id=certificate.institution_id)
    _store_pdf(renewed, actor)
    hooks.status_changed.send(certificate, action="supersede")
    hooks.issued.send(renewed)
    return renewed


def _duplicate(user: User, certificate: Certificate, reason: str | None,
               request: DuplicateRequest | None = None) -> CertificateDuplicate:
    """Render and store a duplicate of the (locked) certificate, audited and mailed to the holder,
    in the caller's transaction."""
    text = _check(user, certificate, "duplicate", reason)
    issued_on = rules.today()
    data = pdf.render_certificate(certificate.content, duplicate_issued_on=issued_on.isoformat())
    duplicate = CertificateDuplicate(certificate_id=certificate.id, issued_on=issued_on, reason=text, issued_by_id=user.id,
                                     issued_at=utcnow(), pdf=data, pdf_sha256=hashlib.sha256(data).hexdigest())
    db.session.add(duplicate)
    db.session.flush()
    after: dict[str, Any] = {"number": certificate.number, "duplicate_id": duplicate.id, "issued_on": issued_on, "reason": text,
             "pdf_sha256": duplicate.pdf_sha256}
    if request is not None:
        after["request_id"] = request.id
    audit_log.record("certificate.duplicate_issued", certificate, after=after, actor=user,
                     institution_id=certificate.institution_id)
    queue_localised(certificate.holder, "certificate_changed", lambda: _("A change to your certificate"),
          certificate=certificate, change="duplicate", reason=text, **_links(certificate))
    return duplicate


def issue_duplicate(user: User, certificate: Certificate, reason: str | None) -> CertificateDuplicate:
    """A duplicate of the certificate (same number and data, marked "DUPLIKAT" with today's date)."""
    duplicate = _duplicate(user, _locked(certificate), reason)
    db.session.commit()
    return duplicate


# --------------------------------------------------------------------------- duplicates the holder asks for


def open_duplicate_request(certificate: Certificate) -> DuplicateRequest | None:
    """The holder's request for a duplicate of the certificate still waiting for staff, if any."""
    return db.session.scalar(select(DuplicateRequest).where(DuplicateRequest.certificate_id == certificate.id,
                                                            DuplicateRequest.status == DuplicateRequestStatus.OPEN))


def duplicate_request_refusal(user: User, certificate: Certificate) -> str | None:
    """Why the user may not ask for a duplicate of the certificate now (translated), or None.

    Only the holder asks, for a certificate a duplicate may be made of (not revoked, superseded or
    suspended: :func:`rules.action_refusal`) that has not expired — the institution handles an
    expired one itself — and with no request of theirs still waiting.
    """
    if certificate.holder_id != user.id:
        return _("Only the certificate's holder may ask for a duplicate of it.")
    status = certificate.status_on(rules.today())
    refusal = rules.action_refusal("duplicate", status, valid_until=certificate.valid_until, on=rules.today())
    if refusal:
        return refusal
    if status == CertificateStatus.EXPIRED:
        return _("This certificate has expired: a duplicate of it cannot be requested online; contact the certifying "
                 "institution.")
    if open_duplicate_request(certificate) is not None:
        return _already_requested()
    return None


def _already_requested() -> str:
    return _("You have already asked for a duplicate of this certificate: the institution is handling your request.")



def request_duplicate(user: User, certificate: Certificate, reason: str | None) -> DuplicateRequest:
    """The holder asks for a duplicate of their certificate, saying why (the original was lost or
    destroyed); staff of the issuing institution are mailed and handle the request
    (:func:`issue_requested_duplicate`, :func:`refuse_duplicate_request`).

    Refused (:class:`CertificationError`) per :func:`duplicate_request_refusal` or without a reason.
    The certificate's row lock serialises two requests at once, and the database's one-open-request
    index settles any that slip past it.
    """
    certificate = _locked(certificate)
    refusal = duplicate_request_refusal(user, certificate)
    if refusal:
        raise CertificationError(refusal)
    text = (reason or "").strip()
    if not text:
        raise CertificationError(_("Say why you need a duplicate, e.g. the original was lost or destroyed."))
    request = DuplicateRequest(certificate_id=certificate.id, requested_by_id=user.id, requested_at=utcnow(), reason=text,
                               status=DuplicateRequestStatus.OPEN)
    try:
        with db.session.begin_nested():
            db.session.add(request)
    except IntegrityError:
        raise CertificationError(_already_requested()) from None
    audit_log.record("certificate.duplicate_requested", certificate, after={
        "number": certificate.number, "request_id": request.id, "reason": text, "by": user.id},
        actor=user, institution_id=certificate.institution_id)
    for staff in role_holders([certificate.institution_id], [Role.STAFF]):
        queue_localised(staff, "duplicate_requested", lambda: _("A holder asks for a duplicate of a certificate"),
              certificate=certificate, request=request,
              certificate_link=public_url("certification.certificate", certificate_id=certificate.id),
              requests_link=public_url("certification.duplicate_requests"))
    db.session.commit()
    return request


def _pending(request: DuplicateRequest) -> tuple[Certificate, DuplicateRequest]:
    """The request's certificate locked and the request as it is now, still waiting (else refused)."""
    certificate = _locked(request.certificate)
    current = db.session.scalar(select(DuplicateRequest).where(DuplicateRequest.id == request.id)
                                .execution_options(populate_existing=True))
    if current is None or current.status != DuplicateRequestStatus.OPEN:
        raise CertificationError(_("This request has already been handled. Reload the page."))
    return certificate, current


def issue_requested_duplicate(user: User, request: DuplicateRequest) -> CertificateDuplicate:
    """Issue the duplicate a holder asked for, with the holder's reason (as :func:`issue_duplicate`,
    whose rules apply); the request records it. The holder is mailed as for any duplicate."""
    certificate, request = _pending(request)
    duplicate = _duplicate(user, certificate, request.reason, request)
    request.status, request.duplicate_id = DuplicateRequestStatus.ISSUED, duplicate.id
    request.handled_by_id, request.handled_at = user.id, utcnow()
    db.session.commit()
    return duplicate


def refuse_duplicate_request(user: User, request: DuplicateRequest, response: str | None) -> DuplicateRequest:
    """Refuse a holder's request for a duplicate with the reason (``response``), which the holder is
    mailed and sees on their page; only staff of the issuing institution may, whatever the
    certificate's status now."""
    certificate, request = _pending(request)
    refusal = manage_refusal(user, certificate)
    if refusal:
        raise CertificationError(refusal)
    text = (response or "").strip()
    if not text:
        raise CertificationError(_("Give the reason for the refusal: the holder receives it."))
    request.status, request.response = DuplicateRequestStatus.REFUSED, text
    request.handled_by_id, request.handled_at = user.id, utcnow()
    db.session.flush()
    # The response is free text, kept in the request's row: the entry keeps its digest (as "reason").
    audit_log.record("certificate.duplicate_request_refused", certificate, after={
        "number": certificate.number, "request_id": request.id, "reason": text}, actor=user,
        institution_id=certificate.institution_id)
    queue_localised(certificate.holder, "duplicate_request_refused", lambda: _("Your request for a duplicate"),
          certificate=certificate, request=request, **_links(certificate))
    db.session.commit()
    return request


def duplicate_requests(certificate: Certificate) -> list[DuplicateRequest]:
    """Every request for a duplicate of the certificate, newest first."""
    return list(db.session.scalars(select(DuplicateRequest).where(DuplicateRequest.certificate_id == certificate.id)
                                   .order_by(DuplicateRequest.id.desc())))


def holder_duplicate_requests(user: User) -> dict[int, list[DuplicateRequest]]:
    """The holder's requests for duplicates by certificate id, newest first."""
    found: dict[int, list[DuplicateRequest]] = {}
    query = (select(DuplicateRequest).join(Certificate, DuplicateRequest.certificate_id == Certificate.id)
             .where(Certificate.holder_id == user.id).order_by(DuplicateRequest.id.desc()))
    for request in db.session.scalars(query):
        found.setdefault(request.certificate_id, []).append(request)
    return found


def open_duplicate_requests(user: User) -> Select[DuplicateRequest]:
    """Requests still waiting for staff, for certificates of the institutions where the user is staff
    (those they may handle), oldest first."""
    ids = list(user.institution_ids(Role.STAFF))
    return (select(DuplicateRequest).join(Certificate, DuplicateRequest.certificate_id == Certificate.id)
            .where(DuplicateRequest.status == DuplicateRequestStatus.OPEN,
                   Certificate.institution_id.in_(ids) if ids else false())
            .order_by(DuplicateRequest.requested_at, DuplicateRequest.id))


def open_duplicate_request_count(user: User) -> int:
    """How many requests :func:`open_duplicate_requests` lists."""
    return db.session.scalar(select(func.count()).select_from(open_duplicate_requests(user).order_by(None).subquery())) or 0


# --------------------------------------------------------------------------- reading


def chain(certificate: Certificate) -> list[Certificate]:
    """The certificate with those it replaced and those that replaced it, oldest first."""
    first = certificate
    seen = {first.id}
    while first.supersedes is not None and first.supersedes.id not in seen:
        first = first.supersedes
        seen.add(first.id)
    ordered = [first]
    while ordered[-1].superseded_by is not None and ordered[-1].superseded_by.id not in {c.id for c in ordered}:
        ordered.append(ordered[-1].superseded_by)
    return ordered


def viewable_ids(user: User) -> set[int]:
    """Institutions whose certificates the user may see as staff (see :func:`staff_institution_ids`)."""
    from ..security import staff_institution_ids

    return staff_institution_ids(user)


def can_view(user: User, certificate: Certificate) -> bool:
    ids = viewable_ids(user)
    return certificate.institution_id in ids or (certificate.validating_institution_id or 0) in ids


def holder_certificates(user: User) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).where(Certificate.holder_id == user.id)
                                   .order_by(Certificate.issued_on.desc(), Certificate.id.desc())))


def find(text: str) -> Certificate | None:
    """The certificate with this number (any letter case) or verification code, or None."""
    text = text.strip()
    if rules.looks_like_number(text):
        # Numbers are ASCII (see rules.number_prefix): any letter case finds them on every database.
        return db.session.scalar(select(Certificate).where(func.upper(Certificate.number) == text.upper()))
    if rules.looks_like_code(text):
        return by_code(text)
    return None


def by_code(code: str) -> Certificate | None:
    if not rules.looks_like_code(code):
        return None
    return db.session.scalar(select(Certificate).where(Certificate.verification_code == code))


STATUS_COLOURS = {
    CertificateStatus.VALID: "ok", CertificateStatus.SUSPENDED: "warn", CertificateStatus.REVOKED: "danger",
    CertificateStatus.EXPIRED: "muted", CertificateStatus.SUPERSEDED: "muted",
}


def public_view(certificate: Certificate, locale: str) -> dict[str, Any]:
    """What the public verification page may show, as plain data: status, holder's name,
    qualification, issuer, dates, the outcomes confirmed and the chain — nothing else personal
    (no PESEL, birth data or e-mail ever reaches the template)."""
    language = "en" if locale.startswith("en") else "pl"
    content = certificate.content
    qualification = content["qualification"]
    status = certificate.status_on(rules.today())
    validating = content.get("validating_institution")
    return {
        "number": certificate.number,
        "code": certificate.verification_code,
        "status": status.value,
        "status_label": status.label,
        "colour": STATUS_COLOURS[status],
        "holder_name": f"{certificate.holder_first_name} {certificate.holder_last_name}",
        "qualification_code": qualification["code"],
        "qualification_name": qualification["name"][language],
        "prk_level": qualification.get("prk_level"),
        "issuer": content["institution"]["name"],
        "validating_institution": validating["name"] if validating else None,
        "issued_on": certificate.issued_on,
        "valid_until": certificate.valid_until,
        "outcome_sets": [{"number": s["number"], "name": s["name"][language],
                          "outcomes": [{"code": o["code"], "name": o["name"][language]} for o in s["outcomes"]]}
                         for s in qualification["outcome_sets"]],
        "chain": [{"number": c.number, "code": c.verification_code, "issued_on": c.issued_on,
                   "valid_until": c.valid_until, "renewal": is_renewal(c),
                   "status_label": c.status_on(rules.today()).label, "current": c.id == certificate.id}
                  for c in chain(certificate)] if certificate.supersedes_id or certificate.superseded_by else [],
        # A renewal, both ways: the certificate this one renewed, and the one that renewed it.
        "renewed_from": _link(certificate.supersedes) if is_renewal(certificate) else None,
        "renewed_by": (_link(certificate.superseded_by)
                       if certificate.superseded_by is not None and is_renewal(certificate.superseded_by) else None),
    }


def is_renewal(certificate: Certificate) -> bool:
    """Whether the certificate was issued by renewing the one it supersedes (not correcting it)."""
    return bool((certificate.content.get("supersedes") or {}).get("renewal"))


def _link(certificate: Certificate | None) -> dict[str, Any] | None:
    if certificate is None:
        return None
    return {"number": certificate.number, "code": certificate.verification_code, "valid_until": certificate.valid_until}


# --------------------------------------------------------------------------- the register


@dataclass
class RegisterFilter:
    status: str | None = None
    session_id: int | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    expiring_within_days: int | None = None


def _status_clause(status: str, day: date) -> Any:
    live = Certificate.valid_until >= day
    clauses = {
        CertificateStatus.VALID.value: and_(Certificate.state == CertificateStatus.VALID, live),
        CertificateStatus.SUSPENDED.value: and_(Certificate.state == CertificateStatus.SUSPENDED, live),
        CertificateStatus.EXPIRED.value: and_(Certificate.state.in_([CertificateStatus.VALID, CertificateStatus.SUSPENDED]),
                                              Certificate.valid_until < day),
        CertificateStatus.REVOKED.value: Certificate.state == CertificateStatus.REVOKED,
        CertificateStatus.SUPERSEDED.value: Certificate.state == CertificateStatus.SUPERSEDED,
    }
    return clauses.get(status, false())


def register_query(institution_ids: Iterable[int], filters: RegisterFilter) -> Select[Certificate]:
    """Certificates of the institutions (as issuer or validating institution), filtered, newest first."""
    ids = list(institution_ids)
    query = (select(Certificate).join(Enrolment, Certificate.enrolment_id == Enrolment.id)
             .where(or_(Certificate.institution_id.in_(ids), Certificate.validating_institution_id.in_(ids)) if ids else false()))
    day = rules.today()
    if filters.status:
        query = query.where(_status_clause(filters.status, day))
    if filters.session_id:
        query = query.where(Enrolment.session_id == filters.session_id)
    if filters.issued_from:
        query = query.where(Certificate.issued_on >= filters.issued_from)
    if filters.issued_to:
        query = query.where(Certificate.issued_on <= filters.issued_to)
    if filters.expiring_within_days is not None:
        query = query.where(Certificate.state == CertificateStatus.VALID, Certificate.valid_until >= day,
                            Certificate.valid_until <= day + timedelta(days=filters.expiring_within_days))
    return query.order_by(Certificate.issued_on.desc(), Certificate.id.desc())


def register_csv(certificates: Iterable[Certificate]) -> str:
    """The register as CSV (semicolons, UTF-8 with BOM for spreadsheets; every text cell
    formula-safe: a name such as ``=HYPERLINK(...)`` stays text)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL)
    writer.writerow([_("Number"), _("First name"), _("Last name"), _("Qualification"), _("Issued on"), _("Valid through"),
                     _("Status"), _("Session"), _("Fee (PLN)"), _("Reason for no fee")])
    day = rules.today()
    for c in certificates:
        fee = c.enrolment.fee_pln
        writer.writerow([safe_cell(c.number), safe_cell(c.holder_first_name), safe_cell(c.holder_last_name),
                         safe_cell(c.content["qualification"]["code"]), c.issued_on.isoformat(), c.valid_until.isoformat(),
                         safe_cell(c.status_on(day).label), safe_cell(c.enrolment.session.title),
                         "" if fee is None else f"{fee:.2f}", safe_cell(c.enrolment.fee_reason or "")])
    return "\ufeff" + out.getvalue()


# --------------------------------------------------------------------------- fees


@dataclass
class FeeEntry:
    amount: Decimal | None
    reason: str | None


def record_fees(user: User, session: ValidationSession, entries: dict[int, FeeEntry]) -> int:
    """Record the fee charged to each given enrolment of the session (audited); returns how many changed.

    ``amount`` None clears a fee not yet known. The rules are :func:`rules.fee_problem`'s; a
    refused entry refuses them all.
    """
    enrolments = {e.id: e for e in session.enrolments if e.status == EnrolmentStatus.ENROLLED}
    if any(enrolment_id not in enrolments for enrolment_id in entries):
        raise CertificationError(_("A candidate in the form is not enrolled in this session. Reload the page."))
    changed = 0
    for enrolment_id, entry in entries.items():
        reason = (entry.reason or "").strip() or None
        if entry.amount is not None:
            problem = rules.fee_problem(entry.amount, reason)
            if problem:
                raise CertificationError(problem)
        enrolment = enrolments[enrolment_id]
        if (enrolment.fee_pln, enrolment.fee_reason) == (entry.amount, reason if entry.amount is not None else None):
            continue
        if enrolment.candidate_id == user.id:
            raise CertificationError(_("You are a candidate of this session: another staff member records your fee."))
        # The reason is free text (it may say why a person was exempt): the entry keeps its digest.
        before = {"fee_pln": enrolment.fee_pln, "reason": enrolment.fee_reason}
        enrolment.fee_pln, enrolment.fee_reason = entry.amount, reason if entry.amount is not None else None
        audit_log.record("enrolment.fee_recorded", enrolment, before=before, after={
            "fee_pln": enrolment.fee_pln, "reason": enrolment.fee_reason, "candidate_id": enrolment.candidate_id},
            actor=user, institution_id=session.institution_id)
        changed += 1
    db.session.commit()
    return changed


@dataclass
class FeeTotals:
    recorded: int
    revenue: Decimal
    free_of_charge: int
    #: Enrolments whose fee nobody has recorded yet (in none of the figures above).
    not_recorded: int = 0
    #: Of ``free_of_charge``: those free under art. 122a of the education law (rules.FREE_OF_CHARGE_122A).
    free_122a: int = 0

    @property
    def paid(self) -> int:
        """Validations with a fee above 0 zł."""
        return self.recorded - self.free_of_charge

    @property
    def average(self) -> Decimal | None:
        return (self.revenue / self.paid).quantize(Decimal("0.01")) if self.paid else None


def fee_rows(institution_ids: Iterable[int], date_from: date | None, date_to: date | None, *,
             held_only: bool = False) -> Select[Enrolment]:
    """Enrolments of the institutions' sessions (optionally starting within the dates), by session date;
    ``held_only``: not those of cancelled sessions."""
    ids = list(institution_ids)
    query = (select(Enrolment).join(ValidationSession, Enrolment.session_id == ValidationSession.id)
             .where(ValidationSession.institution_id.in_(ids) if ids else false(),
                    Enrolment.status == EnrolmentStatus.ENROLLED))
    if held_only:
        query = query.where(ValidationSession.status != SessionStatus.CANCELLED)
    if date_from:
        query = query.where(ValidationSession.starts_at >= datetime.combine(date_from, datetime.min.time(), rules.WARSAW))
    if date_to:
        query = query.where(ValidationSession.starts_at < datetime.combine(date_to + timedelta(days=1), datetime.min.time(),
                                                                           rules.WARSAW))
    return query.order_by(ValidationSession.starts_at.desc(), Enrolment.id)


def fee_totals(enrolments: Iterable[Enrolment]) -> FeeTotals:
    """The fee figures of the enrolments: recorded fees, their revenue, those free of charge (and of them
    under art. 122a), and how many have no fee recorded yet."""
    every = list(enrolments)
    recorded = [e for e in every if e.fee_pln is not None]
    free = [e for e in recorded if e.fee_pln == 0]
    return FeeTotals(recorded=len(recorded), revenue=sum((e.fee_pln for e in recorded if e.fee_pln), Decimal("0.00")),
                     free_of_charge=len(free), not_recorded=len(every) - len(recorded),
                     free_122a=sum(1 for e in free if e.fee_reason == rules.FREE_OF_CHARGE_122A))
