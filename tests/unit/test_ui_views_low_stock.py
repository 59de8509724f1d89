"""LowStockView without a server: what it lists, in which order, the reorder file, lazy reloads, failures."""

from __future__ import annotations

import csv
import io
import logging

from inventory_panel.ui.formatting import STATUS_HTML
from inventory_panel.ui.low_stock import LowStockView, low_stock_frame, reorder_csv
from inventory_panel.ui.model import InventoryModel


def add(inv, name, quantity, minimum=None, **extra):
    return inv.add(
        {
            "item_name": name,
            "category": "Tools",
            "quantity": quantity,
            "unit_price": "1.00",
            "minimum_stock": minimum,
            **extra,
        }
    )


def test_lists_low_and_out_items_largest_shortage_first(inv):
    add(inv, "Plenty", 50, 5)
    add(inv, "Short by 2", 3, 5, supplier="Acme", location="Dock 3")
    add(inv, "Short by 9", 1, 10, supplier="Grainger")
    add(inv, "Empty, no minimum", 0)
    view = LowStockView(model=InventoryModel(inventory=inv))
    shown = view.table.value
    assert list(shown["item_name"]) == ["Short by 9", "Short by 2", "Empty, no minimum"]
    assert list(shown["shortage"]) == [9, 2, 0]
    assert list(shown["status"]) == [STATUS_HTML["low"], STATUS_HTML["low"], STATUS_HTML["out"]]
    assert shown.loc[shown["item_name"] == "Short by 2", ["supplier", "location"]].values.tolist() == [
        ["Acme", "Dock 3"]
    ]
    assert shown["minimum_stock"].tolist() == [10, 5, None]  # whole numbers, not 10.0
    assert "<b>3</b> items to reorder: <b>2</b> low stock and <b>1</b> out of stock" in view.title.object
    assert view.table.visible and not view.empty.visible


def test_empty_state_when_nothing_is_low(inv):
    add(inv, "Plenty", 50, 5)
    view = LowStockView(model=InventoryModel(inventory=inv))
    assert view.empty.visible and not view.table.visible
    assert view.download.disabled


def test_reorder_file_groups_by_supplier_and_escapes_formulas(inv):
    add(inv, '=HYPERLINK("http://x")', 1, 4, supplier="Zeta", sku="Z-1")
    add(inv, "Gloves", 2, 12, supplier="Acme")
    add(inv, "Tape", 0, 3, supplier="Acme")
    add(inv, "Loose", 0)
    view = LowStockView(model=InventoryModel(inventory=inv))
    rows = list(csv.DictReader(io.StringIO(view.download.callback().read())))
    assert [r["item_name"] for r in rows] == ["Gloves", "Tape", '\'=HYPERLINK("http://x")', "Loose"]
    assert [r["reorder_quantity"] for r in rows] == ["10", "3", "3", "1"]
    assert rows[0]["minimum_stock"] == "12" and rows[3]["minimum_stock"] == ""


def test_reloads_on_data_change_only_while_shown(inv):
    model = InventoryModel(inventory=inv)
    view = LowStockView(model=model)
    assert view.table.value.empty
    view.active = False
    add(inv, "Now short", 1, 5)
    model.changed()
    assert view.stale and view.table.value.empty  # hidden: no query, just remembered
    view.active = True
    assert not view.stale and list(view.table.value["item_name"]) == ["Now short"]
    add(inv, "Also short", 0, 5)
    model.changed()
    assert list(view.table.value["item_name"]) == ["Also short", "Now short"]


def test_a_failed_reload_keeps_the_rows_and_tells_the_person(inv, monkeypatch, caplog):
    add(inv, "Short", 1, 5)
    model = InventoryModel(inventory=inv)
    view = LowStockView(model=model)

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(inv, "low_stock", broken)
    with caplog.at_level(logging.INFO, logger="inventory_panel.ui"):
        view.reload()
    assert list(view.table.value["item_name"]) == ["Short"]
    assert "Loading the low-stock items failed because of an unexpected error" in caplog.text
    assert "boom" not in view.title.object


def test_frame_of_no_rows_has_the_table_columns(inv):
    frame = low_stock_frame(inv.low_stock())
    assert frame.empty and {"item_name", "shortage", "supplier", "location"} <= set(frame.columns)
    assert reorder_csv(inv.low_stock()).splitlines() == [
        "supplier,sku,item_name,location,quantity,minimum_stock,shortage,reorder_quantity"
    ]


def test_more_short_items_than_shown_are_counted_and_all_in_the_reorder_file(inv, monkeypatch):
    monkeypatch.setattr("inventory_panel.ui.low_stock.SHOWN_LIMIT", 2)
    for n in range(4):
        add(inv, f"Short {n}", 1, 5 + n, supplier="Acme")
    add(inv, "Gone", 0, 1, supplier="Acme")
    add(inv, "Plenty", 50, 5)
    view = LowStockView(model=InventoryModel(inventory=inv))
    assert list(view.table.value["item_name"]) == ["Short 3", "Short 2"]  # the largest shortages
    # Both kinds, each counted as the summary cards count it (issue 15: "Low stock 4" there, "5 items" here).
    assert "<b>5</b> items to reorder: <b>4</b> low stock and <b>1</b> out of stock" in view.title.object
    assert "the 2 largest shortages shown; the reorder list has them all" in view.title.object
    rows = list(csv.DictReader(io.StringIO(view.download.callback().read())))
    assert sorted(r["item_name"] for r in rows) == ["Gone", "Short 0", "Short 1", "Short 2", "Short 3"]


def test_the_reorder_file_is_read_when_downloaded(inv):
    view = LowStockView(model=InventoryModel(inventory=inv))
    add(inv, "Short since the view was shown", 1, 5)
    rows = list(csv.DictReader(io.StringIO(view.download.callback().read())))
    assert [r["item_name"] for r in rows] == ["Short since the view was shown"]
