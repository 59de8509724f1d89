"""Money as the domain counts it: ``Decimal`` with ``PRICE_SCALE`` places, and whole cents where a number is quicker
(the import's column-wise checks, SQLite's storage form)."""

from __future__ import annotations

from decimal import Decimal

from .fields import PRICE_SCALE

CENTS = Decimal(1).scaleb(-PRICE_SCALE)


def money_to_cents(value: Decimal) -> int:
    """``value`` (already at ``PRICE_SCALE`` places) as whole cents."""
    return int(value.scaleb(PRICE_SCALE).to_integral_value())
