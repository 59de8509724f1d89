"""The read models the service hands out: a ``Page`` of items and the columns of its rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

import pandas as pd
import sqlalchemy as sa

from ..fields import FIELD_NAMES
from ..storage.queries import FilterFields, Filters

ITEM_COLUMNS = ("id", *FIELD_NAMES, "version", "created_at", "created_by", "updated_at", "updated_by", "status")
# What the app passes as ``query(count_limit=…)``: a search counts at most this many matches (past the page shown).
SEARCH_COUNT_LIMIT = 1_000


class ItemFilters(TypedDict, total=False):
    """The keyword arguments that choose and order the items of ``to_frame`` and the exports (as ``query``).

    ``search``: text in the name, SKU, supplier or description (case-insensitive); ``category``, ``location``:
    exact values; ``status``: ``ok``, ``low`` or ``out``; ``sort_by``: a column of ``SORTABLE`` (default
    ``item_name``); ``descending``.
    """

    search: str | None
    category: str | None
    location: str | None
    status: str | None
    sort_by: str
    descending: bool


@dataclass(frozen=True)
class ItemSelection(FilterFields):
    """``ItemFilters`` as one value the service's reads and exports take (an unknown name is a ``TypeError``).

    The filters stay unchecked until ``filters`` is read: the service checks the person's permission first.
    """

    sort_by: str = "item_name"
    descending: Any = False  # checked by ``arguments.check_descending`` where it is used

    @property
    def filters(self) -> Filters:
        """The row filters (checked), without the order."""
        return Filters(self.search, self.category, self.location, self.status)


@dataclass
class Page:
    """One page of items: ``rows`` (a DataFrame of ``ITEM_COLUMNS``) and ``total`` matching the filters."""

    rows: pd.DataFrame
    total: int
    offset: int
    limit: int
    # (sort value, id) of the first and last row: ``query(after=page.last_key)`` is the next page and
    # ``query(before=page.first_key)`` the previous one, found by an index range scan however deep they are.
    first_key: tuple[Any, int] | None = None
    last_key: tuple[Any, int] | None = None
    # False when a search stopped counting (``query(count_limit=…)``): there are more than ``total`` matches.
    total_exact: bool = True


def items_frame(rows: list[sa.Row[Any]] | Any) -> pd.DataFrame:
    """Item rows as a DataFrame of ``ITEM_COLUMNS``."""
    # From tuples, in ITEM_COLUMNS order: four times quicker than from dicts plus a cast (a page is built on every
    # page flip). Prices are Decimal objects, so the column is of dtype object (as every column of an empty page).
    if rows and tuple(rows[0]._fields) != ITEM_COLUMNS:
        raise ValueError(f"item rows must have the columns {ITEM_COLUMNS}, got {rows[0]._fields}")
    return pd.DataFrame([tuple(r) for r in rows], columns=list(ITEM_COLUMNS))
