"""The internal evaluation of one qualification (art. 64 of the ZSK act: at least every three years).

:func:`compute_figures` gathers, for one institution (with its validating institutions when it is
a certifying one), one qualification and the validation sessions that started within a period
(Europe/Warsaw days), what the evaluators judge: candidates and pass rates, item statistics and
the theory rule's error rates, the agreement between assessors and between the automatic evidence
checks and the committee, appeals, complaints and incidents. The result is plain JSON, stored in
:attr:`EvaluationReport.figures` when the report is made, so the document never drifts when later
data arrives. People appear in it by id only, and no free text is copied into it.

:func:`cohens_kappa` and :func:`due_status` are pure and unit-tested without a database.
"""
from __future__ import annotations

import statistics as stats
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import combinations
from typing import Any, cast

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select

from sandbox_crm import api as sandbox_api

from ..audit import services as audit_log
from ..certification.rules import WARSAW, add_years
from ..certification.rules import today as warsaw_today
from ..committee import services as committee
from ..committee.corrections import standing_positive
from ..extensions import db
from ..models import (
    Appeal,
    AppealStatus,
    AttemptStatus,
    Complaint,
    ComplaintStatus,
    Criterion,
    CriterionResult,
    CriterionScore,
    Enrolment,
    EnrolmentStatus,
    EvaluationReport,
    Institution,
    OperatorAction,
    OperatorActionKind,
    PracticalAttempt,
    Qualification,
    Scoresheet,
    TheoryAttempt,
    User,
    ValidationDecision,
    ValidationSession,
    utcnow,
)
from ..practical.services import PracticalError, attempt_scenario
from ..theory import reliability as theory_reliability
from ..theory import services as theory
from ..theory.draw import DrawError
from ..theory.statistics import MIN_RESPONSES

#: Art. 64: an internal evaluation at least every three years per qualification.
EVALUATION_YEARS = 3
#: The simulation ``flask theory reliability`` runs by default (its --forms and --trials).
RELIABILITY_FORMS, RELIABILITY_TRIALS = 100, 4000
#: The shape of :attr:`EvaluationReport.figures` (a page reading an older shape can tell).
FIGURES_VERSION = 1


def _(text: str, **values: Any) -> str:
    """gettext, typed (Flask-Babel ships no type information)."""
    return str(gettext(text, **values))


class EvaluationError(ValueError):
    """A rule of the evaluation refused the action; the message (translated) says why."""


# --------------------------------------------------------------------------- pure rules


def cohens_kappa(pairs: Sequence[tuple[bool, bool]]) -> float | None:
    """Cohen's kappa of two raters' met / not-met verdicts, one (first, second) pair per case.

    None when it is undefined: no pairs, or both raters gave every case the same one category
    (the agreement expected by chance is then 1, and kappa is 0/0).
    """
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(1 for a, b in pairs if a == b) / n
    first_met = sum(1 for a, _b in pairs if a) / n
    second_met = sum(1 for _a, b in pairs if b) / n
    expected = first_met * second_met + (1 - first_met) * (1 - second_met)
    if expected >= 1:
        return None
    return (observed - expected) / (1 - expected)


@dataclass(frozen=True)
class DueStatus:
    """When the last evaluation was completed and when the next one is due."""

    last_made: date | None
    next_due: date | None
    state: str  # "never" (none completed), "overdue" (past next_due) or "ok"


def due_status(last_completed_at: datetime | None, today: date) -> DueStatus:
    """The next evaluation is due three years after the last completed one (its Warsaw day)."""
    if last_completed_at is None:
        return DueStatus(None, None, "never")
    made = last_completed_at.astimezone(WARSAW).date()
    due = add_years(made, EVALUATION_YEARS)
    return DueStatus(made, due, "overdue" if today > due else "ok")


def local_day(moment: datetime) -> date:
    return moment.astimezone(WARSAW).date()


def days_between(start: datetime, end: datetime) -> int:
    """Calendar days (Europe/Warsaw) from ``start`` to ``end``."""
    return (local_day(end) - local_day(start)).days


