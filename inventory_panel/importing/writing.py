"""Writing checked rows in the import's one transaction: bulk inserts, upsert updates, movements, audit rows.

Inserts go through the DBAPI cursor of the transaction's own connection, skipping per-value ORM work:
PostgreSQL reads them with ``COPY … FROM STDIN`` (psycopg2 ``copy_expert``, text format), SQLite with one
``executemany`` per chunk. Values are put in storage form column-wise (money as integer cents on SQLite, exact
decimal text on PostgreSQL; the timestamp as ``UTCDateTime`` binds it), so what is stored is exactly what the
ORM path would store. Table names come from
``inv.db.tables`` (``POSTGRES_SCHEMA``/``POSTGRES_TABLE``) and are quoted by the dialect.

Every inserted item gets its own ``add`` audit row (the batch id, the values, the import as detail), written at the
end by one ``INSERT … SELECT`` from the items this transaction inserted: no per-row Python, and it covers COPY,
which returns no ids. Those items are found exactly: on SQLite every id above the largest one when the import's
write lock was taken; on PostgreSQL the rows stamped with the import's timestamp (an index range) that this
transaction wrote (``xmin``).

Imports into one table run one at a time on PostgreSQL (a transaction-level advisory lock, taken before the first
lookup): two imports locking and inserting overlapping skus in different orders would otherwise deadlock, and a
later import now sees the skus an earlier one added (and updates them) instead of failing on the unique index.
SQLite's write lock serializes them already.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import sqlalchemy as sa
from numpy.dtypes import StringDType

from ..errors import ConflictError, DatabaseUnavailableError
from ..fields import FIELD_BY_NAME
from ..storage.faults import database_fault
from ..storage.types import UTCDateTime, utcnow
from .validation import Column, take

if TYPE_CHECKING:
    from ..inventory import Inventory

LOOKUP_BATCH = 5_000
UPDATE_PAGE = 500
COPY_READ_SIZE = 1 << 20
COPY_NULL = "\\N"
COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))  # backslash first
SD = StringDType()
# SQLSTATEs of a transaction PostgreSQL rolled back to break a deadlock or a serialization conflict.
RETRYABLE_CODES = frozenset({"40P01", "40001"})
RETRY_MESSAGE = ("Another change was writing the same items at the same time, so the database stopped this import; "
                 "nothing was imported. Please import the file again.")


def money_text(column: Column, index: np.ndarray, empty: object = None) -> list[object]:
    """Cents of rows ``index`` as exact decimal text ("12.50"), ``empty`` for empty cells (PostgreSQL NUMERIC)."""
    cents = column.numbers[index]
    sign = np.where(cents < 0, "-", "").astype(SD)
    magnitude = np.abs(cents)
    text = np.strings.add(np.strings.add(np.strings.add(sign, (magnitude // 100).astype(SD)), "."),
                          np.strings.zfill((magnitude % 100).astype(SD), 2))
    data = np.array(text.tolist(), dtype=object)
    data[column.empty[index]] = empty
    return data.tolist()


def copy_escape(cells: list[str]) -> list[str]:
    """Backslash, tab, newline and carriage return escaped for COPY's text format (checked once per column)."""
    joined = "".join(cells)
    for char, escaped in COPY_ESCAPES:
        if char in joined:
            cells = list(map(str.replace, cells, repeat(char), repeat(escaped)))
    return cells


def copy_cells(column: Column, index: np.ndarray) -> list[str]:
    """Rows ``index`` of ``column`` in PostgreSQL's COPY text format: ``\\N`` when empty, text escaped."""
    if column.field.kind == "decimal":
        return money_text(column, index, COPY_NULL)
    if column.field.kind == "integer":
        cells = list(map(str, column.numbers[index].tolist()))
    else:
        cells = copy_escape(take(column.text, index))
    data = np.array(cells, dtype=object)
    data[column.empty[index]] = COPY_NULL
    return data.tolist()


