"""Issue 17 acceptance: the same messy cases as CSV, as an .xlsx and as pandas / Polars / Arrow frames, give the same
report (counts, every error, warnings, the error file), modulo row numbering and the file's name.

Each case is written once, as typed cells. A cell is either a value whose CSV text is ``str(value)``, or a pair
``(typed, "csv text")``: the typed value goes into the workbook and the frames, the text is what a person's CSV
holds for it. The CSV's report is the reference; nothing here derives the CSV from the engine's own conversion.
Frames number rows from 0, the CSV and the workbook as a spreadsheet does (header = row 1), so frame row i is CSV
row i + 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import shutil
import subprocess
from decimal import Decimal
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
import xlsxwriter

from inventory_panel.importing import ImportReport

NAN = float("nan")
HEADER = ["item_name", "category", "quantity", "unit_price", "sku"]
CASES: dict[str, tuple[list[str], list[list[Any]]]] = {
    "wrong types": (
        HEADER,
        [
            ["Drill", "Tools", "abc", "1.00", "W-1"],
            ["Saw", "Tools", (2.5, "2.5"), "ten", "W-2"],
            ["Hammer", "Tools", (True, "TRUE"), (dt.date(2025, 1, 31), "2025-01-31"), "W-3"],
            ["Level", (dt.date(2025, 1, 31), "2025-01-31"), 4, (False, "FALSE"), "W-4"],
            ["Tape", "Tools", 3, "1.5", "W-5"],
        ],
    ),
    "blanks and NaN": (
        HEADER,
        [
            ["Drill", "Tools", (NAN, ""), "1.00", "B-1"],
            [(None, ""), "Tools", 1, (NAN, ""), "B-2"],
            [(None, ""), (None, ""), (NAN, ""), (None, ""), (None, "")],
            ["Saw", "  ", 2, (None, ""), (None, "")],
            ["Tape", "Tools", 3, (NAN, ""), (NAN, "")],
        ],
    ),
    "numbers stored as text": (
        HEADER,
        [
            ["Drill", "Tools", "7", "12.50", "T-1"],
            ["Saw", "Tools", " 8 ", " 3 ", "T-2"],
            ["Tape", "Tools", "1,000", "1.5.0", "T-3"],
            ["Level", "Tools", "+4", "0012.5", "T-4"],
            ["Rope", "Tools", "5.00", "-1", "T-5"],
        ],
    ),
    "decimals that are floats": (
        HEADER,
        [
            ["Drill", "Tools", (5.0, "5"), (12.499999, "12.499999"), "F-1"],
            ["Saw", "Tools", (1.0, "1"), (12.5, "12.5"), "F-2"],
            ["Tape", "Tools", (2.0, "2"), (2.675, "2.675"), "F-3"],  # 2.67499999… in binary: never rounded
            ["Level", "Tools", (-0.0, "-0"), (-0.0, "-0"), "F-4"],
            ["Rope", "Tools", (3.0, "3"), (19.99, "19.99"), "F-5"],
            ["Glue", "Tools", (4.0, "4"), (1e-05, "0.00001"), "F-6"],
        ],
    ),
    "huge ints": (
        [*HEADER, "minimum_stock"],
        [
            ["Drill", "Tools", (10**20, "100000000000000000000"), "1", "H-1", 1],
            ["Saw", "Tools", (2**31, "2147483648"), "1", "H-2", 1],
            ["Tape", "Tools", 1, (10**16, "10000000000000000"), "H-3", 1],
            ["Level", "Tools", 1, "1", "H-4", (-(10**18), "-1000000000000000000")],
            ["Rope", "Tools", (2**31 - 1, "2147483647"), "1", "H-5", 0],
        ],
    ),
    "duplicate skus": (
        HEADER,
        [
            ["Drill", "Tools", 1, "1", "D-1"],
            ["Saw", "Tools", 1, "1", "D-2"],
            ["Drill again", "Tools", 1, "1", "D-1"],
            ["Numbered", "Tools", 1, "1", (1001, "1001")],
            ["Numbered as text", "Tools", 1, "1", "1001"],
            ["Existing", "Tools", 1, "1", "OLD-1"],
        ],
    ),
    "extra columns": (
        ["Item Name", "Category", "Quantity", "Unit Price", "SKU", "Notes", "colour"],
        [
            ["Drill", "Tools", 1, "1", "E-1", "keep dry", "red"],
            ["Saw", "Tools", "x", "1", "E-2", (5.0, "5"), (None, "")],
            ["Tape", "Tools", 2, "2", "E-3", (None, ""), (True, "TRUE")],
        ],
    ),
}


def typed(cell: Any) -> Any:
    return cell[0] if isinstance(cell, tuple) else cell


def text(cell: Any) -> str:
    return cell[1] if isinstance(cell, tuple) else str(cell)


def as_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[text(c) for c in row] for row in rows])
    return out.getvalue().encode()


def as_xlsx(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("Items")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, header)
    for r, row in enumerate(rows, start=1):
        for c, cell in enumerate(map(typed, row)):
            if cell is None or (isinstance(cell, float) and math.isnan(cell)):
                continue  # a spreadsheet cell cannot hold NaN: it is an empty cell
            if isinstance(cell, bool):
                sheet.write_boolean(r, c, cell)
            elif isinstance(cell, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(cell, dt.time()), dates)
            elif isinstance(cell, (int, float)):
                sheet.write_number(r, c, cell)  # Excel keeps every number as a float
            else:
                sheet.write_string(r, c, cell)  # numbers stored as text stay text
    book.close()
    return out.getvalue()


def as_pandas(header: list[str], rows: list[list[Any]]) -> pd.DataFrame:
    # Columns of one type become float64 / int64 / bool (Arrow path); mixed ones are object (per value).
    return pd.DataFrame({name: [typed(row[j]) for row in rows] for j, name in enumerate(header)})


def _arrow_column(cells: list[Any]) -> pa.Array:
    """Arrow is typed: a column it can infer keeps its type, a mixed one is what a loader makes of it: text."""
    values = list(map(typed, cells))
    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values if v is not None):
        return pa.array([None if v is None else float(v) for v in values], type=pa.float64(), from_pandas=True)
    return pa.array(
        [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else text(c)
            for v, c in zip(values, cells, strict=True)
        ]
    )


def as_arrow(header: list[str], rows: list[list[Any]]) -> pa.Table:
    return pa.table({name: _arrow_column([row[j] for row in rows]) for j, name in enumerate(header)})


def as_polars(header: list[str], rows: list[list[Any]]) -> pl.DataFrame:
    return pl.from_arrow(as_arrow(header, rows))


def comparable(report: ImportReport, shift: int) -> dict[str, Any]:
    """The report without its file name, rows renumbered to the CSV's (``shift`` added, in messages too)."""

    def renumber(text: str) -> str:
        return re.sub(r"on row (\d+)", lambda m: f"on row {int(m[1]) + shift}", text)

    errors = report.errors.copy()
    errors["row"] = errors["row"] + shift
    errors["message"] = errors["message"].map(renumber)
    return {
        "rows": report.rows,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "warnings": report.warnings,
        "errors": errors.to_dict("records"),
        "error_file": renumber(report.error_csv()),
    }