def duration_summary(days: Sequence[int]) -> dict[str, Any]:
    return {"count": len(days), "median_days": stats.median(days) if days else None,
            "max_days": max(days) if days else None}


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def period_problem(period_from: date | None, period_to: date | None, today: date) -> str | None:
    """Why a period cannot be evaluated (translated), or None."""
    if period_from is None or period_to is None:
        return _("Enter both days of the period.")
    if period_from > period_to:
        return _("The period must start on or before its last day.")
    if period_to > today:
        return _("The period cannot end in the future: its last day may be today at the latest.")
    return None


# --------------------------------------------------------------------------- scope


def institutions_covered(institution: Institution) -> list[int]:
    """The institution and, for a certifying one, its validating institutions."""
    return [institution.id, *(child.id for child in institution.children)]


def _bounds(period_from: date, period_to: date) -> tuple[datetime, datetime]:
    """The period's first moment and the moment after its last day, Europe/Warsaw."""
    return (datetime.combine(period_from, time.min, WARSAW),
            datetime.combine(period_to + timedelta(days=1), time.min, WARSAW))


def sessions_in(institution_ids: Iterable[int], qualification_id: int, period_from: date,
                period_to: date) -> list[ValidationSession]:
    """Validation sessions of the qualification at those institutions that started within the period."""
    start, end = _bounds(period_from, period_to)
    return list(db.session.scalars(
        select(ValidationSession).where(ValidationSession.institution_id.in_(list(institution_ids)),
                                        ValidationSession.qualification_id == qualification_id,
                                        ValidationSession.starts_at >= start, ValidationSession.starts_at < end)
        .order_by(ValidationSession.starts_at, ValidationSession.id)))


def authorised(institution: Institution) -> list[Qualification]:
    """The qualifications the institution is authorised for (a validating one: as its certifying one)."""
    found = {q.id: q for q in [*institution.qualifications, *institution.certifying.qualifications]}
    return sorted(found.values(), key=lambda q: q.code)


def ordered_criteria(qualification: Qualification) -> list[Criterion]:
    return [c for s in qualification.outcome_sets for o in s.outcomes for c in o.criteria]


# --------------------------------------------------------------------------- the figures


def _candidates(enrolments: list[Enrolment]) -> dict[str, Any]:
    ids = [e.id for e in enrolments if e.status == EnrolmentStatus.ENROLLED]
    sat_theory = set(db.session.scalars(select(TheoryAttempt.enrolment_id).where(
        TheoryAttempt.enrolment_id.in_(ids), TheoryAttempt.status == AttemptStatus.SUBMITTED)))
    sat_practical = set(db.session.scalars(select(PracticalAttempt.enrolment_id).where(
        PracticalAttempt.enrolment_id.in_(ids), PracticalAttempt.finished_at.is_not(None))))
    decisions = list(db.session.scalars(select(ValidationDecision).where(ValidationDecision.enrolment_id.in_(ids))))
    return {"enrolled": len(ids), "withdrawn": sum(1 for e in enrolments if e.status == EnrolmentStatus.WITHDRAWN),
            "sat_theory": len(sat_theory), "sat_practical": len(sat_practical), "decided": len(decisions),
            "positive": sum(1 for d in decisions if standing_positive(d))}


