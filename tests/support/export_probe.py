"""Peak RSS of one export in its own process (tests/integration/test_export_files.py).

``python -m tests.support.export_probe fill DB_URL ROWS`` fills an empty SQLite/PostgreSQL inventory with ROWS
generated items (through the CSV import); ``python -m tests.support.export_probe export DB_URL FORMAT OUT``, in a
fresh process (so the import's freed memory cannot hide the export's), exports them all as FORMAT to OUT and prints
one JSON line: ``rows``, ``baseline_mb`` (RSS just before the export), ``peak_mb`` (peak RSS during it), ``seconds``.
"""

from __future__ import annotations

import gc
import json
import sys
import tempfile
import time
from pathlib import Path

import inventory_panel as ip
from tests.support.bench_data import main as write_csv
from tests.support.memory_probe import peak_mb, reset_peak


def fill(url: str, rows: int) -> None:
    inv = ip.connect(url, user="probe@example.com", role="admin")
    with tempfile.TemporaryDirectory() as tmp:
        source = str(Path(tmp) / "items.csv")
        write_csv(rows, source)
        inv.import_csv(source)
    inv.close()


def export(url: str, fmt: str, out: str) -> None:
    import pyarrow.parquet  # noqa: F401 - imported before the baseline: modules are not the export's memory
    import xlsxwriter  # noqa: F401

    inv = ip.connect(url, user="probe@example.com", role="admin")
    inv.summary()
    gc.collect()
    baseline = reset_peak()
    start = time.perf_counter()
    count = inv.export(out, format=fmt)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "rows": count,
                "baseline_mb": round(baseline, 1),
                "peak_mb": round(peak_mb(), 1),
                "seconds": round(seconds, 2),
            }
        )
    )
    inv.close()


if __name__ == "__main__":
    if sys.argv[1] == "fill":
        fill(sys.argv[2], int(sys.argv[3]))
    else:
        export(sys.argv[2], sys.argv[3], sys.argv[4])
