"""``InventoryModel``: the state every view shares — filters, paging, sorting, selection, the current page, summary.

It holds no widgets and imports nothing from Panel, so it can be unit-tested on its own. Views watch its
parameters; in particular ``data_version`` is bumped after every change of the data (this session's own writes and
other sessions' writes seen by the live-update watcher), so a view that shows anything derived from the database
reloads itself when ``data_version`` changes.
"""

from __future__ import annotations

import logging
import math
import weakref
from typing import Any

import pandas as pd
import param

from ..inventory import ITEM_COLUMNS, SEARCH_COUNT_LIMIT, SORTABLE, STATUSES, Inventory, Page

log = logging.getLogger(__name__)

PAGE_SIZES = (10, 25, 50, 100)
EMPTY_SUMMARY: dict[str, Any] = {
    "items": 0,
    "units": 0,
    "total_value": 0,
    "categories": 0,
    "low_stock": 0,
    "out_of_stock": 0,
}


# Inventory -> its shared model (InventoryModel.for_inventory); an entry goes when its Inventory is collected.
_MODELS: weakref.WeakKeyDictionary[Inventory, InventoryModel] = weakref.WeakKeyDictionary()


class InventoryModel(param.Parameterized):
    """Shared, UI-free state of one app session over one ``Inventory``."""

    inventory = param.ClassSelector(class_=Inventory, doc="The service acting as this session's user.")
    search = param.String(default="", doc="Free text matched against name, SKU, supplier and description.")
    category = param.String(default=None, allow_None=True, doc="Only items of this category (None: all).")
    location = param.String(default=None, allow_None=True, doc="Only items at this location (None: all).")
    status = param.Selector(
        default=None,
        objects=[None, *STATUSES],
        doc="Only items whose stock status is 'low', 'out' or 'ok' (None: all).",
    )
    sort_by = param.Selector(default="item_name", objects=list(SORTABLE), doc="Column the database sorts by.")
    descending = param.Boolean(default=False, doc="Sort from largest to smallest.")
    page = param.Integer(default=0, bounds=(0, None), doc="Current page, 0-based.")
    page_size = param.Integer(default=25, bounds=(1, 1000), doc="Rows per page.")
    rows = param.DataFrame(default=None, allow_None=True, doc="The items of the current page (ITEM_COLUMNS).")
    total = param.Integer(default=0, bounds=(0, None), doc="Number of items matching the filters.")
    total_exact = param.Boolean(default=True, doc="False when a search stopped counting: more than total match.")
    summary = param.Dict(
        default=None,
        allow_None=True,
        doc="Headline figures of the whole inventory (Inventory.summary), ignoring filters.",
    )
    categories = param.List(default=[], item_type=str, doc="Categories in use, for the filter menu.")
    locations = param.List(default=[], item_type=str, doc="Locations in use, for the filter menu.")
    selected_id = param.Integer(default=None, allow_None=True, doc="Id of the item the user has selected, if any.")
    data_version = param.Integer(default=0, doc="Bumped whenever the data changed: own writes or other sessions'.")
    change_token = param.Integer(default=0, doc="Inventory.change_token() as of the last refresh.")
    external = param.Boolean(
        default=False, doc="True while reloading because of another session's write (not this session's)."
    )
    load_error = param.String(
        default=None,
        allow_None=True,
        doc="Why the last refresh failed (shown instead of the table), None when it worked.",
    )

    def __init__(self, **params: Any):
        super().__init__(**params)
        # (filters, page size and data version; page; its first and last sort keys) of the page shown.
        self._shown: tuple[tuple[Any, ...], int, Any, Any] | None = None
        if self.rows is None:
            self.rows = pd.DataFrame(columns=list(ITEM_COLUMNS))
        if self.summary is None:
            self.summary = dict(EMPTY_SUMMARY)
        if self.inventory is not None:
            self.changed(bump=False)

    @classmethod
    def for_inventory(cls, inventory: Inventory) -> InventoryModel:
        """The one model of ``inventory`` in this process: components built from the same ``Inventory`` object
        share it (filters, selection, reloads), so an import in one shows in all. Held weakly by the inventory."""
        model = _MODELS.get(inventory)
        if model is None:
            model = _MODELS[inventory] = cls(inventory=inventory)
        return model

    # -- derived values -------------------------------------------------------------------------------------------

    @property
    def page_count(self) -> int:
        """Number of pages for the current filters (at least 1, so "page 1 of 1" reads well when empty); when the
        count stopped (``total_exact`` False) one more than the pages counted, so that "Next" stays possible."""
        return max(1, math.ceil(self.total / self.page_size) + (0 if self.total_exact else 1))

    @property
    def is_empty(self) -> bool:
        """True when the database holds no item at all (not merely none matching the filters)."""
        return int(self.summary.get("items", 0)) == 0

    @property
    def has_filters(self) -> bool:
        return bool(self.search.strip() or self.category or self.location or self.status)

    def filters(self) -> dict[str, Any]:
        """The current filters and sort order as keyword arguments of ``Inventory.query`` / ``export_csv``."""
        return {
            "search": self.search.strip() or None,
            "category": self.category,
            "location": self.location,
            "status": self.status,
            "sort_by": self.sort_by,
            "descending": self.descending,
        }

    def row(self, item_id: int) -> dict[str, Any] | None:
        """The item with ``item_id`` as shown on the current page, or None when it is not on it."""
        match = self.rows[self.rows["id"] == item_id]
        return None if match.empty else match.iloc[0].to_dict()

    # -- actions --------------------------------------------------------------------------------------------------

    def clear_filters(self) -> None:
        self.param.update(search="", category=None, location=None, status=None)

    def sort(self, column: str, descending: bool = False) -> None:
        """Sort by ``column`` (one request to the database, back to the first page)."""
        with param.parameterized.discard_events(self):
            self.page = 0
        self.param.update(sort_by=column, descending=descending)

    def refresh(self, *, summary: bool = True) -> None:
        """Re-query the current page (and the summary unless ``summary=False``: paging, sorting and filtering do not
        change it); clamps ``page`` if the data shrank meanwhile.

        Moving by one page from the page shown, with the same filters and order, seeks from that page's first or
        last row in the sort index (``query(after=…)``/``before=…``) instead of skipping ``page × page_size`` rows,
        so a flip deep into a million items costs what the first page does."""
        if self.inventory is None:
            return
        try:
            page = self._query_page()
            if page.rows.empty and page.total and self.page > 0:
                with param.parameterized.discard_events(self):
                    self.page = max(0, math.ceil(page.total / self.page_size) - 1)
                page = self.inventory.query(**self._page_request())
            figures = self.inventory.summary() if summary else self.summary
        except Exception as exc:  # shown to the person as a message; details go to the log
            log.exception("loading the inventory failed")
            self.load_error = _message(exc)
            return
        self._shown = (self._page_signature(), self.page, page.first_key, page.last_key)
        self.param.update(
            rows=page.rows, total=page.total, total_exact=page.total_exact, summary=figures, load_error=None
        )

    def _page_signature(self) -> tuple[Any, ...]:
        return (*self.filters().values(), self.page_size, self.data_version)

    def _page_request(self) -> dict[str, Any]:
        # A search counts its matches up to SEARCH_COUNT_LIMIT past the page: "more than 1,000" is as useful as
        # the exact number, and counting every match of a common word reads every matching row.
        return {
            "offset": self.page * self.page_size,
            "limit": self.page_size,
            "count_limit": SEARCH_COUNT_LIMIT,
            **self.filters(),
        }

    def _query_page(self) -> Page:
        ask = self._page_request()
        shown = self._shown
        if shown is not None and shown[0] == self._page_signature() and shown[2] is not None:
            if self.page == shown[1] + 1:
                return self.inventory.query(after=shown[3], **ask)
            if self.page == shown[1] - 1:
                return self.inventory.query(before=shown[2], **ask)
        return self.inventory.query(**ask)

    def changed(self, *, bump: bool = True) -> None:
        """Call after any write (or when another session wrote): reload everything, then bump ``data_version``."""
        if self.inventory is None:
            return
        try:
            token = self.inventory.change_token()
            categories = self.inventory.distinct_values("category")
            locations = self.inventory.distinct_values("location")
        except Exception as exc:  # shown to the person as a message; details go to the log
            log.exception("loading the inventory failed")
            self.load_error = _message(exc)
            return
        self.param.update(change_token=token, categories=categories, locations=locations)
        self.refresh()
        if bump:
            self.data_version += 1

    def external_change(self, token: int) -> bool:
        """Another session (or process) wrote: reload unless this session has already seen ``token``."""
        if token <= self.change_token:
            return False
        self.external = True
        try:
            self.changed()
        finally:
            self.external = False
        return True

    # -- reactions --------------------------------------------------------------------------------------------------

    @param.depends("search", "category", "location", "status", watch=True)
    def _filters_changed(self) -> None:
        # New filters start again at the first page; one query, not two.
        with param.parameterized.discard_events(self):
            self.page = 0
        self.refresh(summary=False)

    @param.depends("sort_by", "descending", "page", "page_size", watch=True)
    def _view_changed(self) -> None:
        self.refresh(summary=False)

    @param.depends("inventory", watch=True)
    def _inventory_changed(self) -> None:
        self.changed()


def _message(exc: Exception) -> str:
    from ..errors import InventoryError

    if isinstance(exc, InventoryError):
        return str(exc)
    return "The inventory could not be loaded because of an unexpected error; the details are in the server log."
