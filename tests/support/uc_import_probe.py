"""``Inventory.import_table`` in a process of its own, for its peak RSS (tests/integration/test_uc_import.py).

``python -m tests.support.uc_import_probe DB_URL TABLE WARM_UP_TABLE WAREHOUSE_ID`` imports the table as a dry run
(after the small WARM_UP_TABLE, so imports, the SDK and pyarrow's kernels are loaded) through the
warehouse the environment's ``DATABRICKS_HOST`` serves (the fake workspace runs in the test's process, so its copy
of the table does not count here) and prints one JSON line: ``baseline_mb`` (RSS just before), ``peak_mb`` (peak
RSS from then on, see ``memory_probe``), ``rows`` and ``errors``.
"""

from __future__ import annotations

import gc
import json
import sys

import inventory_panel as ip
from inventory_panel.settings import load_settings
from tests.support.memory_probe import peak_mb, reset_peak


def main(db_url: str, table: str, warm_up: str, warehouse_id: str) -> None:
    inv = ip.connect(db_url, user="probe@example.com", role="admin", settings=load_settings({}))
    inv.import_table(warm_up, warehouse_id=warehouse_id, dry_run=True)
    gc.collect()
    baseline = reset_peak()
    report = inv.import_table(table, warehouse_id=warehouse_id, dry_run=True)
    print(
        json.dumps({"baseline_mb": baseline, "peak_mb": peak_mb(), "rows": report.rows, "errors": len(report.errors)})
    )
    inv.close()


if __name__ == "__main__":
    main(*sys.argv[1:5])
