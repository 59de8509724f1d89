"""The audit trail: append-only in the database, one row per write with the actor and the values, written in the
same transaction as the change (so a failed write leaves no audit row and a failed audit write undoes the change).
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

import inventory_panel as ip
from inventory_panel.auth import User
from inventory_panel.errors import (
    ConflictError,
    DatabaseUnavailableError,
    InsufficientStockError,
    PermissionDeniedError,
    ValidationError,
)
from inventory_panel.storage.audit import AuditWriter


def _audit(inv: ip.Inventory) -> list[dict[str, Any]]:
    """Every audit row, oldest first, read directly from the table."""
    with inv.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(inv.t.audit).order_by(inv.t.audit.c.id))]


def _changes(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(row["changes"])


def _added(**values: Any) -> dict[str, list[Any]]:
    """The changes an add records: ``[null, value]`` per given field."""
    return {field: [None, value] for field, value in values.items()}


# -- append-only ------------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {t} SET actor = 'mallory@example.com'",
        "DELETE FROM {t}",
        "TRUNCATE {t}",
    ],
)
def test_postgres_trigger_rejects_changes_to_the_audit_table(pg_url, settings, item_values, statement):
    # Connected as the superuser that owns the tables: even the app's own (all-powerful) role cannot rewrite history.
    inv = ip.connect(pg_url, user="admin@example.com", role="admin", settings=settings)
    inv.add(item_values)
    before = _audit(inv)
    table = f'"{inv.t.audit.schema}"."{inv.t.audit.name}"'
    with pytest.raises(DatabaseError, match="the audit log is append-only"), inv.db.engine.begin() as conn:
        conn.exec_driver_sql(statement.format(t=table))
    assert _audit(inv) == before and len(before) == 1
    inv.close()


LEAST_PRIVILEGE_GRANTS = """
GRANT USAGE ON SCHEMA inventory_app TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA inventory_app TO {role};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA inventory_app TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON inventory_app.inventory_items_audit FROM {role};
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON inventory_app.inventory_items_alembic_version FROM {role};
"""


@pytest.mark.postgres
def test_least_privilege_app_role_works_and_cannot_touch_the_audit_at_all(pg_server, settings, item_values):
    """The deployment of docs/security.md: an owner role runs the migrations, the app's role only gets grants."""
    database, role = f"lp_{uuid.uuid4().hex[:10]}", f"app_{uuid.uuid4().hex[:8]}"
    owner = ip.connect(pg_server.create_database(database), user="owner@example.com", role="admin", settings=settings)
    owner.close()
    pg_server.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app-secret'")
    pg_server.execute(LEAST_PRIVILEGE_GRANTS.format(role=role), database)

    app = ip.connect(
        pg_server.url_for(role, "app-secret", database), user="ed@example.com", role="editor", settings=settings
    )  # starts: the schema exists, so the app never needs CREATE
    item = app.add(item_values)
    app.update(item["id"], {"quantity": 3}, version=1)
    app.adjust_stock(item["id"], 2, "delivery")
    assert app.get(item["id"])["quantity"] == 5
    audit = f'"{app.t.audit.schema}"."{app.t.audit.name}"'
    for statement in (
        f"UPDATE {audit} SET actor = 'x'",
        f"DELETE FROM {audit}",
        f"TRUNCATE {audit}",
        f'DROP TRIGGER "{app.t.audit.name}_append_only" ON {audit}',
        f"DROP TABLE {audit}",
    ):
        with pytest.raises(DatabaseError, match=r"permission denied|must be owner"), app.db.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert [r["action"] for r in _audit(app)] == ["add", "update", "adjust"]
    app.close()


@pytest.mark.postgres
def test_a_role_without_privileges_gets_one_clear_line_at_start(pg_server, settings):
    database, role = f"np_{uuid.uuid4().hex[:10]}", f"nobody_{uuid.uuid4().hex[:8]}"
    pg_server.create_database(database)
    pg_server.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'pw'")
    pg_server.execute(f"REVOKE CREATE ON DATABASE {database} FROM PUBLIC")
    with pytest.raises(DatabaseUnavailableError) as exc:
        ip.connect(pg_server.url_for(role, "pw", database), user="x@example.com", settings=settings)
    message = str(exc.value)
    assert "\n" not in message and "permission denied" in message and database in message


