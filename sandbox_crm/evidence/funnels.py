"""Evidence checks of 2.1.a–e: sales funnels designed by the candidate (SMART goal, stages in
order with probabilities, stages entered, tasks attached to stages, their schedule).

Design is what the candidate made: pipelines, stages and stage tasks they created. Edits of a
scenario's own rows (longer durations on the seeded stages, a renamed seeded pipeline) are not
design. When the key names the pipeline the sheet asks for (``new_pipeline``), the sheet asks for a
new funnel: only the candidate's own pipelines are judged, work put into a scenario's pipeline
instead is work on the wrong target.

Key targets read here (task 5 of the exam sheets): ``new_pipeline``, ``goal_subject``,
``goal_within_days``, ``stage_ideas``, ``tasks_on_every_stage``; and the key's ``sale_kind``.
"""
from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l

from ..forms.sales import METRIC_LABELS
from ..models import ActionStatement, Workspace
from ..models.sales import Pipeline, PipelineStage, StageTask, Task
from ..services.pipelines import GOAL_FIELDS, pipeline_schedule
from ..services.smart import ELEMENT_LABELS, check_goal_of
from .base import CheckResult, EvidenceRow, Verdict, check
from .common import (
    candidate_statements,
    changes_of,
    existing,
    ids_of,
    object_id_of,
    record_row,
    result,
    statement_day,
    statement_rows,
)
from .key import ScenarioKey, target_kind
from .wording import first_match, joined, matches, positive_int_problem, real_words, stems_problem, text_problem

Goal = Pipeline | PipelineStage


def _bool_problem(value: object) -> str | None:
    return None if isinstance(value, bool) else "expected true or false"


NEW_PIPELINE = target_kind("new_pipeline", "the name of the new pipeline (funnel) the sheet asks the candidate to design; "
                                   "only pipelines the candidate created are then judged", text_problem)
GOAL_SUBJECT = target_kind("goal_subject", "word stems of what the sale is about ('łożysk', 'przekładn|reduktor'): "
                                           "a SMART goal's text must use one of them", stems_problem)
GOAL_WITHIN_DAYS = target_kind("goal_within_days", "the latest goal deadline the sheet allows, in days after the "
                                                   "goal is set (a quarter: 92)", positive_int_problem)
STAGE_IDEAS = target_kind("stage_ideas", "the stages the sheet suggests, in their order, each as word stems with "
                                         "alternatives ('oferta|wycen'); the sale kind's usual stages count too",
                          stems_problem)
TASKS_ON_EVERY_STAGE = target_kind("tasks_on_every_stage", "true when the sheet asks for tasks on every stage of "
                                                           "the funnel (a final won/lost stage needs none)",
                                   _bool_problem)

