"""AuditView without a server: admins only, readable entries, paging and filter in SQL, CSV export."""

from __future__ import annotations

import csv
import io
import json

import pytest

import inventory_panel as ip
from inventory_panel.auth import User
from inventory_panel.changes import describe_changes
from inventory_panel.ui.audit_view import MAX_CHANGES_CHARS, PAGE_SIZE, AuditView
from inventory_panel.ui.model import InventoryModel


def add(inv, name, **extra):
    return inv.add({"item_name": name, "category": "Tools", "quantity": 5, "unit_price": "2.50", **extra})


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_others_than_admins_get_an_explanation_and_no_query(inv, monkeypatch, role):
    calls = []
    monkeypatch.setattr(ip.Inventory, "audit_log", lambda *a, **k: calls.append(a))
    view = AuditView(model=InventoryModel(inventory=inv.as_user(User("<b>eve</b>@example.com", role))))
    html = view._layout[1].object
    assert "Administrators only" in html and "&lt;b&gt;eve&lt;/b&gt;@example.com" in html and "<b>eve" not in html
    view.reload()
    assert calls == [] and not view.allowed


def test_entries_read_as_sentences_newest_first(inv):
    item = add(inv, "Drill", location="Dock 3")
    item = inv.update(item["id"], {"quantity": 9, "location": None}, item["version"])
    inv.adjust_stock(item["id"], -4, "broken in transit")
    inv.delete(item["id"], item["version"] + 1)
    view = AuditView(model=InventoryModel(inventory=inv))
    shown = view.table.value
    assert list(shown["action"]) == ["Deleted", "Stock adjusted", "Edited", "Added"]
    assert shown["changes"].iloc[2] == "Quantity: 5 → 9; Location: Dock 3 → (empty)"
    assert shown["changes"].iloc[1] == "Quantity: 9 → 5" and shown["detail"].iloc[1] == "broken in transit"
    assert shown["changes"].iloc[3].startswith("Item name: Drill; Category: Tools; Quantity: 5")
    assert set(shown["item"]) == {f"Drill (#{item['id']})"}
    assert shown["at"].iloc[0][:2] == "20" and len(shown["at"].iloc[0]) == 19
    assert "Showing 1–4 of 4" in view.pager.range_text.value


def test_each_entry_names_the_item_as_it_was_then(inv):
    """Issue 15: the audit named items only by ``#id``. Which name an entry had is the service's
    (tests/integration/test_audit_trail.py); the view shows it with the id, which never changes."""
    item = add(inv, "Drill")
    item = inv.update(item["id"], {"item_name": "Hammer drill"}, item["version"])
    inv.delete(item["id"], item["version"])
    shown = AuditView(model=InventoryModel(inventory=inv)).table.value
    number = f"(#{item['id']})"
    assert shown["item"].tolist() == [f"Hammer drill {number}", f"Hammer drill {number}", f"Drill {number}"]


def test_an_entry_without_a_recorded_name_shows_the_id(inv):
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    with inv.db.engine.begin() as conn:  # an item written outside the app: no add entry names it
        conn.execute(
            inv.t.items.insert().values(
                id=500,
                item_name="Drill",
                category="Tools",
                quantity=5,
                unit_price="2.50",
                version=1,
                created_at=now,
                created_by="sql",
                updated_at=now,
                updated_by="sql",
            )
        )
    inv.update(500, {"quantity": 1}, 1)
    assert AuditView(model=InventoryModel(inventory=inv)).table.value["item"].tolist() == ["#500"]


def test_paging_and_the_action_filter(inv):
    for i in range(PAGE_SIZE + 5):
        add(inv, f"Item {i}")
    first = inv.query(limit=1).rows.iloc[0]
    inv.adjust_stock(int(first["id"]), 1, "found one")
    view = AuditView(model=InventoryModel(inventory=inv))
    pager = view.pager
    assert len(view.table.value) == PAGE_SIZE and pager.prev_button.disabled and not pager.next_button.disabled
    view.pager.next_button.clicks += 1
    assert view.page == 1 and len(view.table.value) == 6 and view.pager.next_button.disabled
    assert "Showing 51–56 of 56 · page 2 of 2" in view.pager.range_text.value
    view.action = "adjust"
    assert view.page == 0 and list(view.table.value["action"]) == ["Stock adjusted"]
    assert "of 1 ·" in view.pager.range_text.value


def test_new_entries_appear_on_data_change_while_shown(inv):
    model = InventoryModel(inventory=inv)
    view = AuditView(model=model)
    view.active = False
    add(inv, "Later")
    model.changed()
    assert view.stale and view.table.value.empty
    view.active = True
    assert list(view.table.value["action"]) == ["Added"]


def test_export_has_every_matching_entry_escaped_newest_first(inv):
    add(inv, "=cmd|' /C calc'!A0")
    add(inv, "Plain")
    view = AuditView(model=InventoryModel(inventory=inv))
    rows = list(csv.DictReader(io.StringIO(view.download.callback().read())))
    assert [r["action"] for r in rows] == ["add", "add"]
    assert rows[1]["actor"] == "admin@example.com" and rows[1]["at"].endswith("+00:00")
    assert json.loads(rows[0]["changes"])["item_name"] == [None, "Plain"]
    assert json.loads(rows[1]["changes"])["item_name"] == [None, "=cmd|' /C calc'!A0"]  # JSON text starts with {
    view.action = "delete"
    assert view.download.callback().read().splitlines() == ["id,at,actor,action,item_id,changes,batch_id,detail"]


def test_describe_changes_handles_odd_payloads():
    assert describe_changes(None) == ""
    assert describe_changes("not json") == "not json"
    assert describe_changes('{"rows": 3, "file": "a.csv"}', "import") == "rows: 3; file: a.csv"
    assert describe_changes('{"unit_price": ["1.00", "2.00"]}') == "Unit price: 1.00 → 2.00"
    assert len(describe_changes(json.dumps({"description": ["", "x" * 1000]}), limit=MAX_CHANGES_CHARS)) == 400


def test_an_import_batch_reads_as_its_counts(inv):
    add(inv, "Before")
    inv.import_csv(b"item_name,category,quantity,unit_price\nA,Tools,1,1.00\nB,Tools,x,1.00\n", file_name="in.csv")
    view = AuditView(model=InventoryModel(inventory=inv))
    shown = view.table.value
    # Newest first: the batch's counts, then the item the import added (its own row), then the item added by hand.
    assert list(shown["action"]) == ["Imported", "Added", "Added"]
    assert shown["changes"].iloc[0] == "" and shown["item"].iloc[0] == ""
    assert shown["detail"].iloc[1] == "CSV import of in.csv" and shown["changes"].iloc[1].startswith("Item name: A;")
    assert "file: in.csv" in shown["detail"].iloc[0] and "inserted: 1" in shown["detail"].iloc[0]
    assert "skipped: 1" in shown["detail"].iloc[0]