def _parts_and_criteria(enrolment_ids: list[int], criteria: list[Criterion]) -> tuple[list[dict[str, Any]],
                                                                                         list[dict[str, Any]]]:
    """Pass rates of the theory part (its scored attempts), of each part the committee assesses
    (a candidate passes it when every criterion of its method was recorded as met) and per criterion."""
    attempts = list(db.session.scalars(select(TheoryAttempt).where(
        TheoryAttempt.enrolment_id.in_(enrolment_ids), TheoryAttempt.status == AttemptStatus.SUBMITTED,
        TheoryAttempt.passed.is_not(None))))
    theory_passed = sum(1 for a in attempts if a.passed)
    parts = [{"part": "theory", "method": "test", "assessed": len(attempts), "passed": theory_passed,
              "rate": share(theory_passed, len(attempts))}]
    results: dict[int, dict[int, bool]] = defaultdict(dict)  # enrolment -> criterion -> met
    for row in db.session.scalars(select(CriterionResult).where(CriterionResult.enrolment_id.in_(enrolment_ids))):
        results[row.enrolment_id][row.criterion_id] = row.met
    for method in ("simulation", "interview"):
        ids = [c.id for c in criteria if c.method == method]
        if not ids:
            continue
        complete = [r for r in results.values() if all(i in r for i in ids)]
        passed = sum(1 for r in complete if all(r[i] for i in ids))
        parts.append({"part": "practical" if method == "simulation" else "interview", "method": method,
                      "assessed": len(complete), "passed": passed, "rate": share(passed, len(complete))})
    rows = []
    for criterion in criteria:
        verdicts = [r[criterion.id] for r in results.values() if criterion.id in r]
        met = sum(1 for v in verdicts if v)
        rows.append({"code": criterion.code, "method": criterion.method, "results": len(verdicts), "met": met,
                     "rate": share(met, len(verdicts))})
    return parts, rows


def _items(session_ids: list[int]) -> dict[str, Any]:
    """Item statistics of the submitted attempts of the sessions (theory.statistics.compute)."""
    items = [{"item_id": s.item_id, "responses": s.responses, "facility": s.facility,
              "discrimination": s.discrimination, "flags": list(s.flags)} for s in theory.item_statistics_of(session_ids)]
    return {"min_responses": MIN_RESPONSES, "count": len(items), "items": items,
            "flagged": [i for i in items if i["flags"]]}


def _reliability(qualification: Qualification, forms: int, trials: int) -> dict[str, Any]:
    """The theory rule's error rates as ``flask theory reliability`` reports them."""
    settings = qualification.rules.theory
    figures: dict[str, Any] = {
        "competent": theory_reliability.COMPETENT, "weak": theory_reliability.WEAK,
        "competent_min_pass": theory_reliability.COMPETENT_MIN_PASS, "weak_max_pass": theory_reliability.WEAK_MAX_PASS,
        "item_count": settings.item_count, "pass_mark_percent": settings.pass_mark_percent,
        "decision_rule": settings.decision_rule, "forms": forms, "trials": trials,
    }
    try:
        probabilities = theory.reliability(qualification, forms=forms, trials=trials)
    except DrawError:
        return figures | {"computed": False}
    competent, weak = probabilities[theory_reliability.COMPETENT], probabilities[theory_reliability.WEAK]
    return figures | {
        "computed": True, "p_competent": competent, "p_weak": weak,
        # A competent candidate failed, a weak one passed: the rule's two errors.
        "false_fail": 1 - competent, "false_pass": weak,
        "goal_met": competent >= theory_reliability.COMPETENT_MIN_PASS and weak <= theory_reliability.WEAK_MAX_PASS,
    }


