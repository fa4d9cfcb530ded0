"""Rules of the practical exam: scenarios, eligibility, assignment, the server-side clock, access.

The candidate works in a sandbox CRM workspace created from the assigned scenario's seed; the
workspace is reached only through ``sandbox_crm.api``. The pure parts (``assign_scenario``,
``seconds_left``) take plain data and are tested without a request; the rest
read and write the database and commit.
"""
from __future__ import annotations

import functools
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import current_app, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError

from question_bank.scenarios import SCENARIOS_DIR, Scenario, ScenarioError, ScenarioTask, load_scenarios
from sandbox_crm import api as sandbox_api

from ..audit import services as audit_log
from ..extensions import db
from ..models import (
    AttemptStatus,
    Enrolment,
    EnrolmentStatus,
    OperatorAction,
    OperatorActionKind,
    PracticalAttempt,
    PracticalStatus,
    PracticeWorkspace,
    Qualification,
    SessionStatus,
    User,
    ValidationSession,
    utcnow,
)
from ..operator import services as operator_rules
from ..operator.services import PracticalState
from ..sessions.services import evidence_enrolment
from ..theory.services import counted_attempt

ATTEMPT_FIELDS = ("status", "scenario_code", "workspace_id", "started_at", "deadline_at", "finished_at", "extra_seconds",
                  "paused_at", "paused_seconds_total")


def owner_ref(user) -> str:
    """How the sandbox refers to one of our users."""
    return f"user:{user.id}"


class PracticalError(ValueError):
    """A rule of the practical exam refused the request; the message (translated) says why and what to do."""


def paused_message() -> str:
    """What the candidate is told while the operator has their practical exam paused."""
    return _("The operator has paused your practical exam: the clock stands still and the workspace takes no "
             "changes until they resume it. Wait for their signal.")


# --------------------------------------------------------------------------- scenarios


def _criteria_methods(qualification: Qualification) -> dict[str, str]:
    return {c.code: c.method for s in qualification.outcome_sets for o in s.outcomes for c in o.criteria}


@functools.lru_cache(maxsize=16)
def _load_cached(directory: str, stamp: tuple, qualification: str, criteria: tuple, sections: tuple) -> dict:
    # ``stamp`` (file names, sizes and modification times) is part of the key, so an edited
    # file is read again; the cache only saves re-parsing unchanged files shipped with the code.
    return load_scenarios(directory, qualification=qualification, criteria_methods=dict(criteria),
                          seed_sections=sections, key_check=sandbox_api.key_target_problems)


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
    """The scenario ``code`` of the qualification as written, or ``None`` when it no longer exists.
    For an exam attempt use :func:`attempt_scenario`: its workspace holds the attempt's variant."""
    return scenario_catalogue(qualification).get(code)


# Variant seeds fit the database's 32-bit integer column; 0 and None mean "as written".
VARIANT_SEED_MAX = 2**31 - 1


def draw_variant_seed() -> int:
    """A fresh, unpredictable variant for an exam attempt (1..VARIANT_SEED_MAX)."""
    return secrets.randbelow(VARIANT_SEED_MAX) + 1


def attempt_scenario(attempt: PracticalAttempt) -> Scenario | None:
    """The scenario of this exam attempt: the variant it drew at the start (names, figures and dates;
    its sheet, seed and key changed together), or ``None`` when the scenario no longer exists.

    The candidate's sheet, the committee's sheet and key and the evidence checks all take the
    scenario from here, so none of them can show the sheet as written beside a varied workspace.
    An attempt started before its scenario varied (``variant_seed`` None) gets the sheet as written.
    """
    scenario = scenario_of(attempt.session.qualification, attempt.scenario_code)
    if scenario is None:
        return None
    try:
        return scenario.varied(attempt.variant_seed)
    except ScenarioError as error:  # the file was edited since the attempt drew its variant
        current_app.logger.error("scenario %s variant %s unusable: %s", scenario.code, attempt.variant_seed, error)
        raise PracticalError(_("The practical scenarios cannot be used at the moment. Tell the institution.")) from error


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