class Writer:
    """Database side of one import: looks items up by sku and writes rows, all on ``conn``."""

    def __init__(self, inv: Inventory, conn: sa.Connection, fields: list[str], batch_id: str, reason: str,
                 *, lock: bool):
        self.inv = inv
        self.conn = conn
        self.fields = fields
        self.batch_id = batch_id
        self.reason = reason
        self.lock = lock
        self.items = inv.t.items
        self.postgres = conn.dialect.name == "postgresql"
        self.first_id = 0  # SQLite: every item id above this one was inserted by this import
        if lock:
            self._serialize()
        self.now = utcnow()  # after the lock: later than the stamp of any import that committed before this one
        self.actor = inv.user.name
        quote = conn.dialect.identifier_preparer
        self.table = quote.format_table(self.items)
        self.columns = [*fields, "version", "created_at", "created_by", "updated_at", "updated_by"]
        self.quoted = ", ".join(quote.quote(c) for c in self.columns)
        # The timestamp exactly as UTCDateTime binds it on this dialect (text on SQLite), computed once.
        stamp = self.items.c.created_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        self.stamp = self.now.isoformat() if self.postgres or stamp is None else stamp(self.now)
        actor = copy_escape([self.actor])[0]
        self.copy_suffix = "\t".join(["1", self.stamp, actor, self.stamp, actor])  # the same on every COPY row
        self._quote = quote.quote

    def _serialize(self) -> None:
        """Wait for any other import into this table to end (PostgreSQL); note where new ids start (SQLite)."""
        if self.postgres:
            name = f"{self.items.schema}.{self.items.name}".encode()
            key = int.from_bytes(hashlib.blake2b(b"inventory-import:" + name, digest_size=8).digest(), "big",
                                 signed=True)
            self.conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
        else:  # the transaction holds SQLite's write lock (BEGIN IMMEDIATE): nobody else inserts until it ends
            self.first_id = int(self.conn.execute(sa.select(sa.func.max(self.items.c.id))).scalar() or 0)

    def existing(self, skus: list[str], *, full: bool) -> dict[str, dict[str, Any]]:
        """Items whose sku is in ``skus``: their id, version and fields when ``full`` (locked on PostgreSQL)."""
        c = self.items.c
        columns = [c.sku, c.id, c.version, *(c[f] for f in self.fields if f != "sku")] if full else [c.sku]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(skus), LOOKUP_BATCH):
            stmt = sa.select(*columns).where(c.sku.in_(skus[start:start + LOOKUP_BATCH]))
            if full and self.lock and self.postgres:
                # In sku order, so that any other transaction locking several of these rows meets them in the
                # same order (concurrent imports are serialized anyway).
                stmt = stmt.order_by(c.sku).with_for_update()
            found.update((row.sku, dict(row._mapping)) for row in self.conn.execute(stmt))
        return found

    def insert(self, columns: dict[str, Column], index: np.ndarray) -> None:
        """Insert rows ``index`` of the checked ``columns`` (one per field the file has)."""
        with self._cursor() as cur:
            if self.postgres:
                # COPY's text format, built with C-level joins: several times cheaper than a csv writer.
                cells = [copy_cells(columns[f], index) for f in self.fields]
                payload = "\n".join(map("\t".join, zip(*cells, repeat(self.copy_suffix), strict=False))) + "\n"
                cur.copy_expert(f"COPY {self.table} ({self.quoted}) FROM STDIN", io.StringIO(payload),
                                size=COPY_READ_SIZE)
            else:
                rows = zip(*(columns[f].values(index) for f in self.fields), repeat(1), repeat(self.stamp),
                           repeat(self.actor), repeat(self.stamp), repeat(self.actor), strict=False)
                marks = ", ".join("?" * len(self.columns))
                cur.executemany(f"INSERT INTO {self.table} ({self.quoted}) VALUES ({marks})", rows)

    def update(self, ids: list[int], columns: dict[str, Column], index: np.ndarray) -> None:
        """Set the fields the file has (sku excepted: it is the match key) of items ``ids`` from rows ``index``."""
        names = [f for f in self.fields if f != "sku"]
        mark = "%s" if self.postgres else "?"
        assignments = ", ".join(f"{self._quote(f)} = {mark}" for f in names)
        sql = (f"UPDATE {self.table} SET {assignments}, version = version + 1, updated_at = {mark}, "
               f"updated_by = {mark} WHERE id = {mark}")
        values = [money_text(columns[f], index) if self.postgres and columns[f].field.kind == "decimal"
                  else columns[f].values(index) for f in names]
        rows = list(zip(*values, repeat(self.stamp), repeat(self.actor), ids, strict=False))
        with self._cursor() as cur:
            if self.postgres:
                from psycopg2.extras import execute_batch

                execute_batch(cur, sql, rows, page_size=UPDATE_PAGE)
            else:
                cur.executemany(sql, rows)

    def movements(self, item_ids: list[int], deltas: list[int], after: list[int]) -> None:
        """Stock movements of kind ``import`` for quantities an upsert changed."""
        if item_ids:
            self.conn.execute(self.inv.t.movements.insert(), [
                {"item_id": i, "delta": d, "quantity_after": q, "kind": "import", "reason": self.reason,
                 "actor": self.actor, "at": self.now, "batch_id": self.batch_id}
                for i, d, q in zip(item_ids, deltas, after, strict=True)])

    def audit_updates(self, item_ids: list[int], changes: list[dict[str, list[Any]]]) -> None:
        """One ``update`` audit row per changed item, old -> new per changed field, tagged with the batch."""
        if item_ids:
            self.conn.execute(self.inv.t.audit.insert(), [
                {"at": self.now, "actor": self.actor, "action": "update", "item_id": i,
                 "changes": json.dumps(c, default=_json_value, ensure_ascii=False), "batch_id": self.batch_id,
                 "detail": self.reason}
                for i, c in zip(item_ids, changes, strict=True)])

    def audit_inserts(self) -> None:
        """One ``add`` audit row per item this import inserted, as ``Inventory.add`` writes it: every given field
        as ``[null, value]`` (money as exact text), tagged with the batch id and the import as detail. One
        ``INSERT … SELECT``.

        The JSON is concatenated text (each value quoted by the database's JSON function, an empty field adding
        nothing): a quarter of the time ``json_build_object`` + ``json_strip_nulls`` took on PostgreSQL.
        """
        items = self.items
        members: Any = sa.literal("", sa.Text())
        for name in self.fields:
            member = sa.literal(f',"{name}":[null,', sa.Text()) + self._json_value(name) + sa.literal("]", sa.Text())
            members = members + sa.case((self.items.c[name].is_(None), ""), else_=member)  # empty: nothing
        changes = sa.literal("{", sa.Text()) + sa.func.substr(members, 2) + sa.literal("}", sa.Text())
        if self.postgres:
            stamp = sa.literal(self.now, UTCDateTime())
            mine = [items.c.updated_at == stamp, items.c.created_at == stamp,
                    sa.text("xmin = pg_current_xact_id()::xid")]
        else:
            mine = [items.c.id > self.first_id]
        rows = sa.select(sa.literal(self.now, UTCDateTime()), sa.literal(self.actor), sa.literal("add"), items.c.id,
                         changes, sa.literal(self.batch_id), sa.literal(self.reason)).where(
            *mine, items.c.created_by == self.actor)
        self.conn.execute(self.inv.t.audit.insert().from_select(
            ["at", "actor", "action", "item_id", "changes", "batch_id", "detail"], rows))

    def _json_value(self, name: str) -> sa.ColumnElement[str]:
        """Field ``name`` of the item as JSON text: a number, or a quoted string (money as exact decimal text)."""
        column = self.items.c[name]
        kind = FIELD_BY_NAME[name].kind
        if kind == "integer":
            return sa.cast(column, sa.Text())
        text = column if kind == "text" else sa.cast(column, sa.Text()) if self.postgres else _cents_text(column)
        if self.postgres:
            return sa.cast(sa.func.to_json(sa.cast(text, sa.Text())), sa.Text())
        return sa.func.json_quote(text)

    def audit_batch(self, counts: dict[str, Any]) -> None:
        self.inv.record_audit(self.conn, "import", batch_id=self.batch_id,
                              detail=json.dumps(counts, ensure_ascii=False))

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        dbapi = self.conn.dialect.dbapi
        cursor = self.conn.connection.dbapi_connection.cursor()
        try:
            yield cursor
        except dbapi.IntegrityError as exc:
            # Lookups ran in this transaction, so only a concurrent writer can make a sku clash here.
            raise ConflictError("Another change added an item with one of this file's SKUs while it was being "
                                "imported; nothing was imported. Please import the file again.") from exc
        except (dbapi.OperationalError, dbapi.InterfaceError, dbapi.InternalError) as exc:
            fault = database_fault(exc)  # a full or read-only database: say so, not "connection lost"
            if fault is not None:
                raise fault from exc
            if not self.postgres or isinstance(exc, dbapi.InternalError):
                raise
            if getattr(exc, "pgcode", None) in RETRYABLE_CODES:
                raise ConflictError(RETRY_MESSAGE) from exc
            raise DatabaseUnavailableError(
                "The database connection was lost during the import; nothing was saved. Please try again.") from exc
        finally:
            cursor.close()


def _cents_text(cents: sa.ColumnElement[Any]) -> sa.ColumnElement[str]:
    """SQLite: integer cents (money's storage form there) as exact decimal text, "24.90"; prices are never negative."""
    raw = sa.type_coerce(cents, sa.Integer())
    return sa.func.printf("%d.%02d", raw / 100, raw % 100)


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value
