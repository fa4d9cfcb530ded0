"""Evidence checks of 2.4.a–f: opportunities added and edited, activities to close a stage,
value and stage, moving forward, a customer assigned, won or lost.

Where the sheet names what to do (task 6 of the exam sheets: a new opportunity for one of the
newly imported customers in the candidate's own funnel; the value of a named opportunity
corrected), the key says so (``new_opportunity``, ``opportunity_values``) and the checks judge
that: work on another record, or another value, is not what the sheet asks. Without those
targets they judge by the criterion's own meaning.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l

from ..host import session
from ..models import ActionStatement, Company, Workspace
from ..models.sales import Opportunity, Pipeline, PipelineStage, Task
from ..scoping import scoped
from .base import CheckResult, EvidenceRow, Verdict, check
from .common import (
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
    statement_row,
    statement_rows,
)
from .key import ScenarioKey, target_kind
from .wording import joined, loose, real_words

EDIT_VERBS = ("update", "move", "won", "lost")
NEW_OPPORTUNITY_KEYS = ("customer", "sources", "pipeline")


def _new_opportunity_problem(value: object) -> str | None:
    shape = ("expected a mapping {customer: imported or [company names], sources: [import file names] (optional), "
             "pipeline: own or a pipeline name}")
    if not isinstance(value, dict) or not value or set(value) - set(NEW_OPPORTUNITY_KEYS):
        return shape
    customer, sources, pipeline = value.get("customer"), value.get("sources"), value.get("pipeline")
    texts = lambda v: isinstance(v, list) and bool(v) and all(isinstance(x, str) and x.strip() for x in v)  # noqa: E731
    if customer is not None and customer != "imported" and not texts(customer):
        return shape
    if sources is not None and (customer != "imported" or not texts(sources)):
        return shape
    if pipeline is not None and not (isinstance(pipeline, str) and pipeline.strip()):
        return shape
    return None


def _amount(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount > 0 else None


def _values_problem(value: object) -> str | None:
    if (not isinstance(value, list) or not value
            or not all(isinstance(row, dict) and set(row) == {"name", "value"} and isinstance(row["name"], str)
                       and row["name"].strip() and _amount(row["value"]) is not None for row in value)):
        return "expected a list of {name: the opportunity's name as the sheet gives it, value: greater than zero}"
    return None


NEW_OPPORTUNITY = target_kind(
    "new_opportunity", "the opportunity the sheet asks the candidate to add: {customer: imported (a company the "
    "candidate imported; sources: the import files it may come from) or [company names], pipeline: own (a pipeline "
    "the candidate created) or a pipeline name}", _new_opportunity_problem)
OPPORTUNITY_VALUES = target_kind(
    "opportunity_values", "opportunities whose value the sheet says to set: [{name, value}]", _values_problem)


# --- what the sheet asks, as records of this workspace -----------------------------------------

@dataclass(frozen=True)
class _Asked:
    """The key's task 6 in this workspace: the companies and pipelines the new opportunity may
    have (``None``: any), and the values named opportunities must get."""

    companies: frozenset[int] | None = None
    pipelines: frozenset[int] | None = None
    values: tuple[tuple[str, Decimal], ...] = ()

    @property
    def names_new(self) -> bool:
        return self.companies is not None or self.pipelines is not None

    def right_customer(self, opportunity: Opportunity) -> bool:
        return self.companies is None or opportunity.company_id in self.companies

    def fits(self, opportunity: Opportunity) -> bool:
        return self.right_customer(opportunity) and (self.pipelines is None or opportunity.pipeline_id in self.pipelines)

    def problems(self, opportunity: Opportunity) -> list[Any]:
        problems: list[Any] = []
        if not self.right_customer(opportunity):
            problems.append(_l("not a customer the sheet names"))
        if self.pipelines is not None and opportunity.pipeline_id not in self.pipelines:
            problems.append(_l("not in the funnel the sheet asks for"))
        return problems


def _asked(workspace: Workspace, key: ScenarioKey) -> _Asked:
    specs = key.values(NEW_OPPORTUNITY)
    spec: dict[str, Any] = specs[0] if specs else {}
    companies: frozenset[int] | None = None
    customer = spec.get("customer")
    if customer == "imported":
        sources = {loose(name) for name in spec.get("sources") or ()}
        companies = frozenset(
            company_id for statement in candidate_statements(workspace, ["import"], ["import_source"])
            if not sources or loose(statement.object_name) in sources
            for company_id in details_of(statement).get("companies_created") or () if isinstance(company_id, int))
    elif isinstance(customer, list):
        names = {loose(name) for name in customer}
        companies = frozenset(c.id for c in session().scalars(scoped(Company, workspace)) if loose(c.name) in names)
    pipelines: frozenset[int] | None = None
    pipeline = spec.get("pipeline")
    if pipeline == "own":
        pipelines = frozenset(ids_of(candidate_statements(workspace, ["create"], ["pipeline"])))
    elif isinstance(pipeline, str):
        pipelines = frozenset(p.id for p in session().scalars(scoped(Pipeline, workspace))
                              if loose(p.name) == loose(pipeline))
    values = tuple((row["name"], Decimal(str(row["value"]))) for target in key.values(OPPORTUNITY_VALUES)
                   for row in target)
    return _Asked(companies=companies, pipelines=pipelines, values=values)


def _opportunity_row(workspace: Workspace, opportunity: Opportunity, note: Any = None) -> EvidenceRow:
    label = (_l("Opportunity: %(name)s (%(note)s)", name=opportunity.name, note=note) if note
             else _l("Opportunity: %(name)s", name=opportunity.name))
    return record_row(workspace, label, "opportunity", opportunity.id)


def _added(workspace: Workspace) -> tuple[list[Opportunity], list[ActionStatement]]:
    """The opportunities the candidate added (still existing) and the ``create`` statements."""
    statements = candidate_statements(workspace, ["create"], ["opportunity"])
    return existing(workspace, Opportunity, ids_of(statements)), statements


def _judged_rows(workspace: Workspace, asked: _Asked, opportunities: list[Opportunity]) -> list[EvidenceRow]:
    """The candidate's opportunities, each labelled with what keeps it from being the sheet's."""
    return [_opportunity_row(workspace, o, joined(asked.problems(o)) if asked.problems(o) else
                             _l("company %(company)s, pipeline %(pipeline)s, stage %(stage)s",
                                company=o.company.name, pipeline=o.pipeline.name, stage=o.stage.name))
            for o in opportunities]


def _value_of(opportunity: Opportunity) -> Decimal:
    return Decimal(str(opportunity.value)) if opportunity.value is not None else Decimal(0)


@dataclass
class _Part:
    """One part of what the sheet asks (add the opportunity; correct a value): right, wrong
    (another record or another value), missing (not done), or partial (some of it)."""

    state: str
    note: Any = None
    rows: list[EvidenceRow] = field(default_factory=list)
    statements: list[ActionStatement] = field(default_factory=list)


def _corrections(workspace: Workspace, asked: _Asked, added: list[Opportunity]) -> _Part:
    """The named opportunities' values: set by the candidate to the value the sheet says?"""
    updates = [s for s in candidate_statements(workspace, ["update"], ["opportunity"])
               if pair(changes_of(s), "value") is not None]
    by_name = {loose(o.name): o for o in session().scalars(scoped(Opportunity, workspace))}
    right: list[Opportunity] = []
    wrong: list[Opportunity] = []
    missing: list[str] = []
    named: set[int] = set()
    for name, target in asked.values:
        opportunity = by_name.get(loose(name))
        edited = [s for s in updates if opportunity is not None and object_id_of(s) == opportunity.id]
        if opportunity is None or not edited:
            missing.append(name)
            continue
        named.add(opportunity.id)
        (right if _value_of(opportunity) == target else wrong).append(opportunity)
    stray = existing(workspace, Opportunity, set(ids_of(updates)) - named - {o.id for o in added})
    targets = {loose(n): t for n, t in asked.values}
    rows = ([_opportunity_row(workspace, o, _l("value %(value)s, the sheet says %(target)s", value=o.value,
                                                target=targets[loose(o.name)])) for o in right + wrong]
            + [_opportunity_row(workspace, o, _l("value changed to %(value)s: not an opportunity the sheet names",
                                                 value=o.value)) for o in stray])
    statements = [s for s in updates if object_id_of(s) in named | {o.id for o in stray}]
    if wrong:
        return _Part("wrong", _l("the value of %(names)s is not the one the sheet says",
                                 names=", ".join(o.name for o in wrong)), rows, statements)
    if missing and stray:
        return _Part("wrong", _l("the candidate changed the value of another opportunity instead of %(names)s",
                                 names=", ".join(missing)), rows, statements)
    if missing:
        return _Part("partial" if right else "missing",
                     _l("the value of %(names)s is not corrected", names=", ".join(missing)), rows, statements)
    return _Part("right", _l("the value of %(names)s is corrected", names=", ".join(o.name for o in right)),
                 rows, statements)


