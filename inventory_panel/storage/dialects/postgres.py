"""PostgreSQL (and Lakebase): row locks, reads without a transaction, LISTEN/NOTIFY, an advisory lock that makes
imports into one table take turns, ``COPY … FROM STDIN`` for bulk inserts, money as exact NUMERIC text.

Inserts go through the DBAPI cursor in COPY's text format (psycopg2 ``copy_expert``), built column-wise with C-level
joins: several times cheaper than a csv writer and than per-value ORM work. The items an import inserted are found
again exactly, for their audit rows, as the rows stamped with the import's timestamp (an index range) that this
transaction wrote (``xmin``): COPY returns no ids.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from itertools import repeat
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import sqlalchemy as sa
from numpy.dtypes import StringDType

from ...errors import ConflictError, DatabaseUnavailableError, InventoryError
from ..faults import RETRY_MESSAGE, RETRYABLE_CODES
from ..tables import SEARCH_DOCUMENT_SQL, SEARCH_VECTOR_SQL, Tables
from ..types import UTCDateTime
from .base import Backend, BulkTarget, CheckedColumn, pick

if TYPE_CHECKING:
    from ..engines import Database
    from ..notify import PostgresChangeListener

log = logging.getLogger(__name__)

UPDATE_PAGE = 500
COPY_READ_SIZE = 1 << 20
COPY_NULL = "\\N"
COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))  # backslash first
SD = StringDType()
# A word search: ASCII letters and digits, single spaces between words, a letter first. Within ASCII, Python's
# lower() and the server's agree, and every such word is one token of the server's parser, as in the document. A
# number first is searched by substring: digits are typed from inside a token ("123" of "#0000123") far more often
# than letters from inside a word.
# Matches a search collects in one statement (``Backend.search_plan``): the app's count cap (``count_limit``), so the
# statement costs what the capped count did, and a search with more matches pages as before. Measured at 1,000,000
# items: 5,000 made the common word 'drill' slower (73 -> 108 ms p50: 4,000 more rows checked) and the phrase
# "Drill Cable" too (78 -> 150 ms: the planner pages its 3,070 ids by walking the name index, 47 ms).
SEARCH_SAMPLE = 1_000
WORD_SEARCH = re.compile(r"[A-Za-z][A-Za-z0-9]*(?: [A-Za-z0-9]+)*")


def money_text(column: CheckedColumn, index: np.ndarray, empty: object = None) -> list[object]:
    """Cents of rows ``index`` as exact decimal text ("12.50"), ``empty`` for empty cells (PostgreSQL NUMERIC)."""
    assert column.numbers is not None  # a checked money column holds its cents
    cents = column.numbers[index]
    sign = np.where(cents < 0, "-", "").astype(SD)
    magnitude = np.abs(cents)
    text = np.strings.add(
        np.strings.add(np.strings.add(sign, (magnitude // 100).astype(SD)), "."),
        np.strings.zfill((magnitude % 100).astype(SD), 2),
    )
    data = np.array(text.tolist(), dtype=object)
    data[column.empty[index]] = empty
    return cast(list[object], data.tolist())


def copy_escape(cells: list[str]) -> list[str]:
    """Backslash, tab, newline and carriage return escaped for COPY's text format (checked once per column)."""
    joined = "".join(cells)
    for char, escaped in COPY_ESCAPES:
        if char in joined:
            cells = list(map(str.replace, cells, repeat(char), repeat(escaped)))
    return cells


def copy_cells(column: CheckedColumn, index: np.ndarray) -> list[str]:
    """Rows ``index`` of ``column`` in PostgreSQL's COPY text format: ``\\N`` when empty, text escaped."""
    if column.field.kind == "decimal":
        return cast(list[str], money_text(column, index, COPY_NULL))  # text or COPY_NULL
    if column.field.kind == "integer":
        assert column.numbers is not None
        cells = list(map(str, column.numbers[index].tolist()))
    else:
        cells = copy_escape(pick(column.text, index))
    data = np.array(cells, dtype=object)
    data[column.empty[index]] = COPY_NULL
    return cast(list[str], data.tolist())


