"""Rules of the practical exam: scenarios, eligibility, assignment, the server-side clock, access.

The candidate works in a sandbox CRM workspace created from the assigned scenario's seed; the
workspace is reached only through ``sandbox_crm.api``. The pure parts (``assign_scenario``,
``seconds_left``, ``replay_rows``) take plain data and are tested without a request; the rest
read and write the database and commit.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.routing import BuildError

from question_bank.scenarios import SCENARIOS_DIR, Scenario, ScenarioError, load_scenarios
from sandbox_crm import api as sandbox_api

from ..audit import services as audit_log
from ..extensions import db
from ..models import (
    AttemptStatus,
    Enrolment,
    EnrolmentStatus,
    PracticalAttempt,
    PracticalStatus,
    PracticeWorkspace,
    Qualification,
    SessionStatus,
    TheoryAttempt,
    User,
    utcnow,
)

ATTEMPT_FIELDS = ("status", "scenario_code", "workspace_id", "started_at", "deadline_at", "finished_at")


def owner_ref(user) -> str:
    """How the sandbox refers to one of our users."""
    return f"user:{user.id}"


class PracticalError(ValueError):
    """A rule of the practical exam refused the request; the message (translated) says why and what to do."""


# --------------------------------------------------------------------------- scenarios


def _criteria_methods(qualification: Qualification) -> dict[str, str]:
    return {c.code: c.method for s in qualification.outcome_sets for o in s.outcomes for c in o.criteria}


@functools.lru_cache(maxsize=16)
def _load_cached(directory: str, stamp: tuple, qualification: str, criteria: tuple, sections: tuple) -> dict:
    # ``stamp`` (file names, sizes and modification times) is part of the key, so an edited
    # file is read again; the cache only saves re-parsing unchanged files shipped with the code.
    return load_scenarios(directory, qualification=qualification, criteria_methods=dict(criteria),
                          seed_sections=sections)


def scenario_catalogue(qualification: Qualification) -> dict[str, Scenario]:
    """Every scenario of the qualification, checked against its criteria and the sandbox's seeders."""
    directory = Path(current_app.config.get("PRACTICAL_SCENARIOS_DIR") or SCENARIOS_DIR)
    stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(directory.glob("*.yaml")))
    try:
        return _load_cached(str(directory), stamp, qualification.code,
                            tuple(sorted(_criteria_methods(qualification).items())),
                            tuple(sorted(sandbox_api.seed_sections())))
    except ScenarioError as error:
        current_app.logger.error("practical scenarios unusable: %s", error)
        raise PracticalError(_("The practical scenarios cannot be used at the moment. Tell the institution.")) from error


def scenarios_for(qualification: Qualification, purpose: str) -> list[Scenario]:
    """The scenarios usable for ``purpose`` ("exam" or "practice"), by code."""
    return [s for code, s in sorted(scenario_catalogue(qualification).items()) if purpose in s.purposes]


def scenario_of(qualification: Qualification, code: str) -> Scenario | None:
    """The scenario ``code`` of the qualification, or ``None`` when it no longer exists."""
    return scenario_catalogue(qualification).get(code)


def assign_scenario(codes: Sequence[str], enrolment_ids: Sequence[int], enrolment_id: int, session_id: int) -> str:
    """The scenario for one candidate: round robin over the session's enrolments in id order.

    Candidates enrolled one after the other (and so usually seated side by side) get
    different scenarios; the session id shifts the start so that sessions differ too.
    Deterministic: the same enrolment always gets the same scenario.
    """
    ordered = sorted(codes)
    if not ordered:
        raise ValueError("no scenario to assign")
    position = sorted(enrolment_ids).index(enrolment_id)
    return ordered[(position + session_id) % len(ordered)]


# --------------------------------------------------------------------------- the attempt


def seconds_left(attempt: PracticalAttempt, now: datetime) -> int:
    """Whole seconds until the deadline (0 once it has passed or the attempt has ended)."""
    if not attempt.is_running:
        return 0
    return max(0, int((attempt.deadline_at - now).total_seconds()))


def attempt_for(enrolment: Enrolment) -> PracticalAttempt | None:
    """The enrolment's practical attempt, or ``None`` before it was started."""
    return db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == enrolment.id))


def attempt_for_workspace(workspace_id: int) -> PracticalAttempt | None:
    """The practical attempt working in this sandbox workspace, or ``None`` (e.g. a practice one)."""
    return db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.workspace_id == workspace_id))


def theory_passed(enrolment: Enrolment) -> bool:
    """Whether the enrolment's theory test is submitted, its result released by staff, and passed.

    Until the release the practical stays closed for everyone, so being refused tells a
    candidate nothing about a result they may not see yet.
    """
    attempt = db.session.scalar(select(TheoryAttempt).where(TheoryAttempt.enrolment_id == enrolment.id))
    return (attempt is not None and attempt.status == AttemptStatus.SUBMITTED and attempt.released_at is not None
            and attempt.passed is True)


