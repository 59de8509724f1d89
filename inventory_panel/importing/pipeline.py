"""One import from start to end: open and check the source, then per chunk validate, match skus and write.

The source is any ``sources.TabularSource``: a CSV file, a workbook sheet (``excel.py``), a DataFrame
(``frames.py``); all get the same rules, report, error file, write path and audit.

Everything happens in one transaction (``ImportTarget.writing``, the port in ``writing.py``): a refusal, a crash or
an atomic import with errors rolls it all back. A dry run uses a read-only connection (``ImportTarget.checking``) and
writes nothing, yet runs every check, including the database lookups, so its counts are what a real import would do.
The caller (the service) has checked the person may import; this module never sees the service.

Modes (README, CSV rules):
- ``append`` inserts every valid row; a sku that exists already is a row error.
- ``upsert`` needs a sku on every row: an unknown sku is inserted, a known one updated — only the columns the file
  has, version + 1, one ``update`` audit row with old -> new per changed field, a quantity change recorded as a
  stock movement of kind ``import``. A matched row that changes nothing is counted neither inserted nor updated
  but ``unchanged`` (reported in a warning).
- A sku repeated in the file rejects the later rows, whatever became of the first one.
Every inserted item gets an ``add`` audit row and every updated one an ``update`` row, each with the batch's
``batch_id`` (the items themselves carry none); one ``import`` audit row per written batch carries the counts.
Imports into one table take turns on PostgreSQL (``storage.dialects.postgres``), so concurrent ones neither
deadlock nor fail on each other's new skus; a deadlock with some other writer still ends in a ``ConflictError``,
never a raw one (``storage.bulk.ImportStore``).

Over 400 lines because the import's one transaction, its modes and its per-chunk steps read as one story; the
reading, validation, report and the port to the database are already their own modules.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from itertools import compress
from operator import itemgetter, ne
from typing import TYPE_CHECKING, Any, TypedDict, cast

import numpy as np

from ..errors import ImportRefusedError
from ..fields import FIELD_BY_NAME, FIELD_NAMES
from ..money import money_to_cents
from ..words import count_of, plural
from .excel import open_file
from .frames import FrameSource
from .report import ERROR_FILE_MAX_CHARS, MAX_LISTED_ERRORS, ErrorFile, ErrorLog, ImportReport
from .sources import TabularSource
from .validation import CheckedChunk, FirstRows, check_chunk, take
from .writing import ImportTarget, ItemStore

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.12; only annotations use it

MODES = ("append", "upsert")
Progress = Callable[[str, float, str], None]
SKU = FIELD_BY_NAME["sku"]  # the field the upsert matches rows by
STAGES = ("parse", "validate", "write")
# Share of a chunk's progress reached after each stage; the write stage ends the chunk.
STAGE_SHARE = {"parse": 0.3, "validate": 0.5, "write": 1.0}


class _NothingWritten(Exception):
    """Raised inside the transaction to roll an atomic import with errors back."""


class ImportOptions(TypedDict, total=False):
    """The keywords every import takes (``import_csv``, ``import_frame``, ``import_source``).

    ``mode``: one of ``MODES`` (default ``append``); ``atomic``: write nothing when any row is rejected;
    ``dry_run``: check everything, write nothing; ``progress(stage, fraction, message)``: called per chunk for the
    stages parse, validate and write, with ``fraction`` running from 0 to 1 over the whole import.
    """

    mode: str
    atomic: bool
    dry_run: bool
    progress: Progress | None


def import_csv(
    target: ImportTarget,
    source: Any,
    *,
    max_bytes: int | None = None,
    file_name: str | None = None,
    sheet: str | None = None,
    **options: Unpack[ImportOptions],
) -> ImportReport:
    """Import a CSV file or a workbook (.xlsx, .xls, .ods, told apart by content) into ``target``; see the module
    docstring and README, CSV rules for the rules, ``excel.py`` for what a workbook's features become.

    ``source`` is a path, bytes, CSV text (a str with a line break, as a browser upload gives it) or a file object.
    ``options``: see ``ImportOptions``. ``max_bytes`` refuses larger input (the app's upload limit). ``sheet`` names
    a workbook's sheet (the first one by default). A file refused as a whole raises ``ImportRefusedError`` and
    nothing is written.
    """
    run = _Run.start("import_csv", options)
    with ExitStack() as stack:
        source = open_file(source, stack, mode=run.mode, max_bytes=max_bytes, file_name=file_name, sheet=sheet)
        return _Import(target, source, run).run()


def import_frame(
    target: ImportTarget, frame: Any, *, file_name: str | None = None, **options: Unpack[ImportOptions]
) -> ImportReport:
    """Import a DataFrame (pandas, Polars, Spark), a PyArrow Table / RecordBatchReader or any object with the Arrow
    PyCapsule interface, with the rules and report of a file import; see ``frames.py``. Row numbers are the frame's
    0-based positions; ``file_name`` replaces the report's "<pandas DataFrame>"-style name.
    """
    run = _Run.start("import_frame", options)
    with FrameSource(frame, mode=run.mode, file_name=file_name) as source:
        return _Import(target, source, run).run()


def import_source(target: ImportTarget, source: TabularSource, **options: Unpack[ImportOptions]) -> ImportReport:
    """Import the rows of an opened ``TabularSource`` (CSV, Excel, a DataFrame) with the same rules and report.

    The caller opens the source (which checks its header) and closes it afterwards.
    """
    return _Import(target, source, _Run.start("import_source", options)).run()


@dataclass(frozen=True)
class _Run:
    """``ImportOptions`` checked and completed with their defaults; ``notify`` is ``progress`` or a no-op."""

    mode: str
    atomic: bool
    dry_run: bool
    notify: Progress

    @classmethod
    def start(cls, caller: str, options: ImportOptions) -> _Run:
        """Check ``options`` and announce the start, before the source is opened (a bad mode refuses nothing else)."""
        # A TypedDict checks names for the type checker only; refuse a misspelt one as a signature naming them did.
        unknown = sorted(set(options) - set(ImportOptions.__annotations__))
        if unknown:
            raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r}")
        mode = options.get("mode", "append")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        notify = options.get("progress") or (lambda _stage, _fraction, _message: None)
        notify("parse", 0.0, "Checking the file")
        return cls(mode, options.get("atomic", False), options.get("dry_run", False), notify)


class _Import:
    def __init__(self, target: ImportTarget, source: TabularSource, run: _Run):
        self.target = target
        self.source = source
        self.mode = run.mode
        self.atomic = run.atomic
        self.dry_run = run.dry_run
        self.notify = run.notify
        header = source.header
        self.fields = [f for f in FIELD_NAMES if f in header.positions]
        self.report = ImportReport(
            file=source.file_name, mode=run.mode, dry_run=run.dry_run, atomic=run.atomic, warnings=list(source.warnings)
        )
        if header.unknown:
            self.report.warnings.append(f"Unknown columns ignored: {', '.join(header.unknown)}")
        self.report.error_file = ErrorFile(header.cells, source.delimiter, header.error_position)
        self.log = ErrorLog()
        self.first_rows = FirstRows()  # sku -> the row that used it first in this file
        self.batch_id = str(uuid.uuid4())
        self.reason = f"{source.kind} import of {source.file_name}" if source.file_name else f"{source.kind} import"
        self.parsed = 0.0  # fraction of the file read so far
        self.progress_lock = threading.Lock()
        self.stage = 0
        self.fraction = 0.0

    def run(self) -> ImportReport:
        if self.dry_run:
            with self.target.checking(self.fields, self.batch_id, self.reason) as store:
                self._chunks(store)
        else:
            try:
                with self.target.writing(self.fields, self.batch_id, self.reason) as writer:
                    self._chunks(writer)
                    if self.atomic and self.report.skipped:
                        raise _NothingWritten
                    writer.audit_inserts()
                    writer.audit_batch(self._counts())
                    self.report.batch_id = self.batch_id
            except _NothingWritten:
                pass
        self._finish()
        return self.report

    def _chunks(self, writer: ItemStore) -> None:
        """Parse and check each chunk here while a worker thread stores the previous one.

        Storing (sku lookups, error log, writes) runs on one worker, chunk after chunk, so the connection is only
        ever used by one thread at a time and the results are those of a serial import; what overlaps is our CPU
        work with the database's (psycopg2 releases the GIL while PostgreSQL works, sqlite3 while SQLite steps).
        At most two chunks are in memory: the one being stored and the one waiting for it.
        """
        chunks = self.source.chunks()
        pending: Future[None] | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-import") as worker:
            while True:
                chunk = next(chunks, None)
                if chunk is None:
                    break
                start, end = self.parsed, self.source.fraction
                self.parsed = end
                last = chunk.first_row + len(chunk.records) - 1
                self._progress("parse", start, end, f"Read rows {chunk.first_row}–{last}")
                checked = check_chunk(chunk, self.source.header, unescape=self.source.formula_escaped)
                if pending is not None:
                    pending.result()  # the worker's error, if any, surfaces here and ends the import
                pending = worker.submit(self._store, checked, start, end, writer)
            if pending is not None:
                pending.result()
        if self.report.rows == 0:
            raise ImportRefusedError("The file has a header but no data rows.")

    def _store(self, checked: CheckedChunk, start: float, end: float, writer: ItemStore) -> None:
        """The database side of one chunk (worker thread)."""
        existing = self._match_skus(checked, writer)
        self._log(checked)
        self._progress(
            "validate", start, end, f"Checked {count_of(self.report.rows, 'row')}, {self.report.skipped:,} rejected"
        )
        self._write(checked, existing, writer)
        self._progress("write", start, end, self._written_message())

    def _progress(self, stage: str, start: float, end: float, text: str) -> None:
        """Report from either thread; stage and fraction only move forward, so a progress bar never jumps back."""
        with self.progress_lock:
            self.stage = max(self.stage, STAGES.index(stage))
            self.fraction = max(self.fraction, start + (end - start) * STAGE_SHARE[stage])
            self.notify(STAGES[self.stage], self.fraction, text)

    def _written_message(self) -> str:
        r = self.report
        if self.atomic and r.skipped:
            return f"{count_of(r.skipped, 'row')} rejected; nothing will be written (all or nothing)"
        verb = "would be" if self.dry_run else plural(r.inserted, "was", "were")
        return f"{count_of(r.inserted, 'row')} {verb} inserted, {r.updated:,} updated"

    # -- checks that need more than one row or the database -----------------------------------------------------

    def _match_skus(self, checked: CheckedChunk, writer: ItemStore) -> dict[str, dict[str, Any]]:
        """Reject missing (upsert), repeated and — when appending — existing skus; return the matched items."""
        column = checked.columns.get("sku")
        if column is None:
            return {}
        usable = ~checked.too_many
        if self.mode == "upsert":
            missing = np.flatnonzero(usable & column.empty)
            checked.reject(
                missing,
                "sku",
                [""] * len(missing),
                f"{SKU.label} is required in upsert mode (rows are matched to items by {SKU.label})",
            )
        index = np.flatnonzero(usable & ~column.empty)
        skus = take(column.text, index)
        rows = checked.rows[index]
        first = self.first_rows.first(skus, rows)
        repeated = first != rows
        for i, sku, row in zip(
            index[repeated].tolist(), compress(skus, repeated), first[repeated].tolist(), strict=True
        ):
            checked.reject(np.array([i]), "sku", [sku], f"sku is repeated in this file (first used on row {row})")
        wanted = index[~repeated]
        if not len(wanted):
            return {}
        found = writer.existing(take(column.text, wanted), full=self.mode == "upsert")
        if self.mode == "append" and found:
            taken = wanted[
                np.fromiter(map(found.__contains__, take(column.text, wanted)), dtype=bool, count=len(wanted))
            ]
            checked.reject(
                taken,
                "sku",
                take(column.text, taken),
                f"{SKU.label} is already used by an item in the inventory; to update that item, import with "
                f'"Add or update by SKU" (mode upsert)',
            )
            return {}
        return found

    def _log(self, checked: CheckedChunk) -> None:
        rejected = int(checked.rejected.sum())
        self.report.rows += len(checked)
        self.report.skipped += rejected
        if not rejected:
            return
        entries = checked.entries()
        rows = checked.rows
        self.log.extend(
            [int(rows[e[0]]) for e in entries],
            [e[2] for e in entries],
            [e[3] for e in entries],
            [e[4] for e in entries],
        )
        by_row: dict[int, list[str]] = {}
        error_file = self.report.error_file
        assert error_file is not None  # made in __init__
        for e in entries:  # every message names its column already ("quantity must be …")
            by_row.setdefault(e[0], []).append(e[4])
        for i, messages in by_row.items():
            error_file.add(checked.records[i], "; ".join(messages))

    # -- writing ------------------------------------------------------------------------------------------------

    def _write(self, checked: CheckedChunk, existing: dict[str, dict[str, Any]], writer: ItemStore) -> None:
        valid = ~checked.rejected
        if existing:
            sku = checked.columns["sku"]
            matched = valid & np.fromiter(map(existing.__contains__, sku.text), dtype=bool, count=len(checked))
        else:
            matched = np.zeros(len(checked), dtype=bool)
        new = np.flatnonzero(valid & ~matched)
        self.report.inserted += len(new)
        writing = not self.dry_run and not (self.atomic and self.report.skipped)
        if writing and len(new):
            writer.insert(checked.columns, new)
        if matched.any():
            self._update(checked, np.flatnonzero(matched), existing, writer, writing)

    def _update(
        self,
        checked: CheckedChunk,
        index: np.ndarray,
        existing: dict[str, dict[str, Any]],
        writer: ItemStore,
        writing: bool,
    ) -> None:
        olds = list(map(existing.__getitem__, take(checked.columns["sku"].text, index)))
        names = [f for f in self.fields if f != "sku"]
        new = {f: checked.columns[f].values(index) for f in names}
        changed = np.zeros(len(index), dtype=bool)
        differs = {}
        for f in names:
            old = list(map(itemgetter(f), olds))
            if checked.columns[f].field.kind == "decimal":
                old = list(map(_cents, old))
            differs[f] = np.fromiter(map(ne, old, new[f]), dtype=bool, count=len(index))
            changed |= differs[f]
        positions = np.flatnonzero(changed).tolist()
        self.report.updated += len(positions)
        self.report.unchanged += len(index) - len(positions)
        if not writing or not positions:
            return
        ids: list[int] = []
        changes: list[dict[str, list[Any]]] = []
        moved: list[int] = []
        deltas: list[int] = []
        after: list[int] = []
        for p in positions:  # only items that really change: their audit rows are per item anyway
            item = olds[p]
            diff = {f: [item[f], _shown(checked, f, new[f][p])] for f in names if differs[f][p]}
            ids.append(item["id"])
            changes.append(diff)
            if "quantity" in diff:
                quantity = int(cast(int, new["quantity"][p]))  # a checked integer cell
                moved.append(item["id"])
                deltas.append(quantity - item["quantity"])
                after.append(quantity)
        writer.update(ids, checked.columns, index[positions])
        writer.movements(moved, deltas, after)
        writer.audit_updates(ids, changes)

    # -- the end ------------------------------------------------------------------------------------------------

    def _counts(self) -> dict[str, Any]:
        r = self.report
        return {
            "file": r.file,
            "mode": r.mode,
            "atomic": r.atomic,
            "rows": r.rows,
            "inserted": r.inserted,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "skipped": r.skipped,
        }

    def _finish(self) -> None:
        r = self.report
        r.errors = self.log.frame()
        if self.atomic and r.skipped:
            r.inserted = r.updated = r.unchanged = 0
            verb = "would be" if self.dry_run else "was"
            r.warnings.append(
                f"Nothing {verb} imported: {count_of(r.skipped, 'row')} had errors "
                "and the import is atomic (all or nothing). Fix those rows, or import without all or nothing."
            )
        if r.unchanged:
            r.warnings.append(f"{count_of(r.unchanged, 'row')} matched existing items and changed nothing.")
        omitted = r.error_file.omitted if r.error_file is not None else 0
        if self.log.unlisted:
            where = (
                "the error file has every rejected row with its messages"
                if not omitted
                else "every rejected row is counted above"
            )
            r.warnings.append(
                f"Only the first {MAX_LISTED_ERRORS:,} problems are listed ({self.log.unlisted:,} more); {where}."
            )
        if omitted:
            r.warnings.append(
                f"The error file was cut at {ERROR_FILE_MAX_CHARS // 1_048_576} MB: it holds the "
                f"first {r.skipped - omitted:,} of {r.skipped:,} rejected rows (its last row says so)."
            )
        verb = "Would import" if self.dry_run else "Imported"
        items = f"{r.inserted:,} new and {count_of(r.updated, 'updated item')}"
        self.notify("write", 1.0, f"{verb} {items}; {count_of(r.skipped, 'row')} rejected")


def _cents(value: Decimal | None) -> int | None:
    return None if value is None else money_to_cents(value)


def _shown(checked: CheckedChunk, name: str, value: Any) -> Any:
    """A new value as the audit shows it: money as Decimal, like ``Inventory.update`` records it."""
    if value is not None and checked.columns[name].field.kind == "decimal":
        return Decimal(value).scaleb(-2)
    return value
