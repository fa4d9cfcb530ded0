"""Words as the evidence checks compare them with a scenario's key.

- Names of records are compared :func:`loosely <loose>`: case, spacing and punctuation aside, so
  "Umowa ramowa - utrzymanie ruchu" typed with a hyphen is the key's "Umowa ramowa — utrzymanie ruchu".
- What a sheet asks in words (a goal's subject, the stages it suggests, what an offer is for) is
  keyed as word *stems* with alternatives, ``"oferta|wycen"``: a text matches when one of its
  words begins with one of the stems. Stems, not whole words, because Polish inflects ("łożysk"
  matches "łożyska", "łożysk", "łożyskami").
- A text is filler when it has no :func:`real words <sandbox_crm.services.smart.real_words>`
  (the sandbox's SMART check uses the same rule).
- A list of labels shown in a summary is joined only when the summary is rendered
  (:func:`joined`), so each label is read in the reader's language.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from flask_babel import LazyString

from ..services.smart import real_words
from ..textcase import name_key

__all__ = ["first_match", "joined", "loose", "matches", "positive_int_problem", "real_words", "stems_problem",
           "text_problem", "words"]

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)  # runs of letters and digits


def words(text: str | None) -> list[str]:
    """The words (runs of letters and digits) of ``text``, case-folded."""
    return _TOKEN.findall(name_key(text))


def loose(name: str | None) -> str:
    """What two names share when they name the same record: their words, case-folded."""
    return " ".join(words(name))


def _stems(alternatives: str) -> list[str]:
    return [stem for stem in (part.strip().casefold() for part in alternatives.split("|")) if stem]


def matches(text: str | None, alternatives: str) -> bool:
    """Whether a word of ``text`` begins with one of the ``|``-separated stems of ``alternatives``."""
    stems = _stems(alternatives)
    return any(word.startswith(stem) for word in words(text) for stem in stems)


def joined(labels: Iterable[Any], separator: str = ", ") -> LazyString:
    """``labels`` (lazy messages or names) joined when rendered, so each is in the reader's language."""
    items = list(labels)
    return LazyString(lambda: separator.join(str(label) for label in items))


# --- validators of key targets (a problem for the key's author, or None) ----------------------

def text_problem(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return "expected a name as the sheet gives it"
    return None


def stems_problem(value: object) -> str | None:
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, str) and _stems(v) and all(_TOKEN.fullmatch(s) for s in _stems(v))
                       for v in value)):
        return "expected a list of word stems, alternatives separated by '|' (e.g. [\"oferta|wycen\", \"umow\"])"
    return None


def positive_int_problem(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return "expected a whole number greater than zero"
    return None


def first_match(text: str | None, ideas: Sequence[str]) -> int | None:
    """The index of the first of ``ideas`` (each ``|``-separated stems) that ``text`` matches."""
    return next((index for index, idea in enumerate(ideas) if matches(text, idea)), None)
