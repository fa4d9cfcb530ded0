"""Qualification definitions: the YAML file that describes a qualification, loaded and checked.

A definition file (``question_bank/qualifications/<code>.yaml``) holds everything about a
qualification that the portal treats as data rather than code: its names and descriptions,
the verification methods, the outcome sets with their learning outcomes and verification
criteria, and the per-qualification settings (test length, pass marks, appeal windows,
certificate validity). This module turns such a file into frozen dataclasses and rejects a
malformed one with a :class:`DefinitionError` that names the file, the place in it and what
was expected there.

Nothing here touches Flask or the database; storing a definition is the caller's business
(``content_hash`` lets it skip an upsert when nothing changed).
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, NoReturn

import yaml

from .yamlio import load_strict

QUALIFICATIONS_DIR = Path(__file__).resolve().parent / "qualifications"

# Methods a verification criterion may name, and those used only when renewing a certificate.
# The code behind each one (test engine, sandbox CRM, committee interview) is fixed, so a new
# qualification picks from these rather than inventing its own.
CRITERION_METHODS: tuple[str, ...] = ("interview", "simulation", "test")
RENEWAL_METHODS: tuple[str, ...] = ("evidence",)
KNOWN_METHODS: tuple[str, ...] = CRITERION_METHODS + RENEWAL_METHODS

_QUALIFICATION_CODE = re.compile(r"[0-9A-Za-z]+")
_OUTCOME_CODE = re.compile(r"([0-9]+)\.([0-9]+)")
_CRITERION_CODE = re.compile(r"([0-9]+)\.([0-9]+)\.([a-z])")


class DefinitionError(Exception):
    """A definition file that cannot be used, with where and why.

    ``source`` names the file (or whatever the data came from), ``location`` the place inside it
    (``outcome_sets[1].outcomes[0].criteria[3].method``, or ``line 4, column 7`` for a YAML
    syntax error, or ``""`` for the document as a whole) and ``message`` what is wrong and
    what is expected instead.
    """

    def __init__(
        self,
        source: str,
        location: str,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.source = source
        self.location = location
        self.message = message
        self.line = line
        self.column = column
        super().__init__(source, location, message)

    def __str__(self) -> str:
        return ": ".join(part for part in (self.source, self.location, self.message) if part)


@dataclass(frozen=True)
class Text:
    """A text in both languages of the portal."""

    pl: str
    en: str

    def for_locale(self, locale: str | None) -> str:
        """Return the English text for an English locale (``en``, ``en_GB``…), else the Polish."""
        if locale and locale.lower().startswith("en"):
            return self.en
        return self.pl


@dataclass(frozen=True)
class Method:
    """A verification method as the definition names it (``test``, ``simulation``…)."""

    key: str
    name: Text


@dataclass(frozen=True)
class Criterion:
    """One verification criterion, e.g. ``1.2.d``, with the method that verifies it.

    ``interview_follow_up`` marks a criterion the committee may also take up in the interview,
    on top of its own method.
    """

    code: str
    text: Text
    method: str
    interview_follow_up: bool = False

    @property
    def outcome_code(self) -> str:
        """Code of the learning outcome this criterion belongs to (``1.2`` for ``1.2.d``)."""
        return self.code.rsplit(".", 1)[0]

    @property
    def set_number(self) -> int:
        """Number of the outcome set this criterion belongs to (``1`` for ``1.2.d``)."""
        return int(self.code.split(".", 1)[0])

    @property
    def letter(self) -> str:
        """The criterion's letter within its outcome (``d`` for ``1.2.d``)."""
        return self.code.rsplit(".", 1)[1]

    @property
    def verification_methods(self) -> tuple[str, ...]:
        """Every method that may look at this criterion: its own, then the interview if marked."""
        if self.interview_follow_up:
            return (self.method, "interview")
        return (self.method,)


