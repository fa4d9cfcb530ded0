"""Small registries the sandbox's areas plug into, so the core never grows a branch per area.

- navigation entries of the workspace menu;
- seeders: each turns one section of a scenario's seed data into rows of a new workspace.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NAV: list[NavEntry] = []
SEEDERS: dict[str, Seeder] = {}


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: Any  # a lazy translated string
    order: int


@dataclass(frozen=True)
class Seeder:
    section: str
    order: int  # lower runs first (companies before contacts before opportunities)
    load: Callable[[Any, list, dict], None]  # (workspace, rows of the section, context shared between seeders)


def register_nav(endpoint: str, label: Any, order: int) -> None:
    """Add a workspace menu entry (idempotent per endpoint)."""
    if all(entry.endpoint != endpoint for entry in NAV):
        NAV.append(NavEntry(endpoint, label, order))
        NAV.sort(key=lambda entry: entry.order)


def seeder(section: str, order: int):
    """Decorator registering a loader for ``section`` of a scenario's seed data.

    The loader gets the workspace, the list of rows of that section, and a dict
    shared by all seeders of one workspace creation, where a seeder leaves what a
    later one needs (e.g. ``context["companies"][seed_key] = company``).
    """

    def decorate(func):
        SEEDERS[section] = Seeder(section, order, func)
        return func

    return decorate
