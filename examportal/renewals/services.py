"""Renewal of a certificate by evidence analysis (the method the qualification reserves for it).

The holder applies from six months before expiry until the expiry day, declaring periods of work
using a CRM for customer service (enough distinct days inside the certificate's validity) with
evidence and a signed declaration. Staff of the issuing institution assign an assessor who took no
part in the holder's training or validation; the assessor declares impartiality before seeing the
evidence, judges each item, may return the application for more, and decides: positive issues a
new certificate whose validity continues from the old expiry (the old one is superseded), negative
gives a written justification and the information that a new validation is needed.

Every state change is audited (people by id, free text digested) and mailed in the recipient's
language; each service function commits once.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import format_date
from sqlalchemy import Select, case, false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..audit import services as audit_log
from ..certification import rules as certificate_rules
from ..certification import services as certification
from ..certification.rules import _
from ..committee.services import committee_for
from ..competence import services as competence
from ..extensions import db
from ..mail.services import queue_localised
from ..models import (
    OPEN_RENEWAL_STATES,
    Certificate,
    CertificateReminder,
    CertificateStatus,
    CompetenceKind,
    RenewalApplication,
    RenewalEvidence,
    RenewalPeriod,
    RenewalStatus,
    Role,
    User,
    utcnow,
)
from ..security import public_url, role_holders
from ..sessions.services import trained_pairs
from ..uploads import Upload, store
from . import rules


class RenewalError(ValueError):
    """A rule of renewal refused the action; the message says why (translated). ``field`` names
    the form field it belongs next to, when there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PeriodInput:
    """A period of CRM work as the holder declares it."""

    employer: str
    role: str
    starts_on: date
    ends_on: date


@dataclass(frozen=True)
class EvidenceInput:
    """A checked file (see :mod:`examportal.uploads`) with the holder's short description."""

    upload: Upload
    description: str


@dataclass(frozen=True)
class Coverage:
    """Days of declared work inside the validity against the days required."""

    covered: int
    required: int
    validity_start: date
    validity_end: date

    @property
    def enough(self) -> bool:
        return self.covered >= self.required


# --------------------------------------------------------------------------- reading


def min_work_months(certificate: Certificate) -> int:
    return certificate.qualification.rules.renewal_min_crm_work_months


def validity_start(certificate: Certificate) -> date:
    """The first day of the certificate's validity: its date of issue, or — for a corrected
    certificate — that of the certificate it corrected (a correction keeps the validity)."""
    first = certificate
    seen = {first.id}
    while first.supersedes is not None and not certification.is_renewal(first) and first.supersedes.id not in seen:
        first = first.supersedes
        seen.add(first.id)
    return first.issued_on


def coverage(certificate: Certificate, periods: Sequence[PeriodInput | RenewalPeriod]) -> Coverage:
    """How many distinct days of ``periods`` fall inside the certificate's validity, against the
    qualification's ``renewal_min_crm_work_months``."""
    start = validity_start(certificate)
    spans = [rules.Span(p.starts_on, p.ends_on) for p in periods if p.starts_on <= p.ends_on]
    return Coverage(covered=rules.covered_days(spans, start, certificate.valid_until),
                    required=rules.required_days(min_work_months(certificate)), validity_start=start,
                    validity_end=certificate.valid_until)


def open_renewal(certificate: Certificate) -> RenewalApplication | None:
    """The certificate's renewal application still being handled, if any."""
    return db.session.scalar(select(RenewalApplication).where(RenewalApplication.certificate_id == certificate.id,
                                                              RenewalApplication.status.in_(OPEN_RENEWAL_STATES))
                             .order_by(RenewalApplication.id.desc()).limit(1))


def renewals_of(certificate: Certificate) -> list[RenewalApplication]:
    return list(db.session.scalars(select(RenewalApplication).where(RenewalApplication.certificate_id == certificate.id)
                                   .order_by(RenewalApplication.id.desc())))


