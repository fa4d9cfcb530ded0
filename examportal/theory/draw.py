"""The blueprint draw of a theory test (pure: plain data in, plain data out, no database).

``draw`` picks a test covering every test-method criterion, reproducibly from the attempt's stored
seed; ``draw_balanced`` keeps, of several such forms, the one nearest the bank's difficulty. The
attempt's lifecycle (:mod:`.services`) loads the bank and stores what is drawn.
"""
from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from question_bank import items as bank

from .errors import TheoryError


class DrawError(TheoryError):
    """The bank cannot supply a test that covers every test-method criterion."""


@dataclass(frozen=True)
class DrawnItem:
    """One drawn item and how it is shown (its options shuffled), stored in the attempt's snapshot."""

    item: bank.Item
    presented: dict[str, Any]


def draw(items: Sequence[bank.Item], criteria: Sequence[str], count: int, seed: int) -> list[DrawnItem]:
    """Draw ``count`` items covering every code in ``criteria`` at least once, deterministically from ``seed``.

    First one item per criterion (a criterion already covered by an earlier pick is skipped), then the
    remaining places go to the criteria with the fewest items so far (ties broken at random), so the
    test stays balanced across criteria; then the order of the items and of each item's options is
    shuffled. Only items tagged with at least one of ``criteria`` are eligible.
    """
    rng = random.Random(seed)  # noqa: S311  (a reproducible draw from a stored seed, not a secret)
    wanted = sorted(set(criteria))
    pool = sorted((i for i in items if set(i.criteria) & set(wanted)), key=lambda i: i.id)
    if count < len(wanted):
        raise DrawError(_("The test must have at least %(n)d items to cover every criterion.", n=len(wanted)))
    if len(pool) < count:
        raise DrawError(_("The item bank has only %(have)d usable items; the test needs %(need)d.",
                          have=len(pool), need=count))
    by_criterion: dict[str, list[bank.Item]] = {code: [i for i in pool if code in i.criteria] for code in wanted}
    missing = [code for code, candidates in by_criterion.items() if not candidates]
    if missing:
        raise DrawError(_("The item bank has no item for criterion %(codes)s.", codes=", ".join(missing)))

    chosen: list[bank.Item] = []
    chosen_ids: set[str] = set()
    covered: Counter[str] = Counter()

    def take(item: bank.Item) -> None:
        chosen.append(item)
        chosen_ids.add(item.id)
        covered.update(c for c in item.criteria if c in by_criterion)

    for code in rng.sample(wanted, len(wanted)):
        if covered[code]:
            continue
        candidates = [i for i in by_criterion[code] if i.id not in chosen_ids]
        if not candidates:
            raise DrawError(_("The item bank has too few items for criterion %(codes)s.", codes=code))
        take(rng.choice(candidates))
    while len(chosen) < count:
        open_codes = [c for c in wanted if any(i.id not in chosen_ids for i in by_criterion[c])]
        fewest = min(covered[c] for c in open_codes)
        code = rng.choice([c for c in open_codes if covered[c] == fewest])
        take(rng.choice([i for i in by_criterion[code] if i.id not in chosen_ids]))
    rng.shuffle(chosen)
    return [DrawnItem(item, bank.present(item, rng)) for item in chosen]


FORM_CANDIDATES = 16
"""How many forms :func:`draw_balanced` draws to pick the one nearest the bank's difficulty."""


def form_difficulty(form: Sequence[DrawnItem]) -> float | None:
    """The mean difficulty estimate of a drawn form (None when no item has one)."""
    known = [d.item.difficulty for d in form if d.item.difficulty is not None]
    return sum(known) / len(known) if known else None


def draw_balanced(items: Sequence[bank.Item], criteria: Sequence[str], count: int, seed: int,
                  candidates: int = FORM_CANDIDATES) -> list[DrawnItem]:
    """Like :func:`draw`, but the form's mean difficulty is near the eligible pool's.

    ``candidates`` forms are drawn from seeds derived from ``seed`` and the one nearest the pool's
    mean difficulty is kept, so the candidates of one session sit forms of about the same
    difficulty. Deterministic from ``seed``.
    """
    wanted = set(criteria)
    pool = [i.difficulty for i in items if set(i.criteria) & wanted and i.difficulty is not None]
    if not pool:
        return draw(items, criteria, count, seed)
    target = sum(pool) / len(pool)
    seeds = random.Random(seed)  # noqa: S311  (derives reproducible seeds, not a secret)
    forms = [draw(items, criteria, count, seeds.getrandbits(62)) for _ in range(candidates)]
    return min(forms, key=lambda form: abs((form_difficulty(form) or target) - target))
