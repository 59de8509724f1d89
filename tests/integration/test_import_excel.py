"""Workbooks in (issue 17): what each spreadsheet feature becomes, the limits, the CLI and the app's importer.

Workbooks are written here with xlsxwriter; the few things it cannot write (a formula without a cached value, a
zip bomb) are made by editing the container.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from decimal import Decimal

import pytest
import xlsxwriter

from inventory_panel.errors import ImportRefusedError
from inventory_panel.importing import excel
from tests.integration.test_cli import run

HEADER = ["item_name", "category", "quantity", "unit_price", "sku"]


def workbook(rows_by_sheet: dict[str, list[tuple[int, list]]], edit=None) -> bytes:
    """An .xlsx: per sheet, (0-based row, cells) pairs; ``edit(book, sheets, formats)`` adds features."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheets = {}
    for name, rows in rows_by_sheet.items():
        sheets[name] = sheet = book.add_worksheet(name)
        for r, cells in rows:
            for c, cell in enumerate(cells):
                if cell is not None:
                    sheet.write(r, c, cell)
    if edit:
        edit(book, sheets, {"date": book.add_format({"num_format": "yyyy-mm-dd"})})
    book.close()
    return out.getvalue()


def simple(*rows: list, start: int = 0) -> bytes:
    return workbook({"Items": [(start, HEADER)] + [(start + i + 1, r) for i, r in enumerate(rows)]})


def test_rows_are_numbered_as_the_spreadsheet_shows_them(inv):
    """Header on row 3 (two blank rows above), a blank row in the data: numbers are the sheet's."""
    data = workbook({"Items": [(2, HEADER), (3, ["Drill", "Tools", -1, 1, "A"]), (5, ["Saw", "Tools", "x", 1, "B"])]})
    report = inv.import_file(data, dry_run=True)
    assert report.rows == 2
    assert list(report.errors["row"]) == [4, 6]


def test_dates_are_iso_text_and_rejected_in_number_columns(inv):
    def dates(book, sheets, fmt):
        sheets["Items"].write_datetime(1, 1, dt.datetime(2025, 1, 31), fmt["date"])  # category: a date
        sheets["Items"].write_datetime(2, 2, dt.datetime(2025, 1, 31), fmt["date"])  # quantity: a date

    data = workbook(
        {"Items": [(0, HEADER), (1, ["Drill", None, 1, 1, "D-1"]), (2, ["Saw", "Tools", None, 1, "D-2"])]}, dates
    )
    report = inv.import_file(data)
    assert report.errors.to_dict("records") == [
        {"row": 3, "column": "quantity", "value": "2025-01-31", "message": "Quantity must be a whole number such as 5"}
    ]
    assert inv.query().rows.iloc[0]["category"] == "2025-01-31"


