"""ItemsTable without a server: what it shows, its editors, and its callbacks (edit, conflict, click, sort, page),
driven through Tabulator's own event handling as the browser would."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from panel.models.tabulator import CellClickEvent, TableEditEvent

import inventory_panel as ip
from inventory_panel.fields import FIELD_BY_NAME, FIELDS
from inventory_panel.ui import table as table_module
from inventory_panel.ui.formatting import STATUS_HTML
from inventory_panel.ui.model import InventoryModel
from inventory_panel.ui.styles import STATUS_ROWS
from inventory_panel.ui.table import EDITABLE, ItemsTable, editor_for, formatter_for, table_frame


def add(inv, name, quantity=5, minimum=None, **extra):
    return inv.add(
        {
            "item_name": name,
            "category": "Tools",
            "quantity": quantity,
            "unit_price": "2.50",
            "minimum_stock": minimum,
            **extra,
        }
    )


@pytest.fixture
def view(inv):
    add(inv, "Anvil", 0, 2)
    add(inv, "Bolt", 3, 5, sku="B-1")
    add(inv, "Chisel", 9, 2)
    return ItemsTable(model=InventoryModel(inventory=inv))


def row_of(view, name: str) -> int:
    return view.table.value["item_name"].tolist().index(name)


def edit(view, name: str, column: str, value) -> None:
    """What the browser does: the edited cell's value arrives, then the edit event names the row by position."""
    table = view.table
    row = row_of(view, name)
    frame = table.value.copy()
    frame.iloc[row, frame.columns.get_loc(column)] = value
    table.value = frame
    table._process_event(TableEditEvent(model=None, column=column, row=row, pre=False))


def click(view, name: str, column: str) -> None:
    view.table._process_event(CellClickEvent(model=None, column=column, row=row_of(view, name)))


def test_the_page_is_shown_with_ids_exact_prices_and_status_words(view, inv):
    frame = view.table.value
    assert frame["item_name"].tolist() == ["Anvil", "Bolt", "Chisel"]
    assert frame.index.name == "id" and frame.index.tolist() == inv.query().rows["id"].tolist()
    assert frame["unit_price"].tolist() == ["2.50"] * 3  # text: the Decimal's digits, never a float
    assert frame["status"].tolist() == [
        f'<span class="st st-{s}">{label}</span>'
        for s, label in [("out", "Out of stock"), ("low", "Low stock"), ("ok", "In stock")]
    ]
    assert frame.loc[frame["item_name"] == "Anvil", "sku"].iloc[0] is None
    assert "version" in view.table.hidden_columns


def test_row_colours_come_from_the_status_cell_and_the_open_marker(view):
    # The browser colours a row from the marker classes (styles.STATUS_ROWS); the server sends data only.
    assert ".tabulator-row:has(.st-low)" in STATUS_ROWS and ".tabulator-row:has(.st-out)" in STATUS_ROWS
    assert STATUS_ROWS in view.table.stylesheets
    opened = view.table.value["open"]
    assert opened.tolist() == ['<span class="open-item">Open ›</span>'] * 3
    view.model.selected_id = int(view.table.value.index[2])
    opened = view.table.value["open"]
    assert "selected" in opened.iloc[2] and "selected" not in opened.iloc[1]
    assert ".tabulator-row:has(.open-item.selected)" in STATUS_ROWS


def test_the_name_column_keeps_a_readable_width_and_prices_sort_as_numbers(view):
    """In a narrow notebook cell the fixed-width columns left the name a few pixels: it keeps a minimum, and the
    table scrolls sideways instead."""
    columns = {c["field"]: c for c in view.table.get_root().configuration["columns"]}
    assert columns["item_name"]["minWidth"] >= 150
    assert columns["unit_price"]["sorter"] == "number"


