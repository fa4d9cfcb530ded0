"""Appeals: which decisions a person may appeal and until when, filing an appeal with its files, the
certifying institution's handling (acknowledgement, the panel, an appeal filed on the appellant's
behalf or accepted late), the panel members' declaration of impartiality, the files, withdrawal.

The panel's proposals and votes — and carrying out an upheld appeal — are in :mod:`.deciding`;
seeing one's exam work in :mod:`.reviews`.

Who handles an appeal: the certifying institution (ISO/IEC 17024 makes the certification body
answerable for its appeals; the decision appealed may have been taken at a validating institution,
whose staff are then too close to it). Its staff (``Role.STAFF`` there) acknowledge the appeal,
appoint the panel from the institution's appeals-panel members (``Role.APPEALS``) and start the
review; they never open the files, which only the appellant and the panel read.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, false, func, or_, select

from ..audit import services as audit_log
from ..certification.rules import _
from ..committee.corrections import standing_positive
from ..extensions import db
from ..mail.services import queue_localised
from ..models import (
    FINAL_APPEAL_STATES,
    Appeal,
    AppealFile,
    AppealPanelMember,
    AppealStatus,
    AppealSubject,
    Application,
    ApplicationStatus,
    AttemptItem,
    AttemptStatus,
    AuditEntry,
    Certificate,
    CertificateEvent,
    CertificateEventKind,
    CertificationDecision,
    CommitteeMember,
    CriterionResult,
    DecisionCorrection,
    DecisionProposal,
    Enrolment,
    Institution,
    OperatorAction,
    PracticalAttempt,
    Qualification,
    RenewalApplication,
    RenewalStatus,
    Role,
    StoredFile,
    TheoryAttempt,
    TrainingRecord,
    User,
    ValidationDecision,
    VoidedItem,
    utcnow,
)
from ..operator.services import concerning as operator_actions_concerning
from ..security import public_url, role_holders
from ..sessions.services import reassessed_enrolments
from ..theory.services import counted_attempt
from ..uploads import Upload, UploadError, read_storage, safe_name, store
from . import rules
from .rules import Involvement


class AppealError(ValueError):
    """A rule of appeals refused the action; the message says why (translated)."""


class AlreadyAppealed(AppealError):
    """The decision has an appeal already (open, or decided: a panel's decision is final)."""

    def __init__(self, appeal: Appeal) -> None:
        self.appeal = appeal
        message = (_("You have already appealed against this decision: your appeal is being handled.") if appeal.is_open
                   else _("This decision has already been appealed and the panel has decided the appeal."))
        super().__init__(message)


class LateAppeal(AppealError):
    """The appeal window has ended (the message gives the date that applied)."""


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class Decision:
    """A decision concerning one person, as appeals see it: what it is, whom it concerns, which
    certifying institution handles appeals against it, and when it was taken and sent — as it
    stands: a validation decision that staff corrected stands as the correction left it, sent when
    the correction was (``correction``)."""

    subject: AppealSubject
    record: Any
    candidate: User
    institution: Institution
    qualification: Qualification
    enrolment: Enrolment | None
    certificate: Certificate | None
    #: What a person recognises it by: the session's title, or the certificate's number.
    context: str
    #: For a validation decision, the last correction staff recorded outside an appeal
    #: (:func:`staff_correction`): the decision as it stands was taken and sent then.
    correction: DecisionCorrection | None = None

    @property
    def subject_id(self) -> int:
        return int(self.record.id)

    @property
    def taken_moment(self) -> datetime | None:
        """When the decision as it stands was taken (:func:`rules.taken_moment`; a correction's moment)."""
        if self.correction is not None:
            return self.correction.corrected_at
        return rules.taken_moment(self.subject, self.record)

    @property
    def sent_moment(self) -> datetime | None:
        """When the decision as it stands was sent (:func:`rules.sent_moment`; the correction's mail)."""
        if self.correction is not None:
            return self.correction.notified_at or self.correction.corrected_at
        return rules.sent_moment(self.subject, self.record)

    @property
    def sent_on(self) -> date | None:
        moment = self.sent_moment
        return rules.local_day(moment) if moment is not None else None

    @property
    def window_days(self) -> int:
        return self.qualification.rules.appeal_window_days

    @property
    def decision_days(self) -> int:
        return self.qualification.rules.appeal_decision_days

    @property
    def window_ends_on(self) -> date | None:
        sent = self.sent_on
        return rules.window_end(sent, self.window_days) if sent is not None else None

    @property
    def appealable(self) -> bool:
        """Whether it is a decision against the person that may be appealed: a rejected application,
        a finished test or exam (its conduct), a validation decision negative as it stands (as
        decided, or as corrected), a negative certification decision, a suspension or revocation, a
        rejected renewal."""
        if self.sent_moment is None:
            return False
        if self.subject == AppealSubject.VALIDATION:
            return not standing_positive(self.record)
        if self.subject == AppealSubject.CERTIFICATION:
            return not self.record.positive
        if self.subject == AppealSubject.RENEWAL:
            return bool(self.record.status == RenewalStatus.REJECTED)
        return True

    def late_refusal(self, on: date) -> str | None:
        sent = self.sent_on
        return rules.late_refusal(sent, self.window_days, on) if sent is not None else None


MODELS: dict[AppealSubject, type[Any]] = {
    AppealSubject.APPLICATION: Application, AppealSubject.THEORY: TheoryAttempt,
    AppealSubject.PRACTICAL: PracticalAttempt, AppealSubject.VALIDATION: ValidationDecision,
    AppealSubject.CERTIFICATION: CertificationDecision, AppealSubject.CERTIFICATE: CertificateEvent,
    AppealSubject.RENEWAL: RenewalApplication,
}


def staff_correction(decision: ValidationDecision) -> DecisionCorrection | None:
    """The last correction of the validation decision recorded outside an appeal (by staff, after a
    voided theory item), or None. It is a new decision on the candidate's validation, sent to them
    with its own mail, so an appeal against the decision as it stands is against it. A correction an
    upheld appeal recorded is the outcome of that appeal (whose panel decided it), not a new decision."""
    return db.session.scalar(select(DecisionCorrection).where(
        DecisionCorrection.decision_id == decision.id, DecisionCorrection.appeal_id.is_(None))
        .order_by(DecisionCorrection.corrected_at.desc(), DecisionCorrection.id.desc()).limit(1))


def validation_sent_moment(decision: ValidationDecision) -> datetime:
    """When the validation decision as it stands was sent: its last staff correction's mail, else
    the decision's own (else the moment it was taken)."""
    correction = staff_correction(decision)
    if correction is not None:
        return correction.notified_at or correction.corrected_at
    return decision.notified_at or decision.decided_at


def _describe(subject: AppealSubject, record: Any) -> Decision:
    if subject in (AppealSubject.CERTIFICATE, AppealSubject.RENEWAL):
        certificate: Certificate = record.certificate
        return Decision(subject, record, certificate.holder, certificate.institution, certificate.qualification,
                        certificate.enrolment, certificate, certificate.number)
    if subject == AppealSubject.APPLICATION:
        session = record.session
        return Decision(subject, record, record.candidate, session.institution.certifying, session.qualification, None,
                        None, session.title)
    enrolment: Enrolment = record.enrolment
    session = enrolment.session
    correction = staff_correction(record) if subject == AppealSubject.VALIDATION else None
    return Decision(subject, record, enrolment.candidate, session.institution.certifying, session.qualification,
                    enrolment, None, session.title, correction)


def load(subject: AppealSubject, subject_id: int) -> Decision | None:
    """The decision with this id, whatever its state now (an upheld appeal may have changed it)."""
    record = db.session.get(MODELS[subject], subject_id)
    return _describe(subject, record) if record is not None else None


def decision_of(appeal: Appeal) -> Decision:
    """The decision the appeal is against."""
    decision = load(appeal.subject, appeal.subject_id)
    if decision is None:  # decisions are kept for the whole retention period
        raise AppealError(_("The decision appealed no longer exists."))
    return decision


def parse_subject(value: str) -> AppealSubject | None:
    try:
        return AppealSubject(value)
    except ValueError:
        return None


def own_decision(user: User, subject: str, subject_id: int) -> Decision | None:
    """The appealable decision ``subject``/``subject_id`` if it concerns ``user`` (None otherwise:
    someone else's decision looks the same as one that does not exist)."""
    kind = parse_subject(subject)
    decision = load(kind, subject_id) if kind is not None else None
    if decision is None or decision.candidate.id != user.id or not decision.appealable:
        return None
    return decision


def candidate_decisions(user: User) -> list[Decision]:
    """Every appealable decision concerning ``user``, the most recently sent first."""
    records: list[tuple[AppealSubject, Any]] = []
    records += [(AppealSubject.APPLICATION, r) for r in db.session.scalars(
        select(Application).where(Application.candidate_id == user.id, Application.status == ApplicationStatus.REJECTED))]
    records += [(AppealSubject.THEORY, r) for r in db.session.scalars(
        select(TheoryAttempt).where(TheoryAttempt.candidate_id == user.id, TheoryAttempt.status == AttemptStatus.SUBMITTED))]
    records += [(AppealSubject.PRACTICAL, r) for r in db.session.scalars(
        select(PracticalAttempt).where(PracticalAttempt.candidate_id == user.id, PracticalAttempt.finished_at.is_not(None)))]
    # Every validation decision: a positive one may stand negative after a correction (appealable() tells).
    records += [(AppealSubject.VALIDATION, r) for r in db.session.scalars(
        select(ValidationDecision).join(Enrolment, ValidationDecision.enrolment_id == Enrolment.id)
        .where(Enrolment.candidate_id == user.id))]
    records += [(AppealSubject.CERTIFICATION, r) for r in db.session.scalars(
        select(CertificationDecision).join(Enrolment, CertificationDecision.enrolment_id == Enrolment.id)
        .where(Enrolment.candidate_id == user.id, CertificationDecision.positive.is_(False),
               CertificationDecision.overturned_at.is_(None)))]
    records += [(AppealSubject.CERTIFICATE, r) for r in db.session.scalars(
        select(CertificateEvent).join(Certificate, CertificateEvent.certificate_id == Certificate.id)
        .where(Certificate.holder_id == user.id,
               CertificateEvent.kind.in_([CertificateEventKind.SUSPENDED, CertificateEventKind.REVOKED])))]
    records += [(AppealSubject.RENEWAL, r) for r in db.session.scalars(
        select(RenewalApplication).where(RenewalApplication.holder_id == user.id,
                                         RenewalApplication.status == RenewalStatus.REJECTED))]
    decisions = [d for subject, record in records if (d := _describe(subject, record)).appealable]
    return sorted(decisions, key=lambda d: (d.sent_moment or utcnow(), d.subject.value, d.subject_id), reverse=True)


def appeals_against(decision: Decision) -> list[Appeal]:
    return list(db.session.scalars(select(Appeal).where(Appeal.subject == decision.subject,
                                                         Appeal.subject_id == decision.subject_id).order_by(Appeal.id)))


def existing_appeal(decision: Decision) -> Appeal | None:
    """The appeal against the decision as it stands that is in the way of another (one appeal per
    decision): an open one, or one the panel decided once the decision had been taken (its decision
    is final). A withdrawn appeal leaves the way free within the window. So does an appeal decided
    before the decision was taken as it stands — a formal check or a renewal decided again after an
    upheld appeal, a validation decision corrected by staff: that appeal was against an earlier
    decision, and the new one has a window of its own."""
    taken = decision.taken_moment
    for appeal in reversed(appeals_against(decision)):
        if appeal.status == AppealStatus.WITHDRAWN:
            continue
        if appeal.is_open or appeal.decided_at is None or taken is None or appeal.decided_at >= taken:
            return appeal
    return None


def filing_refusal(decision: Decision, on: date) -> AppealError | None:
    """Why the appellant may not appeal against the decision on ``on`` (as the error to raise), or None."""
    if not decision.appealable:
        return AppealError(_("This decision cannot be appealed."))
    existing = existing_appeal(decision)
    if existing is not None:
        return AlreadyAppealed(existing)
    late = decision.late_refusal(on)
    return LateAppeal(late) if late else None


@dataclass(frozen=True)
class AppealOption:
    """What a page shows beside a decision: its appeal (``appeal``), the way to file one until
    ``window_ends_on`` (``state`` "can"), or the date the window ended (``state`` "late")."""

    state: str
    decision: Decision
    appeal: Appeal | None
    window_ends_on: date | None


def appeal_option(user: User, subject: str, subject_id: int) -> AppealOption | None:
    """The appeal state of one of ``user``'s decisions (None: not theirs, or nothing to appeal)."""
    decision = own_decision(user, subject, subject_id)
    if decision is None:
        return None
    existing = existing_appeal(decision)
    if existing is not None:
        return AppealOption("appealed", decision, existing, decision.window_ends_on)
    late = decision.late_refusal(rules.today())
    return AppealOption("late" if late else "can", decision, None, decision.window_ends_on)


# --------------------------------------------------------------------------- filing


def read_files(storages: Iterable[Any]) -> list[Upload]:
    """Check every file chosen in a form (an input left empty is no file): all or none — the first
    refused file refuses them all, with its name and why, before anything is stored."""
    chosen = [s for s in storages if s is not None and getattr(s, "filename", None)]
    if len(chosen) > rules.MAX_FILES:
        raise AppealError(_("Attach at most %(n)d files to an appeal.", n=rules.MAX_FILES))
    checked = []
    for storage in chosen:
        try:
            checked.append(read_storage(storage))
        except UploadError as error:
            name = safe_name(storage.filename, "")
            message = str(error)
            raise AppealError(message if not name or name in message else f"{name}: {message}") from None
    return checked


def _lock_person(user: User) -> None:
    """Serialise appeals by one person (a row lock on PostgreSQL; on SQLite the database's write
    lock, ``extensions._sqlite_locking_read``), so two clicks cannot both pass the
    one-appeal-per-decision check."""
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update(key_share=True))




