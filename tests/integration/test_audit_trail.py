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


def _audit(inv: ip.Inventory) -> list[dict[str, Any]]:
    """Every audit row, oldest first, read directly from the table."""
    with inv.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(inv.t.audit).order_by(inv.t.audit.c.id))]


def _changes(row: dict[str, Any]) -> dict[str, Any]:
    return json.loads(row["changes"])


# -- append-only ------------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "UPDATE {t} SET actor = 'mallory@example.com'",
    "DELETE FROM {t}",
    "TRUNCATE {t}",
])
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
    owner = ip.connect(pg_server.create_database(database), user="owner@example.com", role="admin",
                       settings=settings)
    owner.close()
    pg_server.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'app-secret'")
    pg_server.execute(LEAST_PRIVILEGE_GRANTS.format(role=role), database)

    app = ip.connect(pg_server.url_for(role, "app-secret", database), user="ed@example.com", role="editor",
                     settings=settings)  # starts: the schema exists, so the app never needs CREATE
    item = app.add(item_values)
    app.update(item["id"], {"quantity": 3}, version=1)
    app.adjust_stock(item["id"], 2, "delivery")
    assert app.get(item["id"])["quantity"] == 5
    audit = f'"{app.t.audit.schema}"."{app.t.audit.name}"'
    for statement in (f"UPDATE {audit} SET actor = 'x'", f"DELETE FROM {audit}", f"TRUNCATE {audit}",
                      f'DROP TRIGGER "{app.t.audit.name}_append_only" ON {audit}', f"DROP TABLE {audit}"):
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
    assert _changes(row) == {"item_name": [None, "Safety Helmet"], "category": [None, "Safety Equipment"],
                             "quantity": [None, 12], "unit_price": [None, "24.90"],
                             "supplier": [None, "Safety First Inc."], "location": [None, "Safety Locker"],
                             "minimum_stock": [None, 5], "sku": [None, "HLM-1"]}
    assert row["at"].tzinfo is not None


def test_edit_records_old_and_new_value_of_each_changed_field_only(editor, inv, item_values):
    item = editor.add(item_values)
    editor.update(item["id"], {"unit_price": "30.00", "location": "Dock 3", "category": "Safety Equipment"},
                  version=item["version"])
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
    assert (row["action"], row["actor"], row["detail"]) == ("denied", "vera@example.com",
                                                             "delete refused for role viewer")


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
    original = ip.Inventory.record_audit

    def record_then_fail(self, conn, *args, **kwargs):
        original(self, conn, *args, **kwargs)  # the audit row is written inside the transaction, then it fails
        raise AuditWriteFailed

    monkeypatch.setattr(ip.Inventory, "record_audit", record_then_fail)
    calls = {"add": lambda: inv.add({**item_values, "sku": "OTHER"}),
             "update": lambda: inv.update(item["id"], {"quantity": 1}, version=1),
             "delete": lambda: inv.delete(item["id"], version=1),
             "adjust": lambda: inv.adjust_stock(item["id"], 5, "delivery")}
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
    item = inv.add({**item_values, "item_name": "=HYPERLINK(\"http://x\")"})
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
