"""Theory-test items: the data model, the question-type registry, loading and bank checks.

An item is plain data (YAML in ``question_bank/items/``). Everything that differs between
question types lives in one class per type, registered in ``REGISTRY``: how a key is validated,
how the parts are shuffled for display, how the portal's web form carries an answer and which
template shows its fields, how an answer is read and scored, what the item statistics count and
how the type is written as QTI. The rest of the code asks the registry (``get_type``) and never
branches on the type name, so a new type is one class here and one template in the portal.

Scoring is all-or-nothing for every type: an item is worth 1 point, earned only by the exactly
correct answer (the exact set of options for multiple choice, the whole order for ordering, every
pair for matching). Partial credit would make the score of a multi-part item depend on how many
parts it happens to have, which would weight the criteria of a 30-item test unevenly; the pass
mark of the theory part is set with whole items in mind.

Nothing here imports Flask, the database or the qualification definition: the criteria an item
may be tagged with are passed in by the caller.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import unicodedata
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar, cast

import yaml

from .yamlio import load_strict

__all__ = [
    "REGISTRY",
    "TEST_METHOD",
    "BankError",
    "BankReport",
    "CriterionCoverage",
    "FormAnswerError",
    "FormData",
    "Item",
    "ItemFormatError",
    "Key",
    "MatchingKey",
    "Option",
    "QuestionType",
    "ResponseError",
    "Text",
    "check_bank",
    "counted_options",
    "fingerprint",
    "get_type",
    "item_from_dict",
    "item_to_dict",
    "load_items",
    "normalize_response",
    "present",
    "register",
    "score",
    "validate",
]

TEST_METHOD = "test"
"""The verification method of the criteria the theory test covers."""

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
"""Item ids: stable, readable in a URL and a file name (``13881-1.1.a-001``)."""

CHOICE_ID_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,31}")
"""Option, premise and response ids: XML NCNames, so they can be QTI identifiers as they are."""

CRITERION_PATTERN = re.compile(r"\d+\.\d+\.[a-z]")
"""Criterion codes as the qualification numbers them: set.outcome.letter (``2.5.c``)."""

MAX_RESPONSE_PARTS = 64
"""No item has more options than this; longer submitted lists are rejected, not truncated."""

MAX_RESPONSE_ID_LENGTH = 64

MAX_NUMBER_DIGITS = 10
"""A number typed into a form has at most this many digits, as everywhere in the portal
(``sandbox_crm.params.parse_number``, which this package cannot import: it needs Flask)."""


# --------------------------------------------------------------------------- errors


class BankError(ValueError):
    """The bank on disk cannot be loaded; ``problems`` names each file and item at fault."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ItemFormatError(ValueError):
    """Data does not have the shape of an item (wrong field type, unknown field, an unknown type,
    QTI response values that cannot be a key...)."""


class ResponseError(ValueError):
    """A submitted answer cannot be read; the message says what is wrong and is safe to show."""


def N_(message: str) -> str:
    """Mark an English msgid for the portal's catalogue (babel.cfg extracts question_bank with the
    ``N_`` keyword): this package has no translations, the portal translates where it shows it."""
    return message


class FormAnswerError(ResponseError):
    """The portal's web form carries no readable answer (``QuestionType.read_form``).

    The candidate sees this message, in their language: ``msgid`` is marked with ``N_`` and
    ``params`` fill its placeholders, and the portal translates the two at the one place it reads
    a form. ``str()`` is the English text.
    """

    def __init__(self, msgid: str, **params: Any) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(msgid % params if params else msgid)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Text:
    """A piece of item text in Polish, with an optional English translation."""

    pl: str
    en: str | None = None


@dataclass(frozen=True)
class Option:
    """An option of a choice or ordering item, or a premise/response of a matching item."""

    id: str
    text: Text


REVIEW_STATES = ("draft", "reviewed", "approved", "retired")
"""An item's life: written (draft), checked by a second person (reviewed), cleared for tests
(approved), withdrawn (retired). Only approved items are drawn."""

LEGAL_DATE_MAX_AGE_DAYS = 2 * 365
"""An item on the law whose "law as of" date is older than this is reported for a re-check."""

