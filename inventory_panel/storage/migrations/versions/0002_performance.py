"""Performance at a million items: maintained per-category totals, a low-stock index, trigram search, NOTIFY.

- ``<table>_stats`` and the triggers that keep it exact in every writing transaction (see ``tables.py``): the
  summary and the counts of unfiltered, category and status pages read a few rows instead of every item.
  SQLite: row triggers keep one row per category. PostgreSQL: statement triggers with transition tables append
  one delta row per category per statement (a million-row ``COPY`` costs one aggregate, and concurrent writers
  never wait on a shared row), folding the deltas together (``SKIP LOCKED``, so never waiting either) once
  more than ``FOLD_AT`` rows have piled up.
- ``ix_<table>_low_stock``: a partial index of the low-stock items in name order (the status filter).
- ``ix_<table>_location`` becomes (location, quantity): location counts and units per location read only the
  index. ``ix_<table>_supplier``: the supplier menu is a loose index scan, not a scan of every item.
- ``ix_<table>_value`` (quantity × unit price): the top items by value and sorting by value read the index's end.
  ``ix_<table>_shortage``: a partial index of the out-of-stock and low items, largest shortage first, which is
  exactly the Low stock view's order.
- PostgreSQL: a trigram GIN index on the search document (name, sku, supplier, description) when the ``pg_trgm``
  extension is installed or can be installed (Lakebase offers it); without it searching still works, by a scan.
- PostgreSQL: ``pg_notify`` on the change channel in the transaction of every audit insert (live updates across
  server processes; ``storage/notify.py``).

Revision ID: 0002
Revises: 0001
"""

import logging
import zlib

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
VALUE_CENTS = sa.BigInteger().with_variant(sa.Numeric(38, 0), "postgresql")
FOLD_AT = 256
STAT_COLUMNS = "category, items, units, value_cents, low_stock, out_of_stock"
# Frozen copies, never imports of the live modules: what this migration did must not change when the stock-status
# rule (stock_status.py), the searched fields (fields.Display.search_order) or the channel naming (storage/notify.py)
# do. tests/integration/test_migrations.py checks that they still agree with the live code (or that a newer
# migration replaced them).
LOW_STOCK_SQL = "quantity > 0 AND minimum_stock IS NOT NULL AND quantity <= minimum_stock"
SHORT_STOCK_SQL = f"quantity = 0 OR {LOW_STOCK_SQL}"
SEARCH_DOCUMENT_SQL = (
    "item_name || chr(31) || coalesce(sku, '') || chr(31) || coalesce(supplier, '') || chr(31) "
    "|| coalesce(description, '')"
)
MAX_CHANNEL = 63  # PostgreSQL's identifier length (NAMEDATALEN - 1)


def channel_name(schema: str | None, table: str) -> str:
    """The notification channel of ``schema.table`` as this migration named it: distinct per inventory, at most 63
    bytes."""
    name = f"{schema}.{table}" if schema else table
    if len(name.encode()) <= MAX_CHANNEL:
        return name
    return f"{name.encode()[: MAX_CHANNEL - 9].decode(errors='ignore')}_{zlib.crc32(name.encode()):08x}"