# The stages a sale of each kind usually goes through, in order, as word stems (Polish: the
# candidate names stages in the language of the sheet). A funnel fits its kind of sale when its
# stage names follow at least MIN_STAGE_IDEAS of these (or of the key's ``stage_ideas``) in order.
SALE_KIND_STAGES: dict[str, tuple[str, ...]] = {
    "b2b_goods": (
        "lead|kontakt|zapytan|kwalifik|potrzeb|identyfik|pozyska",
        "spotkan|wizyt|audyt|analiz|prezentac|demo|próbk|test|diagnoz|konsultac",
        "ofert|wycen|propozyc|kalkulac",
        "negocjac|uzgodn|warunk",
        "umow|zamówien|kontrakt|podpis|zamknięc|realizac|dostaw|wygran",
    ),
    "b2b_services": (
        "lead|kontakt|zapytan|kwalifik|potrzeb|webinar|rozmow|pozyska",
        "spotkan|analiz|audyt|diagnoz|konsultac|dokument|wizyt|przegląd",
        "ofert|wycen|propozyc|kalkulac",
        "negocjac|uzgodn|warunk",
        "umow|podpis|kontrakt|zlecen",
        "wdrożen|onboard|realizac|uruchom|przejęc|start",
    ),
    "b2c_ecommerce": (
        "zapis|formularz|lead|kontakt|zapytan|rejestrac|newsletter|zainteresow",
        "rozmow|potrzeb|konsultac|kwalifik|doradz",
        "test|demo|próbk|prezentac|wypróbow",
        "ofert|wycen|propozyc|kalkulac|koszyk",
        "umow|zamówien|płatnoś|zakup|podpis|transakc",
        "dostaw|wysyłk|realizac|aktywac|instalac|odbiór|odbior",
    ),
    "after_sales_service": (
        "zgłoszen|reklamac|przyjęc|rejestrac|kontakt",
        "diagnoz|analiz|weryfikac|ekspertyz|ocen",
        "napraw|serwis|wymian|realizac",
        "ofert|propozyc|gwarancj|rozszerz|przedłuż",
        "zamknięc|rozwiązan|potwierdz|odbiór|odbior|zakończ|ankiet|opini",
    ),
    "public_sector": (
        "rozeznan|zapytan|ogłoszen|potrzeb|kontakt|monitor",
        "specyfikac|swz|siwz|dokumentac|przygotow|wyjaśnien|analiz",
        "ofert|złożen|wadium",
        "ocen|rozstrzygn|wybór|wybor|wynik|odwołan",
        "umow|podpis|realizac|zlecen",
    ),
    "subscription": (
        "lead|rejestrac|zapis|kontakt|zapytan|zainteresow",
        "demo|prezentac|test|trial|próbn|wypróbow",
        "ofert|plan|pakiet|propozyc|wycen",
        "umow|subskrypc|aktywac|zakup|płatnoś|podpis|zamówien",
        "wdrożen|onboard|uruchom|odnowien|przedłuż|retenc",
    ),
}
MIN_STAGES = 3
# A goal's text with fewer real words than this is filler ("a b c d", "test test test").
MIN_GOAL_WORDS = 2
MIN_STAGE_IDEAS = 3
# The final stages a funnel may end with besides the working ones: lost (0 %) and won (100 %).
TERMINAL_PROBABILITIES = (0, 100)


# --- which pipelines are the candidate's design ----------------------------------------------

@dataclass(frozen=True)
class _Scope:
    """The pipelines the checks judge: with a ``new_pipeline`` target, the pipelines the candidate
    created (named as the sheet says or otherwise: the name is for the committee to see, a funnel
    named differently is still the candidate's design); without, every pipeline."""

    own: frozenset[int]
    asks_new: bool

    def judged(self, pipeline_id: int) -> bool:
        return not self.asks_new or pipeline_id in self.own


def _scope(workspace: Workspace, key: ScenarioKey) -> _Scope:
    return _Scope(own=frozenset(ids_of(candidate_statements(workspace, ["create"], ["pipeline"]))),
                  asks_new=bool(key.values(NEW_PIPELINE)))


def _pipeline_row(workspace: Workspace, pipeline: Pipeline, label: Any = None) -> EvidenceRow:
    return record_row(workspace, label or _l("Pipeline: %(name)s", name=pipeline.name), "pipeline", pipeline.id)


def _stage_row(workspace: Workspace, stage: PipelineStage, label: Any = None) -> EvidenceRow:
    """A stage is shown on its pipeline's page."""
    return record_row(workspace, label or _l("Stage: %(pipeline)s / %(stage)s", pipeline=stage.pipeline.name,
                                             stage=stage.name),
                      "pipeline_stage", stage.id, "sandbox.pipeline", pipeline_id=stage.pipeline_id)


def _numbered_stage_row(workspace: Workspace, stage: PipelineStage) -> EvidenceRow:
    return _stage_row(workspace, stage, _l("Stage %(position)d: %(name)s (%(probability)d%%)",
                                           position=stage.position, name=stage.name, probability=stage.probability))


def _pages(stages: Sequence[PipelineStage] = (), templates: Sequence[StageTask] = ()) -> dict[Any, Any]:
    """Stages and their task templates are shown on their pipeline's page."""
    pages: dict[Any, Any] = {("pipeline_stage", s.id): ("sandbox.pipeline", {"pipeline_id": s.pipeline_id})
                             for s in stages}
    pages.update({("stage_task", t.id): ("sandbox.pipeline", {"pipeline_id": t.stage.pipeline_id})
                  for t in templates})
    return pages


def _names(pipelines: Sequence[Pipeline]) -> str:
    return ", ".join(dict.fromkeys(p.name for p in pipelines))


