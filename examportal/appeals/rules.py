"""The rules of appeals that need no database: the day a decision was sent (per subject), the appeal
and work-review windows in Warsaw calendar days, the panel's deadline, who may not sit on a panel
and when a proposal is carried. Unit-tested without a request.

Every window counts Polish calendar days (Europe/Warsaw) from the day the decision was sent: a
decision sent on day D may be appealed through D + ``appeal_window_days`` inclusive, whatever the
hour and whatever a change of clocks does to the length of those days.
"""
from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

from ..certification.rules import WARSAW, _, today
from ..models import (
    AppealSubject,
    ApplicationStatus,
    AttemptStatus,
    CertificateEventKind,
    RenewalStatus,
)

__all__ = ["WARSAW", "Involvement", "all_approved", "date_text", "days_left", "decide_by", "late_refusal", "local_day",
           "panel_composition_refusal", "panel_refusal", "review_last_day", "review_open_until", "review_refusal",
           "sent_moment", "sent_on", "taken_moment", "today", "window_end"]

#: The most files one appeal carries (the issue's limit).
MAX_FILES = 5
#: How long a granted work review stays open by default, and at most (days).
REVIEW_DAYS_DEFAULT = 7
REVIEW_DAYS_MAX = 30


def local_day(moment: datetime) -> date:
    """The Polish calendar day of a moment (a timezone-aware one; a naive one is a bug)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no day in Warsaw; use timezone-aware datetimes")
    return moment.astimezone(WARSAW).date()


def date_text(day: date) -> str:
    """A day as people write it in Poland and as the refusals quote it: ``DD.MM.YYYY``."""
    return day.strftime("%d.%m.%Y")


# --------------------------------------------------------------------------- when a decision was sent


def sent_moment(subject: AppealSubject, record: Any) -> datetime | None:
    """When the decision ``record`` (of the kind ``subject`` names) was sent to the person, or None
    when it is no decision that can be appealed (yet):

    - application: the formal check's rejection (``decided_at``; an application not rejected: None);
    - theory: the test's result as released, else its submission (the conduct of the test);
    - practical: the end of the practical exam;
    - validation, certification: when the candidate's mail was queued (``notified_at``), else the
      decision itself;
    - certificate: a suspension or revocation (other events of a certificate: None);
    - renewal: when the holder was told of the decision (None while undecided).
    """
    moment: datetime | None
    if subject == AppealSubject.APPLICATION:
        moment = record.decided_at if record.status == ApplicationStatus.REJECTED else None
    elif subject == AppealSubject.THEORY:
        moment = (record.released_at or record.submitted_at) if record.status == AttemptStatus.SUBMITTED else None
    elif subject == AppealSubject.PRACTICAL:
        moment = record.finished_at
    elif subject in (AppealSubject.VALIDATION, AppealSubject.CERTIFICATION):
        moment = record.notified_at or record.decided_at
    elif subject == AppealSubject.CERTIFICATE:
        moment = record.at if record.kind in (CertificateEventKind.SUSPENDED, CertificateEventKind.REVOKED) else None
    elif subject == AppealSubject.RENEWAL:
        decided = record.status in (RenewalStatus.ACCEPTED, RenewalStatus.REJECTED)
        moment = (record.notified_at or record.decided_at) if decided else None
    else:
        raise ValueError(f"unknown subject {subject!r}")
    return moment


def taken_moment(subject: AppealSubject, record: Any) -> datetime | None:
    """When the decision ``record`` (of the kind ``subject`` names) was taken as it stands, or None
    when it is no decision (yet). An appeal is against one decision: an appeal decided before this
    moment was against an earlier decision on the same record — a formal check or a renewal decided
    again after an upheld appeal — and does not stand in the way of one against this decision.

    The rows of the other subjects are never decided again; their moment only has to lie before any
    appeal against them (the submission of a test, not the release of its result).
    """
    moment: datetime | None
    if subject == AppealSubject.APPLICATION:
        moment = record.decided_at if record.status == ApplicationStatus.REJECTED else None
    elif subject == AppealSubject.THEORY:
        moment = record.submitted_at if record.status == AttemptStatus.SUBMITTED else None
    elif subject == AppealSubject.PRACTICAL:
        moment = record.finished_at
    elif subject in (AppealSubject.VALIDATION, AppealSubject.CERTIFICATION):
        moment = record.decided_at
    elif subject == AppealSubject.CERTIFICATE:
        moment = record.at if record.kind in (CertificateEventKind.SUSPENDED, CertificateEventKind.REVOKED) else None
    elif subject == AppealSubject.RENEWAL:
        decided = record.status in (RenewalStatus.ACCEPTED, RenewalStatus.REJECTED)
        moment = record.decided_at if decided else None
    else:
        raise ValueError(f"unknown subject {subject!r}")
    return moment


def sent_on(subject: AppealSubject, record: Any) -> date | None:
    """The Warsaw calendar day the decision was sent (see :func:`sent_moment`)."""
    moment = sent_moment(subject, record)
    return local_day(moment) if moment is not None else None


# --------------------------------------------------------------------------- windows


def window_end(sent: date, days: int) -> date:
    """The last day of a window of ``days`` calendar days counted from the day ``sent``."""
    if days < 0:
        raise ValueError("a window cannot be negative")
    return sent + timedelta(days=days)


def late_refusal(sent: date, days: int, on: date) -> str | None:
    """Why an appeal made on ``on`` against a decision sent on ``sent`` is late (translated), or None."""
    end = window_end(sent, days)
    if on <= end:
        return None
    return _("The appeal window ended on %(date)s (%(days)d days from the day the decision was sent, %(sent)s). "
             "A late appeal can be accepted only by the certifying institution: write to it and say why you are late.",
             date=date_text(end), days=days, sent=date_text(sent))


def review_refusal(sent: date, days: int, on: date) -> str | None:
    """Why a request made on ``on`` to see one's exam work is late (translated), or None."""
    end = window_end(sent, days)
    if on <= end:
        return None
    return _("The time to ask to see your exam work ended on %(date)s (%(days)d days from the day the decision was "
             "sent, %(sent)s).", date=date_text(end), days=days, sent=date_text(sent))


