"""Loading qualification definitions into the database (idempotent upsert)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from question_bank.definition import QualificationDefinition, load_definition

from ..audit import services as audit_log
from ..extensions import db
from ..models import Criterion, LearningOutcome, OutcomeSet, Qualification, utcnow


def upsert_definition(definition: QualificationDefinition) -> tuple[Qualification, bool]:
    """Create or update the qualification from its definition; returns (qualification, changed).

    Rows are matched by their stable codes, so ids referenced by exam records
    survive a reload; a definition whose content hash is unchanged is a no-op.
    """
    qualification = db.session.scalar(select(Qualification).where(Qualification.code == definition.code))
    if qualification is not None and qualification.content_hash == definition.content_hash:
        return qualification, False
    before = {"content_hash": qualification.content_hash} if qualification else None
    if qualification is None:
        qualification = Qualification(code=definition.code)
        db.session.add(qualification)
    qualification.name_pl, qualification.name_en = definition.name.pl, definition.name.en
    qualification.summary_pl, qualification.summary_en = definition.characteristic.pl, definition.characteristic.en
    qualification.validation_pl, qualification.validation_en = definition.validation.pl, definition.validation.en
    qualification.prk_level = definition.prk_level
    validity = definition.validity
    qualification.validity_pl, qualification.validity_en = (validity.pl, validity.en) if validity else (None, None)
    data = definition.to_dict()
    qualification.methods = data["methods"]
    qualification.settings = data["settings"]
    qualification.content_hash = definition.content_hash
    qualification.loaded_at = utcnow()

    sets = {s.number: s for s in qualification.outcome_sets}
    for set_def in definition.outcome_sets:
        outcome_set = sets.get(set_def.number)
        if outcome_set is None:
            outcome_set = OutcomeSet(number=set_def.number)
            qualification.outcome_sets.append(outcome_set)
        outcome_set.name_pl, outcome_set.name_en = set_def.name.pl, set_def.name.en
        outcomes = {o.code: o for o in outcome_set.outcomes}
        for outcome_def in set_def.outcomes:
            outcome = outcomes.get(outcome_def.code)
            if outcome is None:
                outcome = LearningOutcome(code=outcome_def.code)
                outcome_set.outcomes.append(outcome)
            outcome.name_pl, outcome.name_en = outcome_def.name.pl, outcome_def.name.en
            criteria = {c.code: c for c in outcome.criteria}
            for criterion_def in outcome_def.criteria:
                criterion = criteria.get(criterion_def.code)
                if criterion is None:
                    criterion = Criterion(code=criterion_def.code)
                    outcome.criteria.append(criterion)
                criterion.text_pl, criterion.text_en = criterion_def.text.pl, criterion_def.text.en
                criterion.method = criterion_def.method
                criterion.interview_follow_up = criterion_def.interview_follow_up
    audit_log.record("qualification.loaded", qualification, before=before,
                     after={"code": definition.code, "content_hash": definition.content_hash})
    db.session.commit()
    return qualification, True


def load_file(path: Path) -> tuple[Qualification, bool]:
    """Validate and load one definition file (raises DefinitionError naming the place)."""
    return upsert_definition(load_definition(path))


def get_by_code(code: str) -> Qualification | None:
    return db.session.scalar(select(Qualification).where(Qualification.code == code))


def criteria_by_method(qualification: Qualification) -> dict[str, list[Criterion]]:
    result: dict[str, list[Criterion]] = {}
    for outcome_set in qualification.outcome_sets:
        for outcome in outcome_set.outcomes:
            for criterion in outcome.criteria:
                result.setdefault(criterion.method, []).append(criterion)
    return result
