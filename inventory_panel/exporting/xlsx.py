"""Items as an Excel workbook (``.xlsx``), written with XlsxWriter in ``constant_memory`` mode.

Why XlsxWriter, and why ``constant_memory``: it writes the Office Open XML itself (no reader, no DOM of the sheet),
and in ``constant_memory`` mode each row goes to a temporary file as soon as the next row starts, so an export of
100,000 or a million items takes no more memory than one of ten (tests/integration/test_export_files.py measures
the peak). That mode's limits suit an export: rows strictly in order, and text stored in each cell (inline) rather
than in a shared-strings table. XlsxWriter's temporary files go to a folder of our own that is removed afterwards,
also when an export fails half-way (XlsxWriter only removes them in ``close()``; docs/workarounds.md).

Typed cells, so a spreadsheet computes with them and never runs them:

- whole numbers (``quantity``, ``minimum_stock``) are numbers;
- money (``unit_price``) is a number with the format ``#,##0.00``. ``float(Decimal)`` is exact to the cent: a
  NUMERIC(12,2) value has at most 12 significant digits (9,999,999,999.99 at most) and a double keeps 15 (DBL_DIG),
  so the double nearest a price reads back as the same 12 digits, which is also what Excel shows (15 significant
  digits);
- text is written with ``write_string``, never ``write()``: ``=1+1`` is a text cell, not a formula, so nothing is
  evaluated, and the CSV export's quote escape is not needed. Text a spreadsheet would take for a formula when the
  cell is edited also gets the quote-prefix style (Excel's ``'`` shown in the formula bar), so it stays text;
- an empty optional value is an empty cell.

The header row (field names, importable again) is bold and frozen, with an autofilter over the data; column widths
come from the field spec.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError, FileSizeError

from ..errors import InventoryError
from ..fields import FIELDS, Field

MONEY_FORMAT = "#,##0.00"
MAX_ROWS = 1_048_576  # an Excel sheet's rows, the header included
FORMULA_START = ("=", "+", "-", "@")
HEADER_STYLE = {"bold": True, "bg_color": "#EEF2F6", "bottom": 1, "text_wrap": False}


class ExportTooLargeError(InventoryError):
    """More items than one Excel sheet can hold (or than a zip file without ZIP64 extensions)."""


def column_width(field: Field) -> float:
    """A column width (in characters) from the field spec: room for the name, then by kind and maximum length."""
    if field.kind == "integer":
        width = 12
    elif field.kind == "decimal":
        width = 17  # 9,999,999,999.99
    else:
        width = min(50, max(12, (field.max_length or 30) // 3))
    return float(max(width, len(field.name) + 3))  # + the autofilter's arrow


def open_workbook(target: str | Any | IO[bytes], tmpdir: str, *, constant_memory: bool = True) -> xlsxwriter.Workbook:
    """A workbook writing to ``target`` (a path or a binary file object), its temporary files in ``tmpdir``."""
    return xlsxwriter.Workbook(
        target,
        {
            "constant_memory": constant_memory,
            "tmpdir": tmpdir,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )


def close_workbook(workbook: xlsxwriter.Workbook) -> None:
    """Close (write) the workbook; its failures as the ``OSError`` behind them or a typed error."""
    try:
        workbook.close()
    except FileCreateError as exc:
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], OSError) else None
        if cause is not None:
            raise cause from exc
        raise OSError(str(exc)) from exc
    except FileSizeError as exc:
        raise ExportTooLargeError(
            "The export is too large for an Excel file; export CSV or Parquet instead, or filter the items."
        ) from exc


def write_items(
    target: str | Path | IO[bytes],
    rows: Iterable[Sequence[Any]],
    fields: Sequence[Field] = FIELDS,
    sheet: str = "Inventory",
) -> int:
    """Write ``rows`` (tuples of the ``fields`` values, in order) as one sheet; returns the number of rows.

    Raises ``ExportTooLargeError`` past an Excel sheet's rows; ``target`` is written only when every row was read.
    """
    with tempfile.TemporaryDirectory(prefix="inventory-xlsx-") as tmpdir:
        # Written next to XlsxWriter's own temporary files, then copied: ``target`` is only touched once the whole
        # workbook exists, and a target that fails (a full disk) fails in our copy, not inside XlsxWriter's zip
        # file (whose clean-up would then fail once more, with a traceback, when it is collected).
        staged = str(Path(tmpdir) / "export.xlsx")
        workbook = open_workbook(staged, tmpdir)
        header = workbook.add_format(HEADER_STYLE)
        money = workbook.add_format({"num_format": MONEY_FORMAT})
        quoted = workbook.add_format({"quote_prefix": True})
        ws = workbook.add_worksheet(sheet)
        for col, field in enumerate(fields):
            ws.set_column(col, col, column_width(field))
        ws.freeze_panes(1, 0)
        for col, field in enumerate(fields):
            ws.write_string(0, col, field.name, header)
        kinds = [f.kind for f in fields]
        count = 0
        for count, values in enumerate(rows, start=1):
            if count >= MAX_ROWS:
                raise ExportTooLargeError(
                    f"An Excel sheet holds at most {MAX_ROWS - 1:,} items; filter the export "
                    "or export CSV or Parquet instead."
                )
            for col, (kind, value) in enumerate(zip(kinds, values, strict=True)):
                if value is None:
                    continue
                if kind == "text":
                    ws.write_string(count, col, value, quoted if value.startswith(FORMULA_START) else None)
                elif kind == "decimal":
                    ws.write_number(count, col, float(value), money)
                else:
                    ws.write_number(count, col, int(value))
        ws.autofilter(0, 0, max(count, 1), len(fields) - 1)
        close_workbook(workbook)
        if isinstance(target, (str, Path)):
            shutil.copyfile(staged, target)
        else:
            with open(staged, "rb") as source:
                shutil.copyfileobj(source, target)
    return count


__all__ = [
    "MAX_ROWS",
    "MONEY_FORMAT",
    "ExportTooLargeError",
    "close_workbook",
    "column_width",
    "open_workbook",
    "write_items",
]