@dataclass(frozen=True)
class LearningOutcome:
    """A learning outcome, e.g. ``1.2``; confirmed when all its criteria are met."""

    code: str
    name: Text
    criteria: tuple[Criterion, ...]

    @property
    def set_number(self) -> int:
        """Number of the outcome set this outcome belongs to."""
        return int(self.code.split(".", 1)[0])


@dataclass(frozen=True)
class OutcomeSet:
    """An outcome set ("zestaw efektów uczenia się"), numbered from 1."""

    number: int
    name: Text
    outcomes: tuple[LearningOutcome, ...]


@dataclass(frozen=True)
class TheorySettings:
    """The theory part: a test of ``item_count`` items within ``time_limit_minutes``."""

    item_count: int
    time_limit_minutes: int
    pass_mark_percent: int
    #: How the test decides: "compensatory" (the overall percentage reaches the mark; the test
    #: criteria are confirmed together) or "per_criterion" (every criterion's own percentage must).
    decision_rule: str = "compensatory"
    #: Matching and ordering items: "all_or_nothing" or "per_pair" (see question_bank.items.PARTIAL_CREDIT).
    partial_credit: str = "all_or_nothing"


THEORY_PARTIAL_CREDIT = ("all_or_nothing", "per_pair")
THEORY_DECISION_RULES = ("compensatory", "per_criterion")


@dataclass(frozen=True)
class PracticalSettings:
    """The practical part: simulation and interview before the committee."""

    time_limit_minutes: int
    pass_mark_percent: int


#: Levels of education, lowest first ("at least secondary" admits higher). examportal's
#: ``Education`` enum has the same values in the same order (a unit test holds them together).
EDUCATION_LEVELS: tuple[str, ...] = ("primary", "vocational", "secondary", "higher")
#: The people whose competence a qualification may require: a committee member (assessor) and the
#: exam-system operator who supervises the theory test.
STAFF_KINDS: tuple[str, ...] = ("assessor", "operator")
MAX_SUPERVISION_MONTHS = 720