def test_editors_come_from_the_field_spec_and_no_cell_renders_html():
    quantity = editor_for(FIELD_BY_NAME["quantity"])
    assert quantity["type"] == "number" and quantity["min"] == 0 and quantity["step"] == 1
    assert editor_for(FIELD_BY_NAME["item_name"])["elementAttributes"] == {"maxlength": "100"}
    assert editor_for(FIELD_BY_NAME["unit_price"])["type"] == "input"  # exact decimal text, no float
    for field in FIELDS:
        assert formatter_for(field.name)["type"] in ("plaintext", "money")
    assert formatter_for("status")["type"] == formatter_for("open")["type"] == "html"  # our fixed strings
    assert set(EDITABLE) <= set(FIELD_BY_NAME)


def test_a_viewer_cannot_edit_cells(inv, sqlite_url):
    add(inv, "Anvil")
    viewer = ip.connect(sqlite_url, user="vic@example.com", role="viewer")
    view = ItemsTable(model=InventoryModel(inventory=viewer))
    assert all(view.table.editors[name] is None for name in EDITABLE)
    viewer.close()


def test_an_edit_saves_one_field_and_reloads(view, inv):
    edit(view, "Bolt", "quantity", 7)
    bolt = inv.query(search="Bolt").rows.iloc[0]
    assert bolt["quantity"] == 7 and bolt["version"] == 2 and bolt["updated_by"] == "admin@example.com"
    assert view.model.data_version == 1
    assert view.table.value.loc[int(bolt["id"]), "version"] == 2
    assert view.table.value.loc[int(bolt["id"]), "status"] == STATUS_HTML["ok"]


def test_an_edit_that_changes_no_other_cell_is_not_sent_back_and_the_next_edit_of_the_row_is_not_stale(view, inv):
    """Tab from an edited cell opens the next one; sending the reloaded page would redraw the table and close it
    (docs/workarounds.md). Only the row's version changed, so the browser gets nothing and the server keeps it."""
    source = view.table.get_root().source
    bolt_id = int(view.table.value.index[row_of(view, "Bolt")])
    edit(view, "Bolt", "quantity", 4)  # still below its minimum of 5: the status cell stays "low"
    assert view.table.value.loc[bolt_id, "version"] == 2
    assert source.data["version"].tolist()[row_of(view, "Bolt")] == 1  # the browser's copy was left alone
    # The browser's next edit brings its whole page back, its old versions included (as Panel's Tabulator does).
    view.table.value = view.table.value.assign(version=source.data["version"])
    edit(view, "Bolt", "location", "Shelf 2")  # the next cell of the same row, right after
    bolt = inv.get(bolt_id)
    assert (bolt["quantity"], bolt["location"], bolt["version"]) == (4, "Shelf 2", 3)
    assert view.conflict.head == ""


def test_an_edit_that_changes_another_cell_sends_the_page(view, inv):
    source = view.table.get_root().source
    edit(view, "Bolt", "quantity", 7)  # above its minimum: the status cell changes
    row = row_of(view, "Bolt")
    assert source.data["version"].tolist()[row] == 2
    assert source.data["status"].tolist()[row] == STATUS_HTML["ok"]


def test_an_invalid_edit_is_refused_with_the_field_message_and_the_cell_restored(view, inv, caplog):
    caplog.set_level("INFO", "inventory_panel.ui")
    edit(view, "Bolt", "unit_price", "12.345")
    assert FIELD_BY_NAME["unit_price"].msg_scale() in caplog.text
    assert str(inv.query(search="Bolt").rows.iloc[0]["unit_price"]) == "2.50"
    assert view.table.value.loc[view.table.value["item_name"] == "Bolt", "unit_price"].iloc[0] == "2.50"


def test_a_stale_edit_is_refused_and_both_values_stay_visible(view, inv, other):
    bolt_id = int(view.table.value.index[row_of(view, "Bolt")])
    other.update(bolt_id, {"quantity": 30}, 1)  # Bob saves first
    edit(view, "Bolt", "quantity", 99)
    assert inv.get(bolt_id)["quantity"] == 30  # Bob's value is kept
    assert "was changed by bob@example.com" in view.conflict.head
    assert view.conflict.lines == ["Your quantity: 99", "Current quantity: 30 (changed by bob@example.com)"]
    assert view.table.value.loc[bolt_id, "quantity"] == 30  # the row shows the current value again


