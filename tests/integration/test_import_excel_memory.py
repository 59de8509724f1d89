"""Issue 17: a 100,000-row .xlsx imports with bounded memory (peak RSS measured in a subprocess).

calamine holds the one sheet it reads (bounded by ``excel.MAX_CELLS``); the rows reach the pipeline in chunks, so
the import's growth stays a fixed bound above the baseline. Measured on this machine for this file (41 MB of sheet
XML, 800,000 cells; calamine's loaded sheet is ~42 MB): a dry run (reading, every check, no writes) grows ~76 MB,
and ~109 MB when the sheet's rows are all turned into Python rows before the first chunk (what streaming avoids),
so the dry-run bound tells the two apart. A real import grows ~112 MB, its peak set by the writes and the audit at
the end (the same as for CSV, ~62 MB for the same data, plus the sheet), so its bound is a looser guard.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.support.subprocess_run import run_module

pytestmark = pytest.mark.slow  # a 100,000-row workbook

ROWS = 100_000
DRY_RUN_BOUND_MB = 95
GROWTH_BOUND_MB = 160


def probe(*args: str) -> str:
    result = run_module("tests.support.xlsx_probe", *args, cwd=ROOT, timeout=600, strip=("INVENTORY_",))
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_a_100k_row_xlsx_imports_with_bounded_memory(tmp_path: Path):
    xlsx = tmp_path / "items.xlsx"
    probe("write", str(ROWS), str(xlsx))
    db = f"sqlite:///{tmp_path / 'inventory.db'}"
    checked = json.loads(probe("import", db, str(xlsx), "dry-run").splitlines()[-1])
    assert (checked["rows"], checked["inserted"], checked["skipped"]) == (ROWS, ROWS, 0)
    assert checked["peak_mb"] - checked["baseline_mb"] < DRY_RUN_BOUND_MB, checked
    figures = json.loads(probe("import", db, str(xlsx)).splitlines()[-1])
    assert (figures["rows"], figures["inserted"], figures["skipped"]) == (ROWS, ROWS, 0)
    assert figures["peak_mb"] - figures["baseline_mb"] < GROWTH_BOUND_MB, figures
