"""Ids are never reused, stale writes cannot reach another item, exact totals under concurrent writers.

**Ids never reused.** An optimistic write is ``WHERE id = :id AND version = :version``. If a deleted item's id went
to a new item, a form opened on the deleted one (same id, and a version that starts at 1 again) would write onto
the new item, a stale delete would remove it, and the two items' histories (looked up by item id) would mix.
SQLite hands out the highest id plus one, so deleting the newest item and adding another reused its id.

- SQLite: ``items``, ``movements`` and ``audit`` are rebuilt as ``AUTOINCREMENT`` tables (SQLite then never hands
  out an id it handed out before, ``sqlite_sequence`` remembering the highest). The rebuild keeps the rows, the
  table's own SQL (constraints) and every index and trigger exactly as ``sqlite_master`` states them; the
  sequence starts above every id the database has seen, the ids of deleted items included (those live on in the
  audit and the movements). The audit id is the change token of live updates, so it must never go backwards
  either.
- Both databases, whatever hands out the id (an explicit id, a reset ``sqlite_sequence`` or ``setval``, a
  restored dump): a trigger refuses an item whose id belonged to a deleted item. The append-only audit is the
  record of deleted ids: every delete writes an audit row with the item id (a small partial index,
  ``ix_<table>_audit_deleted``, makes the check a probe). Another trigger refuses changing an item's id, and on
  SQLite ``INSERT OR REPLACE`` onto an existing item (which would delete it without audit or totals).

Why this makes the version check sound, although versions restart at 1: a version is only ever compared together
with the id, and an id now names one item for the life of the database — the pair (id, version) can only match
the very row, in a later state of which the version is higher. So no comparison of ``created_at`` or globally
unique versions is needed.

**Append-only audit on SQLite.** ``INSERT OR REPLACE`` (``REPLACE INTO``) deletes the conflicting row without
firing delete triggers: it rewrote audit rows past the append-only triggers of 0001. A BEFORE INSERT trigger now
refuses an audit id that exists. (``INSERT … ON CONFLICT DO UPDATE`` runs the UPDATE triggers on both databases,
which already refuse it; PostgreSQL has no REPLACE.)

**Exact totals on PostgreSQL.** 0002's fold (``SKIP LOCKED``) can take a subset of a category's delta rows without
its base row, e.g. only updates, whose item count sums to 0; it kept a category only ``HAVING sum(items) <> 0``
and so dropped that subset's units, value and low/out deltas. The function is replaced by one whose fold keeps
every category with any non-zero total, and the totals are recounted from the items under a lock that keeps
writers out until this commits (on SQLite too: cheap, and whatever drifted is right again).

Every SQL text and constant here is a frozen copy, not imported from the live code, so later edits cannot change
what this revision did.

Revision ID: 0003
Revises: 0002
"""

import re

import sqlalchemy as sa
from alembic import context, op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FOLD_AT = 256
STAT_COLUMNS = "category, items, units, value_cents, low_stock, out_of_stock"
LOW_STOCK_SQL = "quantity > 0 AND minimum_stock IS NOT NULL AND quantity <= minimum_stock"
REUSED = "item ids are never reused"


