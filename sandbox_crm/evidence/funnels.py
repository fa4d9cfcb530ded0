"""Evidence checks of 2.1.a–e: sales funnels designed by the candidate (SMART goal, stages in
order with probabilities, stages entered, tasks attached to stages, their schedule)."""
from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

from ..models import ActionStatement, Workspace
from ..models.sales import Pipeline, PipelineStage, StageTask, Task
from ..services.pipelines import GOAL_FIELDS, pipeline_schedule
from ..services.smart import ELEMENT_LABELS, SmartReport, check_goal_of
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

Goal = Pipeline | PipelineStage


def _pipeline_row(workspace: Workspace, pipeline: Pipeline, label: str | None = None) -> EvidenceRow:
    return record_row(workspace, label or f"Pipeline: {pipeline.name}", "pipeline", pipeline.id)


def _stage_row(workspace: Workspace, stage: PipelineStage, label: str | None = None) -> EvidenceRow:
    """A stage is shown on its pipeline's page."""
    return record_row(workspace, label or f"Stage: {stage.pipeline.name} / {stage.name}", "pipeline_stage",
                      stage.id, "sandbox.pipeline", pipeline_id=stage.pipeline_id)


def _pages(stages: Sequence[PipelineStage] = (), templates: Sequence[StageTask] = ()) -> dict:
    """Stages and their task templates are shown on their pipeline's page."""
    pages = {("pipeline_stage", s.id): ("sandbox.pipeline", {"pipeline_id": s.pipeline_id}) for s in stages}
    pages.update({("stage_task", t.id): ("sandbox.pipeline", {"pipeline_id": t.stage.pipeline_id})
                  for t in templates})
    return pages


@check("2.1.a")
def smart_goal_set(workspace: Workspace) -> CheckResult:
    """Met when a pipeline or stage whose goal the candidate set (created with goal fields, or
    changed them) has a goal that passes the sandbox's SMART check (specific in words, metric and
    target, achievable and relevant explained, deadline), judged as of the day the goal was set.

    A goal set but missing SMART elements: can't tell (the elements missing are listed). No goal
    set by the candidate (a scenario's goals do not count): not met.
    """
    statements = candidate_statements(workspace, ["create", "update"], ["pipeline", "pipeline_stage"])
    goal_statements = [s for s in statements if any(name in changes_of(s) for name in GOAL_FIELDS)]
    last: dict[tuple[str, int], ActionStatement] = {}
    for statement in goal_statements:
        object_id = object_id_of(statement)
        if object_id is not None:
            last[(statement.object_type, object_id)] = statement
    goals: list[tuple[Goal, ActionStatement]] = []
    goal_models: tuple[tuple[type[Goal], str], ...] = ((Pipeline, "pipeline"), (PipelineStage, "pipeline_stage"))
    for model, object_type in goal_models:
        for record in existing(workspace, model, [i for (t, i) in last if t == object_type]):
            goals.append((record, last[(object_type, record.id)]))
    complete: list[tuple[Goal, ActionStatement, SmartReport]] = []
    partial: list[tuple[Goal, ActionStatement, SmartReport]] = []
    for goal, statement in goals:
        report = check_goal_of(goal, statement_day(statement))
        (complete if report.ok else partial).append((goal, statement, report))

    def row(goal: Goal, note: str) -> EvidenceRow:
        if isinstance(goal, Pipeline):
            return _pipeline_row(workspace, goal, f"Pipeline goal: {goal.name} ({note})")
        return _stage_row(workspace, goal, f"Stage goal: {goal.pipeline.name} / {goal.name} ({note})")

    if complete:
        return result("2.1.a", Verdict.MET,
                      f"The candidate set {len(complete)} SMART goal(s) with a measurable target and a deadline.",
                      [row(goal, f"{goal.goal_metric} {goal.goal_target} by {goal.goal_deadline}")
                       for goal, _s, _r in complete],
                      statement_rows(workspace, [s for _g, s, _r in complete],
                                     _pages([g for g, _s, _r in complete if isinstance(g, PipelineStage)])))
    if partial:
        missing = sorted({str(ELEMENT_LABELS[e]) for _g, _s, report in partial for e in report.missing})
        return result("2.1.a", Verdict.CANT_TELL,
                      f"The candidate set goals, but none passes the SMART check (missing: {', '.join(missing)}).",
                      [row(goal, "missing: " + ", ".join(str(ELEMENT_LABELS[e]) for e in report.missing))
                       for goal, _s, report in partial],
                      statement_rows(workspace, [s for _g, s, _r in partial],
                                     _pages([g for g, _s, _r in partial if isinstance(g, PipelineStage)])))
    return result("2.1.a", Verdict.NOT_MET, "The candidate set no sales goal on a pipeline or stage.")


