"""The database side of an import (the ``importing.writing`` port, implemented): sku lookups, bulk inserts and
updates, stock movements and audit rows, all in the import's one transaction of the unit of work.

Values arrive column-wise in storage form (money as integer cents) and go through the DBAPI cursor of the
transaction's own connection, skipping per-value ORM work; how is the backend's (``dialects``). Table names come from
the database's ``Tables`` (``POSTGRES_SCHEMA``/``POSTGRES_TABLE``) and are quoted by the dialect.

Every inserted item gets its own ``add`` audit row (the batch id, the values, the import as detail), written at the
end by one ``INSERT … SELECT`` from the items this transaction inserted (``Backend.inserted_now``): no per-row Python,
and it covers COPY, which returns no ids.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from .. import stock_status
from ..errors import ConflictError
from ..fields import FIELD_BY_NAME
from .dialects import Backend, BulkTarget, CheckedColumn
from .faults import RETRY_MESSAGE, database_fault, is_retryable
from .types import utcnow
from .unit_of_work import UnitOfWork

LOOKUP_BATCH = 5_000
# An import that inserts or updates at least this many rows leaves the database as a bulk load should: statistics
# and visibility map current (``Backend.after_bulk_load``; PostgreSQL's VACUUM (ANALYZE)). Smaller ones are left to
# autovacuum, as every other write is.
MAINTAIN_AFTER_ROWS = 10_000
# The category of the marker row that makes SQLite's insert trigger leave the totals to this writer (migration 0004:
# ``char(31)``, which no category can contain).
WRITER_MARK = "\x1f"


class ItemWriter:
    """Looks items up by sku and writes an import's rows, all on ``conn`` (one transaction)."""

    def __init__(
        self, uow: UnitOfWork, conn: sa.Connection, fields: list[str], batch_id: str, reason: str, *, lock: bool
    ):
        self.conn = conn
        self.backend: Backend = uow.backend
        self.audit = uow.audit
        self.tables = uow.tables
        self.items = uow.tables.items
        self.fields = fields
        self.batch_id = batch_id
        self.reason = reason
        self.lock = lock
        self.written = 0  # rows inserted or updated so far
        # Imports into one table take turns (PostgreSQL); where new ids start (SQLite).
        self.first_id = self.backend.serialize_import(conn, self.items) if lock else 0
        self.now = utcnow()  # after the lock: later than the stamp of any import that committed before this one
        quote = conn.dialect.identifier_preparer
        columns = [*fields, "version", "created_at", "created_by", "updated_at", "updated_by"]
        self.target = BulkTarget(
            table=quote.format_table(self.items),
            fields=fields,
            columns=columns,
            quoted=", ".join(quote.quote(c) for c in columns),
            stamp=self.backend.import_stamp(conn, self.items, self.now),
            actor=uow.audit.actor,
            quote=quote.quote,
        )

    def existing(self, skus: list[str], *, full: bool) -> dict[str, dict[str, Any]]:
        """Items whose sku is in ``skus``: their id, version and fields when ``full`` (locked where rows lock)."""
        c = self.items.c
        columns = [c.sku, c.id, c.version, *(c[f] for f in self.fields if f != "sku")] if full else [c.sku]
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(skus), LOOKUP_BATCH):
            stmt = sa.select(*columns).where(c.sku.in_(skus[start : start + LOOKUP_BATCH]))
            if full and self.lock:
                stmt = self.backend.lock_skus(stmt, c.sku)
            found.update((row.sku, dict(row._mapping)) for row in self.conn.execute(stmt))
        return found

    def insert(self, columns: Mapping[str, CheckedColumn], index: np.ndarray) -> None:
        """Insert rows ``index`` of the checked ``columns`` (one per field the source has).

        Where the database's totals come from row triggers (``Backend.row_totals``: SQLite), the marker row turns the
        insert trigger off for this chunk and one aggregate over the chunk's new ids adds its totals instead.
        """
        stats = self.tables.stats
        before = 0
        if self.backend.row_totals:
            before = self.conn.execute(sa.select(sa.func.coalesce(sa.func.max(self.items.c.id), 0))).scalar_one()
            mark = {"category": WRITER_MARK, **dict.fromkeys(("items", "units", "value_cents", "low_stock"), 0)}
            self.conn.execute(stats.insert().values(**mark, out_of_stock=0))
        with self._cursor() as cur:
            self.backend.insert_rows(cur, self.target, columns, index)
        self.written += len(index)
        if self.backend.row_totals:
            self.conn.execute(stats.delete().where(stats.c.category == WRITER_MARK))
            self._add_totals(self.items.c.id > before)

    def _add_totals(self, inserted: sa.ColumnElement[bool]) -> None:
        """Add the items ``inserted`` selects to the per-category totals (SQLite: one row per category)."""
        items, stats = self.items, self.tables.stats
        flag = {s: sa.func.sum(sa.case((stock_status.status_condition(items, s), 1), else_=0)) for s in ("low", "out")}
        value = sa.type_coerce(items.c.quantity * items.c.unit_price, sa.BigInteger())  # cents × units, as stored
        totals = self.conn.execute(
            sa.select(
                items.c.category, sa.func.count(), sa.func.sum(items.c.quantity), sa.func.sum(value), *flag.values()
            )
            .where(inserted)
            .group_by(items.c.category)
        ).all()
        names = ("items", "units", "value_cents", "low_stock", "out_of_stock")
        for category, *sums in totals:
            change = {n: stats.c[n] + s for n, s in zip(names, sums, strict=True)}
            if not self.conn.execute(stats.update().where(stats.c.category == category).values(change)).rowcount:
                self.conn.execute(stats.insert().values(category=category, **dict(zip(names, sums, strict=True))))

    def defer_indexes(self) -> Callable[[], None]:
        """Into an empty table, drop the items' secondary indexes now and return what builds them again after the
        load (one sorted build each instead of an insertion per row); else change nothing.

        All in this transaction: a failed import rolls the indexes back too. On PostgreSQL dropping an index locks
        the (empty) table against readers until the import commits; SQLite's readers keep reading their snapshot.
        """
        if self.conn.execute(sa.select(self.items.c.id).limit(1)).first() is not None:
            return lambda: None
        indexes = self.backend.secondary_indexes(self.conn, self.items)
        for name, _ in indexes:
            self.conn.exec_driver_sql(f"DROP INDEX {self._qualified(name)}")

        def build() -> None:
            for _, ddl in indexes:
                self.conn.exec_driver_sql(ddl)

        return build

    def _qualified(self, name: str) -> str:
        quote = self.conn.dialect.identifier_preparer.quote
        return f"{quote(self.items.schema)}.{quote(name)}" if self.items.schema else quote(name)

    def update(self, ids: Sequence[int], columns: Mapping[str, CheckedColumn], index: np.ndarray) -> None:
        """Set the fields the source has (sku excepted: it is the match key) of items ``ids`` from rows ``index``."""
        names = [f for f in self.fields if f != "sku"]
        with self._cursor() as cur:
            self.backend.update_rows(cur, self.target, names, columns, index, ids)
        self.written += len(ids)

    def movements(self, item_ids: Sequence[int], deltas: Sequence[int], after: Sequence[int]) -> None:
        """Stock movements of kind ``import`` for quantities an upsert changed."""
        if item_ids:
            self.conn.execute(
                self.tables.movements.insert(),
                [
                    {
                        "item_id": i,
                        "delta": d,
                        "quantity_after": q,
                        "kind": "import",
                        "reason": self.reason,
                        "actor": self.target.actor,
                        "at": self.now,
                        "batch_id": self.batch_id,
                    }
                    for i, d, q in zip(item_ids, deltas, after, strict=True)
                ],
            )

    def audit_updates(self, item_ids: Sequence[int], changes: Sequence[dict[str, list[Any]]]) -> None:
        """One ``update`` audit row per changed item, old -> new per changed field, tagged with the batch."""
        self.audit.record_many(
            self.conn, "update", item_ids, changes, at=self.now, batch_id=self.batch_id, detail=self.reason
        )

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
            members = members + sa.case((items.c[name].is_(None), ""), else_=member)  # empty: nothing
        changes = sa.literal("{", sa.Text()) + sa.func.substr(members, 2) + sa.literal("}", sa.Text())
        now = sa.literal(self.now, items.c.created_at.type)
        rows = sa.select(
            now,
            sa.literal(self.target.actor),
            sa.literal("add"),
            items.c.id,
            changes,
            sa.literal(self.batch_id),
            sa.literal(self.reason),
        ).where(*self.backend.inserted_now(items, self.now, self.first_id), items.c.created_by == self.target.actor)
        self.conn.execute(
            self.tables.audit.insert().from_select(
                ["at", "actor", "action", "item_id", "changes", "batch_id", "detail"], rows
            )
        )

    def _json_value(self, name: str) -> sa.ColumnElement[str]:
        """Field ``name`` of the item as JSON text: a number, or a quoted string (money as exact decimal text)."""
        column = self.items.c[name]
        kind = FIELD_BY_NAME[name].kind
        if kind == "integer":
            return sa.cast(column, sa.Text())
        return self.backend.json_text(column, kind)

    def audit_batch(self, counts: dict[str, Any]) -> None:
        """The ``import`` audit row of the batch: its counts."""
        self.audit.record(self.conn, "import", batch_id=self.batch_id, detail=json.dumps(counts, ensure_ascii=False))

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        dbapi = self.conn.dialect.dbapi
        assert dbapi is not None
        cursor = self.conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            yield cursor
        except dbapi.IntegrityError as exc:
            # Lookups ran in this transaction, so only a concurrent writer can make a sku clash here.
            raise ConflictError(
                "Another change added an item with one of this file's SKUs while it was being "
                "imported; nothing was imported. Please import the file again."
            ) from exc
        except (dbapi.OperationalError, dbapi.InterfaceError, dbapi.InternalError) as exc:
            fault = database_fault(exc) or self.backend.cursor_fault(exc, dbapi)
            if fault is None:
                raise
            raise fault from exc
        finally:
            cursor.close()


class ImportStore:
    """What the service hands an import (``importing.writing.ImportTarget``): its unit of work, nothing else."""

    def __init__(self, uow: UnitOfWork):
        self.uow = uow

    @contextmanager
    def writing(self, fields: list[str], batch_id: str, reason: str) -> Iterator[ItemWriter]:
        """A writer in one write transaction; it commits when the block ends, rolls back when it raises. After a
        commit of at least ``MAINTAIN_AFTER_ROWS`` rows, the backend's upkeep of a bulk load (outside the
        transaction: VACUUM cannot run inside one)."""
        backend = self.uow.backend
        try:
            with self.uow.transaction() as conn:
                writer = ItemWriter(self.uow, conn, fields, batch_id, reason, lock=True)
                build_indexes = writer.defer_indexes()
                yield writer
                build_indexes()  # only when the import ends well: a raise rolls the drop back with the rest
                bulk = writer.written >= MAINTAIN_AFTER_ROWS
                if bulk:
                    backend.before_bulk_commit(conn)
        except DBAPIError as exc:
            if is_retryable(exc):  # a deadlock victim: one clear sentence
                raise ConflictError(RETRY_MESSAGE) from exc
            raise
        if bulk:
            backend.after_bulk_load(self.uow.db.engine, self.uow.tables.items)

    @contextmanager
    def checking(self, fields: list[str], batch_id: str, reason: str) -> Iterator[ItemWriter]:
        """A writer on a reading connection for a dry run: lookups only, nothing locked or written."""
        with self.uow.reading() as conn:
            yield ItemWriter(self.uow, conn, fields, batch_id, reason, lock=False)