def deadline(attempt: PracticalAttempt) -> datetime:
    """When the time is up: the deadline set at the start, moved by the operator's extra time and by
    every second the attempt spent paused (while paused it keeps moving: see :func:`ends_at`)."""
    # ``or 0``: an attempt not yet flushed has no column defaults (the pure rules take such ones too).
    return attempt.deadline_at + timedelta(seconds=(attempt.extra_seconds or 0) + (attempt.paused_seconds_total or 0))


def is_paused(attempt: PracticalAttempt) -> bool:
    """Whether the operator has paused the running attempt (its clock stands, its workspace takes no changes)."""
    return attempt.is_running and attempt.paused_at is not None


def operator_state(attempt: PracticalAttempt) -> PracticalState:
    """The attempt's state as the operator's actions see it (``operator.services.PRACTICAL_TRANSITIONS``)."""
    if not attempt.is_running:
        return PracticalState.ENDED
    return PracticalState.PAUSED if is_paused(attempt) else PracticalState.RUNNING


def seconds_left(attempt: PracticalAttempt, now: datetime) -> int:
    """Whole seconds until the time is up (0 once it has passed or the attempt has ended); while
    paused, as many as were left at the pause."""
    if not attempt.is_running:
        return 0
    reference = attempt.paused_at if attempt.paused_at is not None else now
    return max(0, int((deadline(attempt) - reference).total_seconds()))


def ends_at(attempt: PracticalAttempt, now: datetime) -> datetime:
    """When the running attempt's time will be up if nothing changes (while paused: if resumed ``now``)."""
    reference = attempt.paused_at if attempt.paused_at is not None else now
    return now + max(timedelta(0), deadline(attempt) - reference)


def time_is_up(attempt: PracticalAttempt, now: datetime) -> bool:
    """Whether the running attempt must end now: its time is up and it is not paused."""
    return attempt.is_running and attempt.paused_at is None and now >= deadline(attempt)


def attempt_for(enrolment: Enrolment) -> PracticalAttempt | None:
    """The enrolment's practical attempt, or ``None`` before it was started."""
    return db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.enrolment_id == enrolment.id))


def assessed_attempt(enrolment: Enrolment) -> PracticalAttempt | None:
    """The practical attempt the enrolment's committee assesses: its own, or — for a new assessment
    ordered by an upheld appeal — the attempt of the enrolment assessed again
    (:func:`~examportal.sessions.services.evidence_enrolment`)."""
    return attempt_for(evidence_enrolment(enrolment))


def reassessing_enrolments(enrolment: Enrolment) -> list[Enrolment]:
    """Enrolments whose committees assess ``enrolment``'s practical work again (after appeals),
    directly or through an earlier reassessment."""
    found: list[Enrolment] = []
    frontier = [enrolment.id]
    while frontier:
        later = list(db.session.scalars(select(Enrolment).where(Enrolment.reassessment_of_id.in_(frontier))))
        later = [e for e in later if e not in found]
        found += later
        frontier = [e.id for e in later]
    return found


def attempt_for_workspace(workspace_id: int) -> PracticalAttempt | None:
    """The practical attempt working in this sandbox workspace, or ``None`` (e.g. a practice one)."""
    return db.session.scalar(select(PracticalAttempt).where(PracticalAttempt.workspace_id == workspace_id))


def theory_passed(enrolment: Enrolment) -> bool:
    """Whether the enrolment's theory test is submitted, its result released by staff, and passed.

    Until the release the practical stays closed for everyone, so being refused tells a
    candidate nothing about a result they may not see yet. A theory part recognised from an
    earlier validation counts with that validation's passed attempt.
    """
    attempt = counted_attempt(enrolment)
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
    if enrolment.reassessment_of_id is not None:
        return _("Your practical work from your earlier session is assessed again by a new committee: you do not "
                 "take the practical exam again.")
    if enrolment.absent_from_practical:
        return _("You were recorded as absent from the practical part.")
    required = enrolment.session.qualification.rules.theory_required_for_practical
    if required and not theory_passed(enrolment):
        if practical_state(enrolment) == "not_admitted":
            return _("The practical part is closed to you: your theory test was not passed.")
        return _("The practical exam opens once your theory test result has been released and is a pass.")
    return None


