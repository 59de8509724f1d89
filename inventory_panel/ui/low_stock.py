"""``LowStockView``: the items at or below their minimum stock, largest shortage first, with a reorder list.

The service does the work (``Inventory.low_stock`` filters and sorts in SQL); this view only shows the result and
turns it into a CSV a buyer can send to suppliers. It reloads when the data changes, but only while it is on
screen: a hidden view just remembers that it is stale and reloads when it is shown again.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import pandas as pd
import panel as pn
import param

from ..exporting import csv_writer
from ..fields import FIELDS, Field
from ..inventory import ITEM_COLUMNS
from ..stock_status import MINIMUM, QUANTITY, STATUS
from ..words import plural
from . import styles, widgets
from .columns import STATUS_COLUMN, Columns, Derived, columns_for, field_cells, status_cells
from .component_root import component_root
from .formatting import fmt_int
from .lazy_view import LazyView
from .messages import InlineMessages
from .notify import report_error
from .pager import Pager

SHORTAGE = "shortage"  # a column of Inventory.low_stock: minimum stock minus quantity
SHORTAGE_COLUMN = Derived(at=65, title="Shortage", width=95, numeric=True)


def low_stock_columns(fields: Iterable[Field] = FIELDS) -> Columns:
    """This view's columns from the field spec (fields.Display), the shortage and the status after the stock
    figures."""
    return columns_for("low_stock", {SHORTAGE: SHORTAGE_COLUMN, STATUS: STATUS_COLUMN}, fields)


COLUMNS = low_stock_columns()
SHOWN = COLUMNS.names
TITLES = COLUMNS.titles
WIDTHS = COLUMNS.widths
NUMERIC = COLUMNS.numeric
# The reorder list is a file a buyer works from, grouped by supplier: its columns are its own format.
REORDER_COLUMNS = ("supplier", "sku", "item_name", "location", QUANTITY, MINIMUM, SHORTAGE, "reorder_quantity")


def reorder_quantity(row: pd.Series) -> int:
    """Units to order to get back to the minimum; an out-of-stock item without a minimum needs at least one."""
    return max(int(row[SHORTAGE]), 1)


def low_stock_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as the table shows it: indexed by item id, the status as a marked-up label (which the style sheet
    turns into the row colour, styles.STATUS_ROWS), blanks for missing values."""
    index = pd.Index(rows["id"].astype("int64").to_numpy(), name="id")
    data: dict[str, Any] = {f.name: field_cells(f, rows[f.name], index) for f in COLUMNS.fields}
    data[SHORTAGE] = rows[SHORTAGE].astype("int64").to_numpy()
    data[STATUS] = status_cells(rows[STATUS], index)
    return pd.DataFrame(data, index=index, columns=list(SHOWN))


def reorder_csv(rows: pd.DataFrame) -> str:
    """The reorder list as CSV, grouped by supplier; text cells are escaped so spreadsheets never run them."""
    out = io.StringIO()
    ordered = rows.sort_values(["supplier", SHORTAGE], ascending=[True, False], na_position="last", kind="stable")
    values = ({**row.to_dict(), "reorder_quantity": reorder_quantity(row)} for _, row in ordered.iterrows())
    csv_writer.write_rows(out, REORDER_COLUMNS, ([v[c] for c in REORDER_COLUMNS] for v in values))
    return out.getvalue()


# The table shows the largest shortages; the counts come from the maintained totals and the reorder list has all.
SHOWN_LIMIT = 500
PAGE_SIZE = 25  # rows a page of the list


