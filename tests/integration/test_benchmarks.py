"""The import and browse benchmarks run end to end on a small file, SQLite and PostgreSQL, and report every case.

Their figures are not checked here (speed is judged by running them at full size, see docs/benchmarks.md); what
is checked is that each one-command benchmark still works and measures what it says.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import bench_browse, bench_import, data_files, index_budget
from tests.support import bench_data

pytestmark = [pytest.mark.postgres, pytest.mark.slow]  # a benchmark smoke run


@pytest.fixture
def bench_dirs(tmp_path, monkeypatch, pg_server):
    """Benchmark data and results in tmp_path, the stand-in generator, and the test suite's PostgreSQL server."""
    monkeypatch.setattr(data_files, "DATA", tmp_path / "data")
    monkeypatch.setattr(bench_browse, "DATA", tmp_path / "data")
    monkeypatch.setattr(bench_import, "RESULTS", tmp_path / "results")
    monkeypatch.setenv("INVENTORY_GEN_CSV", bench_data.__file__)
    monkeypatch.setenv("INVENTORY_BENCH_POSTGRES_URL", pg_server.url)
    return tmp_path


def test_browse_benchmark_times_every_case_on_the_three_databases(bench_dirs, capsys):
    """SQLite, the embedded PostgreSQL (here the suite's server) and a PostgreSQL with pg_trgm (Debian's binaries,
    ``make pg-contrib``), each case printed with its target and met or missed."""
    out = bench_dirs / "browse.json"
    bench_browse.main(["--rows", "400", "--runs", "2", "--json", str(out)])
    results = json.loads(out.read_text())
    assert [r["backend"] for r in results] == ["sqlite", "postgresql", "pg_trgm"]
    assert results[2]["trigram_index"]
    for r in results:
        assert r["rows"] == 400
        assert "Low stock view: the 500 largest shortages (`low_stock()`)" in r["cases"]
        assert "word search 'Drill Cable', counted to 1,000 as the app does" in r["cases"]
        assert len(r["cases"]) == 12
        assert all(0 < c["p50"] <= c["p95"] <= c["max"] for c in r["cases"].values())
    printed = capsys.readouterr().out
    assert "Machine at start: load average" in printed
    timed = [line for line in printed.splitlines() if line.startswith("  ") and " p95 " in line]
    assert len(timed) == 3 * 12
    assert all(line.endswith((": met)", "×))", ": not a target)")) for line in timed), timed


def test_import_benchmark_compares_with_the_baselines(bench_dirs, capsys):
    # pandas is left out here (the full benchmark runs it): the floor took its share of this smoke run's time.
    methods = "import,baseline,floor"
    bench_import.main(["--rows", "300", "--runs", "1", "--no-big", "--xlsx-rows", "200", "--methods", methods])
    (written,) = (bench_dirs / "results").glob("import-2*.json")
    results = json.loads(written.read_text())
    assert results["rows"] == 300
    assert set(results["compare"]) == {"sqlite", "postgresql"}
    assert all(set(by_method) == {"import", "baseline", "floor"} for by_method in results["compare"].values())
    assert {a["database"] for a in results["alone"]} == {"sqlite", "postgresql"}
    out = capsys.readouterr().out
    assert "| postgresql | bare `COPY … FROM STDIN (FORMAT csv)` |" in out
    assert "| sqlite | `csv.reader` + one `executemany` into a minimal table (floor) |" in out
    # Issue 16's targets: each printed with met or missed (the figures of a smoke run are not judged).
    assert re.search(r"^- sqlite: import / floor = [\d.]+ \(≤ 4\.0 (met|missed); CPU [\d.]+\)$", out, re.M)
    assert re.search(r"^- postgresql: import / floor = [\d.]+ \(≤ 3\.0 (met|missed); CPU [\d.]+\)$", out, re.M)
    assert "a 10,000,000-step Python loop" in out  # the machine's state next to the figures
    (xlsx,) = (bench_dirs / "results").glob("import-xlsx-*.json")
    case = json.loads(xlsx.read_text())
    assert [(e["database"], e["format"], e["rows"], e["skipped"]) for e in case["entries"]] == [
        ("sqlite", "csv", 200, 0),
        ("sqlite", "xlsx", 200, 0),
        ("postgresql", "csv", 200, 0),
        ("postgresql", "xlsx", 200, 0),
    ]
    assert "| sqlite | xlsx |" in out and "the .xlsx takes" in out


def test_index_budget_prices_every_index_and_trigger_on_both_databases(bench_dirs, capsys):
    index_budget.main(["--rows", "300", "--runs", "1", "--backends", "sqlite,postgresql"])
    out = capsys.readouterr().out
    rows = {line.split(" | ")[0].lstrip("| ") for line in out.splitlines() if line.startswith("| ")}
    for name in ("floor (minimal table)", "item_name", "category", "sku", "stats triggers", "all indexes", "pkey"):
        assert name in rows, name
    assert "(not in the budget)" not in out  # every index of the schema has the query that needs it
    assert "ix_" not in out.split("| Index or trigger |")[1]  # named without the table prefix


def test_the_stand_in_generator_writes_the_generator_columns(tmp_path: Path):
    out = tmp_path / "x.csv"
    bench_data.main(3, str(out))
    assert out.read_text().splitlines()[0] == ",".join(data_files.CSV_COLUMNS)
