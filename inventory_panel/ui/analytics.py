"""``AnalyticsView``: four Bokeh charts of the whole inventory — value by category, stock status, the most valuable
items and units by location.

Every figure is aggregated in SQL by the service (``Inventory.value_by_category`` and friends); this module only
draws the small result frames. Bars are keyed by position (``"b0"``, ``"b1"``…) and labelled by an axis formatter
that looks the key up in a table of labels, so two items with the same name, a truncated label or a category
called "Other" can never collide.
Text reaches the browser as canvas text or as hover-tool fields, which Bokeh escapes: an item called
``<img onerror=…>`` is drawn, never run.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import panel as pn
from bokeh.models import (
    BasicTicker,
    ColumnDataSource,
    CustomJSTickFormatter,
    FactorRange,
    FixedTicker,
    HoverTool,
    LabelSet,
    NumeralTickFormatter,
    Range1d,
)
from bokeh.plotting import figure

from ..stock_status import BY_SEVERITY
from . import styles, widgets
from .component_root import component_root
from .formatting import STATUS_LABELS, fmt_int, fmt_money
from .lazy_view import LazyView
from .messages import InlineMessages
from .notify import report_error

MAX_BARS = 10  # categories / locations beyond this are summed into one "Other" bar
TOP_ITEMS = 10
LABEL_CHARS = 26
FIGURE_HEIGHT = 320
CHARTS = (  # key, heading, what it shows
    ("category", "Stock value by category", "Σ quantity × unit price"),
    ("status", "Items by stock status", "In stock, at or below the minimum, or at zero"),
    ("top", f"Top {TOP_ITEMS} items by value", "The items holding the most value"),
    ("location", "Units in stock by location", "Where the units are"),
)
BAR_COLOUR = styles.ACCENT
LOCATION_COLOUR = "#0E7490"
STATUS_COLOURS = {"ok": "#0F766E", "low": "#F59E0B", "out": "#DC2626"}
# The value axis runs this far past the longest bar: its label ("10,599.90") stays inside the plot in a card at 800 px.
LABEL_ROOM = 1.6
VALUE_TEXT = "#7B8794"  # bar value labels: readable on the light and the dark background

CHART_TITLE = ".title { font-size: 15px; }"
# A chart card: no side padding (the chart's and the title's margins give the room, so the canvas and the text
# line up), border inside the card's width.
CHART_BOX = {**styles.CARD_BOX, "padding": "8px 0", "box-sizing": "border-box"}


def short(text: Any, limit: int = LABEL_CHARS) -> str:
    """An axis label: at most ``limit`` characters, an ellipsis when cut."""
    value = "" if text is None else str(text)
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def to_float(value: Any) -> float:
    """A chart coordinate from a Decimal amount (the exact amount is shown in labels, formatted from the Decimal)."""
    return float(value) if value is not None else 0.0


def lump_tail(frame: pd.DataFrame, label: str, sums: list[str], limit: int, noun: str) -> pd.DataFrame:
    """The first ``limit - 1`` rows of ``frame`` plus one "Other (n nouns)" row summing ``sums`` over the rest."""
    if len(frame) <= limit:
        return frame.reset_index(drop=True)
    head, tail = frame.iloc[: limit - 1], frame.iloc[limit - 1 :]
    other = {label: f"Other ({len(tail)} {noun})", **{c: tail[c].sum() for c in sums}}
    return pd.concat([head, pd.DataFrame([other])], ignore_index=True)


def count_ticks(end: float, most: int = 6) -> list[int]:
    """Whole-number ticks of an axis from 0 to ``end`` (at least 1), at most ``most`` of them, in steps of 1, 2 or
    5 × 10ⁿ: a count axis never reads "0 0 0 1 1 1 1" (Bokeh's own ticker put ticks at 0.2, 0.4… and the format
    rounded them)."""
    end = max(end, 1)
    step = 1
    while math.floor(end / step) + 1 > most:
        step = step * 5 // 2 if str(step).startswith("2") else step * 2  # 1, 2, 5, 10, 20, 50…
    return list(range(0, math.floor(end) + 1, step))


def _hbar(
    data: dict[str, list[Any]],
    labels: list[str],
    tooltips: list[tuple[str, str]],
    colour: str,
    tick_format: str,
    counts: bool = False,
) -> figure:
    """A horizontal bar chart, largest bar on top, each bar labelled with its formatted value; ``counts``: the value
    axis counts things, so its ticks are whole numbers."""
    keys = data["key"]
    top = max(data["x"], default=0.0) or 1.0
    end = top * LABEL_ROOM
    fig = figure(
        y_range=FactorRange(factors=list(reversed(keys))),
        x_range=Range1d(0, end),
        height=FIGURE_HEIGHT,
        sizing_mode="stretch_width",
        toolbar_location=None,
        tools="",
    )
    source = ColumnDataSource(data)
    bars = fig.hbar(y="key", right="x", height=0.72, source=source, color=colour, line_color=None)
    fig.add_layout(
        LabelSet(
            x="x",
            y="key",
            text="text",
            source=source,
            x_offset=5,
            text_baseline="middle",
            text_font_size="11px",
            text_color=VALUE_TEXT,
        )
    )
    fig.add_tools(HoverTool(renderers=[bars], tooltips=tooltips, point_policy="follow_mouse"))
    # Bokeh ignores label overrides on categorical axes; a formatter looks the label up (data, not code).
    fig.yaxis.formatter = CustomJSTickFormatter(
        args={"labels": dict(zip(keys, labels, strict=True))}, code="return labels[tick] ?? tick"
    )
    fig.xaxis.formatter = NumeralTickFormatter(format=tick_format)
    if counts:
        fig.xaxis.ticker = FixedTicker(ticks=count_ticks(end))
    else:
        fig.xaxis.ticker = BasicTicker(desired_num_ticks=4)  # "0 2k 4k … 12k" ran together in a half-width card
    _style(fig)
    return fig


def _style(fig: figure) -> None:
    fig.outline_line_color = None
    fig.axis.axis_line_color = None
    fig.axis.major_tick_line_color = None
    fig.axis.minor_tick_line_color = None
    fig.axis.major_label_text_font_size = "12px"
    fig.min_border_right = 16
    # Transparent, with grey labels: a chart shown alone (a notebook cell, where no page template sets a Bokeh
    # theme) drew a white canvas with dark labels on the dark theme's background; in the app the Fast dark theme's
    # Bokeh theme would paint the plot #181818 on a #212121-ish card.
    fig.background_fill_color = None
    fig.border_fill_color = None
    fig.axis.major_label_text_color = VALUE_TEXT
    # No gridlines: every bar carries its value, and the vertical lines ran through those labels.
    fig.grid.grid_line_color = None


def value_by_category_figure(frame: pd.DataFrame) -> figure:
    """Stock value (Σ quantity × unit price) per category."""
    frame = lump_tail(frame, "category", ["value", "items", "units"], MAX_BARS, "categories")
    data = {
        "key": [f"b{i}" for i in range(len(frame))],
        "category": list(frame["category"]),
        "x": [to_float(v) for v in frame["value"]],
        "text": [fmt_money(v) for v in frame["value"]],
        "items": [int(v) for v in frame["items"]],
        "units": [int(v) for v in frame["units"]],
    }
    return _hbar(
        data,
        [short(c) for c in frame["category"]],
        [("Category", "@category"), ("Value", "@text"), ("Items", "@items{0,0}"), ("Units", "@units{0,0}")],
        BAR_COLOUR,
        "0.[0]a",
    )


def top_items_figure(frame: pd.DataFrame) -> figure:
    """The items holding the most value (quantity × unit price)."""
    data = {
        "key": [f"b{i}" for i in range(len(frame))],
        "item_name": list(frame["item_name"]),
        "category": list(frame["category"]),
        "quantity": [int(v) for v in frame["quantity"]],
        "price": [fmt_money(v) for v in frame["unit_price"]],
        "x": [to_float(v) for v in frame["value"]],
        "text": [fmt_money(v) for v in frame["value"]],
    }
    return _hbar(
        data,
        [short(n) for n in frame["item_name"]],
        [
            ("Item", "@item_name"),
            ("Category", "@category"),
            ("Quantity", "@quantity{0,0}"),
            ("Unit price", "@price"),
            ("Value", "@text"),
        ],
        BAR_COLOUR,
        "0.[0]a",
    )


def quantity_by_location_figure(frame: pd.DataFrame) -> figure:
    """Units in stock per location ("(no location)" for items without one)."""
    frame = lump_tail(frame, "location", ["units", "items"], MAX_BARS, "locations")
    data = {
        "key": [f"b{i}" for i in range(len(frame))],
        "location": list(frame["location"]),
        "x": [float(v) for v in frame["units"]],
        "text": [fmt_int(v) for v in frame["units"]],
        "items": [int(v) for v in frame["items"]],
    }
    return _hbar(
        data,
        [short(n) for n in frame["location"]],
        [("Location", "@location"), ("Units", "@text"), ("Items", "@items{0,0}")],
        LOCATION_COLOUR,
        "0,0",
        counts=True,
    )


def stock_status_figure(frame: pd.DataFrame) -> figure:
    """How many items are in stock, low and out, as bars in the app's status colours."""
    counts = dict(zip(frame["status"], frame["items"], strict=True))
    statuses = BY_SEVERITY
    total = sum(int(counts.get(s, 0)) for s in statuses) or 1
    data = {
        "key": [f"b{i}" for i in range(len(statuses))],
        "status": [STATUS_LABELS[s] for s in statuses],
        "x": [float(counts.get(s, 0)) for s in statuses],
        "text": [f"{fmt_int(counts.get(s, 0))} ({int(counts.get(s, 0)) * 100 / total:.0f}%)" for s in statuses],
        "colour": [STATUS_COLOURS[s] for s in statuses],
    }
    fig = _hbar(data, data["status"], [("Status", "@status"), ("Items", "@text")], BAR_COLOUR, "0,0", counts=True)
    fig.renderers[0].glyph.fill_color = "colour"
    return fig