class PostgresBackend(Backend):
    name = "postgresql"
    nulls_first = False

    def search_match(self, tables: Tables, pattern: str) -> sa.ColumnElement[bool]:
        """One ILIKE per row on the search document (the fields joined by a control character, which neither a field
        nor a search can contain, so a match never spans two fields): the very expression the ``pg_trgm`` GIN index
        of migration 0002 indexes."""
        return sa.literal_column(f"({SEARCH_DOCUMENT_SQL})", sa.Text()).ilike(pattern, escape="\\")

    def word_match(self, tables: Tables, text: str) -> sa.ColumnElement[bool] | None:
        """The words through the GIN index of migration 0005 (the last word as a prefix: it may be typed in part,
        the first one whole: a match that starts inside a word is the limit of this plan), then the phrase as a
        case-insensitive substring of the document, so "drill cable" does not find "Cable Drill".

        The substring check is ``strpos(lower(…))``, which is ILIKE's case folding (lower()) without a pattern:
        written as ILIKE, the trigram index of 0002 would match it too and the planner may add that index's far
        longer posting lists for every trigram of the phrase."""
        if not WORD_SEARCH.fullmatch(text):
            return None
        words = text.lower().split(" ")
        query = " & ".join([*words[:-1], f"{words[-1]}:*"])
        vector: sa.ColumnElement[Any] = sa.literal_column(f"({SEARCH_VECTOR_SQL})")
        document = sa.literal_column(f"({SEARCH_DOCUMENT_SQL})", sa.Text())
        found = vector.op("@@")(sa.func.to_tsquery(sa.literal_column("'simple'::regconfig"), query))
        return sa.and_(found, sa.func.strpos(sa.func.lower(document), text.lower()) > 0)

    def search_sample(self, reach: int) -> int:
        """Every search first collects up to ``SEARCH_SAMPLE`` matching ids in one statement, in place of the
        capped count.

        A word search reads the word index's posting lists in full before the first row comes back (a bitmap scan:
        about 25 ms for two common words at 1,000,000 items), and so does a trigram search; counting and then paging
        read them twice. With all matches in hand (a rare term, a precise phrase) the page is read by their ids;
        with more, the count is known to pass the app's cap, and the page walks the sort index as before. Without
        ``pg_trgm`` a rare substring reads the table once instead of twice (1,755 -> 702 ms p50 at 1,000,000)."""
        return max(SEARCH_SAMPLE, reach)

    def statements(self, conn: sa.Connection) -> sa.Connection:
        # What READ COMMITTED gives anyway, minus the BEGIN and ROLLBACK round trips (a page flip is a few
        # milliseconds of SQL; two more round trips to a remote Lakebase are a good part of it).
        return conn.execution_options(isolation_level="AUTOCOMMIT")

    def lock_rows(self, stmt: sa.Select) -> sa.Select:
        return stmt.with_for_update()

    def change_listener(self, db: Database, token: Callable[[], int]) -> PostgresChangeListener:
        from ..notify import PostgresChangeListener

        return PostgresChangeListener(db, token)

    def before_bulk_commit(self, conn: sa.Connection) -> None:
        # VACUUM marks a page all-visible only once the commit of its rows is on disk: after an asynchronous commit
        # (a server or role with synchronous_commit off) the VACUUM that follows would leave every new page out of
        # the visibility map, and index-only scans would visit the heap for each row.
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO on")

    def after_bulk_load(self, engine: sa.Engine, items: sa.Table) -> None:
        """``VACUUM (ANALYZE)`` the items: a visibility map that covers the new rows, so that a page deep in a sort is
        an index-only scan of the (key, id) index (a jump to offset 500,000 of 1,000,000 items: 1.3 s with the heap
        visited for each row, 0.09 s without), and statistics for the new rows' values (the search plans depend on
        them). Autovacuum would get there too, a minute or more later. VACUUM skips pages that are all-visible
        already, so it costs about what the import added. A role that does not own the table gets a warning from
        the server, not an error; any other failure is logged and the committed import stands."""
        quote = engine.dialect.identifier_preparer
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {quote.format_table(items)}")
        except sa.exc.DBAPIError as exc:
            log.warning("could not VACUUM %s after an import (reads stay correct, maybe slower): %s", items.name, exc)

    def secondary_indexes(self, conn: sa.Connection, items: sa.Table) -> list[tuple[str, str]]:
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
                "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
                "WHERE n.nspname = :schema AND t.relname = :table AND NOT x.indisunique AND NOT x.indisprimary "
                "ORDER BY 1"
            ),
            {"schema": items.schema, "table": items.name},
        )
        return [(name, ddl) for name, ddl in rows]

    def serialize_import(self, conn: sa.Connection, items: sa.Table) -> int:
        # A transaction-level advisory lock, taken before the first lookup: two imports locking and inserting
        # overlapping skus in different orders would otherwise deadlock, and a later import now sees the skus an
        # earlier one added (and updates them) instead of failing on the unique index.
        name = f"{items.schema}.{items.name}".encode()
        key = int.from_bytes(hashlib.blake2b(b"inventory-import:" + name, digest_size=8).digest(), "big", signed=True)
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
        return 0

    def lock_skus(self, stmt: sa.Select, sku: sa.ColumnElement[Any]) -> sa.Select:
        # In sku order, so that any other transaction locking several of these rows meets them in the same order.
        return stmt.order_by(sku).with_for_update()

    def import_stamp(self, conn: sa.Connection, items: sa.Table, now: datetime) -> str:
        return now.isoformat()

    def insert_rows(
        self, cursor: Any, target: BulkTarget, columns: Mapping[str, CheckedColumn], index: np.ndarray
    ) -> None:
        actor = copy_escape([target.actor])[0]
        suffix = "\t".join(["1", target.stamp, actor, target.stamp, actor])  # the same on every row
        cells = [copy_cells(columns[f], index) for f in target.fields]
        payload = "\n".join(map("\t".join, zip(*cells, repeat(suffix), strict=False))) + "\n"
        cursor.copy_expert(
            f"COPY {target.table} ({target.quoted}) FROM STDIN", io.StringIO(payload), size=COPY_READ_SIZE
        )

    param_mark = "%s"

    def update_values(self, column: CheckedColumn, index: np.ndarray) -> Any:
        return money_text(column, index) if column.field.kind == "decimal" else column.values(index)

    def execute_updates(self, cursor: Any, sql: str, rows: list[tuple[Any, ...]]) -> None:
        from psycopg2.extras import execute_batch

        execute_batch(cursor, sql, rows, page_size=UPDATE_PAGE)

    def inserted_now(
        self, items: sa.Table, now: datetime, first_id: int
    ) -> list[sa.ColumnElement[bool] | sa.TextClause]:
        stamp = sa.literal(now, UTCDateTime())
        return [items.c.updated_at == stamp, items.c.created_at == stamp, sa.text("xmin = pg_current_xact_id()::xid")]

    def json_text(self, column: sa.ColumnElement[Any], kind: str) -> sa.ColumnElement[str]:
        return sa.cast(sa.func.to_json(sa.cast(column, sa.Text())), sa.Text())

    def cursor_fault(self, exc: Exception, dbapi: Any) -> InventoryError | None:
        if isinstance(exc, dbapi.InternalError):
            return None
        if getattr(exc, "pgcode", None) in RETRYABLE_CODES:
            return ConflictError(RETRY_MESSAGE)
        return DatabaseUnavailableError(
            "The database connection was lost during the import; nothing was saved. Please try again."
        )
