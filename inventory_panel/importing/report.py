"""The result of one CSV import: counts, every problem found, warnings, and the error file for re-upload.

The error file holds each rejected row as it was in the input plus an ``error`` column, every cell formula-escaped
as the export escapes it (``inventory.escape_formula``: the file is meant to be opened in a spreadsheet, and a
rejected row is exactly where a hostile ``=HYPERLINK(…)`` ends up), except cells that start with ``'`` already:
a spreadsheet shows those as text, and the import reads them as it read the original. Uploading the file again
undoes the escape, so a corrected row imports exactly as the original would have.

It is written while the import runs into a spooled temporary file (memory first, disk past a few MB), so a huge file
full of bad rows does not have to fit in memory. The ``errors`` table lists each bad cell; past ``MAX_LISTED_ERRORS``
entries it stops listing (a warning says so) while the counts and the error file stay complete.
"""

from __future__ import annotations

import csv
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from ..inventory import escape_formula

ERROR_COLUMNS = ("row", "column", "value", "message")
MAX_LISTED_ERRORS = 100_000
SPOOL_BYTES = 8 * 1024 * 1024
ERROR_COLUMN = "error"


class ErrorFile:
    """Rejected rows, as read, plus the messages of each row in an ``error`` column (CSV, same delimiter)."""

    def __init__(self, header: list[str], delimiter: str, error_position: int | None):
        # A file that already has an ``error`` column (a corrected error file uploaded again) gets its messages
        # there instead of in a second ``error`` column.
        self._position = error_position
        self._width = len(header)
        self._spool: IO[str] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - lives as long as the report
            max_size=SPOOL_BYTES, mode="w+", encoding="utf-8", newline="")
        self._writer = csv.writer(self._spool, delimiter=delimiter, lineterminator="\n")
        self._writer.writerow(header if error_position is not None else [*header, ERROR_COLUMN])

    def add(self, cells: list[str], message: str) -> None:
        cells = list(cells)
        if len(cells) < self._width:  # a short row: pad it, so the message lands under ``error`` on re-upload
            cells += [""] * (self._width - len(cells))
        if self._position is not None and len(cells) == self._width:
            cells[self._position] = message
        else:
            cells.append(message)
        self._writer.writerow(list(map(_safe_cell, cells)))

    def text(self) -> str:
        self._spool.seek(0)
        text = self._spool.read()
        self._spool.seek(0, 2)
        return text


def _safe_cell(cell: str) -> str:
    """``cell`` as the error file writes it: harmless in a spreadsheet, and read by the import as the original."""
    return cell if cell.startswith("'") else escape_formula(cell)


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do). ``to_dict()`` is the JSON of DESIGN.md section 5.

    ``rows`` counts data rows read (blank lines excluded); ``inserted`` + ``updated`` + ``skipped`` +
    ``unchanged`` = ``rows``, except that with ``atomic`` and any rejected row nothing is written, so
    ``inserted`` = ``updated`` = 0 while ``skipped`` still counts the rejected rows. ``unchanged`` counts
    upsert rows that matched an item and changed nothing (not part of the JSON; a warning reports them).
    """

    file: str | None
    mode: str = "append"
    dry_run: bool = False
    atomic: bool = False
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    skipped: int = 0
    unchanged: int = 0
    errors: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ERROR_COLUMNS)))
    warnings: list[str] = field(default_factory=list)
    batch_id: str | None = None
    error_file: ErrorFile | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """True when no row was rejected."""
        return self.skipped == 0

    def to_dict(self) -> dict[str, Any]:
        errors = [{"row": int(r.row), "column": str(r.column), "value": str(r.value), "message": str(r.message)}
                  for r in self.errors.itertuples(index=False)]
        return {"file": self.file, "rows": self.rows, "inserted": self.inserted, "updated": self.updated,
                "skipped": self.skipped, "dry_run": self.dry_run, "atomic": self.atomic, "errors": errors,
                "warnings": list(self.warnings)}

    def error_csv(self) -> str:
        """The rejected rows as they were in the input plus an ``error`` column: fix them and upload again."""
        if self.error_file is None:
            return ERROR_COLUMN + "\n"
        return self.error_file.text()

    def write_error_file(self, path: str | Path) -> None:
        """Write :meth:`error_csv` to ``path`` as UTF-8 (like ``export_csv``)."""
        with open(path, "w", encoding="utf-8", newline="") as fh:
            fh.write(self.error_csv())


class ErrorLog:
    """Collects per-cell errors while chunks stream by, up to ``MAX_LISTED_ERRORS`` listed entries."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.columns: list[str] = []
        self.values: list[str] = []
        self.messages: list[str] = []
        self.unlisted = 0

    def extend(self, rows: list[int], columns: list[str], values: list[str], messages: list[str]) -> None:
        room = MAX_LISTED_ERRORS - len(self.rows)
        if room < len(rows):
            self.unlisted += len(rows) - max(room, 0)
            rows, columns, values, messages = rows[:room], columns[:room], values[:room], messages[:room]
        self.rows += rows
        self.columns += columns
        self.values += values
        self.messages += messages

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"row": pd.Series(self.rows, dtype="int64"), "column": self.columns,
                             "value": self.values, "message": self.messages}, columns=list(ERROR_COLUMNS))
