"""The interface every backend implements (``sqlite.py``, ``postgres.py``): reads, locks, search planning, change
notification and the import's bulk writes, the only places where SQLite and PostgreSQL are treated differently."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import repeat
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import sqlalchemy as sa

from ...errors import InventoryError
from ...fields import Field, search_fields
from ..tables import Tables

if TYPE_CHECKING:
    from ..engines import Database
    from ..notify import PostgresChangeListener


# The searched fields (``Display.search_order``), which every backend matches a search against.
SEARCH_FIELDS = tuple(f.name for f in search_fields())


class CheckedColumn(Protocol):
    """One field's checked cells, as the import hands them over (``importing.validation.Column`` is one)."""

    field: Field
    text: list[str]
    empty: np.ndarray
    numbers: np.ndarray | None

    def values(self, index: np.ndarray | None = None) -> list[object]: ...


@dataclass(frozen=True)
class BulkTarget:
    """Where and as whom an import's rows go: the quoted table and columns, the stamp as bound, the actor."""

    table: str  # quoted by the dialect
    fields: list[str]  # the fields the source has, in FIELD_NAMES order
    columns: list[str]  # fields + version and the four stamp columns
    quoted: str  # the columns, quoted and joined
    stamp: str  # the import's timestamp exactly as ``UTCDateTime`` binds it on this dialect
    actor: str
    quote: Callable[[str], str]  # the dialect's identifier quoting


def pick(values: list[str], index: np.ndarray) -> list[str]:
    """``values[i] for i in index`` as a list (``values`` itself when every row is taken; indexes are sorted)."""
    if len(index) == len(values):
        return values
    if len(index) < 2:
        return [values[i] for i in index.tolist()]
    return list(itemgetter(*index.tolist())(values))  # picked at C speed


def count_select(tables: Tables, conds: list[sa.ColumnElement[bool]], cap: int | None) -> sa.Select:
    """Count the matching items; with ``cap``, stop after ``cap + 1`` (enough to know there are more)."""
    if cap is None:
        return sa.select(sa.func.count()).select_from(tables.items).where(*conds)
    capped = sa.select(sa.literal(1)).select_from(tables.items).where(*conds).limit(cap + 1).subquery()
    return sa.select(sa.func.count()).select_from(capped)


