"""examportal models by domain; importing this module registers every table."""
from .administration import CompetenceKind, CompetenceRecord, Education, InstitutionSettings  # noqa: F401
from .appeals import (  # noqa: F401
    FINAL_APPEAL_STATES,
    OPEN_RENEWAL_STATES,
    Appeal,
    AppealFile,
    AppealPanelMember,
    AppealProposal,
    AppealRemedy,
    AppealStatus,
    AppealSubject,
    AppealVote,
    CertificateReminder,
    Complaint,
    ComplaintStatus,
    DecisionCorrection,
    RenewalApplication,
    RenewalEvidence,
    RenewalPeriod,
    RenewalStatus,
    StoredFile,
    WorkReview,
    WorkReviewStatus,
)
from .audit import AuditEntry, AuditHead  # noqa: F401
from .base import utcnow  # noqa: F401
from .certification import (  # noqa: F401
    Certificate,
    CertificateCounter,
    CertificateDuplicate,
    CertificateEvent,
    CertificateEventKind,
    CertificateStatus,
    CertificationDecision,
    DuplicateRequest,
    DuplicateRequestStatus,
)
from .committee import (  # noqa: F401
    CriterionResult,
    CriterionScore,
    DecisionProposal,
    DecisionVote,
    ProposalStatus,
    Scoresheet,
    ValidationDecision,
)
from .credentials import STATUS_LIST_SIZE, STATUS_PURPOSES, Credential, CredentialKey, StatusList  # noqa: F401
from .jobs import BackgroundJob, JobStatus, ScheduledRun  # noqa: F401
from .mail import OutboxMail  # noqa: F401
from .people import INSTITUTION_ROLES, Institution, InstitutionKind, Role, TrainingRecord, User, UserRole  # noqa: F401
from .practical import PracticalAttempt, PracticalStatus, PracticeWorkspace  # noqa: F401
from .qualification import Criterion, LearningOutcome, OutcomeSet, Qualification  # noqa: F401
from .records import AuditorMandate, DataRequest, DataRequestKind, DataRequestStatus, EvaluationReport  # noqa: F401
from .sessions import (  # noqa: F401
    Application,
    ApplicationStatus,
    CommitteeMember,
    Enrolment,
    EnrolmentStatus,
    SessionMode,
    SessionStatus,
    ValidationSession,
)
from .theory import (  # noqa: F401
    AttemptAnswer,
    AttemptItem,
    AttemptStatus,
    OperatorAction,
    OperatorActionKind,
    TheoryAttempt,
    VoidedItem,
)
