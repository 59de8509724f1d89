"""The words the service and the importer say (issue 15), on SQLite and PostgreSQL: a SKU already in use is named
as taken with what to do, a header with the wrong names names the missing and the unknown columns, and every
count agrees with its noun ("1 row", never "1 rows")."""

from __future__ import annotations

import re

import pytest

from inventory_panel.errors import DuplicateValueError, ImportRefusedError, InsufficientStockError

TAKEN = "SKU 'B-1' is already used by another item. Enter a different SKU."
# "1 rows", "1 items", "1 row have", "1 rows were": a count of one with a plural noun or verb.
BAD_GRAMMAR = re.compile(r"(?<![\d,.])1 (rows|items|units|problems|columns)\b|\b1 row (have|were)\b")


def add(inv, name: str, sku: str, quantity: int = 5) -> dict:
    return inv.add({"item_name": name, "category": "Tools", "quantity": quantity, "unit_price": "1.00", "sku": sku})


def test_a_sku_already_in_use_is_said_to_be_taken_with_what_to_do(inv):
    add(inv, "Anvil", "A-1")
    bolt = add(inv, "Bolt", "B-1")
    with pytest.raises(DuplicateValueError) as raised:
        inv.update(inv.query(search="Anvil").rows.iloc[0]["id"], {"sku": "B-1"}, 1)
    assert str(raised.value) == TAKEN and raised.value.field == "sku" and raised.value.current is None
    with pytest.raises(DuplicateValueError, match=re.escape(TAKEN)):
        add(inv, "Chisel", "B-1")
    assert inv.get(bolt["id"])["sku"] == "B-1" and inv.query().total == 2


def test_a_header_with_the_wrong_names_names_the_missing_and_the_unknown_columns(inv):
    with pytest.raises(ImportRefusedError) as raised:
        inv.import_csv(b"name,qty\nDrill,3\n", dry_run=True)
    message = str(raised.value)
    assert "No header row found" not in message
    assert message.startswith(
        "Missing required columns: item_name, category, quantity, unit_price. Not recognised: name, qty."
    )
    assert "rename the columns as the template names them and upload the file again" in message


def test_one_rejected_row_is_one_row_in_every_message_of_an_import(inv):
    said: list[str] = []
    csv = b"item_name,category,quantity,unit_price,sku\nDrill,Tools,3,9.99,D-1\nSaw,Tools,-1,5,\n"
    report = inv.import_csv(csv, mode="upsert", atomic=True, dry_run=True, progress=lambda *a: said.append(a[2]))
    assert (report.rows, report.skipped) == (2, 1)
    assert report.warnings[0].startswith("Nothing would be imported: 1 row had errors")
    said += report.warnings + [str(m) for m in report.errors["message"]]
    assert "SKU is required in upsert mode (rows are matched to items by SKU)" in said
    assert [m for m in said if BAD_GRAMMAR.search(m)] == []
    report = inv.import_csv(csv, progress=lambda *a: said.append(a[2]))
    assert report.inserted == 1 and said[-1] == "Imported 1 new and 0 updated items; 1 row rejected"
    assert [m for m in said if BAD_GRAMMAR.search(m)] == []


def test_removing_more_than_is_in_stock_says_how_much_can_be_removed(inv):
    bolt = add(inv, "Bolt", "B-1", quantity=1)
    with pytest.raises(InsufficientStockError) as raised:
        inv.adjust_stock(bolt["id"], -2, "used")
    assert str(raised.value) == "Cannot remove 2 units: only 1 in stock. Remove at most 1, or receive stock first."
