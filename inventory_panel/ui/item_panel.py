"""``ItemPanel``: the side panel of the inventory view — add an item, or edit, adjust, inspect and delete one.

It opens when the person clicks "Open" on a row (``model.selected_id``) or "Add item", and closes with ✕.
Deleting asks for confirmation first and is refused by the service if the item changed since it was shown; the
delete runs in a worker thread (``background.in_worker``), so a busy database keeps only this person waiting.
"""

from __future__ import annotations

import operator
from typing import Any

import panel as pn
import param

from ..errors import ConflictError, NotFoundError
from . import styles, widgets
from .background import in_worker
from .formatting import esc, status_label
from .history import ItemHistory
from .item_form import ItemForm
from .model import InventoryModel
from .notify import notify, report_error
from .stock import StockAdjustment

PANEL_WIDTH = 460
NARROW = 1000  # window width (px) below which the panel no longer fits beside a readable table
SECTIONS = ("Details", "Stock", "History")
# Beside the table, PANEL_WIDTH wide; where the table and the panel do not fit side by side (inventory_view wraps
# them) the panel takes the whole width, above the table, so it opens where the person is looking.
PANEL_CSS = f"""
:host {{ border-left: 1px solid color-mix(in srgb, var(--design-background-text-color, #1f2933) 14%, transparent);
        padding-left: 8px; flex: 0 1 {PANEL_WIDTH}px; max-width: 100%; box-sizing: border-box; }}
@media (max-width: {NARROW}px) {{
  :host {{ order: -1; flex: 1 1 100%; width: auto !important; border-left: none; padding-left: 0; }}
}}
"""


