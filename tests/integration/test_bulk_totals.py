"""Issue 16: the import keeps the per-category totals set-based and builds an empty table's indexes after its load.

- SQLite: the bulk writer switches the per-row insert trigger off for its own inserts (a marker row inside its
  write transaction, migration 0004) and adds each chunk's totals with one aggregate. Every other writer — the
  ``sqlite3`` shell here — still gets the trigger, so the totals stay exact whoever writes.
- Both databases: an import into an empty table drops the secondary indexes and builds them after the load, in its
  transaction (same definitions after; rolled back with a failed import); into a table with items nothing changes.
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
import subprocess
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

import inventory_panel as ip
from inventory_panel import stock_status

CATEGORIES = ("Tools", "Cleaning", "Networking")
ROWS = 1_500  # two chunks of the CSV reader (the first one holds 1,000 rows)


def _csv(path: Path, rows: int, prefix: str, bad_row: int | None = None) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["sku", "item_name", "category", "quantity", "unit_price", "minimum_stock"])
        for i in range(rows):
            quantity = "oops" if i == bad_row else i % 7  # 0: out of stock; up to the minimum: low
            out.writerow([f"{prefix}-{i}", f"Item {prefix} {i}", CATEGORIES[i % 3], quantity, f"{i % 50}.25", 3])
    return path


def _recount(inv: ip.Inventory) -> dict[str, object]:
    """The summary recomputed from every item row in Python."""
    items = inv.t.items
    with inv.db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(items.c.category, items.c.quantity, items.c.unit_price, items.c.minimum_stock)
        ).all()
    statuses = [stock_status.status_of(q, m) for _c, q, _p, m in rows]
    return {
        "items": len(rows),
        "units": sum(r.quantity for r in rows),
        "total_value": sum((r.quantity * r.unit_price for r in rows), Decimal("0.00")),
        "categories": len({r.category for r in rows}),
        "low_stock": statuses.count("low"),
        "out_of_stock": statuses.count("out"),
    }


def _count_stats_writes(path: str, table: str) -> None:
    """Test-only triggers that count every write into the stats table (in a table of their own)."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE stats_writes (n INTEGER NOT NULL)")
        conn.execute("INSERT INTO stats_writes VALUES (0)")
        for event in ("INSERT", "UPDATE"):
            conn.execute(
                f'CREATE TRIGGER count_stats_{event.lower()} AFTER {event} ON "{table}_stats" '
                "BEGIN UPDATE stats_writes SET n = n + 1; END"
            )


def test_the_sqlite_import_adds_each_chunks_totals_in_one_go(sqlite_url, settings, tmp_path):
    """SQLite only: PostgreSQL's totals come from statement triggers, one aggregate per COPY already."""
    inv = ip.connect(sqlite_url, user="admin@example.com", role="admin", settings=settings)
    try:
        inv.add({"item_name": "Old drill", "category": "Tools", "quantity": 2, "unit_price": "10.00", "sku": "OLD"})
        path = inv.db.engine.url.database
        assert path is not None
        _count_stats_writes(path, inv.t.items.name)

        report = inv.import_csv(_csv(tmp_path / "a.csv", ROWS, "A"))
        assert (report.inserted, report.skipped) == (ROWS, 0)

        with sqlite3.connect(path) as conn:
            writes = conn.execute("SELECT n FROM stats_writes").fetchone()[0]
            marks = conn.execute(
                f'SELECT count(*) FROM "{inv.t.items.name}_stats" WHERE category = char(31)'
            ).fetchone()
        # Per chunk: the marker in (an insert; out is a delete) and one write per category. A trigger per row
        # would have written 1,500 times.
        assert writes <= 2 * (1 + len(CATEGORIES)), writes
        assert marks == (0,)
        assert inv.summary() == _recount(inv)
    finally:
        inv.close()