def eligibility_refusal(enrolment: Enrolment) -> str | None:
    """Why the candidate may not start the practical exam now, or ``None`` when they may."""
    from ..committee.services import decision_for, practical_state

    if enrolment.status != EnrolmentStatus.ENROLLED:
        return _("You were withdrawn from this session.")
    if enrolment.session.status in (SessionStatus.CANCELLED, SessionStatus.CLOSED):
        return _("This session is closed: the practical exam can no longer be taken.")
    if decision_for(enrolment) is not None:
        return _("The committee has already decided on your validation.")
    if enrolment.absent_from_practical:
        return _("You were recorded as absent from the practical part.")
    required = enrolment.session.qualification.setting("theory_required_for_practical", default=True)
    if required and not theory_passed(enrolment):
        if practical_state(enrolment) == "not_admitted":
            return _("The practical part is closed to you: your theory test was not passed.")
        return _("The practical exam opens once your theory test result has been released and is a pass.")
    return None


def _audit(action: str, attempt: PracticalAttempt, before: dict | None) -> None:
    audit_log.record(action, attempt, before=before, after=audit_log.snapshot(attempt, ATTEMPT_FIELDS),
                     institution_id=attempt.session.institution_id)


def start(enrolment: Enrolment, now: datetime | None = None) -> PracticalAttempt:
    """Start the candidate's practical exam: assign a scenario, create its workspace, start the clock.

    Idempotent: a second call returns the attempt already started.
    """
    existing = attempt_for(enrolment)
    if existing is not None:
        return existing
    refusal = eligibility_refusal(enrolment)
    if refusal:
        raise PracticalError(refusal)
    now = now or utcnow()
    scenarios = {s.code: s for s in scenarios_for(enrolment.session.qualification, "exam")}
    if not scenarios:
        raise PracticalError(_("No practical scenario is available for this qualification. Tell the institution."))
    enrolment_ids = [e.id for e in enrolment.session.enrolments]
    scenario = scenarios[assign_scenario(list(scenarios), enrolment_ids, enrolment.id, enrolment.session_id)]
    candidate = enrolment.candidate
    try:
        workspace = sandbox_api.create_workspace(
            label=f"{scenario.title.pl} — {candidate.full_name}", owner_ref=owner_ref(candidate),
            seed=scenario.seed, purpose="exam", scenario_code=scenario.code)
    except sandbox_api.SeedError as error:
        db.session.rollback()
        current_app.logger.error("scenario %s cannot be seeded: %s", scenario.code, error)
        raise PracticalError(_("The practical task cannot be prepared at the moment. Tell the institution.")) from error
    attempt = PracticalAttempt(
        enrolment_id=enrolment.id, candidate_id=enrolment.candidate_id, session_id=enrolment.session_id,
        scenario_code=scenario.code, workspace_id=workspace.id, started_at=now,
        deadline_at=now + timedelta(minutes=scenario.time_limit_minutes), status=PracticalStatus.IN_PROGRESS)
    db.session.add(attempt)
    try:
        db.session.flush()
    except IntegrityError:
        # Two starts at once (a double click): the other one won; use its attempt.
        db.session.rollback()
        winner = attempt_for(enrolment)
        if winner is None:
            raise
        return winner
    _audit("practical.started", attempt, None)
    db.session.commit()
    return attempt


def _end(attempt: PracticalAttempt, now: datetime, by_deadline: bool) -> None:
    before = audit_log.snapshot(attempt, ATTEMPT_FIELDS)
    attempt.status = PracticalStatus.TIMED_OUT if by_deadline else PracticalStatus.FINISHED
    # An attempt noticed late still ends at its deadline.
    attempt.finished_at = min(now, attempt.deadline_at) if by_deadline else now
    sandbox_api.freeze_workspace(attempt.workspace_id)
    _audit("practical.timed_out" if by_deadline else "practical.finished", attempt, before)


