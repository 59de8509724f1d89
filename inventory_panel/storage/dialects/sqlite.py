"""SQLite: no row locks (``BEGIN IMMEDIATE`` serializes writers), no substring index or planner statistics (the
search planner below), money as integer cents, ``?`` parameters, ``executemany`` for bulk writes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import sqlalchemy as sa

from ..tables import Tables
from .base import SEARCH_FIELDS, Backend, BulkTarget, CheckedColumn

SEARCH_SAMPLE = 2_000  # matches a search collects before it trusts the sort index (a bound list)


def _cents_text(cents: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """Integer cents (money's storage form here) as exact decimal text, "24.90"; prices are never negative."""
    raw = sa.type_coerce(cents, sa.Integer())
    return sa.func.printf("%d.%02d", raw / 100, raw % 100)


class SqliteBackend(Backend):
    name = "sqlite"
    nulls_first = True

    def search_match(self, tables: Tables, pattern: str) -> sa.ColumnElement[bool]:
        """No substring index here; SQLite's LIKE is already case-insensitive exactly as far as its ``lower()`` is
        (ASCII), so plain LIKE per field spares a ``lower()`` copy of every field of every row."""
        items = tables.items
        return sa.or_(*(items.c[c].like(pattern, escape="\\") for c in SEARCH_FIELDS))

    def search_sample(self, reach: int) -> int:
        """How many matches a search collects before it trusts the sort index (``Backend.search_plan``): SQLite has
        no index for substrings and no statistics to choose.

        Walking the sort index checks rows in sort order, one random read each: quick when matches are dense,
        ruinous (every row read at random) when they are rare. So one table scan collects the first matches first.
        """
        return min(8 * reach, SEARCH_SAMPLE)

    row_totals = True

    def secondary_indexes(self, conn: sa.Connection, items: sa.Table) -> list[tuple[str, str]]:
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL "
            "AND upper(sql) NOT LIKE 'CREATE UNIQUE%' ORDER BY name",
            (items.name,),
        )
        return [(name, sql) for name, sql in rows]

    def serialize_import(self, conn: sa.Connection, items: sa.Table) -> int:
        # The transaction holds SQLite's write lock (BEGIN IMMEDIATE): nobody else inserts until it ends, so every
        # id above the largest one now is this import's.
        return int(conn.execute(sa.select(sa.func.max(items.c.id))).scalar() or 0)

    def import_stamp(self, conn: sa.Connection, items: sa.Table, now: datetime) -> str:
        bind = items.c.created_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        return now.isoformat() if bind is None else str(bind(now))

    def insert_rows(
        self, cursor: Any, target: BulkTarget, columns: Mapping[str, CheckedColumn], index: np.ndarray
    ) -> None:
        rows = zip(
            *(columns[f].values(index) for f in target.fields),
            repeat(1),
            repeat(target.stamp),
            repeat(target.actor),
            repeat(target.stamp),
            repeat(target.actor),
            strict=False,
        )
        marks = ", ".join("?" * len(target.columns))
        cursor.executemany(f"INSERT INTO {target.table} ({target.quoted}) VALUES ({marks})", rows)

    def execute_updates(self, cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        cursor.executemany(sql, rows)

    def inserted_now(
        self, items: sa.Table, now: datetime, first_id: int
    ) -> list[sa.ColumnElement[bool] | sa.TextClause]:
        return [items.c.id > first_id]

    def json_text(self, column: sa.ColumnElement[Any], kind: str) -> sa.ColumnElement[str]:
        return sa.func.json_quote(column if kind == "text" else _cents_text(column))