def upgrade() -> None:
    tables = context.config.attributes["tables"]
    schema = tables.schema
    t = tables.items.name
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        f"{t}_stats",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        # NUMERIC on PostgreSQL: quantity × price of one valid item can exceed a bigint's range in cents.
        sa.Column("value_cents", VALUE_CENTS, nullable=False),
        sa.Column("low_stock", sa.BigInteger(), nullable=False),
        sa.Column("out_of_stock", sa.BigInteger(), nullable=False),
        schema=schema,
    )
    op.create_index(f"ix_{t}_stats_category", f"{t}_stats", ["category"], schema=schema)
    op.create_index(
        f"ix_{t}_low_stock",
        t,
        ["item_name", "id"],
        schema=schema,
        sqlite_where=sa.text(LOW_STOCK_SQL),
        postgresql_where=sa.text(LOW_STOCK_SQL),
    )
    op.drop_index(f"ix_{t}_location", t, schema=schema)
    op.create_index(f"ix_{t}_location_quantity", t, ["location", "quantity"], schema=schema)
    op.create_index(f"ix_{t}_supplier", t, ["supplier"], schema=schema)
    op.create_index(f"ix_{t}_value", t, [sa.text("(quantity * unit_price)"), "id"], schema=schema)
    op.create_index(
        f"ix_{t}_shortage",
        t,
        [sa.text("(quantity - coalesce(minimum_stock, 0))"), "item_name", "id"],
        schema=schema,
        sqlite_where=sa.text(SHORT_STOCK_SQL),
        postgresql_where=sa.text(SHORT_STOCK_SQL),
    )
    if postgres:
        _postgres_stats_triggers(schema, t)
        _postgres_search_index(schema, t)
        _postgres_notify(schema, t, channel_name(schema, t))
    else:
        _sqlite_stats_triggers(t)
    # After the triggers exist (on PostgreSQL they hold a lock that keeps writers out until this commits), so
    # no write is counted twice or missed.
    items = f'"{schema}"."{t}"' if postgres else f'"{t}"'
    stats = f'"{schema}"."{t}_stats"' if postgres else f'"{t}_stats"'
    value = "(quantity * unit_price * 100)" if postgres else "quantity * unit_price"
    op.execute(f"""
        INSERT INTO {stats} ({STAT_COLUMNS})
        SELECT category, count(*), sum(quantity), sum({value}),
               sum(CASE WHEN {LOW_STOCK_SQL} THEN 1 ELSE 0 END), sum(CASE WHEN quantity = 0 THEN 1 ELSE 0 END)
        FROM {items} GROUP BY category""")


def _sqlite_stats_triggers(t: str) -> None:
    def change(row: str, sign: str) -> str:
        # SQLite comparisons are 0/1 integers, so the low/out flags add up directly.
        return f"""
            UPDATE "{t}_stats" SET
                items = items {sign} 1,
                units = units {sign} {row}.quantity,
                value_cents = value_cents {sign} {row}.quantity * {row}.unit_price,
                low_stock = low_stock {sign} ({row}.quantity > 0 AND {row}.minimum_stock IS NOT NULL
                                              AND {row}.quantity <= {row}.minimum_stock),
                out_of_stock = out_of_stock {sign} ({row}.quantity = 0)
            WHERE category = {row}.category;"""

    def add(row: str) -> str:
        # The category's row is created by its first item: changes() is the count of the UPDATE just above.
        # (An INSERT … WHERE NOT EXISTS (SELECT … FROM the stats table) would make SQLite buffer the SELECT in a
        # temporary table for every single item: four times slower bulk loads, measured.)
        return (
            change(row, "+")
            + f"""
            INSERT INTO "{t}_stats" ({STAT_COLUMNS})
            SELECT {row}.category, 1, {row}.quantity, {row}.quantity * {row}.unit_price,
                   ({row}.quantity > 0 AND {row}.minimum_stock IS NOT NULL AND {row}.quantity <= {row}.minimum_stock),
                   ({row}.quantity = 0)
            WHERE changes() = 0;"""
        )

    op.execute(f'CREATE TRIGGER "{t}_stats_insert" AFTER INSERT ON "{t}" BEGIN {add("NEW")} END')
    op.execute(f'CREATE TRIGGER "{t}_stats_delete" AFTER DELETE ON "{t}" BEGIN {change("OLD", "-")} END')
    op.execute(f"""CREATE TRIGGER "{t}_stats_update" AFTER UPDATE OF category, quantity, unit_price, minimum_stock
                   ON "{t}" BEGIN {change("OLD", "-")} {add("NEW")} END""")


