"""A copy of everything the portal holds about one person (RODO art. 15): a ZIP of JSON files, one
per kind of record, with the documents they refer to (uploaded files, certificates as issued).

Every link between a table and ``user_account`` is accounted for here: a section of the export
selects the rows that are the person's (:data:`SECTIONS`, each naming the columns it selects
by); a column that only records who acted on someone else's record (``decided_by_id`` ...) is
listed in ``actions.json`` by table and row id (:data:`ACTOR_COLUMNS`); the rest is
:data:`EXCLUDED`, each with the reason. ``tests/unit/test_data_export.py`` walks the metadata and
fails on a link that is none of the three, so a new table cannot be forgotten.

Other people appear only by id or by their role on the record (``member_id``, ``is_chair``), never
by name; secrets (the password hash, the authenticator's secret, recovery codes) are left out.
"""
from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import LargeBinary, inspect, or_, select

from sandbox_crm import api as sandbox_api

from ..audit.services import jsonable
from ..extensions import Model, db
from ..models import (
    Appeal,
    AppealPanelMember,
    Application,
    AttemptAnswer,
    AttemptItem,
    AuditEntry,
    AuditorMandate,
    Certificate,
    CertificateDuplicate,
    CertificateEvent,
    CertificateReminder,
    CertificationDecision,
    CommitteeMember,
    CompetenceRecord,
    Complaint,
    Credential,
    CriterionResult,
    DataRequest,
    DecisionCorrection,
    DecisionProposal,
    DuplicateRequest,
    Enrolment,
    OperatorAction,
    OutboxMail,
    PracticalAttempt,
    PracticeWorkspace,
    RenewalApplication,
    Scoresheet,
    StoredFile,
    TheoryAttempt,
    TrainingRecord,
    User,
    UserRole,
    ValidationDecision,
    ValidationSession,
    WorkReview,
    utcnow,
)
from ..models.people import RecoveryCode
from ..practical.services import owner_ref

#: What the person's own columns hold that is never given out, even to them: secrets.
ACCOUNT_SECRETS = frozenset({"password_hash", "totp_secret", "totp_last_step"})
#: The parts of a theory item as drawn that the export keeps: what the candidate saw. The key and
#: the rationale are the item bank's (not personal data), and their secrecy keeps the test fair.
#: Of an item as shown, only which one it was: its text, options and the points each answer got
#: would hand out the test's content and keys (art. 15(4) RODO: the copy must not harm others'
#: rights, here the test's integrity); the candidate sees their work with the items through the
#: work-review procedure (``appeals.reviews``), under staff's grant and its time limit.
ITEM_AS_SHOWN = ("id", "version", "type", "criteria")


# --------------------------------------------------------------------------- values


def row(obj: Model, *, omit: Iterable[str] = ()) -> dict[str, Any]:
    """Every column of ``obj`` (by attribute name) except ``omit`` and binary ones (documents go
    to the ZIP as files, and a binary column is never loaded here)."""
    skipped = set(omit)
    data: dict[str, Any] = {}
    for attribute in inspect(type(obj)).column_attrs:
        column = attribute.columns[0]
        if attribute.key in skipped or isinstance(column.type, LargeBinary):
            continue
        data[attribute.key] = jsonable(getattr(obj, attribute.key))
    return data


def _session(session: ValidationSession) -> dict[str, Any]:
    """The session a record belongs to, as the person knew it (no people: the operator by id)."""
    return {"id": session.id, "title": session.title, "starts_at": jsonable(session.starts_at),
            "place": session.place, "mode": jsonable(session.mode), "institution_id": session.institution_id,
            "institution": session.institution.name, "qualification": session.qualification.code}


def _safe_part(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)[:120] or "file"


# --------------------------------------------------------------------------- the collection


@dataclass
class Collected:
    """What the sections found: JSON files, documents (path in the ZIP → bytes), and the records
    that are the person's (table → ids), which the audit section looks entries up by."""

    files: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, bytes] = field(default_factory=dict)
    owned: dict[str, set[int]] = field(default_factory=dict)

    def own(self, rows: Iterable[Any]) -> None:
        """Note ``rows`` (model instances with an ``id``) as the person's."""
        for item in rows:
            self.owned.setdefault(item.__tablename__, set()).add(int(item.id))

    def document(self, folder: str, name: str, data: bytes | None) -> str | None:
        """Put a document in the ZIP; its path there (None for no document)."""
        if data is None:
            return None
        path = f"documents/{folder}/{_safe_part(name)}"
        self.documents[path] = data
        return path


