"""How long a person's exam records are kept, and their anonymisation once that time is over.

The retention policy
--------------------
Exam records are kept one full certification cycle after the cycle ends:
``RECORDS_RETENTION_YEARS`` (5 by default: one cycle is the certificate's validity of 5 years).

* A certificate holder: the cycle ends when their last certificate's validity ends
  (``valid_until`` of every certificate they hold — renewed, corrected, revoked or superseded ones
  included, so a renewal extends it); records are kept until that day plus the retention years.
* A candidate without a certificate: no certificate cycle runs for them. We take the cycle their
  validation would have opened as ended at the validation's last step (nothing is left to
  certify): the last session they were enrolled in, the last decision about them (validation,
  certification, a correction), the last application, appeal, complaint or renewal decided.
  Records are kept until that day plus the retention years (the span a certificate issued that
  day would have covered).
  The same anchors count for a holder too: whichever ends later keeps the records.
* Anything still open keeps every record, whatever the dates: an appeal, a complaint, a renewal
  application, a request to see one's work or for a duplicate, a request about one's data
  (except a request for erasure, which is what asks for the records to go), an application
  awaiting its formal check, a session in which the person is enrolled and not yet decided.
  ``kept_until`` is then at least today.
* A person who holds a role at an institution (operator, assessor, staff ...) is never purged:
  the accounts of those who act for an institution are closed by the institution, not by this
  policy (their names on others' records are ids).
* A person with no exam records at all has nothing to keep (``kept_until`` None); the purge
  leaves such accounts alone (they are not "past retention" of anything).

``kept_until`` is the last day the records are kept: on that day they stay, the next day they may
go.

Anonymisation (:func:`anonymise`)
---------------------------------
What goes:

* the account's identifying data: names (``anonymised`` / ``#<id>``), e-mail
  (``anonymised-<id>@invalid``, unique), PESEL, identity document, birth date and place, phone,
  the second factor (TOTP secret, recovery codes), the password (an unusable hash); the account is
  deactivated and ``anonymised_at`` set, so it can never sign in again;
* documents the person uploaded (appeal grounds, renewal evidence: the files and the rows that
  link them), the appeal's decision annex and, in the competence record, its evidence;
* free text written by or about the person where no law keeps it past retention: appeal grounds,
  reasons and justifications (appeals, decisions, proposals, votes, corrections, refusals),
  assessors' comments and interview notes, operators' incident reasons on the person's tests,
  accommodation and recognition notes (health data), complaint texts with the complainant's name
  and e-mail, renewal periods' employers and roles, duplicate-request reasons, data-request
  details; a text a CHECK constraint requires becomes the placeholder ``[anonymised]``, an optional
  one is emptied (None);
* mail to the person in the outbox, and mail to others whose subject or body names them (by full
  name, e-mail or PESEL): the outbox is a delivery log, not a record the law keeps;
* the free-text reason of a certificate's status (suspension, revocation): the status, its date
  and kind stay, the text (which the public never sees) does not;
* the validation protocol PDF (it names the candidate): its column may not be null, so it becomes
  empty; its SHA-256 stays as proof of what was signed, and the protocol's download answers 404;
* complaints are the person's when filed from their account or, without one, from their address.

What stays:

* the certificate register: each Certificate row with its holder data (names, birth date, masked
  PESEL), its content, PDF, duplicates and signed credential — the register must keep them so that
  a certificate can still be verified;
* every result and statistic: enrolments, attempts, answers, scores, criterion results, decisions
  (positive/negative), appeals' and renewals' outcomes, fees, dates — linked to the same, now
  anonymised, id, so every count and figure is unchanged;
* on the account: its id, roles, the dates of e-mail confirmation and of RODO consent (proof of
  the ground the data was processed on) and the language;
* an enrolment's fee and the statutory ground of a free one (accounting), the kind (never the
  number) of the identity document checked on exam day;
* the sandbox workspaces (the candidate's practical exam and practice: their work on fictional
  customers, reached only through ``sandbox_crm.api``), but for the names the person acted under
  there (their log's statements, the customer events and stage changes they recorded), which
  become the account's new name;
* digests of removed documents (they name no one) and the audit log: its entries name people by
  id only (see :mod:`examportal.audit.services`), so anonymisation changes no hashed byte; the
  anonymisation itself is logged with ids and counts only.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext
from sqlalchemy import ColumnElement, delete, func, or_, select, update

from sandbox_crm import api as sandbox_api

from ..audit.services import record
from ..certification.rules import WARSAW, add_years
from ..certification.rules import today as warsaw_today
from ..extensions import db
from ..models import (
    FINAL_APPEAL_STATES,
    OPEN_RENEWAL_STATES,
    Appeal,
    AppealFile,
    AppealPanelMember,
    AppealProposal,
    AppealVote,
    Application,
    ApplicationStatus,
    BackgroundJob,
    Certificate,
    CertificateDuplicate,
    CertificateEvent,
    CertificationDecision,
    CommitteeMember,
    CompetenceRecord,
    Complaint,
    ComplaintStatus,
    CriterionResult,
    CriterionScore,
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    DecisionCorrection,
    DecisionProposal,
    DecisionVote,
    DuplicateRequest,
    DuplicateRequestStatus,
    Enrolment,
    EnrolmentStatus,
    OperatorAction,
    OutboxMail,
    PracticalAttempt,
    RenewalApplication,
    RenewalEvidence,
    RenewalPeriod,
    Role,
    Scoresheet,
    SessionStatus,
    StoredFile,
    TheoryAttempt,
    TrainingRecord,
    User,
    ValidationDecision,
    ValidationSession,
    WorkReview,
    WorkReviewStatus,
    utcnow,
)
from ..models.people import RecoveryCode
from ..practical.services import owner_ref

#: What replaces a free text whose column may not be empty.
PLACEHOLDER = "[anonymised]"
CAUSES = ("retention", "erasure")
SANDBOX_NAMES = "sandbox_actor_names"  # counted: rows of the sandbox that named the person as their actor


def _(text: str, **values: Any) -> str:
    """gettext, typed (Flask-Babel ships no type information)."""
    return str(gettext(text, **values))


def retention_years() -> int:
    return int(current_app.config.get("RECORDS_RETENTION_YEARS", 5))


def anonymised_email(user_id: int) -> str:
    """The unique placeholder that replaces an anonymised person's e-mail address."""
    return f"anonymised-{user_id}@invalid"


# --------------------------------------------------------------------------- the policy


@dataclass(frozen=True)
class Retention:
    """Until when a person's exam records are kept, and why."""

    #: The last day the person's exam records must be kept; None: there is nothing to keep.
    kept_until: date | None
    #: Translated reasons why the records are kept (empty if none).
    reasons: tuple[str, ...]
    #: The day this was worked out for (Warsaw calendar).
    as_of: date = field(default_factory=warsaw_today)
    #: Something open (an appeal, a request, a role ...) keeps the records for as long as it stays
    #: open: no day can be promised for erasure unless a dated rule keeps them longer anyway.
    open_ended: bool = False
    #: The last day the dated rules alone (certificate validity, last validation step) keep them.
    dated_until: date | None = None

    @property
    def erasable_on(self) -> date:
        """The first day erasure is possible (today if nothing keeps the records)."""
        if self.kept_until is None:
            return self.as_of
        return max(self.as_of, self.kept_until + timedelta(days=1))

    @property
    def erasable_from(self) -> date | None:
        """The first day erasure will be possible, as a person may be told it: None while something
        open keeps the records (it depends on when that is closed)."""
        if not self.open_ended:
            return self.erasable_on
        if self.dated_until is not None and self.dated_until >= self.as_of:
            return self.dated_until + timedelta(days=1)  # not before; what is open will be long closed
        return None

    def past(self) -> bool:
        """Whether the records are past retention: there were records, and nothing keeps them."""
        return self.kept_until is not None and self.kept_until < self.as_of


def _day(moment: datetime | date | None) -> date | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        return moment.astimezone(WARSAW).date()
    return moment