class AnalyticsView(LazyView):
    """The four charts in a grid, or an explanation when there is nothing to chart yet.

    Public parts: ``title``, ``charts`` (a Bokeh pane per chart, by key), ``grid`` (them laid out), ``empty`` (the
    explanation) and ``messages``.
    """

    def __init__(self, **params: Any):
        super().__init__(**params)
        self.messages = InlineMessages()  # where a toast cannot show (messages.py)
        self.title = widgets.heading(
            '<div class="title">Analytics</div><div class="sub">Figures over the whole inventory, computed in the '
            "database. Hover a bar for details.</div>",
        )
        self.charts = {key: pn.pane.Bokeh(None, sizing_mode="stretch_width", margin=(0, 10)) for key, _h, _s in CHARTS}
        cards = [
            pn.Column(
                pn.pane.HTML(
                    f'<div class="title">{heading}</div><div class="sub">{sub}</div>',
                    stylesheets=[styles.PANEL_TITLE, CHART_TITLE],
                    margin=(2, 18, 0, 18),
                ),
                self.charts[key],
                styles=CHART_BOX,
                css_classes=["chart-card"],
                sizing_mode="stretch_width",
                margin=(6, 10),
            )
            for key, heading, sub in CHARTS
        ]
        # Two rows of two cards, not a GridBox: in Panel's CSS grid Bokeh sized each canvas from a stale width
        # (565 and 630 px in 598 px cards), so the left charts left a gap and the right ones stuck out of the page.
        self.grid = pn.Column(
            *(pn.Row(*cards[i : i + 2], sizing_mode="stretch_width", margin=0) for i in (0, 2)),
            sizing_mode="stretch_width",
            margin=0,
        )
        self.empty = pn.pane.HTML(
            '<div class="empty"><h2>No items yet</h2><p>Charts of stock value, stock status, the most valuable '
            "items and units by location appear here once the inventory has items. Add items or import a CSV "
            "file to get started.</p></div>",
            stylesheets=[styles.EMPTY],
            sizing_mode="stretch_width",
            visible=False,
        )
        self._layout = pn.Column(self.title, self.empty, self.grid, sizing_mode="stretch_width")
        self.reload()

    def reload(self) -> None:
        """Aggregate again (four small SQL queries) and redraw; on failure keep the charts and tell the person."""
        self.stale = False
        inventory = self.model.inventory
        if inventory is None or self.model.is_empty:
            self.grid.visible, self.empty.visible = False, True
            return
        try:
            figures = {
                "category": value_by_category_figure(inventory.value_by_category()),
                "status": stock_status_figure(inventory.stock_status_counts()),
                "top": top_items_figure(inventory.top_items_by_value(TOP_ITEMS)),
                "location": quantity_by_location_figure(inventory.quantity_by_location()),
            }
            for name, fig in figures.items():
                self.charts[name].object = fig
        except Exception as exc:  # noqa: BLE001 - every failure becomes a message; details in the log
            report_error("Loading the analytics", exc)
            return
        self.grid.visible, self.empty.visible = True, False

    def __panel__(self) -> pn.viewable.Viewable:
        return component_root(self._layout, self.messages)