@dataclass(frozen=True)
class StaffRequirement:
    """What a person must have to be appointed to a role in a validation of the qualification.

    Each field left at its default requires nothing; a requirement requires at least one thing.
    """

    #: The lowest education admitted (one of EDUCATION_LEVELS), or None for any.
    min_education: str | None = None
    #: Months of work in posts directing or supervising the work of CRM operators.
    min_crm_supervision_months: int = 0
    #: Operating a computer: starting it and the basic use of the system and its applications.
    computer_skills: bool = False
    #: Solving a lost internet connection or a browser's incompatibility with the exam platform.
    troubleshooting_skills: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The requirement as the definition file writes it (what it does not require is left out)."""
        data: dict[str, Any] = {}
        if self.min_education is not None:
            data["min_education"] = self.min_education
        if self.min_crm_supervision_months:
            data["min_crm_supervision_months"] = self.min_crm_supervision_months
        if self.computer_skills:
            data["computer_skills"] = True
        if self.troubleshooting_skills:
            data["troubleshooting_skills"] = True
        return data


@dataclass(frozen=True)
class StaffRequirements:
    """The requirements on committee members and exam-system operators (None: none stated)."""

    assessor: StaffRequirement | None = None
    operator: StaffRequirement | None = None

    def to_dict(self) -> dict[str, Any]:
        return {kind: requirement.to_dict() for kind in STAFF_KINDS
                if (requirement := getattr(self, kind)) is not None}


@dataclass(frozen=True)
class Settings:
    """Per-qualification rules: lengths, thresholds, deadlines and validity."""

    certificate_validity_years: int
    theory: TheorySettings
    practical: PracticalSettings
    appeal_window_days: int
    review_request_days: int
    appeal_decision_days: int
    renewal_min_crm_work_months: int
    carry_over_months: int
    min_committee_size: int
    theory_required_for_practical: bool
    #: Who may sit on a committee and who may operate the exam system (None: anyone holding the role).
    staff_requirements: StaffRequirements | None = None


@dataclass(frozen=True)
class QualificationDefinition:
    """A whole qualification as loaded from its definition file."""

    code: str
    name: Text
    characteristic: Text
    validation: Text
    methods: tuple[Method, ...]
    settings: Settings
    outcome_sets: tuple[OutcomeSet, ...]
    #: The Polish Qualifications Framework level (1-8) when the definition states it; certificates
    #: print the level only then (the official description in the seeds does not give one).
    prk_level: int | None = None
    #: "Okres ważności dokumentu potwierdzającego nadanie kwalifikacji i warunki przedłużenia jego
    #: ważności" from the official description: the certificate's supplement quotes it.
    validity: Text | None = None

    def outcomes(self) -> Iterator[LearningOutcome]:
        """Iterate over all learning outcomes, set by set, in definition order."""
        for outcome_set in self.outcome_sets:
            yield from outcome_set.outcomes

    def criteria(self) -> Iterator[Criterion]:
        """Iterate over all verification criteria, outcome by outcome, in definition order."""
        for outcome in self.outcomes():
            yield from outcome.criteria

    def outcome(self, code: str) -> LearningOutcome:
        """Return the learning outcome with this code; ``KeyError`` if there is none."""
        try:
            return self._outcomes_by_code[code]
        except KeyError:
            raise KeyError(f"qualification {self.code} has no learning outcome {code!r}") from None

    def criterion(self, code: str) -> Criterion:
        """Return the criterion with this code (``"1.2.d"``); ``KeyError`` if there is none."""
        try:
            return self._criteria_by_code[code]
        except KeyError:
            raise KeyError(f"qualification {self.code} has no criterion {code!r}") from None

    def criteria_by_method(
        self, method: str, *, include_follow_up: bool = False
    ) -> tuple[Criterion, ...]:
        """Return the criteria verified by ``method``, in definition order.

        With ``include_follow_up`` and ``method="interview"``, criteria marked for an interview
        follow-up are included as well. An unknown method raises ``ValueError`` so that a typo
        does not pass as "no criteria".
        """
        if method not in KNOWN_METHODS:
            raise ValueError(
                f"unknown method {method!r} (expected one of: {', '.join(sorted(KNOWN_METHODS))})"
            )
        if include_follow_up:
            return tuple(c for c in self.criteria() if method in c.verification_methods)
        return tuple(c for c in self.criteria() if c.method == method)

    def method_name(self, key: str) -> Text:
        """Return the names of a method declared in the definition; ``KeyError`` if undeclared."""
        for method in self.methods:
            if method.key == key:
                return method.name
        raise KeyError(f"qualification {self.code} declares no method {key!r}")

    def to_dict(self) -> dict[str, Any]:
        """Return the definition as plain data, in the same shape as the YAML file.

        Defaults are written out (``interview_follow_up: false``), so two files that differ only
        in layout, comments or omitted defaults give equal dictionaries.
        """
        settings = self.settings
        # The optional keys are written only when set, so a file without them keeps its hash.
        optional: dict[str, Any] = {}
        if self.prk_level is not None:
            optional["prk_level"] = self.prk_level
        if self.validity is not None:
            optional["validity"] = _text_dict(self.validity)
        optional_settings: dict[str, Any] = {}
        if settings.staff_requirements is not None:
            optional_settings["staff_requirements"] = settings.staff_requirements.to_dict()
        return {
            **optional,
            "code": self.code,
            "name": _text_dict(self.name),
            "characteristic": _text_dict(self.characteristic),
            "validation": _text_dict(self.validation),
            "methods": {method.key: _text_dict(method.name) for method in self.methods},
            "settings": {
                "certificate_validity_years": settings.certificate_validity_years,
                "theory": {
                    "item_count": settings.theory.item_count,
                    "time_limit_minutes": settings.theory.time_limit_minutes,
                    "pass_mark_percent": settings.theory.pass_mark_percent,
                    "decision_rule": settings.theory.decision_rule,
                    "partial_credit": settings.theory.partial_credit,
                },
                "practical": {
                    "time_limit_minutes": settings.practical.time_limit_minutes,
                    "pass_mark_percent": settings.practical.pass_mark_percent,
                },
                "appeal_window_days": settings.appeal_window_days,
                "review_request_days": settings.review_request_days,
                "appeal_decision_days": settings.appeal_decision_days,
                "renewal_min_crm_work_months": settings.renewal_min_crm_work_months,
                "carry_over_months": settings.carry_over_months,
                "min_committee_size": settings.min_committee_size,
                "theory_required_for_practical": settings.theory_required_for_practical,
                **optional_settings,
            },
            "outcome_sets": [
                {
                    "number": outcome_set.number,
                    "name": _text_dict(outcome_set.name),
                    "outcomes": [
                        {
                            "code": outcome.code,
                            "name": _text_dict(outcome.name),
                            "criteria": [
                                {
                                    "code": criterion.code,
                                    "method": criterion.method,
                                    "interview_follow_up": criterion.interview_follow_up,
                                    "text": _text_dict(criterion.text),
                                }
                                for criterion in outcome.criteria
                            ],
                        }
                        for outcome in outcome_set.outcomes
                    ],
                }
                for outcome_set in self.outcome_sets
            ],
        }

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of :meth:`to_dict`; equal content, equal hash."""
        canonical = json.dumps(
            self.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":")
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @cached_property
    def _outcomes_by_code(self) -> dict[str, LearningOutcome]:
        return {outcome.code: outcome for outcome in self.outcomes()}

    @cached_property
    def _criteria_by_code(self) -> dict[str, Criterion]:
        return {criterion.code: criterion for criterion in self.criteria()}


