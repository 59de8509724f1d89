"""Analytics: low stock and the dashboard's aggregates, each one SQL statement answered from an index or the
maintained per-category totals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..storage.queries import category_totals_select, select_items, status_condition, value_expr
from ..storage.types import CENTS
from .model import ITEM_COLUMNS
from .reads import summary
from .session import Session

NO_LOCATION = "(no location)"


def low_stock(s: Session, limit: int | None = 500) -> pd.DataFrame:
    """Items at or below their minimum (or out of stock), largest shortage first, with suppliers.

    ``limit``: at most this many (the largest shortages); None for all of them. ``summary()`` counts them all
    (``low_stock + out_of_stock``) without reading them.
    """
    s.require("read")
    items = s.tables.items
    # A literal 0, as in the index's expression: with a bound parameter SQLite cannot match the ORDER BY to the
    # shortage index and sorted every short item (3.5 s for 52,000 of a million on the development machine).
    zero: sa.ColumnElement[int] = sa.literal_column("0")
    shortage = (sa.func.coalesce(items.c.minimum_stock, zero) - items.c.quantity).label("shortage")
    # "out or low" spelled as the two status conditions, each of which an index answers (the quantity index,
    # the partial low-stock index), so only the short-stocked items are read and sorted, not every item.
    # Ordered by surplus ascending (= shortage descending), the key of the partial index of short items.
    surplus = items.c.quantity - sa.func.coalesce(items.c.minimum_stock, zero)
    stmt = (select_items(s.tables).add_columns(shortage)
            .where(sa.or_(status_condition(items, "out"), status_condition(items, "low")))
            .order_by(surplus, items.c.item_name, items.c.id).limit(limit))
    with s.uow.reading() as conn:
        rows = conn.execute(stmt).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=[*ITEM_COLUMNS, "shortage"]).astype(
        {"unit_price": object})


def value_by_category(s: Session) -> pd.DataFrame:
    """Value, items and units per category, most valuable first (from the maintained per-category totals)."""
    s.require("read")
    with s.uow.reading() as conn:
        rows = conn.execute(category_totals_select(s.tables)).all()
    return pd.DataFrame(
        [(r.category, (Decimal(int(r.value_cents)) * CENTS).quantize(CENTS), int(r.items), int(r.units))
         for r in rows], columns=["category", "value", "items", "units"]).astype({"value": object})


def stock_status_counts(s: Session) -> pd.DataFrame:
    """Items per stock status: ok, low, out (from the maintained per-category totals)."""
    figures = summary(s)
    low, out = figures["low_stock"], figures["out_of_stock"]
    return pd.DataFrame({"status": ["ok", "low", "out"], "items": [figures["items"] - low - out, low, out]})


def top_items_by_value(s: Session, n: int = 10) -> pd.DataFrame:
    s.require("read")
    items = s.tables.items
    value = value_expr(items).label("value")
    stmt = (sa.select(items.c.id, items.c.item_name, items.c.category, items.c.quantity, items.c.unit_price,
                      value).order_by(value.desc(), items.c.id).limit(n))
    return _frame(s, stmt, ["id", "item_name", "category", "quantity", "unit_price", "value"])


def quantity_by_location(s: Session) -> pd.DataFrame:
    s.require("read")
    items = s.tables.items
    # Grouped by the bare column, which the (location, quantity) index yields in order without a sort; the
    # few groups are labelled and ordered here.
    stmt = (sa.select(items.c.location, sa.func.sum(items.c.quantity).label("units"),
                      sa.func.count().label("items")).group_by(items.c.location))
    frame = _frame(s, stmt, ["location", "units", "items"])
    frame["location"] = frame["location"].fillna(NO_LOCATION)
    frame = frame.groupby("location", as_index=False, sort=False)[["units", "items"]].sum()
    return frame.sort_values(["units", "location"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _frame(s: Session, stmt: sa.Select[Any], columns: list[str]) -> pd.DataFrame:
    with s.uow.reading() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    return frame.astype({c: object for c in ("value", "unit_price") if c in columns})
