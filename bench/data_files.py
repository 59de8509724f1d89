"""Where the benchmarks keep their data, and the generated CSV files they measure with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# INVENTORY_BENCH_DATA: another folder for the generated files and databases (the tests use a temporary one).
DATA = Path(os.environ.get("INVENTORY_BENCH_DATA") or ROOT / "bench" / "data")
GENERATOR = ROOT / "bench" / "gen_inventory_csv.py"  # deterministic valid rows; kept here so bench runs alone
# The generator's columns, in its order.
CSV_COLUMNS = (
    "item_name",
    "description",
    "category",
    "quantity",
    "unit_price",
    "supplier",
    "location",
    "minimum_stock",
)


def generated_csv(rows: int, prefix: str) -> Path:
    """``bench/data/<prefix>_<rows>.csv`` from ``bench/gen_inventory_csv.py`` (deterministic), made on first use;
    ``INVENTORY_GEN_CSV`` points at another copy of the generator."""
    path = DATA / f"{prefix}_{rows}.csv"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        generator = Path(os.environ.get("INVENTORY_GEN_CSV", GENERATOR))
        subprocess.run([sys.executable, str(generator), str(rows), str(path)], check=True)
    return path
