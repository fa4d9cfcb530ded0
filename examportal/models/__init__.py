"""examportal models by domain; importing this module registers every table."""
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
from .jobs import BackgroundJob, JobStatus, ScheduledRun  # noqa: F401
from .mail import OutboxMail  # noqa: F401
from .people import INSTITUTION_ROLES, Institution, InstitutionKind, Role, TrainingRecord, User, UserRole  # noqa: F401
from .practical import PracticalAttempt, PracticalStatus, PracticeWorkspace  # noqa: F401
from .qualification import Criterion, LearningOutcome, OutcomeSet, Qualification  # noqa: F401
from .sessions import (  # noqa: F401
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
