"""Figures a candidate wrote down (in Polish) about what they read in the CRM, as numbers: how far
the tasks have got (done, in progress, overdue, the share done) and the value of opportunities
per pipeline stage. Pure: text in, numbers out; no database, no request.

How numbers are read (the committee sees the same rules in the checks' documentation):

* Spaces (no-break ones too), dots and commas followed by exactly three digits separate
  thousands ("48 000", "48.000", "48,000"): money has at most two decimal digits, so ",000"
  cannot be a fraction. A comma or dot followed by one or two digits is the decimal separator
  ("48 000,50", "33,3%").
* "tys." / "tys" / "k" multiply by a thousand, "mln" by a million ("48 tys.", "48k", "1,2 mln").
* "zł", "zl", "PLN", "tys." and the like mark an amount; "%" a percentage. A currency may also
  come before the number, as the English pages show money ("PLN8,400.00").
* Dates ("12.05.2025", "2025-05-12") and times ("10:30") are not figures.

How a written number agrees with a true one (:func:`amount_agrees`, :func:`percent_agrees`):

* an amount within 1 zł (grosze rounded away); an amount written in thousands or millions within
  half of its last written digit ("48 tys." agrees with 47 500–48 500, "1,2 mln" with
  1 150 000–1 250 000), as a person rounding what the board shows would write it;
* a count exactly;
* a percentage within one percentage point (the CRM shows one decimal; a candidate may round).

Which figure is which is told by the Polish words around it: a clause (a line, or a part
between commas, semicolons, "i"/"oraz") naming one kind of figure ("wykonane", "w toku",
"zaległe", …) gives that figure its first count; "X z Y" is X of that kind out of Y tasks. Stage
names are found with Polish endings allowed ("na etapie Negocjacji" names "Negocjacje"); the
amount of a stage is the first amount after its name (or before it, when the text puts amounts
first), a marked amount ("… zł") preferred over a bare number, counts of opportunities
("2 szanse") and percentages skipped.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

DONE, IN_PROGRESS, OPEN, OVERDUE, TOTAL, SHARE, AVERAGE = (
    "done", "in_progress", "open", "overdue", "total", "share_done", "average")
COUNT_KINDS = (DONE, IN_PROGRESS, OPEN, OVERDUE, TOTAL)

# Stems of the words naming each kind of figure, written without Polish letters (the text is
# compared in that form too, so "zaległe" and "zalegle" are one word). Where stems overlap
# ("do wykonania" holds "wykonan") the longer one wins.
STEMS: Mapping[str, tuple[str, ...]] = {
    DONE: ("wykonan", "wykonal", "zakonczon", "ukonczon", "zrealizowan", "gotow", "zamkniet", "done", "completed"),
    IN_PROGRESS: ("w toku", "w trakcie", "w realizacji", "rozpoczet", "realizowan", "in progress"),
    OPEN: ("otwart", "nierozpoczet", "nie rozpoczet", "niewykonan", "nie wykonan", "niezakonczon",
           "nie zakonczon", "nieukonczon", "nie ukonczon", "niezrealizowan", "nie zrealizowan",
           "do zrobienia", "do wykonania", "oczekuj", "open"),
    OVERDUE: ("zaleg", "po terminie", "przetermin", "opozni", "spozni", "po czasie", "overdue"),
    TOTAL: ("wszystki", "lacznie", "razem", "ogolem", "w sumie", "total"),
    SHARE: ("stopien realizacji", "stopien wykonania", "odsetek", "procent", "realizacja", "share"),
    AVERAGE: ("sredni", "average"),
}
_PLAIN = str.maketrans("ąćęłńóśźż", "acelnoszz")
_SPACES = re.compile(r"[\u00a0\u202f\u2007\u2009\t]")
_NOT_FIGURES = re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b|\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}:\d{2}\b")
# A number starts after a non-word character, or right after the currency code ("PLN8,400.00").
_CURRENCY_CODE = "pln"
_NUMBER = re.compile(r"(?:(?<![\w.,])|(?<=\bpln))(\d{1,3}(?:[ .,]\d{3})+|\d+)(?:[.,](\d{1,2}))?(?!\d)")
_UNIT = re.compile(r"\s*(%|proc\b\.?|tys\b\.?|tys\.|k(?![a-z])|mln\b\.?|zl(?![a-z])|pln\b)")
_CLAUSE_BREAK = re.compile(r"\n|;|\.(?!\d)|(?<!\d),|,(?!\d)|\s(?:i|oraz|a)\s")
_RATIO = re.compile(r"(?<![\w.,])(\d+)\s*(?:z|/|na)\s*(\d+)(?![\d%])")
_COUNT_WORD = re.compile(r"\s*(szans|szansa|szanse|szt|poz|opportunit|rekord|zadan|zadani)")
_YEAR_WORD = re.compile(r"\s*(r\.|r\b|rok|roku)")
_WORD = re.compile(r"[0-9a-z]+")
MULTIPLIERS = {"tys": Decimal(1000), "k": Decimal(1000), "mln": Decimal(1_000_000)}
AMOUNT_TOLERANCE = Decimal(1)  # zł: grosze rounded away
PERCENT_TOLERANCE = Decimal(1)  # percentage points
# A bare number (no "zł", "tys.", …) below this is a count or a position, not an amount.
SMALLEST_BARE_AMOUNT = Decimal(100)


def plain(text: str) -> str:
    """``text`` folded for matching words: lower case, Polish letters as their Latin base, odd
    spaces as spaces. One character stays one character, so positions match the original."""
    return _SPACES.sub(" ", text.casefold().translate(_PLAIN))


@dataclass(frozen=True)
class Number:
    """A number written in the text, with where it is and what marks it."""

    value: Decimal
    start: int
    end: int
    percent: bool = False
    marked: bool = False  # written with a currency or a multiplier: an amount
    tolerance: Decimal = AMOUNT_TOLERANCE
    whole: bool = True  # written without a decimal part and without a multiplier


def numbers(text: str) -> list[Number]:
    """Every number of ``text`` (already :func:`plain`), in order, dates and times left out."""
    masked = _NOT_FIGURES.sub(lambda m: " " * len(m.group()), text)
    found = []
    for match in _NUMBER.finditer(masked):
        digits = re.sub(r"[ .,]", "", match.group(1))
        fraction = match.group(2) or ""
        try:
            value = Decimal(f"{digits}.{fraction}" if fraction else digits)
        except InvalidOperation:  # pragma: no cover - the pattern only lets digits through
            continue
        end, percent, multiplier = match.end(), False, Decimal(1)
        marked = masked.endswith(_CURRENCY_CODE, 0, match.start())
        while (unit := _UNIT.match(masked, end)) is not None:
            word = unit.group(1).rstrip(".")
            end = unit.end()
            if word in ("%", "proc"):
                percent = True
                break
            marked = True
            if word in MULTIPLIERS:
                multiplier = MULTIPLIERS[word]
        tolerance = AMOUNT_TOLERANCE
        if multiplier != 1:
            tolerance = max(AMOUNT_TOLERANCE, multiplier * Decimal(10) ** -len(fraction) / 2)
        found.append(Number(value=value * multiplier, start=match.start(), end=end, percent=percent, marked=marked,
                            tolerance=tolerance, whole=not fraction and multiplier == 1))
    return found


def amount_agrees(written: Number, true: Decimal) -> bool:
    """Whether an amount written agrees with the true one (see the module's documentation)."""
    return abs(written.value - true) <= written.tolerance


def percent_agrees(written: Decimal, *true: float) -> bool:
    """Whether a percentage written agrees with one of the true ones within one percentage point."""
    return any(abs(written - Decimal(str(value))) <= PERCENT_TOLERANCE for value in true)


# --- words -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mention:
    """A word (or words) of ``kind`` found at ``start``–``end`` of the text."""

    kind: str
    start: int
    end: int


def _keywords(text: str, stems: Mapping[str, Iterable[str]]) -> list[Mention]:
    """The stems found in ``text`` (plain), longest first where they overlap, in text order."""
    found = [Mention(kind, match.start(), match.end())
             for kind, words in stems.items() for stem in words
             for match in re.finditer(re.escape(stem), text)]
    return _without_overlaps(found)


def _without_overlaps(found: list[Mention]) -> list[Mention]:
    kept: list[Mention] = []
    for mention in sorted(found, key=lambda m: (-(m.end - m.start), m.start)):
        if all(mention.end <= other.start or mention.start >= other.end for other in kept):
            kept.append(mention)
    return sorted(kept, key=lambda m: m.start)


def _word_matches(written: str, name: str) -> bool:
    """A word of the text names a word of a name, Polish endings allowed ("negocjacji" for
    "negocjacje"): the shared beginning is all of the name's word but its last two letters,
    and at least four letters (short words must be the same)."""
    if len(name) <= 3 or name.isdigit():
        return written == name
    shared = 0
    for a, b in zip(written, name, strict=False):
        if a != b:
            break
        shared += 1
    return shared >= max(4, len(name) - 2) and len(written) <= len(name) + 4


def find_names(text: str, names: Sequence[str]) -> list[Mention]:
    """Where each of ``names`` is named in ``text`` (plain), as mentions whose kind is the name's
    index; a longer name wins over a shorter one it contains ("Oferta wysłana" over "Oferta")."""
    words = [(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]
    found = []
    for index, name in enumerate(names):
        # What a name says in brackets ("Przypomnienie (60 dni)") may be left out when it is written.
        parts = _WORD.findall(plain(re.sub(r"\([^)]*\)", " ", name))) or _WORD.findall(plain(name))
        if not parts:
            continue
        for first in range(len(words) - len(parts) + 1):
            if all(_word_matches(words[first + i][0], part) for i, part in enumerate(parts)):
                found.append(Mention(str(index), words[first][1], words[first + len(parts) - 1][2]))
    return _without_overlaps(found)


# --- completion of tasks ---------------------------------------------------------------------

@dataclass(frozen=True)
class CompletionRecord:
    """The completion figures written in one text (``None``: not written)."""

    counts: Mapping[str, int] = field(default_factory=dict)  # done, in_progress, open, overdue, total
    share_done: Decimal | None = None
    average: Decimal | None = None
    overdue_titles: frozenset[int] | None = None  # indexes of the task titles named as overdue

    def __bool__(self) -> bool:
        return bool(self.counts) or self.share_done is not None or self.average is not None \
            or bool(self.overdue_titles)


def _clauses(text: str) -> list[tuple[int, int]]:
    bounds, start = [], 0
    for match in _CLAUSE_BREAK.finditer(text):
        bounds.append((start, match.start()))
        start = match.end()
    bounds.append((start, len(text)))
    return [(a, b) for a, b in bounds if text[a:b].strip()]


def _mask(text: str, mentions: Iterable[Mention]) -> str:
    chars = list(text)
    for mention in mentions:
        chars[mention.start:mention.end] = "#" * (mention.end - mention.start)
    return "".join(chars)


def parse_completion(text: str, titles: Sequence[str] = ()) -> CompletionRecord:
    """The completion figures written in ``text``; ``titles`` are the tasks' titles, so that a
    title is never read as a figure ("EX-300") and titles named as overdue are recognised."""
    folded = plain(text)
    named = find_titles(folded, titles)
    masked = _mask(folded, named)
    keywords = _keywords(masked, STEMS)
    counts: dict[str, int] = {}
    share: Decimal | None = None
    average: Decimal | None = None
    for start, end in _clauses(masked):
        inside = [k for k in keywords if start <= k.start < end]
        kinds = [k.kind for k in inside]
        clause_numbers = numbers(masked[start:end])
        used: set[int] = set()
        for ratio in _RATIO.finditer(masked[start:end]):
            kind = next((k for k in kinds if k in (DONE, IN_PROGRESS, OPEN, OVERDUE)), DONE)
            counts.setdefault(kind, int(ratio.group(1)))
            counts.setdefault(TOTAL, int(ratio.group(2)))
            used |= {n.start for n in clause_numbers if ratio.start() <= n.start < ratio.end()}
        for number in clause_numbers:
            if not number.percent:
                continue
            if AVERAGE in kinds:
                average = average if average is not None else number.value
            elif not {IN_PROGRESS, OPEN, OVERDUE} & set(kinds) or {DONE, SHARE} & set(kinds):
                share = share if share is not None else number.value
        plain_counts = [n for n in clause_numbers
                        if not n.percent and not n.marked and n.whole and n.start not in used]
        count_words = [k for k in inside if k.kind in COUNT_KINDS]
        for kind, value in _pair_counts(count_words, plain_counts, start):
            counts.setdefault(kind, int(value))
    overdue = _overdue_titles(named, keywords)
    return CompletionRecord(counts=counts, share_done=share, average=average, overdue_titles=overdue)


def _pair_counts(words: list[Mention], found: list[Number], offset: int) -> list[tuple[str, Decimal]]:
    """Counts paired with the words naming them in one clause: a single word takes the first
    count; several words each take the count after them, or before them when the clause puts
    the numbers first ("3 wykonane 2 w toku")."""
    if not words or not found:
        return []
    if len(words) == 1:
        return [(words[0].kind, found[0].value)]
    numbers_first = found[0].start + offset < words[0].start
    pairs = []
    for index, word in enumerate(words):
        if numbers_first:
            low = words[index - 1].end if index else -1
            before = [n for n in found if low <= n.start + offset < word.start]
            if before:
                pairs.append((word.kind, before[-1].value))
        else:
            high = words[index + 1].start if index + 1 < len(words) else 1 << 30
            after = [n for n in found if word.end <= n.start + offset < high]
            if after:
                pairs.append((word.kind, after[0].value))
    return pairs


def find_titles(text: str, titles: Sequence[str]) -> list[Mention]:
    """Where whole task titles are written in ``text`` (plain), kind = the title's index."""
    found = []
    for index, title in enumerate(titles):
        key = " ".join(plain(title).split())
        if len(key) < 4:
            continue
        squeezed = re.escape(key).replace(r"\ ", r"\s+")
        found += [Mention(str(index), m.start(), m.end()) for m in re.finditer(squeezed, text)]
    return _without_overlaps(found)


def _overdue_titles(named: list[Mention], keywords: list[Mention]) -> frozenset[int] | None:
    """The titles written after a word for "overdue" (with no other kind of figure named in
    between); ``None`` when no title is written that way."""
    chosen = set()
    for mention in named:
        before = [k for k in keywords if k.end <= mention.start and k.kind in (*COUNT_KINDS, SHARE)]
        if before and before[-1].kind == OVERDUE:
            chosen.add(int(mention.kind))
    return frozenset(chosen) if chosen else None


# --- amounts per stage -----------------------------------------------------------------------

def _is_amount(number: Number, text: str) -> bool:
    if number.percent or _COUNT_WORD.match(text, number.end) or _YEAR_WORD.match(text, number.end):
        return False
    return number.marked or number.value >= SMALLEST_BARE_AMOUNT


def parse_stage_amounts(text: str, stage_names: Sequence[str]) -> tuple[dict[int, Number], list[Number]]:
    """The amount written for each of ``stage_names`` (by index; stages not named are absent),
    and every amount of the text in order (for a text naming no stage)."""
    folded = plain(text)
    amounts = [n for n in numbers(folded) if _is_amount(n, folded)]
    mentions = find_names(folded, stage_names)
    amounts = [n for n in amounts if not any(m.start <= n.start < m.end for m in mentions)]
    after = _assign(mentions, amounts, len(folded), numbers_first=False)
    before = _assign(mentions, amounts, len(folded), numbers_first=True)
    return (before if len(before) > len(after) else after), amounts


def _assign(mentions: list[Mention], amounts: list[Number], length: int, numbers_first: bool) -> dict[int, Number]:
    """Each named stage's amount: the first one after its name (a marked one preferred), or with
    ``numbers_first`` the one right before it."""
    found: dict[int, Number] = {}
    for index, mention in enumerate(mentions):
        if numbers_first:
            low = mentions[index - 1].end if index else 0
            span = [n for n in amounts if low <= n.start < mention.start][-1:]
        else:
            high = mentions[index + 1].start if index + 1 < len(mentions) else length + 1
            span = [n for n in amounts if mention.end <= n.start < high]
        if span:
            found.setdefault(int(mention.kind), next((n for n in span if n.marked), span[0]))
    return found


def format_amount(value: Decimal) -> str:
    """``value`` as a Polish amount ("48 000,00"), for messages showing figures."""
    return f"{value:,.2f}".replace(",", " ").replace(".", ",")
