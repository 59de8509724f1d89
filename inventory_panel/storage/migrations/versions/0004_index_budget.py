"""The index budget (issue 16): every index pays for itself in the queries that need it against its bulk-load cost,
and SQLite's bulk writer keeps the per-category totals with one statement per chunk instead of a trigger per row.

Measured cost per index (``bench/index_budget.py``, table in ``docs/benchmarks.md``: a load of 130,000 rows into a
table with only that index against none):

- ``ix_<table>_audit_at`` is dropped: no query filters or sorts the audit by its time (the audit log, its export
  and live updates go by id, an item's history by ``ix_<table>_audit_item``), yet every import wrote one entry per
  imported row into it.

**SQLite's statistics on insert.** 0002's row trigger ``<table>_stats_insert`` now runs only ``WHEN`` the stats table
holds no row of category ``char(31)`` (the unit separator, which no category can contain: field values refuse
control characters). The app's bulk writer (``storage/bulk.py``) puts such a row in at the start of each chunk's
inserts and takes it out after them, inside its write transaction, then adds the chunk's totals with one aggregate
over the new ids, as PostgreSQL's statement triggers do. SQLite has one writer at a time and readers only see
committed data, so no other connection ever sees the marker: every other writer (the app's single-item writes, the
``sqlite3`` shell, any script) still gets the row trigger and exact totals. Updates and deletes keep their row
triggers everywhere.

Every SQL text and constant here is a frozen copy, not imported from the live code, so later edits cannot change
what this revision did.

Revision ID: 0004
Revises: 0003
"""

from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STAT_COLUMNS = "category, items, units, value_cents, low_stock, out_of_stock"
WRITER_MARK_SQL = "char(31)"  # the category of the bulk writer's marker row (control characters are never valid)


def upgrade() -> None:
    tables = context.config.attributes["tables"]
    schema = tables.schema
    t = tables.items.name
    op.drop_index(f"ix_{t}_audit_at", f"{t}_audit", schema=schema)
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_stats_insert(t)


def _sqlite_stats_insert(t: str) -> None:
    """0002's insert trigger (the same body, a frozen copy), skipped while the bulk writer's marker row exists."""
    row = "NEW"
    body = f"""
            UPDATE "{t}_stats" SET
                items = items + 1,
                units = units + {row}.quantity,
                value_cents = value_cents + {row}.quantity * {row}.unit_price,
                low_stock = low_stock + ({row}.quantity > 0 AND {row}.minimum_stock IS NOT NULL
                                              AND {row}.quantity <= {row}.minimum_stock),
                out_of_stock = out_of_stock + ({row}.quantity = 0)
            WHERE category = {row}.category;
            INSERT INTO "{t}_stats" ({STAT_COLUMNS})
            SELECT {row}.category, 1, {row}.quantity, {row}.quantity * {row}.unit_price,
                   ({row}.quantity > 0 AND {row}.minimum_stock IS NOT NULL AND {row}.quantity <= {row}.minimum_stock),
                   ({row}.quantity = 0)
            WHERE changes() = 0;"""
    op.execute(f'DROP TRIGGER "{t}_stats_insert"')
    op.execute(
        f'CREATE TRIGGER "{t}_stats_insert" AFTER INSERT ON "{t}" '
        f'WHEN NOT EXISTS (SELECT 1 FROM "{t}_stats" WHERE category = {WRITER_MARK_SQL}) BEGIN {body} END'
    )