# --- 2.1.a -----------------------------------------------------------------------------------

@dataclass
class _GoalJudgement:
    goal: Goal
    statement: ActionStatement
    status: str  # sound | partial | late | elsewhere | off_subject | filler
    note: Any
    reason: tuple[Any, ...] = ()  # what makes two notes say the same thing (for the summary)


def _goal_text(goal: Goal) -> str:
    return " ".join(t for t in (goal.goal_specific, goal.goal_achievable, goal.goal_relevance) if t)


def _judge_goal(goal: Goal, statement: ActionStatement, key: ScenarioKey, scope: _Scope) -> _GoalJudgement:
    day = statement_day(statement)
    report = check_goal_of(goal, day)
    if (goal.goal_specific or "").strip() and len(real_words(goal.goal_specific)) < MIN_GOAL_WORDS:
        return _GoalJudgement(goal, statement, "filler", _l("the goal's text is filler, not words"))
    if not report.ok:
        return _GoalJudgement(goal, statement, "partial", _l(
            "missing: %(elements)s", elements=joined(ELEMENT_LABELS[e] for e in report.missing)),
            ("partial", *report.missing))
    subject = [stems for value in key.values(GOAL_SUBJECT) for stems in value]
    if subject and not any(matches(_goal_text(goal), stems) for stems in subject):
        return _GoalJudgement(goal, statement, "off_subject", _l("not about what this sale is about"))
    horizon = key.values(GOAL_WITHIN_DAYS)
    if horizon and goal.goal_deadline is not None and goal.goal_deadline > day + timedelta(days=horizon[0]):
        return _GoalJudgement(goal, statement, "late", _l(
            "deadline %(deadline)s is later than the sheet's horizon of %(days)d days",
            deadline=goal.goal_deadline.isoformat(), days=horizon[0]), ("late", goal.goal_deadline))
    pipeline_id = goal.id if isinstance(goal, Pipeline) else goal.pipeline_id
    if not scope.judged(pipeline_id):
        return _GoalJudgement(goal, statement, "elsewhere", _l("set on a pipeline of the scenario, not on the "
                                                               "candidate's funnel"), ("elsewhere",))
    return _GoalJudgement(goal, statement, "sound", _l(
        "%(metric)s %(target)s by %(deadline)s", metric=METRIC_LABELS.get(goal.goal_metric or "", goal.goal_metric),
        target=goal.goal_target,
        deadline=goal.goal_deadline.isoformat() if goal.goal_deadline else ""))


