"""Typed cells (from a spreadsheet or a DataFrame) as the text the CSV rules read, so every source is validated alike.

Validation (``validation.py``) parses numbers from text, exactly, never through floats; a typed source therefore
hands it text, and these rules say which text. They are the same for an Excel cell (``excel.py``) and a DataFrame
value (``frames.py``, vectorised there with ``pyarrow.compute`` and falling back to ``cell_text`` only for the
values Arrow would print differently):

- empty: ``None``, NaN, ``pd.NA``, ``NaT`` and Arrow nulls are blank cells ("").
- text is passed as it is (the CSV rules trim it, parse numbers stored as text, and so on).
- integers print in full: a huge int is the same "out of range" error as the same digits in a CSV.
- floats: an integer-valued float is that integer (5.0 -> "5", so a quantity of 5.0 is 5 and an sku typed as the
  number 1001 is "1001"); any other float is its shortest round-trip decimal form (``repr``, as Python and Arrow print
  it, never an exponent): 12.5 -> "12.5" (accepted as 12.50), 12.499999 -> "12.499999" (rejected: more than two
  decimals), 0.1 + 0.2 -> "0.30000000000000004" (rejected, not silently rounded). Negative zero is "0"; infinity is
  "inf" (rejected: not a number).
- ``Decimal`` prints in positional notation ("12.50"); booleans are "TRUE" / "FALSE", as a spreadsheet shows them,
  so a boolean in a number column is rejected as not a number and in a text column is that word.
- dates are ISO text: ``date`` -> "2025-01-31", ``datetime`` -> "2025-01-31T08:30:00", ``time`` -> "08:30:00": kept as
  text in a text column, rejected as not a number in a number column (the message shows the date).
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TRUE, FALSE = "TRUE", "FALSE"


def float_text(value: float) -> str:
    """A float as the CSV rules read it (see the module docstring)."""
    if math.isnan(value):
        return ""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))  # -0.0 -> "0"
    # Shortest round-trip digits, never an exponent: 12.499999 stays 12.499999, 1e20 is all its digits (out of
    # range, as the same digits in a CSV).
    return format(Decimal(repr(float(value))), "f")


def cell_text(value: Any) -> str:
    """One typed value as text for the CSV rules (see the module docstring)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return TRUE if value else FALSE
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return float_text(float(value))
    if isinstance(value, Decimal):
        if value.is_nan():
            return ""
        return "0" if value.is_zero() else format(value, "f")
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds" if not value.microsecond else "microseconds")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def arrow_texts(array: pa.Array | pa.ChunkedArray) -> list[str]:
    """An Arrow column as text cells, vectorised for the usual types, by ``cell_text`` rules for the rest."""
    kind = array.type
    if pa.types.is_dictionary(kind):
        array = array.cast(kind.value_type)
        kind = kind.value_type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pc.fill_null(array.cast(pa.large_string()), "").to_pylist()
    if pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        texts = pc.cast(array, pa.large_string())
        if pa.types.is_decimal(kind):  # -0.00 and 0.00 are both "0", as cell_text prints them
            texts = pc.if_else(pc.equal(array, pa.scalar(0, kind)), "0", texts)
        return pc.fill_null(texts, "").to_pylist()
    if pa.types.is_boolean(kind):
        return pc.fill_null(pc.if_else(array, TRUE, FALSE), "").to_pylist()
    if pa.types.is_floating(kind):
        floats = pc.cast(array, pa.float64())
        texts = pc.cast(pc.add(floats, 0.0), pa.large_string())  # x + 0.0 turns -0.0 into 0.0
        texts = pc.if_else(pc.is_nan(floats), "", texts)
        out = pc.fill_null(texts, "").to_pylist()
        # Arrow prints shortest round-trip digits like repr, but with an exponent past 1e16 or below 1e-4:
        # those few go through the Python rule, which never uses one.
        odd = np.flatnonzero(pc.match_substring(texts, "e").fill_null(False).to_numpy(zero_copy_only=False))
        if len(odd):
            values = floats.take(pa.array(odd)).to_pylist()
            for i, value in zip(odd.tolist(), values, strict=True):
                out[i] = float_text(value)
        return out
    if pa.types.is_null(kind):
        return [""] * len(array)
    return [cell_text(v) for v in array.to_pylist()]
