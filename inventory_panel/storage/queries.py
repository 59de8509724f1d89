"""SQL for reading items: filters, status, sorting and paging, all done in the database.

Sort columns and filters come from a whitelist; every value is a bound parameter.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..errors import InvalidArgumentError, ValidationError
from ..fields import FIELD_NAMES, has_control_chars, has_surrogates, normalize_text, search_fields
from ..stock_status import STATUSES, status_case, status_condition
from .dialects.base import Backend
from .tables import Tables
from .types import Money

# No field is longer, so no longer search can match (on PostgreSQL neither: a match never spans two fields). Past
# it, SQLite refuses the LIKE pattern outright (50,000 bytes: "LIKE or GLOB pattern too complex").
MAX_SEARCH = max(f.max_length or 0 for f in search_fields())
STAT_FIELDS = ("items", "units", "value_cents", "low_stock", "out_of_stock")
SORTABLE = (*FIELD_NAMES, "id", "updated_at", "created_at", "value")


@dataclass(frozen=True)
class FilterFields:
    """The row filters as given, unchecked (``service.model.ItemSelection`` adds the order to them)."""

    search: str | None = None
    category: str | None = None
    location: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Filters(FilterFields):
    """The row filters, checked and the search normalized as they are made; what ``where_clause`` takes."""

    def __post_init__(self) -> None:
        if self.status not in (None, *STATUSES):
            raise InvalidArgumentError(
                {"status": f"status must be one of {', '.join(STATUSES)} or None, got {self.status!r}"}
            )
        for name in ("search", "category", "location"):
            text = getattr(self, name)
            if text is None:
                continue
            # PostgreSQL cannot even receive a NUL, no driver a lone surrogate; refuse what the field rules refuse.
            if not isinstance(text, str) or has_control_chars(text) or has_surrogates(text):
                raise ValidationError({name: f"the {name} filter must be valid text without control characters"})
        if self.search is not None:
            # Stored text is NFC (fields.normalize_text): a search typed decomposed must find it all the same.
            # (Category and location stay as given: they are picked from the stored values, whatever their form.)
            object.__setattr__(self, "search", normalize_text(self.search))


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_condition(tables: Tables, text: str, backend: Backend, words: bool = True) -> sa.ColumnElement[bool]:
    """Case-insensitive substring of one of the searched fields (``Display.search_order``: name, sku, supplier and
    description), matched as ``backend`` matches best: by its word index where it has one and ``text`` is words
    (``Backend.word_match``; not with ``words=False``), else as a substring (``Backend.search_match``)."""
    if len(text) > MAX_SEARCH:
        return sa.false()
    by_words = backend.word_match(tables, text) if words else None
    return by_words if by_words is not None else backend.search_match(tables, f"%{escape_like(text)}%")


def searches_words(tables: Tables, filters: Filters, backend: Backend) -> bool:
    """Whether ``where_clause`` finds ``filters``' search through the backend's word index."""
    text = (filters.search or "").strip()
    return bool(text) and len(text) <= MAX_SEARCH and backend.word_match(tables, text) is not None


def where_clause(
    tables: Tables, filters: Filters, backend: Backend, words: bool = True
) -> list[sa.ColumnElement[bool]]:
    """Conditions of ``filters`` for a query on the items table alone, on ``backend``'s database (``words=False``:
    the search as a plain substring, see ``search_condition``)."""
    items = tables.items
    conds: list[sa.ColumnElement[bool]] = []
    if filters.search and filters.search.strip():
        conds.append(search_condition(tables, filters.search.strip(), backend, words))
    if filters.category:
        conds.append(items.c.category == filters.category)
    if filters.location:
        conds.append(items.c.location == filters.location)
    if filters.status:
        conds.append(status_condition(items, filters.status))
    return conds


def resolved_where(
    conn: sa.Connection, tables: Tables, filters: Filters, backend: Backend
) -> list[sa.ColumnElement[bool]]:
    """``where_clause``, by substring when a word search finds nothing (the text may be part of a word): what a
    reader that does not count first (the export) uses to find the rows ``query`` shows."""
    conds = where_clause(tables, filters, backend)
    found = sa.select(tables.items.c.id).where(*conds).limit(1)
    if searches_words(tables, filters, backend) and conn.execute(found).first() is None:
        return where_clause(tables, filters, backend, words=False)
    return conds


def value_expr(items: sa.Table) -> sa.ColumnElement[Any]:
    return sa.type_coerce(items.c.quantity * items.c.unit_price, Money())


def sort_column(tables: Tables, sort_by: str) -> sa.ColumnElement[Any]:
    if sort_by not in SORTABLE:
        raise InvalidArgumentError({"sort_by": f"cannot sort by {sort_by!r}; choose one of {', '.join(SORTABLE)}"})
    items = tables.items
    return value_expr(items) if sort_by == "value" else items.c[sort_by]


def seek_condition(
    tables: Tables, sort_by: str, descending: bool, key: tuple[Any, int], backend: Backend
) -> sa.ColumnElement[bool]:
    """The items strictly after ``key`` (a row's sort value and id) in page order: keyset paging.

    A row-value comparison ``(column, id) > (value, id)`` is a range scan of the (column, id) index, however deep
    the page. Where NULLs sort (``Backend.nulls_first``: first ascending on SQLite, last on PostgreSQL; the reverse
    descending) decides whether they come after the key.
    """
    column, ident = sort_column(tables, sort_by), tables.items.c.id
    value, last_id = key
    later = operator.lt if descending else operator.gt
    after = later(sa.tuple_(column, ident), sa.tuple_(sa.literal(value, column.type), sa.literal(last_id)))
    if sort_by == "value" or not tables.items.c[sort_by].nullable:
        return after  # no NULLs to place (and a bare range is what the index serves fastest)
    nulls_first = backend.nulls_first != descending
    if value is None:
        among_nulls = sa.and_(column.is_(None), later(ident, last_id))
        return sa.or_(among_nulls, column.is_not(None)) if nulls_first else among_nulls
    return after if nulls_first else sa.or_(after, column.is_(None))


def order_by(tables: Tables, sort_by: str, descending: bool) -> list[sa.ColumnElement[Any]]:
    items = tables.items
    column = sort_column(tables, sort_by)
    if descending:
        return [column.desc(), items.c.id.desc()]
    return [column.asc(), items.c.id.asc()]


def select_items(tables: Tables) -> sa.Select:
    items = tables.items
    return sa.select(items, status_case(items).label("status"))


def page_ids(tables: Tables, conds: list[sa.ColumnElement[bool]], sort_by: str, descending: bool) -> sa.Select:
    """The ids of the matching items in page order; add ``offset``/``limit``.

    Paging over ids alone lets the database skip rows inside an index that holds the sort key and the id
    (``ix_<table>_unit_price`` and friends, the partial low-stock index) without visiting skipped rows.
    """
    items = tables.items
    return sa.select(items.c.id).where(*conds).order_by(*order_by(tables, sort_by, descending))


def page_rows(tables: Tables, ids: sa.Select, sort_by: str, descending: bool) -> sa.Select:
    """Full rows (with status) of the items ``ids`` selects, in page order."""
    items = tables.items
    page = ids.subquery("page")
    return select_items(tables).join(page, items.c.id == page.c.id).order_by(*order_by(tables, sort_by, descending))


def stats_count(tables: Tables, filters: Filters) -> sa.Select | None:
    """How many items match, read from the maintained per-category totals; None when they cannot tell."""
    if (filters.search and filters.search.strip()) or filters.location:
        return None
    s = tables.stats
    items = s.c["items"]  # not ``s.c.items``: that is the column collection's own method
    if filters.status == "ok":
        counted = items - s.c.low_stock - s.c.out_of_stock
    else:
        counted = {None: items, "low": s.c.low_stock, "out": s.c.out_of_stock}[filters.status]
    stmt = sa.select(sa.func.coalesce(sa.func.sum(counted), 0))
    return stmt.where(s.c.category == filters.category) if filters.category else stmt


def summary_select(tables: Tables) -> sa.Select:
    """Items, units, value (cents), categories, low and out of stock, from the maintained per-category totals."""
    s = tables.stats
    per_category = (
        sa.select(s.c.category, *(sa.func.sum(s.c[c]).label(c) for c in STAT_FIELDS))
        .group_by(s.c.category)
        .subquery("per_category")
    )
    return sa.select(
        *(sa.func.coalesce(sa.func.sum(per_category.c[c]), 0).label(c) for c in STAT_FIELDS),
        sa.func.count(sa.case((per_category.c["items"] > 0, 1))).label("categories"),
    )


def category_totals_select(tables: Tables) -> sa.Select:
    """Per category with items: value (cents), items, units; most valuable first, from the maintained totals."""
    s = tables.stats
    value = sa.func.sum(s.c.value_cents).label("value_cents")
    return (
        sa.select(s.c.category, value, sa.func.sum(s.c["items"]).label("items"), sa.func.sum(s.c.units).label("units"))
        .group_by(s.c.category)
        .having(sa.func.sum(s.c["items"]) > 0)
        .order_by(value.desc(), s.c.category)
    )


def distinct_select(tables: Tables, column: str) -> sa.Select:
    """Sorted distinct non-null values of ``column`` without reading every item where an index allows.

    Categories come from the maintained totals (those with items); locations and suppliers by a loose index scan
    (one index probe per distinct value, a recursive query both SQLite and PostgreSQL run).
    """
    items = tables.items
    if column == "category":
        s = tables.stats
        return (
            sa.select(s.c.category).group_by(s.c.category).having(sa.func.sum(s.c["items"]) > 0).order_by(s.c.category)
        )
    if column not in ("location", "supplier"):
        raise ValueError(f"no value list for {column!r}")
    col = items.c[column]
    seen = sa.select(sa.func.min(col).label("value")).cte("seen", recursive=True)
    after = sa.select(sa.func.min(col)).where(col > seen.c.value).scalar_subquery()
    seen = seen.union_all(sa.select(after).where(seen.c.value.is_not(None)))
    return sa.select(seen.c.value).where(seen.c.value.is_not(None)).order_by(seen.c.value)