def _store_files(appeal: Appeal, uploads: Sequence[Upload], owner: User) -> list[StoredFile]:
    stored = []
    for upload in uploads:
        file = store(upload, owner)
        appeal.files.append(AppealFile(file=file))
        stored.append(file)
    db.session.flush()
    return stored


def file_appeal(actor: User, decision: Decision, grounds: str | None, uploads: Sequence[Upload] = (), *,
                late_reason: str | None = None, on: date | None = None) -> Appeal:
    """File an appeal against ``decision`` with its grounds (required) and up to five checked files.

    The appellant files their own (``actor`` is the person the decision concerns), within the
    qualification's ``appeal_window_days`` of the day the decision was sent; later, the appeal is
    refused with the date that applied (:class:`LateAppeal`). Staff of the certifying institution
    may file one on the appellant's behalf (an appeal received in writing), and accept a late one
    with their recorded reason. One appeal per decision (:class:`AlreadyAppealed`). The panel's
    deadline is ``appeal_decision_days`` after the day of filing. Audited; the appellant and the
    institution's staff are mailed.
    """
    on = on or rules.today()
    candidate = decision.candidate
    on_behalf = actor.id != candidate.id
    if on_behalf and not actor.has_role(Role.STAFF, decision.institution.id):
        raise AppealError(_("Only the person the decision concerns, or staff of %(name)s on their behalf, may appeal.",
                            name=decision.institution.name))
    _lock_person(candidate)
    refusal = filing_refusal(decision, on)
    late_text = (late_reason or "").strip() or None
    if isinstance(refusal, LateAppeal) and on_behalf:
        if late_text is None:
            raise AppealError(str(refusal) + " " + _("To accept it, give the reason for accepting a late appeal."))
    elif refusal is not None:
        raise refusal
    else:
        late_text = None  # on time: there is nothing late to accept
    text = (grounds or "").strip()
    if not text:
        raise AppealError(_("Give the grounds of the appeal: say what is wrong with the decision and why it should change."))
    if len(uploads) > rules.MAX_FILES:
        raise AppealError(_("Attach at most %(n)d files to an appeal.", n=rules.MAX_FILES))
    sent, ends = decision.sent_on, decision.window_ends_on
    if sent is None or ends is None:  # appealable decisions were sent; only a concurrent change gets here
        raise AppealError(_("This decision cannot be appealed."))
    now = utcnow()
    appeal = Appeal(institution_id=decision.institution.id, appellant_id=candidate.id, subject=decision.subject,
                    subject_id=decision.subject_id, enrolment_id=decision.enrolment.id if decision.enrolment else None,
                    certificate_id=decision.certificate.id if decision.certificate else None, grounds=text,
                    sent_on=sent, window_ends_on=ends, filed_at=now, status=AppealStatus.FILED,
                    late_accepted_by_id=actor.id if late_text else None, late_reason=late_text,
                    decide_by=rules.decide_by(on, decision.decision_days))
    db.session.add(appeal)
    db.session.flush()
    files = _store_files(appeal, uploads, actor)
    audit_log.record("appeal.filed", appeal, after={
        "subject": decision.subject, "subject_id": decision.subject_id, "candidate_id": candidate.id,
        "enrolment_id": appeal.enrolment_id, "certificate_id": appeal.certificate_id,
        "grounds": audit_log.text_digest(text), "files": [f.sha256 for f in files], "sent_on": sent,
        "window_ends_on": ends, "decide_by": appeal.decide_by, "by": actor.id}, actor=actor,
        institution_id=appeal.institution_id)
    if late_text:
        audit_log.record("appeal.late_accepted", appeal, after={"reason": late_text, "window_ends_on": ends, "by": actor.id},
                         actor=actor, institution_id=appeal.institution_id)
    links = {"appeal_link": public_url("appeals.show", appeal_id=appeal.id)}
    queue_localised(candidate, "appeal_filed", lambda: _("Your appeal has been received"), appeal=appeal, decision=decision,
         on_behalf=on_behalf, **links)
    for staff in role_holders([appeal.institution_id], [Role.STAFF]):
        queue_localised(staff, "appeal_filed_staff", lambda: _("A new appeal to handle"), appeal=appeal, decision=decision,
             staff_link=public_url("appeals.staff_show", appeal_id=appeal.id))
    db.session.commit()
    return appeal