def _verdict(parts: list[_Part]) -> Verdict:
    """Every part right: met; a part done on the wrong record or with the wrong value, or nothing
    done at all: not met; otherwise (some done, some not): can't tell."""
    if all(p.state == "right" for p in parts):
        return Verdict.MET
    if any(p.state == "wrong" for p in parts) or all(p.state == "missing" for p in parts):
        return Verdict.NOT_MET
    return Verdict.CANT_TELL


def _combined(workspace: Workspace, criterion: str, parts: list[_Part], met: Any) -> CheckResult:
    """The result of a check made of parts: ``met`` when all are right, else what each part lacks."""
    verdict = _verdict(parts)
    notes = joined(p.note for p in parts if p.note is not None and p.state != "right")
    summary = (met if verdict is Verdict.MET else
               _l("The candidate did not do what the sheet asks: %(notes)s.", notes=notes)
               if verdict is Verdict.NOT_MET else
               _l("The candidate did part of what the sheet asks: %(notes)s.", notes=notes))
    rows = [row for p in parts for row in p.rows]
    statements = sorted({s.id: s for p in parts for s in p.statements}.values(), key=lambda s: (s.timestamp, s.id))
    return result(criterion, verdict, summary, rows, statement_rows(workspace, statements))


def _addition(workspace: Workspace, asked: _Asked) -> _Part:
    """Adding the opportunity: any (without the key's ``new_opportunity``), else one that fits it."""
    added, statements = _added(workspace)
    rows = _judged_rows(workspace, asked, added)
    right = [o for o in added if asked.fits(o)]
    if right:
        return _Part("right", None, rows, statements)
    if added:
        return _Part("wrong", _l("the opportunities added are not for a customer the sheet names in the funnel it "
                                 "asks for"), rows, statements)
    return _Part("missing", _l("no opportunity is added"), rows, statements)


