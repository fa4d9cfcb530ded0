"""Where each candidate of a session stands, on one page for the institution's staff, and what
staff do with the candidates they tick there (a message, a CSV export).

Every part is read from the records the other areas keep (applications, theory and practical
attempts, the committee's scoresheets and decision, certificates), one grouped query per kind of
record: the page asks the same number of queries for 5 candidates as for 200.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import joinedload

from ..audit import services as audit_log
from ..certification import rules as certification_rules
from ..extensions import db
from ..i18n import percent
from ..mail.services import queue_template
from ..models import (
    Application,
    AttemptStatus,
    Certificate,
    CertificateStatus,
    Criterion,
    CriterionScore,
    Enrolment,
    EnrolmentStatus,
    PracticalAttempt,
    PracticalStatus,
    Scoresheet,
    TheoryAttempt,
    User,
    ValidationDecision,
    ValidationSession,
)
from ..theory.statistics import safe_cell


def _(text: str, **values: Any) -> str:
    """gettext, typed (Flask-Babel ships no type information)."""
    return str(gettext(text, **values))


#: The stages of the process, in order; a candidate is at the furthest one reached.
STAGES: dict[str, Any] = {
    "applied": _l("applied"),
    "accepted": _l("accepted (enrolled)"),
    "theory": _l("theory test"),
    "practical": _l("practical exam"),
    "interview": _l("interview"),
    "decided": _l("decided"),
    "certified": _l("certified"),
    "withdrawn": _l("withdrawn from the session"),
}

THEORY_STATES: dict[str, Any] = {
    "not_started": _l("not started"), "in_progress": _l("in progress"), "submitted": _l("submitted"),
    "recognised": _l("recognised from an earlier session"),
}
PRACTICAL_STATES: dict[str, Any] = {
    "not_started": _l("not started"), "running": _l("running"), "submitted": _l("submitted"), "absent": _l("absent"),
    "not_admitted": _l("not admitted (theory test failed)"),
}
STARTED_THEORY = (AttemptStatus.IN_PROGRESS, AttemptStatus.PAUSED)
MAX_SUBJECT, MAX_BODY = 200, 5000


class ProgressRuleError(ValueError):
    """An action on the ticked candidates was refused; the message says why (translated)."""


@dataclass(frozen=True)
class Theory:
    state: str
    passed: bool | None = None
    percent: float | None = None

    @property
    def label(self) -> str:
        return str(THEORY_STATES[self.state])


@dataclass(frozen=True)
class CertificateFacts:
    number: str
    status: CertificateStatus


@dataclass(frozen=True)
class ProgressRow:
    """One candidate of the session: their application and enrolment (either may be missing) and
    the state of each part."""

    candidate: User
    enrolment: Enrolment | None
    application: Application | None
    theory: Theory | None
    practical: str | None
    interview_sheets: int
    positive: bool | None
    certificate: CertificateFacts | None

    @property
    def stage(self) -> str:
        if self.enrolment is None:
            return "applied"
        if self.enrolment.status == EnrolmentStatus.WITHDRAWN:
            return "withdrawn"
        if self.certificate is not None:
            return "certified"
        if self.positive is not None:
            return "decided"
        if self.interview_sheets:
            return "interview"
        if self.practical not in (None, "not_started"):
            return "practical"
        if self.theory is not None and self.theory.state != "not_started":
            return "theory"
        return "accepted"

    @property
    def stage_label(self) -> str:
        return str(STAGES[self.stage])

    @property
    def practical_label(self) -> str:
        return str(PRACTICAL_STATES[self.practical]) if self.practical else ""


def _latest_applications(session: ValidationSession) -> dict[int, Application]:
    """The newest application of each candidate of the session (by candidate id).

    Read defensively: only the status, the candidate and the enrolment an accepted application led to.
    """
    rows = db.session.scalars(select(Application).where(Application.session_id == session.id)
                              .options(joinedload(Application.candidate)).order_by(Application.id))
    return {application.candidate_id: application for application in rows}


def _theory(enrolment_ids: Any) -> dict[int, Theory]:
    found = {}
    for enrolment_id, status, passed, score in db.session.execute(
            select(TheoryAttempt.enrolment_id, TheoryAttempt.status, TheoryAttempt.passed, TheoryAttempt.score_percent)
            .where(TheoryAttempt.enrolment_id.in_(enrolment_ids))):
        if status == AttemptStatus.SUBMITTED:
            found[enrolment_id] = Theory("submitted", passed, score)
        elif status in STARTED_THEORY:
            found[enrolment_id] = Theory("in_progress")
        else:
            found[enrolment_id] = Theory("not_started")
    return found


def _released_failures(enrolment_ids: Any) -> set[int]:
    """Enrolments whose released theory result is a fail (they are not admitted to the practical part)."""
    return set(db.session.scalars(select(TheoryAttempt.enrolment_id).where(
        TheoryAttempt.enrolment_id.in_(enrolment_ids), TheoryAttempt.released_at.is_not(None),
        TheoryAttempt.passed.is_(False))))


def _practical(session: ValidationSession, enrolments: Sequence[Enrolment], enrolment_ids: Any) -> dict[int, str]:
    """The practical part of each enrolment, as committee.services.practical_state reads it (in bulk)."""
    attempts = dict(db.session.execute(select(PracticalAttempt.enrolment_id, PracticalAttempt.status)
                                       .where(PracticalAttempt.enrolment_id.in_(enrolment_ids))).all())
    required = session.qualification.rules.theory_required_for_practical
    failed = _released_failures(enrolment_ids) if required else set()
    states = {}
    for enrolment in enrolments:
        status = attempts.get(enrolment.id)
        if status is not None:
            states[enrolment.id] = "running" if status == PracticalStatus.IN_PROGRESS else "submitted"
        elif enrolment.absent_from_practical:
            states[enrolment.id] = "absent"
        elif enrolment.id in failed:
            states[enrolment.id] = "not_admitted"
        else:
            states[enrolment.id] = "not_started"
    return states


def _interview_sheets(enrolment_ids: Any) -> dict[int, int]:
    """How many members submitted a scoresheet that scores an interview criterion, by enrolment."""
    return dict(db.session.execute(
        select(Scoresheet.enrolment_id, func.count(distinct(Scoresheet.id)))
        .join(CriterionScore, CriterionScore.scoresheet_id == Scoresheet.id)
        .join(Criterion, Criterion.id == CriterionScore.criterion_id)
        .where(Scoresheet.enrolment_id.in_(enrolment_ids), Scoresheet.submitted_at.is_not(None),
               Criterion.method == "interview", CriterionScore.met.is_not(None))
        .group_by(Scoresheet.enrolment_id)).all())


def _certificates(enrolment_ids: Any) -> dict[int, CertificateFacts]:
    """The newest certificate of each enrolment (a corrected one replaces the first), without its PDF."""
    day = certification_rules.today()
    found = {}
    for enrolment_id, number, state, valid_until in db.session.execute(
            select(Certificate.enrolment_id, Certificate.number, Certificate.state, Certificate.valid_until)
            .where(Certificate.enrolment_id.in_(enrolment_ids)).order_by(Certificate.id)):
        expired = state not in (CertificateStatus.REVOKED, CertificateStatus.SUPERSEDED) and day > valid_until
        found[enrolment_id] = CertificateFacts(number, CertificateStatus.EXPIRED if expired else state)
    return found


def progress_rows(session: ValidationSession) -> list[ProgressRow]:
    """Every candidate of the session (enrolled, withdrawn, or only applied), by name, with where
    they stand; a constant number of queries whatever the number of candidates."""
    enrolments = list(db.session.scalars(select(Enrolment).where(Enrolment.session_id == session.id)
                                         .options(joinedload(Enrolment.candidate)).order_by(Enrolment.id)))
    ids = select(Enrolment.id).where(Enrolment.session_id == session.id).scalar_subquery()
    applications = _latest_applications(session)
    by_enrolment = {a.enrolment_id: a for a in applications.values() if a.enrolment_id is not None}
    theory = _theory(ids)
    practical = _practical(session, enrolments, ids)
    interview = _interview_sheets(ids)
    decisions = dict(db.session.execute(select(ValidationDecision.enrolment_id, ValidationDecision.positive)
                                        .where(ValidationDecision.enrolment_id.in_(ids))).all())
    certificates = _certificates(ids)
    rows = []
    enrolled = set()
    for enrolment in enrolments:
        enrolled.add(enrolment.candidate_id)
        recognised = enrolment.theory_recognized_from_id is not None
        rows.append(ProgressRow(
            candidate=enrolment.candidate, enrolment=enrolment,
            application=by_enrolment.get(enrolment.id) or applications.get(enrolment.candidate_id),
            theory=Theory("recognised") if recognised else theory.get(enrolment.id, Theory("not_started")),
            practical=practical[enrolment.id], interview_sheets=interview.get(enrolment.id, 0),
            positive=decisions.get(enrolment.id), certificate=certificates.get(enrolment.id)))
    for candidate_id, application in applications.items():
        if candidate_id not in enrolled:
            rows.append(ProgressRow(candidate=application.candidate, enrolment=None, application=application, theory=None,
                                    practical=None, interview_sheets=0, positive=None, certificate=None))
    return sorted(rows, key=lambda r: (r.candidate.last_name.casefold(), r.candidate.first_name.casefold(), r.candidate.id))


def stage_counts(rows: Iterable[ProgressRow]) -> dict[str, int]:
    """How many candidates are at each stage (every stage, zero included)."""
    counts = dict.fromkeys(STAGES, 0)
    for row in rows:
        counts[row.stage] += 1
    return counts


def _chosen(rows: Sequence[ProgressRow], candidate_ids: Iterable[int]) -> list[ProgressRow]:
    wanted = set(candidate_ids)
    chosen = [row for row in rows if row.candidate.id in wanted]
    if not chosen or len(chosen) != len(wanted):
        raise ProgressRuleError(_("Choose at least one candidate of this session from the list."))
    return chosen


def _application_label(row: ProgressRow) -> str:
    if row.application is None:
        return _("enrolled by the institution") if row.enrolment is not None else ""
    return str(row.application.status.label)


def _decision_label(row: ProgressRow) -> str:
    if row.positive is None:
        return ""
    return _("positive") if row.positive else _("negative")


def _theory_label(row: ProgressRow) -> str:
    if row.theory is None:
        return ""
    if row.theory.state == "submitted" and row.theory.percent is not None:
        verdict = _("passed") if row.theory.passed else (_("not passed") if row.theory.passed is False else _("not scored yet"))
        return f"{row.theory.label}: {percent(row.theory.percent, 1)} ({verdict})"
    return row.theory.label


def _interview_label(row: ProgressRow) -> str:
    if row.enrolment is None:
        return ""
    if row.interview_sheets:
        return _("scored by %(n)d member(s)", n=row.interview_sheets)
    return _("not scored yet")


def export_csv(actor: User, session: ValidationSession, candidate_ids: Iterable[int]) -> str:
    """The ticked candidates' progress as CSV (semicolons, UTF-8 with BOM; every text cell
    formula-safe). Audited with the number of candidates only."""
    chosen = _chosen(progress_rows(session), candidate_ids)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL)
    writer.writerow([_("First name"), _("Last name"), _("E-mail"), _("Stage"), _("Application"), _("Theory test"),
                     _("Practical exam"), _("Interview"), _("Validation decision"), _("Certificate")])
    for row in chosen:
        writer.writerow([safe_cell(row.candidate.first_name), safe_cell(row.candidate.last_name), safe_cell(row.candidate.email),
                         safe_cell(row.stage_label), safe_cell(_application_label(row)), safe_cell(_theory_label(row)),
                         safe_cell(row.practical_label), safe_cell(_interview_label(row)), safe_cell(_decision_label(row)),
                         safe_cell(row.certificate.number if row.certificate else "")])
    audit_log.record("session.progress_exported", session, after={"count": len(chosen)}, actor=actor,
                     institution_id=session.institution_id)
    db.session.commit()
    return "\ufeff" + out.getvalue()


def message_candidates(actor: User, session: ValidationSession, candidate_ids: Iterable[int], subject: str | None,
                       body: str | None) -> int:
    """Mail the ticked candidates of the session (through the outbox, each in their own language
    around the staff's text); returns how many. Audited with the number of recipients only: the
    text may name anyone."""
    subject = " ".join((subject or "").split())  # one line: a header cannot hold a line break
    body = (body or "").strip()
    if not subject:
        raise ProgressRuleError(_("Write the subject of the message."))
    if not body:
        raise ProgressRuleError(_("Write the message."))
    if len(subject) > MAX_SUBJECT or len(body) > MAX_BODY:
        raise ProgressRuleError(_("The subject may have at most %(subject)d characters and the message %(body)d.",
                                  subject=MAX_SUBJECT, body=MAX_BODY))
    chosen = _chosen(progress_rows(session), candidate_ids)
    for row in chosen:
        with force_locale(row.candidate.locale or "pl"):
            queue_template(row.candidate, subject, "session_message", session=session, body=body)
    audit_log.record("session.candidates_messaged", session, after={"count": len(chosen)}, actor=actor,
                     institution_id=session.institution_id)
    db.session.commit()
    return len(chosen)
