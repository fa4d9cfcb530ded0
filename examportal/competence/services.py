"""The rules of competence records: what the qualification requires of a committee member or an
exam-system operator, what a person's record lacks, and how staff record it (with its evidence)."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from flask_babel import format_date, gettext
from sqlalchemy import select

from ..audit import services as audit_log
from ..audit.services import snapshot
from ..certification.rules import WARSAW, add_years, today
from ..extensions import db
from ..models import CompetenceKind, CompetenceRecord, Education, Institution, Qualification, Role, User, utcnow

#: The role a record is about: a committee member is an assessor of the institution.
ROLE_OF = {CompetenceKind.ASSESSOR: Role.ASSESSOR, CompetenceKind.OPERATOR: Role.OPERATOR}
#: Below the request limit (MAX_CONTENT_LENGTH, 5 MB), so a file a little too large gets a message
#: next to the field instead of the error page.
MAX_EVIDENCE_BYTES = 4 * 1024 * 1024
MAX_SUPERVISION_MONTHS = 720  # the table's CHECK constraint: 60 years
#: A record is reviewed at least once a certification cycle.
MAX_REVIEW_YEARS = 5
#: Evidence is recognised by its first bytes, never by the name or type the browser sends: a file
#: called "dyplom.pdf" that is really HTML would otherwise be served back to staff as a document.
EVIDENCE_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
RECORD_FIELDS = ("user_id", "kind", "institution_id", "education", "crm_supervision_months", "computer_skills",
                 "troubleshooting_skills", "evidence_sha256", "evidence_mimetype", "verified_by_id", "review_due")


def _(text: str, **values: Any) -> str:
    """gettext, typed (Flask-Babel ships no type information)."""
    return str(gettext(text, **values))


class CompetenceError(ValueError):
    """A record was refused; the message says why (translated), ``field`` which form field it belongs to."""

    def __init__(self, message: str, field: str = "education") -> None:
        super().__init__(message)
        self.field = field


def _day(value: date) -> str:
    return str(format_date(value))


# --------------------------------------------------------------------------- requirements


def requirement(qualification: Qualification, kind: CompetenceKind) -> Mapping[str, Any] | None:
    """What the qualification's definition requires of a ``kind`` (None: it states nothing)."""
    return qualification.rules.staff_requirements.get(kind.value)


def describe_requirement(need: Mapping[str, Any]) -> list[str]:
    """The requirement in words, one line per condition."""
    lines = []
    if need.get("min_education"):
        lines.append(_("education: at least %(level)s", level=Education(need["min_education"]).label))
    if need.get("min_crm_supervision_months"):
        lines.append(_("at least %(months)s months directing or supervising the work of CRM operators",
                       months=need["min_crm_supervision_months"]))
    if need.get("computer_skills"):
        lines.append(_("operates a computer: starts it and uses the system and its applications"))
    if need.get("troubleshooting_skills"):
        lines.append(_("solves a lost internet connection and a browser's incompatibility with the exam platform"))
    return lines


def record_of(user: User, kind: CompetenceKind) -> CompetenceRecord | None:
    """The person's competence record for ``kind`` (one per person and kind)."""
    return db.session.scalar(select(CompetenceRecord).where(CompetenceRecord.user_id == user.id,
                                                            CompetenceRecord.kind == kind))


def gaps_of(record: CompetenceRecord | None, kind: CompetenceKind, need: Mapping[str, Any] | None,
            on: date, now: date) -> list[str]:
    """What ``record`` lacks against ``need`` on the day ``on`` (``now`` is today), each gap in words.

    Pure: no database, so the rule is tested on its own.
    """
    if need is None:
        return []
    if record is None:
        return [_("no competence record as %(kind)s", kind=kind.label)]
    gaps = []
    minimum = need.get("min_education")
    if minimum and record.education.rank < Education(minimum).rank:
        gaps.append(_("education %(actual)s is below the required %(required)s",
                      actual=record.education.label, required=Education(minimum).label))
    months = int(need.get("min_crm_supervision_months") or 0)
    if record.crm_supervision_months < months:
        gaps.append(_("%(months)s of the required %(required)s months directing or supervising CRM operators",
                      months=record.crm_supervision_months, required=months))
    if need.get("computer_skills") and not record.computer_skills:
        gaps.append(_("no computer skills"))
    if need.get("troubleshooting_skills") and not record.troubleshooting_skills:
        gaps.append(_("no troubleshooting skills (lost connection, browser compatibility)"))
    if record.review_due < now:
        gaps.append(_("review overdue since %(date)s", date=_day(record.review_due)))
    elif record.review_due < on:
        gaps.append(_("review due on %(date)s, before %(day)s", date=_day(record.review_due), day=_day(on)))
    return gaps


def competence_gaps(user: User, kind: CompetenceKind, qualification: Qualification, on: date | None = None) -> list[str]:
    """What keeps ``user`` from acting as ``kind`` in a validation of ``qualification`` on the day
    ``on`` (today by default), each gap in words; empty when they meet every requirement."""
    now = today()
    return gaps_of(record_of(user, kind), kind, requirement(qualification, kind), on or now, now)


def appointment_day(starts_at: datetime) -> date:
    """The day a record must still qualify someone appointed to a session: the session's (Polish)
    day, or today for a session that has begun."""
    return max(today(), starts_at.astimezone(WARSAW).date())


def appointment_refusal(user: User, kind: CompetenceKind, qualification: Qualification, starts_at: datetime) -> str | None:
    """Why ``user`` may not be appointed as ``kind`` to a session of ``qualification`` starting at
    ``starts_at`` (None: they may), naming everything their record lacks."""
    gaps = competence_gaps(user, kind, qualification, appointment_day(starts_at))
    if not gaps:
        return None
    return _("%(name)s does not meet this qualification's requirements for the role of %(kind)s: %(gaps)s.",
             name=user.full_name, kind=kind.label, gaps="; ".join(gaps))