def _latest(days: Iterable[datetime | date | None]) -> date | None:
    found = [d for d in (_day(m) for m in days) if d is not None]
    return max(found) if found else None


def _enrolment_ids(user_id: int) -> list[int]:
    return list(db.session.scalars(select(Enrolment.id).where(Enrolment.candidate_id == user_id)))


def _last_activity(user: User, enrolment_ids: list[int]) -> date | None:
    """The last day of the person's validation: sessions, decisions, applications, appeals, complaints, renewals."""
    days: list[datetime | date | None] = []
    session = db.session
    in_enrolments = Enrolment.id.in_(enrolment_ids)
    days.append(session.scalar(select(func.max(ValidationSession.starts_at))
                               .join(Enrolment, Enrolment.session_id == ValidationSession.id).where(in_enrolments)))
    if enrolment_ids:
        days.append(session.scalar(select(func.max(ValidationDecision.decided_at))
                                   .where(ValidationDecision.enrolment_id.in_(enrolment_ids))))
        days.append(session.scalar(select(func.max(CertificationDecision.decided_at))
                                   .where(CertificationDecision.enrolment_id.in_(enrolment_ids))))
        days.append(session.scalar(
            select(func.max(DecisionCorrection.corrected_at))
            .join(ValidationDecision, DecisionCorrection.decision_id == ValidationDecision.id)
            .where(ValidationDecision.enrolment_id.in_(enrolment_ids))))
    days.append(session.scalar(select(func.max(func.coalesce(Application.decided_at, Application.submitted_at)))
                               .where(Application.candidate_id == user.id)))
    days.append(session.scalar(select(func.max(func.coalesce(Appeal.decided_at, Appeal.withdrawn_at, Appeal.filed_at)))
                               .where(Appeal.appellant_id == user.id)))
    days.append(session.scalar(select(func.max(func.coalesce(Complaint.closed_at, Complaint.filed_at)))
                               .where(Complaint.user_id == user.id)))
    days.append(session.scalar(select(func.max(func.coalesce(RenewalApplication.decided_at,
                                                             RenewalApplication.submitted_at)))
                               .where(RenewalApplication.holder_id == user.id)))
    return _latest(days)


def _exists(query: Any) -> bool:
    return db.session.scalar(select(query.exists())) or False


def _open_matters(user: User, enrolment_ids: list[int]) -> list[str]:
    """What is still open about the person (each keeps every record), as translated reasons."""
    reasons = []
    if _exists(select(Appeal.id).where(Appeal.appellant_id == user.id, Appeal.status.not_in(FINAL_APPEAL_STATES))):
        reasons.append(_("An appeal is open."))
    if _exists(select(Complaint.id).where(_complaints_of(user), Complaint.status != ComplaintStatus.CLOSED)):
        reasons.append(_("A complaint is open."))
    if _exists(select(RenewalApplication.id).where(RenewalApplication.holder_id == user.id,
                                                   RenewalApplication.status.in_(OPEN_RENEWAL_STATES))):
        reasons.append(_("An application to renew a certificate is open."))
    if _exists(select(DataRequest.id).where(DataRequest.user_id == user.id, DataRequest.status == DataRequestStatus.OPEN,
                                            DataRequest.kind != DataRequestKind.ERASURE)):
        reasons.append(_("A request about personal data is open."))
    if _exists(select(Application.id).where(Application.candidate_id == user.id, Application.status.in_(
            (ApplicationStatus.SUBMITTED, ApplicationStatus.WAITING)))):
        reasons.append(_("An application to a session awaits its formal check."))
    if enrolment_ids and _exists(
            select(Enrolment.id).join(ValidationSession, Enrolment.session_id == ValidationSession.id)
            .outerjoin(ValidationDecision, ValidationDecision.enrolment_id == Enrolment.id)
            .where(Enrolment.id.in_(enrolment_ids), Enrolment.status == EnrolmentStatus.ENROLLED,
                   ValidationSession.status != SessionStatus.CANCELLED, ValidationDecision.id.is_(None))):
        reasons.append(_("A validation session has not yet been decided."))
    if _exists(select(WorkReview.id).where(WorkReview.candidate_id == user.id,
                                           WorkReview.status == WorkReviewStatus.REQUESTED)):
        reasons.append(_("A request to see exam work is open."))
    if _exists(select(DuplicateRequest.id).where(DuplicateRequest.requested_by_id == user.id,
                                                 DuplicateRequest.status == DuplicateRequestStatus.OPEN)):
        reasons.append(_("A request for a duplicate certificate is open."))
    if any(r.role != Role.CANDIDATE for r in user.roles):
        reasons.append(_("The person holds a role at an institution or on the platform."))
    return reasons