class LowStockView(LazyView):
    """Items that need reordering, with the shortage, supplier and location of each.

    Public parts: ``title`` (the counts above the list), ``table`` (the rows shown), ``download`` (the reorder
    list), ``empty`` (shown instead when nothing is low) and ``messages``.
    """

    rows = param.DataFrame(
        default=None,
        allow_None=True,
        doc="The largest shortages as returned by Inventory.low_stock (at most SHOWN_LIMIT).",
    )
    short = param.Integer(
        default=0, bounds=(0, None), doc="How many items are at or below their minimum or out of stock, shown or not."
    )
    out = param.Integer(default=0, bounds=(0, None), doc="How many of them are out of stock.")
    page = param.Integer(default=0, bounds=(0, None), doc="The page of the list shown (0-based; the pager sets it).")
    page_size = param.Integer(default=PAGE_SIZE, bounds=(1, None), doc="Rows a page.")
    total = param.Integer(default=0, bounds=(0, None), doc="How many rows the list holds (the pager's range).")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.messages = InlineMessages()  # where a toast cannot show (messages.py)
        self.title = widgets.heading()
        self.download = widgets.download(
            self._reorder_file, "reorder_list.csv", "Download reorder list", width=200, margin=(14, 10, 8, 10)
        )
        # Paged by the app's own pager (ui/pager.py) as the other tables are, not by Tabulator's: one look, and no
        # Previous/Next for a single page.
        self.table = widgets.table(
            low_stock_frame(_empty_rows()),
            titles=TITLES,
            widths=WIDTHS,
            disabled=True,
            pagination=None,
            # In the order the service gives (largest shortage first): a header click would sort one page only.
            sortable=False,
            layout="fit_columns",
            stylesheets=[styles.TABLE, styles.STATUS_ROWS],
            margin=(0, 10),
            # Plain text for every cell of user data; the status cell is one of our fixed strings.
            formatters=COLUMNS.formatters,
            text_align={n: "right" for n in NUMERIC},
            header_align={n: "right" for n in NUMERIC},
            configuration={"placeholder": "No item is low on stock."},
        )
        self.empty = pn.pane.HTML(
            '<div class="empty"><h2>Nothing to reorder</h2><p>Every item is above its minimum stock. Items '
            "appear here as soon as their quantity drops to their minimum or to zero.</p></div>",
            stylesheets=[styles.EMPTY],
            sizing_mode="stretch_width",
            visible=False,
        )
        self.pager = Pager(source=self)
        self._pager_box = pn.Column(self.pager, sizing_mode="stretch_width", margin=0)  # hidden with the table
        self._layout = pn.Column(
            widgets.title_bar(self.title, self.download),
            self.empty,
            self.table,
            self._pager_box,
            sizing_mode="stretch_width",
        )
        self.reload()
        if self.rows is None:
            self._render()

    def reload(self) -> None:
        """Read the low-stock items again (one query); on failure keep what is shown and tell the person."""
        self.stale = False
        if self.model.inventory is None:
            return
        try:
            summary = self.model.inventory.summary()
            rows = self.model.inventory.low_stock(limit=SHOWN_LIMIT)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; details in the log
            report_error("Loading the low-stock items", exc)
            return
        # Counted apart from the rows, which stop at SHOWN_LIMIT; never fewer than shown if a write fell between.
        out_shown = int((rows[STATUS] == "out").sum())
        pages = max(1, -(-len(rows) // self.page_size))
        self.param.update(
            out=max(summary["out_of_stock"], out_shown),
            short=max(summary["low_stock"] + summary["out_of_stock"], len(rows)),
            total=len(rows),
            page=min(self.page, pages - 1),
            rows=rows,
        )

    @param.depends("rows", "short", "out", "page", watch=True)
    def _render(self) -> None:
        rows = self.rows if self.rows is not None else _empty_rows()
        partial = (
            f" · the {fmt_int(len(rows))} largest shortages shown; the reorder list has them all"
            if self.short > len(rows)
            else " · largest shortage first"
        )
        self.title.object = (
            '<div class="title">Low stock</div>'
            # The summary cards count low and out of stock apart; this list has both, and says so (issue 15).
            f'<div class="sub"><b>{fmt_int(self.short)}</b> {plural(self.short, "item")} to reorder: '
            f"<b>{fmt_int(self.short - self.out)}</b> low stock and <b>{fmt_int(self.out)}</b> out of stock"
            f"{partial}</div>"
        )
        # Shown before it gets its rows: a Tabulator handed data while hidden (display: none, no height) lays out no
        # rows, and when it is shown next Panel 1.9.4 does not always redraw it (a notebook cell then kept an empty
        # table under "5 items to reorder" after an import; docs/workarounds.md).
        self.table.visible = self._pager_box.visible = not rows.empty
        first = self.page * self.page_size
        self.table.value = low_stock_frame(rows.iloc[first : first + self.page_size])
        self.empty.visible = rows.empty
        self.download.disabled = rows.empty

    def _reorder_file(self) -> io.StringIO:
        try:
            self.model.inventory.require("export")
            # Read again, all of them: the table stops at the largest shortages and may be minutes old.
            return io.StringIO(reorder_csv(self.model.inventory.low_stock(limit=None)))
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; details in the log
            report_error("Preparing the reorder list", exc)
            return io.StringIO("")

    def __panel__(self) -> pn.viewable.Viewable:
        return component_root(self._layout, self.messages)


def _empty_rows() -> pd.DataFrame:
    return pd.DataFrame(columns=[*ITEM_COLUMNS, SHORTAGE])
