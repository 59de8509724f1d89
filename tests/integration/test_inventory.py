"""The Inventory service on real SQLite and a real PostgreSQL: reads, writes, locking, history."""

import threading
from decimal import Decimal

import pandas as pd
import pytest

from inventory_panel.errors import (
    ConflictError,
    InsufficientStockError,
    NotFoundError,
    ValidationError,
)


def _add(inv, name, category="Tools", quantity=10, price="1.00", minimum=None, sku=None, location="A"):
    return inv.add(
        {
            "item_name": name,
            "category": category,
            "quantity": quantity,
            "unit_price": price,
            "minimum_stock": minimum,
            "sku": sku,
            "location": location,
        }
    )


def test_add_stores_exact_money_and_audit_fields(inv, item_values):
    item = inv.add(item_values)
    assert item["unit_price"] == Decimal("24.90") and isinstance(item["unit_price"], Decimal)
    assert item["version"] == 1 and item["created_by"] == "admin@example.com"
    assert item["created_at"].tzinfo is not None and item["created_at"].utcoffset().total_seconds() == 0
    assert inv.get(item["id"])["sku"] == "HLM-1"


def test_add_rejects_invalid_values_with_field_messages(inv):
    with pytest.raises(ValidationError) as exc:
        inv.add({"item_name": "", "category": "X", "quantity": "nan", "unit_price": "-1"})
    assert exc.value.errors == {
        "item_name": "Item name is required",
        "quantity": "Quantity must be a whole number such as 5",
        "unit_price": "Unit price must be 0 or greater",
    }
    assert inv.summary()["items"] == 0


def test_query_filters_sorts_and_pages_in_sql(inv):
    for i, (cat, qty, minimum, price) in enumerate(
        [("Tools", 0, 5, "3.00"), ("Tools", 2, 5, "9.99"), ("Desks", 50, 5, "120.00"), ("Desks", 7, None, "0.50")]
    ):
        _add(inv, f"Item {i} widget", cat, qty, price, minimum, sku=f"S{i}", location="B" if i % 2 else "A")
    page = inv.query(sort_by="unit_price", descending=True, limit=2)
    assert page.total == 4 and list(page.rows["item_name"]) == ["Item 2 widget", "Item 1 widget"]
    page2 = inv.query(sort_by="unit_price", descending=True, offset=2, limit=2)
    assert list(page2.rows["item_name"]) == ["Item 0 widget", "Item 3 widget"]
    assert inv.query(category="Desks").total == 2
    assert inv.query(location="B").total == 2
    assert list(inv.query(status="out").rows["item_name"]) == ["Item 0 widget"]
    assert list(inv.query(status="low").rows["item_name"]) == ["Item 1 widget"]
    assert inv.query(status="ok").total == 2
    assert inv.query(search="WIDGET").total == 4 and inv.query(search="s2").total == 1
    assert inv.query(search="100%").total == 0  # LIKE wildcards in user text are literal
    with pytest.raises(ValueError):
        inv.query(sort_by="item_name; drop table x")


def test_summary_in_one_pass(inv):
    _add(inv, "a", "Tools", 3, "2.50", minimum=5)
    _add(inv, "b", "Desks", 0, "100.00", minimum=1)
    _add(inv, "c", "Desks", 10, "0.10")
    assert inv.summary() == {
        "items": 3,
        "units": 13,
        "total_value": Decimal("8.50"),
        "categories": 2,
        "low_stock": 1,
        "out_of_stock": 1,
    }


def test_empty_summary(inv):
    assert inv.summary() == {
        "items": 0,
        "units": 0,
        "total_value": Decimal("0.00"),
        "categories": 0,
        "low_stock": 0,
        "out_of_stock": 0,
    }


def test_update_with_current_version_bumps_it_and_audits_old_and_new(inv, item_values):
    item = inv.add(item_values)
    updated = inv.update(item["id"], {"unit_price": "25.00", "location": "Dock 3"}, version=1)
    assert updated["version"] == 2 and updated["unit_price"] == Decimal("25.00")
    audit = inv.audit_log().rows
    last = audit.iloc[0]
    assert last["action"] == "update" and last["actor"] == "admin@example.com"
    assert '"location": ["Safety Locker", "Dock 3"]' in last["changes"]