def retention_of(user: User, today: date | None = None) -> Retention:
    """Until when ``user``'s exam records must be kept and why (see the module docstring).

    ``kept_until`` is the later of: the last certificate's ``valid_until`` plus the retention
    years, and the last day of the person's validation plus the retention years; at least
    ``today`` while anything is open. None when the person has no exam records and nothing open.
    """
    today = today or warsaw_today()
    years = retention_years()
    enrolment_ids = _enrolment_ids(user.id)
    reasons: list[str] = []
    candidates: list[date] = []

    last_certificate = db.session.scalars(select(Certificate).where(Certificate.holder_id == user.id)
                                          .order_by(Certificate.valid_until.desc(), Certificate.id.desc())).first()
    certificate_until = None
    if last_certificate is not None:
        certificate_until = add_years(last_certificate.valid_until, years)
        candidates.append(certificate_until)
        if certificate_until >= today:
            reasons.append(_("Certificate %(number)s is valid until %(valid_until)s; its records are kept %(years)s "
                             "years after that, until %(until)s.", number=last_certificate.number,
                             valid_until=last_certificate.valid_until.isoformat(), years=years,
                             until=certificate_until.isoformat()))
    last_activity = _last_activity(user, enrolment_ids)
    if last_activity is not None:
        until = add_years(last_activity, years)
        candidates.append(until)
        # Named only when it keeps the records longer than the certificate does.
        if until >= today and (certificate_until is None or until > certificate_until):
            reasons.append(_("The last validation step was on %(day)s; its records are kept %(years)s years after it, "
                             "until %(until)s.", day=last_activity.isoformat(), years=years, until=until.isoformat()))
    dated_until = max(candidates) if candidates else None
    open_matters = _open_matters(user, enrolment_ids)
    if open_matters:
        candidates.append(today)
        reasons.extend(open_matters)
    return Retention(kept_until=max(candidates) if candidates else None, reasons=tuple(reasons), as_of=today,
                     open_ended=bool(open_matters), dated_until=dated_until)


# --------------------------------------------------------------------------- anonymisation


@dataclass(frozen=True)
class AnonymisationResult:
    """What :func:`anonymise` did: for each kind of record, how many were removed or cleared."""

    user_id: int
    #: The person had been anonymised before: nothing was done (and nothing logged).
    already: bool
    #: Kind of record → how many rows were deleted or had their text replaced.
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _complaints_of(user: User) -> ColumnElement[bool]:
    """The person's complaints: filed from their account, or without one from their address."""
    return or_(Complaint.user_id == user.id,
               (Complaint.user_id.is_(None)) & (func.lower(Complaint.email) == user.email.lower()))


@dataclass(frozen=True)
class _Step:
    """One statement of an anonymisation: delete the rows ``where``, or set ``values`` in those of
    them whose ``present`` column holds something; counted under ``name`` (None: not counted)."""

    name: str | None
    model: Any
    where: ColumnElement[bool]
    values: dict[str, str | bytes | list[Any] | None] | None = None
    present: Any = None

    def _rows(self) -> ColumnElement[bool]:
        return self.where if self.present is None else (self.where & self.present.is_not(None))

    def count(self) -> int:
        return int(db.session.scalar(select(func.count()).select_from(self.model).where(self._rows())) or 0)

    def run(self) -> int:
        if self.values is None:
            statement: Any = delete(self.model).where(self._rows())
        else:
            statement = update(self.model).where(self._rows()).values(self.values)
        result = db.session.execute(statement.execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)


