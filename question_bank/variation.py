"""Per-attempt variation of a practical scenario: names, figures and dates drawn from its ranges.

Two candidates seated side by side should not see the same records. A scenario file may declare
a ``variation:`` section; every exam attempt draws one *variant* of it (a seed stored with the
attempt) and works on the sheet, the seed and the key of that variant. The file stays readable
as it is written: the sheet, the seed and the key keep their real texts and numbers, and the
variation section says what may change and into what::

    variation:
      names:        # every whole-word occurrence of a text of the first alternative, anywhere in
        cementownia:  # the title, sheet, seed and key, becomes the drawn alternative's text
          - {town: "Rudniki", domain: "cementownia-rudniki", nip: "5834545521"}   # as written
          - {town: "Działoszyn", domain: "cementownia-dzialoszyn", nip: "7171642051"}
      numbers:      # a figure: ``base`` as written, drawn from min..max by step, at the places named
        zmb-new-value: {base: 48000, min: 42000, max: 60000, step: 1000, at: ["sheet.tasks[5].text"]}
      dates:        # a shift of min..max days added to day offsets (``due_in_days``) and dates
        overdue-call: {min: -2, max: 1, at: ["seed.tasks[0].due_in_days"]}

Why names are replaced wherever they occur but figures and dates only at named places: a name
is distinctive (replacing it everywhere is what keeps the key, which names records by name,
following the sheet and the seed), while the same number or day offset means different things
in different rows. A place is a path like the loader's own error locations: ``seed.tasks[0].due_in_days``
(a list position), ``seed.opportunities[opp-zmb].value`` (the row whose ``key`` is ``opp-zmb``) or
``key.tasks[task=6].notes`` (the key's entry for task 6: key entries are named by their task only).
A number place holds the base or a text that writes it (``48 000 zł``: the drawn figure is written
the same way; a text may state several figures); every mention of a figure of 100 or more in the
sheet or the key must be one of its places, so the sheet and the key can never keep a figure the
workspace no longer has (smaller ones — days, counts — the author lists with care).

Each name alternative is a mapping of the same fields (a company's town with its e-mail domain
and tax numbers, a person's first name, surname and e-mail address…). Fields named ``nip`` and
``regon`` keep the validity of the text as written (a valid number stays valid; a lead row's
deliberately wrong one stays wrong); a field named ``name`` must not already occur in the file.
A day offset keeps its sign (an overdue task stays overdue), so 0 (today) cannot be shifted.

The draw is deterministic — the same seed always gives the same variant — and each variable
draws from its own hash of the seed, so adding a variable leaves the others' draws alone; but
changing the alternatives or ranges of a scenario changes the variants of attempts already
started on it, as editing the sheet would. This module is pure (no Flask, no database).
"""
from __future__ import annotations

import copy
import functools
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NoReturn

Fail = Callable[[str, str], NoReturn]
Step = str | int  # a mapping key, or a list position
Path = tuple[Step, ...]