def _agreement(enrolment_ids: list[int], criteria: list[Criterion]) -> list[dict[str, Any]]:
    """Cohen's kappa per criterion over the submitted blind scores: for every candidate, each pair
    of members who both gave a met / not-met verdict is one pair.

    Committees change from session to session, so "the first rater" of a pair is nobody in
    particular: each pair is counted in both orders, which makes the chance agreement use the
    pooled share of "met" verdicts (kappa then equals Scott's pi for two ratings per case) and the
    figure independent of which member happens to have the lower id."""
    verdicts: dict[tuple[int, int], list[tuple[int, bool]]] = defaultdict(list)  # (enrolment, criterion) -> (member, met)
    query = (select(Scoresheet.enrolment_id, Scoresheet.member_id, CriterionScore.criterion_id, CriterionScore.met)
             .join(CriterionScore, CriterionScore.scoresheet_id == Scoresheet.id)
             .where(Scoresheet.enrolment_id.in_(enrolment_ids), Scoresheet.submitted_at.is_not(None),
                    CriterionScore.met.is_not(None)))
    result = cast("Iterable[tuple[int, int, int, bool]]", db.session.execute(query))
    for enrolment_id, member_id, criterion_id, met in result:
        verdicts[(enrolment_id, criterion_id)].append((member_id, met))
    rows = []
    for criterion in criteria:
        pairs = []
        for (_enrolment_id, criterion_id), scored in sorted(verdicts.items()):
            if criterion_id == criterion.id:
                pairs += [(a[1], b[1]) for a, b in combinations(sorted(scored), 2)]
        if not pairs:
            continue
        agreed = sum(1 for a, b in pairs if a == b)
        rows.append({"code": criterion.code, "method": criterion.method, "pairs": len(pairs), "agreed": agreed,
                     "agreement": share(agreed, len(pairs)),
                     "kappa": cohens_kappa(pairs + [(b, a) for a, b in pairs])})
    return rows


def _evidence(enrolments: list[Enrolment], criteria: list[Criterion]) -> dict[str, Any]:
    """The automatic evidence checks of each assessed practical attempt beside the committee's
    recorded result on the same simulation criterion."""
    simulation = {c.id: c.code for c in criteria if c.method == "simulation"}
    per_code: dict[str, dict[str, Any]] = {code: {"code": code, "compared": 0, "agreed": 0, "cant_tell": 0,
                                                  "disagreements": []} for code in simulation.values()}
    without_workspace = 0
    for enrolment in enrolments:
        recorded = {r.criterion_id: r.met for r in db.session.scalars(
            select(CriterionResult).where(CriterionResult.enrolment_id == enrolment.id,
                                          CriterionResult.criterion_id.in_(list(simulation))))}
        attempt = committee.practical_attempt(enrolment) if recorded else None
        if attempt is None:
            continue
        try:
            scenario = attempt_scenario(attempt)
        except PracticalError:
            scenario = None
        try:
            checks = sandbox_api.run_evidence_checks(
                attempt.workspace_id, key=scenario.key.check_data() if scenario is not None else None)
        except LookupError:  # the workspace is gone (a deleted sandbox): nothing to compare
            without_workspace += 1
            continue
        for criterion_id, met in sorted(recorded.items()):
            code = simulation[criterion_id]
            check = checks.get(code)
            if check is None:
                continue
            verdict = getattr(check.verdict, "value", check.verdict)
            row = per_code[code]
            if verdict == "cant_tell":
                row["cant_tell"] += 1
                continue
            row["compared"] += 1
            if (verdict == "met") == met:
                row["agreed"] += 1
            else:
                row["disagreements"].append({"enrolment_id": enrolment.id, "check": verdict,
                                             "committee": "met" if met else "not_met"})
    rows = [r | {"share": share(r["agreed"], r["compared"])} for r in per_code.values()
            if r["compared"] or r["cant_tell"]]
    compared, agreed = sum(r["compared"] for r in rows), sum(r["agreed"] for r in rows)
    return {"compared": compared, "agreed": agreed, "share": share(agreed, compared),
            "cant_tell": sum(r["cant_tell"] for r in rows), "without_workspace": without_workspace, "criteria": rows}