# --- 2.4.a -------------------------------------------------------------------------------------

@check("2.4.a")
def opportunities_added_and_edited(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when the candidate both added an opportunity and edited one. With the key: the added
    one is for a customer the sheet names, in the funnel it asks for (``new_opportunity``), and
    the edit is the value correction the sheet asks (``opportunity_values``: the named
    opportunity now has that value, set by the candidate). Without: any opportunity added, and
    any edited (``update``, ``move``, ``won`` or ``lost``), the scenario's included.

    Not met: a wrong record (an opportunity for another customer or in a scenario's pipeline, a
    value put on another opportunity) or a wrong value; or neither part done. Can't tell: one part
    done, the other not.
    """
    asked = _asked(workspace, key)
    addition = _addition(workspace, asked)
    added = existing(workspace, Opportunity, ids_of(addition.statements))
    if asked.values:
        edit = _corrections(workspace, asked, added)
    else:
        edited = candidate_statements(workspace, EDIT_VERBS, ["opportunity"])
        edit = _Part("right" if edited else "missing", _l("no opportunity is edited"),
                     [_opportunity_row(workspace, o) for o in existing(workspace, Opportunity, ids_of(edited))
                      if o not in added], edited)
    return _combined(workspace, "2.4.a", [addition, edit],
                     _l("The candidate added %(added)d and edited %(edited)d opportunity(ies) as the sheet asks.",
                        added=len([o for o in added if asked.fits(o)]), edited=len(ids_of(edit.statements))))


# --- 2.4.b -------------------------------------------------------------------------------------

@check("2.4.b")
def closing_activities_added(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when the candidate created a task (titled in words) linked to an opportunity and to the
    stage it is to close (a task of the opportunity's stage), and the task exists; with the key's
    ``new_opportunity``, to an opportunity that fits it.

    Not met: activities only on opportunities the sheet does not name; nothing. Can't tell: only
    tasks the stages' templates created automatically, or titles that are not words ("x").
    """
    asked = _asked(workspace, key)
    statements = candidate_statements(workspace, ["create"], ["task"])
    linked = [t for t in existing(workspace, Task, ids_of(statements))
              if t.opportunity is not None and t.stage_id is not None]
    titled = [t for t in linked if real_words(t.title)]
    right = [t for t in titled if t.opportunity is not None and asked.fits(t.opportunity)]

    def rows(tasks: list[Task]) -> list[EvidenceRow]:
        return [record_row(workspace, _l("Task: %(title)s (opportunity %(opportunity)s, stage %(stage)s)",
                                         title=t.title, opportunity=t.opportunity.name if t.opportunity else "",
                                         stage=t.stage.name if t.stage else ""), "task", t.id)
                for t in tasks]

    def logged(tasks: list[Task]) -> list[EvidenceRow]:
        return statement_rows(workspace, [s for s in statements if object_id_of(s) in {t.id for t in tasks}])

    if right:
        return result("2.4.b", Verdict.MET,
                      _l("The candidate added %(count)d activity(ies) to close the stage of %(names)s.",
                         count=len(right), names=", ".join(dict.fromkeys(t.opportunity.name for t in right
                                                                         if t.opportunity))),
                      rows(right), logged(right))
    if titled:
        return result("2.4.b", Verdict.NOT_MET,
                      _l("The candidate added activities only to opportunities the sheet does not name: %(names)s.",
                         names=", ".join(dict.fromkeys(t.opportunity.name for t in titled if t.opportunity))),
                      rows(titled), logged(titled))
    if linked:
        return result("2.4.b", Verdict.CANT_TELL,
                      _l("The candidate's activities on opportunities' stages have no title in words."),
                      rows(linked), logged(linked))
    automatic = [s for s in candidate_statements(workspace, ["create", "move"], ["opportunity"])
                 if details_of(s).get("tasks_created")]
    if automatic:
        return result("2.4.b", Verdict.CANT_TELL,
                      _l("Only tasks created automatically from the stages' templates are linked to the candidate's "
                         "opportunities."), statement_rows(workspace, automatic))
    return result("2.4.b", Verdict.NOT_MET, _l("The candidate added no activity to an opportunity's stage."))


# --- 2.4.c -------------------------------------------------------------------------------------

def _value_set(statement: ActionStatement) -> bool:
    change = pair(changes_of(statement), "value")
    return change is not None and change[1] not in (None, "", "0", "0.00")


@check("2.4.c")
def value_and_stage_assigned(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when an opportunity whose value the candidate set (on adding it or by editing) now has
    a value above zero and a stage (every opportunity is in a stage; the candidate chose it on
    adding, or moved it). With the key: that opportunity fits ``new_opportunity``, and every
    opportunity of ``opportunity_values`` has the value the sheet says, set by the candidate.

    Not met: no value set; values set only on other opportunities; a named opportunity with
    another value. Can't tell: one of the two parts done, the other not.
    """
    asked = _asked(workspace, key)
    statements = candidate_statements(workspace, ["create", "update"], ["opportunity"])
    valued_statements = [s for s in statements if _value_set(s)]
    named = {loose(name) for name, _value in asked.values}
    valued = [o for o in existing(workspace, Opportunity, ids_of(valued_statements))
              if o.value and o.value > 0 and loose(o.name) not in named]
    right = [o for o in valued if asked.fits(o)]
    rows = [_opportunity_row(workspace, o, _l("%(value)s %(currency)s, stage %(stage)s", value=o.value,
                                              currency=o.currency, stage=o.stage.name)) for o in valued]
    own = [s for s in valued_statements if object_id_of(s) in {o.id for o in valued}]
    if right:
        new = _Part("right", None, rows, own)
    elif valued and asked.names_new:
        new = _Part("wrong", _l("the opportunities given a value are not for a customer the sheet names in the "
                                "funnel it asks for"), rows + _judged_rows(workspace, asked, valued), own)
    else:
        new = _Part("missing", _l("no opportunity of the candidate's has a value"), rows, own)
    parts = [new]
    if asked.values:
        parts.append(_corrections(workspace, asked, _added(workspace)[0]))
    if not valued and not asked.values and statements:
        parts[0].statements = statements
    return _combined(workspace, "2.4.c", parts,
                     _l("The candidate gave %(count)d opportunity(ies) a value and a stage as the sheet asks.",
                        count=len(right) + len(asked.values)))


# --- 2.4.d -------------------------------------------------------------------------------------

def _forward(statement: ActionStatement, positions: dict[int, int]) -> bool | None:
    """Whether a move went to a later stage (by stage position, else by probability); ``None`` if unknown."""
    changes = changes_of(statement)
    stage_ids = changes.get("stage_id")
    if isinstance(stage_ids, list) and len(stage_ids) == 2 and all(i in positions for i in stage_ids):
        return positions[stage_ids[1]] > positions[stage_ids[0]]
    probabilities = changes.get("probability")
    if isinstance(probabilities, list) and len(probabilities) == 2 and probabilities[0] != probabilities[1]:
        return bool(probabilities[1] > probabilities[0])
    return None


def _move_row(workspace: Workspace, statement: ActionStatement) -> EvidenceRow:
    """A move statement labelled with its from → to stages."""
    stages = changes_of(statement).get("stage") or [None, None]
    return statement_row(workspace, statement, _l("move opportunity: %(name)s (%(source)s → %(target)s)",
                                                  name=statement.object_name, source=stages[0], target=stages[1]))


@check("2.4.d")
def moved_to_later_stages(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when the candidate moved an opportunity to a later stage (``move`` statement whose
    target stage comes after the source stage in the pipeline, or has a higher probability); with
    the key's ``new_opportunity``, an opportunity that fits it.

    Not met: no moves, or moves forward only of opportunities the sheet does not name. Can't
    tell: only moves back (or moves whose direction cannot be told).
    """
    asked = _asked(workspace, key)
    moves = candidate_statements(workspace, ["move"], ["opportunity"])
    stage_ids = {i for s in moves for i in (changes_of(s).get("stage_id") or []) if isinstance(i, int)}
    positions = {stage.id: stage.position for stage in existing(workspace, PipelineStage, stage_ids)}
    moved = {o.id: o for o in existing(workspace, Opportunity, ids_of(moves))}
    fitting = [s for s in moves if (o := moved.get(object_id_of(s) or 0)) is not None and asked.fits(o)]
    forward = [s for s in fitting if _forward(s, positions)]
    if forward:
        return result("2.4.d", Verdict.MET,
                      _l("The candidate moved opportunities forward %(count)d time(s).", count=len(forward)),
                      [_move_row(workspace, s) for s in forward])
    others_forward = [s for s in moves if s not in fitting and _forward(s, positions)]
    if others_forward:
        return result("2.4.d", Verdict.NOT_MET,
                      _l("The candidate moved forward only opportunities the sheet does not name: %(names)s.",
                         names=", ".join(dict.fromkeys(s.object_name or "" for s in others_forward))),
                      [_move_row(workspace, s) for s in moves])
    if moves:
        return result("2.4.d", Verdict.CANT_TELL,
                      _l("The candidate moved opportunities, but not to a later stage."),
                      [_move_row(workspace, s) for s in moves])
    return result("2.4.d", Verdict.NOT_MET, _l("The candidate moved no opportunity between stages."))


# --- 2.4.e -------------------------------------------------------------------------------------

@check("2.4.e")
def assigned_to_company(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """Met when an opportunity the candidate added, or whose company the candidate changed, is
    linked to an existing company (contractor); with the key's ``new_opportunity``, to a customer
    it names (e.g. one the candidate imported).

    Not met: no such opportunity, or only linked to companies the sheet does not name.
    """
    asked = _asked(workspace, key)
    statements = [s for s in candidate_statements(workspace, ["create", "update"], ["opportunity"])
                  if s.verb == "create" or pair(changes_of(s), "company_id") is not None]
    opportunities = existing(workspace, Opportunity, ids_of(statements))
    companies = {c.id: c for c in existing(workspace, Company, {o.company_id for o in opportunities})}
    linked = [o for o in opportunities if o.company_id in companies]
    right = [o for o in linked if asked.right_customer(o)]
    company_rows = [record_row(workspace, _l("Company: %(name)s", name=c.name), "company", c.id)
                    for c in companies.values()]
    if right:
        return result("2.4.e", Verdict.MET,
                      _l("The candidate assigned %(count)d opportunity(ies) to companies.", count=len(right)),
                      [_opportunity_row(workspace, o, _l("company %(company)s", company=companies[o.company_id].name))
                       for o in right],
                      company_rows, statement_rows(workspace, statements))
    if linked:
        return result("2.4.e", Verdict.NOT_MET,
                      _l("The candidate assigned opportunities only to companies the sheet does not name: "
                         "%(companies)s.", companies=", ".join(c.name for c in companies.values())),
                      _judged_rows(workspace, asked, linked), company_rows, statement_rows(workspace, statements))
    return result("2.4.e", Verdict.NOT_MET, _l("The candidate assigned no opportunity to a company."))


# --- 2.4.f -------------------------------------------------------------------------------------

def _names(value: object) -> str | None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        return "expected a list of opportunity names as the sheet gives them"
    return None


WON = target_kind("won", "opportunities the sheet says to mark won (names)", _names)
LOST = target_kind("lost", "opportunities the sheet says to mark lost (names)", _names)


@check("2.4.f")
def marked_won_or_lost(workspace: Workspace, key: ScenarioKey) -> CheckResult:
    """With the key's ``won``/``lost`` targets: met when every named opportunity is closed the
    way the sheet says (by the candidate, with the reason the sandbox requires); not met when one
    is closed the other way, or when the candidate closed only opportunities the sheet does not
    name; can't tell when some named ones are still open.

    Without targets: met when the candidate marked an opportunity won or lost and it is still
    closed that way; marked but reopened since: can't tell; never marked: not met.
    """
    statements = candidate_statements(workspace, ["won", "lost"], ["opportunity"])
    opportunities = existing(workspace, Opportunity, ids_of(statements))
    closed = [o for o in opportunities if o.status in ("won", "lost") and o.close_reason]
    wanted = {name: status for status in (WON, LOST) for names in key.values(status) for name in names}
    if wanted:
        return _judged_against_key(workspace, wanted, closed, statements)
    if closed:
        return result("2.4.f", Verdict.MET,
                      _l("The candidate closed %(count)d opportunity(ies) as won or lost with a reason.",
                         count=len(closed)),
                      [_closed_row(workspace, o) for o in closed],
                      statement_rows(workspace, statements))
    if statements:
        return result("2.4.f", Verdict.CANT_TELL,
                      _l("The candidate marked opportunities won or lost, but they are open again."),
                      statement_rows(workspace, statements))
    return result("2.4.f", Verdict.NOT_MET, _l("The candidate marked no opportunity won or lost."))


def _closed_row(workspace: Workspace, opportunity: Opportunity) -> EvidenceRow:
    label = (_l("Opportunity: %(name)s (won: %(reason)s)", name=opportunity.name, reason=opportunity.close_reason)
             if opportunity.status == "won" else
             _l("Opportunity: %(name)s (lost: %(reason)s)", name=opportunity.name, reason=opportunity.close_reason))
    return record_row(workspace, label, "opportunity", opportunity.id)


def _judged_against_key(workspace: Workspace, wanted: dict[str, str], closed: list[Opportunity],
                        statements: list[ActionStatement]) -> CheckResult:
    by_name = {folded(o.name): o for o in closed}
    right = [by_name[folded(n)] for n, status in wanted.items()
             if folded(n) in by_name and by_name[folded(n)].status == status]
    wrong = [by_name[folded(n)] for n, status in wanted.items()
             if folded(n) in by_name and by_name[folded(n)].status != status]
    named = {folded(n) for n in wanted}
    others = [o for o in closed if folded(o.name) not in named]
    rows = [_closed_row(workspace, o) for o in right + wrong + others]
    if wrong:
        return result("2.4.f", Verdict.NOT_MET,
                      _l("The candidate closed %(names)s the other way than the sheet says.",
                         names=", ".join(o.name for o in wrong)),
                      rows, statement_rows(workspace, statements))
    if len(right) == len(wanted):
        return result("2.4.f", Verdict.MET,
                      _l("The candidate closed every opportunity the sheet names the way it says, with a reason."),
                      rows, statement_rows(workspace, statements))
    if right:
        missing = [n for n in wanted if folded(n) not in by_name]
        return result("2.4.f", Verdict.CANT_TELL,
                      _l("The candidate closed some of the opportunities the sheet names; still open: %(names)s.",
                         names=", ".join(missing)),
                      rows, statement_rows(workspace, statements))
    if others:
        return result("2.4.f", Verdict.NOT_MET,
                      _l("The candidate closed only opportunities the sheet does not name."),
                      rows, statement_rows(workspace, statements))
    if statements:
        return result("2.4.f", Verdict.CANT_TELL,
                      _l("The candidate marked opportunities won or lost, but they are open again."),
                      statement_rows(workspace, statements))
    return result("2.4.f", Verdict.NOT_MET, _l("The candidate marked no opportunity won or lost."))