def _audit(action: str, attempt: PracticalAttempt, before: dict | None, extra: dict | None = None) -> None:
    audit_log.record(action, attempt, before=before, after=audit_log.snapshot(attempt, ATTEMPT_FIELDS) | (extra or {}),
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
    # Neighbours get different scenarios and, within one, different names, figures and dates.
    variant_seed = draw_variant_seed() if scenario.variation else None
    try:
        scenario = scenario.varied(variant_seed)
    except ScenarioError as error:
        current_app.logger.error("scenario %s variant %s cannot be built: %s", scenario.code, variant_seed, error)
        raise PracticalError(_("The practical task cannot be prepared at the moment. Tell the institution.")) from error
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
        scenario_code=scenario.code, variant_seed=variant_seed, workspace_id=workspace.id, started_at=now,
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
    _audit("practical.started", attempt, None, {"variant_seed": variant_seed})
    db.session.commit()
    return attempt


def _end(attempt: PracticalAttempt, now: datetime, by_deadline: bool) -> None:
    before = audit_log.snapshot(attempt, ATTEMPT_FIELDS)
    attempt.status = PracticalStatus.TIMED_OUT if by_deadline else PracticalStatus.FINISHED
    # An attempt noticed late still ends at its deadline (as moved by extra time and pauses).
    attempt.finished_at = min(now, deadline(attempt)) if by_deadline else now
    sandbox_api.freeze_workspace(attempt.workspace_id)
    _audit("practical.timed_out" if by_deadline else "practical.finished", attempt, before)


def _locked(attempt: PracticalAttempt) -> PracticalAttempt:
    """Re-read the attempt FOR UPDATE so a finish and an expiry run one after the other."""
    return db.session.scalars(select(PracticalAttempt).where(PracticalAttempt.id == attempt.id).with_for_update()
                              .execution_options(populate_existing=True)).one()


def finish(attempt: PracticalAttempt, now: datetime | None = None) -> PracticalAttempt:
    """The candidate ends the attempt: the workspace is frozen and kept for the committee.

    Refused while the operator has the attempt paused (nothing changes until they resume it)."""
    now = now or utcnow()
    attempt = _locked(attempt)
    if is_paused(attempt):
        db.session.rollback()
        raise PracticalError(paused_message())
    if attempt.is_running:
        _end(attempt, now, by_deadline=now >= deadline(attempt))
        db.session.commit()
    return attempt


def expire_if_overdue(attempt: PracticalAttempt, now: datetime | None = None) -> bool:
    """End the attempt if its time is up (any request that meets it does this); True if it ended now.
    A paused attempt never ends so: its clock stands until the operator resumes it."""
    now = now or utcnow()
    if not time_is_up(attempt, now):
        return False
    attempt = _locked(attempt)
    if not time_is_up(attempt, now):
        return False
    _end(attempt, now, by_deadline=True)
    db.session.commit()
    return True


def workspace_write_refusal(workspace_id: int) -> str | None:
    """Why this exam workspace takes no changes now even from its candidate: the operator has paused
    the exam (a frozen workspace the sandbox refuses itself). ``None``: nothing stands in the way."""
    attempt = attempt_for_workspace(workspace_id)
    return paused_message() if attempt is not None and is_paused(attempt) else None


def expire_workspace_if_overdue(workspace_id: int, now: datetime | None = None) -> bool:
    """Before a sandbox request: end the exam attempt of this workspace if its time is up."""
    attempt = attempt_for_workspace(workspace_id)
    return attempt is not None and expire_if_overdue(attempt, now)


def expire_overdue(now: datetime | None = None) -> list[PracticalAttempt]:
    """End every running attempt whose time is up (``flask practical expire``); returns them."""
    now = now or utcnow()
    # The deadline set at the start is the earliest the time can be up: extra time and pauses only move it on.
    overdue = db.session.scalars(select(PracticalAttempt).where(
        PracticalAttempt.status == PracticalStatus.IN_PROGRESS, PracticalAttempt.paused_at.is_(None),
        PracticalAttempt.deadline_at <= now)).all()
    return [attempt for attempt in overdue if expire_if_overdue(attempt, now)]


def clock(attempt: PracticalAttempt, now: datetime | None = None) -> dict[str, Any]:
    """The attempt's clock as the candidate's page follows it (the countdown, the pause notice);
    the request that meets the deadline ends the attempt, as any other does."""
    now = now or utcnow()
    expire_if_overdue(attempt, now)
    return {"status": attempt.status.value, "running": attempt.is_running, "paused": is_paused(attempt),
            "seconds_left": seconds_left(attempt, now),
            "ends_at": ends_at(attempt, now).isoformat() if attempt.is_running else None}


# --------------------------------------------------------------------------- the operator's controls


def session_attempts(session: ValidationSession) -> list[PracticalAttempt]:
    """The practical attempts of the session, by the candidates' names."""
    attempts = db.session.scalars(select(PracticalAttempt).where(PracticalAttempt.session_id == session.id)
                                  .options(selectinload(PracticalAttempt.candidate)))  # one query, not one per row
    return sorted(attempts, key=lambda a: (a.candidate.last_name, a.candidate.first_name, a.id))


def console_rows(session: ValidationSession, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per candidate who started the practical exam, for the operator's console (and the
    JSON it polls); an attempt whose time is up ends here, as on any request that meets it."""
    now = now or utcnow()
    rows = []
    for attempt in session_attempts(session):
        expire_if_overdue(attempt, now)
        rows.append({
            "practical_attempt_id": attempt.id,
            "candidate": attempt.candidate.full_name,
            "status": "paused" if is_paused(attempt) else attempt.status.value,
            "time_left": seconds_left(attempt, now),
            "extra_minutes": attempt.extra_seconds // 60,
            "ends_at": ends_at(attempt, now).isoformat() if attempt.is_running else None,
        })
    return rows


def operator_action(session: ValidationSession, operator: User, kind: OperatorActionKind, reason: str,
                    attempt: PracticalAttempt, minutes: int | None = None,
                    now: datetime | None = None) -> OperatorAction:
    """Add time to, pause, resume or note an incident on one candidate's practical exam.

    As on the theory test: the session's operator only, a reason always, extra time within bounds
    (:func:`..operator.services.refusal`); the action goes into the session record and a change of
    the clock is audited on the attempt. Time, pause and resume only in the states
    ``operator.services.PRACTICAL_TRANSITIONS`` names: while the exam runs (an attempt whose time is
    up ends first), no pause while paused, no resume unless paused; an incident may be noted at any time.
    """
    now = now or utcnow()
    refused = operator_rules.refusal(session, operator, kind, reason, minutes)
    if refused:
        raise PracticalError(refused)
    reason = reason.strip()
    if attempt.session_id != session.id:
        raise PracticalError(_("This candidate is not in this session."))
    transition = operator_rules.PRACTICAL_TRANSITIONS.get(kind)
    if transition is None and kind not in operator_rules.NOTES:  # the unlock: the table has none
        raise PracticalError(_("The practical exam is not unlocked: the candidate starts it once their theory "
                               "result allows. Choose another action."))
    expire_if_overdue(attempt, now)  # the operator's request meets the deadline like any other
    attempt = _locked(attempt)
    before = audit_log.snapshot(attempt, ATTEMPT_FIELDS)
    state = operator_state(attempt)
    if transition is not None and state not in transition.applies_to:  # a note (no transition) changes nothing
        raise PracticalError(_inapplicable(state, attempt))
    why = {"reason": reason, "minutes": minutes}
    if kind == OperatorActionKind.EXTRA_TIME:
        attempt.extra_seconds += (minutes or 0) * 60  # minutes checked above for extra time
        _audit("practical.operator.extra_time", attempt, before, why)
    elif kind == OperatorActionKind.PAUSE:
        attempt.paused_at = now
        _audit("practical.operator.pause", attempt, before, why)
    elif kind == OperatorActionKind.RESUME and attempt.paused_at is not None:  # paused: see operator_state
        attempt.paused_seconds_total += max(0.0, (now - attempt.paused_at).total_seconds())
        attempt.paused_at = None
        _audit("practical.operator.resume", attempt, before, why)
    action = operator_rules.record(session, operator, kind, reason, minutes, now, practical_attempt=attempt)
    db.session.commit()
    return action


def _inapplicable(state: PracticalState, attempt: PracticalAttempt) -> str:
    """Why an action of the operator does not apply to the attempt in ``state``: the exam has ended,
    or it is paused (only a pause does not apply then) or running (only a resume does not)."""
    if state == PracticalState.ENDED:
        return _("This practical exam has ended (%(status)s): its clock can no longer be changed. "
                 "Record an incident if something happened.", status=attempt.status.label)
    if state == PracticalState.PAUSED:
        return _("This practical exam is already paused.")
    return _("This practical exam is not paused: there is nothing to resume.")


# --------------------------------------------------------------------------- answers beside the sheet


def answer_tasks(scenario: Scenario | None) -> tuple[ScenarioTask, ...]:
    """The tasks of the sheet with a field for the candidate's answer (what they read in the CRM)."""
    return tuple(task for task in scenario.tasks if task.answer) if scenario is not None else ()


def has_answer_field(attempt: PracticalAttempt, task_number: int) -> bool:
    """Whether the attempt's sheet (its variant) has an answer field beside task ``task_number``;
    raises :class:`PracticalError` when the scenario cannot be read."""
    return task_number in {task.number for task in answer_tasks(attempt_scenario(attempt))}


def saved_answers(attempt: PracticalAttempt) -> dict[int, str]:
    """The candidate's latest answer to each task of the sheet, by task number."""
    return sandbox_api.answers(attempt.workspace_id)


def answer_refusal(attempt: PracticalAttempt) -> str | None:
    """Why the candidate may not record an answer now (the exam has ended, or is paused), or ``None``."""
    if not attempt.is_running:
        return _("The practical exam has ended: answers can no longer be changed.")
    if is_paused(attempt):
        return paused_message()
    return None


def save_answer(attempt: PracticalAttempt, task_number: int, text: str, now: datetime | None = None) -> None:
    """Record the candidate's answer beside a task of the sheet that asks for one.

    The answer goes into the workspace's action log (``sandbox_api.record_answer``), timestamped and
    the candidate's, where the evidence checks compare it with the CRM at that moment; the log is
    the record of the exam work, as for every action in the CRM (the audit log keeps the attempt's
    state changes). Refused once the attempt has ended or while the operator has it paused,
    checked under the attempt's row lock so that a finish or the deadline in between wins.
    """
    now = now or utcnow()
    expire_if_overdue(attempt, now)
    attempt = _locked(attempt)
    refusal = answer_refusal(attempt)
    if refusal is None:
        try:
            if not has_answer_field(attempt, task_number):
                refusal = _("This task of the sheet has no answer field. Reload the page.")
        except PracticalError as error:
            refusal = str(error)
    if refusal is not None:
        db.session.rollback()
        raise PracticalError(refusal)
    try:
        sandbox_api.record_answer(attempt.workspace_id, task_number, text)
    except PermissionError as error:  # frozen in between: the attempt ended
        db.session.rollback()
        raise PracticalError(_("The practical exam has ended: answers can no longer be changed.")) from error
    db.session.commit()


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
    paused: bool = False
    ends_at: datetime | None = None
    # Where the candidate's page asks for the clock (extra time, a pause, a resume); None for anyone else.
    status_url: str | None = None
    # The answers recorded beside the sheet's tasks (by task number), and whether the candidate may record one now.
    answers: Mapping[int, str] = field(default_factory=dict)
    may_answer: bool = False

    @property
    def paused_message(self) -> str:
        """What the page says while the operator has the exam paused (shown when it is)."""
        return paused_message()


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
        scenario = attempt_scenario(attempt) if attempt is not None else scenario_of(qualification, code)
    except PracticalError:
        return None
    if scenario is None:
        return None
    if attempt is None and "practice" not in scenario.purposes:
        # A practice workspace opened before its scenario became exam-only: never show an exam sheet there.
        return None
    if attempt is None:
        return Sheet(scenario=scenario, attempt=None, seconds_left=0, may_finish=False)
    is_candidate = user is not None and user.id == attempt.candidate_id
    return Sheet(scenario=scenario, attempt=attempt, seconds_left=seconds_left(attempt, now),
                 may_finish=is_candidate and attempt.is_running and not is_paused(attempt),
                 paused=is_paused(attempt), ends_at=ends_at(attempt, now) if attempt.is_running else None,
                 status_url=url_for("practical.status", enrolment_id=attempt.enrolment_id)
                 if is_candidate and attempt.is_running else None,
                 answers=saved_answers(attempt), may_answer=is_candidate and answer_refusal(attempt) is None)


# --------------------------------------------------------------------------- the committee


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
        links.append(EvidenceLink(label=str(row.label), url=url))
    return tuple(links)


def check_rows(attempt: PracticalAttempt, scenario: Scenario | None, locale: str) -> list[CheckRow]:
    """Every simulation criterion in the official order, with the sandbox's evidence check beside it.

    ``scenario`` is the attempt's own variant (:func:`attempt_scenario`): the key must name the
    records of the attempt's workspace."""
    if scenario is not None and scenario.variation and scenario.variant != (attempt.variant_seed or 0):
        raise ValueError("check_rows needs the attempt's variant of the scenario: take it from attempt_scenario()")
    results: Mapping[str, Any] = sandbox_api.run_evidence_checks(
        attempt.workspace_id, key=scenario.key.check_data() if scenario is not None else None)
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
            verdict=verdict, summary=str(result.summary) if result is not None else "",
            evidence=_evidence_links(result.evidence, attempt.workspace_id) if result is not None else ()))
    return rows


