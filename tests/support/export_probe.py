"""Peak RSS of one export in its own process (tests/integration/test_export_files.py).

``python -m tests.support.export_probe DB_URL ROWS FORMAT OUT`` fills an empty SQLite/PostgreSQL inventory with
ROWS generated items (through the CSV import), then exports them all as FORMAT to OUT and prints one JSON line:
``rows``, ``baseline_mb`` (RSS just before the export), ``peak_mb`` (peak RSS during it) and ``seconds``.
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


def main(url: str, rows: int, fmt: str, out: str) -> None:
    inv = ip.connect(url, user="probe@example.com", role="admin")
    with tempfile.TemporaryDirectory() as tmp:
        source = str(Path(tmp) / "items.csv")
        write_csv(rows, source)
        inv.import_csv(source)
    gc.collect()
    baseline = reset_peak()
    start = time.perf_counter()
    count = inv.export(out, format=fmt)
    seconds = time.perf_counter() - start
    print(json.dumps({"rows": count, "baseline_mb": round(baseline, 1), "peak_mb": round(peak_mb(), 1),
                      "seconds": round(seconds, 2)}))
    inv.close()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4])
