"""An item id names one item for the life of the database (migration 0003), so a form opened on a deleted item can
never write onto, delete or borrow the history of a new one — however the new item's id came about: SQLite's own
choice, an explicit id, a reset sequence, a changed id, ``INSERT OR REPLACE``. And the audit log cannot be
rewritten by ``INSERT OR REPLACE`` / ``ON CONFLICT DO UPDATE`` either.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError, IntegrityError

import inventory_panel as ip
from inventory_panel.auth import User
from inventory_panel.errors import NotFoundError

PALLET = {"item_name": "Old pallet", "category": "Storage", "quantity": 3, "unit_price": "12.00", "minimum_stock": 1}
LAPTOP = {"item_name": "New laptop", "category": "IT", "quantity": 1, "unit_price": "999.00"}


@pytest.fixture
def alice(inv: ip.Inventory) -> ip.Inventory:
    return inv.as_user(User("alice@example.com", "editor"))


@pytest.fixture
def deleted(inv: ip.Inventory) -> Iterator[dict[str, Any]]:
    """An item, the newest (the highest id), deleted by an admin: the id SQLite would hand out next."""
    inv.add({**PALLET, "item_name": "First"})
    pallet = inv.add(PALLET)
    inv.adjust_stock(pallet["id"], 2, "received")
    inv.delete(pallet["id"], version=2)
    yield pallet


def _table(inv: ip.Inventory, table: sa.Table) -> str:
    return f'"{table.schema}"."{table.name}"' if table.schema else f'"{table.name}"'


def _raw_item(item_id: int | None = None) -> dict[str, Any]:
    now = datetime.now(UTC)
    row = {
        "item_name": "Raw",
        "category": "IT",
        "quantity": 1,
        "unit_price": "5.00",
        "version": 1,
        "created_at": now,
        "created_by": "x",
        "updated_at": now,
        "updated_by": "x",
    }
    return row if item_id is None else {"id": item_id, **row}


def test_a_form_opened_on_a_deleted_item_cannot_write_onto_a_new_one(inv, alice, item_values):
    inv.add({**PALLET, "item_name": "First"})
    pallet = alice.add(PALLET)  # Alice opens "Old pallet" (the newest item) at version 1
    inv.delete(pallet["id"], version=pallet["version"])  # an admin deletes it
    laptop = inv.add(LAPTOP)  # and adds a new item
    assert laptop["id"] > pallet["id"] and laptop["version"] == 1

    with pytest.raises(NotFoundError):  # Alice saves her stale form: the pallet is gone, nothing else changes
        alice.update(pallet["id"], {"quantity": 40, "description": "for the pallet"}, version=pallet["version"])
    with pytest.raises(NotFoundError):  # a stale delete
        inv.delete(pallet["id"], version=pallet["version"])
    assert inv.get(laptop["id"]) == laptop
    # Each item keeps its own history: the laptop's is its add, the pallet's its add and delete.
    assert inv.history(laptop["id"])["what"].tolist() == ["add"]
    assert sorted(inv.history(pallet["id"])["what"].tolist()) == ["add", "delete"]


def test_an_explicit_id_of_a_deleted_item_is_refused(inv, deleted):
    with pytest.raises(IntegrityError, match="item ids are never reused"), inv.db.engine.begin() as conn:
        conn.execute(inv.t.items.insert().values(**_raw_item(deleted["id"])))
    assert inv.summary()["items"] == 1
    # An id never used is fine, explicit or not.
    with inv.db.engine.begin() as conn:
        conn.execute(inv.t.items.insert().values(**_raw_item(deleted["id"] + 100)))
    assert inv.add(LAPTOP)["id"] not in (deleted["id"], deleted["id"] + 100)
    assert inv.summary()["items"] == 3


def test_a_reset_sequence_cannot_hand_out_a_deleted_items_id(inv, deleted):
    items = _table(inv, inv.t.items)
    with inv.db.engine.begin() as conn:
        if inv.db.dialect == "sqlite":  # forget the high-water mark: SQLite falls back to the highest id + 1
            conn.exec_driver_sql("UPDATE sqlite_sequence SET seq = 0 WHERE name = ?", (inv.t.items.name,))
        else:
            conn.execute(
                sa.text("SELECT setval(pg_get_serial_sequence(:t, 'id'), :v)"), {"t": items, "v": deleted["id"] - 1}
            )
    with pytest.raises(IntegrityError, match="item ids are never reused"):
        inv.add(LAPTOP)
    assert inv.summary()["items"] == 1 and inv.query().rows["item_name"].tolist() == ["First"]


def test_an_item_id_cannot_be_changed(inv, deleted):
    first = inv.query().rows["id"].iloc[0]
    with pytest.raises(IntegrityError, match="an item id never changes"), inv.db.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE {_table(inv, inv.t.items)} SET id = {deleted['id']} WHERE id = {first}")
    assert inv.get(int(first))["item_name"] == "First"


@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
def test_sqlite_replace_cannot_swap_an_item(sqlite_url, settings, verb):
    inv = ip.connect(sqlite_url, user="admin@example.com", role="admin", settings=settings)
    try:
        item = inv.add(PALLET)
        with pytest.raises(IntegrityError, match="item ids are never reused"), inv.db.engine.begin() as conn:
            conn.exec_driver_sql(
                f"{verb} INTO inventory_items (id, item_name, category, quantity, unit_price, version, created_at, "
                f"created_by, updated_at, updated_by) VALUES ({item['id']}, 'Swapped', 'IT', 1, 500, 1, "
                "'2024-01-01 00:00:00', 'x', '2024-01-01 00:00:00', 'x')"
            )
        assert inv.get(item["id"]) == item and inv.summary()["units"] == PALLET["quantity"]
    finally:
        inv.close()


def _audit_rows(inv: ip.Inventory) -> list[tuple[Any, ...]]:
    with inv.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(inv.t.audit).order_by(inv.t.audit.c.id))]


AUDIT_COLUMNS = "id, at, actor, action, item_id, changes"
FORGED = "1, '2024-01-01 00:00:00+00', 'mallory@example.com', 'add', 1, '{}'"


UPSERT = (
    f"INSERT INTO AUDIT_TABLE ({AUDIT_COLUMNS}) VALUES ({FORGED}) "
    "ON CONFLICT (id) DO UPDATE SET actor = excluded.actor, changes = excluded.changes"
)


@pytest.mark.parametrize(
    ("database", "statement"),
    [
        ("sqlite", f"INSERT OR REPLACE INTO AUDIT_TABLE ({AUDIT_COLUMNS}) VALUES ({FORGED})"),
        ("sqlite", f"REPLACE INTO AUDIT_TABLE ({AUDIT_COLUMNS}) VALUES ({FORGED})"),
        # ON CONFLICT DO UPDATE runs the UPDATE triggers (0001), which refuse it: kept that way.
        ("sqlite", UPSERT),
        pytest.param("pg", UPSERT, marks=pytest.mark.postgres),
    ],
)
def test_the_audit_log_cannot_be_rewritten_by_an_insert(request, settings, item_values, database, statement):
    inv = ip.connect(
        request.getfixturevalue(f"{database}_url"), user="admin@example.com", role="admin", settings=settings
    )
    request.addfinalizer(inv.close)
    inv.add(item_values)
    before = _audit_rows(inv)
    with pytest.raises(DatabaseError, match="append-only"), inv.db.engine.begin() as conn:
        conn.exec_driver_sql(statement.replace("AUDIT_TABLE", _table(inv, inv.t.audit)))
    assert _audit_rows(inv) == before
    inv.adjust_stock(1, 1, "still writable")  # new audit rows are still welcome, with the next id
    assert [r[0] for r in _audit_rows(inv)] == [1, 2]


def test_sqlite_ids_never_go_back_after_the_newest_rows_are_gone(sqlite_url, settings, item_values):
    """AUTOINCREMENT on items, movements and audit: SQLite remembers the highest id each ever handed out."""
    inv = ip.connect(sqlite_url, user="admin@example.com", role="admin", settings=settings)
    try:
        with inv.db.engine.connect() as conn:
            ddl = dict(conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'table'").all())
        for table in (inv.t.items, inv.t.movements, inv.t.audit):
            assert "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT" in ddl[table.name], ddl[table.name]
        ids = [inv.add({**item_values, "sku": None})["id"] for _ in range(3)]
        for item_id in reversed(ids):
            inv.delete(item_id, version=1)
        assert inv.add(item_values)["id"] == ids[-1] + 1
    finally:
        inv.close()
