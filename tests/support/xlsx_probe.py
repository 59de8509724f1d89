"""A large workbook import in its own process and the peak RSS it reached (test_import_excel_memory.py).

``python -m tests.support.xlsx_probe write ROWS OUT.xlsx [OUT.csv]`` writes ROWS generated items as a workbook
(xlsxwriter ``constant_memory``: typed cells, as a spreadsheet saves them) and, if asked, the same rows as CSV.
``python -m tests.support.xlsx_probe import DB_URL FILE [dry-run]`` imports FILE through ``Inventory.import_file``
(with ``dry-run``: every check, nothing written) and prints
one JSON line: ``baseline_mb`` (RSS just before the import, everything imported and warmed up), ``peak_mb`` (peak
RSS from then on, measured as ``memory_probe`` does), ``seconds`` and the report's counts.
"""

from __future__ import annotations

import csv
import json
import sys
import time

from tests.support.memory_probe import peak_mb, reset_peak

HEADER = ["item_name", "category", "quantity", "unit_price", "supplier", "location", "minimum_stock", "sku"]


def rows(count: int):
    for i in range(count):
        yield [
            f"Item {i} with a longer name",
            f"Category {i % 20}",
            i % 500,
            round((i % 10_000) / 100 + 0.5, 2),
            f"Supplier {i % 50}",
            f"Aisle {i % 30}",
            i % 7,
            f"SKU-{i:07d}",
        ]


def write(count: int, xlsx_path: str, csv_path: str | None = None) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(xlsx_path, {"constant_memory": True})
    sheet = book.add_worksheet("Items")
    sheet.write_row(0, 0, HEADER)
    for r, row in enumerate(rows(count), start=1):
        sheet.write_row(r, 0, row)
    book.close()
    if csv_path:
        with open(csv_path, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(HEADER)
            writer.writerows([*row[:3], f"{row[3]:.2f}", *row[4:]] for row in rows(count))


def run_import(db_url: str, path: str, dry_run: bool = False) -> dict:
    import inventory_panel as ip
    from inventory_panel.importing import excel, frames  # noqa: F401 - imported before the baseline
    from inventory_panel.settings import load_settings

    inv = ip.connect(db_url, user="admin@example.com", role="admin", settings=load_settings({}))
    inv.import_csv(b"item_name,category,quantity,unit_price\nWarm,Up,1,1\n", dry_run=True)
    baseline = reset_peak()
    started = time.perf_counter()
    report = inv.import_file(path, dry_run=dry_run)
    seconds = time.perf_counter() - started
    figures = {
        "baseline_mb": round(baseline, 1),
        "peak_mb": round(peak_mb(), 1),
        "seconds": round(seconds, 3),
        "rows": report.rows,
        "inserted": report.inserted,
        "skipped": report.skipped,
    }
    inv.close()
    return figures


def main(argv: list[str]) -> None:
    if argv[0] == "write":
        write(int(argv[1]), argv[2], argv[3] if len(argv) > 3 else None)
    elif argv[0] == "import":
        print(json.dumps(run_import(argv[1], argv[2], dry_run=argv[3:] == ["dry-run"])))
    else:
        raise SystemExit(f"unknown case {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