@dataclass(frozen=True)
class CommitteeView:
    attempt: PracticalAttempt
    scenario: Scenario | None
    checks: list[CheckRow]
    replay: list[sandbox_api.ReplayRow]
    # Whether it runs now; while it has not been ended: when its time is (or was) up (extra time and
    # pauses included), and whether it is paused.
    running: bool = False
    ends_at: datetime | None = None
    paused: bool = False
    # Beside an interview criterion that discusses what the candidate read in the CRM: the values
    # they recorded and the true ones at that moment (sandbox_api.stage_value_readings), by criterion code.
    readings: Mapping[str, list[Any]] = field(default_factory=dict)


# The interview criterion that discusses the values per stage read under 2.3.d ("omawia odczytane
# wartości szans sprzedaży na poszczególnych etapach").
DISCUSSES_STAGE_VALUES = "2.3.e"


def committee_view(enrolment: Enrolment, locale: str, now: datetime | None = None) -> CommitteeView | None:
    """What the assessor's case page shows of the practical part (``None`` before it was started);
    for a new assessment after an appeal, the work of the enrolment assessed again. Writes nothing."""
    attempt = assessed_attempt(enrolment)
    if attempt is None:
        return None
    now = now or utcnow()
    # Read only: an attempt whose time is up is shown as ended by the deadline; ending it is for
    # the candidate's next request or the scheduler's expiry run, not for a page that looks at it.
    running = attempt.is_running and not time_is_up(attempt, now)
    try:
        scenario = attempt_scenario(attempt)
    except PracticalError:
        scenario = None
    key = scenario.key.check_data() if scenario is not None else None
    return CommitteeView(attempt=attempt, scenario=scenario, checks=check_rows(attempt, scenario, locale),
                         replay=sandbox_api.replay(attempt.workspace_id),
                         running=running, ends_at=ends_at(attempt, now) if attempt.is_running else None,
                         paused=is_paused(attempt),
                         readings={DISCUSSES_STAGE_VALUES: sandbox_api.stage_value_readings(attempt.workspace_id, key)})


def xapi_export(attempt: PracticalAttempt) -> list[dict]:
    """The attempt's action log as xAPI statements; the download is audited (it is exam work)."""
    statements = sandbox_api.export_xapi(attempt.workspace_id)
    audit_log.record("practical.log_exported", attempt, after={"statements": len(statements)},
                     institution_id=attempt.session.institution_id)
    db.session.commit()
    return statements