def apply_refusal(user: User, certificate: Certificate, today: date | None = None) -> str | None:
    """Why the user may not apply to renew the certificate today (translated), or None: only its
    holder, for a valid certificate (not suspended, revoked or superseded) in the renewal window,
    with no application of theirs still being handled."""
    today = today or certificate_rules.today()
    if certificate.holder_id != user.id:
        return _("Only the certificate's holder may apply to renew it.")
    if certificate.state == CertificateStatus.SUPERSEDED:
        return _("This certificate has been replaced by a newer one: renew the current certificate.")
    if certificate.state == CertificateStatus.REVOKED:
        return _("This certificate is revoked: it cannot be renewed.")
    if certificate.state == CertificateStatus.SUSPENDED:
        return _("This certificate is suspended: it cannot be renewed while the suspension lasts. Contact %(issuer)s.",
                 issuer=certificate.institution.name)
    refusal = rules.window_refusal(certificate.valid_until, today)
    if refusal:
        return refusal
    if open_renewal(certificate) is not None:
        return _("You have already applied to renew this certificate: see your application.")
    return None


def holder_renewals(user: User) -> dict[int, list[RenewalApplication]]:
    """The holder's renewal applications by certificate id, newest first."""
    found: dict[int, list[RenewalApplication]] = {}
    for application in db.session.scalars(select(RenewalApplication).where(RenewalApplication.holder_id == user.id)
                                           .order_by(RenewalApplication.id.desc())):
        found.setdefault(application.certificate_id, []).append(application)
    return found


#: What the renewal lists show of each row, loaded with the rows (not one query per row).
_LIST_LOADS = (joinedload(RenewalApplication.certificate), joinedload(RenewalApplication.holder),
               joinedload(RenewalApplication.assessor))


def staff_renewals(user: User) -> Select[Any]:
    """Renewal applications for certificates issued by the institutions where the user is staff:
    open ones first, each group in the order they were submitted."""
    ids = list(user.institution_ids(Role.STAFF))
    open_first = case((RenewalApplication.status.in_(OPEN_RENEWAL_STATES), 0), else_=1)
    return (select(RenewalApplication).join(Certificate, RenewalApplication.certificate_id == Certificate.id)
            .where(Certificate.institution_id.in_(ids) if ids else false())
            .options(*_LIST_LOADS)
            .order_by(open_first, RenewalApplication.submitted_at, RenewalApplication.id))


def may_manage(user: User, application: RenewalApplication) -> bool:
    """Staff of the institution that issued the certificate handle its renewal."""
    return user.has_role(Role.STAFF, application.certificate.institution_id)


def assessor_renewals(user: User) -> list[RenewalApplication]:
    """The applications assigned to the assessor, open ones first."""
    open_first = case((RenewalApplication.status.in_(OPEN_RENEWAL_STATES), 0), else_=1)
    return list(db.session.scalars(select(RenewalApplication).where(RenewalApplication.assessor_id == user.id)
                                   .options(*_LIST_LOADS).order_by(open_first, RenewalApplication.submitted_at)))


def may_see_evidence(user: User, application: RenewalApplication) -> bool:
    """The holder, staff of the issuing institution, and the assigned assessor once they declared
    impartiality (never before: the declaration comes before the evidence) while they may assess
    the holder (:func:`assessor_refusal`: not once found to have trained them, nor after losing
    the role or their competence)."""
    if user.id == application.holder_id or may_manage(user, application):
        return True
    return (user.id == application.assessor_id and application.assessor_declared_at is not None
            and assessor_refusal(user, application) is None)


# --------------------------------------------------------------------------- mail and audit



def _links(application: RenewalApplication) -> dict[str, str]:
    return {"renewal_link": public_url("renewals.detail", renewal_id=application.id),
            "assess_link": public_url("renewals.assess", renewal_id=application.id),
            "staff_link": public_url("renewals.staff_detail", renewal_id=application.id)}


def _audit(action: str, application: RenewalApplication, actor: User | None, before: dict[str, Any] | None = None,
           **after: Any) -> None:
    audit_log.record(action, application, before=before, after={
        "status": application.status, "certificate_id": application.certificate_id, **after},
        actor=actor, institution_id=application.certificate.institution_id)



# --------------------------------------------------------------------------- the holder


def _check_periods(periods: Sequence[PeriodInput], today: date) -> None:
    if not periods:
        raise RenewalError(_("Declare at least one period of work using a CRM for customer service."), "periods")
    if len(periods) > rules.MAX_PERIODS:
        raise RenewalError(_("Declare at most %(n)d periods: join the shorter ones of one employer.",
                             n=rules.MAX_PERIODS), "periods")
    for period in periods:
        if not period.employer.strip() or not period.role.strip():
            raise RenewalError(_("Give the employer and your role for every period."), "periods")
        problem = rules.period_problem(period.starts_on, period.ends_on, today)
        if problem:
            raise RenewalError(problem, "periods")


