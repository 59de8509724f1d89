"""The one CSV writer: every CSV the product writes (the items export, the audit export, the reorder list, an
import's error file, the import template) goes through ``writer``, with cells made by ``cell``.

A cell is plain text a spreadsheet shows as it is: a missing value is empty, a number or a date is written in its
exact text form (``Decimal`` as typed, a timestamp in ISO 8601 with its offset), and text that a spreadsheet would
run as a formula is escaped (``formulas.escape_formula``, the domain's rule). A file format like xlsx and Parquet,
so it lives in ``exporting``: it sees the domain and pandas (whose missing values, ``NA`` and ``NaT``, a frame's
cells may hold), never a database or the UI.
"""

from __future__ import annotations

import csv
import math
import numbers
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

import pandas as pd

from ..formulas import escape_formula

# RFC 4180 line ends for files meant to be imported again (the items export): the writer then also quotes cells
# holding a lone CR, which readers split on. The other files end lines the way they always have.
CRLF = "\r\n"
LF = "\n"


def writer(out: IO[str] | Any, *, line_end: str = LF, delimiter: str = ",") -> Any:
    """A ``csv.writer`` over ``out`` (anything with ``write``), the product's dialect."""
    return csv.writer(out, lineterminator=line_end, delimiter=delimiter)


def cell(value: Any) -> Any:
    """``value`` as a CSV cell: empty when missing (None, NaN, NaT), exact text for numbers and times, text
    formula-escaped. An integral float (pandas' column of integers with a gap) is written as the integer."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return escape_formula(value)
    if isinstance(value, Decimal):
        return "" if value.is_nan() else str(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):  # numpy's integers too
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isnan(number):
            return ""
        return int(number) if number.is_integer() else number
    if isinstance(value, datetime | date):
        return value.isoformat()
    return escape_formula(str(value))


def write_rows(out: IO[str] | Any, header: Iterable[str], rows: Iterable[Iterable[Any]], *, line_end: str = LF) -> int:
    """Write ``header`` then every row of ``rows`` (cells made by ``cell``); returns the number of rows."""
    w = writer(out, line_end=line_end)
    w.writerow(list(header))
    count = 0
    for row in rows:
        w.writerow([cell(v) for v in row])
        count += 1
    return count
