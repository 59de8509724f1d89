"""``ItemHistory``: what happened to one item — stock movements and audited changes, newest first, as a timeline."""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
import param

from ..errors import PermissionDeniedError
from ..words import count_of
from . import styles
from .formatting import esc, fmt_time
from .model import InventoryModel
from .notify import report_error

MAX_ENTRIES = 200  # a long-lived item can have thousands of movements; the newest are what a person reads here


def history_html(history: pd.DataFrame) -> str:
    """The history as an escaped HTML timeline (reasons and names are user text)."""
    if history.empty:
        return '<div class="none">No history yet.</div>'
    items = []
    for entry in history.head(MAX_ENTRIES).itertuples(index=False):
        what = str(entry.what).replace("_", " ")
        detail = "" if entry.detail is None else str(entry.detail)
        items.append(
            f'<li><div class="what">{esc(what)}</div>'
            f'<div class="meta">{esc(entry.actor)} · {esc(fmt_time(entry.at))}</div>'
            f'<div class="detail">{esc(detail)}</div></li>'
        )
    more = len(history) - MAX_ENTRIES
    older = count_of(more, "older entry", "older entries")
    tail = f'<div class="none">… and {older} (see the audit log).</div>' if more > 0 else ""
    return f'<ol class="timeline">{"".join(items)}</ol>{tail}'


class ItemHistory(pn.viewable.Viewer):
    """One item's history; follows ``item_id`` and every data change."""

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state.")
    item_id = param.Integer(default=None, allow_None=True, doc="The item whose history is shown.")
    entries = param.DataFrame(default=None, allow_None=True, doc="The history as read (Inventory.history).")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._pane = pn.pane.HTML("", stylesheets=[styles.TIMELINE], sizing_mode="stretch_width", margin=(5, 10))
        self._load()

    @param.depends("item_id", "model.data_version", watch=True)
    def _load(self) -> None:
        if self.item_id is None:
            return
        try:
            self.entries = self.model.inventory.history(self.item_id)
        except PermissionDeniedError:
            return
        except Exception as exc:  # noqa: BLE001 - one sentence for the person, the details in the log
            report_error("Loading the item history", exc)
            return
        self._pane.object = history_html(self.entries)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._pane
