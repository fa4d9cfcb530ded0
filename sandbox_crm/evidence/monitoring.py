"""Evidence checks of 2.3.a–d: task lists for a period, priorities, reading completion, reading
the value of opportunities per stage.

Opening a page is not logged, so *reading* leaves evidence only where the candidate records
what they read: an answer beside the task of the sheet (``sandbox_crm.api.record_answer``), or a
note at the company the sheet names. 2.3.c and 2.3.d compare those figures with the workspace's
true figures at the moment they were recorded, rebuilt from the log (:mod:`.history`); how the
Polish text is read and how close a figure must be is documented in :mod:`.figures`.

Where the key names targets (the period of the task list, the task to mark done, the
priorities, where the reading is recorded and which pipeline is read), the checks judge against
them; without targets, by the criterion's own meaning.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from ..models import ActionStatement, Company, CustomerEvent, Workspace
from ..models.sales import PRIORITIES, StageTask, Task
from ..services.sales_util import local_today, to_local
from . import figures as fig
from . import history
from .base import CheckResult, EvidenceRow, Verdict, check
from .common import (
    MAX_ROWS,
    candidate_statements,
    changes_of,
    details_of,
    existing,
    folded,
    ids_of,
    object_id_of,
    pair,
    record_row,
    result,
    statement_day,
    statement_row,
)
from .key import ScenarioKey, target_kind

PERIOD_KEYS = ("period", "date_from", "date_to")
ANSWER_VERB, ANSWER_OBJECT = "answer", "sheet_task"
# A figure group the sheet may ask for: "completion" is the number done or the share done.
COMPLETION = "completion"
FIGURE_GROUPS = (COMPLETION, fig.IN_PROGRESS, fig.OPEN, fig.OVERDUE)
MAX_PERIOD_DAYS = 31
# How much of a recorded text an evidence row quotes.
QUOTE_CHARS = 300


class Joined:
    """Lazy messages joined when rendered, so a summary's parameter is read in the reader's language."""

    def __init__(self, parts: Iterable[Any], separator: str = "; ") -> None:
        self.parts = list(parts)
        self.separator = separator

    def __str__(self) -> str:
        return self.separator.join(str(part) for part in self.parts)


# --- the key's targets -----------------------------------------------------------------------

def _titles(value: object) -> str | None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        return "expected a list of task titles as the sheet gives them"
    return None


def _period(value: object) -> str | None:
    if not isinstance(value, dict) or len(value) != 1:
        return "expected {days: N} (the N days from the day the candidate plans) or {week: this|next}"
    if "days" in value:
        days = value["days"]
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_PERIOD_DAYS:
            return f"days: expected a whole number of days from 1 to {MAX_PERIOD_DAYS}"
        return None
    if value.get("week") in ("this", "next"):
        return None
    return "expected {days: N} or {week: this|next}"


def _priorities(value: object) -> str | None:
    if not isinstance(value, dict) or not value:
        return "expected {task title: priority, or a list of the priorities the sheet allows}"
    for title, priority in value.items():
        allowed = priority if isinstance(priority, list) else [priority]
        if not isinstance(title, str) or not title.strip() or not allowed or any(p not in PRIORITIES for p in allowed):
            return f"expected {{task title: one of {', '.join(PRIORITIES)} (or a list of them)}}"
    return None


def _allowed(priority: Any) -> list[str]:
    return [str(p) for p in priority] if isinstance(priority, list) else [str(priority)]


def _record_place(value: object, required: tuple[str, ...], optional: tuple[str, ...]) -> str | None:
    if not isinstance(value, dict):
        return "expected a mapping"
    unknown = set(value) - set(required) - set(optional)
    if unknown:
        return f"unknown key(s) {', '.join(sorted(map(str, unknown)))} (expected: {', '.join(required + optional)})"
    for name in required:
        if not isinstance(value.get(name), str) or not value[name].strip():
            return f"{name}: expected a name as the sheet gives it"
    if "note_at" in value and (not isinstance(value["note_at"], str) or not value["note_at"].strip()):
        return "note_at: expected the company's name"
    return None


def _completion_record(value: object) -> str | None:
    problem = _record_place(value, (), ("figures", "note_at"))
    if problem is None and isinstance(value, dict) and "figures" in value:
        wanted = value["figures"]
        if not isinstance(wanted, list) or not wanted or any(f not in FIGURE_GROUPS for f in wanted):
            return f"figures: expected a list of: {', '.join(FIGURE_GROUPS)}"
    return problem


def _stage_values_record(value: object) -> str | None:
    return _record_place(value, ("pipeline",), ("note_at",))


TASK_PERIOD = target_kind(
    "task_period", "the period the sheet's task list is for: {days: N} (from the day the candidate plans "
                   "to N days later) or {week: this|next} (a calendar week)", _period)
MARK_DONE = target_kind("mark_done", "tasks the sheet says to mark done (titles)", _titles)
TASK_PRIORITY = target_kind("task_priority", "tasks the sheet gives a priority: {task title: priority, or a list of "
                                             "the priorities the sheet allows}", _priorities)
COMPLETION_RECORD = target_kind(
    "completion_record", "the task completion the candidate reads, recorded in the answer field of the task "
                         "(and in a note at the company note_at, if the sheet says so); figures: what the sheet "
                         f"asks for ({', '.join(FIGURE_GROUPS)})", _completion_record)
STAGE_VALUES_RECORD = target_kind(
    "stage_values_record", "the pipeline whose open values per stage the candidate reads, recorded in the answer "
                           "field of the task (and in a note at note_at, if the sheet says so)", _stage_values_record)


# --- rows ------------------------------------------------------------------------------------

def _task_row(workspace: Workspace, task: Task, note: Any = None) -> EvidenceRow:
    label = _l("Task: %(title)s (%(note)s)", title=task.title, note=note) if note is not None else \
        _l("Task: %(title)s", title=task.title)
    return record_row(workspace, label, "task", task.id)


ACTION_LABELS: dict[tuple[str, str], Callable[[str], Any]] = {
    ("create", "task"): lambda name: _l("Task created: %(name)s", name=name),
    ("update", "task"): lambda name: _l("Task changed: %(name)s", name=name),
    ("complete", "task"): lambda name: _l("Task marked done: %(name)s", name=name),
    ("create", "stage_task"): lambda name: _l("Stage task created: %(name)s", name=name),
    ("update", "stage_task"): lambda name: _l("Stage task changed: %(name)s", name=name),
    ("filter", "task"): lambda name: _l("Task list filtered (%(name)s)", name=name),
    ("filter", "board"): lambda name: _l("Sales board filtered (%(name)s)", name=name),
    ("filter", "opportunity"): lambda name: _l("Opportunity list filtered (%(name)s)", name=name),
    ("filter", "report"): lambda name: _l("Report filtered (%(name)s)", name=name),
    ("generate", "report"): lambda name: _l("Report generated (%(name)s)", name=name),
    ("export", "report"): lambda name: _l("Report exported (%(name)s)", name=name),
}


def _log_rows(workspace: Workspace, statements: Sequence[ActionStatement]) -> list[EvidenceRow]:
    """Evidence rows of log statements, labelled with a message naming the action."""
    rows = []
    for statement in statements[:MAX_ROWS]:
        filters = details_of(statement).get("filters")
        name = statement.object_name or (", ".join(f"{k}: {v}" for k, v in sorted(filters.items()))
                                         if isinstance(filters, dict) else "")
        labelled = ACTION_LABELS.get((statement.verb, statement.object_type))
        label = labelled(name) if labelled is not None else \
            _l("%(verb)s %(object)s: %(name)s", verb=statement.verb, object=statement.object_type, name=name)
        rows.append(statement_row(workspace, statement, label))
    return rows


def _when(statement: ActionStatement) -> str:
    return f"{to_local(statement.timestamp):%Y-%m-%d %H:%M}"


# --- 2.3.a -----------------------------------------------------------------------------------

def _window(period: dict[str, Any], planned: date) -> tuple[date, date]:
    """The first and last day of the period the sheet asks for, as seen on the day the task was planned."""
    if "days" in period:
        return planned, planned + timedelta(days=int(period["days"]))
    monday = planned - timedelta(days=planned.weekday())
    if period.get("week") == "next":
        return monday + timedelta(days=7), monday + timedelta(days=13)
    return planned, monday + timedelta(days=6)


@dataclass
class _Planned:
    """The candidate's tasks with due dates, split by whether they fall in the sheet's period."""

    inside: list[Task] = field(default_factory=list)
    outside: list[Task] = field(default_factory=list)
    statements: list[ActionStatement] = field(default_factory=list)


def _planned(workspace: Workspace, period: dict[str, Any] | None) -> _Planned:
    created = candidate_statements(workspace, ["create"], ["task"])
    day_of = {object_id_of(s): statement_day(s) for s in created}
    planned = _Planned(statements=created)
    for task in existing(workspace, Task, ids_of(created)):
        if task.due_at is None:
            continue
        if period is None:
            planned.inside.append(task)
            continue
        first, last = _window(period, day_of.get(task.id) or local_today())
        due = local_today(task.due_at)
        (planned.inside if first <= due <= last else planned.outside).append(task)
    return planned


def _due_row(workspace: Workspace, task: Task) -> EvidenceRow:
    return _task_row(workspace, task, _l("due %(day)s", day=f"{local_today(task.due_at):%Y-%m-%d}"))


def _marked_done(workspace: Workspace, titles: Sequence[str]) -> tuple[list[Task], list[str]]:
    """The named tasks the candidate marked done (still done), and the titles not marked."""
    statements = [s for s in candidate_statements(workspace, ["complete", "update"], ["task"])
                  if s.verb == "complete" or (pair(changes_of(s), "status") or (None, None))[1] == "done"]
    done = {folded(t.title): t for t in existing(workspace, Task, ids_of(statements)) if t.status == "done"}
    return [done[folded(t)] for t in titles if folded(t) in done], [t for t in titles if folded(t) not in done]


@check("2.3.a")
def task_list_for_period(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Without targets: met when the candidate listed tasks for a period — a task-list filter with
    a period (today, this week, a range …), a task report limited to dates, or at least two tasks
    the candidate created with due dates; otherwise not met.

    With the key's ``task_period``: met when at least two tasks the candidate created are due in
    that period (counted from the day each was planned); one such task, or only a list viewed
    for a period: can't tell; tasks planned only outside the period: not met. With ``mark_done``
    also: a named task the candidate has not marked done makes a met list can't tell.
    """
    filters = [s for s in candidate_statements(workspace, ["filter"], ["task"])
               if any((details_of(s).get("filters") or {}).get(name) for name in PERIOD_KEYS)]
    reports = [s for s in candidate_statements(workspace, ["filter"], ["report"])
               if details_of(s).get("source") == "tasks"
               and (details_of(s).get("date_from") or details_of(s).get("date_to"))]
    periods = key.values(TASK_PERIOD)
    planned = _planned(workspace, periods[0] if periods else None)
    viewed = _log_rows(workspace, filters + reports)
    if not periods:
        if filters or reports or len(planned.inside) >= 2:
            return result("2.3.a", Verdict.MET,
                          _l("The candidate listed tasks for a period %(lists)d time(s) and planned %(tasks)d "
                             "task(s) with due dates.", lists=len(filters) + len(reports), tasks=len(planned.inside)),
                          viewed, [_due_row(workspace, t) for t in planned.inside])
        return result("2.3.a", Verdict.NOT_MET, _l("The candidate made no task list for a period."))
    rows = [_due_row(workspace, t) for t in planned.inside + planned.outside]
    if len(planned.inside) >= 2:
        done, missing = _marked_done(workspace, [t for titles in key.values(MARK_DONE) for t in titles])
        done_rows = [_task_row(workspace, t, _l("marked done")) for t in done]
        if missing:
            return result("2.3.a", Verdict.CANT_TELL,
                          _l("The candidate planned %(count)d task(s) in the period the sheet asks for, but has not "
                             "marked done: %(titles)s.", count=len(planned.inside), titles=", ".join(missing)),
                          rows, done_rows, viewed)
        return result("2.3.a", Verdict.MET,
                      _l("The candidate planned %(count)d task(s) due in the period the sheet asks for.",
                         count=len(planned.inside)), rows, done_rows, viewed)
    if planned.inside:
        return result("2.3.a", Verdict.CANT_TELL,
                      _l("The candidate planned only one task in the period the sheet asks for."), rows, viewed)
    if planned.outside:
        return result("2.3.a", Verdict.NOT_MET,
                      _l("The candidate planned tasks only outside the period the sheet asks for (%(count)d).",
                         count=len(planned.outside)), rows, viewed)
    if filters or reports:
        return result("2.3.a", Verdict.CANT_TELL,
                      _l("The candidate viewed tasks for a period but planned no tasks in the period the sheet "
                         "asks for."), viewed)
    return result("2.3.a", Verdict.NOT_MET, _l("The candidate made no task list for a period."))