def _drop_cached_value(data: bytes, formula: str) -> bytes:
    """Rewrite the xlsx so that ``formula`` has no cached <v> (as a program that never recalculates writes it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body, n = re.subn(rb"(<f>" + re.escape(formula.encode()) + rb"</f>)<v>[^<]*</v>", rb"\1", body)
                assert n == 1
            dst.writestr(info, body)
    return out.getvalue()


def test_formulas_give_their_cached_value_and_none_without_one_with_a_warning(inv):
    def formulas(book, sheets, fmt):
        sheets["Items"].write_formula(1, 2, "=2+3", None, 5)  # quantity: cached 5
        sheets["Items"].write_formula(2, 2, "=1+1", None, 2)  # quantity: cached value removed below

    data = workbook(
        {"Items": [(0, HEADER), (1, ["Drill", "Tools", None, 1, "F-1"]), (2, ["Saw", "Tools", None, 1, "F-2"])]},
        formulas,
    )
    report = inv.import_file(_drop_cached_value(data, "1+1"), dry_run=True)
    assert report.errors.to_dict("records") == [
        {"row": 3, "column": "quantity", "value": "", "message": "Quantity is required"}
    ]
    assert report.inserted == 1
    assert any("Formulas without a saved value were read as empty cells (1 formula;" in w for w in report.warnings)
    assert not any("Formulas" in w for w in inv.import_file(data, dry_run=True).warnings)


def test_merged_cells_hold_their_value_top_left_with_a_warning(inv):
    def merge(book, sheets, fmt):
        sheets["Items"].merge_range(1, 0, 1, 1, "Drill")  # item_name and category merged: category is empty

    data = workbook({"Items": [(0, HEADER), (1, [None, None, 1, 1, "M-1"]), (2, ["Saw", "Tools", 1, 1, "M-2"])]}, merge)
    report = inv.import_file(data, dry_run=True)
    assert report.errors.to_dict("records") == [
        {"row": 2, "column": "category", "value": "", "message": "Category is required"}
    ]
    assert report.warnings == [
        "The sheet has 1 merged cell range: a merged cell's value is read from its top-left "
        "cell; the other cells of the range are empty."
    ]


def test_hidden_rows_are_imported_with_a_warning(inv):
    def hide(book, sheets, fmt):
        sheets["Items"].set_row(2, None, None, {"hidden": True})
        sheets["Items"].set_row(3, None, None, {"hidden": True})

    data = workbook({"Items": [(0, HEADER)] + [(i, [f"Item {i}", "Tools", 1, 1, f"H-{i}"]) for i in (1, 2, 3)]}, hide)
    report = inv.import_file(data)
    assert report.inserted == 3
    assert report.warnings == ["Hidden rows were imported like the visible ones (2 hidden rows)."]


def test_empty_trailing_columns_are_ignored_but_a_value_past_the_header_is_too_many_cells(inv):
    def wide(book, sheets, fmt):
        sheets["Items"].write_blank(1, 9, None, book.add_format({"bold": True}))  # a formatted empty cell in J

    data = workbook(
        {
            "Items": [
                (0, HEADER),
                (1, ["Drill", "Tools", 1, 1, "W-1"]),
                (2, ["Saw", "Tools", 1, 1, "W-2", None, None, "stray"]),
            ]
        },
        wide,
    )
    report = inv.import_file(data, dry_run=True)
    assert (report.rows, report.inserted, report.skipped) == (2, 1, 1)
    assert (
        report.errors.iloc[0]["row"] == 3
        and "this row has 8 cells but the header has 5" in report.errors.iloc[0]["message"]
    )
    assert report.warnings == []


def test_numbers_follow_the_csv_rules(inv):
    data = simple(
        ["A", "Tools", 5.0, 12.5, "N-1"],
        ["B", "Tools", 7, "12.50", 1001],
        ["C", "Tools", 1, 12.499999, "N-3"],
        ["D", "Tools", True, 1, "N-4"],
        ["E", "Tools", 1e20, 1, "N-5"],
        ["F", "Tools", -0.0, -0.0, "N-6"],
    )
    report = inv.import_file(data)
    assert [(e["row"], e["column"], e["value"], e["message"]) for e in report.errors.to_dict("records")] == [
        (4, "unit_price", "12.499999", "Unit price may have at most 2 decimal places"),
        (5, "quantity", "TRUE", "Quantity must be a whole number such as 5"),
        (6, "quantity", "100000000000000000000", "Quantity must be at most 2147483647"),
    ]
    rows = inv.query().rows.set_index("item_name")
    assert rows.loc["A", "quantity"] == 5 and rows.loc["A", "unit_price"] == Decimal("12.50")
    assert rows.loc["B", "sku"] == "1001"
    assert rows.loc["F", "quantity"] == 0 and rows.loc["F", "unit_price"] == Decimal("0.00")


def test_a_named_sheet_is_used_and_an_unknown_one_is_refused(inv):
    data = workbook({"Notes": [(0, ["just notes"])], "Stock": [(0, HEADER), (1, ["Drill", "Tools", 1, 1, "S-1"])]})
    with pytest.raises(ImportRefusedError, match="No header row found"):
        inv.import_file(data, dry_run=True)  # the first sheet
    assert inv.import_file(data, sheet="Stock").inserted == 1
    with pytest.raises(ImportRefusedError, match=r"no sheet named 'Stok'; its sheets are: 'Notes', 'Stock'"):
        inv.import_file(data, sheet="Stok")
    with pytest.raises(ImportRefusedError, match="this is a CSV file"):
        inv.import_file(b"item_name,category,quantity,unit_price\nA,B,1,1\n", sheet="Stock")


def test_import_csv_takes_an_xlsx_by_content_whatever_its_name_and_still_refuses_other_zips(inv, tmp_path):
    path = tmp_path / "stock.csv"  # misnamed: the content decides
    path.write_bytes(simple(["Drill", "Tools", 1, 1, "Z-1"]))
    report = inv.import_csv(path)
    assert (report.inserted, report.file) == (1, "stock.csv")
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ImportRefusedError, match="not a CSV file: it looks like a ZIP archive"):
        inv.import_csv(other.getvalue())
    with pytest.raises(ImportRefusedError, match="looks like a PDF"):
        inv.import_csv(b"%PDF-1.7 ...")


# -- limits --------------------------------------------------------------------------------------------------------


def test_a_workbook_over_the_upload_size_is_refused(inv):
    data = simple(*[["Drill", "Tools", 1, 1, f"L-{i}"] for i in range(2000)])
    with pytest.raises(ImportRefusedError, match="uploads are limited to"):
        inv.import_csv(data, max_bytes=len(data) - 1)


def test_too_many_sheets_are_refused(inv, monkeypatch):
    monkeypatch.setattr(excel, "MAX_SHEETS", 3)
    data = workbook({f"S{i}": [(0, HEADER)] for i in range(4)})
    with pytest.raises(ImportRefusedError, match="The workbook has 4 sheets; at most 3 are accepted"):
        inv.import_file(data)


def test_too_many_cells_are_refused_before_the_sheet_is_read(inv, monkeypatch):
    data = simple(*[["Drill", "Tools", 1, 1, f"C-{i}"] for i in range(100)])  # A1:E101 = 505 cells
    monkeypatch.setattr(excel, "MAX_CELLS", 500)
    loaded = []
    monkeypatch.setattr(excel.calamine.CalamineWorkbook, "get_sheet_by_name", lambda self, name: loaded.append(name))
    with pytest.raises(ImportRefusedError, match="The sheet 'Items' has 505 cells; at most 500 are accepted"):
        inv.import_file(data)
    assert loaded == []  # refused from the <dimension>, before calamine loaded a cell


def test_a_sheet_without_a_dimension_is_bounded_by_its_loaded_size(inv, monkeypatch):
    data = simple(*[["Drill", "Tools", 1, 1, f"C-{i}"] for i in range(100)])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = re.sub(rb"<dimension [^>]*/>", b"", body)
            dst.writestr(info, body)
    monkeypatch.setattr(excel, "MAX_CELLS", 500)
    with pytest.raises(ImportRefusedError, match="has 505 cells"):
        inv.import_file(out.getvalue())


def _bomb(size: int) -> bytes:
    """A valid workbook whose sheet XML is padded with ``size`` spaces (compresses ~1000x)."""
    data = simple(["Drill", "Tools", 1, 1, "B-1"])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"<sheetData>", b"<sheetData>" + b" " * size)
            dst.writestr(info, body, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_a_zip_bomb_is_refused_from_the_declared_sizes(inv, monkeypatch):
    bomb = _bomb(50 << 20)
    assert len(bomb) < 200_000
    opened = []
    monkeypatch.setattr(excel.calamine.CalamineWorkbook, "from_filelike", lambda *a, **k: opened.append(a))
    with pytest.raises(ImportRefusedError, match=r"looks like a zip bomb: its part xl/worksheets/sheet1.xml unpacks"):
        inv.import_file(bomb)
    assert opened == []


def test_the_total_unpacked_size_is_bounded(inv, monkeypatch):
    monkeypatch.setattr(excel, "MAX_UNCOMPRESSED_BYTES", 1 << 20)
    monkeypatch.setattr(excel, "MAX_RATIO", 10_000)
    with pytest.raises(ImportRefusedError, match="The workbook unpacks to 2 MB; at most 1 MB are accepted"):
        inv.import_file(_bomb(2 << 20))


def test_a_damaged_workbook_is_refused_in_one_sentence(inv):
    data = simple(["Drill", "Tools", 1, 1, "X-1"])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            dst.writestr(info, body[: len(body) // 2] if info.filename == "xl/worksheets/sheet1.xml" else body)
    with pytest.raises(ImportRefusedError, match="cannot be read"):
        inv.import_file(out.getvalue())
    with pytest.raises(ImportRefusedError, match=r"The workbook cannot be read \(Cannot detect file format\)"):
        inv.import_file(excel.OLE_SIGNATURE + bytes(600))  # an OLE file that is no workbook (a .doc, or garbage)


# -- the CLI -------------------------------------------------------------------------------------------------------


def test_cli_imports_an_xlsx_sheet_with_spreadsheet_rows_and_the_same_exit_codes(sqlite_url, tmp_path):
    path = tmp_path / "stock.xlsx"
    path.write_bytes(
        workbook(
            {
                "Notes": [(0, ["notes"])],
                "Stock": [(0, HEADER), (2, ["Drill", "Tools", 2, 9.5, "C-1"]), (3, ["Saw", "Tools", -1, 1, "C-2"])],
            }
        )
    )
    errors_out = tmp_path / "errors.csv"
    result = run(
        "--database-url", sqlite_url, "import", str(path), "--sheet", "Stock", "--json", "--errors-out", str(errors_out)
    )
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert (report["file"], report["rows"], report["inserted"], report["skipped"]) == ("stock.xlsx", 2, 1, 1)
    assert report["errors"] == [
        {"row": 4, "column": "quantity", "value": "-1", "message": "Quantity must be 0 or greater"}
    ]
    assert errors_out.read_text(encoding="utf-8").splitlines()[1].startswith("Saw,Tools,'-1,1,C-2,")
    refused = run("--database-url", sqlite_url, "import", str(path), "--sheet", "Nope")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "no sheet named 'Nope'" in refused.stderr + refused.stdout


# -- the app -------------------------------------------------------------------------------------------------------


def test_the_app_importer_offers_and_checks_workbooks(sqlite_url):
    import inventory_panel as ip
    from inventory_panel.settings import load_settings
    from inventory_panel.ui.importer import ImportView
    from inventory_panel.ui.model import InventoryModel

    inventory = ip.connect(sqlite_url, user="admin@example.com", role="admin", settings=load_settings({}))
    try:
        view = ImportView(model=InventoryModel(inventory=inventory))
        assert {".xlsx", ".xls", ".ods"} <= set(view.dropper.accepted_filetypes)
        view.dropper.value = {"stock.xlsx": simple(["Drill", "Tools", 1, 1, "A-1"], ["Saw", "Tools", "x", 1, "A-2"])}
        assert view.step == "preview" and view.refusal is None
        assert (view.report.rows, view.report.inserted, view.report.skipped) == (2, 1, 1)
        assert view.report.file == "stock.xlsx" and list(view.report.errors["row"]) == [3]
    finally:
        inventory.close()


def test_calamine_still_tells_nothing_of_hidden_rows_or_formulas():
    """docs/workarounds.md (python-calamine): while this holds, ``excel._scan_sheet`` is needed."""
    exposed = {n for n in dir(excel.calamine.CalamineSheet) if "hidden" in n or "formula" in n or "dimension" in n}
    assert not exposed, f"calamine now has {exposed}: replace excel._scan_sheet with it"