@dataclass(frozen=True)
class CompetenceStatus:
    """A person's record for one kind, judged against each qualification the institution validates."""

    kind: CompetenceKind
    record: CompetenceRecord | None
    #: Qualification code → what the record lacks for it (only qualifications that state requirements).
    gaps: dict[str, list[str]] = field(default_factory=dict)
    overdue: bool = False

    @property
    def meets(self) -> bool:
        return self.record is not None and not self.overdue and not any(self.gaps.values())


def status_of(user: User, kind: CompetenceKind, qualifications: Iterable[Qualification], on: date | None = None) -> CompetenceStatus:
    """The status the people page shows: meets, what is missing, or overdue for review."""
    now = today()
    day = on or now
    record = record_of(user, kind)
    gaps = {q.code: gaps_of(record, kind, need, day, now)
            for q in qualifications if (need := requirement(q, kind)) is not None}
    return CompetenceStatus(kind=kind, record=record, gaps=gaps,
                            overdue=record is not None and record.review_due < day)


def qualifications_of(institution: Institution) -> list[Qualification]:
    """The qualifications validated at the institution: its own and its certifying institution's."""
    seen: dict[int, Qualification] = {}
    for qualification in [*institution.qualifications, *institution.certifying.qualifications]:
        seen.setdefault(qualification.id, qualification)
    return sorted(seen.values(), key=lambda q: q.code)


# --------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class Evidence:
    """An uploaded evidence file whose content has been checked."""

    name: str
    mimetype: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def read_evidence(filename: str | None, data: bytes) -> Evidence:
    """Check an uploaded file: a PDF, JPEG or PNG (by its content) no larger than the limit."""
    if not data:
        raise CompetenceError(_("The file is empty: choose the scanned document again."), "evidence")
    if len(data) > MAX_EVIDENCE_BYTES:
        raise CompetenceError(_("The file is larger than %(limit)s MB: scan it at a lower resolution or as a PDF.",
                                limit=MAX_EVIDENCE_BYTES // (1024 * 1024)), "evidence")
    kind = next(((mimetype, suffix) for magic, mimetype, suffix in EVIDENCE_SIGNATURES if data.startswith(magic)), None)
    if kind is None:
        raise CompetenceError(_("Attach the evidence as a PDF, JPEG or PNG file."), "evidence")
    mimetype, suffix = kind
    # Only the last part of the name a browser sends (some send the whole path), printable, short.
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"\\/').strip()[:120]
    if not name.lower().endswith(suffix) and not (suffix == ".jpg" and name.lower().endswith(".jpeg")):
        name = (name or "dowod") + suffix
    return Evidence(name=name, mimetype=mimetype, data=data)


def _months(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SUPERVISION_MONTHS:
        raise CompetenceError(_("Enter a whole number of months from 0 to %(max)s (5 years are 60 months).",
                                max=MAX_SUPERVISION_MONTHS), "crm_supervision_months")
    return int(value)


def _review_due(value: Any) -> date:
    now = today()
    if not isinstance(value, date):
        raise CompetenceError(_("Enter the review date as YYYY-MM-DD."), "review_due")
    if value < now:
        raise CompetenceError(_("The review date %(date)s has passed: give a date from today on.", date=_day(value)),
                              "review_due")
    latest = add_years(now, MAX_REVIEW_YEARS)
    if value > latest:
        raise CompetenceError(_("Review the record at least every %(years)s years: give a date by %(date)s.",
                                years=MAX_REVIEW_YEARS, date=_day(latest)), "review_due")
    return value


def save_record(actor: User, institution: Institution, user: User, kind: CompetenceKind, data: Mapping[str, Any],
                evidence: Evidence | None) -> CompetenceRecord:
    """Record (or replace) ``user``'s competence as ``kind``, verified by ``actor`` for ``institution``.

    The person must hold the role at the institution. A first record needs its evidence; a later
    one keeps the earlier evidence unless a new file replaces it. Audited, the note as a digest.
    """
    if not user.has_role(ROLE_OF[kind], institution.id):
        raise CompetenceError(_("This person is not a %(kind)s of this institution: grant the role first.", kind=kind.label))
    try:
        education = Education(data.get("education"))
    except ValueError:
        raise CompetenceError(_("Choose the person's education from the list.")) from None
    months = _months(data.get("crm_supervision_months"))
    review_due = _review_due(data.get("review_due"))
    record = record_of(user, kind)
    if record is None and evidence is None:
        raise CompetenceError(_("Attach the evidence you checked (a diploma, a reference, a certificate)."), "evidence")
    before = snapshot(record, RECORD_FIELDS) if record is not None else None
    if record is None:
        # Added once every column is set: reading an expired attribute below would flush it half-made.
        record = CompetenceRecord(user_id=user.id, kind=kind)
    record.institution_id = institution.id
    record.education = education
    record.crm_supervision_months = months
    record.computer_skills = bool(data.get("computer_skills"))
    record.troubleshooting_skills = bool(data.get("troubleshooting_skills"))
    record.note = (data.get("note") or "").strip() or None
    record.review_due = review_due
    record.verified_by_id = actor.id
    record.verified_at = utcnow()
    if evidence is not None:
        record.evidence_name, record.evidence_mimetype = evidence.name, evidence.mimetype
        record.evidence, record.evidence_sha256 = evidence.data, evidence.sha256
    db.session.add(record)
    audit_log.record("competence.updated" if before else "competence.recorded", record, before=before,
                     after={**snapshot(record, RECORD_FIELDS), "note": record.note}, institution_id=institution.id)
    db.session.commit()
    return record