def upgrade() -> None:
    tables = context.config.attributes["tables"]
    schema = tables.schema
    t = tables.items.name
    op.create_index(
        f"ix_{t}_audit_deleted",
        f"{t}_audit",
        ["item_id"],
        schema=schema,
        sqlite_where=sa.text("action = 'delete'"),
        postgresql_where=sa.text("action = 'delete'"),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres(schema, t)
    else:
        _sqlite(t)


# -- SQLite ------------------------------------------------------------------------------------------------------


def _sqlite(t: str) -> None:
    bind = op.get_bind()
    items, movements, audit = f'"{t}"', f'"{t}_movements"', f'"{t}_audit"'
    seen_item = bind.exec_driver_sql(
        f"SELECT max(coalesce((SELECT max(id) FROM {items}), 0), coalesce((SELECT max(item_id) FROM {audit}), 0),"
        f" coalesce((SELECT max(item_id) FROM {movements}), 0))"
    ).scalar_one()
    for name, start in ((t, seen_item), (f"{t}_movements", None), (f"{t}_audit", None)):
        _sqlite_autoincrement(name, start)

    raise_reused = f"SELECT RAISE(ABORT, '{REUSED}');"
    # NEW.id is -1 in a BEFORE INSERT trigger when SQLite picks the id, so these only look at explicit ids.
    op.execute(f"""CREATE TRIGGER "{t}_no_replace" BEFORE INSERT ON {items}
                   WHEN NEW.id > 0 AND EXISTS (SELECT 1 FROM {items} WHERE id = NEW.id)
                   BEGIN {raise_reused} END""")
    # AFTER: the id as given, whoever chose it. "action = 'delete'" as the partial index states it.
    op.execute(f"""CREATE TRIGGER "{t}_id_never_reused" AFTER INSERT ON {items}
                   WHEN EXISTS (SELECT 1 FROM {audit} WHERE action = 'delete' AND item_id = NEW.id)
                   BEGIN {raise_reused} END""")
    op.execute(f"""CREATE TRIGGER "{t}_id_fixed" BEFORE UPDATE OF id ON {items} WHEN NEW.id IS NOT OLD.id
                   BEGIN SELECT RAISE(ABORT, 'an item id never changes'); END""")
    op.execute(f"""CREATE TRIGGER "{t}_audit_no_replace" BEFORE INSERT ON {audit}
                   WHEN NEW.id > 0 AND EXISTS (SELECT 1 FROM {audit} WHERE id = NEW.id)
                   BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""")

    stats = f'"{t}_stats"'
    op.execute(f"DELETE FROM {stats}")
    op.execute(f"""
        INSERT INTO {stats} ({STAT_COLUMNS})
        SELECT category, count(*), sum(quantity), sum(quantity * unit_price),
               sum(CASE WHEN {LOW_STOCK_SQL} THEN 1 ELSE 0 END), sum(CASE WHEN quantity = 0 THEN 1 ELSE 0 END)
        FROM {items} GROUP BY category""")


def _sqlite_autoincrement(name: str, start: int | None) -> None:
    """Rebuild table ``name`` with ``INTEGER PRIMARY KEY AUTOINCREMENT``; its sequence continues after ``start``
    (default: its highest id)."""
    bind = op.get_bind()
    ddl = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).scalar_one()
    if "AUTOINCREMENT" in ddl.upper():
        return
    # The DDL SQLAlchemy wrote in 0001/0002: "id INTEGER NOT NULL, …, PRIMARY KEY (id)". The id column becomes
    # the AUTOINCREMENT key; nothing else of the table's SQL (types, defaults, CHECK and UNIQUE constraints) changes.
    rebuilt_name = f"{name}__0003"
    new_ddl, heads = re.subn(r'^CREATE TABLE\s+("[^"]+"|\S+)\s*\(', f'CREATE TABLE "{rebuilt_name}" (', ddl)
    new_ddl, ids = re.subn(
        r"(\(|,)(\s*)id INTEGER NOT NULL,", r"\1\2id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,", new_ddl
    )
    new_ddl, keys = re.subn(r",\s*PRIMARY KEY \(id\)", "", new_ddl)
    if (heads, ids, keys) != (1, 1, 1):
        raise RuntimeError(f"migration 0003 does not recognise the definition of table {name}: {ddl}")
    dependents = (
        bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL "
            "ORDER BY type, name",
            (name,),
        )
        .scalars()
        .all()
    )
    columns = ", ".join(f'"{row[1]}"' for row in bind.exec_driver_sql(f'PRAGMA table_info("{name}")'))
    op.execute(new_ddl)
    # The new table has no triggers yet: copying fires none (the totals stay as they are).
    op.execute(f'INSERT INTO "{rebuilt_name}" ({columns}) SELECT {columns} FROM "{name}"')
    op.execute(f'DROP TABLE "{name}"')  # its indexes and triggers go with it and are made again below
    op.execute(f'ALTER TABLE "{rebuilt_name}" RENAME TO "{name}"')
    for sql in dependents:
        op.execute(sql)
    high = bind.exec_driver_sql(f'SELECT coalesce(max(id), 0) FROM "{name}"').scalar_one()
    op.execute(sa.text("DELETE FROM sqlite_sequence WHERE name IN (:a, :b)").bindparams(a=name, b=rebuilt_name))
    op.execute(
        sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:n, :s)").bindparams(n=name, s=max(high, start or 0))
    )


