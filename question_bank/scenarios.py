"""Practical-exam scenarios: the task sheet a candidate works from and the sandbox seed behind it.

A scenario file (``question_bank/scenarios/<code>.yaml``) describes one business the candidate
works for: what it sells, where its raw leads come from, the sales goal, the numbered tasks
(each tagged with the verification criteria it gives evidence for) and the seed data the
sandbox CRM workspace starts from (sections such as ``companies`` or ``leads_csv``).
Every file states its ``purposes``: ``[exam]`` (drawn for exam attempts only), ``[practice]``
(offered for free practice only) or both; there is no default, because a sheet offered for
practice can be read before the exam.

This module loads and checks such files. It is pure: no Flask, no database, no sandbox. The
caller passes in what the checks need — the qualification's criteria with their methods and
the seed section names the sandbox knows — so the bank stays independent of both. Every
problem raises :class:`ScenarioError` naming the file, the place inside it and what was
expected there. An optional ``variation:`` section declares the names, figures and dates that
differ between exam attempts (see ``question_bank/variation.py``); :meth:`Scenario.varied` gives
the variant an attempt works on, its sheet, seed and key changed together. The seed rows themselves are checked by the sandbox's seeders when a
workspace is created (a test creates one from every scenario).
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import yaml

from .definition import Text
from .variation import Draw, Variation, read_variation
from .yamlio import load_strict

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
SIMULATION_METHOD = "simulation"
PURPOSES: tuple[str, ...] = ("exam", "practice")
MAX_TIME_LIMIT_MINUTES = 480

_CODE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TOP_KEYS_REQUIRED = ("code", "qualification", "title", "time_limit_minutes", "purposes", "sheet", "seed")
_TOP_KEYS_OPTIONAL: tuple[str, ...] = ("key", "variation")
_KEY_KEYS = ("sale_kind", "notes", "tasks")
_KEY_TASK_KEYS = ("task", "targets", "alternatives", "notes")
# The kinds of sale a scenario's key may name (2.1.b judges a funnel against its kind of sale).
SALE_KINDS: tuple[str, ...] = ("b2b_goods", "b2b_services", "b2c_ecommerce", "after_sales_service",
                               "public_sector", "subscription")
KeyCheck = Callable[[Mapping[str, Any]], list[str]]
_SHEET_KEYS_REQUIRED = ("business", "lead_source", "goal", "tasks")
_SHEET_KEYS_OPTIONAL = ("notes",)


class ScenarioError(Exception):
    """A scenario file that cannot be used: ``source`` (file), ``location`` (place in it), ``message``."""

    def __init__(self, source: str, location: str, message: str) -> None:
        self.source = source
        self.location = location
        self.message = message
        super().__init__(source, location, message)

    def __str__(self) -> str:
        return ": ".join(part for part in (self.source, self.location, self.message) if part)


@dataclass(frozen=True)
class ScenarioTask:
    """One numbered task of the sheet, in Polish, with the criteria it gives evidence for.

    ``answer``: the prompt of the field beside the task where the candidate records what they
    read in the CRM (empty: the task has no such field).
    """

    number: int
    text: str
    criteria: tuple[str, ...]
    answer: str = ""


@dataclass(frozen=True)
class KeyTask:
    """The key of one task: the targets the checks judge against, and, for assessors, the
    alternatives the sheet allows and notes (in Polish)."""

    task: int
    targets: Mapping[str, Any] = field(default_factory=dict)
    alternatives: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class ScenarioKey:
    """A scenario's key: never shown to candidates; the committee sees it beside the evidence."""

    sale_kind: str | None = None
    notes: str = ""
    tasks: tuple[KeyTask, ...] = ()

    def for_task(self, number: int) -> KeyTask | None:
        return next((task for task in self.tasks if task.task == number), None)

    def check_data(self) -> dict[str, Any]:
        """The plain data the sandbox's evidence checks take (``sandbox_api.run_evidence_checks``)."""
        return {"sale_kind": self.sale_kind,
                "tasks": [{"task": task.task, "targets": dict(task.targets)} for task in self.tasks]}

    def __bool__(self) -> bool:
        return bool(self.tasks) or self.sale_kind is not None