def review_open_until(granted_on: date, days: int) -> datetime:
    """The end of a work review granted on ``granted_on`` for ``days`` days: midnight (Warsaw) after
    its last day, ``granted_on + days`` (a review granted on Monday for 7 days is open through the
    next Monday)."""
    if not 1 <= days <= REVIEW_DAYS_MAX:
        raise ValueError(f"a work review is granted for 1 to {REVIEW_DAYS_MAX} days")
    return datetime.combine(granted_on + timedelta(days=days + 1), time.min, WARSAW)


def review_last_day(open_until: datetime) -> date:
    """The last Warsaw day a review closing at ``open_until`` is open."""
    return local_day(open_until - timedelta(microseconds=1))


# --------------------------------------------------------------------------- the panel's deadline


def decide_by(filed_on: date, days: int) -> date:
    """The last day for the panel's decision: ``days`` calendar days after the day of filing."""
    return window_end(filed_on, days)


def days_left(deadline: date, on: date) -> int:
    """Calendar days from ``on`` to ``deadline`` (0: due today; negative: overdue by that many)."""
    return (deadline - on).days


# --------------------------------------------------------------------------- who may sit on a panel


class Involvement(enum.Enum):
    """A part a person took in the decision appealed (or a tie to the appellant) that keeps them
    off the panel. The order is the order the refusal names them in."""

    APPELLANT = "appellant"
    COMMITTEE = "committee"
    VALIDATION = "validation"
    CORRECTION = "correction"
    OPERATOR = "operator"
    TRAINER = "trainer"
    THEORY_RELEASE = "theory_release"
    VOIDING = "voiding"
    CERTIFICATION = "certification"
    CERTIFICATE_ACTION = "certificate_action"
    RENEWAL = "renewal"
    APPLICATION = "application"


def _involvement_text(kind: Involvement, name: str) -> str:
    texts = {
        Involvement.APPELLANT: lambda: _("%(name)s is the appellant: no one decides their own appeal.", name=name),
        Involvement.COMMITTEE: lambda: _("%(name)s cannot sit on this panel: they were a member (or the chair) of the "
                                         "validation committee that assessed the appellant.", name=name),
        Involvement.VALIDATION: lambda: _("%(name)s cannot sit on this panel: they scored the appellant or took part "
                                          "in the validation decision.", name=name),
        Involvement.CORRECTION: lambda: _("%(name)s cannot sit on this panel: they corrected the appellant's validation "
                                          "decision.", name=name),
        Involvement.OPERATOR: lambda: _("%(name)s cannot sit on this panel: they were the exam-system operator for the "
                                        "appellant's exam.", name=name),
        Involvement.TRAINER: lambda: _("%(name)s cannot sit on this panel: they trained the appellant.", name=name),
        Involvement.THEORY_RELEASE: lambda: _("%(name)s cannot sit on this panel: they released the appellant's theory "
                                              "results.", name=name),
        Involvement.VOIDING: lambda: _("%(name)s cannot sit on this panel: they voided items of the appellant's theory "
                                       "test (the test was rescored without them).", name=name),
        Involvement.CERTIFICATION: lambda: _("%(name)s cannot sit on this panel: they took the certification decision "
                                             "on the appellant.", name=name),
        Involvement.CERTIFICATE_ACTION: lambda: _("%(name)s cannot sit on this panel: they suspended or revoked the "
                                                  "appellant's certificate.", name=name),
        Involvement.RENEWAL: lambda: _("%(name)s cannot sit on this panel: they assessed or decided the appellant's "
                                       "renewal.", name=name),
        Involvement.APPLICATION: lambda: _("%(name)s cannot sit on this panel: they decided the appellant's "
                                           "application (the formal check).", name=name),
    }
    return texts[kind]()


def panel_refusal(name: str, involvements: Iterable[Involvement]) -> str | None:
    """Why the person called ``name`` may not sit on the panel (translated, naming the first reason
    in :class:`Involvement` order), or None when they took no part."""
    found = set(involvements)
    first = next((kind for kind in Involvement if kind in found), None)
    return _involvement_text(first, name) if first is not None else None


def panel_composition_refusal(members: int, chairs: int, minimum: int) -> str | None:
    """Why a panel of ``members`` (``chairs`` of them chairs) may not start the review, or None:
    at least the qualification's committee minimum, and exactly one chair."""
    if members < minimum:
        return _("The panel needs at least %(n)d members before the review starts (now %(have)d).", n=minimum,
                 have=members)
    if chairs != 1:
        return _("The panel needs exactly one chair before the review starts: mark one member as the chair.")
    return None


def all_approved(member_ids: Iterable[int], votes: Mapping[int, bool]) -> bool | None:
    """Whether a proposal is carried: False as soon as any member dissented, True when every member
    approved, None while some have not voted. No single person decides an appeal."""
    members = list(member_ids)
    if not members:
        raise ValueError("a panel has members")
    if any(votes.get(member) is False for member in members):
        return False
    if all(votes.get(member) is True for member in members):
        return True
    return None