class ItemPanel(pn.viewable.Viewer):
    """Details of the selected item (tabs: Details, Stock, History) or the form for a new one.

    Public parts: ``title`` (what the panel shows), ``sections`` (the tabs' contents, by tab name) and ``confirm``
    (the dialog that asks before a delete).
    """

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state.")
    mode = param.Selector(
        default="closed",
        objects=["closed", "add", "item"],
        doc="closed; add (the new-item form); item (the selected item).",
    )

    def __init__(self, **params: Any):
        super().__init__(**params)
        # Empty, and its parts not even built, until first opened: most sessions open no item, and building the
        # closed panel's form, stock and history (the history queried the database) was about 40% of building the
        # app of a new session.
        self._built = False
        self._layout = pn.Column(width=PANEL_WIDTH, visible=False, stylesheets=[PANEL_CSS], margin=(0, 10, 0, 0))

    def _build(self) -> None:
        if self._built:
            return
        self._built = True
        self.form = ItemForm(model=self.model)
        self.form.param.watch(self._after_save, "saved")
        self.stock = StockAdjustment(model=self.model)
        self.history = ItemHistory(model=self.model)
        self.title = widgets.heading()
        self._close = pn.widgets.Button(
            label="✕", color="default", variant="outline", width=40, margin=(8, 10), description="Close this panel"
        )
        self._close.on_click(lambda _event: self.close())
        self.delete_button = pn.widgets.Button(label="Delete item…", color="danger", variant="outline", width=115)
        self.delete_button.on_click(lambda _event: self.ask_delete())
        self._confirm_text = pn.pane.HTML("", stylesheets=[styles.BANNER], sizing_mode="stretch_width")
        self.confirm_button = pn.widgets.Button(label="Delete", color="danger", width=110)
        self.confirm_button.on_click(self._on_confirm_delete)
        self._cancel = pn.widgets.Button(label="Keep it", color="default", variant="outline", width=110)
        self._cancel.on_click(lambda _event: setattr(self.confirm, "open", False))
        # A modal dialog: the question appears where the person is looking, however far the page is scrolled.
        self.confirm = pn.Modal(
            pn.Column(
                self._confirm_text,
                pn.Row(pn.layout.HSpacer(), self._cancel, self.confirm_button, sizing_mode="stretch_width"),
                width=420,
            ),
            open=False,
            show_close_button=False,
            background_close=True,
        )
        # Sections are shown and hidden rather than swapped, so opening an item only updates values (fast).
        self.section = pn.widgets.RadioButtonGroup(
            options=list(SECTIONS), value="Details", color="primary", variant="outline", margin=(4, 10, 8, 10)
        )
        self.form.actions.objects = [self.delete_button]
        contents = {"Details": (self.form, self.confirm), "Stock": (self.stock,), "History": (self.history,)}
        self.sections = {
            name: pn.Column(*parts, sizing_mode="stretch_width", visible=pn.bind(operator.eq, self.section, name))
            for name, parts in contents.items()
        }
        self._layout.objects = [
            pn.Row(self.title, self._close, sizing_mode="stretch_width", margin=0),
            self.section,
            *self.sections.values(),
        ]

    # -- opening and closing -----------------------------------------------------------------------------------

    def open_add(self) -> None:
        """Show an empty form for a new item."""
        self._build()
        self.model.selected_id = None
        self.form.load(None)
        self.mode = "add"

    def close(self) -> None:
        self.model.selected_id = None
        self.mode = "closed"

    @param.depends("model.selected_id", watch=True)
    def _selected(self) -> None:
        item_id = self.model.selected_id
        if item_id is None:
            if self.mode == "item":
                self.mode = "closed"
            return
        self._build()
        try:
            item = self.model.inventory.get(item_id)
        except NotFoundError as exc:
            notify("warning", str(exc))
            self.model.selected_id = None
            return
        except Exception as exc:  # noqa: BLE001 - one sentence for the person, the details in the log
            report_error("Opening the item", exc)
            return
        self.form.load(item)
        self.stock.item_id = item_id
        self.history.item_id = item_id
        self.confirm.open = False
        self.delete_button.visible = self.model.inventory.user.can("delete")
        self.mode = "item"
        self._update_title(item)

    @param.depends("mode", watch=True)
    def _layout_mode(self) -> None:
        self._build()
        adding = self.mode == "add"
        if adding:
            self.title.object = '<div class="title">New item</div><div class="sub">Fields marked * are required.</div>'
        self.section.visible = self.form.actions.visible = not adding
        self.section.value = "Details"
        self._layout.visible = self.mode != "closed"

    @param.depends("model.data_version", watch=True)
    def _data_changed(self) -> None:
        if self.mode != "item" or self.model.selected_id is None:
            return
        try:
            self._update_title(self.model.inventory.get(self.model.selected_id))
        except NotFoundError:
            self.title.object = '<div class="title">Item deleted</div><div class="sub">Someone deleted this item.</div>'
        except Exception:  # noqa: BLE001 - a background refresh failing is logged; the panel keeps what it shows
            return

    def _update_title(self, item: dict[str, Any]) -> None:
        sku = f" · SKU <b>{esc(item['sku'])}</b>" if item.get("sku") else ""
        self.title.object = (
            f'<div class="title">{esc(item["item_name"])}</div>'
            f'<div class="sub">{esc(item["category"])}{sku} · {esc(status_label(item["status"]))}'
            "</div>"
        )

    def _after_save(self, _event: Any) -> None:
        if self.mode == "add" and self.form.item_id is not None:
            self.model.selected_id = self.form.item_id

    # -- deleting -------------------------------------------------------------------------------------------------

    def ask_delete(self) -> None:
        name = self.form.values()["item_name"] or "this item"
        self._confirm_text.object = (
            f'<div class="banner error"><div class="head">Delete {esc(name)}?</div>'
            "The item is removed from the inventory; the audit log keeps a copy.</div>"
        )
        self.confirm.open = True

    async def _on_confirm_delete(self, _event: Any) -> None:
        await self.delete()

    async def delete(self) -> bool:
        """Delete the item shown (written in a worker thread); returns True when it was deleted."""
        item_id, version = self.form.item_id, self.form.version
        if item_id is None or version is None:
            return False
        name = self.form.loaded.get("item_name") or f"item {item_id}"
        self.confirm.open = False
        try:
            await in_worker(self.model.inventory.delete, item_id, version)
        except ConflictError as exc:
            self.form.reload()  # the current values, then the reason beside them
            notify("warning", f"Not deleted: {exc}", beside=self.form.banner)
            return False
        except Exception as exc:  # noqa: BLE001 - one sentence for the person, the details in the log
            report_error(f"Deleting {name}", exc, beside=self.form.banner)
            return False
        notify("success", f"Deleted {name}.")
        self.close()
        self.model.changed()
        return True

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout
