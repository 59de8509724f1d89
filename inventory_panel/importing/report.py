"""The result of one CSV import: counts, every problem found, warnings, and the error file for re-upload.

The error file holds each rejected row as it was in the input plus an ``error`` column, every cell formula-escaped
as the export escapes it (``formulas.escape_formula``: the file is meant to be opened in a spreadsheet, and a
rejected row is exactly where a hostile ``=HYPERLINK(…)`` ends up), except cells that start with ``'`` already:
a spreadsheet shows those as text, and the import reads them as it read the original. Uploading the file again
undoes the escape, so a corrected row imports exactly as the original would have.

It is written while the import runs into a spooled temporary file (memory first, disk past a few MB), so a huge file
full of bad rows does not have to fit in memory, and it stops growing at ``ERROR_FILE_MAX_CHARS``: later rejected
rows are counted, not copied, and a last row says how many were left out. The ``errors`` table lists each bad cell;
past ``MAX_LISTED_ERRORS`` entries it stops listing. In both cases a warning says so, and the counts (``skipped``)
stay exact.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pandas as pd

from ..exporting import csv_writer
from ..formulas import escape_formula

ERROR_COLUMNS = ("row", "column", "value", "message")
MAX_LISTED_ERRORS = 10_000
SPOOL_BYTES = 1024 * 1024  # an error file past this is on disk: a large one costs no memory
# About 16 MB: an error file is for a person to fix in a spreadsheet and upload again (the app's upload limit is
# 16 MB by default); a file where every row of 200 MB is rejected needs fixing at its source, not row by row.
ERROR_FILE_MAX_CHARS = 16 * 1024 * 1024
COPY_BLOCK = 1 << 20
ERROR_COLUMN = "error"


class _Counted:
    """The spool as ``csv.writer`` sees it: counts the characters written (one ``write`` per row)."""

    def __init__(self, target: IO[str]):
        self.target = target
        self.chars = 0

    def write(self, text: str) -> int:
        self.chars += len(text)
        return self.target.write(text)


class ErrorFile:
    """Rejected rows, as read, plus the messages of each row in an ``error`` column (CSV, same delimiter).

    Rows stop being copied once the file holds ``ERROR_FILE_MAX_CHARS`` characters; ``omitted`` counts the rest
    and the file ends with a row saying so.
    """

    def __init__(self, header: list[str], delimiter: str, error_position: int | None):
        # A file that already has an ``error`` column (a corrected error file uploaded again) gets its messages
        # there instead of in a second ``error`` column.
        self._position = error_position
        self._width = len(header)
        self._spool: IO[str] = tempfile.SpooledTemporaryFile(  # noqa: SIM115 - lives as long as the report
            max_size=SPOOL_BYTES, mode="w+", encoding="utf-8", newline=""
        )
        self._out = _Counted(self._spool)
        self._writer = csv_writer.writer(self._out, delimiter=delimiter)
        self._writer.writerow(header if error_position is not None else [*header, ERROR_COLUMN])
        self.omitted = 0
        self._sealed = False

    def add(self, cells: list[str], message: str) -> None:
        if self._out.chars >= ERROR_FILE_MAX_CHARS or self._sealed:
            self.omitted += 1
            return
        cells = list(cells)
        if len(cells) < self._width:  # a short row: pad it, so the message lands under ``error`` on re-upload
            cells += [""] * (self._width - len(cells))
        if self._position is not None and len(cells) == self._width:
            cells[self._position] = message
        else:
            cells.append(message)
        self._writer.writerow(list(map(_safe_cell, cells)))

    def _seal(self) -> None:
        """End a cut file with a row saying how many rejected rows it leaves out (once, when it is first read)."""
        if self._sealed:
            return
        self._sealed = True
        if self.omitted:
            note = (
                f"The error file stops here: {self.omitted:,} more rejected rows are not in it (it is limited to "
                f"{ERROR_FILE_MAX_CHARS // 1_048_576} MB). The import report counts every rejected row."
            )
            cells = [""] * self._width
            if self._position is not None:
                cells[self._position] = note
            else:
                cells.append(note)
            self._writer.writerow(cells)

    def text(self) -> str:
        self._seal()
        self._spool.seek(0)
        text = self._spool.read()
        self._spool.seek(0, 2)
        return text

    def copy_to(self, target: IO[str]) -> None:
        """Write the file to ``target`` block by block (never the whole file in memory)."""
        self._seal()
        self._spool.seek(0)
        shutil.copyfileobj(self._spool, target, COPY_BLOCK)
        self._spool.seek(0, 2)


def _safe_cell(cell: str) -> str:
    """``cell`` as the error file writes it: harmless in a spreadsheet, and read by the import as the original."""
    return cell if cell.startswith("'") else escape_formula(cell)


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do). ``to_dict()`` is the JSON of README, Command line.

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
        errors = [
            {"row": int(r.row), "column": str(r.column), "value": str(r.value), "message": str(r.message)}
            for r in self.errors.itertuples(index=False)
        ]
        return {
            "file": self.file,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "skipped": self.skipped,
            "dry_run": self.dry_run,
            "atomic": self.atomic,
            "errors": errors,
            "warnings": list(self.warnings),
        }

    def error_csv(self) -> str:
        """The rejected rows as they were in the input plus an ``error`` column: fix them and upload again."""
        if self.error_file is None:
            return ERROR_COLUMN + "\n"
        return self.error_file.text()

    def write_error_file(self, path: str | Path) -> None:
        """Write :meth:`error_csv` to ``path`` as UTF-8 (like ``export_csv``), streamed from the spool."""
        with open(path, "w", encoding="utf-8", newline="") as fh:
            if self.error_file is None:
                fh.write(self.error_csv())
            else:
                self.error_file.copy_to(fh)


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
        return pd.DataFrame(
            {
                "row": pd.Series(self.rows, dtype="int64"),
                "column": self.columns,
                "value": self.values,
                "message": self.messages,
            },
            columns=list(ERROR_COLUMNS),
        )
