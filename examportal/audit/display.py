"""How an audit entry reads on the log page: translated action names, a before → after diff per
field, and the people an entry names by id resolved to names when it is shown (the chain itself
holds no names, so that anonymising a person never breaks it)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from flask_babel import format_date, format_datetime, format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, CompoundSelect, Select, and_, exists, false, or_, select, union

from ..extensions import db
from ..models import (
    AuditEntry,
    CommitteeMember,
    DataRequestKind,
    Enrolment,
    Role,
    TrainingRecord,
    User,
    UserRole,
    ValidationDecision,
    ValidationSession,
)
from .services import TEXT_DIGEST_PREFIX

#: Every action code the application records, with its label. A code missing here is shown as is
#: (tests/web/test_audit.py fails on a literal code recorded anywhere without a label).
ACTION_LABELS = {
    "account.registered": _l("Account registered"),
    "account.email_confirmed": _l("E-mail address confirmed"),
    "account.login": _l("Logged in"),
    "account.password_reset_requested": _l("Password reset requested"),
    "account.password_reset": _l("Password changed through a reset link"),
    "account.registration_refused": _l("Registration with an existing account's data refused"),
    "account.second_factor_enabled": _l("Second factor enabled"),
    "account.second_factor_disabled": _l("Second factor disabled"),
    "account.second_factor_reset": _l("Second factor reset by an administrator"),
    "account.recovery_code_used": _l("Recovery code used"),
    "account.recovery_codes_renewed": _l("Recovery codes renewed"),
    "institution.created": _l("Institution registered"),
    "institution.role_granted": _l("Role granted"),
    "institution.role_revoked": _l("Role revoked"),
    "institution.settings_changed": _l("Institution settings changed"),
    "session.reminder_sent": _l("Reminder of the session sent"),
    "session.candidates_messaged": _l("Message sent to candidates of the session"),
    "session.progress_exported": _l("Candidates' progress exported"),
    "institution.qualification_authorised": _l("Institution authorised for a qualification"),
    "institution.qualification_withdrawn": _l("Institution's authorisation for a qualification withdrawn"),
    "account.deactivated": _l("Account deactivated"),
    "account.reactivated": _l("Account reactivated"),
    "competence.recorded": _l("Competence record made"),
    "competence.updated": _l("Competence record replaced"),
    "qualification.loaded": _l("Qualification definition loaded"),
    "session.checked_in": _l("Candidate checked in (identity document compared)"),
    "session.created": _l("Validation session created"),
    "session.updated": _l("Validation session changed"),
    "session.operator_assigned": _l("Exam-system operator assigned"),
    "session.candidate_enrolled": _l("Candidate enrolled"),
    "session.candidate_withdrawn": _l("Candidate withdrawn"),
    "training.recorded": _l("Training recorded"),
    "committee.member_added": _l("Committee member added"),
    "committee.member_removed": _l("Committee member removed"),
    "committee.impartiality_declared": _l("Impartiality declared"),
    "committee.scores_submitted": _l("Scores submitted"),
    "committee.results_recorded": _l("Criterion results recorded"),
    "committee.decision_proposed": _l("Decision proposed"),
    "committee.decision_vote": _l("Vote on the proposed decision"),
    "committee.decision_disputed": _l("Proposed decision disputed"),
    "committee.decision_rejected": _l("Proposed decision rejected"),
    "committee.decision": _l("Validation decision made"),
    "committee.decision_withdrawn": _l("Proposed decision withdrawn"),
    "committee.extra_member_appointed": _l("Additional committee member appointed"),
    "committee.test_results_rescored": _l("Test criteria changed by rescoring"),
    "theory.started": _l("Theory test started"),
    "theory.items_drawn": _l("Theory test items drawn at check-in"),
    "theory.submitted": _l("Theory test submitted"),
    "theory.submitted_at_deadline": _l("Theory test submitted at the time limit"),
    "theory.results_released": _l("Theory results released"),
    "theory.item_voided": _l("Test item voided"),
    "theory.rescored": _l("Theory test rescored"),
    "theory.operator.unlock": _l("Operator: attempt unlocked"),
    "theory.operator.extra_time": _l("Operator: extra time given"),
    "theory.operator.pause": _l("Operator: attempt paused"),
    "theory.operator.resume": _l("Operator: attempt resumed"),
    "theory.operator.incident": _l("Operator: incident recorded"),
    "operator.unlock": _l("Operator: unlock"),
    "operator.extra_time": _l("Operator: extra time"),
    "operator.pause": _l("Operator: pause"),
    "operator.resume": _l("Operator: resume"),
    "operator.incident": _l("Operator: incident"),
    "practical.started": _l("Practical exam started"),
    "practical.finished": _l("Practical exam finished"),
    "practical.timed_out": _l("Practical exam ended at the time limit"),
    "practical.absence_recorded": _l("Absence from the practical exam recorded"),
    "practical.practice_opened": _l("Practice workspace opened"),
    "practical.log_exported": _l("Practical exam log exported"),
    "practical.operator.extra_time": _l("Operator: extra time given in the practical exam"),
    "practical.operator.pause": _l("Operator: practical exam paused"),
    "practical.operator.resume": _l("Operator: practical exam resumed"),
    "backup.restored": _l("Database restored from a backup"),
    "enrolment.fee_recorded": _l("Fee recorded"),
    "certification.decided": _l("Certification decided"),
    "certificate.issued": _l("Certificate issued"),
    "certificate.rendered": _l("Certificate PDF rendered"),
    "certificate.reprinted": _l("Certificate printed again"),
    "certificate.suspended": _l("Certificate suspended"),
    "certificate.suspension_lifted": _l("Certificate suspension lifted"),
    "certificate.revoked": _l("Certificate revoked"),
    "certificate.corrected": _l("Certificate replaced by a corrected one"),
    "certificate.duplicate_issued": _l("Certificate duplicate issued"),
    "certificate.duplicate_requested": _l("Duplicate of a certificate requested by its holder"),
    "certificate.duplicate_request_refused": _l("Request for a certificate duplicate refused"),
    "account.pesel_corrected": _l("PESEL corrected with a certificate"),
    "credential.issued": _l("Digital credential (Open Badge) signed"),
    "credential.status_published": _l("Status of a digital credential published"),
    "credential_key.created": _l("Credential signing key created"),
    "credential_key.retired": _l("Credential signing key retired"),
    "credential_key.resealed": _l("Credential signing key sealed under the new CREDENTIAL_KEY"),
    "application.submitted": _l("Application submitted"),
    "application.withdrawn": _l("Application withdrawn by the candidate"),
    "application.accepted": _l("Application accepted: candidate enrolled"),
    "application.rejected": _l("Application rejected"),
    "application.waitlisted": _l("Application put on the waiting list"),
    "application.moved_up": _l("Application moved up from the waiting list"),
    "account.identity_completed": _l("Identity data completed by the candidate"),
    "appeal.filed": _l("Appeal filed"),
    "appeal.late_accepted": _l("Late appeal accepted by the institution"),
    "appeal.files_added": _l("Files added to an appeal"),
    "appeal.withdrawn": _l("Appeal withdrawn by the appellant"),
    "appeal.acknowledged": _l("Appeal acknowledged"),
    "appeal.panel_member_appointed": _l("Appeals panel member appointed"),
    "appeal.panel_member_removed": _l("Appeals panel member removed"),
    "appeal.review_started": _l("Review of an appeal started"),
    "appeal.impartiality_declared": _l("Impartiality declared for an appeal"),
    "appeal.decision_proposed": _l("Decision on an appeal proposed"),
    "appeal.decision_vote": _l("Vote on the proposed decision on an appeal"),
    "appeal.decision_rejected": _l("Proposed decision on an appeal rejected by a dissent"),
    "appeal.decision_withdrawn": _l("Proposed decision on an appeal withdrawn: a member who voted may no longer act on it"),
    "appeal.decided": _l("Appeal decided"),
    "work_review.requested": _l("Request to see one's exam work"),
    "work_review.granted": _l("Request to see one's exam work granted"),
    "work_review.refused": _l("Request to see one's exam work refused"),
    "complaint.filed": _l("Complaint filed"),
    "complaint.acknowledged": _l("Complaint acknowledged"),
    "complaint.assigned": _l("Complaint assigned to a handler"),
    "complaint.closed": _l("Complaint closed with its outcome"),
    "renewal.submitted": _l("Renewal of a certificate applied for"),
    "renewal.resubmitted": _l("Renewal application sent again with more"),
    "renewal.withdrawn": _l("Renewal application withdrawn by the holder"),
    "renewal.assessor_assigned": _l("Assessor of a renewal assigned"),
    "renewal.impartiality_declared": _l("Impartiality declared for a renewal"),
    "renewal.evidence_judged": _l("Renewal evidence judged"),
    "renewal.period_judged": _l("Finding on a period of work of a renewal"),
    "renewal.returned": _l("Renewal application returned to the holder for more"),
    "renewal.decided": _l("Renewal decided"),
    "certificate.renewed": _l("Certificate superseded by a renewed one"),
    "certificate.expiry_reminder_sent": _l("Reminder of a certificate's expiry sent"),
    # Remedies of upheld appeals and recorded corrections (examportal/appeals/remedies.py, committee/corrections.py).
    "appeal.remedy_carried_out": _l("Remedy of an upheld appeal carried out"),
    "appeal.retake_used": _l("Retake without a fee (after an appeal) used by an enrolment"),
    "committee.decision_corrected": _l("Correction of a validation decision recorded"),
    "certificate.replaced_after_appeal": _l("Replacement certificate issued after an appeal against a revocation"),
    "certification.decided_after_appeal": _l("Certification refusal overturned by an appeal"),
    "application.reopened_after_appeal": _l("Application sent back to the formal check after an appeal"),
    "renewal.reopened_after_appeal": _l("Renewal application reviewed again after an appeal"),
    "auditor.mandate_granted": _l("External auditor's mandate granted"),
    "auditor.mandate_revoked": _l("External auditor's mandate revoked"),
    "evaluation.made": _l("Internal evaluation made"),
    "evaluation.conclusions_saved": _l("Internal evaluation's conclusions saved"),
    "evaluation.completed": _l("Internal evaluation completed"),
    "data_request.copy_downloaded": _l("Copy of one's personal data downloaded"),
    "data_request.filed": _l("Request about personal data filed"),
    "data_request.withdrawn": _l("Request about personal data withdrawn"),
    "data_request.granted": _l("Request about personal data granted"),
    "data_request.refused": _l("Request about personal data refused"),
    "data_request.extended": _l("Time to answer a request about personal data extended"),
    "user.anonymised": _l("Person's data anonymised"),
}

OBJECT_LABELS = {
    "user_account": _l("Account"),
    "user_role": _l("Role"),
    "institution": _l("Institution"),
    "qualification": _l("Qualification"),
    "validation_session": _l("Validation session"),
    "enrolment": _l("Enrolment"),
    "committee_member": _l("Committee member"),
    "training_record": _l("Training record"),
    "institution_settings": _l("Institution settings"),
    "competence_record": _l("Competence record"),
    "scoresheet": _l("Scoresheet"),
    "decision_proposal": _l("Proposed decision"),
    "validation_decision": _l("Validation decision"),
    "theory_attempt": _l("Theory attempt"),
    "operator_action": _l("Operator action"),
    "voided_item": _l("Voided item"),
    "practical_attempt": _l("Practical attempt"),
    "practice_workspace": _l("Practice workspace"),
    "audit_log": _l("Audit log"),
    "certification_decision": _l("Certification decision"),
    "certificate": _l("Certificate"),
    "certificate_duplicate_request": _l("Request for a duplicate"),
    "credential": _l("Digital credential"),
    "credential_key": _l("Credential signing key"),
    "application": _l("Application"),
    "appeal": _l("Appeal"),
    "work_review": _l("Request to see exam work"),
    "complaint": _l("Complaint"),
    "renewal_application": _l("Renewal application"),
    "decision_correction": _l("Correction of a validation decision"),
    "auditor_mandate": _l("External auditor's mandate"),
    "evaluation_report": _l("Internal evaluation"),
    "data_request": _l("Request about personal data"),
}

FIELD_LABELS = {
    "number": _l("Number"), "fee_pln": _l("Fee (PLN)"), "pdf_sha256": _l("PDF fingerprint"),
    "content_sha256": _l("Content fingerprint"), "issued_on": _l("Issued on"), "valid_until": _l("Valid through"),
    "state": _l("Status"), "replacement_number": _l("Replaced by"),
    "status": _l("Status"), "title": _l("Title"), "place": _l("Place"), "mode": _l("Form"),
    "capacity": _l("Places"), "starts_at": _l("Starts"), "institution_id": _l("Institution"),
    "qualification_id": _l("Qualification"), "session_id": _l("Session"), "enrolment_id": _l("Enrolment"),
    "attempt_id": _l("Attempt"), "practical_attempt_id": _l("Practical exam attempt"), "user_id": _l("Person"), "candidate_id": _l("Candidate"),
    "assessor_id": _l("Assessor"), "replaces_assessor_id": _l("In place of"), "trainer_id": _l("Trainer"), "operator_id": _l("Exam-system operator"),
    "by": _l("By"), "appointed_by": _l("Appointed by"), "role": _l("Role"), "roles": _l("Roles"),
    "account_created": _l("Account created"), "rodo_clause_version": _l("Privacy notice version"),
    "name": _l("Name"), "kind": _l("Kind"), "parent_id": _l("Certifying institution"), "code": _l("Code"),
    "content_hash": _l("Definition fingerprint"), "started_at": _l("Started"), "deadline_at": _l("Time limit"),
    "paused_at": _l("Paused"), "paused_seconds_total": _l("Paused (seconds)"), "extra_seconds": _l("Extra time (seconds)"),
    "submitted_at": _l("Submitted"), "score_points": _l("Points"), "score_percent": _l("Score"),
    "passed": _l("Passed"), "released_at": _l("Released"), "items": _l("Items drawn"),
    "scenario_code": _l("Scenario"), "variant_seed": _l("Scenario variant"), "workspace_id": _l("Workspace"), "finished_at": _l("Finished"),
    "statements": _l("Statements"), "item_id": _l("Item"), "voided_item": _l("Voided item"),
    "reason": _l("Reason"), "note": _l("Note"), "justification": _l("Justification"),
    "declaration": _l("Declaration"), "declared_at": _l("Declared"), "is_chair": _l("Chair"),
    "duplicate_id": _l("Duplicate"), "request_id": _l("Request"), "event_id": _l("Event"),
    "period_id": _l("Period of work"), "confirmed": _l("Shown by the evidence"),
    "course": _l("Course"), "scores": _l("Scores"), "results": _l("Results"), "positive": _l("Positive"), "approve": _l("Approves"),
    "scores_digest": _l("Fingerprint of the scores"),
    "dissents": _l("Dissents"), "approvals": _l("Approvals"), "members": _l("Members"),
    "unmet": _l("Criteria not met"), "protocol_sha256": _l("Protocol fingerprint"), "votes": _l("Votes"),
    "minutes": _l("Minutes"), "restored_seq": _l("Continues from entry"), "restored_hash": _l("Fingerprint of that entry"),
    "checkpoints_seen": _l("Checkpoints before the restore"), "lost_to_seq": _l("Entries lost up to"),
    "enrolment_ids": _l("Enrolments covered"), "matched": _l("Matching data"), "left": _l("Recovery codes left"),
    "replaced": _l("Replaced the previous one"), "second_factor": _l("Second factor"),
    "changed": _l("Fields changed"), "reminder_days": _l("Reminder days"), "logo_sha256": _l("Logo fingerprint"),
    "signature_sha256": _l("Signature image fingerprint"), "days": _l("Days before the session"),
    "count": _l("Number of candidates"),
    "published_at": _l("Published for applications"), "registration_deadline": _l("Applications until"),
    "extra_time_minutes": _l("Extra time (minutes)"), "needs_large_font": _l("Larger font asked for"),
    "needs_reader": _l("Reader asked for"), "needs_other": _l("Other needs given"),
    "recognition_requested": _l("Recognition of an earlier part asked for"),
    "theory_recognized_from_id": _l("Theory part recognised from enrolment"), "waiting_since": _l("On the waiting list since"),
    "accommodation_minutes": _l("Extra time granted (minutes)"), "fields": _l("Fields"),
    "active": _l("Can log in"), "cause": _l("Why"), "education": _l("Education"),
    "crm_supervision_months": _l("Months supervising CRM operators"), "computer_skills": _l("Computer skills"),
    "troubleshooting_skills": _l("Troubleshooting skills"), "evidence_sha256": _l("Evidence fingerprint"),
    "evidence_mimetype": _l("Evidence file type"), "verified_by_id": _l("Verified by"), "review_due": _l("Review by"),
    "handler_id": _l("Handler"), "concerned_ids": _l("Persons concerned"), "locale": _l("Language"),
    "covered_days": _l("Days of work covered"), "required_days": _l("Days of work required"),
    "periods": _l("Periods of work"), "months_before": _l("Months before expiry"), "holder_id": _l("Holder"),
    "new_certificate_id": _l("Renewed certificate"), "verdict": _l("Verdict"), "evidence_id": _l("Evidence"),
    "file_sha256": _l("File fingerprint"),
    "subject": _l("Against"), "subject_id": _l("Decision"), "grounds": _l("Grounds"), "files": _l("File fingerprints"),
    "sent_on": _l("Decision sent on"), "window_ends_on": _l("Appeal window ends"), "decide_by": _l("Decision due by"),
    "proposal_id": _l("Proposal"), "upheld": _l("Upheld"), "remedy": _l("Remedy"), "remedy_detail": _l("Remedy details"),
    "annex_sha256": _l("Protocol annex fingerprint"), "open_until": _l("Open until"),
}

_STATUS = {
    "not_started": _l("not started"), "unlocked": _l("unlocked"), "in_progress": _l("in progress"),
    "paused": _l("paused"), "submitted": _l("submitted"), "finished": _l("finished"), "timed_out": _l("time limit reached"),
    "planned": _l("planned"), "closed": _l("closed"), "cancelled": _l("cancelled"), "enrolled": _l("enrolled"),
    "withdrawn": _l("withdrawn"), "open": _l("open"), "disputed": _l("disputed"), "final": _l("final"),
    "rejected": _l("rejected"), "waiting": _l("on the waiting list"), "accepted": _l("accepted"),
    "filed": _l("filed"), "acknowledged": _l("acknowledged"), "assigned": _l("being handled"),
    "under_review": _l("under review"), "returned": _l("returned for more evidence"),
    "dismissed": _l("dismissed"), "upheld": _l("upheld"), "requested": _l("requested"), "granted": _l("granted"),
    "refused": _l("refused"),
}
_ROLES = {
    "candidate": _l("Candidate"), "operator": _l("Exam-system operator"), "assessor": _l("Assessor"),
    "appeals": _l("Appeals panel member"), "staff": _l("Institution staff"), "admin": _l("Administrator"),
}
VALUE_LABELS = {
    "matched": {"email": _l("e-mail address"), "pesel": _l("PESEL number")},
    "second_factor": {"totp": _l("authenticator app code"), "recovery_code": _l("recovery code")},
    "status": _STATUS,
    "mode": {"onsite": _l("on site"), "remote": _l("remote")},
    "kind": {"certifying": _l("certifying institution"), "validating": _l("validating institution"),
             "assessor": _l("committee member"), "operator": _l("exam-system operator"),
             **{kind.value: kind.lazy_label for kind in DataRequestKind}},
    "role": _ROLES,
    "roles": _ROLES,
    "education": {"primary": _l("primary"), "vocational": _l("basic vocational"), "secondary": _l("secondary"),
                  "higher": _l("higher")},
    # The fixed causes an administrator chooses from (institution/forms.py), never free text.
    "cause": {
        "lost_device": _l("The phone is lost, broken or replaced, and no recovery code is left"),
        "app_removed": _l("The app or its examportal entry was deleted, and no recovery code is left"),
        "compromised": _l("The account may be in someone else's hands"),
        "left": _l("The person no longer works for the institution or in validation"),
        "person_request": _l("The person asked for it"),
        "duplicate": _l("The person has another account"),
        "breach": _l("A breach of impartiality or confidentiality is being examined"),
        "returned": _l("The person works for the institution again"),
        "secured": _l("The account is in the person's hands again"),
        "cleared": _l("The examination of a breach has ended"),
        "mistake": _l("It was deactivated by mistake"),
    },
}
#: Keys whose value is a person's id.
PERSON_KEYS = frozenset({"user_id", "candidate_id", "assessor_id", "trainer_id", "operator_id", "by", "appointed_by",
                         "replaces_assessor_id", "verified_by_id", "handler_id", "concerned_ids", "holder_id"})
#: Keys whose value maps a person's id to something (a member's vote).
PERSON_MAP_KEYS = frozenset({"votes"})
FINGERPRINT_KEYS = frozenset({"content_hash", "protocol_sha256", "restored_hash", "pdf_sha256", "content_sha256",
                              "evidence_sha256", "logo_sha256", "signature_sha256", "annex_sha256", "scores_digest"})
#: Fields of an entry the page never shows, by action: a committee member's verdicts, which entries
#: written before submissions kept a digest instead still hold (blind scoring: whoever reads the log
#: may be a member still scoring; the scoresheet holds the verdicts).
WITHHELD_FIELDS = {"committee.scores_submitted": frozenset({"scores"})}
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_AMOUNT = re.compile(r"^-?\d{1,15}(\.\d{1,2})?$")


def action_label(code: str) -> str:
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def object_label(code: str) -> str:
    label = OBJECT_LABELS.get(code)
    return str(label) if label is not None else code


def actions_matching(text: str) -> list[str]:
    """Action codes whose label (in the page's language) contains ``text``, for the filter."""
    needle = text.casefold()
    return [code for code, label in ACTION_LABELS.items() if needle in str(label).casefold()]


# --------------------------------------------------------------------------- people


def _visible_clause(viewer: User) -> ColumnElement[bool] | None:
    """The condition on ``User.id`` for people ``viewer`` may see named (None: everyone).

    An administrator sees everyone; staff the people of their institutions: role holders,
    candidates enrolled or trained there, committee members and operators of their sessions.
    """
    if viewer.has_role(Role.ADMIN):
        return None
    from ..security import staff_institution_ids

    institutions = staff_institution_ids(viewer)
    if not institutions:
        return false()
    sessions = select(ValidationSession.id).where(ValidationSession.institution_id.in_(institutions))
    connected: CompoundSelect[Any] = union(
        select(UserRole.user_id).where(UserRole.institution_id.in_(institutions)),
        select(Enrolment.candidate_id).where(Enrolment.session_id.in_(sessions)),
        select(CommitteeMember.assessor_id).where(CommitteeMember.session_id.in_(sessions)),
        select(TrainingRecord.candidate_id).where(TrainingRecord.institution_id.in_(institutions)),
        select(TrainingRecord.trainer_id).where(TrainingRecord.institution_id.in_(institutions)),
        select(ValidationSession.operator_id).where(ValidationSession.institution_id.in_(institutions)),
    )
    return User.id.in_(connected)


def visible_people(viewer: User, ids: Iterable[int]) -> set[int]:
    """Which of these people ``viewer`` may see named."""
    wanted = {i for i in ids if isinstance(i, int)}
    if not wanted:
        return set()
    query = select(User.id).where(User.id.in_(wanted))
    clause = _visible_clause(viewer)
    return set(db.session.scalars(query if clause is None else query.where(clause)))


def people_matching(viewer: User, text: str) -> Select[Any]:
    """The ids of people ``viewer`` may see whose name or e-mail contains ``text`` (for the filter)."""
    needle = text.strip()
    query = select(User.id).where(or_((User.first_name + " " + User.last_name).icontains(needle, autoescape=True),
                                      User.email.icontains(needle, autoescape=True)))
    clause = _visible_clause(viewer)
    return query if clause is None else query.where(clause)


def person_labels(viewer: User, ids: Iterable[int]) -> dict[int, str]:
    """A label for each person id: the name for whom the viewer may see, else the number alone."""
    wanted = {i for i in ids if isinstance(i, int)}
    allowed = visible_people(viewer, wanted)
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(allowed)))} if allowed else {}
    labels: dict[int, str] = {}
    for person_id in wanted:
        user = users.get(person_id)
        if user is None:
            labels[person_id] = str(_("person #%(id)s", id=person_id))
        elif not user.full_name.strip():
            labels[person_id] = str(_("anonymised person #%(id)s", id=person_id))
        else:
            labels[person_id] = user.full_name.strip()
    return labels


