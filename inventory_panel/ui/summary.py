"""``SummaryCards``: the headline figures (items, units, total value, categories, low stock, out of stock).

The Items, Low stock and Out of stock cards are buttons: activating one (click, Enter or Space) filters the table to
what the card counts (all items, the low-stock items, the out-of-stock ones) and raises ``filter_requested``, which
the app answers by showing its Inventory tab. Low stock counts the items above zero and at or below their minimum,
the same items the table's "Low stock" filter shows; an item at zero counts as out of stock only (the Low stock tab,
a reorder list, lists both and says so).
"""

from __future__ import annotations

from typing import Any, ClassVar

import panel as pn
import param
from panel.reactive import ReactiveHTML

from ..stock_status import LABELS
from . import styles
from .component_root import component_root
from .formatting import fmt_int, fmt_money
from .model import InventoryModel

ALL_ITEMS = "all"
CARDS = (  # key in the summary, label, format, CSS class, what activating the card filters to, its note
    ("items", "Items", fmt_int, "", ALL_ITEMS, ""),
    ("units", "Units in stock", fmt_int, "", None, ""),
    ("total_value", "Total value", fmt_money, "", None, ""),
    ("categories", "Categories", fmt_int, "", None, ""),
    ("low_stock", LABELS["low"], fmt_int, "low", "low", "at or below minimum"),
    ("out_of_stock", LABELS["out"], fmt_int, "out", "out", "quantity 0"),
)
HINTS = {
    ALL_ITEMS: "Show all items",
    "low": "Show the low-stock items: above 0 and at or below their minimum stock",
    "out": "Show the out-of-stock items: quantity 0",
}
# The clickable cards are <button>s: reset the button look to the card's, and show that they can be pressed.
BUTTON_CSS = """
button.card { font: inherit; text-align: left; cursor: pointer; width: 100%; margin: 0; display: flex;
              flex-direction: column; justify-content: flex-start; }
button.card:hover { border-color: var(--inv-accent); }
button.card:focus-visible { outline: 2px solid var(--inv-accent); outline-offset: 2px; }
.card .note { font-size: 12px; color: var(--inv-muted); margin-top: 2px; white-space: nowrap; overflow: hidden;
              text-overflow: ellipsis; }
"""


def card_data(summary: dict[str, Any]) -> list[dict[str, str]]:
    """The cards as the browser draws them: formatted figures and fixed words, set there as text (never markup)."""
    return [
        {
            "key": key,
            "label": label,
            "value": fmt(summary.get(key, 0)),
            "css": css,
            "filter": target or "",
            "hint": HINTS.get(target or "", ""),
            "note": note,
        }
        for key, label, fmt, css, target, note in CARDS
    ]


class _CardStrip(ReactiveHTML):
    """The cards, reporting which card was activated (a button's click: mouse, Enter or Space).

    Drawn by a script from ``cards`` with ``textContent``: Panel passes every string parameter of a ``ReactiveHTML``
    through its HTML sanitizer, which drops buttons and class attributes, so the cards cannot come as markup.
    """

    cards = param.List(default=[], doc="The cards (card_data): key, label, value, css, filter, hint, note.")
    picked = param.String(
        default="", doc="'<filter>:<time>' of the card last activated (the time makes a second press a change)."
    )

    _template = """<div id="strip" class="cards" onclick="${script('pick')}"></div>"""
    _scripts: ClassVar[dict[str, str]] = {
        "render": "self.cards()",
        "cards": """
        strip.replaceChildren(...data.cards.map(c => {
          const card = document.createElement(c.filter ? 'button' : 'div')
          card.className = ('card ' + c.css).trim()
          card.dataset.card = c.key
          if (c.filter) { card.type = 'button'; card.dataset.filter = c.filter; card.title = c.hint }
          for (const [part, text] of [['label', c.label], ['value', c.value], ['note', c.note]]) {
            if (!text) continue
            const line = document.createElement('div')
            line.className = part
            line.textContent = text
            if (part === 'value') line.title = text
            card.append(line)
          }
          return card
        }))
        """,
        "pick": """
        const card = event.target.closest('[data-filter]')
        if (card) { data.picked = card.dataset.filter + ':' + Date.now() }
        """,
    }


class SummaryCards(pn.viewable.Viewer):
    """Six cards over the whole inventory; they follow ``model.summary``; three of them filter the table."""

    model = param.ClassSelector(class_=InventoryModel, doc="The session's shared state.")
    filter_requested = param.Event(doc="A card set the table's filters: show the table (the app's Inventory tab).")

    def __init__(self, **params: Any):
        super().__init__(**params)
        self._pane = _CardStrip(
            cards=card_data(self.model.summary),
            sizing_mode="stretch_width",
            stylesheets=[styles.CARDS, BUTTON_CSS],
            margin=(4, 10, 8, 10),
        )
        self.model.param.watch(lambda event: setattr(self._pane, "cards", card_data(event.new)), "summary")
        self._pane.param.watch(lambda event: self.filter_to(event.new.split(":")[0]), "picked")

    def filter_to(self, target: str) -> None:
        """Filter the table to what the card ``target`` counts ("all", "low" or "out") and ask for the table."""
        status = None if target == ALL_ITEMS else target
        self.model.param.update(search="", category=None, location=None, status=status)
        self.param.trigger("filter_requested")

    def __panel__(self) -> pn.viewable.Viewable:
        return component_root(self._pane)