class Backend(ABC):
    """One database backend. Stateless: one instance serves every engine of its dialect."""

    name: str
    nulls_first: bool  # where NULLs sort in an ascending order (and last in a descending one)

    # -- reading --------------------------------------------------------------------------------------------------

    @abstractmethod
    def search_match(self, tables: Tables, pattern: str) -> sa.ColumnElement[bool]:
        """Items with a searched field (``SEARCH_FIELDS``) LIKE ``pattern`` (escaped with a backslash), ignoring
        case as far as this backend can, as its indexes serve it best."""

    def word_match(self, tables: Tables, text: str) -> sa.ColumnElement[bool] | None:
        """Items with ``text`` in a searched field found through a word index, where this backend has one and
        ``text`` is a word search (words and single spaces); None: search by substring (``search_match``).

        The same rows as the substring search wherever the match begins a word (a search box's usual sense); a
        search that finds nothing this way is repeated by substring (``queries.resolved_where``), so a fragment from
        inside a word still finds it."""
        return None

    def statements(self, conn: sa.Connection) -> sa.Connection:
        """``conn`` running each statement on its own, with no transaction around them where that saves round trips
        (``UnitOfWork.reading(statements=True)``)."""
        return conn

    def lock_rows(self, stmt: sa.Select) -> sa.Select:
        """``stmt`` locking the rows it reads until the transaction ends (where the backend locks rows)."""
        return stmt

    def search_plan(
        self,
        conn: sa.Connection,
        tables: Tables,
        conds: list[sa.ColumnElement[bool]],
        reach: int,
        cap: int | None,
    ) -> tuple[int, list[int] | None] | None:
        """Total of a search, and the ids of all its matches when one statement found them all, when this backend
        plans searches itself (``search_sample``); None: count as for any filter.

        One scan collects the first matches: when it ends with few of them (a rare term), they are all there is and
        the page is sorted from them alone, without the search condition; when it stops early with many, the page
        walks the sort index, and the count is read only if the cap (``count_limit``) is above the sample.
        """
        few = self.search_sample(reach)
        if few is None:
            return None
        found = conn.execute(sa.select(tables.items.c.id).where(*conds).limit(few + 1)).scalars().all()
        if len(found) <= few:
            return len(found), list(found)
        if cap is not None and few >= cap:
            return cap + 1, None  # more than the cap: all a capped count would say
        total = conn.execute(count_select(tables, conds, cap)).scalar_one()
        return int(total), None

    def search_sample(self, reach: int) -> int | None:
        """How many matches ``search_plan`` collects for a page reaching ``reach`` rows; None: this backend does not
        plan searches itself."""
        return None

    def change_listener(self, db: Database, token: Callable[[], int]) -> PostgresChangeListener | None:
        """A source that blocks until another process announces a change, or None where ``token`` is polled."""
        return None

    # -- the import's bulk writes -------------------------------------------------------------------------------------

    # The per-category totals come from row triggers, which the bulk writer switches off for its inserts and
    # replaces with one aggregate per chunk (``storage.bulk.ItemWriter.insert``); False: statement triggers.
    row_totals = False

    def before_bulk_commit(self, conn: sa.Connection) -> None:
        """The last statement of an import that wrote many rows (``storage.bulk.MAINTAIN_AFTER_ROWS``); none here."""
        return None

    def after_bulk_load(self, engine: sa.Engine, items: sa.Table) -> None:
        """After an import that wrote many rows committed: what keeps reads fast (statistics, visibility). SQLite
        has no visibility map, and its planner reads no statistics the app gathers: nothing here."""
        return None

    @abstractmethod
    def secondary_indexes(self, conn: sa.Connection, items: sa.Table) -> list[tuple[str, str]]:
        """Name and exact DDL of every index of ``items`` but the primary key and the unique ones (which the import's
        own lookups and checks need while it loads)."""

    @abstractmethod
    def serialize_import(self, conn: sa.Connection, items: sa.Table) -> int:
        """Wait for any other import into ``items`` to end; return the largest id before this import where new ids are
        known to be above it (else 0)."""

    def lock_skus(self, stmt: sa.Select, sku: sa.ColumnElement[Any]) -> sa.Select:
        """The upsert's lookup ``stmt`` locking the matched items (in sku order, so lockers never cross)."""
        return stmt

    @abstractmethod
    def import_stamp(self, conn: sa.Connection, items: sa.Table, now: datetime) -> str:
        """``now`` exactly as the ``UTCDateTime`` columns bind it on this dialect."""

    @abstractmethod
    def insert_rows(
        self, cursor: Any, target: BulkTarget, columns: Mapping[str, CheckedColumn], index: np.ndarray
    ) -> None:
        """Insert rows ``index`` of ``columns`` on the DBAPI ``cursor``."""

    # The DBAPI driver's parameter marker in the bulk update (sqlite3 "?", psycopg2 "%s").
    param_mark = "?"

    def update_rows(
        self,
        cursor: Any,
        target: BulkTarget,
        names: list[str],
        columns: Mapping[str, CheckedColumn],
        index: np.ndarray,
        ids: Sequence[int],
    ) -> None:
        """Set fields ``names`` of items ``ids`` from rows ``index``; version + 1, stamped."""
        m = self.param_mark
        assignments = ", ".join(f"{target.quote(f)} = {m}" for f in names)
        sql = (
            f"UPDATE {target.table} SET {assignments}, version = version + 1, updated_at = {m}, updated_by = {m} "
            f"WHERE id = {m}"
        )
        values = [self.update_values(columns[f], index) for f in names]
        self.execute_updates(
            cursor, sql, list(zip(*values, repeat(target.stamp), repeat(target.actor), ids, strict=False))
        )

    def update_values(self, column: CheckedColumn, index: np.ndarray) -> Any:
        """Rows ``index`` of one checked column as the driver binds them in ``update_rows``."""
        return column.values(index)

    @abstractmethod
    def execute_updates(self, cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Run ``update_rows``'s statement once per row of parameters on the DBAPI ``cursor``."""

    @abstractmethod
    def inserted_now(
        self, items: sa.Table, now: datetime, first_id: int
    ) -> list[sa.ColumnElement[bool] | sa.TextClause]:
        """Conditions that find exactly the items this import's transaction inserted."""

    @abstractmethod
    def json_text(self, column: sa.ColumnElement[Any], kind: str) -> sa.ColumnElement[str]:
        """A text or money column of items as JSON text (a quoted string; money as exact decimal text)."""

    def cursor_fault(self, exc: Exception, dbapi: Any) -> InventoryError | None:
        """The typed error for a driver error on the import's raw cursor (beyond a full or read-only database)."""
        return None