def appellant_appeals(user: User) -> list[Appeal]:
    return list(db.session.scalars(select(Appeal).where(Appeal.appellant_id == user.id).order_by(Appeal.id.desc())))


def add_files(user: User, appeal: Appeal, uploads: Sequence[Upload]) -> list[StoredFile]:
    """The appellant attaches more files to their appeal until it is decided (five in all at most)."""
    appeal = _locked(appeal)
    if appeal.appellant_id != user.id:
        raise AppealError(_("Only the appellant adds files to an appeal."))
    if not appeal.is_open:
        raise AppealError(_("This appeal is closed: nothing can be added to it."))
    if not uploads:
        raise AppealError(_("Choose a file to attach."))
    if len(appeal.files) + len(uploads) > rules.MAX_FILES:
        raise AppealError(_("An appeal carries at most %(n)d files; %(have)d are attached already.", n=rules.MAX_FILES,
                            have=len(appeal.files)))
    files = _store_files(appeal, uploads, user)
    audit_log.record("appeal.files_added", appeal, after={"files": [f.sha256 for f in files]}, actor=user,
                     institution_id=appeal.institution_id)
    db.session.commit()
    return files


def withdraw(user: User, appeal: Appeal) -> Appeal:
    """The appellant withdraws their appeal while it is not decided (audited; the panel is told)."""
    appeal = _locked(appeal)
    if appeal.appellant_id != user.id:
        raise AppealError(_("Only the appellant may withdraw an appeal."))
    if not appeal.is_open:
        raise AppealError(_("This appeal is already closed."))
    before = appeal.status
    now = utcnow()
    appeal.status, appeal.withdrawn_at = AppealStatus.WITHDRAWN, now
    for proposal in appeal.proposals:
        if proposal.status == "open":
            proposal.status, proposal.closed_at = "withdrawn", now
    audit_log.record("appeal.withdrawn", appeal, before={"status": before}, after={"status": appeal.status}, actor=user,
                     institution_id=appeal.institution_id)
    for member in appeal.panel:
        queue_localised(member.member, "appeal_withdrawn", lambda: _("An appeal has been withdrawn"), appeal=appeal)
    db.session.commit()
    return appeal


