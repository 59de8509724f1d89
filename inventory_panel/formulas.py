"""Spreadsheet formula injection (OWASP CSV injection): the one rule every export and error file applies to text."""

from __future__ import annotations

from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ESCAPED_PREFIXES = (*FORMULA_PREFIXES, "'")


def escape_formula(value: Any) -> Any:
    """Prefix text a spreadsheet would run as a formula with a quote (OWASP CSV injection).

    Text that starts with a quote already gets one more, so the escape can be undone exactly: the import removes
    one quote before a formula character or a quote (``importing.validation.unescape_cell``), and a stored
    ``'=1+1`` exports as ``''=1+1`` and imports as ``'=1+1`` again.
    """
    if isinstance(value, str) and value.startswith(ESCAPED_PREFIXES):
        return "'" + value
    return value
