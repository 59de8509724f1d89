"""SQL for reading items: filters, status, sorting and paging, all done in the database.

Sort columns and filters come from a whitelist; every value is a bound parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..errors import ValidationError
from ..fields import FIELD_NAMES, has_control_chars
from .tables import Tables
from .types import Money

STATUSES = ("low", "out", "ok")
SORTABLE = (*FIELD_NAMES, "id", "updated_at", "created_at", "value")


@dataclass(frozen=True)
class Filters:
    search: str | None = None
    category: str | None = None
    location: str | None = None
    status: str | None = None

    def __post_init__(self) -> None:
        if self.status not in (None, *STATUSES):
            raise ValueError(f"status must be one of {', '.join(STATUSES)} or None, got {self.status!r}")
        for name in ("search", "category", "location"):
            text = getattr(self, name)
            # PostgreSQL cannot even receive a NUL; refuse every control character the field rules refuse.
            if text is not None and (not isinstance(text, str) or has_control_chars(text)):
                raise ValidationError({name: f"the {name} filter must be text without control characters"})


def status_expr(items: sa.Table) -> sa.ColumnElement[str]:
    q, m = items.c.quantity, items.c.minimum_stock
    return sa.case((q == 0, "out"), (sa.and_(m.is_not(None), q <= m), "low"), else_="ok")


def status_condition(items: sa.Table, status: str) -> sa.ColumnElement[bool]:
    q, m = items.c.quantity, items.c.minimum_stock
    if status == "out":
        return q == 0
    if status == "low":
        return sa.and_(q > 0, m.is_not(None), q <= m)
    return sa.and_(q > 0, sa.or_(m.is_(None), q > m))


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def where_clause(tables: Tables, filters: Filters) -> list[sa.ColumnElement[bool]]:
    items = tables.items
    conds: list[sa.ColumnElement[bool]] = []
    if filters.search and filters.search.strip():
        pattern = f"%{escape_like(filters.search.strip())}%"
        conds.append(sa.or_(*(items.c[c].ilike(pattern, escape="\\")
                              for c in ("item_name", "sku", "supplier", "description"))))
    if filters.category:
        conds.append(items.c.category == filters.category)
    if filters.location:
        conds.append(items.c.location == filters.location)
    if filters.status:
        conds.append(status_condition(items, filters.status))
    return conds


def value_expr(items: sa.Table) -> sa.ColumnElement[Any]:
    return sa.type_coerce(items.c.quantity * items.c.unit_price, Money())


def order_by(tables: Tables, sort_by: str, descending: bool) -> list[sa.ColumnElement[Any]]:
    if sort_by not in SORTABLE:
        raise ValueError(f"cannot sort by {sort_by!r}; choose one of {', '.join(SORTABLE)}")
    items = tables.items
    column = value_expr(items) if sort_by == "value" else items.c[sort_by]
    if descending:
        return [column.desc(), items.c.id.desc()]
    return [column.asc(), items.c.id.asc()]


def select_items(tables: Tables) -> sa.Select:
    items = tables.items
    return sa.select(items, status_expr(items).label("status"))