# -- PostgreSQL --------------------------------------------------------------------------------------------------


def _postgres(schema: str, t: str) -> None:
    q = f'"{schema}"'
    items, stats, audit = f'{q}."{t}"', f'{q}."{t}_stats"', f'{q}."{t}_audit"'
    # Writers wait here until this commits: the new function and the recount take effect together.
    op.execute(f"LOCK TABLE {items} IN SHARE ROW EXCLUSIVE MODE")
    op.execute(f"LOCK TABLE {stats} IN SHARE ROW EXCLUSIVE MODE")

    def deltas(rows: str, sign: str) -> str:
        return f"""SELECT category, {sign}1 AS items, {sign}quantity AS units,
                          {sign}(quantity * unit_price * 100) AS value_cents,
                          CASE WHEN {LOW_STOCK_SQL} THEN {sign}1 ELSE 0 END AS low_stock,
                          CASE WHEN quantity = 0 THEN {sign}1 ELSE 0 END AS out_of_stock
                   FROM {rows}"""

    # A category's sums are kept when any of them is not 0: a subset of its deltas may sum to 0 items (updates
    # only) and still carry units, value and low/out changes.
    nonzero = (
        "HAVING sum(items) <> 0 OR sum(units) <> 0 OR sum(value_cents) <> 0 OR sum(low_stock) <> 0\n"
        "                OR sum(out_of_stock) <> 0"
    )
    summed = "SELECT category, sum(items), sum(units), sum(value_cents), sum(low_stock), sum(out_of_stock)"

    def append(source: str) -> str:
        return f"""
            INSERT INTO {stats} ({STAT_COLUMNS})
            {summed} FROM ({source}) d GROUP BY category
            {nonzero}
            ORDER BY category;"""

    op.execute(f"""
        CREATE OR REPLACE FUNCTION {q}."{t}_stats_apply"() RETURNS trigger LANGUAGE plpgsql AS $$
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
                {summed} FROM folded GROUP BY category
                {nonzero}
                ORDER BY category;
            END IF;
            RETURN NULL;
        END $$""")
    op.execute(f"DELETE FROM {stats}")
    op.execute(f"""
        INSERT INTO {stats} ({STAT_COLUMNS})
        SELECT category, count(*), sum(quantity), sum(quantity * unit_price * 100),
               sum(CASE WHEN {LOW_STOCK_SQL} THEN 1 ELSE 0 END), sum(CASE WHEN quantity = 0 THEN 1 ELSE 0 END)
        FROM {items} GROUP BY category""")

    # One check per statement over its new rows (a COPY of a million items is one join against the few deleted
    # ids), not one per row. ERRCODE 23000: drivers report an integrity error, as for a duplicate key.
    op.execute(f"""
        CREATE FUNCTION {q}."{t}_id_never_reused"() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' THEN
                RAISE EXCEPTION 'an item id never changes' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF EXISTS (SELECT 1 FROM new_rows n JOIN {audit} a ON a.item_id = n.id AND a.action = 'delete') THEN
                RAISE EXCEPTION '{REUSED}' USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NULL;
        END $$""")
    function = f'{q}."{t}_id_never_reused"()'
    op.execute(
        f'CREATE TRIGGER "{t}_id_never_reused" AFTER INSERT ON {items} REFERENCING NEW TABLE AS new_rows '
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}"
    )
    op.execute(
        f'CREATE TRIGGER "{t}_id_fixed" BEFORE UPDATE OF id ON {items} FOR EACH ROW '
        f"WHEN (NEW.id IS DISTINCT FROM OLD.id) EXECUTE FUNCTION {function}"
    )