# Words that give a false true/false statement away: test-wise candidates learn that absolute
# claims are usually false. (Polish, in the forms the bank uses.)
ABSOLUTE_WORDS = re.compile(
    r"\b(zawsze|nigdy|wyłącznie|jedynie|każd[aey]|żaden|żadn[aey]|wszystk[ieo]|wszelk[aiey]|"
    r"bezterminowo|całkowicie|jak najwięcej|bez wyjątku|w ogóle)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Review:
    """Who wrote and who checked an item, where it stands, and the law it reflects."""

    state: str = "draft"
    author: str | None = None
    reviewer: str | None = None
    law_as_of: str | None = None  # ISO date of the legal state the item reflects (legal items only)


MatchingKey = tuple[tuple[str, str], ...]
"""A matching key: (premise id, response id) pairs, in the order the author wrote them."""

Key = tuple[str, ...] | bool | MatchingKey | None
"""Option ids (choice, ordering), a truth value (true/false) or pairs (matching); None if missing."""


@dataclass(frozen=True)
class Item:
    """One version of one theory-test item.

    ``key`` holds option ids for choice and ordering items (ordering: in the correct order), a
    bool for true/false items and (premise, response) pairs for matching items. An Item may be
    invalid (it is how a broken bank entry is represented); ``validate`` lists what is wrong.
    """

    id: str
    version: int
    type: str
    criteria: tuple[str, ...]
    stem: Text
    key: Key
    options: tuple[Option, ...] = ()
    premises: tuple[Option, ...] = ()
    responses: tuple[Option, ...] = ()
    rationale: Text | None = None
    #: The author's estimate of the proportion of competent candidates answering correctly (0–1),
    #: replaced by the item statistics' facility once enough attempts exist.
    difficulty: float | None = None
    review: Review = field(default_factory=Review)

    @property
    def approved(self) -> bool:
        return self.review.state == "approved"

    @property
    def key_map(self) -> dict[str, str]:
        """The matching key as a premise → response dict (empty for other key shapes)."""
        if isinstance(self.key, tuple) and all(isinstance(pair, tuple) for pair in self.key):
            return dict(self.key)  # type: ignore[arg-type]
        return {}


# --------------------------------------------------------------------------- helpers


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _text_problems(text: Text | None, where: str, *, required: bool = True) -> list[str]:
    if text is None:
        return [f"{where} is missing"] if required else []
    problems = []
    if _blank(text.pl):
        problems.append(f"{where}.pl is empty")
    if text.en is not None and _blank(text.en):
        problems.append(f"{where}.en is empty (leave it out rather than blank)")
    return problems


def _option_list_problems(options: Sequence[Option], where: str, minimum: int) -> list[str]:
    problems = []
    if len(options) < minimum:
        problems.append(f"{where}: at least {minimum} needed, found {len(options)}")
    seen_ids: dict[str, int] = {}
    seen_texts: dict[str, int] = {}
    for index, option in enumerate(options):
        here = f"{where}[{index}]"
        if not CHOICE_ID_PATTERN.fullmatch(option.id):
            problems.append(
                f"{here}.id {option.id!r} must start with a letter and use letters, digits, '_', '.', '-'"
            )
        if option.id in seen_ids:
            problems.append(f"{here}.id {option.id!r} repeats {where}[{seen_ids[option.id]}]")
        else:
            seen_ids[option.id] = index
        problems.extend(_text_problems(option.text, f"{here}.text"))
        normalized = normalize_text(option.text.pl)
        if normalized and normalized in seen_texts:
            problems.append(f"{here}.text.pl repeats {where}[{seen_texts[normalized]}]")
        elif normalized:
            seen_texts[normalized] = index
    return problems


def _unused_parts(item: Item, *, options: bool, matching: bool) -> list[str]:
    problems = []
    if not options and item.options:
        problems.append(f"options are not used by {item.type} items")
    if not matching and (item.premises or item.responses):
        problems.append(f"premises/responses are not used by {item.type} items")
    return problems


def _id_list_key(item: Item) -> tuple[list[str], list[str]]:
    """Return (key ids, problems) for keys that must be a list of option ids."""
    key = item.key
    if key is None:
        return [], ["key is missing"]
    if isinstance(key, bool) or not isinstance(key, tuple) or not all(isinstance(k, str) for k in key):
        return [], ["key must be a list of option ids"]
    key = cast("tuple[str, ...]", key)  # narrowed by the check above
    if not key:
        return [], ["key is empty"]
    problems = []
    known = {option.id for option in item.options}
    for value in key:
        if value not in known:
            problems.append(f"key references unknown option {value!r}")
    duplicates = sorted(k for k, n in Counter(key).items() if n > 1)
    for value in duplicates:
        problems.append(f"key lists option {value!r} more than once")
    return list(key), problems


def _response_id(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ResponseError(f"{what} must be an option identifier, not {type(value).__name__}.")
    value = value.strip()
    if not value:
        raise ResponseError(f"{what} is empty.")
    if len(value) > MAX_RESPONSE_ID_LENGTH or not CHOICE_ID_PATTERN.fullmatch(value):
        raise ResponseError(f"{what} is not a valid option identifier.")
    return value


def _response_list(raw: Any, what: str) -> list[str]:
    """Read a list of ids from a form value: a list, or one string (comma-separated allowed)."""
    if isinstance(raw, str):
        parts: list[Any] = [part for part in raw.split(",") if part.strip()]
    elif isinstance(raw, (list, tuple)):
        parts = list(raw)
    else:
        raise ResponseError(f"{what} must be a list of option identifiers.")
    if len(parts) > MAX_RESPONSE_PARTS:
        raise ResponseError(f"{what} has too many entries ({len(parts)}).")
    return [_response_id(part, f"{what} entry") for part in parts]


def _check_known(values: Iterable[str], known: Iterable[str], what: str) -> None:
    allowed = set(known)
    for value in values:
        if value not in allowed:
            raise ResponseError(f"{value!r} is not {what} of this question.")


def _place(text: str, count: int) -> int | None:
    """A place from 1 to ``count`` typed with ASCII digits, or None: "²" and "١" are not numbers."""
    text = text.strip()
    if not text or len(text) > MAX_NUMBER_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 1 <= value <= count else None


def _option_ids(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The option ids of an item as plain data (a snapshot's copy), skipping malformed entries."""
    return tuple(o["id"] for o in data.get("options", ()) if isinstance(o, dict) and "id" in o)


class FormData(Protocol):
    """What ``QuestionType.read_form`` needs of a submitted form (a werkzeug MultiDict has it)."""

    def get(self, key: str, /) -> Any: ...

    def getlist(self, key: str, /) -> list[Any]: ...


# --------------------------------------------------------------------------- question types


class QuestionType(ABC):
    """The interface every question type implements; register a subclass with ``@register``.

    A type carries all that is particular to it, as a CTFd challenge class does: the item's
    rules (``validate``), its display order (``present``) and the choices its page shows
    (``display_choices``), the portal's template for its answer fields (``template``) and how
    the posted form carries the answer (``read_form``), how an answer is read and scored, the
    answers the item statistics count (``counted_options``), the wording the bank check flags
    (``giveaway_word``) and its QTI mapping (``qti_*``).
    """

    name: ClassVar[str]
    uses_options: ClassVar[bool] = True
    uses_matching: ClassVar[bool] = False

    template: ClassVar[str]
    """The portal's Jinja template with the answer fields of an item of this type (the fields
    ``read_form`` reads); ``theory/types/<name>.html`` unless the class names another."""

    # How the type is written as IMS QTI 3.0 and recognised on import (question_bank.qti builds
    # the XML: the interaction, its prompt and its choices, or a match interaction's two sets).
    qti_interaction: ClassVar[str]
    """The QTI interaction element (``qti-choice-interaction``, ``qti-order-interaction`` or
    ``qti-match-interaction``, the ones qti.py reads)."""
    qti_cardinality: ClassVar[str]
    """The response declaration's cardinality (single, multiple, ordered)."""
    qti_base_type: ClassVar[str] = "identifier"
    """The response declaration's base type."""
    qti_fixed_choices: ClassVar[tuple[Option, ...]] = ()
    """Choices the interaction shows instead of the item's options (true/false): an item written
    with them has no options of its own, so an imported one keeps none, and a package from
    elsewhere with exactly these choices is taken for this type."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in vars(cls) and "template" not in vars(cls):
            cls.template = f"theory/types/{cls.name}.html"

    def validate(self, item: Item) -> list[str]:
        """Return the problems of ``item`` (empty if it is sound), each naming the field at fault."""
        problems = _common_problems(item)
        problems.extend(_unused_parts(item, options=self.uses_options, matching=self.uses_matching))
        problems.extend(self.validate_specific(item))
        return problems

    @abstractmethod
    def validate_specific(self, item: Item) -> list[str]:
        """Problems particular to this type: its options and key."""

    @abstractmethod
    def present(self, item: Item, rng: random.Random) -> dict[str, Any]:
        """The order in which to show the parts of ``item``; deterministic for a seeded ``rng``."""

    @abstractmethod
    def normalize_response(self, raw: Any, item: Item | None = None) -> Any:
        """Turn a raw form answer into its canonical JSON-able form or raise ResponseError.

        With ``item`` given, identifiers that are not part of that item are rejected too.
        """

    @abstractmethod
    def is_correct(self, item: Item, response: Any) -> bool:
        """Whether a canonical response is exactly the key."""

    def key_response(self, item: Item) -> Any:
        """The key as a canonical response (what a candidate who answers correctly gives): by
        default the key's option ids, in order."""
        return [str(option_id) for option_id in cast("tuple[str, ...]", item.key or ())]

    def score(self, item: Item, response: Any, partial: bool = False) -> float:
        """Score a response in [0, 1]: all-or-nothing, or with ``partial`` the share of the key's
        pairs the response gets right (matching and ordering; the other types have no parts)."""
        canonical = self.normalize_response(response, item)
        if self.is_correct(item, canonical):
            return 1.0
        return self.partial_score(item, canonical) if partial else 0.0

    def partial_score(self, item: Item, response: Any) -> float:
        """The share of the key's pairs in a (wrong) canonical response; 0 for types without parts."""
        return 0.0

    def read_form(self, form: FormData, presented: Mapping[str, Any]) -> Any:
        """The raw answer the portal's form (``template``) carries for an item shown as ``presented``;
        None when nothing was chosen. The plain POST and the autosave script send the same fields.

        By default one ``answer`` field (a radio group); FormAnswerError when the fields make no answer.
        """
        value = form.get("answer")
        return value if value not in (None, "") else None

    def display_choices(self, presented: Mapping[str, Any]) -> list[str]:
        """Fixed choices the page shows besides the item's own parts (true/false's pair), in the
        presented order; none by default."""
        return []

    def counted_options(self, data: Mapping[str, Any]) -> tuple[str, ...]:
        """The answers the item statistics count the choices of, for an item as plain data (a
        snapshot's copy): its option ids by default."""
        return _option_ids(data)

    def giveaway_word(self, item: Item) -> str | None:
        """A word of the stem that gives the answer away to a test-wise candidate; the bank check
        reports it. None by default."""
        return None

    def qti_attributes(self, item: Item) -> dict[str, str]:
        """The interaction's attributes besides its response identifier, in the order written."""
        return {"shuffle": "true"}

    def qti_correct(self, item: Item) -> list[str]:
        """The values of the QTI correct response: by default the key's option ids."""
        return list(cast("tuple[str, ...]", item.key))

    def key_from_qti(self, values: list[str]) -> Key:
        """The key from the values of an imported correct response; ItemFormatError (the reason)
        if they cannot be one. By default the option ids as they are."""
        return tuple(values)


PARTIAL_CREDIT = ("all_or_nothing", "per_pair")
"""``theory.partial_credit``: matching and ordering items score all-or-nothing, or per pair (the
share of premises matched to their key response; of the key's consecutive pairs kept in order)."""


REGISTRY: dict[str, QuestionType] = {}
"""Question types by name (the ``type`` field of an item)."""

_T = TypeVar("_T", bound=type[QuestionType])


def register(cls: _T) -> _T:
    """Class decorator: add a question type to ``REGISTRY`` under its ``name``."""
    if cls.name in REGISTRY:
        raise ValueError(f"question type {cls.name!r} is already registered")
    missing = [attribute for attribute in ("qti_interaction", "qti_cardinality") if not hasattr(cls, attribute)]
    if missing:  # otherwise the type would fail only at its first QTI export
        raise ValueError(f"question type {cls.name!r} does not set {', '.join(missing)}")
    REGISTRY[cls.name] = cls()
    return cls


def get_type(name: str) -> QuestionType:
    """The registered implementation of question type ``name``; ItemFormatError if unknown."""
    try:
        return REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ItemFormatError(f"type {name!r} is not one of: {known}") from None


def _common_problems(item: Item) -> list[str]:
    problems = []
    if _blank(item.id):
        problems.append("id is empty")
    elif not ID_PATTERN.fullmatch(item.id):
        problems.append(f"id {item.id!r} must use letters, digits, '.', '_', '-' (at most 80)")
    if isinstance(item.version, bool) or not isinstance(item.version, int) or item.version < 1:
        problems.append("version must be a positive integer")
    if not item.criteria:
        problems.append("criteria is empty")
    for index, code in enumerate(item.criteria):
        if not CRITERION_PATTERN.fullmatch(code):
            problems.append(f"criteria[{index}] {code!r} is not a criterion code like 1.1.a")
    for code, count in Counter(item.criteria).items():
        if count > 1:
            problems.append(f"criteria lists {code!r} more than once")
    problems.extend(_text_problems(item.stem, "stem"))
    problems.extend(_text_problems(item.rationale, "rationale", required=False))
    problems.extend(_metadata_problems(item))
    return problems


def _metadata_problems(item: Item) -> list[str]:
    problems = []
    if item.difficulty is not None and (isinstance(item.difficulty, bool) or not 0 < item.difficulty < 1):
        problems.append("difficulty must be a proportion between 0 and 1 (exclusive)")
    review = item.review
    if review.state not in REVIEW_STATES:
        problems.append(f"review.state {review.state!r} must be one of {', '.join(REVIEW_STATES)}")
    if review.state in ("reviewed", "approved", "retired"):
        if _blank(review.author) or _blank(review.reviewer):
            problems.append(f"a {review.state} item names its author and its reviewer")
        elif (review.author or "").strip().casefold() == (review.reviewer or "").strip().casefold():
            problems.append("the reviewer must be another person than the author")
    if review.law_as_of is not None:
        try:
            date.fromisoformat(review.law_as_of)
        except ValueError:
            problems.append(f"review.law_as_of {review.law_as_of!r} must be a date like 2026-11-01")
    return problems


class _ChoiceType(QuestionType):
    """Shared by single and multiple choice: options shown in a shuffled order."""

    qti_interaction = "qti-choice-interaction"

    def present(self, item: Item, rng: random.Random) -> dict[str, Any]:
        ids = [option.id for option in item.options]
        return {"type": self.name, "item_id": item.id, "options": rng.sample(ids, len(ids))}


@register
class SingleChoice(_ChoiceType):
    """One correct option among several."""

    name = "single_choice"
    qti_cardinality = "single"

    def validate_specific(self, item: Item) -> list[str]:
        problems = _option_list_problems(item.options, "options", minimum=3)
        key, key_problems = _id_list_key(item)
        problems.extend(key_problems)
        if key and len(key) != 1:
            problems.append(f"single_choice needs exactly 1 keyed option, found {len(key)}")
        return problems

    def normalize_response(self, raw: Any, item: Item | None = None) -> str:
        if isinstance(raw, (list, tuple)):
            if len(raw) != 1:
                raise ResponseError("Choose exactly one option.")
            raw = raw[0]
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise ResponseError("Choose an option.")
        value = _response_id(raw, "The answer")
        if item is not None:
            _check_known([value], (o.id for o in item.options), "an option")
        return value

    def is_correct(self, item: Item, response: Any) -> bool:
        return isinstance(item.key, tuple) and list(item.key) == [response]

    def key_response(self, item: Item) -> str:
        return str(cast("tuple[str, ...]", item.key)[0])

    def qti_attributes(self, item: Item) -> dict[str, str]:
        return {"shuffle": "true", "max-choices": "1", "min-choices": "0"}


@register
class MultipleChoice(_ChoiceType):
    """Two or more correct options (but not all); scored only for the exact set."""

    name = "multiple_choice"
    qti_cardinality = "multiple"

    def validate_specific(self, item: Item) -> list[str]:
        problems = _option_list_problems(item.options, "options", minimum=3)
        key, key_problems = _id_list_key(item)
        problems.extend(key_problems)
        if key and len(set(key)) < 2:
            problems.append("multiple_choice needs at least 2 keyed options")
        if key and item.options and set(key) >= {o.id for o in item.options}:
            problems.append("multiple_choice must not key every option")
        return problems

    def normalize_response(self, raw: Any, item: Item | None = None) -> list[str]:
        # An unticked set of checkboxes arrives as nothing at all: a valid, empty answer.
        if raw is None:
            return []
        values = sorted(set(_response_list(raw, "The answer")))
        if item is not None:
            _check_known(values, (o.id for o in item.options), "an option")
        return values

    def is_correct(self, item: Item, response: Any) -> bool:
        return isinstance(item.key, tuple) and set(response) == set(item.key)

    def read_form(self, form: FormData, presented: Mapping[str, Any]) -> Any:
        # A group of checkboxes under one name: every ticked value (none ticked: an empty list).
        return form.getlist("answer")

    def qti_attributes(self, item: Item) -> dict[str, str]:
        return {"shuffle": "true", "max-choices": str(len(item.options)), "min-choices": "0"}


_TRUE_WORDS = {"true", "1", "prawda", "tak", "yes", "t"}
_FALSE_WORDS = {"false", "0", "fałsz", "falsz", "nie", "no", "f"}


@register
class TrueFalse(QuestionType):
    """A statement the candidate marks as true or false."""

    name = "true_false"
    uses_options = False
    choices: ClassVar[tuple[str, str]] = ("true", "false")
    qti_interaction = "qti-choice-interaction"
    qti_cardinality = "single"
    qti_fixed_choices = (Option(id="true", text=Text(pl="Prawda", en="True")),
                         Option(id="false", text=Text(pl="Fałsz", en="False")))

    def validate_specific(self, item: Item) -> list[str]:
        if item.key is None:
            return ["key is missing"]
        if not isinstance(item.key, bool):
            return ["true_false key must be true or false"]
        return []

    def present(self, item: Item, rng: random.Random) -> dict[str, Any]:
        # Always "true" first: a shuffled pair of buttons only invites slips.
        return {"type": self.name, "item_id": item.id, "options": list(self.choices)}

    def normalize_response(self, raw: Any, item: Item | None = None) -> bool:
        if isinstance(raw, (list, tuple)):
            if len(raw) != 1:
                raise ResponseError("Choose true or false.")
            raw = raw[0]
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, int) and raw in (0, 1):
            return bool(raw)
        if isinstance(raw, str):
            word = raw.strip().casefold()
            if word in _TRUE_WORDS:
                return True
            if word in _FALSE_WORDS:
                return False
        raise ResponseError("Choose true or false.")

    def is_correct(self, item: Item, response: Any) -> bool:
        return isinstance(item.key, bool) and response is item.key

    def key_response(self, item: Item) -> bool:
        return bool(item.key)

    def display_choices(self, presented: Mapping[str, Any]) -> list[str]:
        return list(presented.get("options", []))

    def counted_options(self, data: Mapping[str, Any]) -> tuple[str, ...]:
        return self.choices

    def giveaway_word(self, item: Item) -> str | None:
        # Absolute claims are usually false: in a false statement such a word gives it away.
        match = ABSOLUTE_WORDS.search(item.stem.pl) if item.key is False else None
        return match.group(0) if match else None

    def qti_attributes(self, item: Item) -> dict[str, str]:
        # Not shuffled: "Prawda" then "Fałsz", as the web form shows them.
        return {"shuffle": "false", "max-choices": "1", "min-choices": "0"}

    def qti_correct(self, item: Item) -> list[str]:
        return ["true" if item.key else "false"]

    def key_from_qti(self, values: list[str]) -> Key:
        if values not in (["true"], ["false"]):
            raise ItemFormatError("a true/false item's correct response must be 'true' or 'false'")
        return values == ["true"]


@register
class Ordering(QuestionType):
    """Put all options in the correct order; the key lists every option id in that order."""

    name = "ordering"
    qti_interaction = "qti-order-interaction"
    qti_cardinality = "ordered"

    def validate_specific(self, item: Item) -> list[str]:
        problems = _option_list_problems(item.options, "options", minimum=3)
        key, key_problems = _id_list_key(item)
        problems.extend(key_problems)
        if key and not key_problems and len(key) != len(item.options):
            problems.append("ordering key must list every option exactly once")
        return problems

    def present(self, item: Item, rng: random.Random) -> dict[str, Any]:
        ids = [option.id for option in item.options]
        shown = rng.sample(ids, len(ids))
        if isinstance(item.key, tuple) and tuple(shown) == item.key and len(shown) > 1:
            # Showing the answer as the starting order would score a candidate who did nothing.
            shown = shown[1:] + shown[:1]
        return {"type": self.name, "item_id": item.id, "options": shown}

    def normalize_response(self, raw: Any, item: Item | None = None) -> list[str]:
        if raw is None:
            raise ResponseError("Put the options in order.")
        values = _response_list(raw, "The order")
        if not values:
            raise ResponseError("Put the options in order.")
        repeated = sorted(v for v, n in Counter(values).items() if n > 1)
        if repeated:
            raise ResponseError(f"Option {repeated[0]!r} appears more than once in the order.")
        if item is not None:
            option_ids = [o.id for o in item.options]
            _check_known(values, option_ids, "an option")
            if len(values) != len(option_ids):
                raise ResponseError("The order must include every option exactly once.")
        return values

    def is_correct(self, item: Item, response: Any) -> bool:
        return isinstance(item.key, tuple) and list(response) == list(item.key)

    def partial_score(self, item: Item, response: Any) -> float:
        key = list(cast("tuple[str, ...]", item.key)) if isinstance(item.key, tuple) else []
        if len(key) < 2 or not response:
            return 0.0
        place = {option: n for n, option in enumerate(response)}
        kept = sum(1 for first, second in pairwise(key)
                   if first in place and second in place and place[first] < place[second])
        return round(kept / (len(key) - 1), 4)

    def read_form(self, form: FormData, presented: Mapping[str, Any]) -> Any:
        # One place (1..n) per option, ``order-<option>``; an answer only when every option has
        # its own place, nothing at all when none has.
        options = presented["options"]
        positions: dict[str, int] = {}
        for option in options:
            value = (form.get(f"order-{option}") or "").strip()
            if not value:
                continue
            place = _place(value, len(options))
            if place is None:
                raise FormAnswerError(N_("Give each option a position from 1 to %(n)d."), n=len(options))
            positions[option] = place
        if not positions:
            return None
        if len(positions) != len(options) or len(set(positions.values())) != len(options):
            raise FormAnswerError(N_("Give every option a different position from 1 to %(n)d."), n=len(options))
        return sorted(positions, key=lambda option: positions[option])


@register
class Matching(QuestionType):
    """Pair every premise with one response; responses may outnumber premises (distractors).

    The key is one-to-one: no response is the answer to two premises.
    """

    name = "matching"
    uses_options = False
    uses_matching = True
    qti_interaction = "qti-match-interaction"
    qti_cardinality = "multiple"
    qti_base_type = "directedPair"

    def validate_specific(self, item: Item) -> list[str]:
        problems = _option_list_problems(item.premises, "premises", minimum=2)
        problems.extend(_option_list_problems(item.responses, "responses", minimum=2))
        if len(item.responses) < len(item.premises):
            problems.append("matching needs at least as many responses as premises")
        premise_ids = {p.id for p in item.premises}
        response_ids = {r.id for r in item.responses}
        for shared in sorted(premise_ids & response_ids):
            problems.append(f"id {shared!r} is used by both a premise and a response")
        key = item.key
        if key is None:
            return [*problems, "key is missing"]
        if not isinstance(key, tuple) or not key or not all(
            isinstance(pair, tuple) and len(pair) == 2 for pair in key
        ):
            return [*problems, "matching key must map each premise id to a response id"]
        key = cast("MatchingKey", key)  # narrowed by the check above
        keyed_premises = [premise for premise, _ in key]
        for premise in keyed_premises:
            if premise not in premise_ids:
                problems.append(f"key references unknown premise {premise!r}")
        for premise in sorted(premise_ids - set(keyed_premises)):
            problems.append(f"key does not cover premise {premise!r}")
        for premise, count in Counter(keyed_premises).items():
            if count > 1:
                problems.append(f"key lists premise {premise!r} more than once")
        responses = [response for _, response in key]
        for response in responses:
            if response not in response_ids:
                problems.append(f"key references unknown response {response!r}")
        for response, count in Counter(responses).items():
            if count > 1:
                problems.append(f"key uses response {response!r} for more than one premise")
        return problems

    def present(self, item: Item, rng: random.Random) -> dict[str, Any]:
        premises = [p.id for p in item.premises]
        responses = [r.id for r in item.responses]
        return {
            "type": self.name,
            "item_id": item.id,
            "premises": rng.sample(premises, len(premises)),
            "responses": rng.sample(responses, len(responses)),
        }

    def normalize_response(self, raw: Any, item: Item | None = None) -> dict[str, str]:
        if raw is None:
            raise ResponseError("Match the items.")
        if isinstance(raw, Mapping):
            pairs = list(raw.items())
        elif isinstance(raw, (list, tuple)):
            pairs = []
            for entry in raw:
                if not isinstance(entry, (list, tuple)) or len(entry) != 2:
                    raise ResponseError("Each match must be a pair of identifiers.")
                pairs.append((entry[0], entry[1]))
        else:
            raise ResponseError("The matches must be given as pairs of identifiers.")
        if len(pairs) > MAX_RESPONSE_PARTS:
            raise ResponseError(f"Too many matches ({len(pairs)}).")
        result: dict[str, str] = {}
        for premise_raw, given in pairs:
            premise = _response_id(premise_raw, "A matched item")
            response_raw = given
            if isinstance(given, (list, tuple)):
                if len(given) > 1:
                    raise ResponseError("Choose one answer for each item.")
                response_raw = given[0] if given else None
            if response_raw is None or (isinstance(response_raw, str) and not response_raw.strip()):
                continue  # a premise left unanswered
            response = _response_id(response_raw, "A matched answer")
            if premise in result:
                raise ResponseError(f"Item {premise!r} is matched more than once.")
            result[premise] = response
        if item is not None:
            _check_known(result, (p.id for p in item.premises), "an item to match")
            _check_known(result.values(), (r.id for r in item.responses), "an answer")
        return dict(sorted(result.items()))

    def is_correct(self, item: Item, response: Any) -> bool:
        key = item.key_map
        return bool(key) and dict(response) == key

    def key_response(self, item: Item) -> dict[str, str]:
        return dict(sorted(item.key_map.items()))

    def partial_score(self, item: Item, response: Any) -> float:
        key = item.key_map
        if not key or not response:
            return 0.0
        given = dict(response)
        return round(sum(1 for premise, answer in key.items() if given.get(premise) == answer) / len(key), 4)

    def read_form(self, form: FormData, presented: Mapping[str, Any]) -> Any:
        # One select per premise, ``match-<premise>``; the premises left at "—" are left out.
        pairs = {premise: form.get(f"match-{premise}") for premise in presented["premises"]}
        pairs = {premise: response for premise, response in pairs.items() if response}
        return pairs or None

    def qti_attributes(self, item: Item) -> dict[str, str]:
        return {"shuffle": "true", "max-associations": str(len(item.premises)), "min-associations": "0"}

    def qti_correct(self, item: Item) -> list[str]:
        return [f"{premise} {response}" for premise, response in item.key_map.items()]

    def key_from_qti(self, values: list[str]) -> Key:
        pairs = []
        for value in values:
            parts = value.split()
            if len(parts) != 2:
                raise ItemFormatError(f"directedPair value {value!r} must be two identifiers")
            pairs.append((parts[0], parts[1]))
        return tuple(pairs)


# --------------------------------------------------------------------------- dispatch


def validate(item: Item) -> list[str]:
    """Problems of ``item`` according to its type (an unknown type is itself the problem)."""
    try:
        question_type = get_type(item.type)
    except ItemFormatError as error:
        return [*_common_problems(item), str(error)]
    return question_type.validate(item)


def present(item: Item, rng: random.Random) -> dict[str, Any]:
    """The shuffled display order of ``item``'s parts (see ``QuestionType.present``)."""
    return get_type(item.type).present(item, rng)


def normalize_response(item: Item, raw: Any) -> Any:
    """Canonical form of a raw answer to ``item``; ResponseError if it cannot be read."""
    return get_type(item.type).normalize_response(raw, item)


def key_response(item: Item) -> Any:
    """``item``'s key as a canonical response (see ``QuestionType.key_response``)."""
    return get_type(item.type).key_response(item)


def score(item: Item, response: Any, partial: bool = False) -> float:
    """Score of an answer to ``item`` in [0, 1]: all-or-nothing, or per pair with ``partial``."""
    return get_type(item.type).score(item, response, partial)


def counted_options(data: Mapping[str, Any]) -> tuple[str, ...]:
    """The answers the item statistics count for an item as plain data (see
    ``QuestionType.counted_options``); its option ids when its type is missing or unknown, since
    statistics read every stored snapshot as it is."""
    question_type = REGISTRY.get(str(data.get("type")))
    return question_type.counted_options(data) if question_type is not None else _option_ids(data)


# --------------------------------------------------------------------------- dict round trip


_ITEM_FIELDS = ("id", "version", "type", "criteria", "stem", "options", "premises", "responses", "key", "rationale",
                "difficulty", "review")
_REVIEW_FIELDS = ("state", "author", "reviewer", "law_as_of")


def _text_to_dict(text: Text) -> dict[str, str]:
    data = {"pl": text.pl}
    if text.en is not None:
        data["en"] = text.en
    return data


def _options_to_list(options: Sequence[Option]) -> list[dict[str, Any]]:
    return [{"id": option.id, "text": _text_to_dict(option.text)} for option in options]


def _key_to_data(key: Key) -> Any:
    if key is None or isinstance(key, bool):
        return key
    if key and all(isinstance(part, tuple) for part in key):
        return dict(cast("MatchingKey", key))
    return list(key)


def item_to_dict(item: Item) -> dict[str, Any]:
    """The item as plain data, in the YAML schema of the bank (inverse of ``item_from_dict``)."""
    data: dict[str, Any] = {
        "id": item.id,
        "version": item.version,
        "type": item.type,
        "criteria": list(item.criteria),
        "stem": _text_to_dict(item.stem),
    }
    if item.options:
        data["options"] = _options_to_list(item.options)
    if item.premises:
        data["premises"] = _options_to_list(item.premises)
    if item.responses:
        data["responses"] = _options_to_list(item.responses)
    data["key"] = _key_to_data(item.key)
    if item.rationale is not None:
        data["rationale"] = _text_to_dict(item.rationale)
    if item.difficulty is not None:
        data["difficulty"] = item.difficulty
    if item.review != Review():
        data["review"] = {name: getattr(item.review, name) for name in _REVIEW_FIELDS if getattr(item.review, name) is not None}
    return data


def _require_str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ItemFormatError(f"{where} must be a string, not {type(value).__name__}")
    return value


def _text_from(value: Any, where: str) -> Text:
    if not isinstance(value, Mapping):
        raise ItemFormatError(f"{where} must be a mapping with 'pl' (and optionally 'en')")
    unknown = sorted(set(value) - {"pl", "en"})
    if unknown:
        raise ItemFormatError(f"{where} has unknown field {unknown[0]!r}")
    if "pl" not in value:
        raise ItemFormatError(f"{where}.pl is missing")
    pl = _require_str(value["pl"], f"{where}.pl")
    en = value.get("en")
    return Text(pl=pl, en=None if en is None else _require_str(en, f"{where}.en"))


def _options_from(value: Any, where: str) -> tuple[Option, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ItemFormatError(f"{where} must be a list")
    options = []
    for index, entry in enumerate(value):
        here = f"{where}[{index}]"
        if not isinstance(entry, Mapping):
            raise ItemFormatError(f"{here} must be a mapping with 'id' and 'text'")
        unknown = sorted(set(entry) - {"id", "text"})
        if unknown:
            raise ItemFormatError(f"{here} has unknown field {unknown[0]!r}")
        if "id" not in entry or "text" not in entry:
            raise ItemFormatError(f"{here} needs both 'id' and 'text'")
        options.append(Option(id=_require_str(entry["id"], f"{here}.id"), text=_text_from(entry["text"], f"{here}.text")))
    return tuple(options)


def _key_from(value: Any) -> Key:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, list):
        return tuple(_require_str(part, f"key[{index}]") for index, part in enumerate(value))
    if isinstance(value, Mapping):
        return tuple(
            (_require_str(premise, "key (premise id)"), _require_str(response, f"key.{premise}"))
            for premise, response in value.items()
        )
    raise ItemFormatError("key must be a list of ids, true/false, or a premise → response mapping")


def item_from_dict(data: Mapping[str, Any]) -> Item:
    """Build an Item from plain data; ItemFormatError if the shape is wrong.

    Only the shape is checked here (field names and types); whether the item makes sense
    (a key that exists, texts that are not empty) is ``validate``'s job.
    """
    if not isinstance(data, Mapping):
        raise ItemFormatError("an item must be a mapping")
    unknown = sorted(set(data) - set(_ITEM_FIELDS))
    if unknown:
        raise ItemFormatError(f"unknown field {unknown[0]!r}")
    for required in ("id", "version", "type", "criteria", "stem"):
        if required not in data:
            raise ItemFormatError(f"{required} is missing")
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise ItemFormatError("version must be an integer")
    criteria = data["criteria"]
    if not isinstance(criteria, list):
        raise ItemFormatError("criteria must be a list of criterion codes")
    rationale = data.get("rationale")
    return Item(
        id=_require_str(data["id"], "id"),
        version=version,
        type=_require_str(data["type"], "type"),
        criteria=tuple(_require_str(code, f"criteria[{i}]") for i, code in enumerate(criteria)),
        stem=_text_from(data["stem"], "stem"),
        key=_key_from(data.get("key")),
        options=_options_from(data.get("options"), "options"),
        premises=_options_from(data.get("premises"), "premises"),
        responses=_options_from(data.get("responses"), "responses"),
        rationale=None if rationale is None else _text_from(rationale, "rationale"),
        difficulty=_difficulty_from(data.get("difficulty")),
        review=_review_from(data.get("review")),
    )


def _difficulty_from(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ItemFormatError("difficulty must be a number between 0 and 1")
    return float(value)


def _review_from(value: Any) -> Review:
    if value is None:
        return Review()
    if not isinstance(value, Mapping):
        raise ItemFormatError("review must be a mapping with state, author, reviewer and law_as_of")
    unknown = sorted(set(value) - set(_REVIEW_FIELDS))
    if unknown:
        raise ItemFormatError(f"review: unknown field {unknown[0]!r}")
    fields = {}
    for name in _REVIEW_FIELDS:
        raw = value.get(name)
        if isinstance(raw, date):  # an unquoted YAML date
            raw = raw.isoformat()
        if raw is not None:
            fields[name] = _require_str(raw, f"review.{name}")
    return Review(**fields)


def fingerprint(item: Item) -> str:
    """SHA-256 of the item's canonical JSON: stored with an attempt to pin the exact version shown.

    Only what is shown and scored counts: the review record and the difficulty estimate do not.
    """
    content = {k: v for k, v in item_to_dict(item).items() if k not in ("review", "difficulty")}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- loading


def _bank_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.suffix in (".yaml", ".yml"))
    if path.is_file():
        return [path]
    raise BankError([f"{path}: no such file or directory"])


def load_items(path: str | Path, *, strict: bool = True) -> list[Item]:
    """Load the items of one YAML file or of every ``*.yaml`` file in a directory (sorted by name).

    Each file holds a list of items. Any problem raises one BankError listing every problem,
    each as ``<file>: item[<index>] (<id>): <problem>``. With ``strict`` (the default) every item
    must also pass its type's ``validate``; ``strict=False`` only checks the shape, so that
    ``check_bank`` can report on a broken bank as a whole.
    """
    problems: list[str] = []
    items: list[Item] = []
    for file in _bank_files(Path(path)):
        name = file.name
        try:
            data = load_strict(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            problems.append(f"{name}: not UTF-8 text")
            continue
        except yaml.YAMLError as error:
            problems.append(f"{name}: not valid YAML: {error}")
            continue
        if data is None:
            continue
        if not isinstance(data, list):
            problems.append(f"{name}: must be a list of items")
            continue
        for index, entry in enumerate(data):
            label = entry.get("id") if isinstance(entry, Mapping) else None
            where = f"{name}: item[{index}] ({label if isinstance(label, str) else '?'})"
            try:
                item = item_from_dict(entry)
            except ItemFormatError as error:
                problems.append(f"{where}: {error}")
                continue
            if strict:
                problems.extend(f"{where}: {problem}" for problem in validate(item))
            items.append(item)
    if problems:
        raise BankError(problems)
    return items


# --------------------------------------------------------------------------- bank check


def normalize_text(text: str) -> str:
    """Text reduced for duplicate detection: NFKC, case-folded, punctuation and extra spaces gone."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", folded).split())


@dataclass(frozen=True)
class CriterionCoverage:
    """How many items a test-method criterion has, by type, against the required minimum."""

    code: str
    count: int
    by_type: Mapping[str, int]
    minimum: int

    @property
    def ok(self) -> bool:
        """Whether the criterion has at least the minimum number of sound items."""
        return self.count >= self.minimum


@dataclass
class BankReport:
    """The result of ``check_bank``; ``ok`` is true only when every list is empty and coverage met."""

    total: int
    type_counts: dict[str, int]
    coverage: list[CriterionCoverage]
    duplicate_ids: dict[str, int] = field(default_factory=dict)
    duplicate_stems: list[tuple[str, ...]] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)
    unknown_criteria: list[tuple[str, str]] = field(default_factory=list)
    non_test_criteria: list[tuple[str, str, str]] = field(default_factory=list)
    #: Items (not retired) without the author's difficulty estimate.
    missing_difficulty: list[str] = field(default_factory=list)
    #: False true/false statements given away by an absolute word: (item id, word).
    absolute_words: list[tuple[str, str]] = field(default_factory=list)
    #: Worth a look, not a defect: legal items due for a re-check, key-position bias.
    warnings: list[str] = field(default_factory=list)

    @property
    def short(self) -> list[CriterionCoverage]:
        """Test-method criteria with fewer items than required."""
        return [c for c in self.coverage if not c.ok]

    @property
    def ok(self) -> bool:
        """True when the bank can be used: no defects and every test criterion covered."""
        return not (
            self.short
            or self.duplicate_ids
            or self.duplicate_stems
            or self.invalid
            or self.unknown_criteria
            or self.non_test_criteria
            or self.missing_difficulty
            or self.absolute_words
        )

    def render(self) -> str:
        """A plain-text report: the coverage table, then each problem on its own line."""
        type_names = sorted(REGISTRY)
        header = ["criterion", "items", *type_names, "status"]
        rows = [header]
        for cov in self.coverage:
            rows.append(
                [cov.code, str(cov.count), *(str(cov.by_type.get(t, 0)) for t in type_names),
                 "OK" if cov.ok else f"SHORT (min {cov.minimum})"]
            )
        rows.append(["all items", str(self.total), *(str(self.type_counts.get(t, 0)) for t in type_names), ""])
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        problems = []
        problems += [f"duplicate id {item_id!r} used by {n} items" for item_id, n in sorted(self.duplicate_ids.items())]
        problems += [f"same Polish stem: {', '.join(group)}" for group in self.duplicate_stems]
        problems += [f"{item_id}: {problem}" for item_id, problem in self.invalid]
        problems += [f"{item_id}: unknown criterion {code!r}" for item_id, code in self.unknown_criteria]
        problems += [
            f"{item_id}: criterion {code!r} is verified by {method}, not by the test"
            for item_id, code, method in self.non_test_criteria
        ]
        problems += [f"{item_id}: no difficulty estimate" for item_id in self.missing_difficulty]
        problems += [f"{item_id}: a false statement with the absolute word {word!r} gives itself away"
                     for item_id, word in self.absolute_words]
        if problems:
            lines += ["", f"Problems ({len(problems)}):"] + [f"  - {p}" for p in problems]
        if self.warnings:
            lines += ["", f"Warnings ({len(self.warnings)}):"] + [f"  - {w}" for w in self.warnings]
        lines += ["", "Bank OK" if self.ok else "Bank NOT OK"]
        return "\n".join(lines)


def _warnings(items: Sequence[Item], today: date) -> list[str]:
    """Legal items due for a re-check, and key patterns a test-wise candidate could learn."""
    warnings = []
    for item in items:
        if item.review.law_as_of:
            try:
                as_of = date.fromisoformat(item.review.law_as_of)
            except ValueError:
                continue  # reported by validate
            if today - as_of > timedelta(days=LEGAL_DATE_MAX_AGE_DAYS):
                warnings.append(f"{item.id}: the law as of {as_of.isoformat()} is over 2 years old; check the item")
    choice = [i for i in items if i.type in ("single_choice", "multiple_choice") and isinstance(i.key, tuple) and i.options]
    for kind in ("single_choice", "multiple_choice"):
        of_type = [i for i in choice if i.type == kind]
        if len(of_type) < 5:
            continue
        if kind == "single_choice":
            # Options are shuffled when shown, but an exported form keeps the author's order.
            first = Counter(next((n for n, o in enumerate(i.options) if o.id in cast("tuple[str, ...]", i.key)), -1)
                            for i in of_type)
            position, count = first.most_common(1)[0]
            if count > len(of_type) / 2:
                warnings.append(f"{kind}: {count} of {len(of_type)} keys are at option {position + 1} in the author's order")
        else:
            shapes = Counter(f"{len(cast('tuple[str, ...]', i.key))} of {len(i.options)}" for i in of_type)
            shape, count = shapes.most_common(1)[0]
            if count > len(of_type) / 2:
                warnings.append(f"multiple_choice: {count} of {len(of_type)} keys select {shape} options; vary it")
    return warnings


def check_bank(
    items: Sequence[Item], known_criteria: Mapping[str, str], min_per_criterion: int = 8, today: date | None = None
) -> BankReport:
    """Check a whole bank against the qualification's criteria.

    ``known_criteria`` maps every criterion code of the qualification to its verification
    method ("test", "simulation", "interview"). Coverage counts only sound items (those with no
    validation problem), per test-method criterion.
    """
    invalid = [(item.id, problem) for item in items for problem in validate(item)]
    broken_ids = {item_id for item_id, _ in invalid}

    id_counts = Counter(item.id for item in items)
    duplicate_ids = {item_id: n for item_id, n in id_counts.items() if n > 1}

    by_stem: dict[str, list[str]] = defaultdict(list)
    for item in items:
        by_stem[normalize_text(item.stem.pl)].append(item.id)
    duplicate_stems = [tuple(ids) for stem, ids in by_stem.items() if stem and len(ids) > 1]

    unknown: list[tuple[str, str]] = []
    non_test: list[tuple[str, str, str]] = []
    per_criterion: dict[str, Counter[str]] = defaultdict(Counter)
    for item in items:
        for code in item.criteria:
            method = known_criteria.get(code)
            if method is None:
                unknown.append((item.id, code))
            elif method != TEST_METHOD:
                non_test.append((item.id, code, method))
            elif item.id not in broken_ids and item.approved:
                per_criterion[code][item.type] += 1

    coverage = [
        CriterionCoverage(
            code=code,
            count=sum(per_criterion[code].values()),
            by_type=dict(per_criterion[code]),
            minimum=min_per_criterion,
        )
        for code, method in known_criteria.items()
        if method == TEST_METHOD
    ]
    live = [item for item in items if item.review.state != "retired"]
    missing_difficulty = [item.id for item in live if item.difficulty is None]
    absolute = [(item.id, word) for item in live
                if item.type in REGISTRY and (word := REGISTRY[item.type].giveaway_word(item))]
    return BankReport(
        missing_difficulty=missing_difficulty,
        absolute_words=absolute,
        warnings=_warnings([item for item in live if item.id not in broken_ids], today or date.today()),
        total=len(items),
        type_counts=dict(Counter(item.type for item in items)),
        coverage=coverage,
        duplicate_ids=duplicate_ids,
        duplicate_stems=duplicate_stems,
        invalid=invalid,
        unknown_criteria=unknown,
        non_test_criteria=non_test,
    )