def _locked(attempt: PracticalAttempt) -> PracticalAttempt:
    """Re-read the attempt FOR UPDATE so a finish and an expiry run one after the other."""
    return db.session.scalars(select(PracticalAttempt).where(PracticalAttempt.id == attempt.id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def finish(attempt: PracticalAttempt, now: datetime | None = None) -> PracticalAttempt:
    """The candidate ends the attempt: the workspace is frozen and kept for the committee."""
    now = now or utcnow()
    attempt = _locked(attempt)
    if attempt.is_running:
        _end(attempt, now, by_deadline=now >= attempt.deadline_at)
        db.session.commit()
    return attempt


def expire_if_overdue(attempt: PracticalAttempt, now: datetime | None = None) -> bool:
    """End the attempt if its time is up (any request that meets it does this); True if it ended now."""
    now = now or utcnow()
    if not attempt.is_running or now < attempt.deadline_at:
        return False
    attempt = _locked(attempt)
    if not attempt.is_running:
        return False
    _end(attempt, now, by_deadline=True)
    db.session.commit()
    return True


def expire_workspace_if_overdue(workspace_id: int, now: datetime | None = None) -> bool:
    """Before a sandbox request: end the exam attempt of this workspace if its time is up."""
    attempt = attempt_for_workspace(workspace_id)
    return attempt is not None and expire_if_overdue(attempt, now)


def expire_overdue(now: datetime | None = None) -> list[PracticalAttempt]:
    """End every running attempt whose time is up (``flask practical expire``); returns them."""
    now = now or utcnow()
    overdue = db.session.scalars(select(PracticalAttempt).where(
        PracticalAttempt.status == PracticalStatus.IN_PROGRESS, PracticalAttempt.deadline_at <= now)).all()
    return [attempt for attempt in overdue if expire_if_overdue(attempt, now)]


# --------------------------------------------------------------------------- practice


def open_practice(user: User, qualification: Qualification, scenario_code: str) -> PracticeWorkspace:
    """A fresh practice workspace from a scenario, owned by ``user`` (never assessed)."""
    scenario = {s.code: s for s in scenarios_for(qualification, "practice")}.get(scenario_code)
    if scenario is None:
        raise PracticalError(_("Choose one of the listed practice scenarios."))
    try:
        workspace = sandbox_api.create_workspace(
            label=_("Practice: %(title)s", title=scenario.title.pl), owner_ref=owner_ref(user),
            seed=scenario.seed, purpose="practice", scenario_code=scenario.code)
    except sandbox_api.SeedError as error:
        db.session.rollback()
        current_app.logger.error("scenario %s cannot be seeded: %s", scenario.code, error)
        raise PracticalError(_("The practice workspace cannot be prepared at the moment. Tell the institution.")) from error
    practice = PracticeWorkspace(user_id=user.id, qualification_id=qualification.id, scenario_code=scenario.code,
                                 workspace_id=workspace.id)
    db.session.add(practice)
    audit_log.record("practical.practice_opened", practice,
                     after={"scenario_code": scenario.code, "workspace_id": workspace.id})
    db.session.commit()
    return practice


def practice_workspaces(user: User) -> list[PracticeWorkspace]:
    """The user's practice workspaces, newest first."""
    return list(db.session.scalars(select(PracticeWorkspace).where(PracticeWorkspace.user_id == user.id)
                                   .order_by(PracticeWorkspace.created_at.desc(), PracticeWorkspace.id.desc())))


# --------------------------------------------------------------------------- beside the sandbox


@dataclass(frozen=True)
class Sheet:
    """What the sandbox layout shows beside a workspace: the task sheet, and the clock of an exam."""

    scenario: Scenario
    attempt: PracticalAttempt | None
    seconds_left: int
    may_finish: bool


def sheet_for_workspace(workspace: Any, user: User | None, now: datetime | None = None) -> Sheet | None:
    """The task sheet of an exam or practice workspace (``None`` for any other workspace)."""
    now = now or utcnow()
    attempt = attempt_for_workspace(workspace.id) if workspace.purpose == "exam" else None
    if attempt is not None:
        qualification, code = attempt.session.qualification, attempt.scenario_code
    else:
        practice = db.session.scalar(select(PracticeWorkspace).where(PracticeWorkspace.workspace_id == workspace.id))
        if practice is None:
            return None
        qualification, code = practice.qualification, practice.scenario_code
    try:
        scenario = scenario_of(qualification, code)
    except PracticalError:
        return None
    if scenario is None:
        return None
    if attempt is None and "practice" not in scenario.purposes:
        # A practice workspace opened before its scenario became exam-only: never show an exam sheet there.
        return None
    is_candidate = attempt is not None and user is not None and user.id == attempt.candidate_id
    return Sheet(scenario=scenario, attempt=attempt,
                 seconds_left=seconds_left(attempt, now) if attempt is not None else 0,
                 may_finish=bool(is_candidate and attempt is not None and attempt.is_running))


# --------------------------------------------------------------------------- access and the committee


def may_read_exam_workspace(user: User, workspace_id: int) -> bool:
    """A committee member of the candidate's session who may assess them (declared impartiality,
    did not train them), or staff of the session's institution, may look at an exam workspace."""
    from ..committee.services import member_of, scoring_refusal
    from ..security import staff_institution_ids

    attempt = attempt_for_workspace(workspace_id)
    if attempt is None:
        return False
    enrolment = attempt.enrolment
    member = member_of(enrolment, user)
    if member is not None and scoring_refusal(member, enrolment) is None:
        return True
    return enrolment.session.institution_id in staff_institution_ids(user)


@dataclass(frozen=True)
class EvidenceLink:
    label: str
    url: str | None


@dataclass(frozen=True)
class CheckRow:
    """One simulation criterion on the case page: the check's verdict (or none) and its evidence."""

    code: str
    text: str
    tasks: tuple[int, ...]
    verdict: str | None  # met | not_met | cant_tell | None when no check exists
    summary: str
    evidence: tuple[EvidenceLink, ...]


@dataclass(frozen=True)
class ReplayRow:
    """One statement of the action log as the committee reads it."""

    statement_id: int
    at: datetime
    actor: str
    verb: str
    object_type: str
    object_id: str | None
    object_name: str | None
    changes: tuple[tuple[str, Any, Any], ...]
    details: tuple[tuple[str, Any], ...]


def replay_rows(statements: Iterable[Any]) -> list[ReplayRow]:
    """The action log as a timeline: a diff (``{"field": [before, after]}``) becomes changes,
    anything else (filter or export parameters, import summaries) becomes details."""
    rows = []
    for statement in statements:
        result = statement.result or {}
        diff = result.get("diff") if isinstance(result.get("diff"), dict) else None
        if diff is None and result and all(isinstance(v, list) and len(v) == 2 for v in result.values()):
            diff = result
        rest = {k: v for k, v in result.items() if k != "diff"} if diff is not result else {}
        changes = tuple((field, pair[0], pair[1]) for field, pair in sorted((diff or {}).items())
                        if isinstance(pair, list) and len(pair) == 2)
        rows.append(ReplayRow(
            statement_id=statement.id, at=statement.timestamp, actor=statement.actor_name, verb=statement.verb,
            object_type=statement.object_type, object_id=statement.object_id, object_name=statement.object_name,
            changes=changes, details=tuple(sorted(rest.items()))))
    return rows


def _evidence_links(rows: Iterable[Any], workspace_id: int) -> tuple[EvidenceLink, ...]:
    links = []
    for row in rows:
        url = None
        if row.endpoint:
            try:
                url = url_for(row.endpoint, **{**(row.endpoint_args or {}), "ws_id": workspace_id})
            except BuildError:
                current_app.logger.warning("evidence link to unknown endpoint %s", row.endpoint)
        elif row.statement_id is not None:
            url = f"#stmt-{row.statement_id}"
        links.append(EvidenceLink(label=row.label, url=url))
    return tuple(links)


def check_rows(attempt: PracticalAttempt, scenario: Scenario | None, locale: str) -> list[CheckRow]:
    """Every simulation criterion in the official order, with the sandbox's evidence check beside it."""
    results: Mapping[str, Any] = sandbox_api.run_evidence_checks(attempt.workspace_id)
    qualification = attempt.session.qualification
    rows = []
    for criterion in (c for s in qualification.outcome_sets for o in s.outcomes for c in o.criteria):
        if criterion.method != "simulation":
            continue
        result = results.get(criterion.code)
        verdict = getattr(result.verdict, "value", result.verdict) if result is not None else None
        rows.append(CheckRow(
            code=criterion.code, text=criterion.text(locale),
            tasks=tuple(t.number for t in scenario.tasks_for(criterion.code)) if scenario else (),
            verdict=verdict, summary=_(result.summary) if result is not None else "",
            evidence=_evidence_links(result.evidence, attempt.workspace_id) if result is not None else ()))
    return rows


@dataclass(frozen=True)
class CommitteeView:
    attempt: PracticalAttempt
    scenario: Scenario | None
    checks: list[CheckRow]
    replay: list[ReplayRow]


def committee_view(enrolment: Enrolment, locale: str, now: datetime | None = None) -> CommitteeView | None:
    """What the assessor's case page shows of the practical part (``None`` before it was started)."""
    attempt = attempt_for(enrolment)
    if attempt is None:
        return None
    expire_if_overdue(attempt, now)
    try:
        scenario = scenario_of(enrolment.session.qualification, attempt.scenario_code)
    except PracticalError:
        scenario = None
    return CommitteeView(attempt=attempt, scenario=scenario, checks=check_rows(attempt, scenario, locale),
                         replay=replay_rows(sandbox_api.action_log(attempt.workspace_id)))


def xapi_export(attempt: PracticalAttempt) -> list[dict]:
    """The attempt's action log as xAPI statements; the download is audited (it is exam work)."""
    statements = sandbox_api.export_xapi(attempt.workspace_id)
    audit_log.record("practical.log_exported", attempt, after={"statements": len(statements)},
                     institution_id=attempt.session.institution_id)
    db.session.commit()
    return statements
