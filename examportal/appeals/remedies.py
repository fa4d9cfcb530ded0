"""What the system carries out when an appeal is upheld (the remedy), and the annex to the
validation protocol with the panel's decision.

The appeals core (:mod:`.deciding` and the panel's pages) uses five things:

- :func:`applicable` — the remedies that fit the decision appealed *as it stands now*: an
  application's formal check or a renewal is decided again (RECONSIDER); the conduct of the theory
  test: a retake of the theory part without a fee, or a recorded correction; the conduct of the
  practical exam: a retake of the practical part, or a new assessment of the work by a new
  committee (REASSESSMENT); the validation decision: a new assessment, a retake or a correction;
  a refused certification: the certificate issued; a suspension: lifted; a revocation: a
  replacement certificate with the original dates (the revocation itself stands). A remedy whose
  precondition does not hold (no final decision to correct, no practical work to assess again, a
  suspension already lifted ...) is left out — :func:`refusal` says why.
  **NONE** ("upheld, nothing to carry out") is never listed: it is allowed only when no remedy
  applies (the core offers it then), so a panel that upholds an appeal cannot leave the
  candidate with nothing when the system can give them something.
- :func:`detail_from_form` — the remedy's parameters from the proposal form (the fields of the
  ``remedy_fields`` macro in ``templates/appeals/_remedy_fields.html``).
- :func:`carry_out` — does it, records what it produced (ids) in ``appeal.remedy_detail`` and
  ``remedy_done_at``, audits, mails the candidate; flushes, never commits.
- :func:`annex_pdf` — the annex (Polish, fixed text); :func:`protocol_with_annexes` appends the
  annexes of decided appeals to the stored protocol when it is downloaded (the stored protocol
  and its hash never change).
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from io import BytesIO
from typing import Any

from flask import render_template
from flask_babel import force_locale, get_locale
from pypdf import PdfWriter
from sqlalchemy import select

from ..audit import services as audit_log
from ..audit.services import snapshot
from ..certification import services as certification
from ..certification.rules import WARSAW, _, today
from ..committee import corrections
from ..committee import services as committee
from ..extensions import db
from ..mail.services import queue_localised
from ..models import (
    Appeal,
    AppealRemedy,
    AppealStatus,
    AppealSubject,
    Application,
    ApplicationStatus,
    CertificateEvent,
    CertificateEventKind,
    CertificateStatus,
    CertificationDecision,
    DecisionCorrection,
    Enrolment,
    EnrolmentStatus,
    RenewalApplication,
    RenewalStatus,
    Role,
    SessionStatus,
    User,
    ValidationDecision,
    ValidationSession,
    utcnow,
)
from ..pdf import render_pdf
from ..security import public_url, role_holders
from ..sessions import services as sessions
from ..theory.clock import add_months
from ..theory.services import counted_attempt
from . import services

#: The reason recorded when the system lifts a suspension an appeal overturned.
LIFT_REASON = "odwołanie uwzględnione"
#: The fee reason of the enrolment a new assessment after an appeal creates.
REASSESSMENT_FEE_REASON = "ponowna ocena po uwzględnieniu odwołania"
#: How far ahead a new assessment's session is put (staff move it on the session's page).
REASSESSMENT_AFTER_DAYS = 7
REASSESSMENT_AT = time(9, 0)

PARTS = ("theory", "practical")
#: The form fields of the ``remedy_fields`` macro.
PART_FIELD = "remedy-part"
MET_FIELD = "remedy-met-"


class RemedyError(ValueError):
    """A remedy cannot be ordered or carried out; the message says why (translated)."""


# --------------------------------------------------------------------------- what the appeal is about


def _record(appeal: Appeal) -> Any:
    decision = services.load(appeal.subject, appeal.subject_id)
    return decision.record if decision is not None else None


def _enrolment(appeal: Appeal, record: Any = None) -> Enrolment | None:
    """The enrolment the decision appealed belongs to (None for an application's formal check)."""
    if appeal.enrolment is not None:
        return appeal.enrolment
    record = record if record is not None else _record(appeal)
    return getattr(record, "enrolment", None) if appeal.subject != AppealSubject.APPLICATION else None


def _unmet(appeal: Appeal, enrolment: Enrolment) -> list[str]:
    """The criteria a correction may turn to met: unmet now (as recorded, corrections included);
    for an appeal about the theory test, only the criteria the test verifies."""
    rows = committee.results(enrolment)
    test_only = appeal.subject == AppealSubject.THEORY
    return [c.code for c in committee.all_criteria(enrolment)
            if (row := rows.get(c.code)) is not None and not row.met and (not test_only or c.method == "test")]


def retake_parts(appeal: Appeal) -> list[str]:
    """Which parts a retake may be of: the theory part for its conduct, the practical part for its
    conduct, either after the validation decision — the practical part only after a passed theory
    part (which the retake then recognises)."""
    enrolment = _enrolment(appeal)
    if enrolment is None:
        return []
    attempt = counted_attempt(enrolment)
    theory_passed = attempt is not None and attempt.passed is True and attempt.released_at is not None
    wanted = {AppealSubject.THEORY: ("theory",), AppealSubject.PRACTICAL: ("practical",),
              AppealSubject.VALIDATION: PARTS}.get(appeal.subject, ())
    return [part for part in wanted if part == "theory" or theory_passed]


def _reassessments(enrolment: Enrolment) -> list[Enrolment]:
    return list(db.session.scalars(select(Enrolment).where(Enrolment.reassessment_of_id == enrolment.id,
                                                           Enrolment.status == EnrolmentStatus.ENROLLED)))


_CANDIDATES: dict[AppealSubject, tuple[AppealRemedy, ...]] = {
    AppealSubject.APPLICATION: (AppealRemedy.RECONSIDER,),
    AppealSubject.THEORY: (AppealRemedy.RETAKE, AppealRemedy.CORRECTION),
    AppealSubject.PRACTICAL: (AppealRemedy.RETAKE, AppealRemedy.REASSESSMENT),
    AppealSubject.VALIDATION: (AppealRemedy.REASSESSMENT, AppealRemedy.RETAKE, AppealRemedy.CORRECTION),
    AppealSubject.CERTIFICATION: (AppealRemedy.ISSUE_CERTIFICATE,),
    AppealSubject.CERTIFICATE: (AppealRemedy.LIFT_SUSPENSION, AppealRemedy.REPLACEMENT),
    AppealSubject.RENEWAL: (AppealRemedy.RECONSIDER,),
}


def refusal(appeal: Appeal, remedy: AppealRemedy) -> str | None:
    """Why ``remedy`` cannot be ordered on this appeal now (translated), or None when it can."""
    if remedy not in _CANDIDATES.get(appeal.subject, ()):
        return _("This remedy does not fit %(subject)s.", subject=appeal.subject.label)
    record = _record(appeal)
    if record is None:
        return _("The decision appealed no longer exists.")
    enrolment = _enrolment(appeal, record)
    if remedy == AppealRemedy.RECONSIDER:
        return _reconsider_refusal(appeal, record)
    if remedy in (AppealRemedy.LIFT_SUSPENSION, AppealRemedy.REPLACEMENT):
        return _certificate_refusal(remedy, record)
    if remedy == AppealRemedy.ISSUE_CERTIFICATE:
        if record.positive:
            return _("The certification decision is positive: there is nothing to overturn.")
        if not corrections.standing_positive(record.validation_decision):
            return _("The validation decision no longer stands positive: a certificate cannot be issued.")
        return None
    if enrolment is None:
        return _("This decision belongs to no validation.")
    if remedy == AppealRemedy.RETAKE:
        return None if retake_parts(appeal) else _("No part can be taken again: the practical part needs a passed theory part.")
    decision = committee.decision_for(enrolment)
    if decision is None:
        return _("The committee has not decided yet: there is no final decision to correct or assess again.")
    if remedy == AppealRemedy.CORRECTION:
        return None if _unmet(appeal, enrolment) else _("Every criterion is met already: there is nothing to correct.")
    # REASSESSMENT
    attempt = committee.practical_attempt(enrolment)
    if attempt is None or attempt.is_running:
        return _("There is no finished practical work to assess again: order a retake instead.")
    if _reassessments(enrolment):
        return _("A new assessment of this work has already been ordered.")
    return None


def _reconsider_refusal(appeal: Appeal, record: Any) -> str | None:
    if appeal.subject == AppealSubject.APPLICATION:
        if record.status != ApplicationStatus.REJECTED:
            return _("The application is not rejected: there is nothing to decide again.")
        session = record.session
        if session.status != SessionStatus.PLANNED or session.starts_at <= utcnow():
            return _("The session of this application has started: its applications can no longer be decided.")
        return None
    if record.status != RenewalStatus.REJECTED:
        return _("The renewal is not rejected: there is nothing to decide again.")
    return None


def _certificate_refusal(remedy: AppealRemedy, event: CertificateEvent) -> str | None:
    certificate = event.certificate
    if remedy == AppealRemedy.LIFT_SUSPENSION:
        if event.kind != CertificateEventKind.SUSPENDED:
            return _("The decision appealed is not a suspension.")
        if certificate.state != CertificateStatus.SUSPENDED:
            return _("Certificate no. %(number)s is not suspended now.", number=certificate.number)
        return None
    if event.kind != CertificateEventKind.REVOKED:
        return _("The decision appealed is not a revocation.")
    if certificate.superseded_by is not None:
        return _("Certificate no. %(number)s has already been replaced.", number=certificate.number)
    return None


def applicable(appeal: Appeal) -> list[AppealRemedy]:
    """The remedies that fit the decision appealed as it stands now, in the order offered (see the
    module's docstring). Never NONE: that is allowed only when this list is empty."""
    return [remedy for remedy in _CANDIDATES.get(appeal.subject, ()) if refusal(appeal, remedy) is None]


# --------------------------------------------------------------------------- the proposal form


@dataclass(frozen=True)
class RemedyOptions:
    """What the ``remedy_fields`` macro offers: the parts a retake may be of (value, label) and the
    criteria a correction may turn to met (code, text)."""

    parts: list[tuple[str, str]]
    unmet: list[tuple[str, str]]


def part_label(part: str) -> str:
    return _("the theory part (the test)") if part == "theory" else _("the practical part (the task in the CRM)")


def options(appeal: Appeal) -> RemedyOptions:
    """The choices of the remedy fields for this appeal (registered as the template global ``remedy_options``)."""
    enrolment = _enrolment(appeal)
    locale = str(get_locale() or "pl")
    unmet: list[tuple[str, str]] = []
    if enrolment is not None and AppealRemedy.CORRECTION in _CANDIDATES.get(appeal.subject, ()):
        texts = {c.code: c.text(locale) for c in committee.all_criteria(enrolment)}
        unmet = [(code, texts[code]) for code in _unmet(appeal, enrolment)] if committee.decision_for(enrolment) else []
    parts = [(part, part_label(part)) for part in retake_parts(appeal)] \
        if AppealRemedy.RETAKE in _CANDIDATES.get(appeal.subject, ()) else []
    return RemedyOptions(parts=parts, unmet=unmet)


def detail_from_form(appeal: Appeal, remedy: AppealRemedy, formdata: Mapping[str, Any]) -> dict[str, Any] | None:
    """The remedy's parameters from the proposal form (``formdata``: the posted fields), checked:

    - RETAKE: which part (``remedy-part``: "theory" or "practical", as :func:`retake_parts` allows);
    - CORRECTION: which unmet criteria are now met (``remedy-met-<code>`` ticked; at least one),
      with the decision that follows — positive only when the committee's rule confirms every
      learning outcome with the corrected results (the panel cannot call positive what it is not);
    - the others take none (None).

    Refused (:class:`RemedyError`) for a remedy that does not apply and for bad input.
    """
    if remedy == AppealRemedy.NONE:
        if applicable(appeal):
            raise RemedyError(_("Choose what the system carries out: an upheld appeal has a remedy here."))
        return None
    why = refusal(appeal, remedy)
    if why:
        raise RemedyError(why)
    if remedy == AppealRemedy.RETAKE:
        allowed = retake_parts(appeal)
        part = str(formdata.get(PART_FIELD) or "").strip()
        if not part and len(allowed) == 1:
            part = allowed[0]
        if part not in allowed:
            raise RemedyError(_("Choose which part the candidate takes again without a fee."))
        return {"part": part}
    if remedy == AppealRemedy.CORRECTION:
        enrolment = _enrolment(appeal)
        decision = committee.decision_for(enrolment) if enrolment is not None else None
        if enrolment is None or decision is None:  # refusal() checked it
            raise RemedyError(_("There is no final decision to correct."))
        chosen = [code for code in _unmet(appeal, enrolment) if formdata.get(MET_FIELD + code)]
        if not chosen:
            raise RemedyError(_("Tick at least one criterion the panel finds met: a correction changes a result."))
        try:
            change = corrections.preview(decision, dict.fromkeys(chosen, True))
        except corrections.CorrectionError as error:
            raise RemedyError(str(error)) from None
        return {"criteria": change.criteria, "positive_before": change.positive_before,
                "positive_after": change.positive_after}
    return None


# --------------------------------------------------------------------------- carrying it out


def carry_out(appeal: Appeal, actor: User) -> None:
    """Carry out the upheld appeal's remedy and record what it produced in ``appeal.remedy_detail``
    (ids of the new session, enrolment, correction, certificate ...) and ``remedy_done_at``; audited,
    the candidate mailed in their language. In the caller's transaction (flushed, not committed).

    ``actor`` is who the records name as acting (the panel member whose vote carried the decision):
    the system acts on the panel's decision, so the checks of a staff member's own actions do not
    apply; the rules of the records themselves do (a revocation is never undone, a decision is
    positive only when the rule says so ...). NONE carries out nothing.
    """
    if appeal.status != AppealStatus.UPHELD:
        raise RemedyError(_("Only an upheld appeal has a remedy to carry out."))
    if appeal.remedy_done_at is not None:
        raise RemedyError(_("The remedy of this appeal has already been carried out."))
    if appeal.remedy == AppealRemedy.NONE:
        return
    why = refusal(appeal, appeal.remedy)
    if why:
        raise RemedyError(why)
    record = _record(appeal)
    try:
        produced = _HANDLERS[appeal.remedy](appeal, actor, record)
    except (corrections.CorrectionError, certification.CertificationError, sessions.SessionRuleError) as error:
        raise RemedyError(str(error)) from None
    appeal.remedy_detail = {**(appeal.remedy_detail or {}), **produced}
    appeal.remedy_done_at = utcnow()
    db.session.flush()
    audit_log.record("appeal.remedy_carried_out", appeal, after={
        "remedy": appeal.remedy, "detail": appeal.remedy_detail, "subject": appeal.subject,
        "subject_id": appeal.subject_id}, actor=actor, institution_id=appeal.institution_id)


def _mail(user: User, appeal: Appeal, **context: Any) -> None:
    queue_localised(user, "appeal_remedy", lambda: _("Your upheld appeal: what happens now"), appeal=appeal,
                  appeal_link=public_url("appeals.show", appeal_id=appeal.id), **context)


def _correction(appeal: Appeal, actor: User, record: Any) -> dict[str, Any]:
    enrolment = _enrolment(appeal, record)
    decision = committee.decision_for(enrolment) if enrolment is not None else None
    if decision is None:
        raise RemedyError(_("There is no final decision to correct."))
    wanted = (appeal.remedy_detail or {}).get("criteria") or {}
    allowed = set(_unmet(appeal, decision.enrolment))
    after = {code: True for code, change in wanted.items()
             if isinstance(change, Mapping) and change.get("after") is True and code in allowed}
    if not after:
        raise RemedyError(_("The correction names no criterion that is unmet now: nothing can be corrected."))
    correction = corrections.record(actor, decision, after, appeal.justification, appeal=appeal)
    # What was recorded (the state may have moved since the proposal): the correction's own figures.
    return {"correction_id": correction.id, "decision_id": decision.id, "criteria": correction.criteria,
            "positive_before": correction.positive_before, "positive_after": correction.positive_after}


def _reassessment(appeal: Appeal, actor: User, record: Any) -> dict[str, Any]:
    original = _enrolment(appeal, record)
    if original is None:
        raise RemedyError(_("This decision belongs to no validation."))
    first = original.session
    starts = datetime.combine(today() + timedelta(days=REASSESSMENT_AFTER_DAYS), REASSESSMENT_AT, WARSAW).astimezone(UTC)
    session = ValidationSession(
        institution_id=first.institution_id, qualification_id=first.qualification_id,
        title=f"Ponowna ocena — {first.title}"[:200], starts_at=starts, place=first.place, mode=first.mode,
        status=SessionStatus.PLANNED, capacity=1, published_at=None, created_by_id=actor.id)
    db.session.add(session)
    db.session.flush()
    audit_log.record("session.created", session, after={**snapshot(session, sessions.SESSION_FIELDS),
                                                         "appeal_id": appeal.id},
                     actor=actor, institution_id=session.institution_id)
    counted = counted_attempt(original)
    passed = counted is not None and counted.passed is True and counted.released_at is not None
    enrolment = Enrolment(
        session=session, candidate_id=original.candidate_id, reassessment_of_id=original.id,
        theory_recognized_from_id=counted.enrolment_id if passed and counted is not None else None,
        fee_pln=Decimal("0.00"), fee_reason=REASSESSMENT_FEE_REASON, accommodations=original.accommodations)
    db.session.add(enrolment)
    db.session.flush()
    audit_log.record("session.candidate_enrolled", enrolment, after={
        "session_id": session.id, "candidate_id": enrolment.candidate_id, "reassessment_of_id": original.id,
        "theory_recognized_from_id": enrolment.theory_recognized_from_id, "fee_pln": enrolment.fee_pln,
        "appeal_id": appeal.id}, actor=actor, institution_id=session.institution_id)
    _mail(original.candidate, appeal, remedy="reassessment", session=session, original=original)
    staff = {u.id: u for institution_id in {session.institution_id, session.institution.certifying.id}
             for u in role_holders([institution_id], [Role.STAFF])}
    for person in staff.values():
        queue_localised(person, "appeal_reassessment_staff", lambda: _("A new assessment ordered by an appeal"),
                      appeal=appeal, session=session, original=original,
                      session_link=public_url("sessions.detail", session_id=session.id))
    return {"session_id": session.id, "enrolment_id": enrolment.id, "original_enrolment_id": original.id}


def _retake(appeal: Appeal, actor: User, record: Any) -> dict[str, Any]:
    part = (appeal.remedy_detail or {}).get("part")
    if part not in retake_parts(appeal):
        raise RemedyError(_("Choose which part the candidate takes again without a fee."))
    original = _enrolment(appeal, record)
    if original is None:
        raise RemedyError(_("This decision belongs to no validation."))
    months = original.session.qualification.rules.carry_over_months
    until = add_months(utcnow(), months).astimezone(WARSAW).date()
    _mail(original.candidate, appeal, remedy="retake", part=part, institution=original.session.institution, until=until)
    return {"part": part, "fee_waived": True, "until": until.isoformat()}


def part_label_pl(part: str) -> str:
    """The part as the annex names it (fixed Polish text)."""
    return "część teoretyczna" if part == "theory" else "część praktyczna"


def _reconsider(appeal: Appeal, actor: User, record: Any) -> dict[str, Any]:
    if isinstance(record, Application):
        if db.session.scalar(select(Application.id).where(
                Application.session_id == record.session_id, Application.candidate_id == record.candidate_id,
                Application.id != record.id,
                Application.status.in_([ApplicationStatus.SUBMITTED, ApplicationStatus.WAITING,
                                        ApplicationStatus.ACCEPTED])).limit(1)) is not None:
            raise RemedyError(_("The candidate has another open application to this session: it is decided instead."))
        previous = {"status": record.status.value, "rejection_reason": record.rejection_reason,
                    "decided_by_id": record.decided_by_id,
                    "decided_at": record.decided_at.isoformat() if record.decided_at else None}
        record.status, record.rejection_reason = ApplicationStatus.SUBMITTED, None
        record.decided_by_id, record.decided_at = None, None
        db.session.flush()
        audit_log.record("application.reopened_after_appeal", record, before={"status": "rejected"}, after={
            "status": record.status.value, "appeal_id": appeal.id, "candidate_id": record.candidate_id},
            actor=actor, institution_id=record.session.institution_id)
        _mail(record.candidate, appeal, remedy="reconsider_application", session=record.session)
        return {"application_id": record.id, "previous": previous}
    if isinstance(record, RenewalApplication):
        before = record.status
        # The row is decided again: what the earlier decision was stays here (and in the audit log).
        previous = {"status": before.value, "decided_by_id": record.decided_by_id, "assessor_id": record.assessor_id,
                    "decided_at": record.decided_at.isoformat() if record.decided_at else None}
        record.status = RenewalStatus.UNDER_REVIEW
        db.session.flush()
        audit_log.record("renewal.reopened_after_appeal", record, before={"status": before}, after={
            "status": record.status, "appeal_id": appeal.id}, actor=actor, institution_id=appeal.institution_id)
        _mail(record.holder, appeal, remedy="reconsider_renewal", certificate=record.certificate)
        return {"renewal_id": record.id, "previous": previous}
    raise RemedyError(_("This decision cannot be decided again."))


def _lift(appeal: Appeal, actor: User, event: CertificateEvent) -> dict[str, Any]:
    certificate = event.certificate
    lifted = certification.apply_status_change(actor, certificate, "lift", LIFT_REASON)
    return {"certificate_id": certificate.id, "event_id": lifted.id, "number": certificate.number}


def _replacement(appeal: Appeal, actor: User, event: CertificateEvent) -> dict[str, Any]:
    revoked = event.certificate
    replacement = certification.issue_replacement(actor, revoked, appeal.id)
    return {"revoked_certificate_id": revoked.id, "certificate_id": replacement.id, "number": replacement.number}


def _issue_certificate(appeal: Appeal, actor: User, decision: CertificationDecision) -> dict[str, Any]:
    """The refusal stays as it was, marked overturned by this appeal; a positive decision taken by
    the system on the panel's behalf replaces it, and the certificate is issued."""
    now = utcnow()
    decision.overturned_at, decision.overturned_by_appeal_id = now, appeal.id
    db.session.flush()  # the standing-decision index allows the new row only once this one is overturned
    positive = CertificationDecision(
        enrolment_id=decision.enrolment_id, validation_decision_id=decision.validation_decision_id, positive=True,
        reason=(f"Odmowa certyfikacji z dnia {decision_day(decision.decided_at.isoformat())} uchylona po "
                f"uwzględnieniu odwołania nr {appeal.id}."),
        decided_by_id=actor.id, decided_at=now, notified_at=now)
    db.session.add(positive)
    db.session.flush()
    audit_log.record("certification.decided_after_appeal", positive, before={
        "overturned_decision_id": decision.id, "positive": False}, after={
        "enrolment_id": positive.enrolment_id, "positive": True, "reason": positive.reason, "by": actor.id,
        "appeal_id": appeal.id}, actor=actor, institution_id=appeal.institution_id)
    certificate = certification.issue_rendered(positive, actor)
    return {"certification_decision_id": positive.id, "overturned_decision_id": decision.id,
            "certificate_id": certificate.id, "number": certificate.number}


def decision_day(iso: str) -> str:
    """An ISO moment as the Polish calendar day people write (``DD.MM.YYYY``)."""
    return datetime.fromisoformat(iso).astimezone(WARSAW).strftime("%d.%m.%Y")


_HANDLERS: dict[AppealRemedy, Callable[[Appeal, User, Any], dict[str, Any]]] = {
    AppealRemedy.CORRECTION: _correction,
    AppealRemedy.REASSESSMENT: _reassessment,
    AppealRemedy.RETAKE: _retake,
    AppealRemedy.RECONSIDER: _reconsider,
    AppealRemedy.LIFT_SUSPENSION: _lift,
    AppealRemedy.REPLACEMENT: _replacement,
    AppealRemedy.ISSUE_CERTIFICATE: _issue_certificate,
}


# --------------------------------------------------------------------------- the annex


GROUNDS_EXCERPT = 1500


def produced_lines(appeal: Appeal) -> list[str]:
    """What carrying out the remedy produced, in fixed Polish text for the annex."""
    detail = appeal.remedy_detail or {}
    if appeal.remedy_done_at is None:
        return []
    remedy = appeal.remedy
    if remedy == AppealRemedy.CORRECTION:
        changes = ", ".join(f"{code}: {'spełnione' if c.get('after') else 'niespełnione'} (było: "
                            f"{'spełnione' if c.get('before') else 'niespełnione'})"
                            for code, c in sorted((detail.get("criteria") or {}).items()))
        return [f"Sprostowanie nr {detail.get('correction_id')} decyzji walidacyjnej nr {detail.get('decision_id')}: {changes}.",
                "Decyzja po sprostowaniu: " + ("POZYTYWNA" if detail.get("positive_after") else "NEGATYWNA")
                + " (przed: " + ("pozytywna" if detail.get("positive_before") else "negatywna") + ").",
                "Pierwotna decyzja komisji pozostaje w protokole bez zmian."]
    if remedy == AppealRemedy.REASSESSMENT:
        session = db.session.get(ValidationSession, detail.get("session_id") or 0)
        return [f"Ponowna ocena części praktycznej przez nową komisję: sesja nr {detail.get('session_id')}"
                + (f" „{session.title}”" if session is not None else "")
                + f", zapis nr {detail.get('enrolment_id')}; ocenie podlega praca praktyczna z zapisu nr "
                f"{detail.get('original_enrolment_id')}. Osoby, które oceniały kandydata poprzednio, nie mogą "
                "zasiadać w nowej komisji."]
    if remedy == AppealRemedy.RETAKE:
        lines = [f"Ponowne przystąpienie do części: {part_label_pl(str(detail.get('part')))} bez opłaty, w sesji "
                 "tej instytucji rozpoczynającej się do " + _iso_day(detail.get("until")) + "."]
        if detail.get("used_by_enrolment_id"):
            lines.append(f"Wykorzystane przy zapisie nr {detail['used_by_enrolment_id']}.")
        return lines
    if remedy == AppealRemedy.RECONSIDER:
        if "application_id" in detail:
            return [f"Wniosek nr {detail['application_id']} przekazany do ponownej oceny formalnej."]
        return [f"Wniosek o przedłużenie nr {detail.get('renewal_id')} przekazany do ponownego rozpatrzenia."]
    if remedy == AppealRemedy.LIFT_SUSPENSION:
        return [f"Zawieszenie certyfikatu nr {detail.get('number')} uchylone (uzasadnienie: „{LIFT_REASON}”)."]
    if remedy == AppealRemedy.REPLACEMENT:
        return [f"Wydano certyfikat zastępczy nr {detail.get('number')} z pierwotnymi datami wydania i ważności; "
                "cofnięty certyfikat pozostaje cofnięty."]
    if remedy == AppealRemedy.ISSUE_CERTIFICATE:
        overturned = db.session.get(CertificationDecision, detail.get("overturned_decision_id") or 0)
        if overturned is None:
            return [f"Wydano certyfikat nr {detail.get('number')}."]
        return [f"Odmowa certyfikacji z dnia {decision_day(overturned.decided_at.isoformat())} "
                f"(uzasadnienie odmowy: „{overturned.reason or '—'}”) uchylona; decyzja odmowna zachowana bez zmian; "
                f"wydano certyfikat nr {detail.get('number')}."]
    return []


def _iso_day(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).strftime("%d.%m.%Y")
    except ValueError:
        return "—"


def annex_pdf(appeal: Appeal) -> bytes:
    """The annex to the validation protocol with the panel's decision (Polish, fixed text): the
    appeal (subject, dates, an excerpt of the grounds and their digest), the panel, the decision
    and its justification, the votes, the remedy and what it produced."""
    decision = services.load(appeal.subject, appeal.subject_id)
    final = next((p for p in appeal.proposals if p.status == "final"), None)
    grounds = appeal.grounds or ""
    with force_locale("pl"):
        html = render_template(
            "appeals/annex.html", appeal=appeal, decision=decision, proposal=final,
            grounds_excerpt=grounds[:GROUNDS_EXCERPT], grounds_cut=len(grounds) > GROUNDS_EXCERPT,
            grounds_sha256=hashlib.sha256(grounds.encode("utf-8")).hexdigest(),
            produced=produced_lines(appeal), part_label=part_label_pl)
    return render_pdf(html)


def decided_appeals(enrolment: Enrolment) -> list[Appeal]:
    """The decided appeals (dismissed or upheld) about the enrolment, in the order decided."""
    return list(db.session.scalars(
        select(Appeal).where(Appeal.enrolment_id == enrolment.id,
                             Appeal.status.in_([AppealStatus.UPHELD, AppealStatus.DISMISSED]))
        .order_by(Appeal.decided_at, Appeal.id)))


def protocol_with_annexes(decision: ValidationDecision) -> bytes:
    """The stored protocol followed by the annexes of the decided appeals about its enrolment (each
    as stored when the appeal was decided). The stored protocol is not changed: without annexes it is
    returned as it is, byte for byte."""
    appeals = decided_appeals(decision.enrolment)
    if not appeals:
        return decision.protocol_pdf
    writer = PdfWriter()
    writer.append(BytesIO(decision.protocol_pdf))
    for appeal in appeals:
        writer.append(BytesIO(appeal.annex_pdf if appeal.annex_pdf is not None else annex_pdf(appeal)))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


# --------------------------------------------------------------------------- what pages show


def decision_changes(decision: ValidationDecision) -> tuple[list[DecisionCorrection], list[Appeal]]:
    """How the decision was changed after it was made: its recorded corrections (oldest first) and
    the upheld appeals about its enrolment whose remedy was carried out."""
    upheld = [a for a in decided_appeals(decision.enrolment)
              if a.status == AppealStatus.UPHELD and a.remedy_done_at is not None]
    return corrections.corrections(decision), upheld