@dataclass(frozen=True)
class Scenario:
    """A practical-exam scenario: the task sheet and the sandbox seed data."""

    code: str
    qualification: str
    title: Text
    time_limit_minutes: int
    business: str
    lead_source: str
    goal: str
    tasks: tuple[ScenarioTask, ...]
    seed: Mapping[str, list] = field(compare=False, repr=False)
    purposes: tuple[str, ...]
    notes: str = ""
    key: ScenarioKey = field(default_factory=ScenarioKey, compare=False, repr=False)
    # What may vary per attempt (question_bank/variation.py), and which variant this is (0: as written).
    variation: Variation = field(default_factory=Variation, compare=False, repr=False)
    variant: int = 0
    _variants: _Variants | None = field(default=None, compare=False, repr=False)

    def varied(self, seed: int | None) -> Scenario:
        """The variant ``seed`` of this scenario: its sheet, seed and key with the names, figures
        and dates drawn for it (deterministic). ``None`` or 0, or a scenario without a variation
        section: the scenario as written."""
        if self._variants is None:
            return self
        return self._variants.build(seed or 0)

    @property
    def criteria(self) -> frozenset[str]:
        """Every criterion some task of the sheet gives evidence for."""
        return frozenset(code for task in self.tasks for code in task.criteria)

    def tasks_for(self, criterion: str) -> tuple[ScenarioTask, ...]:
        """The tasks that give evidence for ``criterion`` (for the committee's view)."""
        return tuple(task for task in self.tasks if criterion in task.criteria)


def _describe(value: Any) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    if isinstance(value, (date, datetime)):
        return f"a date ({value.isoformat()})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


class _Checker:
    """Walks one file's data, failing at the first problem with its place."""

    def __init__(self, source: str, criteria_methods: Mapping[str, str], seed_sections: Collection[str],
                 key_check: KeyCheck | None = None):
        self.source = source
        self.criteria_methods = criteria_methods
        self.seed_sections = set(seed_sections)
        self.key_check = key_check

    def fail(self, location: str, message: str) -> NoReturn:
        raise ScenarioError(self.source, location, message)

    def mapping(self, value: Any, location: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict:
        allowed = required + optional
        if not isinstance(value, dict):
            self.fail(location, f"expected a mapping with keys {', '.join(allowed)}, got {_describe(value)}")
        for key in value:
            if key not in allowed:
                self.fail(location, f"unknown key {key!r} (expected one of: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                self.fail(location, f"missing required key '{key}'")
        return value

    def string(self, value: Any, location: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(location, f"expected a non-empty text, got {_describe(value)}")
        return value.strip()

    def scenario(self, data: Any, expected_code: str | None, qualification: str) -> Scenario:
        data = self.mapping(data, "", _TOP_KEYS_REQUIRED, _TOP_KEYS_OPTIONAL)
        code = data["code"]
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            self.fail("code", f"expected lower-case letters, digits and dashes (e.g. 'hurtownia-czesci'), "
                              f"got {_describe(code)}")
        if expected_code is not None and code != expected_code:
            self.fail("code", f"code '{code}' does not match the file name (expected the file to be named "
                              f"'{code}.yaml')")
        if str(data["qualification"]) != qualification or not isinstance(data["qualification"], str):
            self.fail("qualification", f"expected the qualification code as a quoted string \"{qualification}\", "
                                       f"got {_describe(data['qualification'])}")
        title = self.mapping(data["title"], "title", ("pl", "en"))
        limit = data["time_limit_minutes"]
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_TIME_LIMIT_MINUTES:
            self.fail("time_limit_minutes",
                      f"expected whole minutes between 1 and {MAX_TIME_LIMIT_MINUTES}, got {_describe(limit)}")
        purposes = self.purposes(data["purposes"])
        sheet = self.mapping(data["sheet"], "sheet", _SHEET_KEYS_REQUIRED, _SHEET_KEYS_OPTIONAL)
        tasks = self.tasks(sheet["tasks"])
        self.coverage(tasks)
        seed = self.seed(data["seed"])
        key = self.key(data["key"], tasks) if "key" in data else ScenarioKey()
        if "exam" in purposes and not key:
            self.fail("key", "an exam scenario needs a key (the targets of its tasks, for the evidence checks "
                             "and the committee)")
        scenario = Scenario(
            code=code,
            qualification=qualification,
            title=Text(pl=self.string(title["pl"], "title.pl"), en=self.string(title["en"], "title.en")),
            time_limit_minutes=limit,
            business=self.string(sheet["business"], "sheet.business"),
            lead_source=self.string(sheet["lead_source"], "sheet.lead_source"),
            goal=self.string(sheet["goal"], "sheet.goal"),
            tasks=tasks,
            seed=seed,
            purposes=purposes,
            notes=self.string(sheet["notes"], "sheet.notes") if "notes" in sheet else "",
            key=key,
        )
        if "variation" not in data:
            return scenario
        variation = read_variation(data["variation"], data, self.fail)
        variants = _Variants(self, {k: v for k, v in data.items() if k != "variation"}, variation,
                             expected_code, qualification)
        scenario = variants.written = replace(scenario, variation=variation, _variants=variants)
        for draw in variation.extreme_draws():
            try:
                variants.built(draw, variant=1)
            except ScenarioError as error:
                self.fail("variation", f"the variant {variation.describe(draw)} is not a usable scenario: "
                                       f"{error.location}: {error.message}")
        return scenario

    def key(self, value: Any, tasks: tuple[ScenarioTask, ...]) -> ScenarioKey:
        data = self.mapping(value, "key", ("tasks",), ("sale_kind", "notes"))
        sale_kind = data.get("sale_kind")
        if sale_kind is not None and sale_kind not in SALE_KINDS:
            self.fail("key.sale_kind", f"expected one of: {', '.join(SALE_KINDS)}; got {_describe(sale_kind)}")
        entries = data["tasks"]
        if not isinstance(entries, list) or not entries:
            self.fail("key.tasks", f"expected a non-empty list of task keys, got {_describe(entries)}")
        numbers = {task.number for task in tasks}
        keyed: list[KeyTask] = []
        for index, entry in enumerate(entries):
            where = f"key.tasks[{index}]"
            raw = self.mapping(entry, where, ("task",), _KEY_TASK_KEYS[1:])
            number = raw["task"]
            if isinstance(number, bool) or number not in numbers:
                self.fail(f"{where}.task", f"expected the number of a task of the sheet (1–{len(tasks)}), "
                                           f"got {_describe(number)}")
            if any(k.task == number for k in keyed):
                self.fail(f"{where}.task", f"task {number} is keyed twice")
            targets = raw.get("targets") or {}
            if not isinstance(targets, dict):
                self.fail(f"{where}.targets", f"expected a mapping of target kinds, got {_describe(targets)}")
            if self.key_check is not None:
                problems = self.key_check(targets)
                if problems:
                    self.fail(f"{where}.targets", "; ".join(problems))
            alternatives = raw.get("alternatives") or []
            if not isinstance(alternatives, list):
                self.fail(f"{where}.alternatives", f"expected a list of texts, got {_describe(alternatives)}")
            keyed.append(KeyTask(
                task=number, targets=targets,
                alternatives=tuple(self.string(a, f"{where}.alternatives[{i}]") for i, a in enumerate(alternatives)),
                notes=self.string(raw["notes"], f"{where}.notes") if raw.get("notes") is not None else ""))
        return ScenarioKey(sale_kind=sale_kind,
                           notes=self.string(data["notes"], "key.notes") if data.get("notes") is not None else "",
                           tasks=tuple(sorted(keyed, key=lambda k: k.task)))

    def purposes(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value or any(p not in PURPOSES for p in value):
            self.fail("purposes", f"expected a non-empty list of: {', '.join(PURPOSES)}; got {_describe(value)}")
        return tuple(dict.fromkeys(value))

    def tasks(self, value: Any) -> tuple[ScenarioTask, ...]:
        if not isinstance(value, list) or not value:
            self.fail("sheet.tasks", f"expected a non-empty list of tasks, got {_describe(value)}")
        tasks = []
        for index, entry in enumerate(value):
            where = f"sheet.tasks[{index}]"
            raw = self.mapping(entry, where, ("number", "text", "criteria"), ("answer",))
            if raw["number"] != index + 1 or isinstance(raw["number"], bool):
                self.fail(f"{where}.number", f"expected task number {index + 1} (tasks are numbered 1, 2, 3… "
                                             f"in order), got {_describe(raw['number'])}")
            codes = raw["criteria"]
            if not isinstance(codes, list) or not codes:
                self.fail(f"{where}.criteria",
                          f"expected a list of criterion codes such as \"2.4.a\", got {_describe(codes)}")
            seen: list[str] = []
            for position, code in enumerate(codes):
                place = f"{where}.criteria[{position}]"
                if not isinstance(code, str):
                    self.fail(place, f"expected a criterion code as a quoted string, got {_describe(code)}")
                if code not in self.criteria_methods:
                    self.fail(place, f"unknown criterion {code!r} (not in qualification's definition)")
                if self.criteria_methods[code] != SIMULATION_METHOD:
                    self.fail(place, f"criterion {code} is verified by {self.criteria_methods[code]}, "
                                     f"not in the simulation")
                if code in seen:
                    self.fail(place, f"criterion {code} is listed twice for this task")
                seen.append(code)
            tasks.append(ScenarioTask(number=index + 1, text=self.string(raw["text"], f"{where}.text"),
                                      criteria=tuple(seen),
                                      answer=self.string(raw["answer"], f"{where}.answer") if "answer" in raw else ""))
        return tuple(tasks)

    def coverage(self, tasks: tuple[ScenarioTask, ...]) -> None:
        required = [code for code, method in self.criteria_methods.items() if method == SIMULATION_METHOD]
        covered = {code for task in tasks for code in task.criteria}
        missing = [code for code in required if code not in covered]
        if missing:
            self.fail("sheet.tasks", f"no task gives evidence for simulation criteria {', '.join(missing)} "
                                     f"(every scenario must cover all {len(required)})")

    def seed(self, value: Any) -> dict[str, list]:
        if not isinstance(value, dict) or not value:
            self.fail("seed", f"expected a mapping of seed sections to lists of rows, got {_describe(value)}")
        for section, rows in value.items():
            where = f"seed.{section}"
            if section not in self.seed_sections:
                self.fail(where, f"unknown seed section {section!r} "
                                 f"(the sandbox knows: {', '.join(sorted(self.seed_sections))})")
            if not isinstance(rows, list) or not rows:
                self.fail(where, f"expected a non-empty list of rows, got {_describe(rows)}")
            for index, row in enumerate(rows):
                if not isinstance(row, (dict, str)):
                    self.fail(f"{where}[{index}]", f"expected a mapping (or a line of text), got {_describe(row)}")
        return value


class _Variants:
    """The variants of one scenario file, built from its data as written by the same checks.

    The last few built are kept: the sheet beside every sandbox page asks for the attempt's
    variant, and building one means copying and checking the whole file again.
    """

    KEEP = 64

    def __init__(self, checker: _Checker, data: Mapping[str, Any], variation: Variation, expected_code: str | None,
                 qualification: str) -> None:
        self.checker = checker
        self.data = data
        self.variation = variation
        self.expected_code = expected_code
        self.qualification = qualification
        self.written: Scenario | None = None
        self._kept: OrderedDict[int, Scenario] = OrderedDict()
        self._lock = threading.Lock()

    def build(self, seed: int) -> Scenario:
        if not seed:
            if self.written is None:
                raise RuntimeError("the scenario as written is set by the checker before any variant is built")
            return self.written
        with self._lock:
            kept = self._kept.get(seed)
            if kept is not None:
                self._kept.move_to_end(seed)
                return kept
        scenario = self.built(self.variation.draw(seed), variant=seed)
        with self._lock:
            self._kept[seed] = scenario
            while len(self._kept) > self.KEEP:
                self._kept.popitem(last=False)
        return scenario

    def built(self, draw: Draw, variant: int) -> Scenario:
        """The scenario of ``draw``: the file as written with the draw applied, checked like any file."""
        scenario = self.checker.scenario(self.variation.apply(self.data, draw), self.expected_code, self.qualification)
        return replace(scenario, variation=self.variation, variant=variant, _variants=self)


def _parse_yaml(content: str, source: str) -> Any:
    try:
        return load_strict(content)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(part for part in (exc.problem, exc.context and f"({exc.context})") if part) or "invalid YAML"
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ScenarioError(source, where, f"invalid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ScenarioError(source, "", f"invalid YAML: {exc}") from exc


def parse_scenario(
    data: Any,
    source: str,
    *,
    qualification: str,
    criteria_methods: Mapping[str, str],
    seed_sections: Collection[str],
    expected_code: str | None = None,
    key_check: KeyCheck | None = None,
) -> Scenario:
    """Check already-loaded scenario data and build the :class:`Scenario`.

    ``criteria_methods`` maps every criterion code of the qualification to its method;
    the tasks must cite only simulation criteria and, together, all of them.
    ``seed_sections`` are the section names the sandbox can seed.
    """
    return _Checker(source, criteria_methods, seed_sections, key_check).scenario(data, expected_code, qualification)


def load_scenario(
    path: str | Path,
    *,
    qualification: str,
    criteria_methods: Mapping[str, str],
    seed_sections: Collection[str],
    key_check: KeyCheck | None = None,
) -> Scenario:
    """Read and check one scenario file; its ``code`` must match the file name."""
    path = Path(path)
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError(path.name, "", f"the file is not UTF-8 text (byte {exc.start} cannot be decoded)") from exc
    except OSError as exc:
        raise ScenarioError(path.name, "", f"cannot read {path}: {exc.strerror or exc}") from exc
    return parse_scenario(_parse_yaml(content, path.name), path.name, qualification=qualification,
                          criteria_methods=criteria_methods, seed_sections=seed_sections, expected_code=path.stem,
                          key_check=key_check)


def load_scenarios(
    directory: str | Path = SCENARIOS_DIR,
    *,
    qualification: str,
    criteria_methods: Mapping[str, str],
    seed_sections: Collection[str],
    key_check: KeyCheck | None = None,
) -> dict[str, Scenario]:
    """Every scenario of ``directory`` (``*.yaml``), by code, in file-name order.

    At least one scenario is required; codes are unique because each matches its file name.
    """
    directory = Path(directory)
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise ScenarioError(str(directory), "", "no scenario files (*.yaml) found")
    scenarios: dict[str, Scenario] = {}
    for path in paths:
        scenario = load_scenario(path, qualification=qualification, criteria_methods=criteria_methods,
                                 seed_sections=seed_sections, key_check=key_check)
        scenarios[scenario.code] = scenario
    return scenarios