# --- 2.3.b -----------------------------------------------------------------------------------

def _prioritised(workspace: Workspace) -> tuple[list[ActionStatement], list[ActionStatement]]:
    """The candidate's task statements, and those giving a priority other than "normal"."""
    statements = candidate_statements(workspace, ["create", "update", "complete"], ["task", "stage_task"])
    chosen = [s for s in statements
              if (change := pair(changes_of(s), "priority")) is not None and change[1] not in (None, "normal")]
    return statements, chosen


def _named_priorities(workspace: Workspace, wanted: dict[str, Any]) -> tuple[Verdict, Any, list[EvidenceRow]]:
    """Whether the tasks the key names carry the priority it gives them."""
    tasks = {folded(t.title): t for t in existing(workspace, Task, ids_of(candidate_statements(workspace, None, ["task"])))}
    rows = [_task_row(workspace, tasks[folded(title)], _l("priority %(priority)s", priority=tasks[folded(title)].priority))
            for title in wanted if folded(title) in tasks]
    wrong = [f"{title} ({tasks[folded(title)].priority})" for title, priority in wanted.items()
             if folded(title) in tasks and tasks[folded(title)].priority not in _allowed(priority)]
    missing = [title for title in wanted if folded(title) not in tasks]
    if wrong:
        return Verdict.NOT_MET, _l("The candidate gave another priority than the sheet says to: %(tasks)s.",
                                   tasks=", ".join(wrong)), rows
    if missing:
        return Verdict.NOT_MET, _l("The candidate made no task %(titles)s with the priority the sheet gives.",
                                   titles=", ".join(missing)), rows
    return Verdict.MET, _l("The tasks the sheet names have the priority it gives them."), rows