def _text_dict(text: Text) -> dict[str, str]:
    return {"pl": text.pl, "en": text.en}


def definition_path(code: str) -> Path:
    """Return where the definition file of qualification ``code`` lives (it may not exist).

    Raises ``ValueError`` for a code that is not a plain qualification code, so that a code
    taken from user input can never point outside the definitions folder.
    """
    if not isinstance(code, str) or not _QUALIFICATION_CODE.fullmatch(code):
        raise ValueError(
            f"invalid qualification code {code!r} (expected letters and digits, e.g. '13881')"
        )
    return QUALIFICATIONS_DIR / f"{code}.yaml"


def available_definitions() -> list[Path]:
    """Return the paths of all definition files shipped with the package, sorted by name."""
    return sorted(QUALIFICATIONS_DIR.glob("*.yaml"))


def load_definition(path: str | Path) -> QualificationDefinition:
    """Read, parse and validate a definition file.

    Everything that goes wrong — an unreadable file, a YAML syntax error (reported with line and
    column), a duplicated key, a structural problem, or a ``code`` that differs from the file
    name — raises :class:`DefinitionError` whose ``source`` is the file name.
    """
    path = Path(path)
    source = path.name
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(
            source, "", f"the file is not UTF-8 text (byte {exc.start} cannot be decoded)"
        ) from exc
    except OSError as exc:
        raise DefinitionError(source, "", f"cannot read {path}: {exc.strerror or exc}") from exc
    data = _parse_yaml(content, source)
    definition = parse_definition(data, source)
    if path.stem != definition.code:
        raise DefinitionError(
            source,
            "code",
            f"code '{definition.code}' does not match the file name "
            f"(expected the file to be named '{definition.code}.yaml')",
        )
    return definition


def parse_definition(data: Any, source: str) -> QualificationDefinition:
    """Validate already-loaded definition data (a dict as YAML gives it) and build the definition.

    ``source`` only labels errors. Raises :class:`DefinitionError` on the first problem found.
    """
    return _Parser(source).definition(data)