FORMATS = {"xlsx": (as_xlsx, 0), "pandas": (as_pandas, 2), "polars": (as_polars, 2), "arrow": (as_arrow, 2)}


def _run(inv, fmt: str, header: list[str], rows: list[list[Any]]) -> ImportReport:
    if fmt == "csv":
        return inv.import_csv(as_csv(header, rows), dry_run=True)
    if fmt == "xlsx":
        return inv.import_file(as_xlsx(header, rows), dry_run=True)
    return inv.import_frame(FORMATS[fmt][0](header, rows), dry_run=True)


@pytest.mark.parametrize("case", list(CASES))
def test_every_source_gives_the_csv_report(inv, case):
    inv.add({"item_name": "Existing", "category": "Tools", "quantity": 1, "unit_price": "1", "sku": "OLD-1"})
    header, rows = CASES[case]
    reference = comparable(_run(inv, "csv", header, rows), 0)
    assert reference["skipped"] or case == "blanks and NaN" or reference["warnings"]  # the case is messy
    for fmt, (_make, shift) in FORMATS.items():
        got = comparable(_run(inv, fmt, header, rows), shift)
        assert got == reference, fmt


def test_the_reference_reports_say_what_the_rules_say(inv):
    """Pin the CSV reports the other sources are compared with, for the cases issue 17 names."""
    inv.add({"item_name": "Existing", "category": "Tools", "quantity": 1, "unit_price": "1", "sku": "OLD-1"})
    floats = _run(inv, "csv", *CASES["decimals that are floats"])
    assert [(e["row"], e["column"]) for e in floats.errors.to_dict("records")] == [
        (2, "unit_price"),
        (4, "unit_price"),
        (7, "unit_price"),
    ]
    assert floats.inserted == 3
    huge = _run(inv, "csv", *CASES["huge ints"]).errors
    assert set(huge["row"]) == {2, 3, 4, 5}
    dupes = _run(inv, "csv", *CASES["duplicate skus"]).errors
    assert list(dupes["row"]) == [4, 6, 7]
    extra = _run(inv, "csv", *CASES["extra columns"])
    assert extra.warnings == ["Unknown columns ignored: Notes, colour"]


@pytest.mark.parametrize("fmt", ["xlsx", "pandas"])
def test_imported_values_are_stored_exactly(inv, fmt):
    """A real (not dry) import: 5.0 is the integer 5, 12.5 the money 12.50, -0 is 0, 1001 the sku "1001"."""
    header = HEADER
    rows = [
        ["Drill", "Tools", (5.0, "5"), (12.5, "12.5"), (1001, "1001")],
        ["Saw", "Tools", (-0.0, "-0"), (-0.0, "-0"), "S-2"],
    ]
    source = as_xlsx(header, rows) if fmt == "xlsx" else as_pandas(header, rows)
    report = inv.import_file(source) if fmt == "xlsx" else inv.import_frame(source)
    assert (report.inserted, report.skipped) == (2, 0)
    items = inv.query().rows
    drill = items[items["item_name"] == "Drill"].iloc[0]
    saw = items[items["item_name"] == "Saw"].iloc[0]
    assert (drill["quantity"], drill["unit_price"], drill["sku"]) == (5, Decimal("12.50"), "1001")
    assert (saw["quantity"], saw["unit_price"]) == (0, Decimal("0.00"))
    assert report.file == ("<pandas DataFrame>" if fmt == "pandas" else None)


SPREADSHEET_CASES = ["numbers stored as text", "decimals that are floats", "huge ints", "duplicate skus"]


@pytest.mark.parametrize("fmt", ["ods", "xls"])
def test_ods_and_xls_written_by_libreoffice_give_the_csv_report(inv, fmt, tmp_path):
    """The same cases saved by LibreOffice as .ods and .xls (calamine reads both) give the CSV's reports."""
    soffice = shutil.which("soffice")
    if soffice is None:  # `make test` installs it (Makefile target soffice); never a silent skip
        pytest.fail("LibreOffice is missing: run `make soffice` (Debian's libreoffice-calc-nogui)")
    inv.add({"item_name": "Existing", "category": "Tools", "quantity": 1, "unit_price": "1", "sku": "OLD-1"})
    sources = []
    for i, case in enumerate(SPREADSHEET_CASES):
        sources.append(tmp_path / f"case{i}.xlsx")
        sources[-1].write_bytes(as_xlsx(*CASES[case]))
    subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
            "--convert-to",
            fmt,
            "--outdir",
            str(tmp_path / "out"),
            *map(str, sources),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    for i, case in enumerate(SPREADSHEET_CASES):
        converted = tmp_path / "out" / f"case{i}.{fmt}"
        reference = comparable(_run(inv, "csv", *CASES[case]), 0)
        assert comparable(inv.import_file(converted, dry_run=True), 0) == reference, case


def test_any_tabular_source_goes_through_the_same_pipeline(inv):
    """The seam (importing/sources.py): a source of our own making gets the rules, report, warnings and audit."""
    from inventory_panel.importing import import_source
    from inventory_panel.importing.reading import Chunk, parse_header
    from inventory_panel.importing.sources import TabularSource
    from inventory_panel.storage.bulk import ImportStore
    from inventory_panel.storage.unit_of_work import UnitOfWork

    class Listed:
        kind, delimiter, file_name, fraction, formula_escaped = "List", ";", "<list>", 1.0, False

        def __init__(self):
            self.warnings = ["read from a list"]
            self.header = parse_header(HEADER, "append")

        def chunks(self):
            yield Chunk([["A", "Tools", "1", "1", "L-1"], ["B", "Tools", "x", "1", "L-2"]], 10)

        def close(self):
            pass

    source = Listed()
    assert isinstance(source, TabularSource)
    report = import_source(ImportStore(UnitOfWork(inv.db, inv.user.name)), source)  # the port the service hands
    assert (report.file, report.inserted, report.skipped) == ("<list>", 1, 1)
    assert list(report.errors["row"]) == [11] and report.warnings == ["read from a list"]
    assert report.error_csv().splitlines()[1] == "B;Tools;x;1;L-2;Quantity must be a whole number such as 5"
    assert set(inv.audit_log(action="add").rows["detail"]) == {"List import of <list>"}