def _text(name: str, model: Any, column: Any, where: ColumnElement[bool], value: str | None) -> _Step:
    return _Step(name, model, where, {column.key: value}, column)


def _identifiers(user: User) -> list[str]:
    """What names the person in a text: their full name, e-mail address and PESEL."""
    return [text for text in (user.full_name.strip(), user.email, user.pesel) if text and len(text) >= 5]


def _plan(user: User) -> list[_Step]:
    """Every statement that anonymises ``user``'s records, in order (links before what they link)."""
    uid = user.id
    enrolments = select(Enrolment.id).where(Enrolment.candidate_id == uid).scalar_subquery()
    appeals = select(Appeal.id).where(Appeal.appellant_id == uid).scalar_subquery()
    renewals = select(RenewalApplication.id).where(RenewalApplication.holder_id == uid).scalar_subquery()
    certificates = select(Certificate.id).where(Certificate.holder_id == uid).scalar_subquery()
    decisions = select(ValidationDecision.id).where(ValidationDecision.enrolment_id.in_(enrolments)).scalar_subquery()
    attempts = select(TheoryAttempt.id).where(TheoryAttempt.candidate_id == uid).scalar_subquery()
    practicals = select(PracticalAttempt.id).where(PracticalAttempt.candidate_id == uid).scalar_subquery()
    scoresheets = select(Scoresheet.id).where(Scoresheet.enrolment_id.in_(enrolments)).scalar_subquery()
    proposals = select(DecisionProposal.id).where(DecisionProposal.enrolment_id.in_(enrolments)).scalar_subquery()
    appeal_proposals = select(AppealProposal.id).where(AppealProposal.appeal_id.in_(appeals)).scalar_subquery()
    # Worked out now: the steps below change what would match them (the complaints' address).
    files = list(db.session.scalars(select(StoredFile.id).where(or_(
        StoredFile.owner_id == uid,
        StoredFile.id.in_(select(AppealFile.file_id).where(AppealFile.appeal_id.in_(appeals))),
        StoredFile.id.in_(select(RenewalEvidence.file_id).where(RenewalEvidence.application_id.in_(renewals)))))))
    complaints = list(db.session.scalars(select(Complaint.id).where(_complaints_of(user))))
    in_complaints = Complaint.id.in_(complaints)
    # What background jobs made about the person's sessions (a session's archive holds their
    # protocol and name): dropped, as the job can make it again from what is left.
    sessions = set(db.session.scalars(select(Enrolment.session_id).where(Enrolment.candidate_id == uid)))
    jobs = [job_id for job_id, params in db.session.execute(
        select(BackgroundJob.id, BackgroundJob.params).where(BackgroundJob.kind != "periodic"))
            if isinstance(params, dict) and params.get("session_id") in sessions]
    return [
        # Uploaded documents: the rows linking them first, then the files.
        _Step("appeal_files", AppealFile, AppealFile.file_id.in_(files)),
        _Step("renewal_evidence", RenewalEvidence, RenewalEvidence.file_id.in_(files)),
        _Step("uploaded_files", StoredFile, StoredFile.id.in_(files)),
        _Step("appeal_annexes", Appeal, Appeal.id.in_(appeals), {"annex_pdf": None}, Appeal.annex_pdf),
        _Step("competence_evidence", CompetenceRecord, CompetenceRecord.user_id == uid,
              {"evidence": None, "evidence_name": None, "evidence_mimetype": None, "evidence_sha256": None},
              CompetenceRecord.evidence),
        _Step("validation_protocols", ValidationDecision, ValidationDecision.id.in_(decisions), {"protocol_pdf": b""}),
        # Free text: required columns get the placeholder, optional ones are emptied.
        _text("appeal_texts", Appeal, Appeal.grounds, Appeal.id.in_(appeals), PLACEHOLDER),
        _text("appeal_texts", Appeal, Appeal.late_reason, Appeal.id.in_(appeals), PLACEHOLDER),
        _text("appeal_texts", Appeal, Appeal.justification, Appeal.id.in_(appeals), PLACEHOLDER),
        _text("appeal_texts", AppealPanelMember, AppealPanelMember.declaration,
              AppealPanelMember.appeal_id.in_(appeals), None),
        _text("appeal_texts", AppealProposal, AppealProposal.justification, AppealProposal.id.in_(appeal_proposals),
              PLACEHOLDER),
        _text("appeal_texts", AppealVote, AppealVote.reason, AppealVote.proposal_id.in_(appeal_proposals), PLACEHOLDER),
        _text("application_texts", Application, Application.needs_other, Application.candidate_id == uid, None),
        _text("application_texts", Application, Application.recognition_note, Application.candidate_id == uid, None),
        _text("application_texts", Application, Application.rejection_reason, Application.candidate_id == uid,
              PLACEHOLDER),
        _text("enrolment_texts", Enrolment, Enrolment.accommodations, Enrolment.candidate_id == uid, None),
        _text("enrolment_texts", Enrolment, Enrolment.practical_absent_note, Enrolment.candidate_id == uid, None),
        _text("assessment_texts", CriterionScore, CriterionScore.comment, CriterionScore.scoresheet_id.in_(scoresheets),
              None),
        _text("assessment_texts", CriterionScore, CriterionScore.interview_notes,
              CriterionScore.scoresheet_id.in_(scoresheets), None),
        _text("assessment_texts", CriterionResult, CriterionResult.note, CriterionResult.enrolment_id.in_(enrolments),
              None),
        _text("decision_texts", DecisionProposal, DecisionProposal.justification, DecisionProposal.id.in_(proposals),
              PLACEHOLDER),
        _text("decision_texts", DecisionVote, DecisionVote.reason, DecisionVote.proposal_id.in_(proposals), PLACEHOLDER),
        _text("decision_texts", ValidationDecision, ValidationDecision.justification,
              ValidationDecision.id.in_(decisions), PLACEHOLDER),
        _text("decision_texts", CertificationDecision, CertificationDecision.reason,
              CertificationDecision.enrolment_id.in_(enrolments), PLACEHOLDER),
        _text("decision_texts", DecisionCorrection, DecisionCorrection.reason,
              DecisionCorrection.decision_id.in_(decisions), PLACEHOLDER),
        _text("operator_texts", OperatorAction, OperatorAction.reason, or_(
            OperatorAction.attempt_id.in_(attempts), OperatorAction.practical_attempt_id.in_(practicals)), PLACEHOLDER),
        _text("work_review_texts", WorkReview, WorkReview.refusal_reason, WorkReview.candidate_id == uid, PLACEHOLDER),
        _text("certificate_texts", Certificate, Certificate.state_reason, Certificate.id.in_(certificates), PLACEHOLDER),
        _text("certificate_texts", CertificateEvent, CertificateEvent.reason,
              CertificateEvent.certificate_id.in_(certificates), PLACEHOLDER),
        _text("certificate_texts", CertificateDuplicate, CertificateDuplicate.reason,
              CertificateDuplicate.certificate_id.in_(certificates), PLACEHOLDER),
        _text("certificate_texts", DuplicateRequest, DuplicateRequest.reason, DuplicateRequest.requested_by_id == uid,
              PLACEHOLDER),
        _text("certificate_texts", DuplicateRequest, DuplicateRequest.response, DuplicateRequest.requested_by_id == uid,
              PLACEHOLDER),
        _text("renewal_texts", RenewalApplication, RenewalApplication.return_note, RenewalApplication.id.in_(renewals),
              None),
        _text("renewal_texts", RenewalApplication, RenewalApplication.justification,
              RenewalApplication.id.in_(renewals), PLACEHOLDER),
        _Step("renewal_texts", RenewalPeriod, RenewalPeriod.application_id.in_(renewals),
              {"employer": PLACEHOLDER, "role": PLACEHOLDER}),
        _text("data_request_texts", DataRequest, DataRequest.details, DataRequest.user_id == uid, PLACEHOLDER),
        _text("data_request_texts", DataRequest, DataRequest.reason, DataRequest.user_id == uid, PLACEHOLDER),
        _text("data_request_texts", DataRequest, DataRequest.extension_reason, DataRequest.user_id == uid, PLACEHOLDER),
        _text("training_texts", TrainingRecord, TrainingRecord.note, TrainingRecord.candidate_id == uid, None),
        _text("committee_texts", CommitteeMember, CommitteeMember.declaration_text, CommitteeMember.assessor_id == uid,
              None),
        _text("competence_texts", CompetenceRecord, CompetenceRecord.note, CompetenceRecord.user_id == uid, None),
        # Complaints: the complainant's name and address, their text and the answer.
        _Step("complaints", Complaint, in_complaints,
              {"name": PLACEHOLDER, "email": anonymised_email(uid), "text": PLACEHOLDER}),
        _text("complaints_answered", Complaint, Complaint.outcome, in_complaints, PLACEHOLDER),
        # Mail to the person, and mail to others that names them (staff told of their appeal ...).
        _Step("mail", OutboxMail, or_(OutboxMail.user_id == uid, func.lower(OutboxMail.recipient) == user.email.lower(),
                                      *(column.contains(needle, autoescape=True) for column in (OutboxMail.subject, OutboxMail.body)
                                        for needle in _identifiers(user)))),
        _Step("recovery_codes", RecoveryCode, RecoveryCode.user_id == uid),
        _Step("job_results", BackgroundJob, BackgroundJob.id.in_(jobs),
              {"result": None, "result_name": None, "result_type": None, "problems": []}),
    ]