def test_a_refresh_waits_while_a_cell_editor_is_open(view, inv, other):
    bolt_id = int(view.table.value.index[row_of(view, "Bolt")])
    click(view, "Bolt", "quantity")  # the browser opens the editor on this click
    assert view.editing_item == bolt_id
    other.update(bolt_id, {"location": "Dock"}, 1)
    view.model.external_change(other.change_token())
    assert view.refresh_pending and view.table.value.loc[bolt_id, "location"] is None  # editor not clobbered
    edit(view, "Bolt", "quantity", 4)  # still the version the person saw: a conflict, not a silent overwrite
    assert inv.get(bolt_id)["quantity"] == 3 and "Your quantity: 4" in view.conflict.lines
    assert not view.refresh_pending and view.table.value.loc[bolt_id, "location"] == "Dock"


def test_an_abandoned_editor_stops_holding_refreshes(view, monkeypatch):
    click(view, "Bolt", "quantity")
    later = time.monotonic() + table_module.EDIT_HOLD_SECONDS + 1
    monkeypatch.setattr(table_module.time, "monotonic", lambda: later)
    assert view.editing_item is None


def test_a_click_elsewhere_applies_a_held_refresh(view, other):
    click(view, "Bolt", "quantity")
    add(other, "Dowel")
    view.model.external_change(other.change_token())
    assert "Dowel" not in view.table.value["item_name"].tolist()
    click(view, "Anvil", "status")
    assert "Dowel" in view.table.value["item_name"].tolist()


def test_an_edit_on_a_row_that_another_session_just_moved_is_refused(view, inv, other):
    anvil_id = int(view.table.value.index[0])
    add(other, "Aardvark")  # sorts first: every row moves down one position
    view.model.external_change(other.change_token())
    table = view.table
    frame = table.value.copy()
    frame.iloc[0, frame.columns.get_loc("quantity")] = 50  # the browser still showed Anvil at position 0
    table.value = frame
    table._process_event(TableEditEvent(model=None, column="quantity", row=0, pre=False))
    assert inv.get(anvil_id)["quantity"] == 0
    assert inv.query(search="Aardvark").rows.iloc[0]["quantity"] == 5  # and the item now at 0 was not touched


def test_open_selects_the_item(view):
    click(view, "Chisel", "open")
    assert view.model.selected_id == int(view.table.value.index[2])


def test_a_header_click_sorts_in_the_database(view):
    view.table.sorters = [{"field": "quantity", "dir": "desc"}]
    assert (view.model.sort_by, view.model.descending) == ("quantity", True)
    assert view.table.value["item_name"].tolist() == ["Chisel", "Bolt", "Anvil"]


def test_the_pager_moves_through_pages_and_says_where_it_is(inv):
    for i in range(12):
        add(inv, f"Item {i:02d}")
    view = ItemsTable(model=InventoryModel(inventory=inv))
    view.pager.size_menu.value = 10
    assert "Showing 1–10 of 12 · page 1 of 2" in view.pager.range_text.value
    assert view.pager.prev_button.disabled and not view.pager.next_button.disabled
    view.pager.next_button.clicks += 1
    assert view.table.value["item_name"].tolist() == ["Item 10", "Item 11"]
    assert "Showing 11–12 of 12" in view.pager.range_text.value and view.pager.next_button.disabled
    view.pager.prev_button.clicks += 1
    assert view.model.page == 0


def test_compact_mode_hides_secondary_columns(view):
    view.compact = True
    assert {"sku", "location", "supplier"} <= set(view.table.hidden_columns)
    view.compact = False
    assert view.table.hidden_columns == ["version"]


def test_table_frame_of_an_empty_page():
    frame = table_frame(pd.DataFrame(columns=list(ip.inventory.ITEM_COLUMNS)))
    assert frame.empty and "open" in frame.columns


def test_header_arrow_and_page_size_follow_a_model_driven_from_elsewhere(view):
    view.model.param.update(sort_by="unit_price", descending=True, page_size=10)
    assert view.table.sorters == [{"field": "unit_price", "dir": "desc"}]
    assert view.pager.size_menu.value == 10
    view.model.sort("value")  # not a column of the table: no arrow rather than a wrong one
    assert view.table.sorters == []