@pytest.mark.parametrize("statement", ["UPDATE {t} SET actor = 'mallory@example.com'", "DELETE FROM {t}"])
def test_sqlite_trigger_rejects_changes_to_the_audit_table(sqlite_url, settings, item_values, statement):
    inv = ip.connect(sqlite_url, user="admin@example.com", role="admin", settings=settings)
    inv.add(item_values)
    before = _audit(inv)
    with pytest.raises(DatabaseError, match="append-only"), inv.db.engine.begin() as conn:
        conn.exec_driver_sql(statement.format(t=f'"{inv.t.audit.name}"'))
    assert _audit(inv) == before
    inv.close()


# -- one row per write, with the actor and the values -------------------------------------------------------------


@pytest.fixture
def editor(inv: ip.Inventory) -> ip.Inventory:
    return inv.as_user(User("ed@example.com", "editor", "databricks"))


def test_add_records_the_new_values(editor, inv, item_values):
    item = editor.add(item_values)
    (row,) = _audit(inv)
    assert (row["action"], row["actor"], row["item_id"]) == ("add", "ed@example.com", item["id"])
    assert _changes(row) == _added(
        item_name="Safety Helmet",
        category="Safety Equipment",
        quantity=12,
        unit_price="24.90",
        supplier="Safety First Inc.",
        location="Safety Locker",
        minimum_stock=5,
        sku="HLM-1",
    )
    assert row["at"].tzinfo is not None


def test_edit_records_old_and_new_value_of_each_changed_field_only(editor, inv, item_values):
    item = editor.add(item_values)
    editor.update(
        item["id"],
        {"unit_price": "30.00", "location": "Dock 3", "category": "Safety Equipment"},
        version=item["version"],
    )
    row = _audit(inv)[-1]
    assert (row["action"], row["actor"], row["item_id"]) == ("update", "ed@example.com", item["id"])
    assert _changes(row) == {"unit_price": ["24.90", "30.00"], "location": ["Safety Locker", "Dock 3"]}


def test_delete_records_the_deleted_row(inv, item_values):
    item = inv.add(item_values)
    inv.delete(item["id"], version=item["version"])
    row = _audit(inv)[-1]
    assert (row["action"], row["actor"], row["item_id"]) == ("delete", "admin@example.com", item["id"])
    deleted = _changes(row)
    assert deleted["id"] == item["id"] and deleted["version"] == 1
    assert {k: deleted[k] for k in item_values} == {**item_values, "unit_price": "24.90"}


def test_adjustment_records_old_and_new_quantity_and_the_reason(editor, inv, item_values):
    item = editor.add(item_values)
    editor.adjust_stock(item["id"], -4, "issued to site B")
    row = _audit(inv)[-1]
    assert (row["action"], row["actor"], row["item_id"]) == ("adjust", "ed@example.com", item["id"])
    assert _changes(row) == {"quantity": [12, 8]} and row["detail"] == "issued to site B"


def test_import_batch_is_recorded_with_its_actor(editor, inv):
    data = b"item_name,category,quantity,unit_price,sku\nBolt,Hardware,5,0.10,B-1\nNut,Hardware,7,0.05,N-1\n"
    report = editor.import_csv(data, file_name="bolts.csv")
    assert report.inserted == 2
    rows = _audit(inv)
    assert rows and all(r["actor"] == "ed@example.com" for r in rows)
    batch_ids = {r["batch_id"] for r in rows}
    assert len(batch_ids) == 1 and None not in batch_ids  # one batch, every row tagged with it
    assert any(r["action"] == "import" for r in rows)
    items = inv.query(sort_by="sku").rows
    assert set(items["created_by"]) == {"ed@example.com"}


