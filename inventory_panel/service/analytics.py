"""Analytics: low stock and the dashboard's aggregates, each one SQL statement answered from an index or the
maintained per-category totals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..money import CENTS
from ..stock_status import BY_SEVERITY, short_condition, surplus
from ..storage.queries import category_totals_select, select_items, value_expr
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
    # The rule's own expressions (stock_status), which the shortage index is built from: "out or low" as the two
    # status conditions, each of which an index answers (the quantity index, the partial low-stock index), so only
    # the short-stocked items are read; ordered by surplus ascending (= shortage descending), the key of the
    # partial index of short items. With any other spelling (a bound 0, say) SQLite cannot match the ORDER BY to
    # the index and sorted every short item (3.5 s for 52,000 of a million on the development machine).
    shortage = (-surplus(items)).label("shortage")
    stmt = (
        select_items(s.tables)
        .add_columns(shortage)
        .where(short_condition(items))
        .order_by(surplus(items), items.c.item_name, items.c.id)
        .limit(limit)
    )
    with s.uow.reading() as conn:
        rows = conn.execute(stmt).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=[*ITEM_COLUMNS, "shortage"]).astype({"unit_price": object})


def value_by_category(s: Session) -> pd.DataFrame:
    """Value, items and units per category, most valuable first (from the maintained per-category totals)."""
    s.require("read")
    with s.uow.reading() as conn:
        rows = conn.execute(category_totals_select(s.tables)).all()
    return pd.DataFrame(
        [(r.category, (Decimal(int(r.value_cents)) * CENTS).quantize(CENTS), int(r.items), int(r.units)) for r in rows],
        columns=["category", "value", "items", "units"],
    ).astype({"value": object})


def stock_status_counts(s: Session) -> pd.DataFrame:
    """Items per stock status, in stock first (``stock_status.BY_SEVERITY``), from the maintained per-category
    totals."""
    figures = summary(s)
    low, out = figures["low_stock"], figures["out_of_stock"]
    counts = {"ok": figures["items"] - low - out, "low": low, "out": out}
    return pd.DataFrame({"status": list(BY_SEVERITY), "items": [counts[status] for status in BY_SEVERITY]})


def top_items_by_value(s: Session, n: int = 10) -> pd.DataFrame:
    s.require("read")
    items = s.tables.items
    value = value_expr(items).label("value")
    stmt = (
        sa.select(items.c.id, items.c.item_name, items.c.category, items.c.quantity, items.c.unit_price, value)
        .order_by(value.desc(), items.c.id)
        .limit(n)
    )
    return _frame(s, stmt, ["id", "item_name", "category", "quantity", "unit_price", "value"])


def quantity_by_location(s: Session) -> pd.DataFrame:
    s.require("read")
    items = s.tables.items
    # Grouped by the bare column, which the (location, quantity) index yields in order without a sort; the
    # few groups are labelled and ordered here.
    stmt = sa.select(
        items.c.location, sa.func.sum(items.c.quantity).label("units"), sa.func.count().label("items")
    ).group_by(items.c.location)
    frame = _frame(s, stmt, ["location", "units", "items"])
    frame["location"] = frame["location"].fillna(NO_LOCATION)
    frame = frame.groupby("location", as_index=False, sort=False)[["units", "items"]].sum()
    return frame.sort_values(["units", "location"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _frame(s: Session, stmt: sa.Select[Any], columns: list[str]) -> pd.DataFrame:
    with s.uow.reading() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    return frame.astype({c: object for c in ("value", "unit_price") if c in columns})
