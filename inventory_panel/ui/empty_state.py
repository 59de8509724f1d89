"""``EmptyState``: what a new inventory shows instead of an empty table — load the sample data in one click,
add an item, or import a file."""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from .. import data
from ..words import count_of, plural
from . import styles
from .background import in_worker
from .model import InventoryModel
from .notify import notify, report_error

# The sample file shipped as package data (also used by `inventory-panel load-sample`; notebooks import it from here).
SAMPLE_CSV = data.SAMPLE_CSV


async def load_sample_data(model: InventoryModel) -> int | None:
    """Import ``sample_inventory.csv`` through the normal import path (in a worker thread, off the event loop);
    returns the number of items added."""
    try:
        report = await in_worker(model.inventory.import_csv, SAMPLE_CSV, mode="append")
    except Exception as exc:  # noqa: BLE001 - one sentence for the person, the details in the log
        report_error("Loading the sample data", exc)
        return None
    model.changed()
    if report.skipped:
        skipped = f"{count_of(report.skipped, 'row')} {plural(report.skipped, 'was', 'were')} skipped"
        notify("warning", f"Loaded {count_of(report.inserted, 'sample item')}; {skipped}.")
    else:
        notify("success", f"Loaded {count_of(report.inserted, 'sample item')}.")
    return report.inserted


class EmptyState(pn.viewable.Viewer):
    """A friendly start page for an empty inventory, with the actions the person's role allows."""

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state.")
    add_requested = param.Event(doc="The person asked to add an item.")
    import_requested = param.Event(doc="The person asked to import a CSV file.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        user = self.model.inventory.user
        can_import, can_add = user.can("import"), user.can("add")
        if can_import or can_add:
            text = (
                "Start with the sample data to explore the app, import your own CSV file, or add the first item "
                "by hand."
            )
        else:
            text = "Nothing has been added yet. Ask an editor or an administrator to add items or import a file."
        self._message = pn.pane.HTML(
            f'<div class="empty"><h2>Your inventory is empty</h2><p>{text}</p></div>',
            stylesheets=[styles.EMPTY],
            sizing_mode="stretch_width",
        )
        self.sample_button = pn.widgets.Button(label="Load sample data", color="primary", width=180, visible=can_import)
        self.sample_button.on_click(self._on_sample)
        self.import_button = pn.widgets.Button(label="Import a CSV file", width=180, visible=can_import)
        self.import_button.on_click(lambda _event: self.param.trigger("import_requested"))
        self.add_button = pn.widgets.Button(label="Add an item", width=180, visible=can_add)
        self.add_button.on_click(lambda _event: self.param.trigger("add_requested"))
        buttons = pn.Row(
            pn.layout.HSpacer(),
            self.sample_button,
            self.import_button,
            self.add_button,
            pn.layout.HSpacer(),
            sizing_mode="stretch_width",
        )
        self.layout = pn.Column(self._message, buttons, sizing_mode="stretch_width", margin=(20, 10, 40, 10))

    async def _on_sample(self, _event: Any) -> None:
        if self.sample_button.loading:  # already loading: a second click must not import twice
            return
        self.sample_button.loading = True
        try:
            await load_sample_data(self.model)
        finally:
            self.sample_button.loading = False

    def __panel__(self) -> pn.viewable.Viewable:
        return self.layout