def _check_coverage(found: Coverage) -> None:
    if not found.enough:
        raise RenewalError(_("The periods cover %(covered)d days of work within the certificate's validity; renewal "
                             "needs at least %(required)d. Add the periods you have not declared yet.",
                             covered=found.covered, required=found.required), "periods")


def _add_evidence(user: User, application: RenewalApplication, evidence: Sequence[EvidenceInput]) -> list[RenewalEvidence]:
    added = []
    for item in evidence:
        description = item.description.strip()
        if not description:
            raise RenewalError(_("Describe each piece of evidence in a few words (e.g. the employer's certificate)."),
                               "evidence")
        row = RenewalEvidence(file=store(item.upload, user), description=description[:200])
        application.evidence.append(row)
        added.append(row)
    return added


def _set_periods(application: RenewalApplication, periods: Sequence[PeriodInput]) -> None:
    application.periods = [RenewalPeriod(employer=p.employer.strip()[:200], role=p.role.strip()[:200],
                                         starts_on=p.starts_on, ends_on=p.ends_on) for p in periods]


def _lock_certificate(certificate: Certificate) -> Certificate:
    """The certificate locked (FOR UPDATE on PostgreSQL): two applications at once for one
    certificate are serialised, so only one of them is open."""
    locked = db.session.scalar(select(Certificate).where(Certificate.id == certificate.id).with_for_update()
                               .execution_options(populate_existing=True))
    if locked is None:
        raise RenewalError(_("The certificate no longer exists."))
    return locked


def submit(user: User, certificate: Certificate, periods: Sequence[PeriodInput], evidence: Sequence[EvidenceInput],
           declared: bool) -> RenewalApplication:
    """The holder applies to renew the certificate (see :func:`apply_refusal`): 1 to 10 periods of
    CRM work whose distinct days inside the validity reach the required number, 1 to 10 pieces of
    evidence and the signed declaration. The holder and the issuing institution's staff are mailed."""
    certificate = _lock_certificate(certificate)
    refusal = apply_refusal(user, certificate)
    if refusal:
        raise RenewalError(refusal)
    _check_periods(periods, certificate_rules.today())
    found = coverage(certificate, periods)
    _check_coverage(found)
    if not evidence:
        raise RenewalError(_("Attach at least one piece of evidence (e.g. the employer's certificate of your work)."),
                           "evidence")
    if len(evidence) > rules.MAX_EVIDENCE:
        raise RenewalError(_("Attach at most %(n)d files.", n=rules.MAX_EVIDENCE), "evidence")
    if not declared:
        raise RenewalError(_("Sign the declaration that the information you give is true."), "declaration")
    now = utcnow()
    application = RenewalApplication(certificate_id=certificate.id, holder_id=user.id, status=RenewalStatus.SUBMITTED,
                                     submitted_at=now, declaration_at=now, covered_days=found.covered)
    _set_periods(application, periods)
    db.session.add(application)
    added = _add_evidence(user, application, evidence)
    db.session.flush()
    _audit("renewal.submitted", application, user, covered_days=found.covered, required_days=found.required,
           periods=len(periods), evidence_sha256=[row.file.sha256 for row in added], by=user.id)
    queue_localised(user, "renewal_submitted", lambda: _("Your application to renew certificate %(number)s",
                                               number=certificate.number),
          application=application, certificate=certificate, resubmitted=False, **_links(application))
    for staff in role_holders([certificate.institution_id], [Role.STAFF]):
        queue_localised(staff, "renewal_received", lambda: _("A holder applies to renew certificate %(number)s",
                                                   number=certificate.number),
              application=application, certificate=certificate, list_link=public_url("renewals.staff_list"),
              **_links(application))
    db.session.commit()
    return application


def _locked(application: RenewalApplication) -> RenewalApplication:
    """The application as it is now, locked: two people acting at once are serialised."""
    current = db.session.scalar(select(RenewalApplication).where(RenewalApplication.id == application.id)
                                .with_for_update().execution_options(populate_existing=True))
    if current is None:
        raise RenewalError(_("The application no longer exists."))
    return current


def resubmit(user: User, application: RenewalApplication, periods: Sequence[PeriodInput],
             evidence: Sequence[EvidenceInput], declared: bool) -> RenewalApplication:
    """The holder answers the assessor's request for more: the periods as now declared (they
    replace the earlier ones), the new evidence added to what was sent (10 pieces at most in all),
    the declaration signed again. The application goes back to its assessor, who is mailed."""
    application = _locked(application)
    if application.holder_id != user.id:
        raise RenewalError(_("Only the certificate's holder may add to the application."))
    if application.status != RenewalStatus.RETURNED:
        raise RenewalError(_("The application is not waiting for more from you: it is %(status)s.",
                             status=application.status.label))
    _check_periods(periods, certificate_rules.today())
    found = coverage(application.certificate, periods)
    _check_coverage(found)
    if len(application.evidence) + len(evidence) > rules.MAX_EVIDENCE:
        raise RenewalError(_("At most %(n)d files in all: %(sent)d were sent already.", n=rules.MAX_EVIDENCE,
                             sent=len(application.evidence)), "evidence")
    if not declared:
        raise RenewalError(_("Sign the declaration that the information you give is true."), "declaration")
    before = {"status": application.status, "covered_days": application.covered_days}
    _set_periods(application, periods)
    added = _add_evidence(user, application, evidence)
    application.covered_days, application.declaration_at = found.covered, utcnow()
    application.status = (RenewalStatus.UNDER_REVIEW if application.assessor_declared_at is not None
                          else RenewalStatus.SUBMITTED)
    db.session.flush()
    _audit("renewal.resubmitted", application, user, before, covered_days=found.covered, periods=len(periods),
           evidence_sha256=[row.file.sha256 for row in added], by=user.id)
    queue_localised(user, "renewal_submitted", lambda: _("Your application to renew certificate %(number)s",
                                               number=application.certificate.number),
          application=application, certificate=application.certificate, resubmitted=True, **_links(application))
    if application.assessor is not None:
        queue_localised(application.assessor, "renewal_resubmitted",
              lambda: _("The holder has added to the renewal application for certificate %(number)s",
                        number=application.certificate.number),
              application=application, certificate=application.certificate, added=len(added), **_links(application))
    db.session.commit()
    return application


def withdraw(user: User, application: RenewalApplication) -> RenewalApplication:
    """The holder withdraws their application while it is being handled (mailed a confirmation;
    the assessor, if one was assigned, is told)."""
    application = _locked(application)
    if application.holder_id != user.id:
        raise RenewalError(_("Only the certificate's holder may withdraw the application."))
    if not application.is_open:
        raise RenewalError(_("The application has already been %(status)s: it can no longer be withdrawn.",
                             status=application.status.label))
    before = {"status": application.status}
    application.status = RenewalStatus.WITHDRAWN
    db.session.flush()
    _audit("renewal.withdrawn", application, user, before, by=user.id)
    for person in (user, application.assessor):
        if person is not None:
            queue_localised(person, "renewal_withdrawn", lambda: _("Renewal application for certificate %(number)s withdrawn",
                                                         number=application.certificate.number),
                  application=application, certificate=application.certificate, for_holder=person.id == user.id,
                  **_links(application))
    db.session.commit()
    return application


# --------------------------------------------------------------------------- staff: the assessor


def assessor_refusal(assessor: User, application: RenewalApplication) -> str | None:
    """Why ``assessor`` may not analyse this renewal (translated), or None: an active assessor of
    the issuing institution who meets the qualification's requirements on assessors today (as a
    committee appointment does), is not the holder, did not train them and sat on no committee that
    validated them — after an upheld appeal, neither the first committee nor the new one (the
    evidence analysis must be independent of those assessments too).

    Checked when the assessor is assigned and again at every step of their analysis
    (:func:`_assessing`): a role withdrawn, a lapsed competence record or a training recorded since
    stops them before they act."""
    certificate = application.certificate
    if not assessor.active or not assessor.has_role(Role.ASSESSOR, certificate.institution_id):
        return _("%(name)s is not an assessor of %(institution)s.", name=assessor.full_name,
                 institution=certificate.institution.name)
    if assessor.id == application.holder_id:
        return _("%(name)s is the holder: nobody assesses their own renewal.", name=assessor.full_name)
    unqualified = competence.appointment_refusal(assessor, CompetenceKind.ASSESSOR, certificate.qualification, utcnow())
    if unqualified:
        return unqualified
    if trained_pairs([assessor.id], [application.holder_id]):
        return _("%(name)s trained the holder for the qualification, so they may not assess the holder's renewal.",
                 name=assessor.full_name)
    if any(member.assessor_id == assessor.id
           for validated in certification.assessments(certificate.enrolment) for member in committee_for(validated)):
        return _("%(name)s sat on the committee that validated the holder, so they may not assess the holder's "
                 "renewal.", name=assessor.full_name)
    return None