def _stage_statements(workspace: Workspace) -> list[ActionStatement]:
    return candidate_statements(workspace, ["create", "update", "move"], ["pipeline_stage"])


def _rising(stages: list[PipelineStage]) -> bool:
    """Probabilities never fall from one stage to the next and do not all stay the same."""
    probabilities = [s.probability for s in stages]
    return all(a <= b for a, b in itertools.pairwise(probabilities)) and len(set(probabilities)) > 1


@check("2.1.b")
def stages_defined(workspace: Workspace) -> CheckResult:
    """Met when a pipeline has at least three stages that the candidate created or edited, in an
    order whose win probabilities rise from stage to stage (never falling, not all equal).

    Stages worked on but fewer than three, or probabilities that do not rise: can't tell.
    No stage created or edited by the candidate: not met.
    """
    statements = _stage_statements(workspace)
    stages = existing(workspace, PipelineStage, ids_of(statements))
    by_pipeline: dict[int, list[PipelineStage]] = defaultdict(list)
    for stage in stages:
        by_pipeline[stage.pipeline_id].append(stage)
    good: list[Pipeline] = []
    other: list[Pipeline] = []
    for _pipeline_id, touched in by_pipeline.items():
        pipeline = touched[0].pipeline
        ordered = list(pipeline.stages)
        (good if len(touched) >= 3 and _rising(ordered) else other).append(pipeline)
    if good:
        return result("2.1.b", Verdict.MET,
                      f"The candidate defined {len(good)} pipeline(s) with at least three stages in order "
                      "with rising probabilities.",
                      [_stage_row(workspace, s, f"Stage {s.position}: {s.name} ({s.probability}%)")
                       for p in good for s in p.stages],
                      statement_rows(workspace, statements, _pages(stages)))
    if other:
        return result("2.1.b", Verdict.CANT_TELL,
                      "The candidate worked on stages, but no pipeline has three of them with rising "
                      "probabilities.",
                      [_stage_row(workspace, s, f"Stage {s.position}: {s.name} ({s.probability}%)")
                       for p in other for s in p.stages],
                      statement_rows(workspace, statements, _pages(stages)))
    return result("2.1.b", Verdict.NOT_MET, "The candidate defined no sales stages.")


@check("2.1.c")
def stages_entered(workspace: Workspace) -> CheckResult:
    """Met when at least two stages the candidate added to the system (``create pipeline_stage``
    statements) still exist.

    Stages added but (all but one) deleted since: can't tell. None added: not met.
    """
    statements = candidate_statements(workspace, ["create"], ["pipeline_stage"])
    stages = existing(workspace, PipelineStage, ids_of(statements))
    rows = [_stage_row(workspace, s) for s in stages]
    if len(stages) >= 2:
        return result("2.1.c", Verdict.MET, f"The candidate entered {len(stages)} sales stages into the system.",
                      rows, statement_rows(workspace, statements, _pages(stages)))
    if statements:
        return result("2.1.c", Verdict.CANT_TELL,
                      f"The candidate entered stages, but only {len(stages)} of them exist now.",
                      rows, statement_rows(workspace, statements, _pages(stages)))
    return result("2.1.c", Verdict.NOT_MET, "The candidate entered no sales stage.")


def _candidate_templates(workspace: Workspace) -> tuple[list[StageTask], list[ActionStatement]]:
    statements = candidate_statements(workspace, ["create", "update"], ["stage_task"])
    return existing(workspace, StageTask, ids_of(statements)), statements