def _locked(appeal: Appeal) -> Appeal:
    """The appeal as it is now, its row locked until the transaction ends."""
    locked = db.session.scalar(select(Appeal).where(Appeal.id == appeal.id).with_for_update()
                               .execution_options(populate_existing=True))
    if locked is None:
        raise AppealError(_("The appeal no longer exists."))
    return locked


# --------------------------------------------------------------------------- the files


def may_read_files(user: User, appeal: Appeal) -> bool:
    """The appellant and the members of the appeal's panel who have declared impartiality; nobody
    else, staff included."""
    if user.id == appeal.appellant_id:
        return True
    member = panel_member(appeal, user)
    return member is not None and member.declared_at is not None


def appeal_file(appeal: Appeal, file_id: int) -> StoredFile | None:
    """The stored file of one of the appeal's attachments (``file_id`` is the attachment's id)."""
    attachment = db.session.scalar(select(AppealFile).where(AppealFile.id == file_id, AppealFile.appeal_id == appeal.id))
    return attachment.file if attachment is not None else None


# --------------------------------------------------------------------------- the institution's staff


def can_manage(user: User, appeal: Appeal) -> bool:
    """Staff of the certifying institution that handles the appeal."""
    return user.has_role(Role.STAFF, appeal.institution_id)


def _manage(user: User, appeal: Appeal) -> None:
    if not can_manage(user, appeal):
        raise AppealError(_("Only staff of the certifying institution handle its appeals."))
    if user.id == appeal.appellant_id:  # nobody handles their own appeal (its panel, its review)
        raise AppealError(_("This is your own appeal: another staff member handles it."))
    if user.id in involved_people(appeal):  # nor one against their own decision (they would choose its panel)
        raise AppealError(_("You took part in the decision appealed (or trained the appellant): another staff member "
                            "handles this appeal."))