def assessors_for(application: RenewalApplication) -> list[tuple[User, str | None]]:
    """Every active assessor of the issuing institution, with why each may not take this renewal
    (None: they may)."""
    people = role_holders([application.certificate.institution_id], [Role.ASSESSOR])
    return [(person, assessor_refusal(person, application)) for person in people]


def assign(user: User, application: RenewalApplication, assessor: User) -> RenewalApplication:
    """Staff of the issuing institution assign the assessor (refused, naming the reason, per
    :func:`assessor_refusal`). Assigning another assessor later starts their analysis afresh: the
    declaration and the verdicts of the one replaced are cleared (the audit keeps them)."""
    application = _locked(application)
    if not may_manage(user, application):
        raise RenewalError(_("Only staff of %(institution)s assign the assessor.",
                             institution=application.certificate.institution.name))
    if not application.is_open:
        raise RenewalError(_("The application has already been %(status)s.", status=application.status.label))
    if application.assessor_id == assessor.id:
        raise RenewalError(_("%(name)s is already the assessor of this application.", name=assessor.full_name),
                           "assessor_id")
    refusal = assessor_refusal(assessor, application)
    if refusal:
        raise RenewalError(refusal, "assessor_id")
    before = {"status": application.status, "assessor_id": application.assessor_id}
    application.assessor_id, application.assigned_at, application.assigned_by_id = assessor.id, utcnow(), user.id
    application.assessor_declared_at = None
    for item in application.evidence:
        item.verdict = item.note = item.judged_at = item.judged_by_id = None
    for period in application.periods:
        period.confirmed = period.judged_at = period.judged_by_id = None
    if application.status == RenewalStatus.UNDER_REVIEW:
        application.status = RenewalStatus.SUBMITTED
    db.session.flush()
    _audit("renewal.assessor_assigned", application, user, before, assessor_id=assessor.id, by=user.id)
    queue_localised(assessor, "renewal_assigned", lambda: _("Renewal of certificate %(number)s: you are its assessor",
                                                  number=application.certificate.number),
          application=application, certificate=application.certificate, **_links(application))
    db.session.commit()
    return application


# --------------------------------------------------------------------------- the assessor


def _assessing(user: User, application: RenewalApplication, *, declared: bool = True) -> RenewalApplication:
    """The application locked for its assigned assessor's next step (declaring, judging, returning,
    deciding); refused unless it is open, they still may assess it (:func:`assessor_refusal`) and —
    ``declared`` — they have declared impartiality."""
    application = _locked(application)
    if application.assessor_id != user.id:
        raise RenewalError(_("You are not the assessor of this application."))
    if not application.is_open:
        raise RenewalError(_("The application has already been %(status)s.", status=application.status.label))
    refusal = assessor_refusal(user, application)  # e.g. a training recorded, or the role withdrawn, since
    if refusal:
        raise RenewalError(refusal)
    if declared and application.assessor_declared_at is None:
        raise RenewalError(_("Sign the declaration of impartiality first."))
    return application


def declare(user: User, application: RenewalApplication, confirmed: bool) -> RenewalApplication:
    """The assigned assessor declares impartiality towards the holder, before seeing the evidence;
    the application is then under review."""
    application = _assessing(user, application, declared=False)
    if application.assessor_declared_at is not None:
        raise RenewalError(_("You have already signed the declaration."))
    if not confirmed:
        raise RenewalError(_("Confirm the declaration to analyse the evidence; if you cannot, tell the institution."),
                           "confirm")
    before = {"status": application.status}
    application.assessor_declared_at = utcnow()
    if application.status == RenewalStatus.SUBMITTED:
        application.status = RenewalStatus.UNDER_REVIEW
    db.session.flush()
    _audit("renewal.impartiality_declared", application, user, before, assessor_id=user.id)
    db.session.commit()
    return application


VERDICTS = ("accepted", "rejected")


def judge(user: User, application: RenewalApplication, evidence_id: int, verdict: str,
          note: str | None) -> RenewalEvidence:
    """The assessor accepts or rejects one piece of evidence, with a note (required to reject:
    the holder reads it). A verdict may be changed until the decision."""
    application = _assessing(user, application)
    if application.status != RenewalStatus.UNDER_REVIEW:
        raise RenewalError(_("The application is back with the holder: judge the evidence when they have sent it again."))
    item = next((e for e in application.evidence if e.id == evidence_id), None)
    if item is None:
        raise RenewalError(_("This piece of evidence is not part of the application. Reload the page."))
    if verdict not in VERDICTS:
        raise RenewalError(_("Choose whether the evidence is accepted or rejected."), "verdict")
    text = (note or "").strip() or None
    if verdict == "rejected" and text is None:
        raise RenewalError(_("Say why the evidence is rejected: the holder reads your note."), "note")
    before = {"verdict": item.verdict}
    item.verdict, item.note, item.judged_at, item.judged_by_id = verdict, text, utcnow(), user.id
    db.session.flush()
    audit_log.record("renewal.evidence_judged", application, before=before, after={
        "evidence_id": item.id, "verdict": verdict, "note": text, "file_sha256": item.file.sha256, "by": user.id},
        actor=user, institution_id=application.certificate.institution_id)
    db.session.commit()
    return item


def judge_period(user: User, application: RenewalApplication, period_id: int, confirmed: bool | None) -> RenewalPeriod:
    """The assessor's finding on one declared period of work: the accepted evidence shows it, or
    not. Only confirmed periods count towards the year of work (:func:`decide`); a finding may be
    changed until the decision."""
    application = _assessing(user, application)
    if application.status != RenewalStatus.UNDER_REVIEW:
        raise RenewalError(_("The application is back with the holder: judge the periods when they have sent it again."))
    period = next((p for p in application.periods if p.id == period_id), None)
    if period is None:
        raise RenewalError(_("This period is not part of the application. Reload the page."))
    if confirmed is None:
        raise RenewalError(_("Choose whether the evidence shows this period of work."), "confirmed")
    before = {"confirmed": period.confirmed}
    period.confirmed, period.judged_at, period.judged_by_id = confirmed, utcnow(), user.id
    db.session.flush()
    audit_log.record("renewal.period_judged", application, before=before, after={
        "period_id": period.id, "confirmed": confirmed, "by": user.id},
        actor=user, institution_id=application.certificate.institution_id)
    db.session.commit()
    return period


def confirmed_coverage(application: RenewalApplication) -> Coverage:
    """The days of work within the validity that the periods the assessor confirmed cover."""
    return coverage(application.certificate, [p for p in application.periods if p.confirmed])


def return_to_holder(user: User, application: RenewalApplication, note: str | None) -> RenewalApplication:
    """The assessor asks the holder for more (what, in the note); the holder is mailed and may
    add periods and evidence and send the application again."""
    application = _assessing(user, application)
    if application.status != RenewalStatus.UNDER_REVIEW:
        raise RenewalError(_("The application is already back with the holder."))
    text = (note or "").strip()
    if not text:
        raise RenewalError(_("Say what the holder should add: they receive your note."), "note")
    before = {"status": application.status}
    application.status, application.returned_at, application.return_note = RenewalStatus.RETURNED, utcnow(), text
    db.session.flush()
    _audit("renewal.returned", application, user, before, note=text, by=user.id)
    queue_localised(application.holder, "renewal_returned", lambda: _("Your renewal application for certificate %(number)s: "
                                                            "more is needed", number=application.certificate.number),
          application=application, certificate=application.certificate, **_links(application))
    db.session.commit()
    return application


def decide(user: User, application: RenewalApplication, positive: bool, justification: str | None) -> RenewalApplication:
    """The assessor's decision on the renewal (see :func:`rules.decision_refusal`).

    Positive: a new certificate is issued through certification (today's date of issue, valid
    until the old expiry plus the qualification's validity), the old one is superseded and the
    new one recorded here. Negative: the justification goes to the holder with the information
    that a new validation is needed. Either way the holder is mailed the decision, which they may
    appeal; ``notified_at`` records when, as appeal windows count from it.
    """
    application = _assessing(user, application)
    if application.status != RenewalStatus.UNDER_REVIEW:
        raise RenewalError(_("The application is back with the holder: decide when they have sent it again."))
    text = (justification or "").strip()
    found = confirmed_coverage(application)  # the declared periods count as far as the evidence shows them
    refusal = rules.decision_refusal(
        positive, unjudged=sum(1 for e in application.evidence if e.verdict is None),
        unjudged_periods=sum(1 for p in application.periods if p.confirmed is None),
        accepted=sum(1 for e in application.evidence if e.verdict == "accepted"), covered=found.covered,
        required=found.required, justification=text)
    if refusal:
        raise RenewalError(refusal, "justification" if not positive else "outcome")
    certificate = application.certificate
    before = {"status": application.status}
    if positive:
        try:
            renewed = certification.renew_certificate(user, certificate, valid_until=rules.renewed_valid_until(
                certificate.valid_until, certification.validity_years(certificate.qualification)))
        except certification.CertificationError as error:
            raise RenewalError(str(error), "outcome") from None
        application.new_certificate = renewed
    application.status = RenewalStatus.ACCEPTED if positive else RenewalStatus.REJECTED
    application.decided_at, application.decided_by_id = utcnow(), user.id
    application.justification, application.covered_days = text or None, found.covered
    db.session.flush()
    _audit("renewal.decided", application, user, before, positive=positive, justification=text or None,
           new_certificate_id=application.new_certificate_id, covered_days=found.covered, by=user.id)
    new = application.new_certificate
    queue_localised(application.holder, "renewal_decided", lambda: _("Decision on the renewal of certificate %(number)s",
                                                           number=certificate.number),
          application=application, certificate=certificate, new_certificate=new, positive=positive,
          appeal_days=certificate.qualification.rules.appeal_window_days,
          mine_link=public_url("certification.mine"), sessions_link=public_url("applications.sessions"),
          verify_link=public_url("verify.show", code=new.verification_code) if new is not None else None,
          **_links(application))
    application.notified_at = utcnow()
    db.session.commit()
    return application


# --------------------------------------------------------------------------- reminders


def _reminder_candidates(today: date) -> list[Certificate]:
    """Valid certificates (not suspended, revoked or superseded) expiring within the first lead."""
    # A week more than the first lead: 31 August is six months after 28 February (see rules.add_months).
    furthest = rules.add_months(today, max(rules.REMINDER_LEADS)) + timedelta(days=7)
    return list(db.session.scalars(select(Certificate).where(
        Certificate.state == CertificateStatus.VALID, Certificate.valid_until >= today,
        Certificate.valid_until <= furthest).order_by(Certificate.valid_until, Certificate.id)))


def send_expiry_reminders(today: date | None = None) -> int:
    """Mail each holder the expiry reminder due today (6, 3 or 1 month before the last valid day;
    a certificate found late gets the most recent one only), with the link to apply for renewal.
    Returns how many were queued; each is committed with its record.

    Never twice: the reminder's row (unique per certificate and lead) is inserted first, and a run
    that finds it already there — also one racing another run — skips the mail. A holder who has
    already applied is not reminded.
    """
    today = today or certificate_rules.today()
    queued = 0
    for certificate in _reminder_candidates(today):
        months = rules.due_reminder(certificate.valid_until, today)
        if months is None or open_renewal(certificate) is not None:
            continue
        try:
            with db.session.begin_nested():
                db.session.add(CertificateReminder(certificate_id=certificate.id, months_before=months, sent_at=utcnow()))
        except IntegrityError:
            continue  # sent before, or by a run at the same time
        _remind(certificate, months)
        db.session.commit()
        queued += 1
    return queued


def _remind(certificate: Certificate, months: int) -> None:
    """Queue the reminder and audit it (in the transaction that recorded it)."""
    queue_localised(certificate.holder, "certificate_expiry_reminder",
          lambda: _("Your certificate %(number)s expires on %(date)s", number=certificate.number,
                    date=format_date(certificate.valid_until, "medium")),
          certificate=certificate, months=months, opens_on=rules.window_opens_on(certificate.valid_until),
          apply_link=public_url("renewals.apply", certificate_id=certificate.id),
          mine_link=public_url("certification.mine"))
    audit_log.record("certificate.expiry_reminder_sent", certificate, after={
        "number": certificate.number, "months_before": months, "valid_until": certificate.valid_until,
        "holder_id": certificate.holder_id}, institution_id=certificate.institution_id)