def people_named(entry: AuditEntry) -> set[int]:
    """The person ids an entry names: its actor and person-valued fields of before/after."""
    found = {entry.actor_id} if entry.actor_id else set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in PERSON_KEYS and isinstance(item, int):
                    found.add(item)
                elif key in PERSON_KEYS and isinstance(item, list):  # several people (those a complaint concerns)
                    found.update(i for i in item if isinstance(i, int))
                elif key in PERSON_MAP_KEYS and isinstance(item, dict):
                    found.update(int(k) for k in item if str(k).isascii() and str(k).isdigit())
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(entry.before)
    walk(entry.after)
    return found


# --------------------------------------------------------------------------- the diff


@dataclass(frozen=True)
class FieldChange:
    """One row of an entry's diff; ``before``/``after`` is None where the side has no such field."""

    label: str
    before: str | None
    after: str | None


#: The value shown for a withheld field (:data:`WITHHELD_FIELDS`).
WITHHELD = object()


def _field_label(key: str) -> str:
    label = FIELD_LABELS.get(key)
    return str(label) if label is not None else key


def format_value(key: str, value: Any, people: dict[int, str]) -> str:
    """A value as a reader understands it, in the page's language."""
    if value is None:
        return "—"
    if value is WITHHELD:
        return str(_("kept in its own record, not shown in the audit log"))
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if key in PERSON_KEYS and isinstance(value, int):
        return people.get(value) or str(_("person #%(id)s", id=value))
    if key.endswith(("_id", "_ids", "_seq")) and isinstance(value, int):
        return f"#{value}"  # a record's number, as in the Object column
    if isinstance(value, list):
        return ", ".join(format_value(key, item, people) for item in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{_entry_key(key, k, people)}: {format_value(str(k), v, people)}" for k, v in value.items())
    if isinstance(value, float):
        text = str(format_decimal(value, format="#,##0.##"))
        return f"{text}\u00a0%" if key.endswith("_percent") else text
    if isinstance(value, str):
        return _format_text(key, value)
    return str(value)


def _entry_key(parent: str, key: Any, people: dict[int, str]) -> str:
    if parent in PERSON_MAP_KEYS and str(key).isascii() and str(key).isdigit():
        return people.get(int(key)) or str(_("person #%(id)s", id=key))
    return _field_label(str(key))


def _format_text(key: str, value: str) -> str:
    if value.startswith(TEXT_DIGEST_PREFIX):
        return str(_("text kept in its own record, not in the audit trail"))
    labels = VALUE_LABELS.get(key)
    if labels and value in labels:
        return str(labels[value])
    if key in FINGERPRINT_KEYS and len(value) > 12:
        return value[:12] + "…"
    if key.endswith("_pln") and _AMOUNT.match(value):
        return str(format_decimal(Decimal(value), format="#,##0.00"))
    try:
        if _ISO_DATETIME.match(value):
            return str(format_datetime(datetime.fromisoformat(value), "short"))
        if _ISO_DATE.match(value):
            return str(format_date(date.fromisoformat(value), "medium"))
    except ValueError:
        return value
    return value


def _flatten(data: dict[str, Any] | None, withheld: frozenset[str] = frozenset()) -> dict[str, tuple[str, Any]]:
    """Top-level fields, with a nested mapping (other than person maps) spread into its own rows;
    a ``withheld`` field as one row that says so."""
    rows: dict[str, tuple[str, Any]] = {}
    for key, value in (data or {}).items():
        if key in withheld:
            rows[key] = (_field_label(key), (key, WITHHELD))
        elif isinstance(value, dict) and value and key not in PERSON_MAP_KEYS:
            for inner, item in value.items():
                rows[f"{key}.{inner}"] = (f"{_field_label(key)}: {_field_label(str(inner))}", (str(inner), item))
        else:
            rows[key] = (_field_label(key), (key, value))
    return rows


#: In a set of withheld fields: every field, shown as one row (which fields an entry changed is
#: itself what is withheld: the criteria whose results changed).
EVERY_FIELD = frozenset({"*"})
#: Fields of an entry withheld from a member of the candidate's committee until the candidate's
#: validation is decided (None: every field): the results the chair recorded, the decision proposed
#: and the votes on it. Blind scoring holds beyond the first round: a member appointed after a
#: dissent scores the candidate after those were logged, and may read the log (a member who is
#: also staff). The rows themselves (results, proposal, votes) are shown only as the committee's
#: pages allow; once the decision is taken the entries are read whole.
BLIND_UNTIL_DECIDED: dict[str, frozenset[str] | None] = {
    "committee.results_recorded": None,
    "committee.decision_proposed": frozenset({"positive", "justification"}),
    "committee.decision_vote": frozenset({"approve", "reason"}),
}


def _blind_enrolment(entry: AuditEntry) -> int | None:
    """The candidate's enrolment a :data:`BLIND_UNTIL_DECIDED` entry is about."""
    if entry.action not in BLIND_UNTIL_DECIDED:
        return None
    if entry.action == "committee.results_recorded":
        return int(entry.object_id) if entry.object_id and entry.object_id.isdigit() else None
    value = (entry.after or {}).get("enrolment_id")
    return value if isinstance(value, int) else None


def withheld_from(viewer: User, entries: Iterable[AuditEntry]) -> dict[int, frozenset[str]]:
    """Entry id → the fields withheld from ``viewer`` (:data:`BLIND_UNTIL_DECIDED`): those of
    entries about a candidate not yet decided whose committee the viewer sits on. One query."""
    blind = {entry.id: enrolment_id for entry in entries if (enrolment_id := _blind_enrolment(entry)) is not None}
    if not blind:
        return {}
    sits_undecided = set(db.session.scalars(
        select(Enrolment.id).join(CommitteeMember, and_(
            CommitteeMember.session_id == Enrolment.session_id,
            or_(CommitteeMember.enrolment_id.is_(None), CommitteeMember.enrolment_id == Enrolment.id)))
        .where(Enrolment.id.in_(set(blind.values())), CommitteeMember.assessor_id == viewer.id,
               ~exists().where(ValidationDecision.enrolment_id == Enrolment.id))))
    return {entry.id: BLIND_UNTIL_DECIDED[entry.action] or EVERY_FIELD for entry in entries
            if blind.get(entry.id) in sits_undecided}



def diff(entry: AuditEntry, people: dict[int, str], withheld_here: frozenset[str] = frozenset()) -> list[FieldChange]:
    """The fields the entry changed, each as before → after (unchanged fields left out);
    ``withheld_here``: fields withheld from this reader besides :data:`WITHHELD_FIELDS`."""
    if withheld_here >= EVERY_FIELD:
        return [FieldChange(_field_label("results"), None, format_value("results", WITHHELD, people))]
    withheld = WITHHELD_FIELDS.get(entry.action, frozenset()) | withheld_here
    before, after = _flatten(entry.before, withheld), _flatten(entry.after, withheld)
    changes = []
    for name in [*after, *(k for k in before if k not in after)]:
        old, new = before.get(name), after.get(name)
        if old is not None and new is not None and old[1][1] == new[1][1]:
            continue
        label = new[0] if new is not None else old[0] if old is not None else name
        changes.append(FieldChange(
            label,
            None if old is None else format_value(old[1][0], old[1][1], people),
            None if new is None else format_value(new[1][0], new[1][1], people),
        ))
    return changes