# The parts of a scenario file a variation reaches (never its code, purposes or time limit).
VARIED_SECTIONS: tuple[str, ...] = ("title", "sheet", "seed", "key")
_PLACE_ROOTS = ("sheet", "seed", "key")
_NAMES_KEYS = ("names", "numbers", "dates")
_NUMBER_KEYS = ("base", "min", "max", "at")
_DATE_KEYS = ("min", "max", "at")
_SEGMENT = re.compile(r"(?P<name>[A-Za-z_][\w-]*)(?:\[(?P<selector>[^\[\].]+)\])?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DISTINCT_FIGURE = 100  # from here on a figure's mentions in the sheet and key are searched for
_SEPARATORS = " \u00a0\u202f"  # how Polish text groups thousands: a space, a no-break or a narrow no-break space
_NIP_WEIGHTS = (6, 5, 7, 2, 3, 4, 5, 6, 7)
_REGON_WEIGHTS = {9: (8, 9, 2, 3, 4, 5, 6, 7), 14: (2, 4, 8, 5, 0, 9, 7, 3, 6, 1, 2, 4, 8)}


def nip_is_valid(text: str) -> bool:
    """A 10-digit NIP with a right mod-11 control digit (the same rule as the sandbox's validator)."""
    if not re.fullmatch(r"\d{10}", text):
        return False
    control = sum(int(d) * w for d, w in zip(text, _NIP_WEIGHTS, strict=False)) % 11
    return control != 10 and control == int(text[9])


def regon_is_valid(text: str) -> bool:
    """A 9- or 14-digit REGON with right control digits."""
    if not re.fullmatch(r"\d{9}|\d{14}", text):
        return False
    lengths = (9,) if len(text) == 9 else (9, 14)
    return all(sum(int(d) * w for d, w in zip(text[:n - 1], _REGON_WEIGHTS[n], strict=False)) % 11 % 10 == int(text[n - 1])
               for n in lengths)


_VALIDITY: dict[str, Callable[[str], bool]] = {"nip": nip_is_valid, "regon": regon_is_valid}


def whole_word(text: str) -> str:
    """A pattern matching ``text`` not glued to a letter or digit on either side."""
    return rf"(?<!\w){re.escape(text)}(?!\w)"


def _number_source(value: int) -> str:
    digits = str(value)
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
    sep = f"[{_SEPARATORS}]"
    body = f"{sep}?".join(groups)
    return rf"(?<!\d)(?<!\d[.,])(?<!\d{sep}){body}(?!\d)(?!{sep}\d{{3}}(?!\d))"


def number_pattern(value: int) -> re.Pattern[str]:
    """``value`` written in a text as a whole number, with or without thousands separators
    (``48000``, ``48 000``), never as part of a longer number (a phone number, a NIP, ``1 248 000``)."""
    return re.compile(_number_source(value))


def _written_like(match: str, value: int) -> str:
    """``value`` written the way ``match`` writes its number (grouped by the same separator, or not)."""
    separator = next((c for c in match if c in _SEPARATORS), "")
    return f"{value:,}".replace(",", separator) if separator else str(value)


def _pick(seed: int, label: str, count: int) -> int:
    """A number in 0..count-1 drawn from ``seed`` for one variable (stable across processes and versions)."""
    digest = hashlib.sha256(f"{seed}/{label}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a text ({value[:40]!r})"
    if value is None:
        return "an empty value"
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else type(value).__name__


def _render(path: Path) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
    return out


def _walk(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every scalar of ``value`` with its path (mapping keys that are texts included, under the path of their mapping)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield path, key
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))
    else:
        yield path, value


def _texts(data: Mapping[str, Any]) -> str:
    """Every text of the varied sections, one per line (to search for a name)."""
    return "\n".join(value for section in VARIED_SECTIONS if section in data
                     for _path, value in _walk(data[section]) if isinstance(value, str))


# --------------------------------------------------------------------------- the declared variables


@dataclass(frozen=True)
class NameChoice:
    """Texts that change together (one record's identity); ``alternatives[0]`` is the file as written."""

    label: str
    alternatives: tuple[Mapping[str, str], ...]


@dataclass(frozen=True)
class Figure:
    """A figure drawn from ``minimum``..``maximum`` by ``step``, replacing ``base`` at ``places``."""

    label: str
    base: int
    minimum: int
    maximum: int
    step: int
    places: tuple[Path, ...]

    @property
    def choices(self) -> range:
        return range(self.minimum, self.maximum + 1, self.step)


@dataclass(frozen=True)
class DateShift:
    """A shift of ``minimum``..``maximum`` days added to the day offsets and dates at ``places``."""

    label: str
    minimum: int
    maximum: int
    places: tuple[Path, ...]


@dataclass(frozen=True)
class Draw:
    """One variant: the alternative drawn for each name, the figure, and the shift in days."""

    names: Mapping[str, int]
    figures: Mapping[str, int]
    shifts: Mapping[str, int]


@dataclass(frozen=True)
class Variation:
    """The ``variation:`` section of a scenario file (empty: the scenario never varies)."""

    names: tuple[NameChoice, ...] = ()
    figures: tuple[Figure, ...] = ()
    dates: tuple[DateShift, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.names or self.figures or self.dates)

    def draw(self, seed: int) -> Draw:
        """The variant of ``seed`` (deterministic)."""
        return Draw(
            names={v.label: _pick(seed, f"names/{v.label}", len(v.alternatives)) for v in self.names},
            figures={v.label: v.choices[_pick(seed, f"numbers/{v.label}", len(v.choices))] for v in self.figures},
            shifts={v.label: v.minimum + _pick(seed, f"dates/{v.label}", v.maximum - v.minimum + 1) for v in self.dates},
        )

    def extreme_draws(self) -> list[Draw]:
        """Variants that together use every name alternative and both ends of every range (the
        loader builds each of them, so a file whose variants would not load is refused at once)."""
        count = max([2] + [len(v.alternatives) for v in self.names])
        return [Draw(names={v.label: i % len(v.alternatives) for v in self.names},
                     figures={v.label: v.choices[0] if i % 2 == 0 else v.choices[-1] for v in self.figures},
                     shifts={v.label: v.minimum if i % 2 == 0 else v.maximum for v in self.dates})
                for i in range(count)]

    def describe(self, draw: Draw) -> str:
        """The variant in a few words, for an error message."""
        parts = [f"{v.label}={next(iter(v.alternatives[draw.names[v.label]].values()))}" for v in self.names]
        parts += [f"{v.label}={draw.figures[v.label]}" for v in self.figures]
        parts += [f"{v.label}={draw.shifts[v.label]:+d} days" for v in self.dates]
        return ", ".join(parts)

    def apply(self, data: Mapping[str, Any], draw: Draw) -> dict[str, Any]:
        """A copy of a scenario file's ``data`` with ``draw`` applied (``data`` is left as it is)."""
        varied = copy.deepcopy(dict(data))
        in_texts: dict[Path, dict[int, int]] = {}  # a text may state several figures: replaced in one pass
        for figure in self.figures:
            for path in figure.places:
                if isinstance(_value_at(varied, path), str):
                    in_texts.setdefault(path, {})[figure.base] = draw.figures[figure.label]
                else:
                    _replace_at(varied, path, functools.partial(_constant, value=draw.figures[figure.label]))
        for path, figures in in_texts.items():
            _replace_at(varied, path, functools.partial(_vary_figures, figures=figures))
        for shift in self.dates:
            for path in shift.places:
                _replace_at(varied, path, functools.partial(_shift, days=draw.shifts[shift.label]))
        replacements = {text: choice.alternatives[draw.names[choice.label]][field]
                        for choice in self.names for field, text in choice.alternatives[0].items()}
        replacements = {old: new for old, new in replacements.items() if old != new}
        if replacements:
            pattern = re.compile("|".join(whole_word(t) for t in sorted(replacements, key=len, reverse=True)))
            for section in VARIED_SECTIONS:
                if section in varied:
                    varied[section] = _substitute(varied[section], pattern, replacements)
        return varied


def _value_at(data: Any, path: Path) -> Any:
    for step in path:
        data = data[step]
    return data


def _replace_at(data: dict[str, Any], path: Path, change: Callable[[Any], Any]) -> None:
    container = _value_at(data, path[:-1])
    container[path[-1]] = change(container[path[-1]])


def _constant(_old: Any, value: int) -> int:
    return value


def _vary_figures(old: str, figures: Mapping[int, int]) -> str:
    """``old`` with every figure written in it (base -> drawn) replaced at once, so one drawn
    figure is never taken for another's base."""
    pattern = re.compile("|".join(f"(?P<n{base}>{_number_source(base)})" for base in figures))
    return pattern.sub(lambda m: _written_like(m.group(0), figures[int(str(m.lastgroup)[1:])]), old)


def _shift(old: Any, days: int) -> Any:
    if isinstance(old, str):
        return (date.fromisoformat(old) + timedelta(days=days)).isoformat()
    if isinstance(old, (date, datetime)):
        return old + timedelta(days=days)
    return old + days


def _substitute(value: Any, pattern: re.Pattern[str], replacements: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(lambda m: replacements[m.group(0)], value)
    if isinstance(value, dict):
        return {(_substitute(k, pattern, replacements) if isinstance(k, str) else k): _substitute(v, pattern, replacements)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(item, pattern, replacements) for item in value]
    return value


# --------------------------------------------------------------------------- reading the section


class _Reader:
    """Checks a ``variation:`` section against the file's own data, failing with the place."""

    def __init__(self, data: Mapping[str, Any], fail: Fail):
        self.data = data
        self.fail = fail
        self.corpus = _texts(data)
        self.places: dict[Path, list[str]] = {}  # place -> the variables varying it (a place varies once…)
        self.text_figures: dict[Path, dict[int, str]] = {}  # …but a text may state several figures

    def mapping(self, value: Any, where: str, required: Sequence[str], optional: Sequence[str] = ()) -> dict[str, Any]:
        allowed = (*required, *optional)
        if not isinstance(value, dict) or not value:
            self.fail(where, f"expected a mapping with keys {', '.join(allowed)}, got {_describe(value)}")
        for key in value:
            if key not in allowed:
                self.fail(where, f"unknown key {key!r} (expected one of: {', '.join(sorted(allowed))})")
        for key in required:
            if key not in value:
                self.fail(where, f"missing required key '{key}'")
        return value

    def variables(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict) or not value:
            self.fail(where, f"expected a mapping of variable names to their ranges, got {_describe(value)}")
        for label in value:
            if not isinstance(label, str) or not re.fullmatch(r"[A-Za-z0-9_-]+", label):
                self.fail(where, f"expected variable names of letters, digits and dashes, got {_describe(label)}")
        return value

    def whole(self, value: Any, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(where, f"expected a whole number, got {_describe(value)}")
        return int(value)

    def variation(self, value: Any) -> Variation:
        section = self.mapping(value, "variation", (), _NAMES_KEYS)
        names = tuple(self.name_choice(label, raw) for label, raw in
                      self.variables(section["names"], "variation.names").items()) if "names" in section else ()
        self.names_apart(names)
        figures = tuple(self.figure(label, raw) for label, raw in
                        self.variables(section["numbers"], "variation.numbers").items()) if "numbers" in section else ()
        dates = tuple(self.date_shift(label, raw) for label, raw in
                      self.variables(section["dates"], "variation.dates").items()) if "dates" in section else ()
        return Variation(names=names, figures=figures, dates=dates)

    # ----------------------------------------------------------------- names

    def name_choice(self, label: str, value: Any) -> NameChoice:
        where = f"variation.names.{label}"
        if not isinstance(value, list) or len(value) < 2:
            self.fail(where, f"expected a list of at least two alternatives (the first as the file is written), "
                             f"got {_describe(value)}")
        alternatives: list[dict[str, str]] = []
        for index, raw in enumerate(value):
            place = f"{where}[{index}]"
            if not isinstance(raw, dict) or not raw:
                self.fail(place, f"expected a mapping of texts (e.g. {{town: ..., domain: ...}}), got {_describe(raw)}")
            for field, text in raw.items():
                if not isinstance(text, str) or not text.strip() or text != text.strip():
                    self.fail(f"{place}.{field}", f"expected a non-empty text without surrounding spaces, got {_describe(text)}")
            if index and list(raw) != list(alternatives[0]):
                self.fail(place, f"expected the same fields as the first alternative ({', '.join(alternatives[0])}), "
                                 f"got {', '.join(map(str, raw))}")
            if raw in alternatives:
                self.fail(place, f"repeats alternative {alternatives.index(raw)}")
            alternatives.append(raw)
        base = alternatives[0]
        for field, text in base.items():
            if list(base.values()).count(text) > 1:
                self.fail(f"{where}[0].{field}", f"the text {text!r} is given by two fields: keep one")
            if not re.search(whole_word(text), self.corpus):
                self.fail(f"{where}[0].{field}", f"{text!r} does not occur in the title, sheet, seed or key as a whole "
                                                 f"word: the first alternative is the text as written (check the spelling)")
        for index, alternative in enumerate(alternatives[1:], start=1):
            for field, text in alternative.items():
                place = f"{where}[{index}].{field}"
                valid = _VALIDITY.get(field.lower())
                if valid is not None and valid(text) != valid(base[field]):
                    self.fail(place, f"{text!r} must be {'a valid' if valid(base[field]) else 'an invalid'} "
                                     f"{field.upper()}, like {base[field]!r} as written")
                if field == "name" and re.search(whole_word(text), self.corpus):
                    self.fail(place, f"{text!r} already occurs in the scenario: two records would share a name")
        return NameChoice(label=label, alternatives=tuple(alternatives))

    def names_apart(self, names: Sequence[NameChoice]) -> None:
        """Texts of different variables never coincide or nest (which one would win is not obvious)."""
        owner: dict[str, str] = {}
        for choice in names:
            for index, alternative in enumerate(choice.alternatives):
                for field, text in alternative.items():
                    first = owner.setdefault(text, choice.label)
                    if first != choice.label:
                        self.fail(f"variation.names.{choice.label}[{index}].{field}",
                                  f"the text {text!r} is also one of variable {first!r}: two records could get the same text")
        for choice in names:
            for field, text in choice.alternatives[0].items():
                for other in names:
                    if other is choice:
                        continue
                    for other_text in other.alternatives[0].values():
                        if re.search(whole_word(text), other_text):
                            self.fail(f"variation.names.{choice.label}[0].{field}",
                                      f"{text!r} occurs inside {other_text!r} of variable {other.label!r}: "
                                      f"put the texts that change together in one variable")

    # ----------------------------------------------------------------- places

    def place(self, value: Any, where: str, owner: str) -> tuple[Path, Any]:
        """A place's path in the data (list positions resolved) and the value found there."""
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"expected a place such as \"seed.opportunities[opp-a].value\", got {_describe(value)}")
        steps: list[Step] = []
        current: Any = self.data
        for segment in value.split("."):
            match = _SEGMENT.fullmatch(segment)
            if match is None:
                self.fail(where, f"cannot read {segment!r} of {value!r}: expected name or name[position] or name[row key]")
            name, selector = match.group("name"), match.group("selector")
            if not steps and name not in _PLACE_ROOTS:
                self.fail(where, f"a place starts with one of: {', '.join(_PLACE_ROOTS)}; got {value!r}")
            if not isinstance(current, dict) or name not in current:
                self.fail(where, f"{value!r}: there is no {name!r} at {_render(tuple(steps)) or 'the top'}")
            steps.append(name)
            current = current[name]
            if selector is None:
                continue
            if not isinstance(current, list):
                self.fail(where, f"{value!r}: {_render(tuple(steps))} is not a list")
            if tuple(steps) == ("key", "tasks"):
                # The key's entries are named by their task, never by position: keying another task
                # must not silently move a place onto a different entry.
                if not re.fullmatch(r"task=\d+", selector):
                    self.fail(where, f"{value!r}: name a key entry by its task, e.g. key.tasks[task=6], "
                                     f"not by its position")
                number = int(selector.removeprefix("task="))
                rows = [i for i, row in enumerate(current) if isinstance(row, dict) and row.get("task") == number]
                if len(rows) != 1:
                    self.fail(where, f"{value!r}: the key has no entry for task {number}")
                index = rows[0]
            elif selector.isdigit():
                index = int(selector)
                if index >= len(current):
                    self.fail(where, f"{value!r}: {_render(tuple(steps))} has {len(current)} entries (counted from 0)")
            else:
                rows = [i for i, row in enumerate(current) if isinstance(row, dict) and row.get("key") == selector]
                if len(rows) != 1:
                    self.fail(where, f"{value!r}: {_render(tuple(steps))} has {'no' if not rows else 'several'} row "
                                     f"with key {selector!r}")
                index = rows[0]
            steps.append(index)
            current = current[index]
        path = tuple(steps)
        owners = self.places.setdefault(path, [])
        shared_text = isinstance(current, str) and path in self.text_figures and owner not in owners
        if owners and not shared_text:
            self.fail(where, f"{value!r} is already varied by {', '.join(map(repr, owners))}: a place varies once "
                             f"(only a text may state several figures)")
        owners.append(owner)
        return path, current

    def places_of(self, value: Any, where: str, owner: str) -> list[tuple[Path, Any]]:
        if not isinstance(value, list) or not value:
            self.fail(where, f"expected a non-empty list of places, got {_describe(value)}")
        return [self.place(item, f"{where}[{index}]", owner) for index, item in enumerate(value)]

    # ----------------------------------------------------------------- figures and dates

    def figure(self, label: str, value: Any) -> Figure:
        where = f"variation.numbers.{label}"
        raw = self.mapping(value, where, _NUMBER_KEYS, ("step",))
        base, low, high = (self.whole(raw[k], f"{where}.{k}") for k in ("base", "min", "max"))
        step = self.whole(raw.get("step", 1), f"{where}.step")
        if low < 0 or step < 1 or high < low + step:
            self.fail(where, f"expected 0 <= min, step >= 1 and at least two figures from min to max "
                             f"(got min {low}, max {high}, step {step})")
        pattern = number_pattern(base)
        places = []
        for index, (path, found) in enumerate(self.places_of(raw["at"], f"{where}.at", label)):
            number = not isinstance(found, bool) and isinstance(found, (int, float))
            if not (number and found == base) and not (isinstance(found, str) and pattern.search(found)):
                self.fail(f"{where}.at[{index}]", f"expected the figure {base} (as a number, or written in a text) at "
                                                  f"{_render(path)}, found {_describe(found)}")
            if isinstance(found, str):
                stated = self.text_figures.setdefault(path, {})
                if base in stated:
                    self.fail(f"{where}.at[{index}]", f"{_render(path)} already varies the figure {base} "
                                                      f"(variable {stated[base]!r}): one variable per figure of a text")
                stated[base] = label
            places.append(path)
        self.all_mentions_are_places(label, base, pattern, set(places), where)
        return Figure(label=label, base=base, minimum=low, maximum=high, step=step, places=tuple(places))

    def all_mentions_are_places(self, label: str, base: int, pattern: re.Pattern[str], places: set[Path], where: str) -> None:
        """Every mention of the base in the sheet and the key follows the figure (else they could
        disagree). Only for figures of three digits or more: smaller numbers are task and row
        numbers, counts and days everywhere, so a mention of one says nothing."""
        if base < _DISTINCT_FIGURE:
            return
        for section in ("sheet", "key"):
            for path, found in _walk(self.data.get(section), (section,)):
                mentioned = ((not isinstance(found, bool) and isinstance(found, (int, float)) and found == base)
                             or (isinstance(found, str) and pattern.search(found) is not None))
                if mentioned and path not in places:
                    self.fail(f"{where}.at", f"{_render(path)} also states {base}: add it to the places of "
                                             f"{label!r} so the {section} follows the drawn figure")

    def date_shift(self, label: str, value: Any) -> DateShift:
        where = f"variation.dates.{label}"
        raw = self.mapping(value, where, _DATE_KEYS)
        low, high = self.whole(raw["min"], f"{where}.min"), self.whole(raw["max"], f"{where}.max")
        if high <= low:
            self.fail(where, f"expected min < max (a shift in days), got min {low}, max {high}")
        places = []
        for index, (path, found) in enumerate(self.places_of(raw["at"], f"{where}.at", label)):
            place = f"{where}.at[{index}]"
            if isinstance(found, str) and _ISO_DATE.fullmatch(found):
                try:
                    date.fromisoformat(found)
                except ValueError:
                    self.fail(place, f"{_render(path)} holds {found!r}, which is not a date")
            elif isinstance(found, bool) or not isinstance(found, (int, date)):
                self.fail(place, f"expected a day offset (a whole number) or a date (YYYY-MM-DD) at {_render(path)}, "
                                 f"found {_describe(found)}")
            elif isinstance(found, int) and (found == 0 or (found > 0 and found + low <= 0) or (found < 0 and found + high >= 0)):
                self.fail(place, f"the day offset {found} at {_render(path)} would change its meaning (past, today, "
                                 f"future) when shifted by {low}..{high} days: narrow the range or give it a variable of its own")
            places.append(path)
        return DateShift(label=label, minimum=low, maximum=high, places=tuple(places))


def read_variation(value: Any, data: Mapping[str, Any], fail: Fail) -> Variation:
    """Check a scenario file's ``variation:`` section against the rest of its ``data``.

    ``fail(location, message)`` raises the loader's error (it never returns).
    """
    return _Reader(data, fail).variation(value)