def _shell(path: str, script: str) -> None:
    """Run ``script`` as an outside writer: the sqlite3 shell where installed, else Python's sqlite3 module (both
    know nothing of the app)."""
    if shutil.which("sqlite3"):
        subprocess.run(["sqlite3", "-bail", path], input=script, text=True, check=True, capture_output=True)
    else:
        with sqlite3.connect(path) as conn:
            conn.executescript(script)


def test_outside_writers_still_keep_the_sqlite_totals_exact(sqlite_url, settings, tmp_path):
    inv = ip.connect(sqlite_url, user="admin@example.com", role="admin", settings=settings)
    try:
        inv.import_csv(_csv(tmp_path / "a.csv", 300, "A"))
        t = inv.t.items.name
        stamp = "2024-01-01 00:00:00.000000"
        path = inv.db.engine.url.database
        assert path is not None
        _shell(
            path,
            f"""
            INSERT INTO "{t}" (item_name, category, quantity, unit_price, minimum_stock, version,
                               created_at, created_by, updated_at, updated_by)
            VALUES ('Shell one', 'Shell', 0, 150, NULL, 1, '{stamp}', 'sh', '{stamp}', 'sh'),
                   ('Shell two', 'Tools', 2, 999, 5, 1, '{stamp}', 'sh', '{stamp}', 'sh');
            UPDATE "{t}" SET quantity = quantity + 3 WHERE id % 5 = 0;
            DELETE FROM "{t}" WHERE id % 7 = 0;
            """,
        )
        summary = inv.summary()
        assert summary == _recount(inv)
        assert summary["items"] == 302 - 302 // 7  # ids 1…302, every seventh deleted
    finally:
        inv.close()


def _index_identities(inv: ip.Inventory) -> dict[str, tuple[object, str]]:
    """Index name -> (its identity in the catalogue, its definition), for the items table."""
    items = inv.t.items
    with inv.db.engine.connect() as conn:
        if inv.db.dialect == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT name, rowid, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                (items.name,),
            ).all()
        else:
            rows = conn.execute(
                sa.text(
                    "SELECT c.relname, c.oid::bigint, pg_get_indexdef(c.oid) FROM pg_index x "
                    "JOIN pg_class c ON c.oid = x.indexrelid WHERE x.indrelid = CAST(:t AS regclass)"
                ),
                {"t": f'"{items.schema}"."{items.name}"'},
            ).all()
    return {name: (ident, ddl) for name, ident, ddl in rows}


def test_an_import_into_an_empty_table_builds_the_indexes_after_the_load(inv, tmp_path):
    before = _index_identities(inv)
    assert len(before) >= 10

    report = inv.import_csv(_csv(tmp_path / "a.csv", ROWS, "A"))
    assert report.inserted == ROWS
    after = _index_identities(inv)
    assert {n: d for n, (_i, d) in after.items()} == {n: d for n, (_i, d) in before.items()}
    rebuilt = {n for n in before if before[n][0] != after[n][0]}
    assert f"ix_{inv.t.items.name}_item_name" in rebuilt and f"ix_{inv.t.items.name}_shortage" in rebuilt
    assert not {n for n, (_i, ddl) in before.items() if "UNIQUE" in ddl.upper() or n.endswith("_pkey")} & rebuilt
    assert inv.summary() == _recount(inv)

    inv.import_csv(_csv(tmp_path / "b.csv", 200, "B"))  # into a table with items: the indexes are left alone
    assert _index_identities(inv) == after
    assert inv.query(sort_by="item_name", limit=1).rows["item_name"].tolist() == ["Item A 0"]


def test_a_failed_import_into_an_empty_table_keeps_every_index(inv, tmp_path):
    before = _index_identities(inv)
    report = inv.import_csv(_csv(tmp_path / "a.csv", ROWS, "A", bad_row=1_200), atomic=True)
    # The first chunk (1,000 rows) was written before the bad row, then atomic rolled it all back, the drop too.
    assert (report.inserted, report.skipped, report.batch_id) == (0, 1, None)
    assert _index_identities(inv) == before
    assert inv.summary()["items"] == 0
