"""The item side panel without a server: the add/edit form (same messages as the import), conflicts, stock
adjustments, history, and delete with confirmation."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

import inventory_panel as ip
from inventory_panel.fields import FIELD_BY_NAME
from inventory_panel.ui.history import history_html
from inventory_panel.ui.item_form import ItemForm
from inventory_panel.ui.item_panel import ItemPanel
from inventory_panel.ui.model import InventoryModel
from inventory_panel.ui.stock import StockAdjustment


@pytest.fixture
def model(inv):
    return InventoryModel(inventory=inv)


@pytest.fixture
def helmet(inv):
    return inv.add(
        {
            "item_name": "Helmet",
            "category": "Safety",
            "quantity": 12,
            "unit_price": "24.90",
            "minimum_stock": 5,
            "sku": "HLM-1",
        }
    )


def fill(form: ItemForm, **values: str) -> None:
    for name, value in values.items():
        form.inputs[name].param.update(value=value, value_input=value)


def test_adding_an_item(model, inv):
    form = ItemForm(model=model)
    assert form.save_button.label == "Add item" and form.item_id is None
    fill(form, item_name="Gloves", category="Safety", quantity="40", unit_price="3.5", minimum_stock="")
    assert asyncio.run(form.save()) is True
    item = inv.query(search="Gloves").rows.iloc[0]
    assert item["unit_price"] == Decimal("3.50") and item["minimum_stock"] is None
    assert form.item_id == int(item["id"]) and form.save_button.label == "Save changes"
    assert model.total == 1 and model.data_version == 1


def test_invalid_fields_get_the_same_messages_as_the_import(model, inv):
    form = ItemForm(model=model)
    fill(form, item_name="", category="Safety", quantity="1e3", unit_price="-1", minimum_stock="nan")
    assert asyncio.run(form.save()) is False
    assert form.banner.kind == "error"
    assert form.banner.lines == [
        FIELD_BY_NAME["item_name"].msg_required(),
        FIELD_BY_NAME["quantity"].msg_not_integer(),
        FIELD_BY_NAME["unit_price"].msg_too_small(),
        FIELD_BY_NAME["minimum_stock"].msg_not_integer(),
    ]
    assert inv.query().total == 0
    assert form.values()["quantity"] == "1e3"  # the person's input is kept for correcting


def test_editing_sends_only_the_changed_fields(model, inv, helmet):
    form = ItemForm(model=model, item_id=helmet["id"])
    assert form.values()["unit_price"] == "24.90" and not form.dirty
    fill(form, location="Locker 2")
    assert form.dirty and asyncio.run(form.save()) is True
    audit = inv.audit_log(limit=1).rows.iloc[0]
    assert audit["action"] == "update" and '"location"' in audit["changes"] and "quantity" not in audit["changes"]
    assert form.version == 2 and not form.dirty


def test_a_conflicting_save_shows_both_values_and_can_overwrite(model, inv, other, helmet):
    form = ItemForm(model=model, item_id=helmet["id"])
    other.update(helmet["id"], {"quantity": 30}, 1)
    fill(form, quantity="7")
    assert asyncio.run(form.save()) is False
    assert "was changed by bob@example.com" in form.banner.head
    assert form.banner.lines == ["Quantity: yours 7 · now 30"]
    assert form.values()["quantity"] == "7" and inv.get(helmet["id"])["quantity"] == 30  # nothing lost
    assert form.overwrite_button.visible
    assert asyncio.run(form.save(overwrite=True)) is True
    assert inv.get(helmet["id"])["quantity"] == 7


def test_a_conflict_can_be_resolved_by_loading_their_values(model, other, helmet):
    form = ItemForm(model=model, item_id=helmet["id"])
    other.update(helmet["id"], {"quantity": 30}, 1)
    fill(form, quantity="7")
    asyncio.run(form.save())
    form.revert_button.clicks += 1
    assert form.values()["quantity"] == "30" and form.version == 2 and not form.banner.shown


def test_an_untouched_form_follows_other_peoples_changes_an_edited_one_does_not(model, other, helmet):
    form = ItemForm(model=model, item_id=helmet["id"])
    other.update(helmet["id"], {"location": "Dock"}, 1)
    model.external_change(other.change_token())
    assert form.values()["location"] == "Dock" and form.version == 2
    fill(form, quantity="8")
    other.update(helmet["id"], {"location": "Loft"}, 2)
    model.external_change(other.change_token())
    assert form.values()["location"] == "Dock" and form.values()["quantity"] == "8"
    assert form.banner.kind == "info" and "bob@example.com changed this item" in form.banner.head


def test_a_taken_sku_is_reported(model, inv, helmet):
    form = ItemForm(model=model)
    fill(form, item_name="Other helmet", category="Safety", quantity="1", unit_price="1", sku="HLM-1")
    assert asyncio.run(form.save()) is False
    assert "HLM-1" in form.banner.head and "already used" in form.banner.head


def test_a_viewer_sees_a_read_only_form(sqlite_url, helmet):
    viewer = ip.connect(sqlite_url, user="vic@example.com", role="viewer")
    form = ItemForm(model=InventoryModel(inventory=viewer), item_id=helmet["id"])
    assert all(widget.disabled for widget in form.inputs.values()) and not form.save_button.visible
    viewer.close()


def test_stock_is_received_and_issued_with_a_reason(model, inv, helmet):
    stock = StockAdjustment(model=model, item_id=helmet["id"])
    assert stock.quantity == 12 and "In stock now: <b>12</b>" in stock._now.object
    stock.amount.value = 5
    stock.reason.param.update(value="Delivery PO-7", value_input="Delivery PO-7")
    assert asyncio.run(stock.apply()) is True
    assert inv.get(helmet["id"])["quantity"] == 17 and stock.quantity == 17 and stock.reason.value == ""
    stock.direction.value = "Issue (−)"
    stock.amount.value = 20
    stock.reason.param.update(value="Site visit", value_input="Site visit")
    assert asyncio.run(stock.apply()) is False
    assert stock.banner.head == (
        "Stock not changed: Cannot remove 20 units: only 17 in stock. Remove at most 17, or receive stock first."
    )
    assert inv.get(helmet["id"])["quantity"] == 17


def test_a_stock_change_needs_a_reason(model, inv, helmet):
    stock = StockAdjustment(model=model, item_id=helmet["id"])
    assert asyncio.run(stock.apply()) is False
    assert stock.banner.head == "Stock not changed: give a reason for the adjustment"
    assert inv.get(helmet["id"])["quantity"] == 12


def test_history_lists_movements_and_changes_escaped(model, inv, helmet):
    inv.adjust_stock(helmet["id"], -2, "<script>alert(1)</script>")
    panel = ItemPanel(model=model)
    model.selected_id = helmet["id"]
    html = panel.history._pane.object
    assert html.index("stock issue") < html.index(">add<")  # newest first
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert "Item name: Helmet" in html and "None →" not in html
    assert history_html(inv.history(helmet["id"]).iloc[0:0]) == '<div class="none">No history yet.</div>'


def test_the_panel_opens_the_selected_item_and_closes(model, helmet):
    panel = ItemPanel(model=model)
    assert panel.mode == "closed" and not panel.__panel__().visible
    assert len(panel.__panel__()) == 0  # nothing of the closed panel is sent to a new session's browser
    model.selected_id = helmet["id"]
    assert panel.mode == "item" and panel.__panel__().visible and len(panel.__panel__()) == 2 + len(panel.sections)
    assert panel.form.item_id == helmet["id"] and panel.stock.item_id == helmet["id"]
    assert "Helmet" in panel.title.object and "HLM-1" in panel.title.object
    panel.section.value = "History"
    assert panel.sections["History"].visible and not panel.sections["Details"].visible
    panel._close.clicks += 1
    assert panel.mode == "closed" and model.selected_id is None


def test_add_mode_shows_only_the_form(model):
    panel = ItemPanel(model=model)
    panel.open_add()
    assert panel.mode == "add" and not panel.section.visible and not panel.form.actions.visible
    fill(panel.form, item_name="Tape", category="Misc", quantity="3", unit_price="1")
    asyncio.run(panel.form.save())
    assert panel.mode == "item" and model.selected_id == panel.form.item_id  # the new item stays open


def test_delete_asks_first_then_deletes(model, inv, helmet):
    panel = ItemPanel(model=model)
    model.selected_id = helmet["id"]
    panel.delete_button.clicks += 1
    assert panel.confirm.open and "Delete Helmet?" in panel._confirm_text.object
    assert inv.query().total == 1  # nothing happens before the confirmation
    panel.confirm_button.clicks += 1
    assert inv.query().total == 0 and panel.mode == "closed" and model.total == 0


def test_delete_of_an_item_changed_meanwhile_is_refused(model, inv, other, helmet):
    panel = ItemPanel(model=model)
    model.selected_id = helmet["id"]
    other.update(helmet["id"], {"quantity": 1}, 1)
    assert asyncio.run(panel.delete()) is False
    assert inv.get(helmet["id"])["quantity"] == 1 and panel.form.version == 2


def test_delete_is_hidden_from_editors(sqlite_url, helmet):
    editor = ip.connect(sqlite_url, user="ed@example.com", role="editor")
    model = InventoryModel(inventory=editor)
    panel = ItemPanel(model=model)
    model.selected_id = helmet["id"]
    assert not panel.delete_button.visible
    editor.close()


def test_selecting_an_item_deleted_meanwhile_says_so(model, other, helmet):
    panel = ItemPanel(model=model)
    other.delete(helmet["id"], 1)
    model.selected_id = helmet["id"]
    assert model.selected_id is None and panel.mode == "closed"