Builder = Callable[[User, Collected], Any]


@dataclass(frozen=True)
class Section:
    """One JSON file of the export: the links (table, column → user_account) it selects rows by."""

    filename: str
    links: tuple[tuple[str, str], ...]
    build: Builder


SECTIONS: list[Section] = []


def section(filename: str, *links: tuple[str, str]) -> Callable[[Builder], Builder]:
    """Register a builder of ``filename``; ``links`` are the (table, column) it selects by."""

    def register(build: Builder) -> Builder:
        SECTIONS.append(Section(filename, tuple(links), build))
        return build

    return register


def _all(statement: Any) -> list[Any]:
    return list(db.session.scalars(statement))


# --------------------------------------------------------------------------- the person


@section("account.json")
def _account(user: User, out: Collected) -> Any:
    out.own([user])
    codes = _all(select(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return row(user, omit=ACCOUNT_SECRETS) | {
        "second_factor": user.has_second_factor,
        "recovery_codes_unused": sum(1 for code in codes if code.used_at is None)}


@section("roles.json", ("user_role", "user_id"))
def _roles(user: User, out: Collected) -> Any:
    roles = _all(select(UserRole).where(UserRole.user_id == user.id).order_by(UserRole.id))
    return [row(r) | {"institution": r.institution.name if r.institution else None} for r in roles]


@section("files.json", ("stored_file", "owner_id"))
def _files(user: User, out: Collected) -> Any:
    files = _all(select(StoredFile).where(StoredFile.owner_id == user.id).order_by(StoredFile.id))
    out.own(files)
    return [row(f) | {"document": out.document("files", f"{f.id}-{f.filename}", f.data)} for f in files]


# --------------------------------------------------------------------------- as a candidate


@section("applications.json", ("application", "candidate_id"))
def _applications(user: User, out: Collected) -> Any:
    applications = _all(select(Application).where(Application.candidate_id == user.id).order_by(Application.id))
    out.own(applications)
    return [row(a) | {"session": _session(a.session)} for a in applications]


def _enrolments_of(user: User) -> list[Enrolment]:
    return _all(select(Enrolment).where(Enrolment.candidate_id == user.id).order_by(Enrolment.id))


@section("enrolments.json", ("enrolment", "candidate_id"))
def _enrolments(user: User, out: Collected) -> Any:
    enrolments = _enrolments_of(user)
    out.own(enrolments)
    return [row(e) | {"session": _session(e.session)} for e in enrolments]


@section("committee.json")
def _committee(user: User, out: Collected) -> Any:
    """What the committees recorded about the candidate's validations (members by id only)."""
    result = []
    for enrolment in _enrolments_of(user):
        sheets = _all(select(Scoresheet).where(Scoresheet.enrolment_id == enrolment.id).order_by(Scoresheet.id))
        results = _all(select(CriterionResult).where(CriterionResult.enrolment_id == enrolment.id)
                       .order_by(CriterionResult.id))
        proposals = _all(select(DecisionProposal).where(DecisionProposal.enrolment_id == enrolment.id)
                         .order_by(DecisionProposal.id))
        decisions = _all(select(ValidationDecision).where(ValidationDecision.enrolment_id == enrolment.id))
        corrections = _all(select(DecisionCorrection).where(
            DecisionCorrection.decision_id.in_([d.id for d in decisions])).order_by(DecisionCorrection.id))
        certification = _all(select(CertificationDecision).where(CertificationDecision.enrolment_id == enrolment.id)
                             .order_by(CertificationDecision.id))
        out.own([*decisions, *certification, *corrections])
        if not decisions:
            # Before the committee decides, its members' blind scores, its results and its votes
            # are working papers (each member's scores stay unseen by the others until then): the
            # candidate sees them with the decision.
            sheets, results, proposals = [], [], []
        result.append({
            "enrolment_id": enrolment.id,
            "scoresheets": [row(s) | {"criteria": [row(c) | {"criterion": c.criterion.code} for c in s.scores]}
                            for s in sheets],
            "criterion_results": [row(r) | {"criterion": r.criterion.code} for r in results],
            "decision_proposals": [row(p) | {"votes": [row(v) for v in p.votes]} for p in proposals],
            "validation_decisions": [row(d) for d in decisions],
            "decision_corrections": [row(c) for c in corrections],
            "certification_decisions": [row(c) for c in certification],
        })
    return result


def _actions_on(*conditions: Any) -> list[dict[str, Any]]:
    actions = _all(select(OperatorAction).where(or_(*conditions)).order_by(OperatorAction.id))
    return [row(a) for a in actions]


@section("theory_attempts.json", ("theory_attempt", "candidate_id"))
def _theory(user: User, out: Collected) -> Any:
    attempts = _all(select(TheoryAttempt).where(TheoryAttempt.candidate_id == user.id).order_by(TheoryAttempt.id))
    out.own(attempts)
    result = []
    for attempt in attempts:
        history = _all(select(AttemptAnswer).where(AttemptAnswer.attempt_id == attempt.id).order_by(AttemptAnswer.seq))
        result.append(row(attempt) | {
            "items": [_item(item) for item in attempt.items],
            "answer_history": [row(answer) for answer in history],
            "operator_actions": _actions_on(OperatorAction.attempt_id == attempt.id),
        })
    return result


def _item(item: AttemptItem) -> dict[str, Any]:
    shown = item.snapshot.get("item", {})
    return row(item, omit=("snapshot", "points")) | {
        "as_shown": {key: shown[key] for key in ITEM_AS_SHOWN if key in shown},
        "presented": item.snapshot.get("presented")}


@section("practical_attempts.json", ("practical_attempt", "candidate_id"))
def _practical(user: User, out: Collected) -> Any:
    """Each practical attempt with the work itself: the answers recorded for the task sheet and
    the sandbox's log of every action (xAPI statements), as the committee assessed them."""
    attempts = _all(select(PracticalAttempt).where(PracticalAttempt.candidate_id == user.id)
                    .order_by(PracticalAttempt.id))
    out.own(attempts)
    return [row(a) | {"operator_actions": _actions_on(OperatorAction.practical_attempt_id == a.id),
                      "task_answers": sandbox_api.answers(a.workspace_id), "actions": _sandbox_log(user, a.workspace_id)}
            for a in attempts]


@section("practice_workspaces.json", ("practice_workspace", "user_id"))
def _practice(user: User, out: Collected) -> Any:
    workspaces = _all(select(PracticeWorkspace).where(PracticeWorkspace.user_id == user.id).order_by(PracticeWorkspace.id))
    return [row(w) | {"actions": _sandbox_log(user, w.workspace_id)} for w in workspaces]


def _sandbox_log(user: User, workspace_id: int) -> list[dict[str, Any]]:
    """A sandbox workspace's action log as xAPI statements; an action of anyone but ``user`` (the
    system's, an operator's freezing the workspace) names its actor by reference only."""
    own = owner_ref(user)
    statements = sandbox_api.export_xapi(workspace_id)
    for statement in statements:
        if statement["actor"]["account"]["name"] != own:
            statement["actor"].pop("name", None)
    return statements


@section("work_reviews.json", ("work_review", "candidate_id"))
def _work_reviews(user: User, out: Collected) -> Any:
    reviews = _all(select(WorkReview).where(WorkReview.candidate_id == user.id).order_by(WorkReview.id))
    out.own(reviews)
    return [row(r) for r in reviews]


@section("trainings.json", ("training_record", "candidate_id"))
def _trainings(user: User, out: Collected) -> Any:
    records = _all(select(TrainingRecord).where(TrainingRecord.candidate_id == user.id).order_by(TrainingRecord.id))
    return [row(r) for r in records]


# --------------------------------------------------------------------------- certificates and after


@section("certificates.json", ("certificate", "holder_id"), ("certificate_duplicate_request", "requested_by_id"))
def _certificates(user: User, out: Collected) -> Any:
    certificates = _all(select(Certificate).where(Certificate.holder_id == user.id).order_by(Certificate.id))
    out.own(certificates)
    result = []
    for certificate in certificates:
        name = certificate.number.replace("/", "-")
        events = _all(select(CertificateEvent).where(CertificateEvent.certificate_id == certificate.id)
                      .order_by(CertificateEvent.id))
        duplicates = _all(select(CertificateDuplicate).where(CertificateDuplicate.certificate_id == certificate.id)
                          .order_by(CertificateDuplicate.id))
        asked = _all(select(DuplicateRequest).where(DuplicateRequest.certificate_id == certificate.id,
                                                    DuplicateRequest.requested_by_id == user.id)
                     .order_by(DuplicateRequest.id))
        reminders = _all(select(CertificateReminder).where(CertificateReminder.certificate_id == certificate.id)
                         .order_by(CertificateReminder.id))
        credential = db.session.scalar(select(Credential).where(Credential.certificate_id == certificate.id))
        out.own([*events, *asked])
        result.append(row(certificate) | {
            "document": out.document("certificates", f"{name}.pdf", certificate.pdf),
            "events": [row(e) for e in events],
            "duplicates": [row(d) | {"document": out.document("certificates", f"{name}-duplicate-{d.id}.pdf", d.pdf)}
                           for d in duplicates],
            "duplicate_requests": [row(r) for r in asked],
            "expiry_reminders": [row(r) for r in reminders],
            "credential": credential.document if credential is not None else None,
        })
    return result


@section("appeals.json", ("appeal", "appellant_id"))
def _appeals(user: User, out: Collected) -> Any:
    appeals = _all(select(Appeal).where(Appeal.appellant_id == user.id).order_by(Appeal.id))
    out.own(appeals)
    return [row(a) | {"files": [link.file_id for link in a.files],
                      "panel": [{"member_id": m.member_id, "is_chair": m.is_chair} for m in a.panel]}
            for a in appeals]


@section("complaints.json", ("complaint", "user_id"))
def _complaints(user: User, out: Collected) -> Any:
    complaints = _all(select(Complaint).where(Complaint.user_id == user.id).order_by(Complaint.id))
    out.own(complaints)
    return [row(c) for c in complaints]


@section("renewals.json", ("renewal_application", "holder_id"))
def _renewals(user: User, out: Collected) -> Any:
    applications = _all(select(RenewalApplication).where(RenewalApplication.holder_id == user.id)
                        .order_by(RenewalApplication.id))
    out.own(applications)
    return [row(a) | {"periods": [row(p) for p in a.periods], "evidence": [row(e) for e in a.evidence]}
            for a in applications]


@section("data_requests.json", ("data_request", "user_id"))
def _data_requests(user: User, out: Collected) -> Any:
    requests = _all(select(DataRequest).where(DataRequest.user_id == user.id).order_by(DataRequest.id))
    out.own(requests)
    return [row(r) for r in requests]


@section("mails.json", ("outbox_mail", "user_id"))
def _mails(user: User, out: Collected) -> Any:
    mails = _all(select(OutboxMail).where(OutboxMail.user_id == user.id).order_by(OutboxMail.id))
    return [row(m) for m in mails]


# --------------------------------------------------------------------------- as staff, assessor, auditor


@section("committee_memberships.json", ("committee_member", "assessor_id"))
def _memberships(user: User, out: Collected) -> Any:
    return [row(m) for m in _all(select(CommitteeMember).where(CommitteeMember.assessor_id == user.id)
                                 .order_by(CommitteeMember.id))]


@section("appeal_panels.json", ("appeal_panel_member", "member_id"))
def _panels(user: User, out: Collected) -> Any:
    return [row(m) for m in _all(select(AppealPanelMember).where(AppealPanelMember.member_id == user.id)
                                 .order_by(AppealPanelMember.id))]


@section("competence.json", ("competence_record", "user_id"))
def _competence(user: User, out: Collected) -> Any:
    records = _all(select(CompetenceRecord).where(CompetenceRecord.user_id == user.id).order_by(CompetenceRecord.id))
    return [row(r) | {"document": out.document("competence", f"{r.id}-{r.evidence_name or 'evidence'}", r.evidence)}
            for r in records]


@section("auditor_mandates.json", ("auditor_mandate", "user_id"))
def _mandates(user: User, out: Collected) -> Any:
    return [row(m) for m in _all(select(AuditorMandate).where(AuditorMandate.user_id == user.id)
                                 .order_by(AuditorMandate.id))]


#: Columns that record who acted on a record about someone else (or about the institution): the
#: export lists such rows by table and id only (``actions.json``), since the rest is not theirs.
ACTOR_COLUMNS: tuple[tuple[str, str], ...] = (
    ("application", "decided_by_id"),
    ("appeal", "acknowledged_by_id"), ("appeal", "late_accepted_by_id"),
    ("appeal_panel_member", "appointed_by_id"),
    ("auditor_mandate", "granted_by_id"),
    ("background_job", "created_by_id"),
    ("certificate", "issued_by_id"),
    ("certificate_duplicate", "issued_by_id"),
    ("certificate_duplicate_request", "handled_by_id"),
    ("certificate_event", "actor_id"),
    ("certification_decision", "decided_by_id"),
    ("competence_record", "verified_by_id"),
    ("complaint", "acknowledged_by_id"), ("complaint", "assigned_by_id"), ("complaint", "closed_by_id"),
    ("complaint", "handler_id"),
    ("criterion_result", "recorded_by_id"),
    ("data_request", "decided_by_id"), ("data_request", "extended_by_id"),
    ("decision_correction", "corrected_by_id"),
    ("decision_proposal", "proposed_by_id"),
    ("enrolment", "checked_in_by_id"), ("enrolment", "practical_absent_by_id"),
    ("evaluation_report", "made_by_id"),
    ("institution_settings", "updated_by_id"),
    ("operator_action", "operator_id"),
    ("renewal_application", "assessor_id"), ("renewal_application", "assigned_by_id"),
    ("renewal_application", "decided_by_id"),
    ("renewal_evidence", "judged_by_id"),
    ("renewal_period", "judged_by_id"),
    ("theory_attempt", "released_by_id"),
    ("training_record", "trainer_id"), ("training_record", "recorded_by_id"),
    ("validation_decision", "decided_by_id"),
    ("validation_session", "created_by_id"), ("validation_session", "operator_id"),
    ("voided_item", "voided_by_id"),
    ("work_review", "decided_by_id"),
)


@section("actions.json", *ACTOR_COLUMNS)
def _actions(user: User, out: Collected) -> Any:
    result = []
    for table_name, column_name in ACTOR_COLUMNS:
        table = db.metadata.tables[table_name]
        keys = list(table.primary_key.columns)
        for found in db.session.execute(select(*keys).where(table.c[column_name] == user.id).order_by(*keys)):
            key = {column.name: value for column, value in zip(keys, found, strict=True)}
            result.append({"record": table_name, "as": column_name, **key})
    return result


@section("audit.json", ("audit_entry", "actor_id"))
def _audit(user: User, out: Collected) -> Any:
    """Entries the person made, and entries about their own records (by type and id). Entries
    name people by id only and keep free text as a digest (see ``audit.services.record``)."""
    about = [(AuditEntry.object_type == table) & AuditEntry.object_id.in_([str(i) for i in sorted(ids)])
             for table, ids in sorted(out.owned.items())]
    entries = _all(select(AuditEntry).where(or_(AuditEntry.actor_id == user.id, *about)).order_by(AuditEntry.seq))
    # actor_label is left out: entries written before people were named by id may hold a name.
    return [row(e, omit=("id", "prev_hash", "hash", "actor_label")) for e in entries]


#: Links to user_account whose rows are not in the export, and why.
EXCLUDED: dict[tuple[str, str], Any] = {
    ("recovery_code", "user_id"): _l("One-time codes that stand in for the authenticator app: secrets (only their "
                                     "number is given, in account.json)."),
}


# --------------------------------------------------------------------------- the archive


@dataclass(frozen=True)
class Export:
    """The copy: JSON files and documents, ready to be zipped."""

    files: dict[str, Any]
    documents: dict[str, bytes]
    made_at: datetime

    @property
    def document_count(self) -> int:
        return len(self.documents)


def collect(user: User, sections: Sequence[Section] | None = None) -> Export:
    """Everything held about ``user``, section by section (the audit section last: it looks up the
    entries about the records the others found)."""
    out = Collected()
    chosen = list(SECTIONS if sections is None else sections)
    chosen.sort(key=lambda s: s.filename == "audit.json")
    for part in chosen:
        out.files[part.filename] = part.build(user, out)
    out.files["about.json"] = {
        "person_id": user.id, "made_at": jsonable(utcnow()),
        "files": sorted(out.files), "documents": sorted(out.documents),
        "not_included": [{"table": table, "column": column, "why": str(reason)}
                         for (table, column), reason in sorted(EXCLUDED.items())]
        + [{"what": "ACCOUNT_SECRETS", "columns": sorted(ACCOUNT_SECRETS),
            "why": str(_l("Secrets of the sign-in: never given out."))}],
    }
    return Export(files=out.files, documents=out.documents, made_at=utcnow())


def to_zip(export: Export) -> bytes:
    """The ZIP the person downloads: ``<name>.json`` files and ``documents/…``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in sorted(export.files.items()):
            archive.writestr(name, json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True))
        for path, data in sorted(export.documents.items()):
            archive.writestr(path, data)
    return buffer.getvalue()