STATUS_FILTERS = ("open", "overdue", *(s.value for s in AppealStatus), "all")


def staff_query(user: User, status: str = "open", on: date | None = None) -> Select[Appeal]:
    """Appeals handled by the institutions where ``user`` is staff: ``status`` one of
    :data:`STATUS_FILTERS` ("open": not yet decided or withdrawn; "overdue": open past their
    deadline), the nearest deadline first."""
    ids = list(user.institution_ids(Role.STAFF))
    query = select(Appeal).where(Appeal.institution_id.in_(ids) if ids else false())
    if status in ("open", "overdue"):
        query = query.where(Appeal.status.not_in(FINAL_APPEAL_STATES))
        if status == "overdue":
            query = query.where(Appeal.decide_by < (on or rules.today()))
    elif status != "all":
        query = query.where(Appeal.status == AppealStatus(status))
    return query.order_by(Appeal.decide_by, Appeal.id)


def acknowledge(user: User, appeal: Appeal) -> Appeal:
    """Staff acknowledge a filed appeal: the appellant is mailed the panel's deadline."""
    appeal = _locked(appeal)
    _manage(user, appeal)
    if appeal.status != AppealStatus.FILED:
        raise AppealError(_("This appeal has already been acknowledged."))
    appeal.status, appeal.acknowledged_at, appeal.acknowledged_by_id = AppealStatus.ACKNOWLEDGED, utcnow(), user.id
    audit_log.record("appeal.acknowledged", appeal, before={"status": AppealStatus.FILED},
                     after={"status": appeal.status, "decide_by": appeal.decide_by}, actor=user,
                     institution_id=appeal.institution_id)
    queue_localised(appeal.appellant, "appeal_acknowledged", lambda: _("Your appeal: the deadline for the decision"),
         appeal=appeal, decision=decision_of(appeal), appeal_link=public_url("appeals.show", appeal_id=appeal.id))
    db.session.commit()
    return appeal


#: What a renewal's assessor does on the way to the decision, as audited: whoever did any of it on
#: this renewal took part in it, an assessor replaced before the decision included (the replacement
#: clears their declaration and verdicts from the row; the audit keeps them).
RENEWAL_ASSESSING_ACTIONS = ("renewal.impartiality_declared", "renewal.evidence_judged", "renewal.returned",
                             "renewal.decided")
#: The formal check's decisions, as audited: an application decided again after an upheld appeal
#: keeps only its last decider on the row.
APPLICATION_DECIDING_ACTIONS = ("application.accepted", "application.waitlisted", "application.rejected")


def _audited_actors(record: Any, actions: Sequence[str]) -> list[int | None]:
    """Who did any of ``actions`` on ``record``, as the audit log records it."""
    return list(db.session.scalars(select(AuditEntry.actor_id).where(
        AuditEntry.object_type == record.__tablename__, AuditEntry.object_id == str(record.id),
        AuditEntry.action.in_(actions)).distinct()))


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _theory_attempt_ids(enrolment: Enrolment) -> set[int]:
    """The enrolment's own theory attempts and the one whose result counts for it (recognised from
    an earlier validation, or the assessed one's for a reassessment)."""
    ids = set(db.session.scalars(select(TheoryAttempt.id).where(TheoryAttempt.enrolment_id == enrolment.id)))
    counted = counted_attempt(enrolment)
    return ids | {counted.id} if counted is not None else ids


