"""Every test builds its own app (tests/conftest.py), and most of ``create_app``'s time went to
werkzeug compiling each of the app's ~290 URL rules into two URL-building functions (through
``ast`` and ``compile``): about a tenth of the suite's time, for the same functions every time.

``install()`` keeps the built functions per process. A builder is a pure function of what
``Rule._compile_builder`` reads: the rule's parsed parts (``_trace``; its text names the
converters and their arguments), its defaults (with the converters that write them) and whether
unknown arguments are appended; the rule instance comes in as the function's first argument (it is
bound to each rule afterwards), so one function serves every app's copy of the rule. tests/unit/test_routing_cache.py checks that the kept
functions are those werkzeug would compile. Tests only: the app itself is built once per process.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing.rules import Rule

_original = Rule._compile_builder
_built: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}


def key(rule: Rule, append_unknown: bool) -> tuple[Any, ...]:
    defaults = rule.defaults or {}
    return (append_unknown, rule.rule, tuple(rule._trace),
            tuple(sorted((name, type(value).__name__, repr(value)) for name, value in defaults.items())),
            # a default of a variable of the rule is written into the builder by its converter
            tuple(sorted((name, type(converter).__qualname__) for name, converter in rule._converters.items())))


def _compile_builder(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
    found = key(self, append_unknown)
    builder = _built.get(found)
    if builder is None:
        builder = _built[found] = _original(self, append_unknown)
    return builder


def install() -> None:
    Rule._compile_builder = _compile_builder  # type: ignore[method-assign]