@check("2.1.a")
def smart_goal_set(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when a pipeline or stage whose goal the candidate set (created with goal fields, or
    changed them) has a goal that passes the sandbox's SMART check (specific in real words,
    metric and target, achievable and relevant explained, deadline), judged as of the day the
    goal was set; with the key: its text uses a word of the sale's subject (``goal_subject``),
    its deadline is within the sheet's horizon (``goal_within_days``) and it is on the funnel the
    sheet asks for (``new_pipeline``).

    Not met: no goal set by the candidate (a scenario's goals do not count), or only goals whose
    text is filler ("a b c d": fewer than two real words) or about another sale. Can't tell:
    goals missing SMART elements (listed), later than the horizon, or set on a scenario's pipeline.
    """
    statements = candidate_statements(workspace, ["create", "update"], ["pipeline", "pipeline_stage"])
    goal_statements = [s for s in statements if any(name in changes_of(s) for name in GOAL_FIELDS)]
    last: dict[tuple[str, int], ActionStatement] = {}
    for statement in goal_statements:
        object_id = object_id_of(statement)
        if object_id is not None:
            last[(statement.object_type, object_id)] = statement
    scope = _scope(workspace, key)
    judgements: list[_GoalJudgement] = []
    goal_models: tuple[tuple[type[Goal], str], ...] = ((Pipeline, "pipeline"), (PipelineStage, "pipeline_stage"))
    for model, object_type in goal_models:
        for record in existing(workspace, model, [i for (t, i) in last if t == object_type]):
            judgements.append(_judge_goal(record, last[(object_type, record.id)], key, scope))

    def rows(items: list[_GoalJudgement]) -> list[EvidenceRow]:
        out = []
        for j in items:
            goal = j.goal
            if isinstance(goal, Pipeline):
                out.append(_pipeline_row(workspace, goal, _l("Pipeline goal: %(name)s (%(note)s)", name=goal.name,
                                                             note=j.note)))
            else:
                out.append(_stage_row(workspace, goal, _l("Stage goal: %(pipeline)s / %(stage)s (%(note)s)",
                                                          pipeline=goal.pipeline.name, stage=goal.name, note=j.note)))
        return out

    def logged(items: list[_GoalJudgement]) -> list[EvidenceRow]:
        return statement_rows(workspace, [j.statement for j in items],
                              _pages([j.goal for j in items if isinstance(j.goal, PipelineStage)]))

    by_status: dict[str, list[_GoalJudgement]] = defaultdict(list)
    for judgement in judgements:
        by_status[judgement.status].append(judgement)
    if by_status["sound"]:
        sound = by_status["sound"]
        return result("2.1.a", Verdict.MET,
                      _l("The candidate set %(count)d SMART goal(s) with a measurable target and a deadline.",
                         count=len(sound)), rows(sound), logged(sound))
    doubtful = by_status["partial"] + by_status["late"] + by_status["elsewhere"]
    if doubtful:
        return result("2.1.a", Verdict.CANT_TELL,
                      _l("The candidate set goals, but none is a SMART goal of the funnel the sheet asks for: "
                         "%(reasons)s.", reasons=joined({j.reason: j.note for j in doubtful}.values())),
                      rows(doubtful + by_status["off_subject"] + by_status["filler"]),
                      logged(doubtful))
    wrong = by_status["off_subject"] + by_status["filler"]
    if wrong:
        return result("2.1.a", Verdict.NOT_MET,
                      _l("The candidate's goals are filler or about another sale: no SMART goal for this sale."),
                      rows(wrong), logged(wrong))
    return result("2.1.a", Verdict.NOT_MET, _l("The candidate set no sales goal on a pipeline or stage."))


# --- 2.1.b -----------------------------------------------------------------------------------

def _working(stages: Sequence[PipelineStage]) -> list[PipelineStage]:
    """The stages a sale works through: the funnel without its final won/lost stages (0 % or 100 %)."""
    working = list(stages)
    while working and working[-1].probability in TERMINAL_PROBABILITIES:
        working.pop()
    return working


def _rising(stages: Sequence[PipelineStage]) -> bool:
    """Probabilities never fall from one stage to the next and do not all stay the same."""
    probabilities = [s.probability for s in stages]
    return all(a <= b for a, b in itertools.pairwise(probabilities)) and len(set(probabilities)) > 1


def _idea_coverage(stages: Sequence[PipelineStage], ideas: Sequence[str]) -> tuple[int, bool]:
    """How many of ``ideas`` the stage names follow, and whether in the ideas' order (each stage
    counts for the first idea it matches)."""
    found = [index for index in (first_match(stage.name, ideas) for stage in stages) if index is not None]
    return len(set(found)), all(a <= b for a, b in itertools.pairwise(found))


def _fit(stages: Sequence[PipelineStage], key: ScenarioKey) -> tuple[int, bool] | None:
    """The best coverage of the key's stage ideas or the sale kind's usual stages (None: nothing to judge by)."""
    candidates = [list(ideas) for ideas in key.values(STAGE_IDEAS)]
    if key.sale_kind in SALE_KIND_STAGES:
        candidates.append(list(SALE_KIND_STAGES[key.sale_kind]))
    if not candidates:
        return None
    return max((_idea_coverage(stages, ideas) for ideas in candidates),
               key=lambda c: (c[0] >= MIN_STAGE_IDEAS and c[1], c[0]))


@dataclass
class _FunnelJudgement:
    pipeline: Pipeline
    status: str  # sound | partial | wrong
    problems: list[Any]


def _judge_funnel(pipeline: Pipeline, own: set[int], key: ScenarioKey, scope: _Scope) -> _FunnelJudgement:
    stages = list(pipeline.stages)
    working = _working(stages)
    problems: list[Any] = []
    wrong = False
    if not scope.judged(pipeline.id):
        wrong = True
        problems.append(_l("a pipeline of the scenario, not a funnel the candidate designed"))
    mine = [s for s in working if s.id in own]
    if len(mine) < MIN_STAGES:
        problems.append(_l("%(count)d working stage(s) of the candidate's own (at least %(min)d)",
                           count=len(mine), min=MIN_STAGES))
    if not _rising(working):
        problems.append(_l("the probabilities do not rise from stage to stage"))
    fit = _fit(stages, key)
    if fit is not None:
        covered, in_order = fit
        if covered <= 1:
            wrong = True
            problems.append(_l("the stages do not follow this kind of sale"))
        elif covered < MIN_STAGE_IDEAS:
            problems.append(_l("the stages follow only %(count)d step(s) of this kind of sale", count=covered))
        if covered > 1 and not in_order:
            problems.append(_l("the stages are not in the order this kind of sale goes"))
    status = "wrong" if wrong else "partial" if problems else "sound"
    return _FunnelJudgement(pipeline, status, problems)


@check("2.1.b")
def stages_defined(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when a funnel has at least three working stages the candidate created, in an order
    whose win probabilities rise (never falling, not all equal; a final lost 0 % or won 100 %
    stage is not a working stage and may end the funnel), and — with the key's sale kind or
    stage ideas — whose names follow at least three steps of that kind of sale in order.

    Not met: only edits of a scenario's stages (not design), stages that do not follow the kind of
    sale at all, or stages put into a scenario's pipeline when the sheet asks for a new funnel.
    Can't tell: the candidate's own stages fail one of the rules (listed).
    """
    statements = candidate_statements(workspace, ["create", "update", "move"], ["pipeline_stage"])
    created = existing(workspace, PipelineStage,
                       ids_of(s for s in statements if s.verb == "create"))
    scope = _scope(workspace, key)
    own = {stage.id for stage in created}
    pipelines: dict[int, Pipeline] = {}
    for stage in created:
        pipelines.setdefault(stage.pipeline_id, stage.pipeline)
    judgements = [_judge_funnel(p, own, key, scope) for p in pipelines.values()]
    rank = {"sound": 0, "partial": 1, "wrong": 2}
    judgements.sort(key=lambda j: (rank[j.status], not scope.judged(j.pipeline.id)))

    def rows(items: list[_FunnelJudgement]) -> list[EvidenceRow]:
        out: list[EvidenceRow] = []
        for j in items:
            if j.problems:
                out.append(_pipeline_row(workspace, j.pipeline, _l("Pipeline: %(name)s (%(problems)s)",
                                                                   name=j.pipeline.name,
                                                                   problems=joined(j.problems))))
            out.extend(_numbered_stage_row(workspace, s) for s in j.pipeline.stages)
        return out

    logged = statement_rows(workspace, statements, _pages(created))
    if judgements and judgements[0].status == "sound":
        sound = [j for j in judgements if j.status == "sound"]
        return result("2.1.b", Verdict.MET,
                      _l("The candidate designed %(count)d funnel(s) with at least three stages of their own, "
                         "in the order this sale goes, with rising probabilities.", count=len(sound)),
                      rows(sound), logged)
    if judgements and judgements[0].status == "partial":
        return result("2.1.b", Verdict.CANT_TELL,
                      _l("The candidate created stages, but no funnel meets every rule of adequate stages "
                         "(see each pipeline)."), rows(judgements), logged)
    if judgements:
        return result("2.1.b", Verdict.NOT_MET,
                      _l("The candidate's stages do not make a funnel for this sale: %(pipelines)s.",
                         pipelines=_names([j.pipeline for j in judgements])), rows(judgements), logged)
    if statements:
        return result("2.1.b", Verdict.NOT_MET,
                      _l("The candidate only edited stages of the scenario: editing them is not designing a funnel."),
                      logged)
    return result("2.1.b", Verdict.NOT_MET, _l("The candidate defined no sales stages."))