def involved_people(appeal: Appeal) -> dict[int, set[Involvement]]:
    """Everyone who took part in the decision appealed (or is tied to the appellant), by user id,
    with how: the appellant; the committee of the candidate's session (members, chair and a member
    appointed for them after a dissent) and whoever scored or decided the validation; whoever
    corrected the validation decision; the session's operator and anyone who acted on the
    candidate's test; the trainer; who released the theory results; who voided an item drawn in the
    candidate's test (it was rescored without it); who decided certification; who suspended or
    revoked the certificate; everyone who assessed or decided the renewal (an assessor replaced
    before the decision included, from the audit log); everyone who decided the application (an
    earlier decision on it included). For a reassessment the earlier validation's people count too."""
    found: dict[int, set[Involvement]] = {}

    def add(user_ids: Iterable[int | None], kind: Involvement) -> None:
        for user_id in user_ids:
            if user_id is not None:
                found.setdefault(user_id, set()).add(kind)

    add([appeal.appellant_id], Involvement.APPELLANT)
    add(db.session.scalars(select(TrainingRecord.trainer_id).where(TrainingRecord.candidate_id == appeal.appellant_id)),
        Involvement.TRAINER)
    chain = [appeal.enrolment, *reassessed_enrolments(appeal.enrolment)] if appeal.enrolment is not None else []
    for enrolment in chain:
        session = enrolment.session
        add(db.session.scalars(select(CommitteeMember.assessor_id).where(
            CommitteeMember.session_id == session.id,
            or_(CommitteeMember.enrolment_id.is_(None), CommitteeMember.enrolment_id == enrolment.id))),
            Involvement.COMMITTEE)
        add([session.operator_id, enrolment.practical_absent_by_id], Involvement.OPERATOR)
        add(db.session.scalars(select(OperatorAction.operator_id).where(
            OperatorAction.session_id == session.id, operator_actions_concerning(enrolment.id))), Involvement.OPERATOR)
        add(db.session.scalars(select(ValidationDecision.decided_by_id).where(ValidationDecision.enrolment_id == enrolment.id)),
            Involvement.VALIDATION)
        add(db.session.scalars(select(CriterionResult.recorded_by_id).where(CriterionResult.enrolment_id == enrolment.id)),
            Involvement.VALIDATION)
        add(db.session.scalars(select(DecisionProposal.proposed_by_id).where(DecisionProposal.enrolment_id == enrolment.id)),
            Involvement.VALIDATION)
        add(db.session.scalars(select(DecisionCorrection.corrected_by_id)
                               .join(ValidationDecision, DecisionCorrection.decision_id == ValidationDecision.id)
                               .where(ValidationDecision.enrolment_id == enrolment.id)), Involvement.CORRECTION)
        attempt_ids = _theory_attempt_ids(enrolment)
        if attempt_ids:
            add(db.session.scalars(select(VoidedItem.voided_by_id).join(AttemptItem, AttemptItem.item_id == VoidedItem.item_id)
                                   .where(AttemptItem.attempt_id.in_(attempt_ids)).distinct()), Involvement.VOIDING)
        add(db.session.scalars(select(TheoryAttempt.released_by_id).where(TheoryAttempt.enrolment_id == enrolment.id)),
            Involvement.THEORY_RELEASE)
        add(db.session.scalars(select(CertificationDecision.decided_by_id).where(
            CertificationDecision.enrolment_id == enrolment.id)), Involvement.CERTIFICATION)
        add(db.session.scalars(select(CertificateEvent.actor_id).join(Certificate, CertificateEvent.certificate_id == Certificate.id)
                               .where(Certificate.enrolment_id == enrolment.id,
                                      CertificateEvent.kind.in_([CertificateEventKind.SUSPENDED, CertificateEventKind.REVOKED]))),
            Involvement.CERTIFICATE_ACTION)
    if appeal.certificate_id is not None:
        add(db.session.scalars(select(CertificateEvent.actor_id).where(
            CertificateEvent.certificate_id == appeal.certificate_id,
            CertificateEvent.kind.in_([CertificateEventKind.SUSPENDED, CertificateEventKind.REVOKED]))),
            Involvement.CERTIFICATE_ACTION)
    record = db.session.get(MODELS[appeal.subject], appeal.subject_id)
    if appeal.subject == AppealSubject.RENEWAL and record is not None:
        add([record.assessor_id, record.decided_by_id, *(e.judged_by_id for e in record.evidence)], Involvement.RENEWAL)
        add(_audited_actors(record, RENEWAL_ASSESSING_ACTIONS), Involvement.RENEWAL)
        add(_earlier_deciders(appeal), Involvement.RENEWAL)
    if appeal.subject == AppealSubject.APPLICATION and record is not None:
        add([record.decided_by_id], Involvement.APPLICATION)
        add(_audited_actors(record, APPLICATION_DECIDING_ACTIONS), Involvement.APPLICATION)
        add(_earlier_deciders(appeal), Involvement.APPLICATION)
    return found


