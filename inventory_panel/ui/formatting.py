"""How numbers, money, times and stock statuses read on screen (one place, so every view says it the same way)."""

from __future__ import annotations

import html
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from .. import stock_status

# The stock-status words are stock_status's; here under the names the views format values with.
STATUS_LABELS = stock_status.LABELS
status_label = stock_status.label


def fmt_int(value: Any) -> str:
    """``1234`` -> ``"1,234"``; missing -> ``"—"``."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    return f"{int(value):,}"


def fmt_money(value: Any) -> str:
    """A Decimal amount with thousands separators and two decimals: ``Decimal("1234.5")`` -> ``"1,234.50"``."""
    if value is None:
        return "—"
    amount = value if isinstance(value, Decimal) else Decimal(str(value))
    return f"{amount.quantize(Decimal('0.01')):,}"


def fmt_utc(value: Any, pattern: str) -> str:
    """A timestamp in UTC formatted with ``pattern`` (naive values are UTC by construction); "" when missing."""
    if value is None or (not isinstance(value, datetime) and pd.isna(value)):
        return ""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").strftime(pattern)


def fmt_time(value: Any) -> str:
    """A UTC timestamp as ``2025-01-31 14:05 UTC`` (the server does not know the viewer's time zone)."""
    return fmt_utc(value, "%Y-%m-%d %H:%M UTC")


# A status cell as HTML from this fixed table (never from user text): its class lets the tables' style sheet
# (styles.STATUS_ROWS) colour the whole row in the browser, instead of a pandas Styler per page on the server.
STATUS_HTML = {key: f'<span class="st st-{key}">{label}</span>' for key, label in STATUS_LABELS.items()}


def status_html(status: str | None) -> str:
    return STATUS_HTML.get(status or "", "")


def is_missing(value: Any) -> bool:
    """None, NaN, NA or NaT: a blank cell."""
    return value is None or (not isinstance(value, str) and pd.isna(value))


def cell_column(values: list[Any], index: pd.Index, convert: Any = None) -> pd.Series:
    """A column of a table's frame: Python objects (not pandas' string dtype, which turns None into NaN), None
    where a value is missing, ``convert(value)`` elsewhere."""
    return pd.Series(
        [None if is_missing(v) else (convert(v) if convert else v) for v in values], index=index, dtype=object
    )


def esc(value: Any) -> str:
    """Text for HTML: user data is always escaped before it reaches an HTML pane."""
    return html.escape("" if value is None else str(value), quote=True)