def test_role_denial_is_recorded(inv, item_values):
    item = inv.add(item_values)
    viewer = inv.as_user(User("vera@example.com", "viewer", "panel"))
    with pytest.raises(PermissionDeniedError):
        viewer.delete(item["id"], version=1)
    row = _audit(inv)[-1]
    assert (row["action"], row["actor"], row["detail"]) == (
        "denied",
        "vera@example.com",
        "delete refused for role viewer",
    )


# -- same transaction ---------------------------------------------------------------------------------------------


def test_refused_writes_leave_no_audit_row(inv, item_values):
    item = inv.add(item_values)
    inv.update(item["id"], {"quantity": 13}, version=1)
    count = len(_audit(inv))
    with pytest.raises(ConflictError):
        inv.update(item["id"], {"quantity": 99}, version=1)
    with pytest.raises(ConflictError):
        inv.add({**item_values, "item_name": "Duplicate SKU"})
    with pytest.raises(InsufficientStockError):
        inv.adjust_stock(item["id"], -1000, "too many")
    with pytest.raises(ValidationError):
        inv.add({**item_values, "quantity": -1})
    with pytest.raises(ConflictError):
        inv.delete(item["id"], version=1)
    assert len(_audit(inv)) == count


class AuditWriteFailed(Exception):
    pass


@pytest.mark.parametrize("operation", ["add", "update", "delete", "adjust"])
def test_a_failed_audit_write_undoes_the_change(inv, item_values, monkeypatch, operation):
    item = inv.add(item_values)
    before_items = inv.query().rows.to_dict("records")
    before_audit = _audit(inv)
    original = AuditWriter.record  # every audit row of the service goes through the unit of work's audit writer

    def record_then_fail(self, conn, *args, **kwargs):
        original(self, conn, *args, **kwargs)  # the audit row is written inside the transaction, then it fails
        raise AuditWriteFailed

    monkeypatch.setattr(AuditWriter, "record", record_then_fail)
    calls = {
        "add": lambda: inv.add({**item_values, "sku": "OTHER"}),
        "update": lambda: inv.update(item["id"], {"quantity": 1}, version=1),
        "delete": lambda: inv.delete(item["id"], version=1),
        "adjust": lambda: inv.adjust_stock(item["id"], 5, "delivery"),
    }
    with pytest.raises(AuditWriteFailed):
        calls[operation]()
    monkeypatch.undo()
    assert inv.query().rows.to_dict("records") == before_items
    assert _audit(inv) == before_audit
    assert inv.history(item["id"])["what"].tolist() == ["add"]  # no stock movement survived either


# -- viewable and exportable by admins ----------------------------------------------------------------------------


def test_audit_log_pages_newest_first_and_filters_by_action(inv, item_values):
    item = inv.add(item_values)
    inv.adjust_stock(item["id"], 1, "a")
    inv.adjust_stock(item["id"], 2, "b")
    page = inv.audit_log(limit=2)
    assert page.total == 3 and page.rows["action"].tolist() == ["adjust", "adjust"]
    assert page.rows["detail"].tolist() == ["b", "a"]
    assert inv.audit_log(action="add").rows["item_id"].tolist() == [item["id"]]


def test_audit_export_is_admin_only_and_escapes_formulas(inv, item_values):
    item = inv.add({**item_values, "item_name": '=HYPERLINK("http://x")'})
    inv.adjust_stock(item["id"], 1, "@SUM(A1)")
    buffer = io.StringIO()
    assert inv.export_audit_csv(buffer) == 2
    rows = list(csv.DictReader(io.StringIO(buffer.getvalue())))
    assert [r["action"] for r in rows] == ["add", "adjust"]
    assert rows[0]["actor"] == "admin@example.com" and rows[1]["detail"] == "'@SUM(A1)"
    assert "=HYPERLINK" in rows[0]["changes"]  # inside JSON, which starts with "{": harmless to a spreadsheet
    editor = inv.as_user(User("ed@example.com", "editor"))
    with pytest.raises(PermissionDeniedError):
        editor.export_audit_csv(io.StringIO())


