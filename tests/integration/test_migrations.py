"""Migrations and table definitions agree; schema/table names from the environment are honoured everywhere."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import inventory_panel as ip
from inventory_panel.settings import load_settings
from inventory_panel.storage import migrate


def _diff(inv):
    version_table = inv.db.tables.version_table

    schema = inv.db.tables.schema

    def include_object(obj, name, type_, reflected, compare_to):
        return not (type_ == "table" and name == version_table)

    def include_name(name, type_, parent_names):
        return type_ != "schema" or name == schema

    with inv.db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_object": include_object, "include_name": include_name, "include_schemas": schema is not None,
            "compare_type": True})
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
            names = set(conn.execute(sa.text(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'warehouse_east'")).scalars())
            assert names == {"stock_items", "stock_items_movements", "stock_items_audit", "stock_items_stats",
                             "stock_items_alembic_version"}
            public = conn.execute(sa.text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")).scalar()
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