def _parse_yaml(content: str, source: str) -> Any:
    try:
        return load_strict(content)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        if mark is None:
            raise DefinitionError(source, "", f"invalid YAML: {problem}") from exc
        line, column = mark.line + 1, mark.column + 1
        raise DefinitionError(
            source,
            f"line {line}, column {column}",
            f"invalid YAML: {problem}",
            line=line,
            column=column,
        ) from exc
    except yaml.YAMLError as exc:
        raise DefinitionError(source, "", f"invalid YAML: {exc}") from exc


def _describe(value: Any) -> str:
    """Name a YAML value's type the way a person editing the file would say it."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return f"a string ({shown!r})"
    if isinstance(value, (date, datetime)):
        return f"a date ({value.isoformat()})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _at(location: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{location}[{key}]"
    return f"{location}.{key}" if location else key


class _Parser:
    """Walks the loaded data, building dataclasses and failing at the first problem."""

    def __init__(self, source: str) -> None:
        self.source = source
        # Codes must be unique across the whole file, so the first use of each is remembered.
        self.seen_outcomes: dict[str, str] = {}
        self.seen_criteria: dict[str, str] = {}
        self.declared_methods: set[str] = set()

    def fail(self, location: str, message: str) -> NoReturn:
        raise DefinitionError(self.source, location, message)

    # -- generic shapes -------------------------------------------------------------------

    def mapping(
        self,
        value: Any,
        location: str,
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        allowed = required + optional
        if not isinstance(value, dict):
            self.fail(
                location,
                f"expected a mapping with keys {', '.join(allowed)}, got {_describe(value)}",
            )
        for key in value:
            if key not in allowed:
                self.fail(
                    location,
                    f"unknown key {key!r} (expected one of: {', '.join(sorted(allowed))})",
                )
        for key in required:
            if key not in value:
                self.fail(location, f"missing required key '{key}'")
        return value

    def sequence(self, value: Any, location: str, what: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(location, f"expected a list of {what}, got {_describe(value)}")
        if not value:
            self.fail(location, f"expected at least one of the {what}, got an empty list")
        return value

    def string(self, value: Any, location: str) -> str:
        if not isinstance(value, str):
            self.fail(location, f"expected a non-empty string, got {_describe(value)}")
        if not value.strip():
            self.fail(location, "expected a non-empty string, got an empty one")
        return value.strip()

    def code_string(self, value: Any, location: str, example: str) -> str:
        if not isinstance(value, str):
            self.fail(
                location,
                f"expected a code as a string, got {_describe(value)} "
                f"(quote it in YAML, e.g. \"{example}\")",
            )
        return value

    def text(self, value: Any, location: str) -> Text:
        data = self.mapping(value, location, ("pl", "en"))
        return Text(
            pl=self.string(data["pl"], _at(location, "pl")),
            en=self.string(data["en"], _at(location, "en")),
        )

    def positive_int(self, value: Any, location: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.fail(location, f"expected a positive integer, got {_describe(value)}")
        return value

    def percent(self, value: Any, location: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 100:
            self.fail(
                location, f"expected a whole percentage from 1 to 100, got {_describe(value)}"
            )
        return value

    def boolean(self, value: Any, location: str) -> bool:
        if not isinstance(value, bool):
            self.fail(location, f"expected true or false, got {_describe(value)}")
        return value

    # -- the definition -------------------------------------------------------------------

    def definition(self, value: Any) -> QualificationDefinition:
        data = self.mapping(
            value,
            "",
            (
                "code",
                "name",
                "characteristic",
                "validation",
                "methods",
                "settings",
                "outcome_sets",
            ),
            ("prk_level", "validity"),
        )
        code = self.code_string(data["code"], "code", "13881")
        if not _QUALIFICATION_CODE.fullmatch(code):
            self.fail(
                "code",
                f"invalid qualification code {code!r} "
                "(expected letters and digits, e.g. \"13881\")",
            )
        name = self.text(data["name"], "name")
        characteristic = self.text(data["characteristic"], "characteristic")
        validation = self.text(data["validation"], "validation")
        methods = self.methods(data["methods"], "methods")
        settings = self.settings(data["settings"], "settings")
        self.declared_methods = {method.key for method in methods}
        return QualificationDefinition(
            code=code,
            name=name,
            characteristic=characteristic,
            validation=validation,
            methods=methods,
            settings=settings,
            outcome_sets=self.outcome_sets(data["outcome_sets"], "outcome_sets"),
            prk_level=self.prk_level(data["prk_level"], "prk_level") if "prk_level" in data else None,
            validity=self.text(data["validity"], "validity") if "validity" in data else None,
        )

    def prk_level(self, value: Any, location: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 8:
            self.fail(location, f"expected a PRK level, a whole number from 1 to 8, got {_describe(value)}")
        return value

    def methods(self, value: Any, location: str) -> tuple[Method, ...]:
        data = self.mapping(value, location, (), KNOWN_METHODS)
        if not data:
            self.fail(
                location,
                f"expected names for at least one method of: {', '.join(sorted(KNOWN_METHODS))}",
            )
        return tuple(
            Method(key=key, name=self.text(names, _at(location, key)))
            for key, names in data.items()
        )

    def settings(self, value: Any, location: str) -> Settings:
        data = self.mapping(
            value,
            location,
            (
                "certificate_validity_years",
                "theory",
                "practical",
                "appeal_window_days",
                "review_request_days",
                "appeal_decision_days",
                "renewal_min_crm_work_months",
                "carry_over_months",
                "min_committee_size",
                "theory_required_for_practical",
            ),
            ("staff_requirements",),
        )
        theory_at = _at(location, "theory")
        theory = self.mapping(
            data["theory"], theory_at, ("item_count", "time_limit_minutes", "pass_mark_percent", "decision_rule"),
            ("partial_credit",),
        )
        partial_credit = theory.get("partial_credit", "all_or_nothing")
        if partial_credit not in THEORY_PARTIAL_CREDIT:
            self.fail(_at(theory_at, "partial_credit"),
                      f"expected one of {', '.join(THEORY_PARTIAL_CREDIT)}, got {_describe(partial_credit)}")
        rule = theory["decision_rule"]
        if rule not in THEORY_DECISION_RULES:
            self.fail(_at(theory_at, "decision_rule"),
                      f"expected one of {', '.join(THEORY_DECISION_RULES)}, got {_describe(rule)}")
        practical_at = _at(location, "practical")
        practical = self.mapping(
            data["practical"], practical_at, ("time_limit_minutes", "pass_mark_percent")
        )

        def positive(mapping: dict[str, Any], at: str, key: str) -> int:
            return self.positive_int(mapping[key], _at(at, key))

        def percent(mapping: dict[str, Any], at: str, key: str) -> int:
            return self.percent(mapping[key], _at(at, key))

        return Settings(
            certificate_validity_years=positive(data, location, "certificate_validity_years"),
            theory=TheorySettings(
                item_count=positive(theory, theory_at, "item_count"),
                time_limit_minutes=positive(theory, theory_at, "time_limit_minutes"),
                pass_mark_percent=percent(theory, theory_at, "pass_mark_percent"),
                decision_rule=rule,
                partial_credit=partial_credit,
            ),
            practical=PracticalSettings(
                time_limit_minutes=positive(practical, practical_at, "time_limit_minutes"),
                pass_mark_percent=percent(practical, practical_at, "pass_mark_percent"),
            ),
            appeal_window_days=positive(data, location, "appeal_window_days"),
            review_request_days=positive(data, location, "review_request_days"),
            appeal_decision_days=positive(data, location, "appeal_decision_days"),
            renewal_min_crm_work_months=positive(data, location, "renewal_min_crm_work_months"),
            carry_over_months=positive(data, location, "carry_over_months"),
            min_committee_size=positive(data, location, "min_committee_size"),
            theory_required_for_practical=self.boolean(
                data["theory_required_for_practical"],
                _at(location, "theory_required_for_practical"),
            ),
            staff_requirements=self.staff_requirements(data["staff_requirements"], _at(location, "staff_requirements"))
            if "staff_requirements" in data else None,
        )

    def staff_requirements(self, value: Any, location: str) -> StaffRequirements:
        data = self.mapping(value, location, (), STAFF_KINDS)
        if not data:
            self.fail(location, f"expected the requirements of at least one of: {', '.join(STAFF_KINDS)} "
                                "(or leave staff_requirements out)")
        return StaffRequirements(**{kind: self.staff_requirement(data[kind], _at(location, kind)) for kind in data})

    def staff_requirement(self, value: Any, location: str) -> StaffRequirement:
        data = self.mapping(value, location, (), ("min_education", "min_crm_supervision_months",
                                                  "computer_skills", "troubleshooting_skills"))
        education = data.get("min_education")
        if education is not None and education not in EDUCATION_LEVELS:
            self.fail(_at(location, "min_education"),
                      f"expected one of {', '.join(EDUCATION_LEVELS)}, got {_describe(education)}")
        if "min_education" in data and education is None:
            self.fail(_at(location, "min_education"),
                      f"expected one of {', '.join(EDUCATION_LEVELS)}, got an empty value (leave the key out for any)")
        months = data.get("min_crm_supervision_months", 0)
        if "min_crm_supervision_months" in data and (
                isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_SUPERVISION_MONTHS):
            self.fail(_at(location, "min_crm_supervision_months"),
                      f"expected a whole number of months from 1 to {MAX_SUPERVISION_MONTHS}, got {_describe(months)}")
        requirement = StaffRequirement(
            min_education=education,
            min_crm_supervision_months=months,
            computer_skills=self.boolean(data["computer_skills"], _at(location, "computer_skills"))
            if "computer_skills" in data else False,
            troubleshooting_skills=self.boolean(data["troubleshooting_skills"], _at(location, "troubleshooting_skills"))
            if "troubleshooting_skills" in data else False,
        )
        if not requirement.to_dict():
            self.fail(location, "this requirement requires nothing: state at least one of min_education, "
                                "min_crm_supervision_months, computer_skills: true, troubleshooting_skills: true "
                                "(or leave it out)")
        return requirement

    def outcome_sets(self, value: Any, location: str) -> tuple[OutcomeSet, ...]:
        seen_numbers: dict[int, str] = {}
        result = []
        for index, item in enumerate(self.sequence(value, location, "outcome sets")):
            set_at = _at(location, index)
            data = self.mapping(item, set_at, ("number", "name", "outcomes"))
            number_at = _at(set_at, "number")
            number = self.positive_int(data["number"], number_at)
            if number in seen_numbers:
                self.fail(
                    number_at,
                    f"duplicate outcome set number {number} (first used at {seen_numbers[number]})",
                )
            seen_numbers[number] = number_at
            if number != index + 1:
                self.fail(
                    number_at,
                    f"outcome set number {number} is out of order "
                    f"(expected {index + 1}: sets are numbered 1, 2, 3… in order)",
                )
            name = self.text(data["name"], _at(set_at, "name"))
            outcomes_at = _at(set_at, "outcomes")
            outcomes = self.sequence(data["outcomes"], outcomes_at, "learning outcomes")
            result.append(
                OutcomeSet(
                    number=number,
                    name=name,
                    outcomes=tuple(
                        self.outcome(outcome, _at(outcomes_at, position), number, position)
                        for position, outcome in enumerate(outcomes)
                    ),
                )
            )
        return tuple(result)

    def outcome(self, value: Any, location: str, set_number: int, position: int) -> LearningOutcome:
        data = self.mapping(value, location, ("code", "name", "criteria"))
        code_at = _at(location, "code")
        expected = f"{set_number}.{position + 1}"
        code = self.code_string(data["code"], code_at, expected)
        match = _OUTCOME_CODE.fullmatch(code)
        if match is None:
            self.fail(
                code_at,
                f"invalid learning outcome code {code!r} "
                "(expected the form '1.2': the set number, a dot and the outcome number)",
            )
        if code in self.seen_outcomes:
            self.fail(
                code_at,
                f"duplicate learning outcome code {code!r} "
                f"(first used at {self.seen_outcomes[code]})",
            )
        self.seen_outcomes[code] = code_at
        if int(match.group(1)) != set_number:
            self.fail(
                code_at,
                f"learning outcome {code!r} does not belong to outcome set {set_number} "
                f"(expected a code starting with '{set_number}.')",
            )
        if code != expected:
            self.fail(
                code_at,
                f"learning outcome {code!r} is out of order "
                f"(expected {expected!r}: outcomes are numbered 1, 2, 3… within their set)",
            )
        name = self.text(data["name"], _at(location, "name"))
        criteria_at = _at(location, "criteria")
        criteria = self.sequence(data["criteria"], criteria_at, "criteria")
        return LearningOutcome(
            code=code,
            name=name,
            criteria=tuple(
                self.criterion(item, _at(criteria_at, index), code, index)
                for index, item in enumerate(criteria)
            ),
        )

    def criterion(self, value: Any, location: str, outcome_code: str, position: int) -> Criterion:
        data = self.mapping(value, location, ("code", "method", "text"), ("interview_follow_up",))
        code_at = _at(location, "code")
        code = self.code_string(data["code"], code_at, f"{outcome_code}.a")
        if _CRITERION_CODE.fullmatch(code) is None:
            self.fail(
                code_at,
                f"invalid criterion code {code!r} (expected the form '1.2.d': "
                "the outcome code, a dot and one lowercase letter)",
            )
        if code in self.seen_criteria:
            self.fail(
                code_at,
                f"duplicate criterion code {code!r} (first used at {self.seen_criteria[code]})",
            )
        self.seen_criteria[code] = code_at
        parent, letter = code.rsplit(".", 1)
        if parent != outcome_code:
            self.fail(
                code_at,
                f"criterion {code!r} does not belong to learning outcome {outcome_code!r} "
                f"(expected a code starting with '{outcome_code}.')",
            )
        if position >= 26:
            self.fail(location, "too many criteria in one learning outcome (at most 26, a to z)")
        expected_letter = chr(ord("a") + position)
        if letter != expected_letter:
            self.fail(
                code_at,
                f"criterion {code!r} is out of order (expected '{outcome_code}.{expected_letter}': "
                "criteria are lettered a, b, c… within their outcome)",
            )
        method = self.criterion_method(data["method"], _at(location, "method"))
        follow_up_at = _at(location, "interview_follow_up")
        follow_up = self.boolean(data.get("interview_follow_up", False), follow_up_at)
        if follow_up and method == "interview":
            self.fail(
                follow_up_at,
                "an interview follow-up is only for criteria verified by another method "
                "(this one is verified by interview already; remove the key)",
            )
        if follow_up and "interview" not in self.declared_methods:
            self.fail(follow_up_at, "an interview follow-up needs methods.interview to be declared")
        return Criterion(
            code=code,
            text=self.text(data["text"], _at(location, "text")),
            method=method,
            interview_follow_up=follow_up,
        )

    def criterion_method(self, value: Any, location: str) -> str:
        expected = f"expected one of: {', '.join(CRITERION_METHODS)}"
        if not isinstance(value, str):
            self.fail(location, f"expected a method name, got {_describe(value)} ({expected})")
        if value in RENEWAL_METHODS:
            self.fail(
                location,
                f"method {value!r} is used only to renew a certificate, "
                f"not to verify a criterion ({expected})",
            )
        if value not in CRITERION_METHODS:
            self.fail(location, f"unknown method {value!r} ({expected})")
        if value not in self.declared_methods:
            self.fail(
                location,
                f"method {value!r} is not declared (add methods.{value} with its pl and en names)",
            )
        return value