@check("2.3.b")
def task_priorities_set(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Without targets: met when the candidate gave a task (or a stage's task template) a priority
    other than the default "normal", on creating it or by changing it; the candidate's tasks
    all left at "normal": can't tell (it may have been chosen); no tasks by the candidate: not met.

    With the key's ``task_priority``: each named task must carry the named priority (another
    priority, or no such task: not met). With ``task_period``: the tasks the candidate planned in
    that period must carry priorities (not all "normal"); priorities given only to other tasks:
    not met. Both named: the worse of the two.
    """
    statements, prioritised = _prioritised(workspace)
    levels = sorted({str(changes_of(s)["priority"][1]) for s in prioritised})
    tasks = existing(workspace, Task, ids_of(s for s in prioritised if s.object_type == "task"))
    templates = existing(workspace, StageTask, ids_of(s for s in prioritised if s.object_type == "stage_task"))
    rows = [_task_row(workspace, t, _l("priority %(priority)s", priority=t.priority)) for t in tasks] + [
        record_row(workspace, _l("Stage task: %(title)s (priority %(priority)s)", title=t.title, priority=t.priority),
                   "stage_task", t.id, "sandbox.stage_task_edit", template_id=t.id) for t in templates]
    parts: list[tuple[Verdict, Any, list[EvidenceRow]]] = []
    wanted = {title: priority for mapping in key.values(TASK_PRIORITY) for title, priority in mapping.items()}
    if wanted:
        parts.append(_named_priorities(workspace, wanted))
    periods = key.values(TASK_PERIOD)
    if periods:
        inside = _planned(workspace, periods[0]).inside
        listed = [t for t in inside if t.priority != "normal"]
        list_rows = [_task_row(workspace, t, _l("priority %(priority)s", priority=t.priority)) for t in inside]
        if listed:
            parts.append((Verdict.MET, _l("The candidate gave priorities (%(levels)s) to the tasks planned for the "
                                          "period.", levels=", ".join(sorted({t.priority for t in listed}))), list_rows))
        elif inside and prioritised:
            parts.append((Verdict.NOT_MET, _l("The candidate gave priorities only to tasks outside the list the sheet "
                                              "asks for."), list_rows))
        elif inside:
            parts.append((Verdict.CANT_TELL, _l("The tasks the candidate planned for the period all have the default "
                                                "priority (normal)."), list_rows))
    if parts:
        order = (Verdict.NOT_MET, Verdict.CANT_TELL, Verdict.MET)
        worst = min(parts, key=lambda part: order.index(part[0]))
        return result("2.3.b", worst[0], worst[1], [row for part in parts for row in part[2]],
                      _log_rows(workspace, prioritised))
    if prioritised:
        return result("2.3.b", Verdict.MET,
                      _l("The candidate set task priorities (%(levels)s) %(count)d time(s).",
                         levels=", ".join(levels), count=len(prioritised)),
                      rows, _log_rows(workspace, prioritised))
    if statements:
        return result("2.3.b", Verdict.CANT_TELL, _l("The candidate's tasks all have the default priority (normal)."),
                      _log_rows(workspace, statements))
    return result("2.3.b", Verdict.NOT_MET, _l("The candidate set no task priority."))


# --- what the candidate recorded -------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    """Something the candidate wrote down: an answer beside a task of the sheet, or a note at a customer."""

    statement: ActionStatement
    text: str
    task: int | None = None
    company_id: int | None = None
    company_name: str | None = None

    @property
    def source(self) -> Any:
        if self.task is not None:
            return _l("answer to task %(task)d", task=self.task)
        return _l("note at %(company)s", company=self.company_name or "?")

    def row(self, workspace: Workspace) -> EvidenceRow:
        quote = self.text if len(self.text) <= QUOTE_CHARS else self.text[:QUOTE_CHARS] + "…"
        page = ("sandbox.company", {"company_id": self.company_id}) if self.company_id is not None else None
        return statement_row(workspace, self.statement,
                             _l("%(source)s, %(time)s: “%(text)s”", source=self.source, time=_when(self.statement),
                                text=quote), page=page)


def _answers(workspace: Workspace, tasks: set[int] | None) -> list[Record]:
    """The candidate's latest answer to each task of the sheet (of ``tasks``, or all)."""
    latest: dict[int, ActionStatement] = {}
    for statement in candidate_statements(workspace, [ANSWER_VERB], [ANSWER_OBJECT]):
        number = object_id_of(statement)
        if number is not None and (tasks is None or number in tasks):
            latest[number] = statement
    return [Record(statement=s, text=str(details_of(s).get("text") or ""), task=n) for n, s in sorted(latest.items())]


def _notes(workspace: Workspace) -> list[Record]:
    """Every note (call, meeting, e-mail) the candidate wrote in a customer's history, with its company."""
    statements = candidate_statements(workspace, ["create"], ["customer_event"])
    events = {e.id: e for e in existing(workspace, CustomerEvent, ids_of(statements))}
    companies = {c.id: c for c in existing(workspace, Company, {e.company_id for e in events.values() if e.company_id})}
    records = []
    for statement in statements:
        event = events.get(object_id_of(statement) or 0)
        logged = details_of(statement)
        company_id = event.company_id if event is not None else (
            logged.get("customer_id") if logged.get("customer_type") == "company" else None)
        company = companies.get(company_id) if isinstance(company_id, int) else None
        records.append(Record(statement=statement, text=event.summary if event is not None else str(logged.get("summary") or ""),
                              company_id=company.id if company else None,
                              company_name=company.name if company else None))
    return records


def _named(name: str | None, wanted: str) -> bool:
    """A company's name as the key gives it, the legal form ("Sp. z o.o.") allowed to follow."""
    have, want = folded(name), folded(wanted)
    return bool(have) and (have == want or have.startswith(want + " "))


def _places(workspace: Workspace, targets: Sequence[Any]) -> tuple[list[Record], list[Record], Any]:
    """The records where the key says the reading goes, the candidate's other records, and how the
    place is named in messages."""
    tasks = {t.task for t in targets}
    note_at = next((t.value.get("note_at") for t in targets if t.value.get("note_at")), None)
    answers = _answers(workspace, None)
    notes = _notes(workspace)
    chosen = [r for r in answers if r.task in tasks]
    chosen += [r for r in notes if note_at and _named(r.company_name, note_at)]
    others = [r for r in answers + notes if r not in chosen]
    numbers = ", ".join(str(t) for t in sorted(tasks))
    place = _l("the answer to task %(task)s or a note at %(company)s", task=numbers, company=note_at) if note_at \
        else _l("the answer to task %(task)s", task=numbers)
    return chosen, others, place


@dataclass
class Judgement:
    """How a record's figures compare with the true ones at its moment."""

    record: Record
    agreeing: list[Any] = field(default_factory=list)
    differences: list[Any] = field(default_factory=list)
    missing: list[Any] = field(default_factory=list)
    truth: Any = ""

    @property
    def verdict(self) -> Verdict:
        if self.differences:
            return Verdict.CANT_TELL if self.agreeing else Verdict.NOT_MET
        return Verdict.CANT_TELL if self.missing else Verdict.MET

    @property
    def recorded(self) -> bool:
        return bool(self.agreeing or self.differences)


def _difference(label: Any, recorded: Any, true: Any) -> Any:
    return _l("%(figure)s: recorded %(recorded)s, true %(true)s", figure=label, recorded=recorded, true=true)


def _best(judgements: list[Judgement]) -> Judgement | None:
    """The judgement to report: the candidate's latest reading with figures — their last word.

    Not the latest one that agrees: a candidate who notes several guesses (4, then 5, then 6 done)
    would have one of them called "met" without having read anything. A reading corrected later
    is judged by the correction; each reading is judged against the workspace at its own moment."""
    with_figures = [j for j in judgements if j.recorded]
    return max(with_figures, key=lambda j: j.record.statement.id) if with_figures else None


def _verdict_of(code: str, judgement: Judgement, workspace: Workspace, extra: Iterable[EvidenceRow] = ()) -> CheckResult:
    source, when = judgement.record.source, _when(judgement.record.statement)
    rows = [judgement.record.row(workspace), EvidenceRow(label=judgement.truth), *extra]
    verdict = judgement.verdict
    if verdict is Verdict.MET:
        summary = _l("What the candidate recorded (%(source)s, %(time)s) agrees with the workspace at that moment: "
                     "%(figures)s.", source=source, time=when, figures=Joined(judgement.agreeing, ", "))
    elif judgement.differences:
        summary = _l("What the candidate recorded (%(source)s, %(time)s) disagrees with the workspace at that moment: "
                     "%(differences)s.", source=source, time=when, differences=Joined(judgement.differences))
    else:
        summary = _l("What the candidate recorded (%(source)s, %(time)s) agrees with the workspace at that moment, "
                     "but leaves out: %(missing)s.", source=source, time=when, missing=Joined(judgement.missing, ", "))
    return result(code, verdict, summary, rows)


def _elsewhere(code: str, judgements: list[Judgement], place: Any, workspace: Workspace) -> CheckResult | None:
    """A reading recorded, but not where the sheet asks."""
    chosen = _best(judgements)
    if chosen is None:
        return None
    rows = [chosen.record.row(workspace), EvidenceRow(label=chosen.truth)]
    if chosen.verdict is Verdict.MET:
        return result(code, Verdict.CANT_TELL,
                      _l("What the candidate recorded (%(source)s, %(time)s) agrees with the workspace at that moment, "
                         "but it is not where the sheet asks (%(place)s).", source=chosen.record.source,
                         time=_when(chosen.record.statement), place=place), rows)
    return result(code, Verdict.NOT_MET,
                  _l("The candidate recorded figures only elsewhere than the sheet asks (%(place)s), and they disagree "
                     "with the workspace at that moment: %(differences)s.", place=place,
                     differences=Joined(chosen.differences or chosen.missing)), rows)


# --- 2.3.c -----------------------------------------------------------------------------------

FIGURE_LABELS = {
    fig.DONE: _l("done"), fig.IN_PROGRESS: _l("in progress"), fig.OPEN: _l("not started"),
    fig.OVERDUE: _l("overdue"), fig.TOTAL: _l("all tasks"), fig.SHARE: _l("share done"),
    fig.AVERAGE: _l("average progress"), COMPLETION: _l("done or the share done"),
}


def _completion_truth(figures: history.CompletionFigures) -> Any:
    return _l("The CRM then showed %(total)d task(s): %(done)d done (%(share)s%%), %(in_progress)d in progress, "
              "%(open)d not started, %(overdue)d overdue, %(cancelled)d cancelled; average progress %(average)s%%.",
              total=figures.total, done=figures.done, share=figures.share_done, in_progress=figures.in_progress,
              open=figures.open, overdue=figures.overdue, cancelled=figures.cancelled,
              average=figures.average_percent)


def judge_completion(record: Record, tasks: Sequence[history.TaskState], required: Sequence[str]) -> Judgement:
    """Compare the completion figures written in ``record`` with ``tasks`` as they were then."""
    truth = history.completion_at(tasks, record.statement.timestamp)
    written = fig.parse_completion(record.text, [t.title for t in tasks])
    judgement = Judgement(record=record, truth=_completion_truth(truth))
    accepted = {fig.DONE: {truth.done}, fig.IN_PROGRESS: {truth.in_progress, truth.active},
                fig.OPEN: {truth.open, truth.active}, fig.OVERDUE: {truth.overdue},
                fig.TOTAL: {truth.total, truth.total - truth.cancelled}}
    shown = {fig.DONE: truth.done, fig.IN_PROGRESS: truth.in_progress, fig.OPEN: truth.open,
             fig.OVERDUE: truth.overdue, fig.TOTAL: truth.total}
    for kind, value in written.counts.items():
        label = FIGURE_LABELS[kind]
        if value in accepted[kind]:
            judgement.agreeing.append(_l("%(figure)s %(value)d", figure=label, value=value))
        else:
            judgement.differences.append(_difference(label, value, shown[kind]))
    percentages = ((fig.SHARE, written.share_done, (truth.share_done, truth.share_done_of_all)),
                   (fig.AVERAGE, written.average, (truth.average_percent,)))
    for kind, percent, true in percentages:
        if percent is None:
            continue
        if fig.percent_agrees(percent, *true):
            judgement.agreeing.append(_l("%(figure)s %(value)s%%", figure=FIGURE_LABELS[kind], value=percent))
        else:
            judgement.differences.append(_difference(FIGURE_LABELS[kind], f"{percent}%", f"{true[0]}%"))
    if written.overdue_titles is not None:
        named = {tasks[i].id for i in written.overdue_titles}
        overdue_titles = sorted(t.title for t in tasks if t.id in truth.overdue_ids)
        if named == set(truth.overdue_ids):
            judgement.agreeing.append(_l("overdue tasks by name (%(count)d)", count=len(named)))
        else:
            judgement.differences.append(_difference(
                _l("overdue tasks"), ", ".join(sorted(t.title for t in tasks if t.id in named)),
                ", ".join(overdue_titles) or "—"))
    present = set(written.counts) | ({fig.SHARE} if written.share_done is not None else set()) | (
        {fig.OVERDUE} if written.overdue_titles is not None else set())
    for group in required:
        wanted = {fig.DONE, fig.SHARE} if group == COMPLETION else {group}
        if not wanted & present:
            judgement.missing.append(FIGURE_LABELS[group])
    return judgement


def _completion_judgements(workspace: Workspace, records: Iterable[Record], required: Sequence[str]) -> list[Judgement]:
    return [judge_completion(record, history.tasks_at(workspace, record.statement), required) for record in records
            if record.text.strip()]


@check("2.3.c")
def task_completion_read(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when the completion figures the candidate recorded (done / in progress / not started /
    overdue counts, the share done, the average progress, or the overdue tasks by name) agree
    with the workspace's at the moment they were recorded (rebuilt from the log: marking a task
    done afterwards does not make an earlier reading wrong). Counts must be exact ("in progress"
    may count the open tasks too), percentages within one point (see :mod:`.figures`).

    With the key's ``completion_record``: the record is the answer to the keyed task or a note at
    ``note_at``; the figures the key lists must all be there (some left out: can't tell). Figures
    that disagree: not met, or can't tell when others agree (the summary says which numbers).
    Figures recorded only elsewhere: can't tell when right, not met when wrong. No figures
    recorded: not met.

    Without targets: any answer or note with completion figures counts; none, but filters or
    reports on completion were used: can't tell (what was read is unknown); nothing: not met.
    """
    targets = key.targets(COMPLETION_RECORD)
    if targets:
        records, others, place = _places(workspace, targets)
        required = next((t.value.get("figures") for t in targets if t.value.get("figures")), None) or [COMPLETION]
        chosen = _best(_completion_judgements(workspace, records, required))
        if chosen is not None:
            return _verdict_of("2.3.c", chosen, workspace)
        found = _elsewhere("2.3.c", _completion_judgements(workspace, others, required), place, workspace)
        if found is not None:
            return found
        return result("2.3.c", Verdict.NOT_MET,
                      _l("The candidate recorded no completion figures of the tasks (the sheet asks for them in "
                         "%(place)s).", place=place), [r.row(workspace) for r in records])
    chosen = _best(_completion_judgements(workspace, _answers(workspace, None) + _notes(workspace), ()))
    if chosen is not None:
        return _verdict_of("2.3.c", chosen, workspace)
    filters = [s for s in candidate_statements(workspace, ["filter"], ["task"])
               if (details_of(s).get("filters") or {}).get("status")
               or (details_of(s).get("filters") or {}).get("period") == "overdue"]
    reports = [s for s in candidate_statements(workspace, ["generate"], ["report"]) if _reads_completion(s)]
    if filters or reports:
        return result("2.3.c", Verdict.CANT_TELL,
                      _l("The candidate looked at task completion through %(count)d filter(s) or report(s), but "
                         "recorded no figures.", count=len(filters) + len(reports)),
                      _log_rows(workspace, filters + reports))
    return result("2.3.c", Verdict.NOT_MET, _l("The candidate recorded no completion figures of the tasks."))


def _reads_completion(statement: ActionStatement) -> bool:
    """A task report showing completion: average percent complete, or tasks by status."""
    config = details_of(statement).get("config")
    config = config if isinstance(config, dict) else {}
    return config.get("source") == "tasks" and (config.get("measure") == "avg_progress"
                                                or config.get("group_by") == "status")


# --- 2.3.d -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StageReadingRow:
    """One stage of a reading: what the candidate wrote (``None``: nothing) beside the truth then."""

    stage: str
    count: int
    true: Decimal
    recorded: Decimal | None
    agrees: bool | None


@dataclass(frozen=True)
class StageReading:
    """The values per stage a candidate recorded, beside the workspace's at that moment (plain data
    for the committee's page)."""

    statement_id: int
    at: Any
    source: Any
    text: str
    pipeline: str | None
    rows: tuple[StageReadingRow, ...]


def _stage_rows(values: Sequence[history.StageValue], text: str) -> list[StageReadingRow]:
    written, amounts = fig.parse_stage_amounts(text, [v.name for v in values])
    if not written:
        # No stage named: amounts in stage order, if there is one for each stage (or each stage with a value).
        valued = [i for i, v in enumerate(values) if v.value]
        order = list(range(len(values))) if len(amounts) == len(values) else valued if len(amounts) == len(valued) else []
        written = {index: amounts[position] for position, index in enumerate(order)}
    return [StageReadingRow(stage=v.name, count=v.count, true=v.value,
                            recorded=written[i].value if i in written else None,
                            agrees=fig.amount_agrees(written[i], v.value) if i in written else None)
            for i, v in enumerate(values)]


def read_stage_values(workspace: Workspace, record: Record, pipeline: str | None) -> StageReading:
    """The stage values ``record`` gives for ``pipeline`` (by name; ``None``: whichever pipeline
    the text names most stages of), beside the workspace's at that moment."""
    names, stages = history.stages_at(workspace, record.statement)
    opportunities = history.opportunities_at(workspace, record.statement)
    candidates = [pid for pid, name in names.items() if pipeline is None or _named(name, pipeline)]
    best: tuple[int, int, str | None, list[StageReadingRow]] = (-1, -1, pipeline, [])
    for pipeline_id in sorted(candidates):
        rows = _stage_rows(history.stage_values_at(opportunities, stages, pipeline_id), record.text)
        score = (sum(r.recorded is not None for r in rows), sum(bool(r.agrees) for r in rows))
        if score > best[:2]:
            best = (*score, names[pipeline_id], rows)
    return StageReading(statement_id=record.statement.id, at=record.statement.timestamp, source=record.source,
                        text=record.text, pipeline=best[2], rows=tuple(best[3]))


def judge_stage_values(reading: StageReading, record: Record) -> Judgement:
    """Compare a reading's recorded values with the true ones (stages with open value left out: missing)."""
    truth = _l("The CRM then showed in %(pipeline)s: %(stages)s.", pipeline=reading.pipeline or "—",
               stages=", ".join(f"{r.stage} {fig.format_amount(r.true)} ({r.count})" for r in reading.rows) or "—")
    judgement = Judgement(record=record, truth=truth)
    for row in reading.rows:
        if row.recorded is None:
            if row.true:
                judgement.missing.append(row.stage)
        elif row.agrees:
            judgement.agreeing.append(f"{row.stage} {fig.format_amount(row.recorded)}")
        else:
            judgement.differences.append(_difference(row.stage, fig.format_amount(row.recorded),
                                                     fig.format_amount(row.true)))
    if not judgement.recorded and fig.parse_stage_amounts(record.text, [])[1]:
        judgement.differences.append(_l("amounts recorded for no stage of %(pipeline)s",
                                        pipeline=reading.pipeline or "—"))
    return judgement


def stage_value_records(workspace: Workspace, key: ScenarioKey) -> tuple[list[Record], list[Record], Any, str | None]:
    """Where the candidate recorded values per stage (as the key says, or anywhere), the other
    records, how the place is named, and the pipeline the key names."""
    targets = key.targets(STAGE_VALUES_RECORD)
    if targets:
        records, others, place = _places(workspace, targets)
        return records, others, place, str(targets[0].value["pipeline"])
    return _answers(workspace, None) + _notes(workspace), [], None, None


def stage_value_readings(workspace: Workspace, key: ScenarioKey) -> list[StageReading]:
    """The values per stage the candidate recorded where the key says (or anywhere), each beside
    the workspace's at that moment, oldest first (for the committee, beside 2.3.e's questions)."""
    records, _others, _place, pipeline = stage_value_records(workspace, key)
    readings = [read_stage_values(workspace, record, pipeline) for record in records if record.text.strip()]
    return [r for r in readings if any(row.recorded is not None for row in r.rows) or pipeline is not None]


def _stage_judgements(workspace: Workspace, records: Iterable[Record], pipeline: str | None) -> list[Judgement]:
    judgements = []
    for record in records:
        if record.text.strip():
            judgements.append(judge_stage_values(read_stage_values(workspace, record, pipeline), record))
    return judgements


@check("2.3.d")
def stage_values_read(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when the values of open opportunities per stage the candidate recorded agree with the
    workspace's at the moment they were recorded (rebuilt from the log), for every stage that
    then held open value (a stage without value may be left out). Amounts are read from Polish
    text ("48 000 zł", "48 000,00", "48.000", "48 tys.", "48k", "1,2 mln") and agree within 1 zł,
    or within half the last digit written in thousands or millions (see :mod:`.figures`).

    With the key's ``stage_values_record``: the pipeline it names, recorded in the answer to the
    keyed task (or a note at ``note_at``); stages left out: can't tell; values that disagree: not
    met, or can't tell when others agree (the summary says which); amounts naming no stage of
    that pipeline: not met; recorded only elsewhere: can't tell when right, not met when wrong;
    nothing recorded: not met.

    Without targets: any answer or note naming the stages of some pipeline counts; none, but the
    board, a filtered list or a report by stage was used: can't tell; nothing: not met.
    """
    records, others, place, pipeline = stage_value_records(workspace, key)
    chosen = _best(_stage_judgements(workspace, records, pipeline))
    if chosen is not None:
        return _verdict_of("2.3.d", chosen, workspace)
    if pipeline is not None:
        found = _elsewhere("2.3.d", _stage_judgements(workspace, others, pipeline), place, workspace)
        if found is not None:
            return found
        return result("2.3.d", Verdict.NOT_MET,
                      _l("The candidate recorded no values of opportunities per stage of %(pipeline)s (the sheet "
                         "asks for them in %(place)s).", pipeline=pipeline, place=place),
                      [r.row(workspace) for r in records])
    board = candidate_statements(workspace, ["filter"], ["board"])
    lists = [s for s in candidate_statements(workspace, ["filter"], ["opportunity"])
             if {"pipeline_id", "stage_id"} & set(details_of(s).get("filters") or {})]
    reports = [s for s in candidate_statements(workspace, ["generate", "export"], ["report"])
               if (details_of(s).get("config") or {}).get("source") == "opportunities"
               and (details_of(s).get("config") or {}).get("group_by") == "stage"]
    if board or lists or reports:
        return result("2.3.d", Verdict.CANT_TELL,
                      _l("The candidate looked at opportunity values per stage %(count)d time(s) (board, list or "
                         "report), but recorded no values.", count=len(board) + len(lists) + len(reports)),
                      _log_rows(workspace, board + lists + reports))
    return result("2.3.d", Verdict.NOT_MET, _l("The candidate recorded no values of opportunities per stage."))
