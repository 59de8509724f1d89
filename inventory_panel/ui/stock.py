"""``StockAdjustment``: receive or issue units of one item, with the reason recorded as a stock movement.

The service applies the change in SQL (``quantity = quantity + delta``), so two people adjusting at once both
count and the quantity can never go below zero; no version check is needed here. The write runs in a worker
thread (``background.in_worker``), so a database busy with another change keeps only this person waiting.
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from ..errors import InsufficientStockError, NotFoundError, ValidationError
from ..inventory import MAX_REASON
from . import styles
from .background import in_worker
from .formatting import esc, fmt_int, status_label
from .messages import Notice
from .model import InventoryModel
from .notify import notify, report_error

DIRECTIONS = {"Receive (+)": 1, "Issue (−)": -1}


class StockAdjustment(pn.viewable.Viewer):
    """Amount, direction and reason for one item's stock change."""

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state.")
    item_id = param.Integer(default=None, allow_None=True, doc="The item whose stock is adjusted.")
    quantity = param.Integer(default=None, allow_None=True, doc="The item's quantity as last read.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.direction = pn.widgets.RadioButtonGroup(
            options=list(DIRECTIONS), value="Receive (+)", color="default", variant="outline"
        )
        self.amount = pn.widgets.IntInput(label="Units", value=1, start=1, width=120)
        self.reason = pn.widgets.TextInput(
            label="Reason *",
            max_length=MAX_REASON,
            sizing_mode="stretch_width",
            placeholder="e.g. delivery PO-1042, used for project X, damaged",
        )
        self.apply_button = pn.widgets.Button(label="Apply", color="primary", width=120)
        self.apply_button.on_click(self._on_apply)
        self._pending = False  # an adjustment is being written: a second click must not apply it twice
        self.banner = Notice(kind="error")
        self._now = pn.pane.HTML("", stylesheets=[styles.PANEL_TITLE], margin=(5, 10))
        self._load()
        self._layout = pn.Column(
            self._now,
            self.banner,
            self.direction,
            pn.Row(self.amount, margin=0),
            self.reason,
            self.apply_button,
            sizing_mode="stretch_width",
        )

    @param.depends("item_id", "model.data_version", watch=True)
    def _load(self) -> None:
        if self.item_id is None:
            self.quantity = None
            return
        try:
            item = self.model.inventory.get(self.item_id)
        except NotFoundError:
            self.quantity = None
            return
        except Exception as exc:  # noqa: BLE001 - one sentence for the person, the details in the log
            report_error("Loading the stock level", exc, beside=self.banner)
            return
        self.quantity = int(item["quantity"])
        self._now.object = (
            f'<div class="sub">In stock now: <b>{fmt_int(item["quantity"])}</b>'
            f" · {esc(status_label(item['status']))}"
            + (f" · minimum {fmt_int(item['minimum_stock'])}" if item["minimum_stock"] is not None else "")
            + "</div>"
        )
        allowed = self.model.inventory.user.can("adjust")
        for widget in (self.direction, self.amount, self.reason, self.apply_button):
            widget.disabled = not allowed

    async def _on_apply(self, _event: Any) -> None:
        await self.apply()

    async def apply(self) -> bool:
        """Apply the adjustment (written in a worker thread); returns True when the stock changed."""
        if self.item_id is None or self._pending:
            return False
        amount = self.amount.value
        if amount is None or amount < 1:
            notify("error", "Enter how many units to receive or issue: 1 or more.", beside=self.banner)
            return False
        delta = DIRECTIONS[self.direction.value] * int(amount)
        reason = self.reason.value_input if self.reason.value_input is not None else self.reason.value
        self._pending = self.apply_button.loading = True
        try:
            item = await in_worker(self.model.inventory.adjust_stock, self.item_id, delta, reason)
        except (ValidationError, InsufficientStockError, NotFoundError) as exc:
            notify("error", f"Stock not changed: {exc}", beside=self.banner)
            return False
        except Exception as exc:  # noqa: BLE001 - one sentence for the person, the details in the log
            report_error("Adjusting the stock", exc, beside=self.banner)
            return False
        finally:
            self._pending = self.apply_button.loading = False
        self.reason.param.update(value="", value_input="")
        self.amount.value = 1
        verb = "Received" if delta > 0 else "Issued"
        notify(
            "success",
            f"{verb} {abs(delta):,} × {item['item_name']}; {item['quantity']:,} now in stock.",
            beside=self.banner,
        )
        self.model.changed()
        return True

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout
