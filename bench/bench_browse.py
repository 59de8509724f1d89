"""Browse benchmark: ``Inventory.query`` variants and ``summary()`` on a million items, SQLite and PostgreSQL.

Run: ``python -m bench.bench_browse`` (``--rows``, ``--runs``, ``--backends``, ``--json`` to change the defaults).

The data is ``gen_inventory_csv.py``'s deterministic CSV (generated into ``bench/data/`` on first use) loaded by a
direct bulk path (``executemany`` on SQLite, ``COPY`` on PostgreSQL) into a schema built by the app's own
migrations, so every index, trigger and maintained table of the app is in place and maintained during the load.
PostgreSQL is ``INVENTORY_BENCH_POSTGRES_URL`` when set, else a throwaway server (``tests/support/postgres.py``;
``INVENTORY_BENCH_PG_BIN`` picks other PostgreSQL binaries, e.g. ``/usr/lib/postgresql/15/bin`` with contrib).
Each case is timed end to end as a caller sees it (SQL plus building the page's DataFrame), after warm-up runs,
and reported as p50/p95 in milliseconds.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import inventory_panel as ip
from bench.data_files import CSV_COLUMNS, DATA, generated_csv
from bench.docs_section import machine_state, update_section
from inventory_panel.inventory import SEARCH_COUNT_LIMIT
from inventory_panel.settings import load_settings

LOADED_BY = "bench@example.com"
LOADED_AT = "2024-01-01 00:00:00"
TARGET_MS = {"sqlite": 60.0, "postgresql": 25.0}
SUMMARY_TARGET_MS = 150.0


def dataset(rows: int) -> Path:
    return generated_csv(rows, "items")


def _csv_records(path: Path) -> Iterator[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        if tuple(header) != CSV_COLUMNS:
            raise SystemExit(f"{path}: unexpected columns {header}")
        yield from reader


def load_sqlite(csv_path: Path, db_path: Path) -> ip.Inventory:
    """A fresh SQLite inventory at ``db_path`` holding every row of ``csv_path``."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    inv = _connect(f"sqlite:///{db_path}")
    table = inv.t.items.name
    cols = (*CSV_COLUMNS, "version", "created_at", "created_by", "updated_at", "updated_by")
    sql = f'INSERT INTO "{table}" ({", ".join(cols)}) VALUES ({", ".join("?" * len(cols))})'

    def rows() -> Iterator[tuple[Any, ...]]:
        for name, desc, cat, qty, price, supplier, loc, minimum in _csv_records(csv_path):
            cents = int((Decimal(price) * 100).to_integral_value())
            yield (
                name,
                desc,
                cat,
                int(qty),
                cents,
                supplier or None,
                loc or None,
                int(minimum) if minimum else None,
                1,
                LOADED_AT,
                LOADED_BY,
                LOADED_AT,
                LOADED_BY,
            )

    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute("PRAGMA temp_store=MEMORY")  # as the app's engine does (see storage/engines.py)
        conn.execute("BEGIN")
        conn.executemany(sql, rows())
        conn.execute("COMMIT")
    finally:
        conn.close()
    return inv


class _CopyStream(io.RawIOBase):
    """The CSV file as ``COPY … FROM STDIN (FORMAT csv)`` input, with the bookkeeping columns appended."""

    def __init__(self, csv_path: Path):
        self._lines = csv_path.open("rb")
        self._lines.readline()  # header
        self._tail = f",1,{LOADED_AT}+00,{LOADED_BY},{LOADED_AT}+00,{LOADED_BY}\n".encode()
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = 1 << 16 if size is None or size < 0 else size
        while len(self._buffer) < size:
            line = self._lines.readline()
            if not line:
                break
            # The generator writes no line breaks inside fields, so one physical line is one record.
            self._buffer += line.rstrip(b"\r\n") + self._tail
        chunk, self._buffer = self._buffer[:size], self._buffer[size:]
        return chunk

    def close(self) -> None:
        self._lines.close()
        super().close()


def load_postgres(csv_path: Path, url: str) -> ip.Inventory:
    """A fresh PostgreSQL inventory at ``url`` holding every row of ``csv_path``, vacuumed and analysed."""
    inv = _connect(url)
    items = inv.t.items
    cols = (*CSV_COLUMNS, "version", "created_at", "created_by", "updated_at", "updated_by")
    raw = inv.db.engine.raw_connection()
    try:
        with raw.cursor() as cur:
            stream = _CopyStream(csv_path)
            cur.copy_expert(
                f'COPY "{items.schema}"."{items.name}" ({", ".join(cols)}) FROM STDIN (FORMAT csv)',
                stream,
                size=1 << 16,
            )
            stream.close()
        raw.commit()
        driver = raw.driver_connection
        driver.autocommit = True
        try:
            with driver.cursor() as cur:
                # Autovacuum would get there shortly after a bulk load; the benchmark should not depend on when.
                cur.execute(f'VACUUM ANALYZE "{items.schema}"."{items.name}"')
        finally:
            driver.autocommit = False
    finally:
        raw.close()
    return inv


def _connect(url: str) -> ip.Inventory:
    return ip.connect(url, user="admin@example.com", role="admin", settings=load_settings({}))


@contextmanager
def postgres_url() -> Iterator[str]:
    """A fresh database on ``INVENTORY_BENCH_POSTGRES_URL``'s server, or on a throwaway local server."""
    name = f"bench_{uuid.uuid4().hex[:10]}"
    external = os.environ.get("INVENTORY_BENCH_POSTGRES_URL")
    if external:
        engine = sa.create_engine(external, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield external.rsplit("/", 1)[0] + f"/{name}"
        finally:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            engine.dispose()
        return
    from bench.postgres import PostgresServer

    pg_bin = os.environ.get("INVENTORY_BENCH_PG_BIN")
    server = PostgresServer(bin_dir=Path(pg_bin) if pg_bin else None)
    try:
        yield server.create_database(name)
    finally:
        server.close()


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[ip.Inventory], Any]


def cases(inv: ip.Inventory, rows: int) -> list[Case]:
    deep = (rows // 2) // 50 * 50
    by_price = {"sort_by": "unit_price", "descending": True}
    # The key a person flipping on from the deep page holds (Page.last_key of the page they see).
    deep_key = inv.query(**by_price, offset=deep).last_key
    return [
        Case("first page by name", lambda inv: inv.query()),
        Case("next page by name (offset 50)", lambda inv: inv.query(offset=50)),
        Case(f"deep page by unit_price desc: jump to offset {deep:,}", lambda inv: inv.query(**by_price, offset=deep)),
        Case(
            "deep page by unit_price desc: flip on from there (after=last_key)",
            lambda inv: inv.query(**by_price, offset=deep + 50, after=deep_key),
        ),
        Case("category filter", lambda inv: inv.query(category="Tools")),
        Case("status low", lambda inv: inv.query(status="low")),
        Case(
            "substring search '0424242' (1 match)",
            lambda inv: inv.query(search="0424242", count_limit=SEARCH_COUNT_LIMIT),
        ),
        Case(
            f"substring search 'drill' (108,048 matches), counted to {SEARCH_COUNT_LIMIT:,} as the app does",
            lambda inv: inv.query(search="drill", count_limit=SEARCH_COUNT_LIMIT),
        ),
        Case(
            "substring search 'drill', exact count (`query()` without `count_limit`)",
            lambda inv: inv.query(search="drill"),
        ),
        Case("summary()", lambda inv: inv.summary()),
        Case("Low stock view: the 500 largest shortages (`low_stock()`)", lambda inv: inv.low_stock(limit=500)),
    ]


def time_case(inv: ip.Inventory, case: Case, runs: int, warmup: int = 3) -> dict[str, float]:
    for _ in range(warmup):
        case.run(inv)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        case.run(inv)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "p50": statistics.median(samples),
        "p95": samples[min(len(samples) - 1, round(0.95 * len(samples)) - 1)],
        "max": samples[-1],
    }


def run_backend(backend: str, rows: int, runs: int, reuse: bool = False) -> dict[str, Any]:
    csv_path = dataset(rows)
    with _prepared(backend, csv_path, rows, reuse) as (inv, load_s):
        version = _server_version(inv)
        trigram = _has_trigram_index(inv)
        print(
            f"\n{backend} ({version}{', pg_trgm index' if trigram else ''}): {rows:,} rows, loaded in {load_s:.1f} s",
            flush=True,
        )
        results = {}
        for case in cases(inv, rows):
            stats = time_case(inv, case, runs)
            target = SUMMARY_TARGET_MS if case.name == "summary()" else TARGET_MS[backend]
            stats["target"] = target
            results[case.name] = stats
            verdict = "met" if stats["p95"] <= target else "MISSED"
            print(
                f"  {case.name:<45} p50 {stats['p50']:8.1f} ms   p95 {stats['p95']:8.1f} ms   "
                f"(target p95 <= {target:.0f} ms: {verdict})",
                flush=True,
            )
        inv.close()
    return {
        "backend": backend,
        "server": version,
        "trigram_index": trigram,
        "rows": rows,
        "runs": runs,
        "load_seconds": load_s,
        "cases": results,
    }


def _has_trigram_index(inv: ip.Inventory) -> bool:
    if inv.db.dialect != "postgresql":
        return False
    return f"ix_{inv.t.items.name}_search_trgm" in {
        ix["name"] for ix in sa.inspect(inv.db.engine).get_indexes(inv.t.items.name, schema=inv.t.items.schema)
    }


def markdown(results: list[dict[str, Any]], command: str, load: tuple[str, str]) -> str:
    lines = [
        f"Command: `{command}` — {results[0]['rows']:,} items, {results[0]['runs']} timed runs per case after "
        f"3 warm-up runs, each timed as a caller sees it (SQL and the page's DataFrame). "
        f"Machine at start: {load[0]}; at end: {load[1]}.",
        "",
    ]
    for r in results:
        extra = (
            "; trigram index (pg_trgm) present"
            if r["trigram_index"]
            else ("; no pg_trgm on this server, so no trigram index" if r["backend"] == "postgresql" else "")
        )
        loaded = (
            "loaded by an earlier run (`--reuse`)"
            if r["load_seconds"] != r["load_seconds"]
            else f"bulk load of the rows (triggers, indexes) {r['load_seconds']:.0f} s"
        )
        lines += [
            f"**{r['server']}**{extra}; {loaded}.",
            "",
            "| Case | p50 (ms) | p95 (ms) | Target p95 | |",
            "|---|---:|---:|---:|---|",
        ]
        for name, c in r["cases"].items():
            verdict = "met" if c["p95"] <= c["target"] else f"**missed** ({c['p95'] / c['target']:.1f}×)"
            lines.append(f"| {name} | {c['p50']:.1f} | {c['p95']:.1f} | ≤ {c['target']:.0f} ms | {verdict} |")
        lines.append("")
    return "\n".join(lines)


@contextmanager
def _prepared(backend: str, csv_path: Path, rows: int, reuse: bool) -> Iterator[tuple[ip.Inventory, float]]:
    start = time.perf_counter()
    if backend == "sqlite":
        path = DATA / f"browse_{rows}.db"
        if reuse and path.exists():
            inv = _connect(f"sqlite:///{path}")  # migrations bring an older file up to date
            if inv.summary()["items"] == rows:
                print(f"(reusing {path})", flush=True)
                yield inv, float("nan")
                return
            inv.close()
        inv = load_sqlite(csv_path, path)
        yield inv, time.perf_counter() - start
        return
    with postgres_url() as url:
        start = time.perf_counter()
        inv = load_postgres(csv_path, url)
        yield inv, time.perf_counter() - start


def _server_version(inv: ip.Inventory) -> str:
    if inv.db.dialect == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with inv.db.engine.connect() as conn:
        return "PostgreSQL " + conn.exec_driver_sql("SHOW server_version").scalar_one().split()[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=60, help="timed runs per case (after 3 warm-up runs)")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse bench/data/browse_<rows>.db from an earlier run when it holds the rows (SQLite)",
    )
    parser.add_argument("--update-docs", action="store_true", help="rewrite the Browse section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    print(f"Browse benchmark: {args.rows:,} items, {args.runs} runs per case, Python {platform.python_version()}")
    load_start = machine_state()
    results = [run_backend(b.strip(), args.rows, args.runs, args.reuse) for b in args.backends.split(",") if b.strip()]
    pg_bin = os.environ.get("INVENTORY_BENCH_PG_BIN")
    command = (
        (f"INVENTORY_BENCH_PG_BIN={pg_bin} " if pg_bin else "")
        + "python -m bench.bench_browse "
        + " ".join(argv if argv is not None else sys.argv[1:])
    )
    section = markdown(results, command.strip(), (load_start, machine_state()))
    print("\n" + section)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    if args.update_docs:
        update_section("bench_browse", "Browse", section)
    missed = [(r["backend"], name) for r in results for name, s in r["cases"].items() if s["p95"] > s["target"]]
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
