"""The committee's work on one candidate: independent scoresheets, final results, the decision."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Enum, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sandbox_crm.models.base import UTCDateTime

from ..extensions import Model
from .base import Timestamped
from .people import User
from .qualification import Criterion
from .sessions import CommitteeMember, Enrolment


class Scoresheet(Timestamped, Model):
    """One assessor's independent scoring of one candidate; read-only once submitted."""

    __tablename__ = "scoresheet"
    __table_args__ = (UniqueConstraint("enrolment_id", "member_id", name="enrolment_member"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True, nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("committee_member.id", ondelete="CASCADE"), index=True, nullable=False)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enrolment: Mapped[Enrolment] = relationship()
    member: Mapped[CommitteeMember] = relationship()
    scores: Mapped[list[CriterionScore]] = relationship(back_populates="scoresheet", cascade="all, delete-orphan")

    @property
    def is_submitted(self) -> bool:
        return self.submitted_at is not None

    def score_for(self, criterion_id: int) -> CriterionScore | None:
        return next((s for s in self.scores if s.criterion_id == criterion_id), None)


class CriterionScore(Model):
    """An assessor's verdict on one criterion: met / not met (None: not examined), with a comment."""

    __tablename__ = "criterion_score"
    __table_args__ = (UniqueConstraint("scoresheet_id", "criterion_id", name="sheet_criterion"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scoresheet_id: Mapped[int] = mapped_column(ForeignKey("scoresheet.id", ondelete="CASCADE"), index=True, nullable=False)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"), index=True, nullable=False)
    met: Mapped[bool | None] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    interview_notes: Mapped[str | None] = mapped_column(Text)

    scoresheet: Mapped[Scoresheet] = relationship(back_populates="scores")
    criterion: Mapped[Criterion] = relationship()


class CriterionResult(Model):
    """The committee's final result on one criterion for one candidate."""

    __tablename__ = "criterion_result"
    __table_args__ = (UniqueConstraint("enrolment_id", "criterion_id", name="enrolment_criterion"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True, nullable=False)
    criterion_id: Mapped[int] = mapped_column(ForeignKey("criterion.id"), index=True, nullable=False)
    met: Mapped[bool] = mapped_column(Boolean, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    criterion: Mapped[Criterion] = relationship()


class ProposalStatus(str, enum.Enum):
    OPEN = "open"  # members are voting
    DISPUTED = "disputed"  # a member dissented: waiting for the institution to appoint one more member
    FINAL = "final"  # became the decision
    REJECTED = "rejected"  # the enlarged committee's majority did not approve it
    WITHDRAWN = "withdrawn"  # the results it rested on changed (a theory item was voided)


class DecisionProposal(Timestamped, Model):
    """The decision as the chair proposes it; final only when the committee approves it.

    Every member approves or dissents (with a reason). All approving makes it final; a dissent makes
    the institution appoint one more member, and then the majority of the enlarged committee decides.
    """

    __tablename__ = "decision_proposal"
    __table_args__ = (
        CheckConstraint("positive OR (justification IS NOT NULL AND justification <> '')", name="negative_justified"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), index=True, nullable=False)
    positive: Mapped[bool] = mapped_column(Boolean, nullable=False)
    justification: Mapped[str | None] = mapped_column(Text)
    status: Mapped[ProposalStatus] = mapped_column(
        Enum(ProposalStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=ProposalStatus.OPEN, nullable=False)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    enrolment: Mapped[Enrolment] = relationship()
    proposed_by: Mapped[User] = relationship()
    votes: Mapped[list[DecisionVote]] = relationship(back_populates="proposal", cascade="all, delete-orphan",
                                                      order_by="DecisionVote.id")

    @property
    def is_open(self) -> bool:
        return self.status in (ProposalStatus.OPEN, ProposalStatus.DISPUTED)


class DecisionVote(Model):
    """One member's approval of a proposed decision, or their dissent with its reason."""

    __tablename__ = "decision_vote"
    __table_args__ = (
        UniqueConstraint("proposal_id", "member_id", name="proposal_member"),
        CheckConstraint("approve OR (reason IS NOT NULL AND reason <> '')", name="dissent_has_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("decision_proposal.id", ondelete="CASCADE"), index=True, nullable=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("committee_member.id", ondelete="CASCADE"), index=True, nullable=False)
    approve: Mapped[bool] = mapped_column(Boolean, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    proposal: Mapped[DecisionProposal] = relationship(back_populates="votes")
    member: Mapped[CommitteeMember] = relationship()


class ValidationDecision(Timestamped, Model):
    """The committee's decision ending validation; a negative one always carries its justification."""

    __tablename__ = "validation_decision"
    __table_args__ = (
        UniqueConstraint("enrolment_id", name="enrolment"),
        CheckConstraint("positive OR (justification IS NOT NULL AND justification <> '')", name="negative_justified"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id", ondelete="CASCADE"), nullable=False)
    positive: Mapped[bool] = mapped_column(Boolean, nullable=False)
    justification: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    protocol_pdf: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    protocol_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    # The approved proposal it came from (None for decisions taken before proposals existed).
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("decision_proposal.id"))

    enrolment: Mapped[Enrolment] = relationship()
    decided_by: Mapped[User] = relationship()
    proposal: Mapped[DecisionProposal | None] = relationship()