# -- imports: one audit row per item --------------------------------------------------------------------------------


def test_every_item_an_import_inserts_or_updates_has_its_own_audit_row_with_the_batch(editor, inv, item_values):
    from inventory_panel.ui.history import history_html

    existing = inv.add(item_values)  # HLM-1, added by hand before the import
    data = (
        "sku,item_name,category,quantity,unit_price,supplier\n"
        "HLM-1,Safety Helmet,Safety Equipment,20,24.90,Safety First Inc.\n"
        "B-1,Bolt,Hardware,5,0.10,\n"
        "N-1,Nut,Hardware,7,1234.05,Acme\n"
    )
    report = editor.import_csv(data.encode(), mode="upsert", file_name="bolts.csv")
    assert (report.inserted, report.updated) == (2, 1)
    ids = {
        sku: int(i)
        for sku, i in zip(inv.query(sort_by="sku").rows["sku"], inv.query(sort_by="sku").rows["id"], strict=True)
    }
    batch = [r for r in _audit(inv) if r["batch_id"] == report.batch_id]
    assert sorted((r["action"], r["item_id"]) for r in batch if r["item_id"] is not None) == sorted(
        [("add", ids["B-1"]), ("add", ids["N-1"]), ("update", ids["HLM-1"])]
    )
    adds = {r["item_id"]: r for r in batch if r["action"] == "add"}
    for row in adds.values():
        assert (row["actor"], row["detail"]) == ("ed@example.com", "CSV import of bolts.csv")
        assert row["at"].tzinfo is not None
    # The values as a manual add records them: [null, value] per given field, money as exact text, empty left out.
    assert _changes(adds[ids["B-1"]]) == _added(
        item_name="Bolt", category="Hardware", quantity=5, unit_price="0.10", sku="B-1"
    )
    assert _changes(adds[ids["N-1"]]) == _added(
        item_name="Nut", category="Hardware", quantity=7, unit_price="1234.05", supplier="Acme", sku="N-1"
    )
    # The item added by hand keeps exactly its one add row; the import's rows are one per item, no more.
    assert [r["action"] for r in _audit(inv) if r["item_id"] == existing["id"]] == ["add", "update"]
    assert sum(1 for r in _audit(inv) if r["action"] == "add") == 3
    # History (service and item panel) shows the import entry.
    history = inv.history(ids["B-1"])
    assert history["what"].tolist() == ["add"] and "(CSV import of bolts.csv)" in history["detail"][0]
    assert "Bolt" in history["detail"][0] and "CSV import of bolts.csv" in history_html(history)


def test_a_large_import_writes_one_add_row_per_inserted_item_and_none_for_others(editor, inv, item_values):
    inv.add(item_values)
    rows = "".join(f"Item {i},Cat,{i % 9},{i % 50}.5,S-{i}\n" for i in range(2_500))  # several chunks
    bad = "Broken,Cat,-1,1,S-BAD\n"
    report = editor.import_csv(("item_name,category,quantity,unit_price,sku\n" + rows + bad).encode())
    assert (report.inserted, report.skipped) == (2_500, 1)
    adds = [r for r in _audit(inv) if r["action"] == "add" and r["batch_id"] == report.batch_id]
    with inv.reading() as conn:
        imported = (
            conn.execute(sa.select(inv.t.items.c.id).where(inv.t.items.c.sku.like("S-%")).order_by(inv.t.items.c.id))
            .scalars()
            .all()
        )
    assert sorted(r["item_id"] for r in adds) == imported  # one each
    by_item = {r["item_id"]: r for r in adds}
    assert _changes(by_item[imported[7]]) == _added(
        item_name="Item 7", category="Cat", quantity=7, unit_price="7.50", sku="S-7"
    )


# -- denials: every one refused, repeats coalesced ------------------------------------------------------------------


def _denial_count(row: dict[str, Any]) -> int:
    return _changes(row)["count"] if row["changes"] else 1