# --- 2.1.c -----------------------------------------------------------------------------------

@check("2.1.c")
def stages_entered(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when at least two stages the candidate added (``create pipeline_stage``) still exist,
    named in words, in a funnel the sheet asks for (with the key's ``new_pipeline``: one of the
    candidate's own pipelines).

    Not met: none added, or added only to a scenario's pipeline when the sheet asks for a new
    funnel. Can't tell: fewer than two left (deleted since), or named with no real word ("a", "x").
    """
    statements = candidate_statements(workspace, ["create"], ["pipeline_stage"])
    stages = existing(workspace, PipelineStage, ids_of(statements))
    scope = _scope(workspace, key)
    judged = [s for s in stages if scope.judged(s.pipeline_id)]
    named = [s for s in judged if real_words(s.name)]
    logged = statement_rows(workspace, statements, _pages(stages))
    if len(named) >= 2:
        return result("2.1.c", Verdict.MET,
                      _l("The candidate entered %(count)d sales stages into the system.", count=len(named)),
                      [_stage_row(workspace, s) for s in named], logged)
    if judged:
        return result("2.1.c", Verdict.CANT_TELL,
                      _l("The candidate entered stages, but only %(count)d of them exist now with a name in words.",
                         count=len(named)), [_stage_row(workspace, s) for s in judged], logged)
    if stages:
        return result("2.1.c", Verdict.NOT_MET,
                      _l("The candidate entered stages only into the scenario's pipeline(s) %(pipelines)s, not into "
                         "the funnel the sheet asks for.", pipelines=_names([s.pipeline for s in stages])),
                      [_stage_row(workspace, s) for s in stages], logged)
    if statements:
        return result("2.1.c", Verdict.CANT_TELL,
                      _l("The candidate entered stages, but only %(count)d of them exist now with a name in words.",
                         count=0), logged)
    return result("2.1.c", Verdict.NOT_MET, _l("The candidate entered no sales stage."))


# --- 2.1.d -----------------------------------------------------------------------------------

def _template_row(workspace: Workspace, template: StageTask, label: Any = None) -> EvidenceRow:
    stage = template.stage
    return record_row(workspace, label or _l("Task of stage %(pipeline)s / %(stage)s: %(title)s",
                                             pipeline=stage.pipeline.name, stage=stage.name, title=template.title),
                      "stage_task", template.id, "sandbox.pipeline", pipeline_id=stage.pipeline_id)


@check("2.1.d")
def tasks_attached_to_stages(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when task templates the candidate attached to stages (created; titled in words) exist
    on a funnel the sheet asks for; with ``tasks_on_every_stage``, on every working stage of it.

    Not met: none, or only on a scenario's pipeline when the sheet asks for a new funnel. Can't
    tell: some working stages of the funnel have none; or no templates but tasks the candidate
    created linked to a stage.
    """
    statements = candidate_statements(workspace, ["create"], ["stage_task"])
    templates = [t for t in existing(workspace, StageTask, ids_of(statements)) if real_words(t.title)]
    scope = _scope(workspace, key)
    judged = [t for t in templates if scope.judged(t.stage.pipeline_id)]
    logged = statement_rows(workspace, statements, _pages(templates=templates))
    if judged:
        rows = [_template_row(workspace, t) for t in judged]
        if any(key.values(TASKS_ON_EVERY_STAGE)):
            with_tasks = {t.stage_id for t in judged}
            funnels = {t.stage.pipeline_id: t.stage.pipeline for t in judged}
            bare = {p.id: [s for s in _working(p.stages) if s.id not in with_tasks] for p in funnels.values()}
            best = min(funnels.values(), key=lambda p: (len(bare[p.id]), p.id))
            if bare[best.id]:
                return result("2.1.d", Verdict.CANT_TELL,
                              _l("The candidate attached tasks to stages of %(pipeline)s, but these stages have "
                                 "none: %(stages)s.", pipeline=best.name,
                                 stages=", ".join(s.name for s in bare[best.id])), rows, logged)
            return result("2.1.d", Verdict.MET,
                          _l("The candidate attached %(count)d task(s) to every working stage of %(pipeline)s.",
                             count=len([t for t in judged if t.stage.pipeline_id == best.id]), pipeline=best.name),
                          rows, logged)
        return result("2.1.d", Verdict.MET,
                      _l("The candidate attached %(count)d task(s) to %(stages)d stage(s).",
                         count=len(judged), stages=len({t.stage_id for t in judged})), rows, logged)
    if templates:
        return result("2.1.d", Verdict.NOT_MET,
                      _l("The candidate attached tasks only to stages of the scenario's pipeline(s) %(pipelines)s, "
                         "not to the funnel the sheet asks for.",
                         pipelines=_names([t.stage.pipeline for t in templates])),
                      [_template_row(workspace, t) for t in templates], logged)
    task_statements = candidate_statements(workspace, ["create", "update"], ["task"])
    staged = [t for t in existing(workspace, Task, ids_of(task_statements)) if t.stage_id is not None]
    if staged:
        return result("2.1.d", Verdict.CANT_TELL,
                      _l("The candidate attached no task to a stage definition, but created tasks linked to stages."),
                      [record_row(workspace, _l("Task: %(title)s", title=t.title), "task", t.id) for t in staged])
    return result("2.1.d", Verdict.NOT_MET, _l("The candidate attached no task to a sales stage."))


# --- 2.1.e -----------------------------------------------------------------------------------

@check("2.1.e")
def task_schedule_set(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when stage tasks the candidate created or edited (each has its due day: days after
    entering the stage, or a fixed date) on one funnel the sheet asks for fall on at least two
    different days of the pipeline's schedule (with the stages' planned lengths): a timetable,
    not a single point.

    Can't tell: one scheduled day only. Not met: no stage tasks of the candidate's, or only on a
    scenario's pipeline when the sheet asks for a new funnel.
    """
    statements = candidate_statements(workspace, ["create", "update"], ["stage_task"])
    templates = existing(workspace, StageTask, ids_of(statements))
    if not templates:
        return result("2.1.e", Verdict.NOT_MET, _l("The candidate scheduled no stage tasks."))
    scope = _scope(workspace, key)
    judged = [t for t in templates if scope.judged(t.stage.pipeline_id)]
    logged = statement_rows(workspace, statements, _pages(templates=templates))
    if not judged:
        return result("2.1.e", Verdict.NOT_MET,
                      _l("The candidate scheduled tasks only on the scenario's pipeline(s) %(pipelines)s, not on "
                         "the funnel the sheet asks for.", pipelines=_names([t.stage.pipeline for t in templates])),
                      [_template_row(workspace, t) for t in templates], logged)
    start = statement_day(statements[0])
    by_pipeline: dict[int, set[int]] = defaultdict(set)
    for template in judged:
        by_pipeline[template.stage.pipeline_id].add(template.id)
    best: tuple[Pipeline, list[Any]] | None = None
    for pipeline in existing(workspace, Pipeline, by_pipeline):
        schedule = pipeline_schedule(pipeline, start)
        mine = [(s, t) for s in schedule.stages for t in s.tasks if t.template.id in by_pipeline[pipeline.id]]
        if best is None or len({t.day for _s, t in mine}) > len({t.day for _s, t in best[1]}):
            best = (pipeline, mine)
    if best is None:  # cannot happen: the templates' pipelines are the workspace's
        return result("2.1.e", Verdict.NOT_MET, _l("The candidate scheduled no stage tasks."))
    pipeline, mine = best
    rows = [record_row(workspace, _l("Pipeline schedule: %(name)s", name=pipeline.name), "pipeline", pipeline.id,
                       "sandbox.pipeline_schedule", pipeline_id=pipeline.id)]
    for s, t in mine:
        label = (_l("%(stage)s: %(title)s — day %(day)d (fixed date %(date)s)", stage=s.stage.name,
                    title=t.template.title, day=t.day, date=t.template.due_date.isoformat())
                 if t.template.due_date else
                 _l("%(stage)s: %(title)s — day %(day)d (%(offset)d days after entering the stage)",
                    stage=s.stage.name, title=t.template.title, day=t.day, offset=t.template.due_offset_days or 0))
        rows.append(_template_row(workspace, t.template, label))
    days = {t.day for _s, t in mine}
    if len(days) >= 2:
        return result("2.1.e", Verdict.MET,
                      _l("The candidate scheduled %(count)d stage task(s) over %(days)d different days of pipeline "
                         "%(pipeline)s.", count=len(mine), days=len(days), pipeline=pipeline.name), rows, logged)
    return result("2.1.e", Verdict.CANT_TELL,
                  _l("The candidate's stage tasks all fall on one day: there is no timetable to judge."), rows, logged)
