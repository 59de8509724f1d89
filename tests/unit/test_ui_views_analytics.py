"""AnalyticsView without a server: the figures drawn from the service's SQL aggregates, labels, escaping,
the empty state and lazy reloads."""

from __future__ import annotations

import logging
from decimal import Decimal

import pandas as pd
import pytest
from bokeh.models import CustomJSTickFormatter, FixedTicker, HoverTool, LabelSet

import inventory_panel as ip
from inventory_panel.ui.analytics import (
    AnalyticsView,
    count_ticks,
    lump_tail,
    quantity_by_location_figure,
    short,
    stock_status_figure,
    top_items_figure,
    value_by_category_figure,
)
from inventory_panel.ui.model import InventoryModel

XSS = "<img src=x onerror=alert(1)>"


def add(inv, name, category, quantity, price, minimum=None, location=None):
    inv.add(
        {
            "item_name": name,
            "category": category,
            "quantity": quantity,
            "unit_price": price,
            "minimum_stock": minimum,
            "location": location,
        }
    )


def bars(fig):
    """(label, x, text) of each bar, top to bottom, as the browser draws them."""
    source = fig.renderers[0].data_source.data
    labels = fig.yaxis[0].formatter.args["labels"]
    order = list(reversed(fig.y_range.factors))
    return [(labels[k], source["x"][source["key"].index(k)], source["text"][source["key"].index(k)]) for k in order]


def test_value_by_category_is_sorted_with_exact_money_labels(inv):
    add(inv, "Drill", "Tools", 3, "19.99")
    add(inv, "Desk", "Furniture", 2, "350.00")
    add(inv, "Saw", "Tools", 1, "0.05")
    fig = value_by_category_figure(inv.value_by_category())
    assert bars(fig) == [("Furniture", 700.0, "700.00"), ("Tools", pytest.approx(60.02), "60.02")]
    hover = fig.select_one(HoverTool)
    assert ("Category", "@category") in hover.tooltips
    assert not any("{safe}" in field for _name, field in hover.tooltips)  # Bokeh escapes fields unless {safe}


def test_many_categories_are_lumped_into_other():
    frame = pd.DataFrame(
        {
            "category": [f"C{i}" for i in range(14)],
            "value": [Decimal(100 - i) for i in range(14)],
            "items": [1] * 14,
            "units": [2] * 14,
        }
    )
    lumped = lump_tail(frame, "category", ["value", "items", "units"], 10, "categories")
    assert len(lumped) == 10
    assert lumped.iloc[-1]["category"] == "Other (5 categories)"
    assert lumped.iloc[-1]["value"] == Decimal(91 + 90 + 89 + 88 + 87) and lumped.iloc[-1]["items"] == 5


def test_top_items_keep_duplicate_names_apart_and_shorten_long_ones(inv):
    long_name = "An extraordinarily long item name that will not fit"
    add(inv, "Twin", "A", 10, "5.00")
    add(inv, "Twin", "A", 1, "5.00")
    add(inv, long_name, "A", 1, "1000.00")
    fig = top_items_figure(inv.top_items_by_value(10))
    assert [b[0] for b in bars(fig)] == [short(long_name), "Twin", "Twin"]
    assert short(long_name).endswith("…") and len(short(long_name)) == 26
    assert fig.renderers[0].data_source.data["item_name"][0] == long_name  # the tooltip has the full name


def test_status_and_location_figures(inv):
    add(inv, "Ok", "A", 10, "1", minimum=2, location="Dock 3")
    add(inv, "Low", "A", 2, "1", minimum=2, location="Dock 3")
    add(inv, "Out", "A", 0, "1")
    status = stock_status_figure(inv.stock_status_counts())
    assert bars(status) == [
        ("In stock", 1.0, "1 (33%)"),
        ("Low stock", 1.0, "1 (33%)"),
        ("Out of stock", 1.0, "1 (33%)"),
    ]
    assert status.renderers[0].data_source.data["colour"] == ["#0F766E", "#F59E0B", "#DC2626"]
    location = quantity_by_location_figure(inv.quantity_by_location())
    assert bars(location) == [("Dock 3", 12.0, "12"), ("(no location)", 0.0, "0")]


def test_user_text_stays_data_never_markup(inv):
    add(inv, XSS, XSS, 5, "3.00", location=XSS)
    view = AnalyticsView(model=InventoryModel(inventory=inv))
    for pane in view.charts.values():
        fig = pane.object
        assert isinstance(fig.yaxis[0].formatter, CustomJSTickFormatter)
        assert XSS not in fig.yaxis[0].formatter.code  # labels travel as data (args), not as code
        assert fig.select_one(LabelSet) is not None
    assert bars(view.charts["top"].object)[0][0] == short(XSS)


def test_empty_inventory_explains_instead_of_drawing(inv):
    view = AnalyticsView(model=InventoryModel(inventory=inv))
    assert view.empty.visible and not view.grid.visible
    assert all(pane.object is None for pane in view.charts.values())


def test_reloads_on_data_change_only_while_shown(inv):
    model = InventoryModel(inventory=inv)
    view = AnalyticsView(model=model)
    view.active = False
    add(inv, "Drill", "Tools", 3, "10.00")
    model.changed()
    assert view.stale and view.empty.visible
    view.active = True
    assert not view.stale and view.grid.visible
    assert bars(view.charts["category"].object) == [("Tools", 30.0, "30.00")]


def test_a_failed_reload_keeps_the_charts_and_tells_the_person(inv, monkeypatch, caplog):
    add(inv, "Drill", "Tools", 3, "10.00")
    view = AnalyticsView(model=InventoryModel(inventory=inv))
    before = view.charts["category"].object

    def broken(*_args, **_kwargs):
        raise ip.DatabaseUnavailableError("The database connection was lost. Please try again.")

    monkeypatch.setattr(inv, "value_by_category", broken)
    with caplog.at_level(logging.INFO, logger="inventory_panel.ui"):
        view.reload()
    assert view.charts["category"].object is before
    assert "Loading the analytics failed: The database connection was lost" in caplog.text


def test_count_axes_tick_whole_numbers_only(inv):
    """Issue 15: with one item the status axis read "0 0 0 1 1 1 1" (ticks at 0.2, 0.4… rounded by the format)."""
    add(inv, "Only", "A", 1, "9.50", minimum=2)
    for fig in (
        stock_status_figure(inv.stock_status_counts()),
        quantity_by_location_figure(inv.quantity_by_location()),
    ):
        (ticker,) = {axis.ticker for axis in fig.xaxis}
        assert isinstance(ticker, FixedTicker) and ticker.ticks == [0, 1]
    assert count_ticks(0) == [0, 1] and count_ticks(7) == [0, 2, 4, 6] and count_ticks(157) == [0, 50, 100, 150]
    for end in (1, 1.22, 3, 6.1, 12, 99, 1_000, 123_456):
        ticks = count_ticks(end)
        step = ticks[1] - ticks[0]
        assert all(isinstance(t, int) for t in ticks) and len(ticks) <= 6 and ticks[-1] <= end < ticks[-1] + step


def test_value_labels_are_clear_of_gridlines_and_the_plot_takes_the_cards_background(inv):
    """Issue 15: vertical gridlines ran through the bars' value labels; the plot's background is the card's (none of
    its own, also where the Fast dark theme's Bokeh theme would paint it #181818)."""
    add(inv, "Drill", "Tools", 3, "10.00", location="Dock 3")
    counts, by_location = inv.stock_status_counts(), inv.quantity_by_location()
    for fig in (
        value_by_category_figure(inv.value_by_category()),
        stock_status_figure(counts),
        top_items_figure(inv.top_items_by_value(10)),
        quantity_by_location_figure(by_location),
    ):
        assert [grid.grid_line_color for grid in fig.grid] == [None, None]
        assert fig.background_fill_color is None and fig.border_fill_color is None
