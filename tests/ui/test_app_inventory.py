"""The Inventory view in real Chromium against ``panel serve app.py``: table, sorting, paging, inline editing,
conflicts, add / delete, stock adjustment, live updates between sessions, escaping of user text.

All tests share one served app (sample data); each one works on its own items or on values it reads back from
the database, so their order does not matter.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import open_app

pytestmark = pytest.mark.ui

LIVE_TIMEOUT_MS = 10_000  # about two seconds is the aim (bench/); a busy 2-core CI machine needs slack


def row(page, name: str):
    return page.locator(".tabulator-row", has_text=name)


def cell(page, name: str, field: str):
    return row(page, name).locator(f'.tabulator-cell[tabulator-field="{field}"]')


def edit_cell(page, name: str, field: str, value: str) -> None:
    target = cell(page, name, field)
    target.click()
    editor = target.locator("input")
    editor.fill(value)
    editor.press("Enter")


def toast(page, text: str | re.Pattern):
    """A notification toast (notyf) with ``text``."""
    return page.locator(".notyf__message", has_text=text)


def item_by_name(inventory, name: str) -> dict:
    page = inventory.query(search=name, limit=5)
    matches = page.rows[page.rows["item_name"] == name]
    assert len(matches) == 1, f"expected one {name!r}, found {len(matches)}"
    return matches.iloc[0].to_dict()


def test_table_shows_the_sample_rows_with_stock_colours(served_app, page):
    open_app(page, served_app)
    for name in ("Laptop Dell XPS 13", "27-inch 4K Monitor", "Copy Paper A4 (500 sheets)"):
        expect(row(page, name)).to_be_visible()
    expect(cell(page, "27-inch 4K Monitor", "status")).to_have_text("Out of stock")
    expect(cell(page, "First Aid Kit", "status")).to_have_text("Low stock")
    out_colour = cell(page, "27-inch 4K Monitor", "item_name").evaluate("e => getComputedStyle(e).backgroundColor")
    ok_colour = cell(page, "Laptop Dell XPS 13", "item_name").evaluate("e => getComputedStyle(e).backgroundColor")
    assert out_colour != ok_colour
    expect(page.locator('[data-card="items"] .value')).to_have_text(str(served_app.inventory.summary()["items"]))


def test_sorting_and_paging_happen_in_the_database(served_app, page):
    inventory = served_app.inventory
    for i in range(12):
        inventory.add(
            {"item_name": f"Pager item {i:02d}", "category": "Paging", "quantity": 1000 + i, "unit_price": "1.00"}
        )
    total = inventory.summary()["items"]
    open_app(page, served_app)
    page.get_by_role("combobox").filter(has_text="per page").select_option(label="10 per page")
    expect(page.get_by_text(f"Showing 1–10 of {total}")).to_be_visible()
    page.get_by_role("button", name="Next ›").click()
    expect(page.get_by_text(f"Showing 11–20 of {total}")).to_be_visible()
    expected = inventory.query(offset=10, limit=10).rows["item_name"].tolist()
    names = page.locator('.tabulator-row .tabulator-cell[tabulator-field="item_name"]')
    expect(names).to_have_text(expected)

    page.locator('.tabulator-col[tabulator-field="quantity"] .tabulator-col-title').click()  # ascending
    page.locator('.tabulator-col[tabulator-field="quantity"] .tabulator-col-title').click()  # descending
    expect(page.get_by_text(f"Showing 1–10 of {total}")).to_be_visible()  # a new sort starts at page 1
    expect(names.first).to_have_text("Pager item 11")  # the largest quantity of the whole inventory


def test_an_inline_edit_is_saved_and_survives_a_reload(served_app, page):
    open_app(page, served_app)
    edit_cell(page, "Safety Helmet EN 397", "quantity", "41")
    expect(toast(page, "Saved quantity of Safety Helmet EN 397.")).to_be_visible()
    assert item_by_name(served_app.inventory, "Safety Helmet EN 397")["quantity"] == 41
    open_app(page, served_app)
    expect(cell(page, "Safety Helmet EN 397", "quantity")).to_have_text("41")


def test_an_invalid_inline_edit_is_refused_with_the_field_message(served_app, page):
    open_app(page, served_app)
    edit_cell(page, "Standing Desk 160x80", "unit_price", "12.345")
    # An error stays beside the table (its notice), not in a toast (the notification policy, ui/notify.py).
    expect(page.locator(".alert-danger:visible")).to_contain_text("Unit price may have at most 2 decimal places")
    assert str(item_by_name(served_app.inventory, "Standing Desk 160x80")["unit_price"]) == "689.00"
    expect(cell(page, "Standing Desk 160x80", "unit_price")).to_have_text("689.00")


def test_a_stale_inline_edit_shows_the_conflict_and_loses_nothing(served_app, new_page):
    alice, bob = open_app(new_page(), served_app), open_app(new_page(), served_app)
    name = "Nitrile Gloves (box of 100)"
    alice_cell = cell(alice, name, "quantity")
    alice_cell.click()  # Alice starts editing ...
    alice_editor = alice_cell.locator("input")
    expect(alice_editor).to_be_visible()
    edit_cell(bob, name, "quantity", "30")  # ... Bob saves first
    expect(toast(bob, f"Saved quantity of {name}.")).to_be_visible()
    time.sleep(2.5)  # Bob's change reaches Alice's session meanwhile; it must not close her editor
    expect(alice_editor).to_be_visible()
    alice_editor.fill("99")
    alice_editor.press("Enter")
    banner = alice.locator(".alert-warning:visible")
    expect(banner).to_contain_text("was changed by tester@example.com since you opened it")
    expect(banner).to_contain_text("Your quantity: 99")
    expect(banner).to_contain_text("Current quantity: 30")
    assert item_by_name(served_app.inventory, name)["quantity"] == 30  # Bob's value kept
    expect(cell(alice, name, "quantity")).to_have_text("30")  # Alice now sees the current value


def test_add_and_delete_an_item(served_app, page):
    open_app(page, served_app)
    page.get_by_role("button", name="+ Add item").click()
    page.get_by_label("Item name *").fill("Label Printer")
    page.get_by_label("Category *").fill("Electronics")
    page.get_by_label("Quantity *").fill("-1")
    page.get_by_label("Unit price *").fill("129.00")
    page.get_by_role("button", name="Add item", exact=True).click()
    expect(page.locator(".alert-danger:visible")).to_contain_text("Quantity must be 0 or greater")  # the import's words
    page.get_by_label("Quantity *").fill("3")
    page.get_by_role("button", name="Add item", exact=True).click()
    expect(toast(page, "Added Label Printer.")).to_be_visible()
    item = item_by_name(served_app.inventory, "Label Printer")
    assert (item["quantity"], str(item["unit_price"])) == (3, "129.00")
    expect(row(page, "Label Printer")).to_be_visible()

    page.get_by_role("button", name="Delete item…").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(toast(page, "Deleted Label Printer.")).to_be_visible()
    expect(row(page, "Label Printer")).to_have_count(0)
    assert served_app.inventory.query(search="Label Printer").total == 0


def test_stock_adjustment_with_a_reason(served_app, page):
    name = "Whiteboard Markers (4-pack)"
    before = item_by_name(served_app.inventory, name)["quantity"]
    open_app(page, served_app)
    cell(page, name, "open").click()
    page.get_by_role("button", name="Stock", exact=True).click()
    page.get_by_label("Units").fill("6")
    page.get_by_label("Reason *").fill("Delivery PO-1042")
    page.get_by_role("button", name="Apply").click()
    expect(toast(page, re.compile(rf"Received 6 × {re.escape(name)}"))).to_be_visible()
    item = item_by_name(served_app.inventory, name)
    assert item["quantity"] == before + 6
    history = served_app.inventory.history(int(item["id"]))
    assert "Delivery PO-1042" in history.iloc[0]["detail"]
    expect(cell(page, name, "quantity")).to_have_text(str(before + 6))
    page.get_by_role("button", name="History").click()
    expect(page.locator(".timeline")).to_contain_text("Delivery PO-1042")


def test_a_change_in_one_session_appears_in_another_without_reload(served_app, new_page):
    first, second = open_app(new_page(), served_app), open_app(new_page(), served_app)
    edit_cell(first, "Ergonomic Office Chair", "location", "Warehouse C")
    expect(toast(first, "Saved location of Ergonomic Office Chair.")).to_be_visible()
    expect(cell(second, "Ergonomic Office Chair", "location")).to_have_text("Warehouse C", timeout=LIVE_TIMEOUT_MS)
    served_app.inventory.add({"item_name": "Added elsewhere", "category": "Misc", "quantity": 1, "unit_price": "2"})
    expect(row(second, "Added elsewhere")).to_be_visible(timeout=LIVE_TIMEOUT_MS)  # a write from another process


def test_user_text_is_shown_as_text_never_as_markup(served_app, page):
    hostile = "<img src=x onerror=alert(1)>"
    served_app.inventory.add({"item_name": hostile, "category": "<b>bold</b>", "quantity": 1, "unit_price": "1"})
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_app(page, served_app)
    page.locator('input[placeholder^="Search"]').fill("onerror")
    expect(page.locator(".tabulator-row")).to_have_count(1)
    expect(cell(page, hostile, "item_name")).to_have_text(hostile)
    cell(page, hostile, "open").click()
    expect(page.locator(".title", has_text=hostile)).to_be_visible()
    assert page.locator("img[src=x]").count() == 0
    assert dialogs == []
