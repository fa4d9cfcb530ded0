"""A qualification's settings, typed: read from the stored JSON once, with every default here.

The JSON is what ``question_bank.definition`` wrote from the definition file (see
``Settings.to_dict`` there), where every key is required; a qualification stored otherwise (an older
definition, a test's own settings) may lack keys, and the readers fell back to their own default,
each repeating it. :meth:`QualificationSettings.from_json` reads the whole JSON into one frozen
object (``Qualification.rules``), so each default is stated once and every reader gets the same
type. The practical part's settings (time limit, pass mark) are not here: the scenarios carry the
practical exam's time, and nothing reads them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one: a missing or malformed part reads as defaults."""
    return value if isinstance(value, Mapping) else {}


def _positive(value: Any) -> int | None:
    """``value`` if it is a positive whole number, else None."""
    return value if isinstance(value, int) and value > 0 else None


@dataclass(frozen=True)
class TheorySettings:
    """The theory test: ``item_count`` items within ``time_limit_minutes``, passed at ``pass_mark_percent``."""

    item_count: int = 30
    time_limit_minutes: int = 45
    pass_mark_percent: float = 55.0
    #: How the test decides (``theory.scoring.RULES``): "compensatory" or "per_criterion".
    decision_rule: str = "compensatory"
    #: Matching and ordering items: "all_or_nothing" or "per_pair" (see question_bank.items.PARTIAL_CREDIT).
    partial_credit: str = "all_or_nothing"

    @classmethod
    def from_json(cls, data: Any) -> TheorySettings:
        """The ``theory`` part of the stored settings; a key it lacks takes the default above."""
        given = _mapping(data)
        return cls(item_count=int(given.get("item_count", cls.item_count)),
                   time_limit_minutes=int(given.get("time_limit_minutes", cls.time_limit_minutes)),
                   pass_mark_percent=float(given.get("pass_mark_percent", cls.pass_mark_percent)),
                   decision_rule=str(given.get("decision_rule", cls.decision_rule)),
                   partial_credit=str(given.get("partial_credit", cls.partial_credit)))


@dataclass(frozen=True)
class QualificationSettings:
    """Per-qualification rules: the theory test, deadlines, committee size, recognition, validity."""

    theory: TheorySettings = field(default_factory=TheorySettings)
    #: Calendar days for an appeal against a decision, from the day it was sent.
    appeal_window_days: int = 14
    #: Days the institution has to decide an appeal.
    appeal_decision_days: int = 30
    #: Days to ask to see one's own exam work, from the day the decision was sent (``appeals.reviews``).
    review_request_days: int = 7
    #: How long a passed theory part counts towards a later validation (ZSK act art. 49).
    carry_over_months: int = 12
    #: The fewest assessors a committee (and an appeal panel) may have.
    min_committee_size: int = 2
    #: Whether the practical part is open only to those who passed the theory test.
    theory_required_for_practical: bool = True
    #: The months of work with a CRM system a renewal needs (a stored value that is not a positive
    #: whole number counts as missing).
    renewal_min_crm_work_months: int = 12
    #: Years a certificate is valid; None when the stored settings give no positive whole number
    #: (no certificate can be issued then).
    certificate_validity_years: int | None = None
    #: Staff kind ("assessor", "operator") → what the definition requires of it; a kind it states
    #: nothing for is absent.
    staff_requirements: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Any) -> QualificationSettings:
        """The stored settings (``Qualification.settings``), read once; a key they lack takes the default above."""
        given = _mapping(data)
        staff = _mapping(given.get("staff_requirements"))
        months = _positive(given.get("renewal_min_crm_work_months"))
        return cls(
            theory=TheorySettings.from_json(given.get("theory")),
            appeal_window_days=int(given.get("appeal_window_days", cls.appeal_window_days)),
            appeal_decision_days=int(given.get("appeal_decision_days", cls.appeal_decision_days)),
            review_request_days=int(given.get("review_request_days", cls.review_request_days)),
            carry_over_months=int(given.get("carry_over_months", cls.carry_over_months)),
            min_committee_size=int(given.get("min_committee_size", cls.min_committee_size)),
            theory_required_for_practical=bool(given.get("theory_required_for_practical",
                                                         cls.theory_required_for_practical)),
            renewal_min_crm_work_months=months if months is not None else cls.renewal_min_crm_work_months,
            certificate_validity_years=_positive(given.get("certificate_validity_years")),
            staff_requirements={kind: need for kind, need in staff.items() if isinstance(need, Mapping)},
        )