def test_stale_version_raises_conflict_and_changes_nothing(inv, item_values):
    item = inv.add(item_values)
    inv.update(item["id"], {"quantity": 11}, version=1)
    with pytest.raises(ConflictError) as exc:
        inv.update(item["id"], {"quantity": 99}, version=1)
    assert exc.value.current["quantity"] == 11 and exc.value.current["version"] == 2
    assert inv.get(item["id"])["quantity"] == 11
    with pytest.raises(ConflictError):
        inv.delete(item["id"], version=1)
    assert inv.get(item["id"])["version"] == 2


def test_delete_keeps_the_row_in_the_audit(inv, item_values):
    item = inv.add(item_values)
    inv.delete(item["id"], version=1)
    with pytest.raises(NotFoundError):
        inv.get(item["id"])
    entry = inv.audit_log(action="delete").rows.iloc[0]
    assert entry["item_id"] == item["id"] and "Safety Helmet" in entry["changes"]


def test_duplicate_sku_is_a_conflict(inv, item_values):
    inv.add(item_values)
    with pytest.raises(ConflictError, match="HLM-1"):
        inv.add({**item_values, "item_name": "Other"})
    assert inv.summary()["items"] == 1


def test_adjust_stock_is_a_delta_that_never_goes_below_zero(inv, item_values):
    item = inv.add(item_values)
    assert inv.adjust_stock(item["id"], -5, "issued to site")["quantity"] == 7
    assert inv.adjust_stock(item["id"], 3, "delivery")["quantity"] == 10
    with pytest.raises(InsufficientStockError):
        inv.adjust_stock(item["id"], -11, "too many")
    with pytest.raises(ValidationError):
        inv.adjust_stock(item["id"], 2, "   ")
    assert inv.get(item["id"])["quantity"] == 10
    history = inv.history(item["id"])
    assert list(history["what"][:2]) == ["stock receive", "stock issue"]
    assert "delivery" in history["detail"].iloc[0]


def test_concurrent_adjustments_never_take_quantity_negative(inv, item_values):
    item = inv.add({**item_values, "quantity": 50})
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            try:
                inv.adjust_stock(item["id"], -3, "pick")
                result = "ok"
            except InsufficientStockError:
                result = "refused"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = inv.get(item["id"])["quantity"]
    assert outcomes.count("ok") == 16 and outcomes.count("refused") == 4
    assert final == 50 - 3 * 16 == 2


def test_analytics_are_computed_in_sql(inv):
    _add(inv, "a", "Tools", 2, "10.00", location="A")
    _add(inv, "b", "Tools", 1, "5.00", location=None)
    _add(inv, "c", "Desks", 0, "99.00", minimum=1, location="A")
    by_cat = inv.value_by_category()
    assert list(by_cat["category"]) == ["Tools", "Desks"] and by_cat["value"].iloc[0] == Decimal("25.00")
    assert dict(inv.stock_status_counts().itertuples(index=False)) == {"ok": 2, "low": 0, "out": 1}
    assert list(inv.top_items_by_value(2)["item_name"]) == ["a", "b"]
    assert dict(zip(*[inv.quantity_by_location()[c] for c in ("location", "units")], strict=True)) == {
        "A": 2,
        "(no location)": 1,
    }
    assert list(inv.low_stock()["item_name"]) == ["c"]
    assert inv.distinct_values("category") == ["Desks", "Tools"]


def test_change_token_grows_with_every_write(inv, item_values):
    before = inv.change_token()
    inv.add(item_values)
    assert inv.change_token() > before


def test_query_returns_a_frame_with_the_documented_columns(inv, item_values):
    inv.add(item_values)
    rows = inv.query().rows
    assert isinstance(rows, pd.DataFrame)
    assert {"id", "version", "status", "item_name", "unit_price"} <= set(rows.columns)


def test_the_largest_valid_item_is_stored_and_summed_exactly(inv):
    inv.add({"item_name": "Gold", "category": "Vault", "quantity": 2_147_483_647, "unit_price": "9999999999.99"})
    if inv.db.dialect == "postgresql":  # SQLite integers stop at 2**63 cents; PostgreSQL sums in NUMERIC
        assert inv.summary()["total_value"] == Decimal("2147483647") * Decimal("9999999999.99")
    assert inv.summary()["items"] == 1
