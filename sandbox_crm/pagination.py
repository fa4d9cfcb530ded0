"""SQL pagination shared by the sandbox's list pages: the count is one SQL query, the page another."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select

from .host import session

PER_PAGE = 25


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int
    extra: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def window(self, size: int = 2) -> list[int]:
        """Page numbers to show around the current one (always with the first and the last)."""
        numbers = {1, self.pages} | set(range(max(1, self.page - size), min(self.pages, self.page + size) + 1))
        return sorted(numbers)


def paginate(stmt: Select[Any], page: int = 1, per_page: int = PER_PAGE, scalars: bool = True) -> Page:
    """Run ``stmt`` for one page; ``page`` is clamped to the pages that exist."""
    db = session()
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    paged = stmt.limit(per_page).offset((page - 1) * per_page)
    items = list(db.scalars(paged).unique()) if scalars else list(db.execute(paged))
    return Page(items=items, page=page, per_page=per_page, total=total)
