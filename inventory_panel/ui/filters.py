"""``FilterBar``: search box and category / location / status filters of the inventory table.

Widgets and model stay in step both ways: typing filters the table (in the database), and a filter set elsewhere
(for instance from a summary card) shows up in the widgets.
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from .formatting import STATUS_LABELS
from .model import InventoryModel

ALL = ""  # the "no filter" choice of each menu
# The search box and the menus are drawn by different widgets; one height keeps the filter row aligned.
INPUT_CSS = ".bk-input { height: 36px !important; min-height: 36px; }"


def menu(all_label: str, values: list[str], current: str | None) -> dict[str, str]:
    """Options of a filter menu; keeps the current choice even if no item has it any more."""
    options = {all_label: ALL}
    for value in sorted({*values, *([current] if current else [])}):
        options[value] = value
    return options


class FilterBar(pn.viewable.Viewer):
    """Search and filters; every change re-queries the first page."""

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        m = self.model
        self.search = pn.widgets.TextInput(placeholder="Search name, SKU, supplier, description…",
                                           value=m.search, width=250, margin=(5, 10), stylesheets=[INPUT_CSS])
        self.category = pn.widgets.Select(options=menu("All categories", m.categories, m.category),
                                          value=m.category or ALL, width=165, stylesheets=[INPUT_CSS])
        self.location = pn.widgets.Select(options=menu("All locations", m.locations, m.location),
                                          value=m.location or ALL, width=165, stylesheets=[INPUT_CSS])
        self.status = pn.widgets.Select(options={"Any stock status": ALL, **{v: k for k, v in STATUS_LABELS.items()}},
                                        value=m.status or ALL, width=160, stylesheets=[INPUT_CSS])
        self.clear = pn.widgets.Button(label="Clear filters", color="default", variant="outline", width=120,
                                       visible=m.has_filters)
        self.clear.on_click(lambda _event: self.model.clear_filters())
        self.search.param.watch(lambda e: setattr(self.model, "search", e.new), "value_input")
        for widget, name in ((self.category, "category"), (self.location, "location"), (self.status, "status")):
            widget.param.watch(lambda e, name=name: setattr(self.model, name, e.new or None), "value")
        self._layout = pn.Row(self.search, self.category, self.location, self.status, self.clear, margin=0)

    @param.depends("model.categories", "model.locations", watch=True)
    def _update_menus(self) -> None:
        self.category.options = menu("All categories", self.model.categories, self.model.category)
        self.location.options = menu("All locations", self.model.locations, self.model.location)

    @param.depends("model.search", "model.category", "model.location", "model.status", watch=True)
    def _sync_widgets(self) -> None:
        m = self.model
        if self.search.value_input != m.search:
            self.search.param.update(value=m.search, value_input=m.search)
        self._update_menus()
        self.category.value = m.category or ALL
        self.location.value = m.location or ALL
        self.status.value = m.status or ALL
        self.clear.visible = m.has_filters

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout
