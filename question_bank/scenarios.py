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
expected there. The seed rows themselves are checked by the sandbox's seeders when a
workspace is created (a test creates one from every scenario).
"""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, NoReturn

import yaml

from .definition import Text
from .yamlio import load_strict

SCENARIOS_DIR = Path(__file__).resolve().parent / "scenarios"
SIMULATION_METHOD = "simulation"
PURPOSES: tuple[str, ...] = ("exam", "practice")
MAX_TIME_LIMIT_MINUTES = 480

_CODE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TOP_KEYS_REQUIRED = ("code", "qualification", "title", "time_limit_minutes", "purposes", "sheet", "seed")
_TOP_KEYS_OPTIONAL: tuple[str, ...] = ()
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
    """One numbered task of the sheet, in Polish, with the criteria it gives evidence for."""

    number: int
    text: str
    criteria: tuple[str, ...]


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

    def __init__(self, source: str, criteria_methods: Mapping[str, str], seed_sections: Collection[str]):
        self.source = source
        self.criteria_methods = criteria_methods
        self.seed_sections = set(seed_sections)

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
        return Scenario(
            code=code,
            qualification=qualification,
            title=Text(pl=self.string(title["pl"], "title.pl"), en=self.string(title["en"], "title.en")),
            time_limit_minutes=limit,
            business=self.string(sheet["business"], "sheet.business"),
            lead_source=self.string(sheet["lead_source"], "sheet.lead_source"),
            goal=self.string(sheet["goal"], "sheet.goal"),
            tasks=tasks,
            seed=self.seed(data["seed"]),
            purposes=purposes,
            notes=self.string(sheet["notes"], "sheet.notes") if "notes" in sheet else "",
        )

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
            raw = self.mapping(entry, where, ("number", "text", "criteria"))
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
                                      criteria=tuple(seen)))
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
) -> Scenario:
    """Check already-loaded scenario data and build the :class:`Scenario`.

    ``criteria_methods`` maps every criterion code of the qualification to its method;
    the tasks must cite only simulation criteria and, together, all of them.
    ``seed_sections`` are the section names the sandbox can seed.
    """
    return _Checker(source, criteria_methods, seed_sections).scenario(data, expected_code, qualification)


def load_scenario(
    path: str | Path,
    *,
    qualification: str,
    criteria_methods: Mapping[str, str],
    seed_sections: Collection[str],
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
                          criteria_methods=criteria_methods, seed_sections=seed_sections, expected_code=path.stem)


def load_scenarios(
    directory: str | Path = SCENARIOS_DIR,
    *,
    qualification: str,
    criteria_methods: Mapping[str, str],
    seed_sections: Collection[str],
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
                                 seed_sections=seed_sections)
        scenarios[scenario.code] = scenario
    return scenarios