def test_a_flood_of_denials_writes_a_bounded_number_of_rows_that_still_add_up(inv, item_values):
    item = inv.add(item_values)
    viewer = inv.as_user(User("vera@example.com", "viewer", "panel"))
    clock = [1000.0]
    viewer._clock = lambda: clock[0]
    raised = 0
    for _ in range(2_000):  # 15 clicks a second from page JavaScript: 133 s
        clock[0] += 1 / 15
        with pytest.raises(PermissionDeniedError):
            viewer.delete(item["id"], version=1)
        raised += 1
    assert raised == 2_000
    denied = [r for r in _audit(inv) if r["action"] == "denied"]
    assert 3 <= len(denied) <= 12  # at most 3 single rows + 1 count row per 60 s window
    assert all(r["actor"] == "vera@example.com" for r in denied)
    assert denied[0]["detail"] == "delete refused for role viewer" and denied[0]["changes"] is None
    viewer.flush_denials()  # what the end of the session does: the repeats still held back are written
    denied = [r for r in _audit(inv) if r["action"] == "denied"]
    assert sum(map(_denial_count, denied)) == 2_000 and len(denied) <= 13
    coalesced = [r for r in denied if r["changes"]]
    assert coalesced and all(r["detail"].startswith("delete refused for role viewer: ") for r in coalesced)
    assert inv.get(item["id"])["version"] == 1  # and nothing was deleted


def test_denials_of_different_actions_and_sessions_are_counted_apart(inv, item_values):
    item = inv.add(item_values)
    sessions = [inv.as_user(User("vera@example.com", "viewer", "panel")) for _ in range(2)]
    for viewer in sessions:
        for _ in range(50):
            with pytest.raises(PermissionDeniedError):
                viewer.delete(item["id"], version=1)
            with pytest.raises(PermissionDeniedError):
                viewer.adjust_stock(item["id"], 1, "x")
    assert len([r for r in _audit(inv) if r["action"] == "denied"]) == 2 * 2 * 3  # the bursts, written at once
    for viewer in sessions:
        viewer.flush_denials()
    denied = [r for r in _audit(inv) if r["action"] == "denied"]
    assert len(denied) == 2 * 2 * 4
    for action in ("delete", "adjust"):
        assert sum(_denial_count(r) for r in denied if r["detail"].startswith(action)) == 100


# -- names at the time (issue 15) ---------------------------------------------------------------------------------


def test_each_entry_carries_the_item_name_as_it_was_then(inv):
    """The audit named items only by id; a page now carries each entry's item name as the item's own history had set
    it by then: an add, a rename by hand or by an import (its JSON written by the database), a delete."""
    tools = {"category": "Tools", "quantity": 5, "unit_price": "2.50"}
    drill = inv.add({"item_name": "Drill", "sku": "DR-1", **tools})
    drill = inv.update(drill["id"], {"item_name": "Hammer drill"}, drill["version"])
    inv.adjust_stock(drill["id"], 2, "found two")
    inv.import_csv(b"sku,item_name,category,quantity,unit_price\nDR-1,Drill Pro,Tools,7,2.50\n", mode="upsert")
    inv.delete(drill["id"], inv.get(drill["id"])["version"])
    inv.import_csv(b"item_name,category,quantity,unit_price\nPlane,Tools,1,1.00\n")
    entries = inv.audit_log().rows
    assert list(zip(entries["action"], entries["item_name"].fillna(""), strict=True)) == [
        ("import", ""),
        ("add", "Plane"),
        ("delete", "Drill Pro"),
        ("import", ""),
        ("update", "Drill Pro"),
        ("adjust", "Hammer drill"),
        ("update", "Hammer drill"),
        ("add", "Drill"),
    ]
    assert inv.audit_log(action="adjust").rows["item_name"].tolist() == ["Hammer drill"]  # a filtered page too
    assert inv.audit_log(offset=4, limit=1).rows["item_name"].tolist() == ["Drill Pro"]  # names set before the page