def _template_row(workspace: Workspace, template: StageTask, label: str | None = None) -> EvidenceRow:
    stage = template.stage
    return record_row(workspace, label or f"Task of stage {stage.pipeline.name} / {stage.name}: {template.title}",
                      "stage_task", template.id, "sandbox.pipeline", pipeline_id=stage.pipeline_id)


@check("2.1.d")
def tasks_attached_to_stages(workspace: Workspace) -> CheckResult:
    """Met when task templates the candidate attached to stages (created or edited) exist.

    No templates, but tasks the candidate created linked to a stage: can't tell. Neither: not met.
    """
    templates, statements = _candidate_templates(workspace)
    if templates:
        stages = {t.stage_id for t in templates}
        return result("2.1.d", Verdict.MET,
                      f"The candidate attached {len(templates)} task(s) to {len(stages)} stage(s).",
                      [_template_row(workspace, t) for t in templates],
                      statement_rows(workspace, statements, _pages(templates=templates)))
    task_statements = candidate_statements(workspace, ["create", "update"], ["task"])
    staged = [t for t in existing(workspace, Task, ids_of(task_statements)) if t.stage_id is not None]
    if staged:
        return result("2.1.d", Verdict.CANT_TELL,
                      "The candidate attached no task to a stage definition, but created tasks linked to stages.",
                      [record_row(workspace, f"Task: {t.title}", "task", t.id) for t in staged])
    return result("2.1.d", Verdict.NOT_MET, "The candidate attached no task to a sales stage.")


@check("2.1.e")
def task_schedule_set(workspace: Workspace) -> CheckResult:
    """Met when the candidate's stage tasks of one pipeline fall on at least two different days
    of the pipeline's schedule (days after entering the stage or fixed dates, with the stages'
    planned lengths), i.e. they make a timetable, not a single point.

    A single scheduled task (or all on one day): can't tell. No stage tasks by the candidate: not met.
    """
    templates, statements = _candidate_templates(workspace)
    if not templates:
        return result("2.1.e", Verdict.NOT_MET, "The candidate scheduled no stage tasks.")
    start = statement_day(statements[0])
    by_pipeline: dict[int, set[int]] = defaultdict(set)
    for template in templates:
        by_pipeline[template.stage.pipeline_id].add(template.id)
    best: tuple[Pipeline, list] | None = None
    for pipeline in existing(workspace, Pipeline, by_pipeline):
        schedule = pipeline_schedule(pipeline, start)
        mine = [(s, t) for s, t in schedule.tasks if t.template.id in by_pipeline[pipeline.id]]
        if best is None or len({t.day for _s, t in mine}) > len({t.day for _s, t in best[1]}):
            best = (pipeline, mine)
    if best is None:  # cannot happen: the templates' pipelines are the workspace's
        return result("2.1.e", Verdict.NOT_MET, "The candidate scheduled no stage tasks.")
    pipeline, mine = best
    rows = [record_row(workspace, f"Pipeline schedule: {pipeline.name}", "pipeline", pipeline.id,
                       "sandbox.pipeline_schedule", pipeline_id=pipeline.id)]
    rows += [_template_row(workspace, t.template,
                           f"{s.stage.name}: {t.template.title} — day {t.day}"
                           + (f" (fixed date {t.template.due_date})" if t.template.due_date
                              else f" ({t.template.due_offset_days} days after entering the stage)"))
             for s, t in mine]
    days = {t.day for _s, t in mine}
    if len(days) >= 2:
        return result("2.1.e", Verdict.MET,
                      f"The candidate scheduled {len(mine)} stage task(s) over {len(days)} different days "
                      f"of pipeline {pipeline.name}.", rows,
                      statement_rows(workspace, statements, _pages(templates=templates)))
    return result("2.1.e", Verdict.CANT_TELL,
                  "The candidate's stage tasks all fall on one day: there is no timetable to judge.",
                  rows, statement_rows(workspace, statements, _pages(templates=templates)))