def _appeals(enrolment_ids: set[int], period_from: date, period_to: date) -> dict[str, Any]:
    """Appeals filed within the period about the validations (or certificates) of the sessions
    evaluated: outcomes, remedies and the days from filing to the panel's decision."""
    start, end = _bounds(period_from, period_to)
    appeals = [a for a in db.session.scalars(
        select(Appeal).where(Appeal.filed_at >= start, Appeal.filed_at < end)
        .order_by(Appeal.filed_at, Appeal.id))
        if (a.enrolment_id in enrolment_ids
            or (a.certificate is not None and a.certificate.enrolment_id in enrolment_ids))]
    rows: list[dict[str, Any]] = []
    for appeal in appeals:
        days = days_between(appeal.filed_at, appeal.decided_at) if appeal.decided_at is not None else None
        rows.append({"id": appeal.id, "filed_on": local_day(appeal.filed_at).isoformat(),
                     "subject": appeal.subject.value, "status": appeal.status.value, "remedy": appeal.remedy.value,
                     "days": days})
    decided = [r["days"] for r in rows if r["days"] is not None]
    return {"count": len(rows), "by_status": dict(Counter(r["status"] for r in rows)),
            "upheld": sum(1 for a in appeals if a.status == AppealStatus.UPHELD),
            "dismissed": sum(1 for a in appeals if a.status == AppealStatus.DISMISSED),
            "durations": duration_summary(decided), "rows": rows}


def _complaints(institution_ids: list[int], period_from: date, period_to: date) -> dict[str, Any]:
    """Complaints about the institutions filed within the period (about their conduct, not one
    qualification): their state and the days from filing to closing."""
    start, end = _bounds(period_from, period_to)
    complaints = list(db.session.scalars(
        select(Complaint).where(Complaint.institution_id.in_(institution_ids), Complaint.filed_at >= start,
                                Complaint.filed_at < end).order_by(Complaint.filed_at, Complaint.id)))
    rows: list[dict[str, Any]] = [
        {"id": c.id, "filed_on": local_day(c.filed_at).isoformat(), "status": c.status.value,
         "days": days_between(c.filed_at, c.closed_at) if c.closed_at is not None else None} for c in complaints]
    return {"count": len(rows), "closed": sum(1 for c in complaints if c.status == ComplaintStatus.CLOSED),
            "by_status": dict(Counter(r["status"] for r in rows)),
            "durations": duration_summary([r["days"] for r in rows if r["days"] is not None]), "rows": rows}


def _incidents(sessions: list[ValidationSession]) -> dict[str, Any]:
    """Incidents the operators recorded in the sessions, on the theory test or the practical exam
    (the reasons stay in the session record: they may name people)."""
    titles = {s.id: s.title for s in sessions}
    actions = list(db.session.scalars(
        select(OperatorAction).where(OperatorAction.session_id.in_(list(titles)),
                                     OperatorAction.kind == OperatorActionKind.INCIDENT)
        .order_by(OperatorAction.at, OperatorAction.id)))
    rows = [{"id": a.id, "on": local_day(a.at).isoformat(), "session_id": a.session_id,
             "session": titles[a.session_id], "part": "practical" if a.practical_attempt_id is not None else "theory"}
            for a in actions]
    return {"count": len(rows), "theory": sum(1 for r in rows if r["part"] == "theory"),
            "practical": sum(1 for r in rows if r["part"] == "practical"), "rows": rows}


def compute_figures(institution: Institution, qualification: Qualification, period_from: date, period_to: date,
                    *, reliability_forms: int = RELIABILITY_FORMS,
                    reliability_trials: int = RELIABILITY_TRIALS) -> dict[str, Any]:
    """Every figure of the evaluation, as JSON-able data (see the module's docstring)."""
    institution_ids = institutions_covered(institution)
    sessions = sessions_in(institution_ids, qualification.id, period_from, period_to)
    session_ids = [s.id for s in sessions]
    enrolments = list(db.session.scalars(select(Enrolment).where(Enrolment.session_id.in_(session_ids))
                                         .order_by(Enrolment.id)))
    enrolled = [e for e in enrolments if e.status == EnrolmentStatus.ENROLLED]
    enrolled_ids = [e.id for e in enrolled]
    criteria = ordered_criteria(qualification)
    parts, per_criterion = _parts_and_criteria(enrolled_ids, criteria)
    return {
        "version": FIGURES_VERSION,
        "computed_at": utcnow().isoformat(),
        "institution_ids": institution_ids,
        "sessions": [{"id": s.id, "title": s.title, "starts_on": local_day(s.starts_at).isoformat(),
                      "institution_id": s.institution_id} for s in sessions],
        "candidates": _candidates(enrolments),
        "parts": parts,
        "criteria": per_criterion,
        "items": _items(session_ids),
        "reliability": _reliability(qualification, reliability_forms, reliability_trials),
        "agreement": _agreement(enrolled_ids, criteria),
        "evidence": _evidence(enrolled, criteria),
        "appeals": _appeals({e.id for e in enrolments}, period_from, period_to),
        "complaints": _complaints(institution_ids, period_from, period_to),
        "incidents": _incidents(sessions),
    }