def _postgres_stats_triggers(schema: str, t: str) -> None:
    q = f'"{schema}"'
    stats = f'{q}."{t}_stats"'

    def deltas(rows: str, sign: str) -> str:
        return f"""SELECT category, {sign}1 AS items, {sign}quantity AS units,
                          {sign}(quantity * unit_price * 100) AS value_cents,
                          CASE WHEN {LOW_STOCK_SQL} THEN {sign}1 ELSE 0 END AS low_stock,
                          CASE WHEN quantity = 0 THEN {sign}1 ELSE 0 END AS out_of_stock
                   FROM {rows}"""

    def append(source: str) -> str:
        # ORDER BY: concurrent statements touch categories in one order. All-zero deltas (an update that changed
        # no counted column) add nothing.
        return f"""
            INSERT INTO {stats} ({STAT_COLUMNS})
            SELECT category, sum(items), sum(units), sum(value_cents), sum(low_stock), sum(out_of_stock)
            FROM ({source}) d GROUP BY category
            HAVING sum(items) <> 0 OR sum(units) <> 0 OR sum(value_cents) <> 0 OR sum(low_stock) <> 0
                OR sum(out_of_stock) <> 0
            ORDER BY category;"""

    op.execute(f"""
        CREATE FUNCTION {q}."{t}_stats_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                DELETE FROM {stats};
                RETURN NULL;
            ELSIF TG_OP = 'INSERT' THEN
                {append(deltas("new_rows", ""))}
            ELSIF TG_OP = 'DELETE' THEN
                {append(deltas("old_rows", "-"))}
            ELSE
                {append(deltas("new_rows", "") + " UNION ALL " + deltas("old_rows", "-"))}
            END IF;
            IF (SELECT count(*) FROM (SELECT 1 FROM {stats} LIMIT {FOLD_AT + 1}) s) > {FOLD_AT} THEN
                -- Fold the deltas nobody else holds into one row per category, in this transaction.
                WITH folded AS (
                    DELETE FROM {stats} WHERE id IN (SELECT id FROM {stats} FOR UPDATE SKIP LOCKED)
                    RETURNING {STAT_COLUMNS})
                INSERT INTO {stats} ({STAT_COLUMNS})
                SELECT category, sum(items), sum(units), sum(value_cents), sum(low_stock), sum(out_of_stock)
                FROM folded GROUP BY category HAVING sum(items) <> 0 ORDER BY category;
            END IF;
            RETURN NULL;
        END $$""")
    items = f'{q}."{t}"'
    function = f'{q}."{t}_stats_apply"()'
    op.execute(
        f'CREATE TRIGGER "{t}_stats_insert" AFTER INSERT ON {items} REFERENCING NEW TABLE AS new_rows '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}"
    )
    op.execute(
        f'CREATE TRIGGER "{t}_stats_delete" AFTER DELETE ON {items} REFERENCING OLD TABLE AS old_rows '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}"
    )
    op.execute(
        f'CREATE TRIGGER "{t}_stats_update" AFTER UPDATE ON {items} '
        f"REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}"
    )
    op.execute(
        f'CREATE TRIGGER "{t}_stats_truncate" AFTER TRUNCATE ON {items} FOR EACH STATEMENT EXECUTE FUNCTION {function}'
    )


def _postgres_search_index(schema: str, t: str) -> None:
    bind = op.get_bind()
    if bind.exec_driver_sql("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'").first() is None:
        log.info("pg_trgm is not available: substring search will scan the items")
        return
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        log.info("pg_trgm cannot be installed (%s): substring search will scan the items", exc.orig)
        return
    extension_schema = bind.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
    ).scalar_one()
    op.execute(
        f'CREATE INDEX "ix_{t}_search_trgm" ON "{schema}"."{t}" '
        f'USING gin (({SEARCH_DOCUMENT_SQL}) "{extension_schema}".gin_trgm_ops)'
    )


def _postgres_notify(schema: str, t: str, channel: str) -> None:
    q = f'"{schema}"'
    op.execute(f"""
        CREATE FUNCTION {q}."{t}_audit_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            -- Delivered at commit, only if the writing transaction commits; the payload is the change token.
            PERFORM pg_notify('{channel}', (SELECT max(id)::text FROM new_rows));
            RETURN NULL;
        END $$""")
    op.execute(
        f'CREATE TRIGGER "{t}_audit_notify" AFTER INSERT ON {q}."{t}_audit" REFERENCING NEW TABLE AS new_rows '
        f'FOR EACH STATEMENT EXECUTE FUNCTION {q}."{t}_audit_notify"()'
    )
