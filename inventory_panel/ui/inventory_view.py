"""``InventoryView``: the Inventory tab — filters, the items table with its pager, the item side panel, export of
the filtered view as CSV or Excel.

An inventory with no items at all shows ``EmptyState`` instead of an empty table; when the items cannot be loaded
(the database is restarting, say) a banner says so and offers to try again, while the last rows stay visible.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import panel as pn
import param

from ..words import count_of
from . import widgets
from .component_root import component_root
from .empty_state import EmptyState
from .filters import FilterBar
from .item_panel import ItemPanel
from .messages import InlineMessages, Notice
from .model import InventoryModel
from .notify import notify, report_error
from .table import ItemsTable

# Below this width the table would narrow to a few letters a column beside the item panel: the panel moves above it.
TABLE_MIN_WIDTH = 520
EXPORT_CHOICES = {"CSV (.csv)": "csv", "Excel (.xlsx)": "xlsx"}  # the Export menu: label -> format


def problem_head(error: str | None) -> str:
    return "The inventory could not be loaded." if error else ""


def problem_lines(error: str | None) -> list[str]:
    return [error] if error else []


class InventoryView(pn.viewable.Viewer):
    """Browse, filter, edit, adjust and delete items; ``messages`` is its message area."""

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state.")
    import_requested = param.Event(doc="The person asked to import a CSV file (the app switches tabs).")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.messages = InlineMessages()  # where a toast cannot show (messages.py)
        user = self.model.inventory.user
        self.filters = FilterBar(model=self.model)
        self.table = ItemsTable(model=self.model)
        self.panel = ItemPanel(model=self.model)
        self.empty = EmptyState(model=self.model)
        self.empty.param.watch(lambda _e: self.panel.open_add(), "add_requested")
        self.empty.param.watch(lambda _e: self.param.trigger("import_requested"), "import_requested")
        self.add_button = pn.widgets.Button(
            label="+ Add item", color="primary", width=120, align="center", visible=user.can("add")
        )
        self.add_button.on_click(lambda _event: self.panel.open_add())
        # One "Export" menu (CSV or Excel) where the "Export CSV" button was: a second button does not fit the
        # toolbar at 1280 px once "Clear filters" shows. Each choice drives a download that is not shown itself.
        self.export_menu = pn.widgets.MenuButton(
            label="Export",
            items=list(EXPORT_CHOICES.items()),
            color="default",
            width=120,
            align="center",
            visible=user.can("export"),
        )
        self.export_menu.on_click(self._on_export_choice)
        self.export_button = widgets.download(self._export, "inventory.csv", "Export CSV", visible=False)
        self.export_xlsx_button = widgets.download(self._export_xlsx, "inventory.xlsx", "Export Excel", visible=False)
        # One wrapping toolbar: the filters, then the actions at the end of their line (or of the next one).
        actions = pn.Row(
            self.add_button,
            self.export_menu,
            self.export_button,
            self.export_xlsx_button,
            margin=0,
            styles={"margin-left": "auto"},
        )
        toolbar = widgets.toolbar(*self.filters.controls, actions)
        # The table and the item panel side by side while both fit (the table keeps TABLE_MIN_WIDTH); on a
        # narrower window the panel goes on a line of its own, above the table (item_panel.PANEL_CSS).
        table_box = {"flex": f"1 1 {TABLE_MIN_WIDTH}px", "min-width": "0"}
        table = pn.Column(self.table, sizing_mode="stretch_width", margin=0, styles=table_box)
        body = pn.FlexBox(table, self.panel, flex_wrap="wrap", align_items="flex-start", sizing_mode="stretch_width")
        self._content = pn.Column(toolbar, body, sizing_mode="stretch_width")
        # A failed load (model.load_error) is said above the table, with a way to try again, until a load works.
        error = self.model.param.load_error
        self.problem = Notice(
            kind="error", dismissible=False, head=pn.bind(problem_head, error), lines=pn.bind(problem_lines, error)
        )
        self.retry_button = pn.widgets.Button(
            label="Try again", color="primary", width=120, visible=pn.bind(bool, error), margin=(0, 10, 8, 10)
        )
        self.retry_button.on_click(lambda _event: self.model.changed())
        self._layout = pn.Column(self.problem, self.retry_button, sizing_mode="stretch_width")
        self.showing_empty: bool | None = None  # which of empty state / table is in the layout (None: neither yet)
        self.panel.param.watch(self._toggle_empty, "mode")
        self.panel.param.watch(lambda e: setattr(self.table, "compact", e.new != "closed"), "mode")
        self._toggle_empty()

    @param.depends("model.summary", watch=True)
    def _toggle_empty(self, *_events: Any) -> None:
        show_empty = self.model.is_empty and not self.model.has_filters and self.panel.mode == "closed"
        if show_empty == self.showing_empty:
            return
        # Swapped rather than hidden: a Tabulator first drawn inside a hidden container can miss the rows sent
        # to it while it finishes initializing, and would stay empty when shown.
        self.showing_empty = show_empty
        self._layout.objects = [self.problem, self.retry_button, self.empty if show_empty else self._content]

    def _export(self) -> io.BytesIO | None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
        self.export_button.filename = f"inventory-{stamp}.csv"
        text = io.StringIO()
        filters = self.model.filters()
        try:
            count = self.model.inventory.export_csv(text, **filters)
        except Exception as exc:  # noqa: BLE001 - one sentence for the person, the details in the log
            report_error("Exporting the items", exc)
            return None
        notify("success", f"Exported {count_of(count, 'item')}.")
        return io.BytesIO(text.getvalue().encode("utf-8"))

    def _on_export_choice(self, event: Any) -> None:
        """Start the chosen download: as a click on its (hidden) FileDownload would (docs/workarounds.md)."""
        download = self.export_xlsx_button if event.new == "xlsx" else self.export_button
        download._clicks += 1  # runs the callback, sends the file, and the browser saves it (auto=True)

    def _export_xlsx(self) -> io.BytesIO | None:
        """The filtered view as an Excel workbook (typed cells; ``Inventory.export_xlsx``)."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
        self.export_xlsx_button.filename = f"inventory-{stamp}.xlsx"
        out = io.BytesIO()
        try:
            count = self.model.inventory.export_xlsx(out, **self.model.filters())
        except Exception as exc:  # noqa: BLE001 - one sentence for the person, the details in the log
            report_error("Exporting the items", exc)
            return None
        notify("success", f"Exported {count_of(count, 'item')}.")
        out.seek(0)
        return out

    def __panel__(self) -> pn.viewable.Viewable:
        return component_root(self._layout, self.messages)