def _tally(steps: Iterable[tuple[_Step, int]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step, rows in steps:
        if step.name is not None and rows:
            counts[step.name] = counts.get(step.name, 0) + rows
    return counts


def preview(user: User) -> dict[str, int]:
    """What :func:`anonymise` would remove or clear, by kind (counts), changing nothing."""
    if user.anonymised_at is not None:
        return {}
    counts = _tally((step, step.count()) for step in _plan(user))
    if sandbox := sandbox_api.actor_name_count(owner_ref(user), [user.full_name]):
        counts[SANDBOX_NAMES] = sandbox
    return counts


def anonymise(user: User, *, actor: User | None, cause: str) -> AnonymisationResult:
    """Replace ``user``'s identifying data and remove their documents and free text (see the
    module docstring for what goes and what stays), and log it (ids and counts only).

    ``cause``: "retention" (the purge) or "erasure" (a granted request). Idempotent: a person
    anonymised before is left as they are. The caller commits.
    """
    if cause not in CAUSES:
        raise ValueError(f"cause must be one of {CAUSES}, not {cause!r}")
    if user.anonymised_at is not None:
        return AnonymisationResult(user_id=user.id, already=True)
    uid = user.id
    db.session.flush()
    counts = _tally((step, step.run()) for step in _plan(user))
    if sandbox := sandbox_api.forget_actor(owner_ref(user), f"anonymised #{uid}", [user.full_name]):
        counts[SANDBOX_NAMES] = sandbox

    # The account itself.
    user.email = anonymised_email(uid)
    user.first_name, user.last_name = "anonymised", f"#{uid}"
    user.pesel = user.id_document_type = user.id_document_number = None
    user.birth_date = None
    user.birth_place = user.phone = None
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = None, None, None
    # Not a hash of any password: check_password_hash refuses it.
    user.password_hash = "!anonymised"  # noqa: S105
    user.active = False
    user.last_login_at = None
    user.anonymised_at = utcnow()
    db.session.flush()
    # Rows loaded before the bulk statements are read again when next used.
    for instance in list(db.session.identity_map.values()):
        if instance is not user:
            db.session.expire(instance)
    record("user.anonymised", object_type="user_account", object_id=uid, actor=actor,
           after={"cause": cause, "counts": counts})
    return AnonymisationResult(user_id=uid, already=False, counts=counts)