# --------------------------------------------------------------------------- the report


def make_report(user: User, institution: Institution, qualification: Qualification, period_from: date,
                period_to: date) -> EvaluationReport:
    """Compute the figures and store them in a new (draft) report; audited."""
    problem = period_problem(period_from, period_to, warsaw_today())
    if problem:
        raise EvaluationError(problem)
    if qualification not in authorised(institution):
        raise EvaluationError(_("The institution is not authorised for this qualification."))
    report = EvaluationReport(institution_id=institution.id, qualification_id=qualification.id,
                              period_from=period_from, period_to=period_to, made_by_id=user.id,
                              figures=compute_figures(
                                  institution, qualification, period_from, period_to,
                                  # The command's simulation; a test may ask for a shorter one.
                                  reliability_forms=int(current_app.config.get("EVALUATION_RELIABILITY_FORMS",
                                                                               RELIABILITY_FORMS)),
                                  reliability_trials=int(current_app.config.get("EVALUATION_RELIABILITY_TRIALS",
                                                                                RELIABILITY_TRIALS))))
    db.session.add(report)
    audit_log.record("evaluation.made", report, actor=user, institution_id=institution.id, after={
        "institution_id": institution.id, "qualification_id": qualification.id,
        "period_from": period_from, "period_to": period_to})
    db.session.commit()
    return report


def save_conclusions(user: User, report: EvaluationReport, conclusions: str, actions: str,
                     complete: bool) -> EvaluationReport:
    """Save the evaluators' conclusions and actions; ``complete`` signs the report off (both must
    be filled), after which nothing changes. Audited (ids only: the texts stay in the report)."""
    if report.completed_at is not None:
        raise EvaluationError(_("This evaluation is completed and can no longer be changed."))
    conclusions, actions = conclusions.strip(), actions.strip()
    if complete and not (conclusions and actions):
        raise EvaluationError(_("Fill in both the conclusions and the actions before completing the evaluation."))
    report.conclusions, report.actions = conclusions or None, actions or None
    if complete:
        report.completed_at = utcnow()
    audit_log.record("evaluation.completed" if complete else "evaluation.conclusions_saved", report, actor=user,
                     institution_id=report.institution_id,
                     after={"evaluation_id": report.id, "completed": complete})
    db.session.commit()
    return report


def last_completed(institution_id: int, qualification_id: int) -> EvaluationReport | None:
    return db.session.scalar(
        select(EvaluationReport).where(EvaluationReport.institution_id == institution_id,
                                       EvaluationReport.qualification_id == qualification_id,
                                       EvaluationReport.completed_at.is_not(None))
        .order_by(EvaluationReport.completed_at.desc(), EvaluationReport.id.desc()).limit(1))


@dataclass(frozen=True)
class DueRow:
    institution: Institution
    qualification: Qualification
    due: DueStatus


def due_rows(institution_ids: Iterable[int], today: date | None = None) -> list[DueRow]:
    """For each institution and each qualification it is authorised for: the last completed
    evaluation and when the next is due."""
    day = today or warsaw_today()
    institutions = db.session.scalars(select(Institution).where(Institution.id.in_(list(institution_ids)))
                                      .order_by(Institution.name))
    rows = []
    for institution in institutions:
        for qualification in authorised(institution):
            last = last_completed(institution.id, qualification.id)
            rows.append(DueRow(institution, qualification,
                               due_status(last.completed_at if last is not None else None, day)))
    return rows
