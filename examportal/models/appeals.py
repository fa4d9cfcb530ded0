"""Appeals against every decision concerning a candidate or holder, the right to see one's exam
work, complaints about the institution's conduct (ISO/IEC 17024 9.8-9.9), renewals of
certificates by evidence analysis, and the files people attach to them."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model
from .base import LabelledEnum, Timestamped, set_labels
from .certification import Certificate
from .committee import ValidationDecision
from .people import Institution, User
from .sessions import Enrolment


def _enum(cls: type[LabelledEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


# --------------------------------------------------------------------------- files


class StoredFile(Model):
    """A file a person attached (appeal grounds, renewal evidence), kept in the database — never
    under the web root — and served only through views that check who may read it.

    Only what :mod:`examportal.uploads` accepted is stored: a sniffed type (PDF, JPEG, PNG), a
    safe base name, a size above zero and under the limit.
    """

    __tablename__ = "stored_file"
    __table_args__ = (CheckConstraint("size > 0", name="not_empty"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Who uploaded it (None: someone without an account, e.g. a complainant).
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    mimetype: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    data: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    owner: Mapped[User | None] = relationship()


# --------------------------------------------------------------------------- appeals


class AppealSubject(LabelledEnum):
    """What an appeal is against; ``Appeal.subject_id`` is the id of that record."""

    APPLICATION = "application"  # the formal check: a rejected Application
    THEORY = "theory"  # the conduct of the theory test: a TheoryAttempt
    PRACTICAL = "practical"  # the conduct of the practical exam: a PracticalAttempt
    VALIDATION = "validation"  # the decision ending validation: a ValidationDecision
    CERTIFICATION = "certification"  # the certification decision: a CertificationDecision
    CERTIFICATE = "certificate"  # a suspension or revocation: a CertificateEvent
    RENEWAL = "renewal"  # the decision on a renewal: a RenewalApplication


set_labels(AppealSubject, {
    AppealSubject.APPLICATION: _l("the formal check of an application"),
    AppealSubject.THEORY: _l("the conduct of the theory test"),
    AppealSubject.PRACTICAL: _l("the conduct of the practical exam"),
    AppealSubject.VALIDATION: _l("the validation decision"),
    AppealSubject.CERTIFICATION: _l("the certification decision"),
    AppealSubject.CERTIFICATE: _l("a suspension or revocation of a certificate"),
    AppealSubject.RENEWAL: _l("the decision on a renewal"),
})


class AppealStatus(LabelledEnum):
    FILED = "filed"
    ACKNOWLEDGED = "acknowledged"
    UNDER_REVIEW = "under_review"
    DISMISSED = "dismissed"
    UPHELD = "upheld"
    WITHDRAWN = "withdrawn"


set_labels(AppealStatus, {
    AppealStatus.FILED: _l("filed"), AppealStatus.ACKNOWLEDGED: _l("acknowledged"),
    AppealStatus.UNDER_REVIEW: _l("under review"), AppealStatus.DISMISSED: _l("dismissed"),
    AppealStatus.UPHELD: _l("upheld"), AppealStatus.WITHDRAWN: _l("withdrawn"),
})


class AppealRemedy(LabelledEnum):
    """What the system carries out when an appeal is upheld."""

    NONE = "none"  # dismissed, or upheld with nothing to carry out
    REASSESSMENT = "reassessment"  # the practical part assessed again by a new committee
    RETAKE = "retake"  # a part taken again without a fee
    CORRECTION = "correction"  # a recorded correction of criterion results / the decision
    RECONSIDER = "reconsider"  # the application (formal check) or renewal decided again
    LIFT_SUSPENSION = "lift_suspension"
    REPLACEMENT = "replacement"  # a replacement certificate with the original dates (after a revocation)
    ISSUE_CERTIFICATE = "issue_certificate"


set_labels(AppealRemedy, {
    AppealRemedy.NONE: _l("none"),
    AppealRemedy.REASSESSMENT: _l("a new assessment of the practical part by a new committee"),
    AppealRemedy.RETAKE: _l("a retake of a part without a fee"),
    AppealRemedy.CORRECTION: _l("a recorded correction of the results or the decision"),
    AppealRemedy.RECONSIDER: _l("the application decided again"),
    AppealRemedy.LIFT_SUSPENSION: _l("the suspension lifted"),
    AppealRemedy.REPLACEMENT: _l("a replacement certificate with the original dates"),
    AppealRemedy.ISSUE_CERTIFICATE: _l("the certificate issued"),
})

FINAL_APPEAL_STATES = (AppealStatus.DISMISSED, AppealStatus.UPHELD, AppealStatus.WITHDRAWN)


class Appeal(Timestamped, Model):
    """An appeal by a candidate or holder against a decision that concerns them, decided by an
    independent panel of the certifying institution.

    ``sent_on`` is the Warsaw calendar day the decision was sent (its mail queued), from which the
    window counts; ``window_ends_on`` the last day an appeal is on time. A late appeal exists only
    when staff accepted it, with their reason.
    """

    __tablename__ = "appeal"
    __table_args__ = (
        CheckConstraint("grounds <> ''", name="has_grounds"),
        CheckConstraint("status NOT IN ('dismissed', 'upheld') OR (justification IS NOT NULL AND justification <> '')",
                        name="decision_justified"),
        CheckConstraint("late_accepted_by_id IS NULL OR (late_reason IS NOT NULL AND late_reason <> '')",
                        name="late_acceptance_has_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The certifying institution that handles it (its appeals panel decides).
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True, nullable=False)
    appellant_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    subject: Mapped[AppealSubject] = mapped_column(_enum(AppealSubject), nullable=False)
    subject_id: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The enrolment (validation) the decision belongs to, when there is one.
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id"), index=True)
    #: The certificate concerned (certification, suspension/revocation, renewal), when there is one.
    certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"), index=True)
    grounds: Mapped[str] = mapped_column(Text, nullable=False)
    sent_on: Mapped[date] = mapped_column(Date, nullable=False)
    window_ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    late_accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    late_reason: Mapped[str | None] = mapped_column(Text)
    status: Mapped[AppealStatus] = mapped_column(_enum(AppealStatus), default=AppealStatus.FILED, nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    #: The last day for the panel's decision (``appeal_decision_days`` after filing).
    decide_by: Mapped[date] = mapped_column(Date, nullable=False)
    review_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    justification: Mapped[str | None] = mapped_column(Text)
    remedy: Mapped[AppealRemedy] = mapped_column(_enum(AppealRemedy), default=AppealRemedy.NONE, nullable=False)
    #: What carrying out the remedy produced (ids of a new session, enrolment, certificate, ...).
    remedy_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    remedy_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The annex to the protocol with the panel's decision (PDF) and its SHA-256.
    annex_pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    annex_sha256: Mapped[str | None] = mapped_column(String(64))

    institution: Mapped[Institution] = relationship()
    appellant: Mapped[User] = relationship(foreign_keys=[appellant_id])
    enrolment: Mapped[Enrolment | None] = relationship()
    certificate: Mapped[Certificate | None] = relationship()
    late_accepted_by: Mapped[User | None] = relationship(foreign_keys=[late_accepted_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    files: Mapped[list[AppealFile]] = relationship(back_populates="appeal", cascade="all, delete-orphan",
                                                   order_by="AppealFile.id")
    panel: Mapped[list[AppealPanelMember]] = relationship(back_populates="appeal", cascade="all, delete-orphan",
                                                          order_by="AppealPanelMember.id")
    proposals: Mapped[list[AppealProposal]] = relationship(back_populates="appeal", cascade="all, delete-orphan",
                                                           order_by="AppealProposal.id")

    @property
    def is_open(self) -> bool:
        return self.status not in FINAL_APPEAL_STATES


class AppealFile(Model):
    __tablename__ = "appeal_file"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"), index=True, nullable=False)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"), unique=True, nullable=False)

    appeal: Mapped[Appeal] = relationship(back_populates="files")
    file: Mapped[StoredFile] = relationship()


class AppealPanelMember(Model):
    """A member of the panel deciding one appeal: an appeals-panel member of the institution who
    took no part in the decision appealed; they declare impartiality before they see the case."""

    __tablename__ = "appeal_panel_member"
    __table_args__ = (UniqueConstraint("appeal_id", "member_id", name="appeal_member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"), index=True, nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    is_chair: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    appointed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    appointed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    declaration: Mapped[str | None] = mapped_column(Text)

    appeal: Mapped[Appeal] = relationship(back_populates="panel")
    member: Mapped[User] = relationship(foreign_keys=[member_id])


class AppealProposal(Model):
    """The panel's decision as one member proposes it; final only when every member approves
    (no single person decides an appeal). A dissent closes it; another may be proposed."""

    __tablename__ = "appeal_proposal"
    __table_args__ = (
        CheckConstraint("justification <> ''", name="justified"),
        CheckConstraint("upheld OR remedy = 'none'", name="dismissal_has_no_remedy"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"), index=True, nullable=False)
    upheld: Mapped[bool] = mapped_column(Boolean, nullable=False)
    remedy: Mapped[AppealRemedy] = mapped_column(_enum(AppealRemedy), nullable=False)
    #: Remedy parameters (e.g. which part is retaken, the corrected criterion results).
    remedy_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    justification: Mapped[str] = mapped_column(Text, nullable=False)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("appeal_panel_member.id"), nullable=False)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: open / final / rejected (a member dissented)
    status: Mapped[str] = mapped_column(String(20), default="open", nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    appeal: Mapped[Appeal] = relationship(back_populates="proposals")
    proposed_by: Mapped[AppealPanelMember] = relationship()
    votes: Mapped[list[AppealVote]] = relationship(back_populates="proposal", cascade="all, delete-orphan",
                                                   order_by="AppealVote.id")


class AppealVote(Model):
    __tablename__ = "appeal_vote"
    __table_args__ = (
        UniqueConstraint("proposal_id", "member_id", name="appeal_proposal_member"),
        CheckConstraint("approve OR (reason IS NOT NULL AND reason <> '')", name="appeal_dissent_has_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("appeal_proposal.id", ondelete="CASCADE"), index=True,
                                             nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("appeal_panel_member.id", ondelete="CASCADE"), nullable=False)
    approve: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    proposal: Mapped[AppealProposal] = relationship(back_populates="votes")
    member: Mapped[AppealPanelMember] = relationship()


class DecisionCorrection(Model):
    """A recorded correction of a final validation decision or of its criterion results — after
    an upheld appeal or a voided theory item — with its reason; the decision itself is kept and
    shown as corrected, and the candidate is mailed."""

    __tablename__ = "decision_correction"
    __table_args__ = (CheckConstraint("reason <> ''", name="correction_has_reason"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("validation_decision.id"), index=True, nullable=False)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"), index=True)
    #: criterion code → {"before": bool|None, "after": bool}
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    positive_before: Mapped[bool] = mapped_column(Boolean, nullable=False)
    positive_after: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    corrected_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    decision: Mapped[ValidationDecision] = relationship()
    appeal: Mapped[Appeal | None] = relationship()
    corrected_by: Mapped[User] = relationship()


# --------------------------------------------------------------------------- seeing one's work


class WorkReviewStatus(LabelledEnum):
    REQUESTED = "requested"
    GRANTED = "granted"
    REFUSED = "refused"


set_labels(WorkReviewStatus, {WorkReviewStatus.REQUESTED: _l("requested"), WorkReviewStatus.GRANTED: _l("granted"),
                              WorkReviewStatus.REFUSED: _l("refused")})


class WorkReview(Model):
    """A candidate's request to see their exam work (theory answers with the key, the practical
    log replay, the committee's results and justification), read-only, until ``open_until``."""

    __tablename__ = "work_review"
    __table_args__ = (CheckConstraint("status <> 'refused' OR (refusal_reason IS NOT NULL AND refusal_reason <> '')",
                                      name="refusal_has_reason"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True, nullable=False)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    sent_on: Mapped[date] = mapped_column(Date, nullable=False)
    status: Mapped[WorkReviewStatus] = mapped_column(_enum(WorkReviewStatus), default=WorkReviewStatus.REQUESTED,
                                                     nullable=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    open_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refusal_reason: Mapped[str | None] = mapped_column(Text)

    enrolment: Mapped[Enrolment] = relationship()
    candidate: Mapped[User] = relationship(foreign_keys=[candidate_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


# --------------------------------------------------------------------------- complaints


class ComplaintStatus(LabelledEnum):
    FILED = "filed"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    CLOSED = "closed"


set_labels(ComplaintStatus, {  # in the complaint's own grammatical context (Polish agrees with "skarga")
    ComplaintStatus.FILED: lazy_pgettext("complaint", "filed"),
    ComplaintStatus.ACKNOWLEDGED: lazy_pgettext("complaint", "acknowledged"),
    ComplaintStatus.ASSIGNED: _l("being handled"), ComplaintStatus.CLOSED: lazy_pgettext("complaint", "closed")})


class Complaint(Timestamped, Model):
    """A complaint about an institution's conduct, from anyone (with or without an account)."""

    __tablename__ = "complaint"
    __table_args__ = (
        CheckConstraint("text <> ''", name="complaint_has_text"),
        CheckConstraint("status <> 'closed' OR (outcome IS NOT NULL AND outcome <> '')", name="closed_with_outcome"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True, nullable=False)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False)
    locale: Mapped[str] = mapped_column(String(5), default="pl", nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[ComplaintStatus] = mapped_column(_enum(ComplaintStatus), default=ComplaintStatus.FILED, nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    outcome: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    institution: Mapped[Institution] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    handler: Mapped[User | None] = relationship(foreign_keys=[handler_id])


# --------------------------------------------------------------------------- renewals


class RenewalStatus(LabelledEnum):
    SUBMITTED = "submitted"
    RETURNED = "returned"  # the assessor asked the holder for more
    UNDER_REVIEW = "under_review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


set_labels(RenewalStatus, {
    RenewalStatus.SUBMITTED: _l("submitted"), RenewalStatus.RETURNED: _l("returned for more evidence"),
    RenewalStatus.UNDER_REVIEW: _l("under review"), RenewalStatus.ACCEPTED: _l("accepted"),
    RenewalStatus.REJECTED: _l("rejected"), RenewalStatus.WITHDRAWN: _l("withdrawn"),
})

OPEN_RENEWAL_STATES = (RenewalStatus.SUBMITTED, RenewalStatus.RETURNED, RenewalStatus.UNDER_REVIEW)


class RenewalApplication(Timestamped, Model):
    """A holder's application to renew a certificate by evidence of work with a CRM during its
    validity; decided by an impartial assessor's evidence analysis."""

    __tablename__ = "renewal_application"
    __table_args__ = (
        CheckConstraint("status <> 'rejected' OR (justification IS NOT NULL AND justification <> '')",
                        name="rejection_justified"),
        CheckConstraint("covered_days >= 0", name="covered_days_not_negative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id"), index=True, nullable=False)
    holder_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=False)
    status: Mapped[RenewalStatus] = mapped_column(_enum(RenewalStatus), default=RenewalStatus.SUBMITTED, nullable=False)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    declaration_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    #: Distinct days of declared work inside the certificate's validity (overlaps counted once).
    covered_days: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assessor_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    justification: Mapped[str | None] = mapped_column(Text)
    #: The day the decision was mailed (appeal windows count from it).
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificate.id"), unique=True)

    certificate: Mapped[Certificate] = relationship(foreign_keys=[certificate_id])
    holder: Mapped[User] = relationship(foreign_keys=[holder_id])
    assessor: Mapped[User | None] = relationship(foreign_keys=[assessor_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    new_certificate: Mapped[Certificate | None] = relationship(foreign_keys=[new_certificate_id])
    periods: Mapped[list[RenewalPeriod]] = relationship(back_populates="application", cascade="all, delete-orphan",
                                                        order_by="RenewalPeriod.starts_on")
    evidence: Mapped[list[RenewalEvidence]] = relationship(back_populates="application",
                                                           cascade="all, delete-orphan", order_by="RenewalEvidence.id")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_RENEWAL_STATES


class RenewalPeriod(Model):
    """One declared period of work using a CRM for customer service. ``confirmed``: the assessor's
    finding whether the accepted evidence shows it (None: not judged yet); only confirmed periods
    count towards the year of work a renewal needs."""

    __tablename__ = "renewal_period"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="period_in_order"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("renewal_application.id", ondelete="CASCADE"), index=True,
                                                nullable=False)
    employer: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(200), nullable=False)
    starts_on: Mapped[date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[date] = mapped_column(Date, nullable=False)
    confirmed: Mapped[bool | None] = mapped_column()
    judged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    judged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    application: Mapped[RenewalApplication] = relationship(back_populates="periods")


class RenewalEvidence(Model):
    """A piece of evidence (employer's certificate, scope of duties, a reference) and the
    assessor's verdict on it."""

    __tablename__ = "renewal_evidence"
    __table_args__ = (
        CheckConstraint("verdict IS NULL OR verdict IN ('accepted', 'rejected')", name="verdict_known"),
        CheckConstraint("verdict IS NULL OR verdict = 'accepted' OR (note IS NOT NULL AND note <> '')",
                        name="rejection_has_note"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("renewal_application.id", ondelete="CASCADE"), index=True,
                                                nullable=False)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_file.id"), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(String(200), nullable=False)
    verdict: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    judged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    judged_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    application: Mapped[RenewalApplication] = relationship(back_populates="evidence")
    file: Mapped[StoredFile] = relationship()


class CertificateReminder(Model):
    """An expiry reminder mailed to a holder; one per certificate and lead time, never twice."""

    __tablename__ = "certificate_reminder"
    __table_args__ = (UniqueConstraint("certificate_id", "months_before", name="certificate_lead"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(ForeignKey("certificate.id", ondelete="CASCADE"), index=True,
                                                nullable=False)
    months_before: Mapped[int] = mapped_column(Integer, nullable=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
