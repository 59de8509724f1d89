"""Issue 15's notification policy and words, in process on SQLite and PostgreSQL (``inv``): errors stay beside the
thing that failed (the form's fields, the table's notice), a new result replaces the old, successes are brief
toasts that repeat no banner, and a SKU already in use is said to be taken (not an edit conflict)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from inventory_panel.fields import FIELD_BY_NAME
from inventory_panel.ui import messages, notify
from inventory_panel.ui.item_form import ItemForm
from inventory_panel.ui.messages import Notice
from inventory_panel.ui.model import InventoryModel
from inventory_panel.ui.table import ItemsTable
from tests.unit.test_ui_table import add, edit

TAKEN = "SKU 'B-1' is already used by another item. Enter a different SKU."


class Toasts:
    """A stand-in for the session's notification area: records what a person would see as toasts."""

    position = notify.TOAST_POSITION

    def __init__(self) -> None:
        self.shown: list[tuple[str, str, int]] = []
        self.cleared = 0

    def clear(self) -> None:
        self.cleared += 1
        self.shown.clear()

    def __getattr__(self, kind: str) -> Any:
        if kind not in notify.KINDS:
            raise AttributeError(kind)
        return lambda message, duration: self.shown.append((kind, message, duration))


@pytest.fixture
def toasts(monkeypatch) -> Toasts:
    """A served session's toasts (without a server): what notify sends there."""
    area = Toasts()
    monkeypatch.setattr(notify, "_toast_area", lambda: area)
    monkeypatch.setattr(messages, "toasts_unavailable", lambda: False)
    return area


@pytest.fixture
def table(inv) -> ItemsTable:
    add(inv, "Anvil", 0, 2, sku="A-1")
    add(inv, "Bolt", 3, 5, sku="B-1")
    return ItemsTable(model=InventoryModel(inventory=inv))


def test_an_inline_sku_already_in_use_is_said_to_be_taken_beside_the_table(table, inv, toasts):
    edit(table, "Anvil", "sku", "B-1")
    notice = table.conflict
    assert notice.kind == "error" and notice.shown and TAKEN in notice.head and "changed" not in notice.head
    assert toasts.shown == []  # the error stays beside the table; no toast covers the pager
    assert inv.query(search="Anvil").rows.iloc[0]["sku"] == "A-1"
    # The next result replaces the error: a success is a brief toast and the notice goes.
    edit(table, "Anvil", "quantity", 4)
    assert not notice.shown
    assert toasts.shown == [("success", "Saved quantity of Anvil.", notify.BRIEF_MS)]


def test_an_invalid_inline_value_names_the_field_by_its_label_beside_the_table(table, toasts):
    edit(table, "Bolt", "unit_price", "12.345")
    head = table.conflict.head
    assert table.conflict.kind == "error" and FIELD_BY_NAME["unit_price"].msg_scale() in head
    assert "unit_price" not in head and toasts.shown == []


def test_a_refused_save_marks_the_fields_and_lists_them_by_label(inv, toasts):
    form = ItemForm(model=InventoryModel(inventory=inv))
    assert asyncio.run(form.save()) is False
    assert form.invalid == ["item_name", "category", "quantity", "unit_price"]
    assert form.banner.kind == "error" and form.banner.head.startswith("Not saved. Correct the marked fields")
    assert form.banner.lines == [FIELD_BY_NAME[name].msg_required() for name in form.invalid]
    assert not any("_" in line.split(" ")[0] for line in form.banner.lines)  # labels, never item_name
    assert toasts.shown == []
    form.inputs["item_name"].param.update(value="Gloves", value_input="Gloves")  # typing unmarks the field
    assert form.invalid == ["category", "quantity", "unit_price"]
    for name, value in {"category": "Safety", "quantity": "4", "unit_price": "1.50"}.items():
        form.inputs[name].param.update(value=value, value_input=value)
    assert asyncio.run(form.save()) is True
    assert form.invalid == [] and not form.banner.shown
    assert toasts.shown == [("success", "Added Gloves.", notify.BRIEF_MS)]


def test_a_form_saving_a_sku_in_use_marks_the_sku_and_says_it_is_taken(inv, toasts):
    add(inv, "Bolt", 3, 5, sku="B-1")
    form = ItemForm(model=InventoryModel(inventory=inv))
    for name, value in {
        "item_name": "Nut",
        "category": "Tools",
        "quantity": "1",
        "unit_price": "1",
        "sku": "B-1",
    }.items():
        form.inputs[name].param.update(value=value, value_input=value)
    assert asyncio.run(form.save()) is False
    assert form.invalid == ["sku"] and form.banner.head == f"Not saved: {TAKEN}" and toasts.shown == []


def test_a_new_result_replaces_the_old_and_nothing_is_said_twice(toasts):
    place = Notice(kind="error")
    notify.notify("error", "Saving failed: the database is busy.", beside=place)
    assert place.head == "Saving failed: the database is busy." and toasts.shown == []
    notify.notify("success", "Saved Bolt.", beside=place)
    assert not place.shown and toasts.shown == [("success", "Saved Bolt.", notify.BRIEF_MS)]
    cleared = toasts.cleared
    notify.notify("info", "Check finished, nothing written yet.", shown=True)  # the import's banner says it
    assert toasts.cleared == cleared + 1 and toasts.shown == []
    # An error with no place and no message area on screen: the last resort is a toast, and it replaces the old.
    notify.notify("success", "Exported 1 item.")
    notify.notify("error", "Exporting the items failed: the disk is full.")
    assert toasts.shown == [("error", "Exporting the items failed: the disk is full.", notify.FALLBACK_MS)]