def _earlier_deciders(appeal: Appeal) -> list[int | None]:
    """Who decided the appealed record before an upheld appeal sent it back to be decided again
    (the remedy recorded them, ``remedy_detail["previous"]``: the row keeps only its last decision)."""
    details: Iterable[dict[str, Any] | None] = db.session.scalars(select(Appeal.remedy_detail).where(
        Appeal.subject == appeal.subject, Appeal.subject_id == appeal.subject_id, Appeal.remedy_done_at.is_not(None)))
    previous = [((detail or {}).get("previous") or {}) for detail in details]
    return [_int_or_none(p.get(key)) for p in previous for key in ("decided_by_id", "assessor_id")]


def panel_member(appeal: Appeal, user: User) -> AppealPanelMember | None:
    """The user's seat on the appeal's panel, if they have one."""
    return next((m for m in appeal.panel if m.member_id == user.id), None)


def member_refusal(appeal: Appeal, person: User, involved: dict[int, set[Involvement]] | None = None) -> str | None:
    """Why ``person`` may not be appointed to the appeal's panel (translated, naming the reason), or None."""
    if not person.active or not person.has_role(Role.APPEALS, appeal.institution_id):
        return _("%(name)s is not an appeals panel member of %(institution)s.", name=person.full_name,
                 institution=appeal.institution.name)
    if panel_member(appeal, person) is not None:
        return _("%(name)s is already on this panel.", name=person.full_name)
    involved = involved if involved is not None else involved_people(appeal)
    return rules.panel_refusal(person.full_name, involved.get(person.id, ()))


def sitting_refusal(appeal: Appeal, member: AppealPanelMember,
                    involved: dict[int, set[Involvement]] | None = None) -> str | None:
    """Why a member of the panel may no longer act on the appeal (translated), or None: the reasons
    an appointment is refused, found after it (:func:`member_refusal`) — a training of the appellant
    recorded since, the appeals role withdrawn. Checked at every step of the review; such a member's
    votes do not count, and staff appoint another (``involved``: :func:`involved_people`, when read)."""
    person = member.member
    if not person.active or not person.has_role(Role.APPEALS, appeal.institution_id):
        return _("%(name)s is not an appeals panel member of %(institution)s.", name=person.full_name,
                 institution=appeal.institution.name)
    involved = involved_people(appeal) if involved is None else involved
    return rules.panel_refusal(person.full_name, involved.get(person.id, ()))


def sitting_refusals(appeal: Appeal) -> dict[int, str]:
    """Panel member id → why they may no longer act (:func:`sitting_refusal`), for those who may
    not; the appeal's involved people read once."""
    involved = involved_people(appeal)
    return {m.id: refusal for m in appeal.panel if (refusal := sitting_refusal(appeal, m, involved)) is not None}


def sitting_members(appeal: Appeal) -> list[AppealPanelMember]:
    """The panel members who may act on the appeal now (:func:`sitting_refusal`)."""
    refused = sitting_refusals(appeal)
    return [m for m in appeal.panel if m.id not in refused]


def panel_candidates(appeal: Appeal) -> list[tuple[User, str | None]]:
    """The institution's appeals-panel members not on the panel yet, each with why they may not be
    appointed (None: they may)."""
    people = role_holders([appeal.institution_id], [Role.APPEALS])
    involved = involved_people(appeal)
    return [(person, member_refusal(appeal, person, involved)) for person in people if panel_member(appeal, person) is None]


def _panel_changeable(appeal: Appeal, appointing: bool = False) -> None:
    """The panel changes before the review starts; during it a member is only appointed, while the
    members who may act are fewer than the minimum (:func:`sitting_members`). A member who may no
    longer act stays named on the panel (what they did in the review stays in the record), but
    counts no more."""
    if appeal.status in (AppealStatus.FILED, AppealStatus.ACKNOWLEDGED):
        return
    if appointing and appeal.status == AppealStatus.UNDER_REVIEW and len(sitting_members(appeal)) < min_panel_size(appeal):
        return
    raise AppealError(_("The panel can be changed only before the review starts (during it, only to appoint a member "
                        "in place of one who may no longer act on the appeal)."))


def appoint(user: User, appeal: Appeal, person: User | None, is_chair: bool = False) -> AppealPanelMember:
    """Staff appoint ``person`` to the appeal's panel (its chair when ``is_chair``): an appeals-panel
    member of the institution who took no part in the decision appealed (:func:`member_refusal`
    names the reason otherwise). The member is mailed; they declare impartiality before they see the case."""
    appeal = _locked(appeal)
    _manage(user, appeal)
    _panel_changeable(appeal, appointing=True)
    if person is None:
        raise AppealError(_("Choose an appeals panel member."))
    refusal = member_refusal(appeal, person)
    if refusal:
        raise AppealError(refusal)
    chair = next((m for m in appeal.panel if m.is_chair), None)
    if is_chair and chair is not None:
        raise AppealError(_("The panel already has a chair (%(name)s): a panel has one chair.", name=chair.member.full_name))
    member = AppealPanelMember(member_id=person.id, is_chair=is_chair, appointed_at=utcnow(), appointed_by_id=user.id)
    proposal = next((p for p in appeal.proposals if p.status == "open"), None)
    sitting = {m.id for m in sitting_members(appeal)}
    if proposal is not None and any(v.member_id not in sitting for v in proposal.votes):
        # Voted on by someone who may no longer act on the appeal: the panel as it now stands proposes again.
        proposal.status, proposal.closed_at = "withdrawn", utcnow()
        audit_log.record("appeal.decision_withdrawn", appeal, after={"proposal_id": proposal.id}, actor=user,
                         institution_id=appeal.institution_id)
    appeal.panel.append(member)
    db.session.flush()
    audit_log.record("appeal.panel_member_appointed", appeal, after={"user_id": person.id, "is_chair": is_chair,
                                                                     "appointed_by": user.id}, actor=user,
                     institution_id=appeal.institution_id)
    queue_localised(person, "appeal_panel_appointed", lambda: _("You have been appointed to an appeals panel"), appeal=appeal,
         member=member, panel_link=public_url("appeals.panel_show", appeal_id=appeal.id))
    db.session.commit()
    return member


def remove_member(user: User, appeal: Appeal, member: AppealPanelMember) -> None:
    """Staff take a member off the panel before the review starts (audited)."""
    appeal = _locked(appeal)
    _manage(user, appeal)
    if member.appeal_id != appeal.id:
        raise AppealError(_("This person is not on this appeal's panel. Reload the page."))
    _panel_changeable(appeal)
    audit_log.record("appeal.panel_member_removed", appeal, before={"user_id": member.member_id, "is_chair": member.is_chair},
                     actor=user, institution_id=appeal.institution_id)
    appeal.panel.remove(member)
    db.session.commit()


def min_panel_size(appeal: Appeal) -> int:
    """The panel's minimum: the qualification's committee minimum (2 for 13881)."""
    return decision_of(appeal).qualification.rules.min_committee_size


def review_refusal(appeal: Appeal) -> str | None:
    """Why the review cannot start yet (translated), or None."""
    if appeal.status == AppealStatus.FILED:
        return _("Acknowledge the appeal first: the appellant is told the deadline for the decision.")
    if appeal.status != AppealStatus.ACKNOWLEDGED:
        return _("The review of this appeal has already started or the appeal is closed.")
    return rules.panel_composition_refusal(len(appeal.panel), sum(1 for m in appeal.panel if m.is_chair),
                                           min_panel_size(appeal))


def start_review(user: User, appeal: Appeal) -> Appeal:
    """Staff close the panel's composition and the review starts (the panel then proposes and votes)."""
    appeal = _locked(appeal)
    _manage(user, appeal)
    refusal = review_refusal(appeal)
    if refusal:
        raise AppealError(refusal)
    appeal.status, appeal.review_started_at = AppealStatus.UNDER_REVIEW, utcnow()
    audit_log.record("appeal.review_started", appeal, before={"status": AppealStatus.ACKNOWLEDGED},
                     after={"status": appeal.status, "members": len(appeal.panel)}, actor=user,
                     institution_id=appeal.institution_id)
    db.session.commit()
    return appeal


def staff_decision(user: User, subject: str, subject_id: int) -> Decision | None:
    """An appealable decision handled by an institution where ``user`` is staff (None otherwise)."""
    kind = parse_subject(subject)
    decision = load(kind, subject_id) if kind is not None else None
    if decision is None or not decision.appealable or not user.has_role(Role.STAFF, decision.institution.id):
        return None
    return decision


def staff_lookup(user: User, email: str) -> tuple[User | None, list[Decision]]:
    """The person with this e-mail address and their appealable decisions handled by the user's
    institutions (for filing an appeal received in writing, or accepting a late one)."""
    person = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if person is None:
        return None, []
    ids = user.institution_ids(Role.STAFF)
    return person, [d for d in candidate_decisions(person) if d.institution.id in ids]


# --------------------------------------------------------------------------- the panel


def panel_appeals(user: User) -> list[Appeal]:
    """The appeals on whose panel ``user`` sits, the nearest deadline first."""
    return list(db.session.scalars(select(Appeal).join(AppealPanelMember, AppealPanelMember.appeal_id == Appeal.id)
                                   .where(AppealPanelMember.member_id == user.id)
                                   .order_by(Appeal.decide_by, Appeal.id)))


def declare(member: AppealPanelMember, declaration: str) -> AppealPanelMember:
    """The member's signed declaration of impartiality, before they see the grounds and files.

    Refused when they took part in the decision appealed (which the appointment already checked:
    this catches a part recorded since)."""
    appeal = _locked(member.appeal)
    if member.declared_at is not None:
        raise AppealError(_("You have already signed the declaration for this appeal."))
    if not appeal.is_open:
        raise AppealError(_("This appeal is closed."))
    refusal = rules.panel_refusal(member.member.full_name, involved_people(appeal).get(member.member_id, ()))
    if refusal:
        raise AppealError(refusal + " " + _("Tell the institution."))
    decision = decision_of(appeal)
    member.declared_at = utcnow()
    member.declaration = declaration + "\n\n" + _(
        "Appeal no. %(id)s of %(name)s against %(subject)s (%(context)s).", id=appeal.id,
        name=appeal.appellant.full_name, subject=appeal.subject.label, context=decision.context)
    audit_log.record("appeal.impartiality_declared", appeal, after={"user_id": member.member_id,
                                                                    "declaration": declaration,
                                                                    "declared_at": member.declared_at},
                     actor=member.member, institution_id=appeal.institution_id)
    db.session.commit()
    return member
