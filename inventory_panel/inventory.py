"""The ``Inventory`` service: the one object behind the app, the notebook API and the CLI.

A thin facade: every method checks the acting user's role and hands the work to the module that does that one job
(``service/``: ``commands``, ``reads``, ``analytics``, ``exports``, ``imports``). Every operation runs in one
transaction of the unit of work (``storage.unit_of_work``) and writes its audit rows in that same transaction. Reads
page, sort and filter in SQL. Nothing here knows about Panel or Databricks.

Over 400 lines because it is the whole public API: one short method per operation, each with the docstring a
notebook user reads with ``help()``; the work is in ``service/``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from .auth import User, make_user
from .formulas import escape_formula
from .service import analytics, commands, exports, imports, reads
from .service.access import DENIAL_BURST, DENIAL_WINDOW, AccessGuard
from .service.commands import MAX_REASON, MOVEMENT_KINDS
from .service.connection import open_database
from .service.imports import TableReadOptions
from .service.model import ITEM_COLUMNS, SEARCH_COUNT_LIMIT, ItemFilters, ItemSelection, Page
from .service.session import Session
from .settings import Settings, load_settings
from .storage import commits
from .storage.engines import Database
from .storage.notify import PostgresChangeListener
from .storage.queries import SORTABLE, STATUSES
from .storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.12; only annotations use it

    from .importing.report import ImportReport


class Inventory:
    """Service object. Create with :func:`connect`."""

    def __init__(self, db: Database, user: User, settings: Settings):
        self.db = db
        self.user = user
        self.settings = settings
        self.t = db.tables
        self._uow = UnitOfWork(db, user.name)
        self._clock: Callable[[], float] = time.monotonic  # of the denial windows; tests set it
        self._access = AccessGuard(user, self._uow, clock=lambda: self._clock())
        self._session = Session(self._uow, user, settings, lambda action: self.require(action))

    # -- plumbing -----------------------------------------------------------------------------------------------

    @property
    def database_label(self) -> str:
        return self.db.label

    def as_user(self, user: User) -> Inventory:
        """The same database, acting as another user (one per app session)."""
        return Inventory(self.db, user, self.settings)

    def transaction(self) -> AbstractContextManager[sa.Connection]:
        """One write transaction (``UnitOfWork.transaction``); SQLite takes its write lock up front."""
        return self._uow.transaction()

    def reading(self, *, statements: bool = False) -> AbstractContextManager[sa.Connection]:
        """A connection for reading (``UnitOfWork.reading``)."""
        return self._uow.reading(statements=statements)

    def require(self, action: str) -> None:
        """Raise ``PermissionDeniedError`` (and audit the denial, coalesced per ``service.access``) unless the user
        may do ``action``."""
        self._access.require(action)

    def flush_denials(self) -> None:
        """Write the counts of denials still held back (end of a session)."""
        self._access.flush_denials()

    def record_audit(self, conn: sa.Connection, action: str, **entry: Any) -> None:
        """One audit row on ``conn`` (inside the caller's transaction); ``entry``: the keywords ``item_id``,
        ``changes``, ``batch_id``, ``detail`` of ``storage.audit.AuditWriter.record``."""
        self._uow.audit.record(conn, action, **entry)

    def change_token(self) -> int:
        """A number that grows with every write (the newest audit id): cheap to poll for live updates."""
        return reads.change_token(self._session)

    def change_listener(self) -> PostgresChangeListener | None:
        """A source that blocks until another process announces a change (PostgreSQL LISTEN/NOTIFY), or None on
        SQLite, where ``change_token`` is polled instead."""
        return self._uow.backend.change_listener(self.db, self.change_token)

    @property
    def database_key(self) -> str:
        """This inventory's data (the SQLite file, or the PostgreSQL database, and the table): equal for every
        ``Inventory`` of this process on the same data (``storage.commits.database_key``)."""
        return commits.database_key(self.db)

    def on_commit(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` right after each write that any ``Inventory`` of this process commits to this
        inventory's data (live updates, ``storage/commits.py``); returns the function that stops it."""
        return commits.on_commit(self.db, listener)

    # -- reads --------------------------------------------------------------------------------------------------

    def query(
        self,
        search: str | None = None,
        category: str | None = None,
        location: str | None = None,
        status: str | None = None,
        sort_by: str = "item_name",
        descending: bool = False,
        offset: int = 0,
        limit: int = 50,
        after: tuple[Any, int] | None = None,
        before: tuple[Any, int] | None = None,
        count_limit: int | None = None,
    ) -> Page:
        """One page of items matching the filters, sorted in the database.

        ``offset`` counts rows from the start. Flipping from a page to the next or previous one, pass that
        page's ``last_key`` as ``after`` or its ``first_key`` as ``before`` (and the new page's offset, which is
        only reported back): the rows then come from a seek in the sort index instead of skipping ``offset`` rows.

        ``count_limit``: a search stops counting its matches past ``max(count_limit, offset + limit)``; if there
        are more, ``total`` is that number and ``total_exact`` False ("more than …"). Counting every match of a
        common word means reading every matching row; the other filters are counted exactly either way (from the
        maintained totals or an index).
        """
        selection = ItemSelection(search, category, location, status, sort_by, descending)
        return reads.query(self._session, selection, offset, limit, after, before, count_limit)

    def get(self, item_id: int) -> dict[str, Any]:
        return reads.get(self._session, item_id)

    def summary(self) -> dict[str, Any]:
        """Headline figures in one SQL pass: items, units, total value, categories, low stock, out of stock."""
        return reads.summary(self._session)

    def distinct_values(self, column: str) -> list[str]:
        """Sorted distinct non-empty values of ``category``, ``location`` or ``supplier`` (for filter menus)."""
        return reads.distinct_values(self._session, column)

    def history(self, item_id: int) -> pd.DataFrame:
        """Stock movements and audit entries of one item, newest first: at, actor, what, detail."""
        return reads.history(self._session, item_id)

    def audit_log(self, offset: int = 0, limit: int = 100, action: str | None = None) -> Page:
        """The audit trail, newest first (admins only); ``item_name`` is each entry's item's name as it was then."""
        return reads.audit_log(self._session, offset, limit, action)

    # -- analytics ----------------------------------------------------------------------------------------------

    def low_stock(self, limit: int | None = 500) -> pd.DataFrame:
        """Items at or below their minimum (or out of stock), largest shortage first, with suppliers.

        ``limit``: at most this many (the largest shortages); None for all of them. ``summary()`` counts them all
        (``low_stock + out_of_stock``) without reading them.
        """
        return analytics.low_stock(self._session, limit)

    def value_by_category(self) -> pd.DataFrame:
        """Value, items and units per category, most valuable first (from the maintained per-category totals)."""
        return analytics.value_by_category(self._session)

    def stock_status_counts(self) -> pd.DataFrame:
        """Items per stock status: ok, low, out (from the maintained per-category totals)."""
        return analytics.stock_status_counts(self._session)

    def top_items_by_value(self, n: int = 10) -> pd.DataFrame:
        return analytics.top_items_by_value(self._session, n)

    def quantity_by_location(self) -> pd.DataFrame:
        return analytics.quantity_by_location(self._session)

    # -- writes -------------------------------------------------------------------------------------------------

    def add(self, values: dict[str, Any]) -> dict[str, Any]:
        """Add one item; returns it as stored (with ``id`` and ``version``)."""
        return commands.add(self._session, values)

    def update(self, item_id: int, changes: dict[str, Any], version: int) -> dict[str, Any]:
        """Change some fields of an item read at ``version``; a stale version raises ``ConflictError``."""
        return commands.update(self._session, item_id, changes, version)

    def delete(self, item_id: int, version: int) -> None:
        """Delete an item read at ``version``; the audit keeps the deleted row."""
        commands.delete(self._session, item_id, version)

    def adjust_stock(self, item_id: int, delta: int, reason: str, kind: str | None = None) -> dict[str, Any]:
        """Add (receive) or remove (issue) units atomically; the quantity can never go below zero.

        The delta is applied in SQL (``quantity = quantity + delta``), so concurrent adjustments all count.
        """
        return commands.adjust_stock(self._session, item_id, delta, reason, kind)

    # -- files --------------------------------------------------------------------------------------------------

    def export_csv(self, path_or_buffer: str | Path | IO[str], **filters: Unpack[ItemFilters]) -> int:
        """Write the filtered items as CSV (importable again), streaming; returns the number of rows.

        ``filters`` (keywords, as ``query``): ``search``, ``category``, ``location``, ``status``, ``sort_by``,
        ``descending``; see ``ItemFilters``."""
        return exports.export_csv(self._session, path_or_buffer, ItemSelection(**filters))

    def export_xlsx(self, path_or_buffer: str | Path | IO[bytes], **filters: Unpack[ItemFilters]) -> int:
        """Write the filtered items (``filters`` as ``export_csv``) as an Excel workbook (the CSV's columns, typed:
        numbers, money ``#,##0.00``, text never run as a formula; header frozen, autofilter), streaming; returns the
        number of rows.

        The file is written when every row has been read: a failure before (the database, more rows than a sheet
        holds) leaves ``path_or_buffer`` untouched. See ``exporting/xlsx.py``.
        """
        return exports.export_xlsx(self._session, path_or_buffer, ItemSelection(**filters))

    def export_parquet(self, path_or_buffer: str | Path | IO[bytes], **filters: Unpack[ItemFilters]) -> int:
        """Write the filtered items (``filters`` as ``export_csv``) as Parquet, one row group per batch read from the
        database; returns the number of rows. Every column of ``query().rows`` (id, fields, version, timestamps in UTC,
        status), typed as in ``to_frame(as_arrow=True)``: ``decimal128(12, 2)`` money, ``int64``, strings,
        ``timestamp[us, UTC]``."""
        return exports.export_parquet(self._session, path_or_buffer, ItemSelection(**filters))

    def export(
        self, path_or_buffer: str | Path | IO[Any], format: str | None = None, **filters: Unpack[ItemFilters]
    ) -> int:
        """Export the filtered items as ``format`` (``csv``, ``xlsx``, ``parquet``; default: from the file name's
        extension, else CSV); ``filters`` as ``export_csv``. Returns the number of rows."""
        return exports.export(self._session, path_or_buffer, format, ItemSelection(**filters))

    def export_audit_csv(
        self, path_or_buffer: str | Path | IO[str], action: str | None = None, newest_first: bool = False
    ) -> int:
        """Write the audit trail (oldest first, or ``newest_first`` as the audit log shows it) as CSV for admins,
        streaming; returns the number of rows.

        Actors, details and changed values are user-supplied text, so formula-like cells are escaped too.
        """
        return exports.export_audit_csv(self._session, path_or_buffer, action, newest_first)

    def to_frame(
        self, *, limit: int | None = None, as_arrow: bool = False, **filters: Unpack[ItemFilters]
    ) -> pd.DataFrame | Any:
        """The filtered items (``filters`` as ``export_csv``; the columns of ``query().rows``) as a pandas DataFrame,
        or with ``as_arrow`` a ``pyarrow.Table``; at most ``limit`` of them (None: all).

        Read from the database in batches, each turned into an Arrow record batch at once: only what is returned is
        held. pandas types: ``unit_price`` is ``object`` holding ``Decimal`` (exact, as in ``query().rows``),
        ``minimum_stock`` nullable ``Int64``, timestamps ``datetime64[us, UTC]``; Arrow types as
        ``export_parquet``.
        """
        return exports.to_frame(self._session, ItemSelection(**filters), limit, as_arrow)

    def import_csv(
        self,
        source: str | Path | bytes | IO[Any],
        mode: str = "append",
        atomic: bool = False,
        dry_run: bool = False,
        **options: Any,
    ) -> ImportReport:
        """Import a CSV file or a workbook (.xlsx, .xls, .ods: told apart by content) from a path, bytes or a file
        object; see README, CSV rules for the rules and ``importing/excel.py`` for workbooks. ``options``:
        ``progress``, ``max_bytes``, ``file_name``, ``sheet`` (``importing.import_csv``)."""
        return imports.import_file(self._session, source, mode=mode, atomic=atomic, dry_run=dry_run, **options)

    def import_file(
        self,
        source: str | Path | bytes | IO[Any],
        sheet: str | None = None,
        mode: str = "append",
        atomic: bool = False,
        dry_run: bool = False,
        **options: Any,
    ) -> ImportReport:
        """Import a CSV file or a workbook sheet (the first, or ``sheet`` by name): ``import_csv`` under its
        general name."""
        return imports.import_file(
            self._session, source, mode=mode, atomic=atomic, dry_run=dry_run, sheet=sheet, **options
        )

    def import_frame(
        self, frame: Any, mode: str = "append", atomic: bool = False, dry_run: bool = False, **options: Any
    ) -> ImportReport:
        """Import a DataFrame (pandas, Polars, Spark), a PyArrow Table / RecordBatchReader or any object with
        ``__arrow_c_stream__``, with the rules and report of a file import; row numbers are its 0-based positions."""
        return imports.import_dataframe(self._session, frame, mode=mode, atomic=atomic, dry_run=dry_run, **options)

    def import_table(
        self,
        table: str,
        mode: str = "append",
        atomic: bool = False,
        dry_run: bool = False,
        *,
        progress: Any = None,
        **read_options: Unpack[TableReadOptions],
    ) -> ImportReport:
        """Import a Unity Catalog table ``catalog.schema.table`` with the rules and report of a file import.

        Read through a SQL warehouse (``warehouse_id`` or ``DATABRICKS_WAREHOUSE_ID``; chunk by chunk, never whole)
        or a Spark session (``spark``, or the notebook's active one); see ``databricks/uc_import.py``. Row numbers
        are 0-based positions in the result (``order_by`` makes them stable). ``workspace_client`` replaces the
        one built from the environment (e.g. a person's own token). ``read_options``: ``warehouse_id``, ``spark``,
        ``columns``, ``order_by``, ``disposition``, ``workspace_client``, ``timeout``; see ``TableReadOptions``.
        """
        return imports.import_table(self._session, table, mode, atomic, dry_run, progress, **read_options)

    def template_csv(self) -> str:
        from .importing.template import template_csv

        return template_csv()

    def template_xlsx(self) -> bytes:
        """The import template as an Excel workbook: required columns marked, a validation hint per column."""
        from .importing.template import template_xlsx

        return template_xlsx()

    def close(self) -> None:
        self.flush_denials()
        self.db.dispose()

    def __repr__(self) -> str:
        return f"<Inventory {self.db.label} as {self.user.name} ({self.user.role})>"


def connect(
    url: str | None = None,
    *,
    user: str | None = None,
    role: str | None = None,
    settings: Settings | None = None,
    migrate_schema: bool = True,
    source: str = "local",
) -> Inventory:
    """Open the inventory: ``url`` or the environment (README, Configuration); migrations applied by default."""
    settings = settings or load_settings()
    db = open_database(settings, url, migrate_schema=migrate_schema)
    return Inventory(db, make_user(user, settings, source=source, role=role), settings)


__all__ = [
    "DENIAL_BURST",
    "DENIAL_WINDOW",
    "ITEM_COLUMNS",
    "MAX_REASON",
    "MOVEMENT_KINDS",
    "SEARCH_COUNT_LIMIT",
    "SORTABLE",
    "STATUSES",
    "Inventory",
    "ItemFilters",
    "Page",
    "connect",
    "escape_formula",
]
