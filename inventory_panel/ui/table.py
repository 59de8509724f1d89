"""``ItemsTable``: the inventory as an editable Tabulator, one page at a time, paged and sorted in the database.

The table never holds more than the model's current page: header clicks set ``model.sort_by``/``descending`` and
the pager sets ``model.page``, so paging and sorting happen in SQL (Tabulator's remote pagination is not used; with
editing it can target the wrong row). A cell edit saves that one field with the row's version; if someone changed
the row meanwhile the save is refused, the person's value stays visible in a banner and the row reloads.

While a cell editor is open, incoming refreshes (live updates from other sessions) are held back, because
replacing the table's data would close the editor and lose what the person is typing.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from functools import partial
from typing import Any

import pandas as pd
import panel as pn
import param

from ..errors import ConflictError, DuplicateValueError, InventoryError, ValidationError
from ..fields import FIELD_BY_NAME, FIELDS, Field
from ..stock_status import STATUS
from . import styles, widgets
from .background import in_worker
from .columns import HTML, STATUS_COLUMN, Columns, columns_for, field_cells, field_formatter, status_cells
from .messages import Notice
from .model import PAGE_SIZES, InventoryModel
from .notify import notify, report_error
from .pager import Pager


def table_columns(fields: Iterable[Field] = FIELDS) -> Columns:
    """The table's columns from the field spec (fields.Display): order, titles, widths, formatters, what narrows
    away when the item panel opens; the stock status among them."""
    return columns_for("table", {STATUS: STATUS_COLUMN}, fields)


COLUMNS = table_columns()
SHOWN = COLUMNS.names
EDITABLE = COLUMNS.field_names  # every field shown is edited in its cell
OPEN_COLUMN = "open"  # a data column (not a Tabulator button) so the row colour covers it too
OPEN_LABEL = "Open ›"
OPEN_HTML = f'<span class="open-item">{OPEN_LABEL}</span>'
OPEN_SELECTED = f'<span class="open-item selected">{OPEN_LABEL}</span>'
# A cell editor that never reports back (closed with Escape) stops holding refreshes after this long.
EDIT_HOLD_SECONDS = 90.0
# Tabulator events name rows by position. For this long after another session's write moved the rows, a click or
# edit whose position meant another item before the move is refused: the browser may still show the old rows.
# (The person's own paging, sorting and filtering are not guarded: they act on what they then see.)
RACE_SECONDS = 2.0
TITLES = {**COLUMNS.titles, OPEN_COLUMN: ""}
WIDTHS = {**COLUMNS.widths, OPEN_COLUMN: 75}
HIDDEN = ("version",)
# Hidden while the item panel is open, so the table still fits beside it.
COMPACT_HIDDEN = COLUMNS.compact_hidden

# After styles.TABLE: the open column, and rows coloured by status only.
ITEMS_CSS = """
.tabulator-cell[tabulator-field="open"] { cursor: pointer; }
/* No zebra stripes: a row's colour means its stock status here. */
.tabulator .tabulator-row.tabulator-row-even { background-color: var(--fill-color, transparent); }
.tabulator-cell[tabulator-field="open"] { color: var(--design-primary-color, #0F766E); font-weight: 600; }
"""


def editor_for(field: Field) -> dict[str, Any]:
    """The Tabulator editor of a field, from its spec (limits included); the service validates again."""
    if field.kind == "integer":
        return {
            "type": "number",
            "min": int(field.minimum or 0),
            "max": int(field.maximum or 0) or None,
            "step": 1,
            "selectContents": True,
        }
    attrs: dict[str, Any] = {"maxlength": str(field.max_length)} if field.max_length else {}
    # Prices are edited as text so that the exact decimal the person typed reaches Field.parse (no float).
    return {"type": "input", "selectContents": True, "elementAttributes": attrs}


def formatter_for(name: str) -> dict[str, Any]:
    """The Tabulator formatter of a column: by the field's kind; HTML only for the status and open columns, whose
    cells are fixed strings of ours."""
    if name in (STATUS, OPEN_COLUMN):
        return dict(HTML)
    return field_formatter(FIELD_BY_NAME[name])


def table_frame(rows: pd.DataFrame, selected_id: int | None = None, columns: Columns = COLUMNS) -> pd.DataFrame:
    """The page as the table shows it: indexed by item id, prices as exact decimal text, the status as a marked-up
    label and the open item's marker, both of which the style sheet turns into row colours (styles.STATUS_ROWS).

    Built column by column from plain lists in one constructor: this runs on every page flip."""
    ids = rows["id"].astype("int64").to_numpy()
    index = pd.Index(ids, name="id")
    data: dict[str, Any] = {}
    for f in columns.fields:
        data[f.name] = field_cells(f, rows[f.name], index)
    data[STATUS] = status_cells(rows[STATUS], index)
    data[OPEN_COLUMN] = pd.Series(
        [OPEN_SELECTED if item_id == selected_id else OPEN_HTML for item_id in ids.tolist()], index=index, dtype=object
    )
    data["version"] = rows["version"].astype("int64").to_numpy()
    return pd.DataFrame(data, index=index, columns=[*columns.names, OPEN_COLUMN, "version"])


def shows_the_same(shown: pd.DataFrame | None, frame: pd.DataFrame) -> bool:
    """True if ``frame`` holds what the browser shows (``shown``), the rows' versions aside."""
    if shown is None or not shown.index.equals(frame.index) or list(shown.columns) != list(frame.columns):
        return False
    return all(
        all(a == b or (pd.isna(a) and pd.isna(b)) for a, b in zip(shown[c].tolist(), frame[c].tolist(), strict=True))
        for c in frame.columns
        if c != "version"
    )


def shown_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return "(empty)"
    return str(value)


def column_options() -> list[dict[str, Any]]:
    """Tabulator options per column, beyond what Panel sets: decimals sort as numbers (they are sent as exact text).
    (Every column without a fixed width keeps ``widgets.FLEX_MIN_WIDTH``: the name stays readable.)"""
    return [{"field": f.name, "sorter": "number"} for f in COLUMNS.fields if f.kind == "decimal"]


class ItemsTable(pn.viewable.Viewer):
    """The editable items table with its pager.

    Public parts: ``table`` (the Tabulator a person edits, sorts and clicks), ``pager``, ``conflict``.
    """

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state.")
    refresh_pending = param.Boolean(default=False, doc="A refresh arrived while a cell was being edited.")
    compact = param.Boolean(default=False, doc="Show fewer columns (the item panel is open beside the table).")

    def __init__(self, **params: Any):
        super().__init__(**params)
        can_edit = self.model.inventory is not None and self.model.inventory.user.can("edit")
        self._editing: tuple[int, float] | None = None
        self._versions: dict[int, int] = {}  # item id -> version, as last read from the database (see _item_at)
        self._superseded: list[tuple[float, pd.Index]] = []  # ids of recently replaced pages, with when
        self.conflict = Notice(kind="warning")
        editors: dict[str, Any] = {name: editor_for(FIELD_BY_NAME[name]) if can_edit else None for name in EDITABLE}
        editors[STATUS] = editors[OPEN_COLUMN] = None
        self.table = widgets.table(
            table_frame(self.model.rows, self.model.selected_id),
            titles=TITLES,
            widths=WIDTHS,
            pagination=None,
            layout="fit_columns",
            min_height=120,
            editors=editors,
            formatters={n: formatter_for(n) for n in (*SHOWN, OPEN_COLUMN)},
            text_align=dict.fromkeys(COLUMNS.numeric, "right"),
            header_align=dict.fromkeys(COLUMNS.numeric, "right"),
            sortable={STATUS: False, OPEN_COLUMN: False},
            hidden_columns=list(HIDDEN),
            header_tooltips={OPEN_COLUMN: "Open an item to edit all its fields, adjust its stock or see its history"},
            stylesheets=[styles.TABLE, ITEMS_CSS, styles.STATUS_ROWS],
            margin=(0, 10),
            # One page of at most 100 rows: drawing them all ("basic") is cheaper than the virtual renderer's
            # measuring, which was a fifth of the browser's work before a new session's first rows.
            configuration={
                "columns": column_options(),
                "renderVertical": "basic",
                "placeholder": "No items match these filters.",
            },
            sorters=self._sorters(),
        )
        self.table.on_edit(self._on_edit)
        self.table.on_click(self._on_click)
        self.table.param.watch(self._on_sort, "sorters")

        self.pager = Pager(source=self.model, page_sizes=list(PAGE_SIZES))
        self._layout = pn.Column(self.conflict, self.table, self.pager, sizing_mode="stretch_width")

    # -- what is shown --------------------------------------------------------------------------------------------

    @param.depends("compact", watch=True)
    def _columns(self) -> None:
        self.table.hidden_columns = [*HIDDEN, *(COMPACT_HIDDEN if self.compact else ())]

    def _sorters(self) -> list[dict[str, str]]:
        if self.model.sort_by not in SHOWN:
            return []
        return [{"field": self.model.sort_by, "dir": "desc" if self.model.descending else "asc"}]

    @param.depends("model.sort_by", "model.descending", watch=True)
    def _follow_model(self) -> None:
        # The order may be set from elsewhere (a notebook driving the model): keep the header arrow truthful.
        if self.table.sorters != self._sorters():
            self.table.sorters = self._sorters()

    @param.depends("model.rows", "model.selected_id", watch=True)
    def _rows_changed(self) -> None:
        if self.editing_item is not None:
            self.refresh_pending = True
            return
        self._show()

    def _show(self) -> None:
        self.refresh_pending = False
        frame = table_frame(self.model.rows, self.model.selected_id)
        self._versions = dict(zip(frame.index.tolist(), frame["version"].tolist(), strict=True))
        if shows_the_same(self.table.value, frame):
            # Only the rows' versions changed (the person's own edit, reloaded): the browser already shows every
            # cell. Sending the page would make Tabulator redraw it all, closing the cell editor that Tab has just
            # opened and dropping keyboard focus (docs/workarounds.md); the server keeps the new versions for the
            # next edit's conflict check.
            with param.parameterized.discard_events(self.table):
                self.table.value = frame
            return
        old = self.table.value.index
        if self.model.external and not old.equals(frame.index):
            now = time.monotonic()
            self._superseded = [(t, ids) for t, ids in self._superseded if now - t < RACE_SECONDS] + [(now, old)]
        self.table.value = frame

    def _on_sort(self, event: param.parameterized.Event) -> None:
        sorters = [s for s in event.new if s.get("field") in SHOWN]
        if not sorters:
            return
        field, descending = sorters[0]["field"], sorters[0].get("dir") == "desc"
        if (field, descending) != (self.model.sort_by, self.model.descending):
            self.model.sort(field, descending)

    # -- editing --------------------------------------------------------------------------------------------------

    @property
    def editing_item(self) -> int | None:
        """Id of the row whose cell editor is open (as far as the server can tell), else None."""
        if self._editing is None:
            return None
        item_id, since = self._editing
        if time.monotonic() - since > EDIT_HOLD_SECONDS:
            self._editing = None
            return None
        return item_id

    def _item_at(self, row: int) -> tuple[int, int]:
        """The item at row position ``row`` and its version as last read from the database. (Not the version in the
        table's value: an edit brings the browser's whole page back into it, and the browser is not sent a page whose
        versions alone changed.)"""
        frame = self.table.value
        item_id = int(frame.index[row])
        return item_id, int(self._versions.get(item_id, frame["version"].iloc[row]))

    def ambiguous(self, row: int) -> bool:
        """True if row position ``row`` held another item moments ago (the browser may not have caught up)."""
        now = time.monotonic()
        item_id = self.table.value.index[row]
        return any(now - t < RACE_SECONDS and (row >= len(ids) or ids[row] != item_id) for t, ids in self._superseded)

    def _on_click(self, event: Any) -> None:
        if self.ambiguous(event.row):
            return  # the person clicked a row that has just been replaced; the new rows are on their way
        item_id, _version = self._item_at(event.row)
        if event.column == OPEN_COLUMN:
            self._stop_editing()
            self.model.selected_id = item_id
        elif event.column in EDITABLE and not self.table.disabled and self.model.inventory.user.can("edit"):
            # Tabulator opens the editor on this click: hold refreshes until the edit is committed.
            self._editing = (item_id, time.monotonic())
        else:
            self._stop_editing()

    def _stop_editing(self) -> None:
        self._editing = None
        if self.refresh_pending:
            self._show()

    def _on_edit(self, event: Any) -> None:
        self._editing = None
        field = FIELD_BY_NAME[event.column]
        value = event.value
        if self.ambiguous(event.row):
            notify(
                "warning",
                f"The table was refreshing while you edited; your {field.label.lower()} "
                f"{shown_value(value)} was not saved. Please enter it again.",
                beside=self.conflict,
            )
            pn.state.execute(self._show, schedule=True)
            return
        item_id, version = self._item_at(event.row)
        name = str(self.table.value["item_name"].iloc[event.row] if field.name != "item_name" else event.old)
        # The row is read above, as the edit arrives; the write waits in a worker thread (a busy database keeps
        # only this person waiting) and its outcome is shown from the event loop.
        pn.state.execute(partial(self._save_edit, item_id, version, field, value, name))

    async def _save_edit(self, item_id: int, version: int, field: Field, value: Any, name: str) -> None:
        try:
            await in_worker(self.model.inventory.update, item_id, {field.name: value}, version)
        except (ValidationError, DuplicateValueError) as exc:
            # Refused for its value (a rule, or a SKU another item has): the message says which and what to do.
            problem = "; ".join(exc.errors.values()) if isinstance(exc, ValidationError) else str(exc)
            notify("error", f"{name}: {field.label.lower()} not saved. {problem}", beside=self.conflict)
            pn.state.execute(self._show, schedule=True)
            return
        except ConflictError as exc:
            self._conflict(exc, field, value, name)
        except InventoryError as exc:
            report_error(f"Saving {field.label.lower()} of {name}", exc, beside=self.conflict)
        except Exception as exc:  # noqa: BLE001 - unexpected: one sentence for the person, the traceback in the log
            report_error(f"Saving {field.label.lower()} of {name}", exc, beside=self.conflict)
            pn.state.execute(self._show, schedule=True)
            return
        else:
            notify("success", f"Saved {field.label.lower()} of {name}.", beside=self.conflict)
        # After the edit event has been processed: a data change made while Panel handles the browser's own edit
        # would not be sent back to that browser.
        pn.state.execute(self._reload_after_edit, schedule=True)

    def _reload_after_edit(self) -> None:
        self.model.changed()
        if self.refresh_pending:
            self._show()

    def _conflict(self, exc: ConflictError, field: Field, value: Any, name: str) -> None:
        current = exc.current or {}
        lines = [f"Your {field.label.lower()}: {shown_value(value)}"]
        if current and field.name in current:
            lines.append(
                f"Current {field.label.lower()}: {shown_value(current.get(field.name))}"
                f" (changed by {current.get('updated_by')})"
            )
        self.conflict.show("warning", str(exc), lines)
        notify("warning", f"{name}: your change was not saved. {exc}", shown=True)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout
