"""Migrations and table definitions agree; schema/table names from the environment are honoured everywhere."""

import ast
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateIndex

import inventory_panel as ip
from inventory_panel.auth import User
from inventory_panel.inventory import Inventory
from inventory_panel.settings import load_settings
from inventory_panel.storage import migrate, notify
from inventory_panel.storage.dialects import postgres as postgres_backend
from inventory_panel.storage.engines import create_database
from inventory_panel.storage.tables import build_tables


def _diff(inv):
    version_table = inv.db.tables.version_table

    schema = inv.db.tables.schema

    def include_object(obj, name, type_, reflected, compare_to):
        # The search indexes are on expressions alembic cannot compare (the reflected text folds chr(31) into a
        # literal): tables.py declares the word index, 0002/0005 build both, test_browse_plans checks they exist.
        if type_ == "index" and name.endswith(("_search_trgm", "_search_words")):
            return False
        return not (type_ == "table" and name == version_table)

    def include_name(name, type_, parent_names):
        return type_ != "schema" or name == schema

    with inv.db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "include_object": include_object,
                "include_name": include_name,
                "include_schemas": schema is not None,
                "compare_type": True,
            },
        )
        return compare_metadata(ctx, inv.db.tables.metadata)


def test_migrated_schema_matches_the_table_definitions(inv):
    assert _diff(inv) == []
    assert migrate.current_revision(inv.db) == migrate.head_revision(inv.db)


def test_migrations_are_idempotent(inv, item_values):
    inv.add(item_values)
    migrate.upgrade(inv.db)
    assert inv.summary()["items"] == 1


def test_schema_and_table_names_from_the_environment(pg_url, item_values, tmp_path):
    settings = load_settings({"POSTGRES_SCHEMA": "warehouse_east", "POSTGRES_TABLE": "stock_items"})
    inv = ip.connect(pg_url, user="a@example.com", role="admin", settings=settings)
    try:
        item = inv.add(item_values)
        inv.adjust_stock(item["id"], 1, "count")
        inv.export_csv(tmp_path / "out.csv")
        assert inv.query().total == 1 and inv.summary()["items"] == 1
        with inv.db.engine.connect() as conn:
            names = set(
                conn.execute(
                    sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = 'warehouse_east'")
                ).scalars()
            )
            assert names == {
                "stock_items",
                "stock_items_movements",
                "stock_items_audit",
                "stock_items_stats",
                "stock_items_alembic_version",
            }
            public = conn.execute(
                sa.text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            ).scalar()
            assert public == 0
        assert _diff(inv) == []
    finally:
        inv.close()


def test_sqlite_table_name_from_the_environment(sqlite_url, item_values):
    inv = ip.connect(sqlite_url, role="admin", settings=load_settings({"POSTGRES_TABLE": "things"}))
    try:
        inv.add(item_values)
        tables = set(sa.inspect(inv.db.engine).get_table_names())
        assert {"things", "things_movements", "things_audit", "things_stats"} <= tables
        assert "inventory_items" not in tables
    finally:
        inv.close()


# -- 0003 on a database made at 0002 ----------------------------------------------------------------------------------


def _at_0002(url: str, settings) -> ip.Inventory:
    """A database at revision 0002 with a history: items added, adjusted, the newest one deleted, through the
    service of that time (an ``Inventory`` on the tables, no migration run on connect)."""
    db = create_database(settings, url)
    with db.engine.begin() as conn:
        if db.tables.schema:
            conn.execute(sa.text(f'CREATE SCHEMA "{db.tables.schema}"'))
        command.upgrade(migrate.alembic_config(db, conn), "0002")
    old = Inventory(db, User("admin@example.com", "admin"), settings)
    for i in range(6):
        item = old.add(
            {
                "item_name": f"Item {i}",
                "category": ("Tools", "IT")[i % 2],
                "quantity": i,
                "unit_price": "2.50",
                "minimum_stock": 2,
                "sku": f"S-{i}",
            }
        )
        old.adjust_stock(item["id"], 1, "received")
    old.delete(item["id"], version=2)  # the newest: the id SQLite without AUTOINCREMENT hands out again
    return old


def _schema_objects(inv: ip.Inventory) -> dict[str, set[str]]:
    """Index and trigger names per table, from the database's catalogue."""
    t = inv.t.items.name
    with inv.db.engine.connect() as conn:
        if inv.db.dialect == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT tbl_name, type || ' ' || name FROM sqlite_master "
                "WHERE type IN ('index', 'trigger') AND name NOT LIKE 'sqlite_%'"
            ).all()
        else:
            rows = conn.execute(
                sa.text(
                    "SELECT tablename, 'index ' || indexname FROM pg_indexes WHERE schemaname = :s UNION ALL "
                    "SELECT c.relname, 'trigger ' || g.tgname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s AND NOT g.tgisinternal"
                ),
                {"s": inv.t.schema},
            ).all()
    found: dict[str, set[str]] = {}
    for table, name in rows:
        if table.startswith(t):
            found.setdefault(table, set()).add(name)
    return found


def _dump(inv: ip.Inventory) -> dict[str, list[tuple]]:
    with inv.db.engine.connect() as conn:
        return {
            table.name: [tuple(r) for r in conn.execute(sa.select(table).order_by(table.c.id))]
            for table in (inv.t.items, inv.t.movements, inv.t.audit)
        }


def test_upgrading_a_0002_database_keeps_everything_and_reuses_no_id(db_url, settings):
    old = _at_0002(db_url, settings)
    before, objects_before, summary = _dump(old), _schema_objects(old), old.summary()
    deleted = max(r[4] for r in before[old.t.audit.name] if r[3] == "delete")
    old.db.dispose()

    inv = ip.connect(db_url, user="admin@example.com", role="admin", settings=settings)
    try:
        assert migrate.current_revision(inv.db) == migrate.head_revision(inv.db) != "0002"
        assert _dump(inv) == before and inv.summary() == summary
        objects = _schema_objects(inv)
        t = inv.t.items.name
        added = {
            t: {f"trigger {t}_id_never_reused", f"trigger {t}_id_fixed"},
            f"{t}_audit": {f"index ix_{t}_audit_deleted"},
        }
        if inv.db.dialect == "sqlite":
            added[t].add(f"trigger {t}_no_replace")
            added[f"{t}_audit"].add(f"trigger {t}_audit_no_replace")
        # Migration 0004 (the index budget) drops the indexes that do not pay for their bulk-load cost.
        dropped = {f"{t}_audit": {f"index ix_{t}_audit_at"}}
        for table, names in objects_before.items():  # every other index and trigger (0001's, 0002's) is still there
            assert (names - dropped.get(table, set())) | added.get(table, set()) <= objects[table], table
            assert not dropped.get(table, set()) & objects[table], table
        assert _diff(inv) == []

        item = inv.add({"item_name": "New laptop", "category": "IT", "quantity": 1, "unit_price": "999.00"})
        assert item["id"] > deleted
        assert inv.history(item["id"])["what"].tolist() == ["add"]
        with inv.db.engine.connect() as conn:
            audit = inv.t.audit
            newest = conn.execute(sa.select(sa.func.max(audit.c.id))).scalar()
        assert newest == len(before[audit.name]) + 1  # the audit ids continue where they were
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), inv.db.engine.begin() as conn:
            conn.execute(audit.update().values(actor="mallory"))
    finally:
        inv.close()


@pytest.mark.postgres
def test_0003_recounts_totals_that_drifted(pg_url, settings):
    """Totals 0002's fold got wrong are right again after the upgrade (they are recounted from the items)."""
    old = _at_0002(pg_url, settings)
    with old.db.engine.begin() as conn:  # what a lost fold subset leaves: units, value and a low count missing
        conn.execute(
            old.t.stats.insert().values(
                category="Tools", items=0, units=-7, value_cents=-1750, low_stock=-1, out_of_stock=0
            )
        )
    drifted = old.summary()
    old.db.dispose()
    inv = ip.connect(pg_url, user="admin@example.com", role="admin", settings=settings)
    try:
        items = inv.query(limit=100).rows
        assert inv.summary()["units"] == int(items["quantity"].sum()) == drifted["units"] + 7
        assert inv.summary()["low_stock"] == drifted["low_stock"] + 1
    finally:
        inv.close()


# -- migrations keep their own copies of what they ran -----------------------------------------------------------------

VERSIONS = Path(migrate.__file__).parent / "migrations" / "versions"


def _migration(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"migration_{name}", VERSIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migrations_import_nothing_from_the_live_package():
    """History must not change when the live code does: a migration freezes the values it ran with."""
    for path in sorted(VERSIONS.glob("*.py")):
        imported = [
            node.module if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        ]
        assert not [m for m in imported if m and m.split(".")[0] == "inventory_panel"], path.name


def test_the_frozen_copies_still_match_the_live_rules():
    """The live stock-status rule, search document and channel naming are the ones the migrations built the indexes,
    triggers and notifications with (else the indexes no longer serve the queries): changing one needs a migration."""
    p0002, p0003 = _migration("0002_performance"), _migration("0003_trust")
    items = build_tables().items
    where = {
        ix.name: str(CreateIndex(ix).compile(dialect=sqlite.dialect())).split(" WHERE ", 1)[-1] for ix in items.indexes
    }
    assert where["ix_inventory_items_low_stock"] == p0002.LOW_STOCK_SQL == p0003.LOW_STOCK_SQL
    assert where["ix_inventory_items_shortage"] == p0002.SHORT_STOCK_SQL
    assert p0002.SEARCH_DOCUMENT_SQL == postgres_backend.SEARCH_DOCUMENT_SQL
    for schema, table in [
        (None, "inventory_items"),
        ("warehouse_east", "stock_items"),
        ("s" * 40, "t" * 40),
        ("é" * 30, "inventory_items"),
    ]:
        assert p0002.channel_name(schema, table) == notify.channel_name(schema, table)
