"""Amounts of money: stored as whole grosze, handled as Decimal złoty."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Dialect, Integer
from sqlalchemy.types import TypeDecorator

GROSZE = Decimal("0.01")


class PLN(TypeDecorator[Decimal]):
    """An amount in złoty (a Decimal with two places), kept as an integer number of grosze.

    SQLite has no exact decimal type (a NUMERIC column comes back through a float); whole grosze
    are exact on every backend, and sums and averages in reports stay exact too.
    """

    impl = Integer
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError("PLN amounts are Decimal values (never float)")
        if value != value.quantize(GROSZE):
            raise ValueError(f"{value} has more than two decimal places")
        return int((value * 100).to_integral_value(rounding=ROUND_HALF_UP))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / 100).quantize(GROSZE)
