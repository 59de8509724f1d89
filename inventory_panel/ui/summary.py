"""``SummaryCards``: the headline figures (items, units, total value, categories, low stock, out of stock)."""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from ..stock_status import LABELS
from . import styles
from .component_root import component_root
from .formatting import fmt_int, fmt_money
from .model import InventoryModel

CARDS = (
    ("items", "Items", fmt_int, ""),
    ("units", "Units in stock", fmt_int, ""),
    ("total_value", "Total value", fmt_money, ""),
    ("categories", "Categories", fmt_int, ""),
    ("low_stock", LABELS["low"], fmt_int, "low"),
    ("out_of_stock", LABELS["out"], fmt_int, "out"),
)


def cards_html(summary: dict[str, Any]) -> str:
    """The cards as HTML; every value is a formatted number, so nothing user-typed reaches the markup."""
    cards = []
    for key, label, fmt, css in CARDS:
        value = fmt(summary.get(key, 0))
        cards.append(
            f'<div class="card {css}" data-card="{key}"><div class="label">{label}</div>'
            f'<div class="value" title="{value}">{value}</div></div>'
        )
    return f'<div class="cards">{"".join(cards)}</div>'


class SummaryCards(pn.viewable.Viewer):
    """Six cards over the whole inventory; they follow ``model.summary``."""

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state.")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._pane = pn.pane.HTML(
            pn.bind(cards_html, self.model.param.summary),
            sizing_mode="stretch_width",
            stylesheets=[styles.CARDS],
            margin=(4, 10, 8, 10),
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return component_root(self._pane)
