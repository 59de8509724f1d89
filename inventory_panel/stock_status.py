"""The stock-status rule, written once: an item is out of stock at quantity 0, low when its quantity is above 0
and at or below its minimum stock (a minimum that is empty means "no reorder level"), and in stock otherwise.

Three forms of the one rule live here side by side, so that they cannot drift apart:

- ``status_of``: the Python predicate (for values already read);
- ``status_case`` and ``status_condition``: the SQLAlchemy expressions the queries and the partial indexes of
  ``storage/tables.py`` use (this module only builds expressions; it never talks to a database);
- ``LABELS``: the words a person sees for each status (table cells, filters, charts, the command line).

Migrations do not import this module: each one keeps a frozen copy of the SQL it ran, because history must not
change when the rule does (a changed rule needs a new migration that rebuilds the indexes and totals).
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa

from .fields import FIELD_BY_NAME

Status = Literal["low", "out", "ok"]

# The fields the rule reads; the spec must have them with these kinds (checked at import, so a renamed field fails
# loudly here rather than as a query error).
QUANTITY = "quantity"
MINIMUM = "minimum_stock"
if not (
    FIELD_BY_NAME[QUANTITY].kind == FIELD_BY_NAME[MINIMUM].kind == "integer"
    and FIELD_BY_NAME[QUANTITY].required
    and not FIELD_BY_NAME[MINIMUM].required
):
    raise ImportError("the stock-status rule needs a required whole-number quantity and an optional minimum")

# In the order a filter offers them.
STATUSES: tuple[Status, ...] = ("low", "out", "ok")
# From in stock to out of stock: the order counts, charts and labels list them in.
BY_SEVERITY: tuple[Status, ...] = ("ok", "low", "out")
LABELS: dict[str, str] = {"ok": "In stock", "low": "Low stock", "out": "Out of stock"}
# The derived column's own words (it is not a stored field, so it is not in fields.FIELDS).
STATUS = "status"
STATUS_LABEL = "Status"


def status_of(quantity: int, minimum: int | None) -> Status:
    """The status of an item with ``quantity`` units and minimum stock ``minimum`` (None: no reorder level)."""
    if quantity == 0:
        return "out"
    if minimum is not None and quantity <= minimum:
        return "low"
    return "ok"


def label(status: str | None) -> str:
    """The person's word for ``status``; "" for none or an unknown one."""
    return LABELS.get(status or "", "")


def status_case(items: sa.FromClause) -> sa.ColumnElement[str]:
    """``'out'``, ``'low'`` or ``'ok'`` per row of ``items`` (the items table)."""
    q, m = items.c[QUANTITY], items.c[MINIMUM]
    return sa.case((q == 0, "out"), (sa.and_(m.is_not(None), q <= m), "low"), else_="ok")


def status_condition(items: sa.FromClause, status: str) -> sa.ColumnElement[bool]:
    """The rows whose status is ``status``.

    A literal 0, not a bound parameter: SQLite uses a partial index (``ix_<table>_low_stock``, built from this very
    expression) only when it can see at prepare time that the query's condition is the index's condition.
    """
    q, m = items.c[QUANTITY], items.c[MINIMUM]
    zero: sa.ColumnElement[Any] = sa.literal_column("0")
    if status == "out":
        return q == zero
    if status == "low":
        return sa.and_(q > zero, m.is_not(None), q <= m)
    if status == "ok":
        return sa.and_(q > zero, sa.or_(m.is_(None), q > m))
    raise ValueError(f"no stock status {status!r}; choose one of {', '.join(STATUSES)}")


def short_condition(items: sa.FromClause) -> sa.ColumnElement[bool]:
    """Out of stock or low: the items the Low stock view lists (and ``ix_<table>_shortage`` holds)."""
    return sa.or_(status_condition(items, "out"), status_condition(items, "low"))


def surplus(items: sa.FromClause) -> sa.ColumnElement[int]:
    """Quantity above the minimum (no minimum counts as 0); negative is a shortage. ``ix_<table>_shortage`` indexes
    this expression ascending, which is largest shortage first."""
    return items.c[QUANTITY] - sa.func.coalesce(items.c[MINIMUM], sa.literal_column("0"))
