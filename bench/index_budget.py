"""Index budget: what each index and trigger of the items table costs a bulk load, next to the query that needs it.

Run: ``python -m bench.index_budget`` (``--rows``, ``--runs``, ``--backends``, ``--update-docs`` to rewrite the Index
budget section of ``docs/benchmarks.md``).

In one process, per database: the app's migrations build a fresh inventory; its indexes and triggers are read from
the catalogue (so the table follows the migrations, whatever they are). Then the same file (``gen_inventory_csv.py``,
130,000 rows by default) is loaded, runs taking turns, into

- a minimal table: the items table's columns, no index, constraint or trigger (the floor);
- the minimal table with one index (or one group of triggers) of the app's table at a time;
- the minimal table with every index, then with every index and trigger;

PostgreSQL by ``COPY … FROM STDIN`` of all columns, SQLite by ``csv.reader`` + one ``executemany`` in one
transaction. The cost of an index is its median minus the floor's median. ``postgresql`` is a fresh database on
``INVENTORY_BENCH_POSTGRES_URL`` when set, else a throwaway server; ``postgresql-trgm`` is a throwaway server from
``INVENTORY_BENCH_PG_BIN`` (Debian's ``/usr/lib/postgresql/15/bin``, with ``pg_trgm`` from ``postgresql-contrib``).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import inventory_panel as ip
from bench.data_files import CSV_COLUMNS, generated_csv
from bench.docs_section import machine_state, update_section
from inventory_panel.settings import load_settings

ACTOR = "bench@example.com"
STAMP = "2024-01-01 00:00:00+00"
MINIMAL = "bench_minimal"
# Index (name without the ``ix_<table>_`` prefix) -> the queries that need it. A new index without an entry here
# shows up as "(not in the budget)", which is a reason to add it or drop it.
NEEDED_BY = {
    "pkey": "every lookup by id: a page's rows (deferred join), edits, history",
    "sku": "unique sku; the import's lookups by sku",
    "item_name": "the default order: first page and next pages by name",
    "category": "category filter in name order",
    "location_quantity": "location filter (count and units inside the index); units per location chart",
    "supplier": "the supplier menu (a loose index scan)",
    "unit_price": "sort by price, a jump deep into it (deferred join)",
    "quantity": "sort by quantity",
    "updated_at": "sort by last change; PostgreSQL import's audit rows (the rows it stamped)",
    "low_stock": "status low filter in name order (partial: low items only)",
    "value": "top items by value, sort by value",
    "shortage": "Low stock view, largest shortage first (partial: short items only)",
    "search_trgm": "substring search (pg_trgm GIN; PostgreSQL with pg_trgm only)",
    "search_words": "word search (GIN of the search document's words, migration 0005; PostgreSQL)",
    "stats triggers": "summary(), the counts of unfiltered, category and status pages (maintained totals)",
    "id triggers": "ids never reused, never changed (migration 0003)",
}
# PostgreSQL only: the same keys compared byte-wise (COLLATE "C") instead of by the database's collation, measured
# next to the real ones (SQLite compares text byte-wise already). A query must sort by the same expression to use
# them, so they are candidates for the browse queries, not indexes of the schema.
CANDIDATES = {
    'item_name as lower(…) COLLATE "C" (candidate)': (
        'CREATE INDEX cand_name ON {table} ((lower(item_name) COLLATE "C"), id)'
    ),
    'category COLLATE "C" (candidate)': (
        'CREATE INDEX cand_category ON {table} ((category COLLATE "C"), (item_name COLLATE "C"))'
    ),
}


@dataclass
class Config:
    """One load: the minimal table plus these DDL statements."""

    name: str
    ddl: list[str] = field(default_factory=list)


def short_name(name: str, table: str) -> str:
    for prefix in (f"ix_{table}_", f"uq_{table}_", f"{table}_"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    if name.startswith(f"sqlite_autoindex_{table}"):
        return "sku"
    return name


# -- SQLite ------------------------------------------------------------------------------------------------------


class SqliteBudget:
    name = "sqlite"

    def __init__(self, rows: list[list[str]]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-budget-"))
        self.path = self.dir / "budget.db"
        self.rows = rows
        inv = ip.connect(f"sqlite:///{self.path}", user=ACTOR, role="admin", settings=load_settings({}))
        self.table = inv.t.items.name
        inv.close()
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")  # as the app's engine sets it (storage/engines.py)
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA temp_store=FILE")

    def version(self) -> str:
        return f"SQLite {sqlite3.sqlite_version}"

    def configs(self) -> list[Config]:
        t = self.table
        found = self.conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
            "ORDER BY name",
            (t,),
        ).fetchall()
        configs: list[Config] = []
        triggers: dict[str, list[str]] = {"stats triggers": [], "id triggers": []}
        for kind, name, sql in found:
            if kind == "index":
                if sql is None:  # the UNIQUE constraint's own index
                    cols = ", ".join(r[2] for r in self.conn.execute(f'PRAGMA index_info("{name}")'))
                    name = f"uq_{t}_sku"  # sqlite_autoindex_* names are reserved
                    sql = f'CREATE UNIQUE INDEX "{name}" ON "{t}" ({cols})'
                configs.append(Config(short_name(name, t), [self._retarget(sql, name)]))
            else:
                group = "stats triggers" if "_stats_" in name else "id triggers"
                triggers[group].append(self._retarget(sql, name))
        configs += [Config(g, ddl) for g, ddl in triggers.items() if ddl]
        every_index = [d for c in configs if "triggers" not in c.name for d in c.ddl]
        return [
            *configs,
            Config("all indexes", every_index),
            Config("all indexes and triggers", [d for c in configs for d in c.ddl]),
        ]

    def _retarget(self, sql: str, name: str) -> str:
        sql = re.sub(rf'(INDEX|TRIGGER)\s+"?{re.escape(name)}"?(\s)', rf'\1 "{name}_b"\2', sql, count=1)
        return re.sub(rf'\bON\s+"?{re.escape(self.table)}"?(\s)', rf'ON "{MINIMAL}"\1', sql, count=1)

    def load(self, config: Config) -> float:
        c = self.conn
        c.execute(f'DROP TABLE IF EXISTS "{MINIMAL}"')
        c.execute(f'CREATE TABLE "{MINIMAL}" AS SELECT * FROM "{self.table}" WHERE 0')
        for ddl in config.ddl:
            c.execute(ddl)
        cols = ", ".join(CSV_COLUMNS)
        marks = ", ".join("?" * len(CSV_COLUMNS))
        sql = (
            f'INSERT INTO "{MINIMAL}" ({cols}, version, created_at, created_by, updated_at, updated_by) '
            f"VALUES ({marks}, 1, '{STAMP}', '{ACTOR}', '{STAMP}', '{ACTOR}')"
        )
        start = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        c.executemany(sql, self.rows)
        c.execute("COMMIT")
        seconds = time.perf_counter() - start
        c.execute(f'DROP TABLE "{MINIMAL}"')
        c.execute(f'DELETE FROM "{self.table}_stats"')  # what the copied triggers counted
        return seconds

    def close(self) -> None:
        self.conn.close()
        for p in self.dir.iterdir():
            p.unlink()
        self.dir.rmdir()


# -- PostgreSQL --------------------------------------------------------------------------------------------------


class PostgresBudget:
    """A throwaway server (``bin_dir``'s binaries), or a fresh database on ``INVENTORY_BENCH_POSTGRES_URL``'s."""

    def __init__(self, name: str, payload: bytes, bin_dir: str | None, external: str | None = None) -> None:
        import psycopg2

        self.name = name
        self.server: Any = None
        self.payload = payload
        if external:
            self.admin_url = sa.make_url(external)
        else:
            from bench.postgres import PostgresServer

            self.server = PostgresServer(bin_dir=Path(bin_dir) if bin_dir else None)
            self.admin_url = sa.make_url(self.server.url)
        self.database = f"bench_budget_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{self.database}"')
        url = self.admin_url.set(database=self.database)
        inv = ip.connect(
            url.render_as_string(hide_password=False), user=ACTOR, role="admin", settings=load_settings({})
        )
        assert inv.t.schema is not None  # PostgreSQL's tables live in a schema
        self.schema, self.table = inv.t.schema, inv.t.items.name
        inv.close()
        self.conn = psycopg2.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, dbname=self.database
        )

    def _admin(self, sql: str) -> None:
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
        engine.dispose()

    def version(self) -> str:
        with self.conn.cursor() as cur:
            cur.execute("SHOW server_version")
            text = cur.fetchone()[0]
            cur.execute("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
            trgm = cur.fetchone()[0]
        self.conn.rollback()
        return f"PostgreSQL {text} ({'with' if trgm else 'without'} pg_trgm, local, fsync off)"

    def configs(self) -> list[Config]:
        q, t = f'"{self.schema}"', self.table
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s ORDER BY 1",
                (self.schema, t),
            )
            indexes = cur.fetchall()
            cur.execute(
                "SELECT g.tgname, pg_get_triggerdef(g.oid) FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s "
                "AND NOT g.tgisinternal ORDER BY 1",
                (self.schema, t),
            )
            trigger_rows = cur.fetchall()
        self.conn.rollback()
        target = f"{q}.{MINIMAL}"
        configs = []
        for name, ddl in indexes:
            ddl = ddl.replace(f"INDEX {name} ", f"INDEX {name}_b ", 1)
            ddl = re.sub(rf" ON {re.escape(self.schema)}\.{re.escape(t)} ", f" ON {target} ", ddl, count=1)
            configs.append(Config(short_name(name, t), [ddl]))
        triggers: dict[str, list[str]] = {"stats triggers": [], "id triggers": []}
        for name, ddl in trigger_rows:
            group = "stats triggers" if "_stats_" in name else "id triggers"
            ddl = ddl.replace(f"TRIGGER {name} ", f"TRIGGER {name}_b ", 1)
            triggers[group].append(re.sub(rf" ON {re.escape(self.schema)}\.{re.escape(t)} ", f" ON {target} ", ddl))
        configs += [Config(g, ddl) for g, ddl in triggers.items() if ddl]
        every_index = [d for c in configs if "triggers" not in c.name for d in c.ddl]
        return [
            *configs,
            Config("all indexes", every_index),
            Config("all indexes and triggers", [d for c in configs for d in c.ddl]),
            *(Config(name, [ddl.format(table=target)]) for name, ddl in CANDIDATES.items()),
        ]

    def load(self, config: Config) -> float:
        q = f'"{self.schema}"'
        with self.conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {q}.{MINIMAL}")
            cur.execute(f"CREATE TABLE {q}.{MINIMAL} AS SELECT * FROM {q}.{self.table} WITH NO DATA")
            for ddl in config.ddl:
                cur.execute(ddl)
            self.conn.commit()
            cols = ", ".join((*CSV_COLUMNS, "id", "version", "created_at", "created_by", "updated_at", "updated_by"))
            start = time.perf_counter()
            cur.copy_expert(f"COPY {q}.{MINIMAL} ({cols}) FROM STDIN", io.BytesIO(self.payload))
            self.conn.commit()
            seconds = time.perf_counter() - start
            cur.execute(f"DROP TABLE {q}.{MINIMAL}")
            cur.execute(f'DELETE FROM {q}."{self.table}_stats"')
            self.conn.commit()
        return seconds

    def close(self) -> None:
        self.conn.close()
        self._admin(f'DROP DATABASE "{self.database}" WITH (FORCE)')
        if self.server is not None:
            self.server.close()


# -- running -----------------------------------------------------------------------------------------------------


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        next(reader)
        return list(reader)


def copy_payload(rows: list[list[str]]) -> bytes:
    """The rows in COPY's text format with an id and the stamp columns (the generator writes no tabs or
    backslashes; an empty cell is NULL, as the import writes it)."""
    tail = f"\t1\t{STAMP}\t{ACTOR}\t{STAMP}\t{ACTOR}\n"
    out = io.StringIO()
    for i, row in enumerate(rows, start=1):
        out.write("\t".join(cell if cell else "\\N" for cell in row) + f"\t{i}" + tail)
    return out.getvalue().encode()


@contextmanager
def budgets(names: list[str], rows: list[list[str]]) -> Iterator[list[Any]]:
    made: list[Any] = []
    try:
        for name in names:
            if name == "sqlite":
                made.append(SqliteBudget(rows))
            elif name == "postgresql":
                external = os.environ.get("INVENTORY_BENCH_POSTGRES_URL")
                made.append(PostgresBudget(name, copy_payload(rows), None, external))
            elif name == "postgresql-trgm":
                bin_dir = os.environ.get("INVENTORY_BENCH_PG_BIN")
                if not bin_dir:
                    print("postgresql-trgm skipped: set INVENTORY_BENCH_PG_BIN (e.g. /usr/lib/postgresql/15/bin)")
                    continue
                made.append(PostgresBudget(name, copy_payload(rows), bin_dir))
        yield made
    finally:
        for b in made:
            b.close()


def measure(budget: Any, runs: int, log: Callable[[str], None]) -> dict[str, float]:
    """Median seconds per config; configs take turns within each run."""
    configs = [Config("floor (minimal table)"), *budget.configs()]
    seconds: dict[str, list[float]] = {c.name: [] for c in configs}
    for run in range(runs):
        shift = run % len(configs)
        for config in configs[shift:] + configs[:shift]:
            seconds[config.name].append(budget.load(config))
            log(f"    {budget.name} {config.name}: {seconds[config.name][-1]:.2f} s")
        log(f"  {budget.name} run {run + 1}/{runs}: floor {seconds[configs[0].name][-1]:.2f} s")
    return {name: statistics.median(s) for name, s in seconds.items()}


def markdown(results: dict[str, dict[str, float]], versions: list[str], rows: int, runs: int, command: str) -> str:
    names = list(results)
    order: list[str] = []
    for by_config in results.values():
        order += [n for n in by_config if n not in order]
    head = "| Index or trigger | Query that needs it | " + " | ".join(f"{n}: s (+s over floor)" for n in names) + " |"
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M UTC} with `{command}`; {rows:,} rows, {runs} runs per row "
        "taking turns, medians.",
        "",
        f"- Databases: {'; '.join(versions)}",
        f"- Machine at the end: {machine_state()}",
        "",
        head,
        "|---|---|" + "---:|" * len(names),
    ]
    for config in order:
        cells = []
        for n in names:
            value, floor = results[n].get(config), results[n]["floor (minimal table)"]
            cells.append("—" if value is None else f"{value:.2f} ({value - floor:+.2f})")
        needed = NEEDED_BY.get(
            config, "" if config.startswith(("floor", "all ")) or config in CANDIDATES else "(not in the budget)"
        )
        lines.append(f"| {config} | {needed} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=130_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql,postgresql-trgm")
    parser.add_argument("--update-docs", action="store_true", help="rewrite the Index budget section of the docs")
    args = parser.parse_args(argv)
    command = "python -m bench.index_budget " + " ".join(argv if argv is not None else sys.argv[1:])
    if os.environ.get("INVENTORY_BENCH_PG_BIN") and "postgresql-trgm" in args.backends:
        command = f"INVENTORY_BENCH_PG_BIN={os.environ['INVENTORY_BENCH_PG_BIN']} {command}"
    rows = csv_rows(generated_csv(args.rows, "import"))
    print(f"Index budget: {len(rows):,} rows; {machine_state()}", flush=True)
    with budgets(args.backends.split(","), rows) as made:
        results = {b.name: measure(b, args.runs, lambda s: print(s, flush=True)) for b in made}
        versions = [b.version() for b in made]
    section = markdown(results, versions, len(rows), args.runs, command)
    print("\n" + section)
    if args.update_docs:
        update_section("index_budget", "Index budget", section)


if __name__ == "__main__":
    main()
