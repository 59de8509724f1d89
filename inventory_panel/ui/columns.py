"""Table columns derived from the field spec (``fields.Display``): which fields a table view shows and in what
order, their titles, widths, Tabulator formatters and alignment, and how a page's values become cells.

Everything here is chosen by a field's kind and display, never by its name; the only named columns are the views'
derived ones (the stock status, the shortage), which are not stored fields and so come with their own description.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import stock_status
from ..fields import FIELDS, Field, View, column_names, columns_of
from .formatting import cell_column, status_html

# "plaintext" escapes: user text must never be rendered as HTML (an item may be called <img onerror=…>). Only
# derived columns whose cells are fixed strings of ours are HTML.
PLAINTEXT: dict[str, Any] = {"type": "plaintext"}
HTML: dict[str, Any] = {"type": "html"}
MONEY: dict[str, Any] = {"type": "money", "decimal": ".", "thousand": ",", "precision": 2}


@dataclass(frozen=True)
class Derived:
    """A column that is not a stored field: where it stands (a ``Display.column`` key), its words and width."""

    at: int
    title: str
    width: int
    formatter: dict[str, Any] = field(default_factory=lambda: dict(PLAINTEXT))
    numeric: bool = False


# The stock status, after the stock figures (Display.column 40-60) and before where the stock is (80-90).
STATUS_COLUMN = Derived(at=70, title=stock_status.STATUS_LABEL, width=110, formatter=HTML)


@dataclass(frozen=True)
class Columns:
    """The columns of one table view."""

    fields: tuple[Field, ...]  # the field columns, in the order shown
    names: tuple[str, ...]  # every column shown (fields and derived ones), in order
    titles: dict[str, str]
    widths: dict[str, int]  # fixed widths; the columns without one share the rest (fit_columns)
    formatters: dict[str, dict[str, Any]]
    numeric: tuple[str, ...]  # right-aligned
    compact_hidden: tuple[str, ...]  # hidden when the table narrows (Display.compact)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def field_formatter(field: Field) -> dict[str, Any]:
    """Money for decimals; plain (escaped) text for the rest."""
    return dict(MONEY) if field.kind == "decimal" else dict(PLAINTEXT)


def columns_for(view: View, derived: dict[str, Derived], fields: Iterable[Field] = FIELDS) -> Columns:
    """The columns ``view`` shows: the spec's fields for it, with ``derived`` placed among them."""
    fields = tuple(fields)
    shown = columns_of(view, fields)
    return Columns(
        fields=shown,
        names=column_names(view, {name: d.at for name, d in derived.items()}, fields),
        titles={**{f.name: f.short_label for f in shown}, **{name: d.title for name, d in derived.items()}},
        widths={
            **{f.name: f.display.width for f in shown if f.display.width},
            **{name: d.width for name, d in derived.items()},
        },
        formatters={
            **{f.name: field_formatter(f) for f in shown},
            **{name: d.formatter for name, d in derived.items()},
        },
        numeric=(*(f.name for f in shown if f.is_numeric), *(name for name, d in derived.items() if d.numeric)),
        compact_hidden=tuple(f.name for f in shown if not f.display.compact),
    )


def field_cells(field: Field, values: pd.Series, index: pd.Index) -> Any:
    """A field's column of a page as the table shows it.

    A required whole number is a plain int64 array (the fast path: this runs on every page flip); a decimal is
    its exact text (never a float); an optional whole number stays a Python int (not 5.0 next to a missing one);
    missing values are None.
    """
    if field.kind == "integer" and field.required:
        return values.astype("int64").to_numpy()
    convert = {"decimal": str, "integer": int}.get(field.kind)
    return cell_column(values.tolist(), index, convert)


def status_cells(values: pd.Series, index: pd.Index) -> pd.Series:
    """The status column: each status as a marked-up label, which the style sheet turns into the row colour."""
    return cell_column(values.tolist(), index, status_html)
