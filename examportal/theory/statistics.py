"""Item statistics of the theory test: facility, discrimination, distractors, review flags.

Pure functions over plain rows, so they are tested without a database. Conventions of classical
test theory: *facility* is the share of the maximum score obtained (p); *discrimination* is the
point-biserial correlation between the item score and the candidate's score on the rest of the
test (corrected item-total correlation, so the item does not correlate with itself).
"""
from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# Review thresholds (common practice for criterion-referenced tests).
TOO_HARD, TOO_EASY = 0.20, 0.90
LOW_DISCRIMINATION = 0.15
DEAD_DISTRACTOR = 0.05  # chosen by fewer than 5% of candidates
MIN_RESPONSES = 20  # below this the figures are shown but not flagged


@dataclass(frozen=True)
class Response:
    """One candidate's answer to one item."""

    attempt_id: int
    item_id: str
    points: float
    response: Any
    key: Any = None
    options: tuple[str, ...] = ()


@dataclass
class ItemStatistics:
    item_id: str
    responses: int
    facility: float | None
    discrimination: float | None
    option_counts: dict[str, int] = field(default_factory=dict)
    key: tuple[str, ...] = ()
    flags: list[str] = field(default_factory=list)


def point_biserial(item_scores: list[float], rest_scores: list[float]) -> float | None:
    """Pearson correlation of the item score with the rest score; None when either does not vary."""
    n = len(item_scores)
    if n < 2:
        return None
    mean_i, mean_r = sum(item_scores) / n, sum(rest_scores) / n
    cov = sum((i - mean_i) * (r - mean_r) for i, r in zip(item_scores, rest_scores, strict=True))
    var_i = sum((i - mean_i) ** 2 for i in item_scores)
    var_r = sum((r - mean_r) ** 2 for r in rest_scores)
    if var_i == 0 or var_r == 0:
        return None
    return cov / math.sqrt(var_i * var_r)


def chosen_options(response: Any) -> list[str]:
    """Which options a response picked (choice and true/false items); [] for other shapes."""
    if isinstance(response, bool):
        return ["true" if response else "false"]
    if isinstance(response, str):
        return [response]
    if isinstance(response, list) and all(isinstance(r, str) for r in response):
        return list(response)
    return []


def compute(rows: Iterable[Response]) -> list[ItemStatistics]:
    """Statistics per item over all submitted attempts represented in ``rows``."""
    rows = list(rows)
    totals: dict[int, float] = defaultdict(float)
    for row in rows:
        totals[row.attempt_id] += row.points
    by_item: dict[str, list[Response]] = defaultdict(list)
    for row in rows:
        by_item[row.item_id].append(row)
    result = []
    for item_id, item_rows in sorted(by_item.items()):
        scores = [r.points for r in item_rows]
        rest = [totals[r.attempt_id] - r.points for r in item_rows]
        counts: Counter[str] = Counter()
        options = next((r.options for r in item_rows if r.options), ())
        for option in options:
            counts[option] = 0
        for r in item_rows:
            counts.update(chosen_options(r.response))
        key = tuple(chosen_options(item_rows[0].key)) if item_rows[0].key is not None else ()
        stats = ItemStatistics(
            item_id=item_id, responses=len(item_rows), facility=sum(scores) / len(scores),
            discrimination=point_biserial(scores, rest), option_counts=dict(counts), key=key,
        )
        stats.flags = review_flags(stats)
        result.append(stats)
    return result


def review_flags(stats: ItemStatistics) -> list[str]:
    """Why an item should be reviewed (codes; the view translates them)."""
    if stats.responses < MIN_RESPONSES:
        return []
    flags = []
    if stats.facility is not None and stats.facility < TOO_HARD:
        flags.append("too_hard")
    if stats.facility is not None and stats.facility > TOO_EASY:
        flags.append("too_easy")
    if stats.discrimination is None or stats.discrimination < LOW_DISCRIMINATION:
        flags.append("low_discrimination")
    dead = [o for o, n in stats.option_counts.items() if o not in stats.key and n < DEAD_DISTRACTOR * stats.responses]
    if stats.key and dead:
        flags.append("dead_distractor")
    return flags


def safe_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_csv(statistics: list[ItemStatistics]) -> str:
    """The statistics as CSV (UTF-8 with BOM for spreadsheets, formula-safe cells)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL)
    writer.writerow(["item_id", "responses", "facility", "discrimination", "key", "option_counts", "flags"])
    for s in statistics:
        writer.writerow([
            safe_cell(s.item_id), s.responses,
            "" if s.facility is None else f"{s.facility:.3f}",
            "" if s.discrimination is None else f"{s.discrimination:.3f}",
            safe_cell(" ".join(s.key)), safe_cell(" ".join(f"{o}:{n}" for o, n in sorted(s.option_counts.items()))),
            " ".join(s.flags),
        ])
    return "\ufeff" + out.getvalue()
