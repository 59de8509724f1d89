"""A small, fast stand-in for ``bench/gen_inventory_csv.py``, so the benchmark tests run on small files quickly.

``python tests/support/bench_data.py N OUT`` writes N valid rows in the generator's columns
(``bench.data_files.CSV_COLUMNS``), deterministically, some of them short of stock.
"""

from __future__ import annotations

import csv
import sys

COLUMNS = ("item_name", "description", "category", "quantity", "unit_price", "supplier", "location", "minimum_stock")


def main(rows: int, out: str) -> None:
    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(rows):
            writer.writerow(
                [
                    f"Drill {i:07d}" if i % 7 == 0 else f"Box {i:07d}",
                    f"batch {i}",
                    f"Cat {i % 5}",
                    (i * 13) % 40,
                    f"{(i * 37) % 900}.{i % 100:02d}",
                    f"Supplier {i % 4}",
                    f"Aisle {i % 6}",
                    i % 25,
                ]
            )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
