"""The shipped scenarios as the evidence tests load them: checked against the qualification's
criteria, the sandbox's seeders and the checks' key target kinds (loaded once per process)."""
from __future__ import annotations

from functools import cache

import sandbox_crm.views  # noqa: F401  (importing the views registers every seeder)
from question_bank.definition import definition_path, load_definition
from question_bank.scenarios import SCENARIOS_DIR, Scenario, load_scenarios
from sandbox_crm.api import key_target_problems, seed_sections
from sandbox_crm.evidence import ScenarioKey


@cache
def all_scenarios() -> dict[str, Scenario]:
    definition = load_definition(definition_path("13881"))
    return load_scenarios(SCENARIOS_DIR, qualification="13881",
                          criteria_methods={c.code: c.method for c in definition.criteria()},
                          seed_sections=seed_sections(), key_check=key_target_problems)


def scenario(code: str) -> Scenario:
    return all_scenarios()[code]


def exam_codes() -> list[str]:
    """The exam scenarios (every one has a key; a practice scenario has none)."""
    return sorted(code for code, s in all_scenarios().items() if "exam" in s.purposes)


def key_of(code: str) -> ScenarioKey:
    """The scenario's key as the checks read it (as written: no variation drawn)."""
    return ScenarioKey.from_data(scenario(code).key.check_data())
