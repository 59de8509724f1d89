"""Items, stock movements and the append-only audit log.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import context, op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# The column types as they were created (storage/types.py's Money and UTCDateTime then), frozen here rather than
# imported, so that a later change of the live types never rewrites this migration.
MONEY = sa.Numeric(12, 2).with_variant(sa.BigInteger(), "sqlite")  # NUMERIC(12,2); integer cents on SQLite
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    tables = context.config.attributes["tables"]
    schema = tables.schema
    t = tables.items.name
    op.create_table(
        t,
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("item_name", sa.String(100), nullable=False),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("supplier", sa.String(100), nullable=True),
        sa.Column("location", sa.String(100), nullable=True),
        sa.Column("minimum_stock", sa.Integer(), nullable=True),
        sa.Column("sku", sa.String(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("created_by", sa.String(320), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("updated_by", sa.String(320), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=f"ck_{t}_quantity_nonneg"),
        sa.CheckConstraint("unit_price >= 0", name=f"ck_{t}_unit_price_nonneg"),
        sa.CheckConstraint("minimum_stock >= 0", name=f"ck_{t}_minimum_stock_nonneg"),
        sa.UniqueConstraint("sku", name=f"uq_{t}_sku"),
        schema=schema,
    )
    for name, cols in (
        ("item_name", ["item_name", "id"]),
        ("category", ["category", "item_name"]),
        ("location", ["location"]),
        ("unit_price", ["unit_price", "id"]),
        ("quantity", ["quantity", "id"]),
        ("updated_at", ["updated_at"]),
    ):
        op.create_index(f"ix_{t}_{name}", t, cols, schema=schema)

    op.create_table(
        f"{t}_movements",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("quantity_after", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.CheckConstraint("kind IN ('receive', 'issue', 'count', 'import')", name=f"ck_{t}_movements_kind"),
        schema=schema,
    )
    op.create_index(f"ix_{t}_movements_item", f"{t}_movements", ["item_id", "at"], schema=schema)

    op.create_table(
        f"{t}_audit",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=True),
        sa.Column("changes", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.String(36), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        schema=schema,
    )
    op.create_index(f"ix_{t}_audit_item", f"{t}_audit", ["item_id", "id"], schema=schema)
    op.create_index(f"ix_{t}_audit_at", f"{t}_audit", ["at"], schema=schema)

    if op.get_bind().dialect.name == "postgresql":
        # The audit trail is append-only for every role, the app's own included.
        q = f'"{schema}"'
        op.execute(f"""
            CREATE OR REPLACE FUNCTION {q}."{t}_audit_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only: % is not allowed', TG_OP;
            END $$""")
        op.execute(f"""
            CREATE TRIGGER "{t}_audit_append_only" BEFORE UPDATE OR DELETE OR TRUNCATE ON {q}."{t}_audit"
            FOR EACH STATEMENT EXECUTE FUNCTION {q}."{t}_audit_append_only"()""")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER "{t}_audit_no_{event.lower()}" BEFORE {event} ON "{t}_audit"
                BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""")
