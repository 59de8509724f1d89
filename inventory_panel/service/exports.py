"""Exports: the filtered items as CSV, Excel, Parquet or a DataFrame, and the audit trail as CSV; every one streams
from the database in batches (a server-side cursor on PostgreSQL), so no export holds the whole table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from ..errors import InvalidArgumentError
from ..exporting import csv_writer
from ..fields import FIELD_NAMES
from ..storage.queries import order_by, resolved_where, select_items
from ..storage.types import Money, UTCDateTime
from .arguments import check_descending, fs_path, whole_number
from .model import ItemSelection
from .reads import AUDIT_COLUMNS
from .session import Session

if TYPE_CHECKING:  # pyarrow is imported by the exports that need it, not with the service
    from ..exporting.arrow import ExportColumn, ValueKind

STREAM_BATCH = 5000  # rows read from the database at a time


@contextmanager
def _open_text(target: str | Path | IO[str]) -> Iterator[IO[str]]:
    if isinstance(target, (str, Path)):
        with open(target, "w", newline="", encoding="utf-8") as fh:
            yield fh
    else:
        yield target


def _select(
    s: Session, conn: sa.Connection, selection: ItemSelection, columns: list[Any] | None = None
) -> sa.Select[Any]:
    """``columns`` (default: the fields) of the items matching the filters, in the order asked (the same rules as
    ``query``, the search resolved on ``conn`` as ``query`` resolves it), once the user may export."""
    s.require("export")
    if columns is None:
        columns = [s.tables.items.c[n] for n in FIELD_NAMES]
    descending = check_descending(selection.descending)
    conds = resolved_where(conn, s.tables, selection.filters, s.backend)
    return sa.select(*columns).where(*conds).order_by(*order_by(s.tables, selection.sort_by, descending))


def _export_columns(columns: list[Any]) -> list[ExportColumn]:
    """``columns`` (of the items table, or the computed status) as exporting sees them: name, value kind, nullable."""
    from ..exporting.arrow import ExportColumn

    def kind(column: Any) -> ValueKind:
        if isinstance(column.type, Money):
            return "money"
        if isinstance(column.type, UTCDateTime):
            return "timestamp"
        return "integer" if isinstance(column.type, sa.Integer) else "text"  # Integer and BigInteger

    return [ExportColumn(c.name, kind(c), bool(getattr(c, "nullable", True))) for c in columns]


def _stream(conn: sa.Connection, stmt: sa.Select[Any]) -> Iterator[Any]:
    """The rows of ``stmt`` in lists of ``STREAM_BATCH`` (a server-side cursor on PostgreSQL: never all at once)."""
    yield from conn.execution_options(yield_per=STREAM_BATCH).execute(stmt).partitions()


def export_csv(s: Session, path_or_buffer: str | Path | IO[str], selection: ItemSelection) -> int:
    """Write the filtered items as CSV (importable again), streaming; returns the number of rows."""
    s.require("export")  # before the file is opened
    with _open_text(path_or_buffer) as out, s.uow.reading() as conn:
        rows = (row for batch in _stream(conn, _select(s, conn, selection)) for row in batch)
        return csv_writer.write_rows(out, FIELD_NAMES, rows, line_end=csv_writer.CRLF)


def export_xlsx(s: Session, path_or_buffer: str | Path | IO[bytes], selection: ItemSelection) -> int:
    """``Inventory.export_xlsx``: see there and ``exporting/xlsx.py``."""
    from ..exporting.xlsx import write_items

    with s.uow.reading() as conn:
        stmt = _select(s, conn, selection)
        return write_items(fs_path(path_or_buffer), (row for rows in _stream(conn, stmt) for row in rows))


def export_parquet(s: Session, path_or_buffer: str | Path | IO[bytes], selection: ItemSelection) -> int:
    """``Inventory.export_parquet``: see there and ``exporting/arrow.py``."""
    from ..exporting.arrow import item_schema, record_batches, write_parquet

    columns = list(select_items(s.tables).selected_columns)
    schema = item_schema(_export_columns(columns))
    with s.uow.reading() as conn:
        stmt = _select(s, conn, selection, columns)
        return write_parquet(record_batches(_stream(conn, stmt), schema), schema, fs_path(path_or_buffer))


def export(s: Session, path_or_buffer: str | Path | IO[Any], format: str | None, selection: ItemSelection) -> int:
    """Export as ``format`` (``csv``, ``xlsx``, ``parquet``; default: from the file name's extension, else CSV)."""
    from ..exporting import format_for

    name = str(path_or_buffer) if isinstance(path_or_buffer, (str, Path)) else None
    try:
        kind = format_for(name, format)
    except ValueError as exc:
        raise InvalidArgumentError({"format": str(exc)}) from None
    writers: dict[str, Callable[..., int]] = {"csv": export_csv, "xlsx": export_xlsx, "parquet": export_parquet}
    writer = writers[kind]
    return writer(s, path_or_buffer, selection)


def to_frame(
    s: Session, selection: ItemSelection, limit: int | None = None, as_arrow: bool = False
) -> pd.DataFrame | Any:
    """``Inventory.to_frame``: see there."""
    from ..exporting.arrow import item_schema, record_batches, to_pandas, to_table

    columns = list(select_items(s.tables).selected_columns)
    limit = None if limit is None else whole_number("limit", limit, 0)
    schema = item_schema(_export_columns(columns))
    with s.uow.reading() as conn:
        stmt = _select(s, conn, selection, columns).limit(limit)
        table = to_table(record_batches(_stream(conn, stmt), schema), schema)
    return table if as_arrow else to_pandas(table)


def export_audit_csv(
    s: Session, path_or_buffer: str | Path | IO[str], action: str | None = None, newest_first: bool = False
) -> int:
    """Write the audit trail (oldest first, or ``newest_first`` as the audit log shows it) as CSV for admins,
    streaming; returns the number of rows.

    Actors, details and changed values are user-supplied text, so formula-like cells are escaped too.
    """
    s.require("audit")
    a = s.tables.audit
    stmt = sa.select(*(a.c[c] for c in AUDIT_COLUMNS)).where(*([a.c.action == action] if action else []))
    with _open_text(path_or_buffer) as out, s.uow.reading() as conn:
        rows = _stream(conn, stmt.order_by(a.c.id.desc() if newest_first else a.c.id))
        return csv_writer.write_rows(out, AUDIT_COLUMNS, (row for batch in rows for row in batch))
