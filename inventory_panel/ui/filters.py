"""``FilterBar``: search box and category / location / status filters of the inventory table.

The search box is the model's ``search`` parameter (``from_param``): typing filters the table in the database. The
menus show the model's filters and set them; a filter set elsewhere (a summary card, a notebook) shows in the
menus. A menu's "all" choice is the model's ``None``, drawn as the empty string: Panel leaves a ``None`` value out of
a widget's first render, so a menu whose "all" choice were ``None`` would show blank (docs/workarounds.md). Their
options and the Clear button follow the model (``pn.bind``).
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from . import a11y, widgets
from .formatting import STATUS_LABELS
from .model import InventoryModel

# The search box and the menus are drawn by different widgets; one height keeps the filter row aligned.
INPUT_CSS = ".bk-input { height: 36px !important; min-height: 36px; }"


ALL = ""  # a menu's "all" choice, the model's None

# Widths (px) the controls start from in the wrapping toolbar: the search box and the menus share a line's room
# (the search box twice as much), and wrap to the next line when the window is narrower than they are together.
SEARCH_BASIS = 240
MENU_BASIS = 140
MENU_MAX = 220


def menu(all_label: str, values: list[str], current: str | None) -> dict[str, str]:
    """Options of a filter menu; keeps the current choice even if no item has it any more."""
    options: dict[str, str] = {all_label: ALL}
    for value in sorted({*values, *([current] if current else [])}):
        options[value] = value
    return options


# What each menu filters by, for screen readers (the label is not drawn).
MENU_LABELS = {"category": "Category", "location": "Location", "status": "Stock status"}


def shown(current: str | None) -> str:
    """What a menu shows for a model filter."""
    return current or ALL


def any_filter(search: str, category: str | None, location: str | None, status: str | None) -> bool:
    return bool(search.strip() or category or location or status)


class FilterBar(pn.viewable.Viewer):
    """Search and filters; every change re-queries the first page."""

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        m = self.model
        # onkeyup: the table filters as the person types (value_input), not only on Enter.
        self.search = pn.widgets.TextInput.from_param(
            m.param.search,
            name="",
            onkeyup=True,
            placeholder="Search name, SKU, supplier…",
            sizing_mode="stretch_width",
            margin=(5, 10),
            styles=widgets.grows(SEARCH_BASIS, 2),
            stylesheets=[INPUT_CSS],
        )
        a11y.hidden_label(self.search, "Search items")
        self.category = self._menu("category", pn.bind(menu, "All categories", m.param.categories, m.param.category))
        self.location = self._menu("location", pn.bind(menu, "All locations", m.param.locations, m.param.location))
        self.status = self._menu("status", {"Any stock status": ALL, **{v: k for k, v in STATUS_LABELS.items()}})
        self.clear = pn.widgets.Button(
            label="Clear filters",
            color="default",
            variant="outline",
            width=120,
            visible=pn.bind(any_filter, m.param.search, m.param.category, m.param.location, m.param.status),
        )
        self.clear.on_click(lambda _event: self.model.clear_filters())
        self.controls = [self.search, self.category, self.location, self.status, self.clear]
        self._layout = widgets.toolbar(*self.controls)

    def _menu(self, name: str, options: Any) -> pn.widgets.Select:
        """A menu showing the model's filter ``name`` and setting it when a person picks a choice.

        Two watchers rather than a bound ``value``: a person's choice sets the widget's value, and param drops a
        reference once its parameter is set, so a bound value would stop following the model after the first pick.
        """
        widget = pn.widgets.Select(
            name="",
            options=options,
            value=shown(getattr(self.model, name)),
            sizing_mode="stretch_width",
            styles=widgets.grows(MENU_BASIS, 1, MENU_MAX),
            stylesheets=[INPUT_CSS],
        )
        a11y.hidden_label(widget, MENU_LABELS[name])  # its first choice says what it filters; the name says it too
        widget.param.watch(lambda event: self.model.param.update({name: event.new or None}), "value")
        self.model.param.watch(lambda event: setattr(widget, "value", shown(event.new)), name)
        return widget

    @param.depends("model.search", watch=True)
    def _search_set(self) -> None:
        # from_param sets the box's value; the typed text (value_input) must follow too, or typing the text the
        # box held before the model changed it (Clear filters) would send no change and filter nothing.
        if self.search.value_input != self.model.search:
            self.search.value_input = self.model.search

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout
