"""Exports to Excel (xlsx) and Parquet, and ``to_frame``: typed values, formula-like text kept as text, the same
values as the database (checked through LibreOffice), filters, limits, permissions and bounded memory."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from inventory_panel.auth import User
from inventory_panel.errors import InvalidArgumentError, PermissionDeniedError
from inventory_panel.fields import FIELD_NAMES, MAX_INT, MAX_PRICE

ROOT = Path(__file__).resolve().parents[2]
LONG = "Lorem ipsum dolor sit amet, " * 71 + "end."  # 1,992 characters, near description's 2,000
TRICKY = [
    {
        "item_name": "=1+1",
        "category": "Formulas",
        "quantity": 0,
        "unit_price": "9999999999.99",
        "sku": "F-1",
        "description": '=HYPERLINK("http://evil.example","x")',
        "supplier": "+1",
        "location": "-2+3",
    },
    {
        "item_name": "@SUM(A1)",
        "category": "Formulas",
        "quantity": MAX_INT,
        "unit_price": "0",
        "minimum_stock": 0,
        "sku": "F-2",
        "description": "'=1+1",
    },
    {
        "item_name": "Café ☕ 日本語 Ünïcödé",
        "category": "Ünicode",
        "quantity": 7,
        "unit_price": "0.01",
        "minimum_stock": 10,
        "sku": "U-1",
        "description": LONG,
        "supplier": "Zoë & Søren",
        "location": "Ålesund",
    },
    {
        "item_name": "Two\nlines",
        "category": "Text",
        "quantity": 12,
        "unit_price": "1234567.89",
        "sku": "T-1",
        "description": 'quote " and, comma',
    },
    {
        "item_name": "00123",
        "category": "Text",
        "quantity": 1,
        "unit_price": "12.30",
        "sku": "000123",
        "description": "1e5",
    },
]


def _add_tricky(inv):
    for values in TRICKY:
        inv.add(values)


def _database_rows(inv) -> dict[str, dict]:
    """The items as stored, by SKU (Decimal prices, ints, None for empty)."""
    with inv.db.engine.connect() as conn:
        rows = conn.execute(sa.select(*(inv.t.items.c[n] for n in FIELD_NAMES))).all()
    return {r.sku: dict(r._mapping) for r in rows}


@pytest.fixture(scope="module")
def soffice() -> str:
    path = shutil.which("soffice")
    if path is None:  # `make test` installs it (Makefile target soffice); never a silent skip
        pytest.fail("LibreOffice is missing: run `make soffice` (Debian's libreoffice-calc-nogui)")
    return path


def _to_csv_with_libreoffice(soffice: str, xlsx: Path, tmp_path: Path) -> list[list[str]]:
    """The first sheet as LibreOffice shows it (cells formatted as displayed), through its CSV export filter."""
    out = tmp_path / "lo"
    # 44 comma, 34 quote, 76 UTF-8, from line 1, ..., token 9 true: save cell contents as shown
    subprocess.run(
        [
            soffice,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false",
            "--outdir",
            str(out),
            str(xlsx),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    with (out / (xlsx.stem + ".csv")).open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_xlsx_export_opens_in_libreoffice_with_the_same_values(inv, soffice, tmp_path):
    _add_tricky(inv)
    target = tmp_path / "items.xlsx"
    assert inv.export_xlsx(target, sort_by="sku") == len(TRICKY)
    rows = _to_csv_with_libreoffice(soffice, target, tmp_path)
    assert rows[0] == list(FIELD_NAMES)
    assert len(rows) == len(TRICKY) + 1
    stored = _database_rows(inv)
    assert [r[FIELD_NAMES.index("sku")] for r in rows[1:]] == sorted(stored)
    for cells in rows[1:]:
        shown = dict(zip(FIELD_NAMES, cells, strict=True))
        item = stored[shown["sku"]]
        for name in FIELD_NAMES:
            value = item[name]
            if name == "unit_price":  # shown with the money format: thousands separators, always two decimals
                assert re.fullmatch(r"\d{1,3}(,\d{3})*\.\d\d", shown[name]), shown[name]
                assert Decimal(shown[name].replace(",", "")) == value, (shown["sku"], shown[name])
            elif name in ("quantity", "minimum_stock"):
                assert shown[name] == ("" if value is None else str(value)), (shown["sku"], name)
            else:  # text exactly, formula-like text included (a formula would show its result: 2 for =1+1)
                assert shown[name] == ("" if value is None else value), (shown["sku"], name)
    by_sku = {r[FIELD_NAMES.index("sku")]: r for r in rows[1:]}
    assert by_sku["F-1"][0] == "=1+1" and by_sku["F-1"][3] == "9,999,999,999.99"
    assert by_sku["F-2"][3] == "0.00" and by_sku["F-2"][2] == str(MAX_INT)


def _sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return zf.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_xlsx_cells_are_typed_and_formula_text_is_never_a_formula(inv, tmp_path):
    _add_tricky(inv)
    target = tmp_path / "items.xlsx"
    inv.export_xlsx(target, sort_by="sku")
    sheet = _sheet_xml(target)
    assert "<f>" not in sheet and "<f " not in sheet  # no formula anywhere: =1+1 is a text cell
    # Row 3 is F-1 (sorted by sku): A3 "=1+1" an inline string (with the quote-prefix style), C3 the number 0, D3
    # the largest price as a number; row 2 keeps "00123" and "1e5" as text.
    assert re.search(r'<c r="A3" s="\d+" t="inlineStr"><is><t>=1\+1</t></is></c>', sheet), sheet[:2000]
    assert '<c r="A2" t="inlineStr"><is><t>00123</t></is></c>' in sheet
    assert re.search(r'<c r="C3"><v>0</v></c>', sheet)
    price = re.search(r'<c r="D3" s="(\d+)"[^>]*><v>([^<]+)</v></c>', sheet)
    assert price and Decimal(price.group(2)) == MAX_PRICE
    assert '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' in sheet
    assert f'<autoFilter ref="A1:I{len(TRICKY) + 1}"/>' in sheet
    cols = re.findall(r'<col min="(\d+)" max="(\d+)" width="([\d.]+)"', sheet)  # equal neighbours are merged
    widths = [float(w) for lo, hi, w in cols for _ in range(int(lo), int(hi) + 1)]
    assert len(widths) == len(FIELD_NAMES) and all(10 < w < 60 for w in widths)
    assert widths[FIELD_NAMES.index("description")] > widths[FIELD_NAMES.index("item_name")] > widths[2]
    with zipfile.ZipFile(target) as zf:
        styles = zf.read("xl/styles.xml").decode("utf-8")
    assert 'formatCode="#,##0.00"' in styles


def test_xlsx_money_survives_the_float_to_the_cent_at_the_largest_price(inv, tmp_path):
    inv.add({"item_name": "Max", "category": "C", "quantity": 1, "unit_price": str(MAX_PRICE)})
    target = tmp_path / "max.xlsx"
    inv.export_xlsx(target)
    value = re.search(r'<c r="D2" s="\d+"[^>]*><v>([^<]+)</v></c>', _sheet_xml(target)).group(1)
    assert Decimal(value) == MAX_PRICE  # 9999999999.99 exactly, as Excel and LibreOffice read it back


@given(st.integers(min_value=0, max_value=int(MAX_PRICE * 100)))
def test_every_numeric_12_2_value_round_trips_through_a_double(cents):
    # The rule exporting/xlsx.py relies on: at most 12 significant digits, and a double keeps 15.
    price = Decimal(cents).scaleb(-2)
    assert Decimal(repr(float(price))) == price  # the shortest decimal of the double is the price itself


def test_xlsx_export_applies_the_filters_and_writes_to_a_buffer(inv):
    import io

    from python_calamine import CalamineWorkbook

    inv.add({"item_name": "Chair", "category": "Furniture", "quantity": 0, "unit_price": "10.50", "minimum_stock": 2})
    inv.add({"item_name": "Desk", "category": "Furniture", "quantity": 9, "unit_price": "99.00"})
    buffer = io.BytesIO()
    assert inv.export_xlsx(buffer, status="out") == 1
    rows = CalamineWorkbook.from_filelike(io.BytesIO(buffer.getvalue())).get_sheet_by_index(0).to_python()
    assert rows == [list(FIELD_NAMES), ["Chair", "Furniture", 0, 10.5, "", "", "", 2, ""]]


def test_a_failed_xlsx_export_leaves_no_file_and_no_temporary_files(inv, tmp_path, monkeypatch):
    import tempfile

    from inventory_panel.exporting import xlsx

    for i in range(3):
        inv.add({"item_name": f"I{i}", "category": "C", "quantity": 1, "unit_price": "1"})
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)  # a sheet of 2 items: the third one does not fit
    target = tmp_path / "out.xlsx"
    with pytest.raises(xlsx.ExportTooLargeError, match="at most 2 items"):
        inv.export_xlsx(target)
    assert not target.exists()
    assert list(scratch.iterdir()) == []  # XlsxWriter's row file went with our temporary folder


def test_xlsxwriter_still_leaves_its_row_file_when_a_workbook_is_not_closed(tmp_path):
    """When this fails, XlsxWriter cleans up after itself and exporting/xlsx.py need not give it a folder of its
    own to remove (docs/workarounds.md)."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"), {"constant_memory": True, "tmpdir": str(tmp_path)})
    workbook.add_worksheet().write_number(0, 0, 1)
    del workbook
    import gc

    gc.collect()
    assert [p.name for p in tmp_path.iterdir() if p.name != "x.xlsx"], "XlsxWriter now removes its row file"


def test_parquet_export_is_typed_and_exact(inv, tmp_path):
    _add_tricky(inv)
    target = tmp_path / "items.parquet"
    assert inv.export(target, sort_by="sku") == len(TRICKY)  # format from the extension
    table = pq.read_table(target)
    schema = table.schema
    assert schema.field("unit_price").type == pa.decimal128(12, 2)
    assert schema.field("quantity").type == pa.int64() and schema.field("id").type == pa.int64()
    assert schema.field("item_name").type == pa.string()
    assert schema.field("created_at").type == pa.timestamp("us", tz="UTC")
    assert not schema.field("item_name").nullable and schema.field("minimum_stock").nullable
    stored = _database_rows(inv)
    for row in table.to_pylist():
        for name in FIELD_NAMES:
            assert row[name] == stored[row["sku"]][name], (row["sku"], name)
        assert row["created_at"].utcoffset().total_seconds() == 0
    assert pq.ParquetFile(target).metadata.num_rows == len(TRICKY)


def test_parquet_is_written_in_batches(inv, tmp_path, monkeypatch):
    from inventory_panel.service import exports

    for i in range(7):
        inv.add({"item_name": f"I{i}", "category": "C", "quantity": i, "unit_price": "1.25"})
    monkeypatch.setattr(exports, "STREAM_BATCH", 3)
    target = tmp_path / "b.parquet"
    assert inv.export_parquet(target, category="C") == 7
    assert pq.ParquetFile(target).metadata.num_row_groups == 3  # 3 + 3 + 1 rows, one row group per batch


def test_to_frame_returns_the_filtered_items_exactly(inv):
    _add_tricky(inv)
    frame = inv.to_frame(category="Formulas", sort_by="sku")
    assert list(frame.columns) == list(inv.query().rows.columns)
    assert list(frame["sku"]) == ["F-1", "F-2"]
    assert frame["unit_price"].dtype == object
    assert list(frame["unit_price"]) == [MAX_PRICE, Decimal("0.00")]
    assert all(isinstance(v, Decimal) for v in frame["unit_price"])
    assert str(frame["quantity"].dtype) == "int64" and str(frame["minimum_stock"].dtype) == "Int64"
    assert frame["minimum_stock"].isna().tolist() == [True, False]
    assert str(frame["created_at"].dtype) == "datetime64[us, UTC]"
    page = inv.query(category="Formulas", sort_by="sku").rows
    for name in FIELD_NAMES:
        assert [None if v is None or v != v else v for v in page[name]] == [
            None if v is None or v is __import__("pandas").NA or v != v else v for v in frame[name]
        ], name


def test_to_frame_as_arrow_and_the_limit_reads_no_more_than_asked(inv):
    _add_tricky(inv)
    statements: list[str] = []
    sa.event.listen(
        inv.db.engine,
        "before_cursor_execute",
        lambda conn, cursor, stmt, params, context, many: statements.append(stmt),
    )
    table = inv.to_frame(limit=2, sort_by="sku", as_arrow=True)
    assert isinstance(table, pa.Table) and table.num_rows == 2
    assert table.column("sku").to_pylist() == ["000123", "F-1"]
    assert table.schema.field("unit_price").type == pa.decimal128(12, 2)
    selects = [s for s in statements if "FROM" in s.upper() and "inventory_items" in s]
    assert selects and all("LIMIT" in s.upper() for s in selects)  # the database stops, not Python
    assert inv.to_frame(limit=0).empty and len(inv.to_frame(status="out")) == 1
    with pytest.raises(InvalidArgumentError):
        inv.to_frame(limit=-1)


def test_exports_and_to_frame_need_the_export_permission(inv, tmp_path):
    nobody = inv.as_user(User("guest@example.com", "guest"))
    for call in (
        lambda: nobody.to_frame(),
        lambda: nobody.export_xlsx(tmp_path / "x.xlsx"),
        lambda: nobody.export_parquet(tmp_path / "x.parquet"),
        lambda: nobody.export(tmp_path / "x.csv"),
    ):
        with pytest.raises(PermissionDeniedError, match="export items"):
            call()
    assert not list(tmp_path.glob("x.*"))


def test_export_refuses_an_unknown_format(inv, tmp_path):
    with pytest.raises(InvalidArgumentError, match="format"):
        inv.export(tmp_path / "x.xlsx", format="xls")


def _probe(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "tests.support.export_probe", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else {}


# Measured (peak minus baseline, 100,000 items, SQLite): xlsx +9 MB, Parquet +33 MB. The whole sheet kept in memory
# (XlsxWriter without constant_memory) took +127 MB.
@pytest.mark.parametrize(("fmt", "bound_mb"), [("xlsx", 40), ("parquet", 80)])
def test_exporting_100_000_items_takes_bounded_memory(db_url, tmp_path, fmt, bound_mb):
    _probe("fill", db_url, "100000")
    figures = _probe("export", db_url, fmt, str(tmp_path / f"items.{fmt}"))
    print(fmt, figures)
    assert figures["rows"] == 100_000
    assert figures["peak_mb"] - figures["baseline_mb"] < bound_mb, figures


def test_xlsx_export_imports_back_unchanged(inv):
    import io

    _add_tricky(inv)
    before = _database_rows(inv)
    buffer = io.BytesIO()
    inv.export_xlsx(buffer)
    with inv.db.engine.begin() as conn:
        conn.execute(inv.t.items.delete())
    report = inv.import_file(buffer.getvalue())
    assert (report.inserted, report.skipped, report.warnings) == (len(TRICKY), 0, []), report.to_dict()
    # Every value comes back exactly, formula-like text and a stored "'=1+1" included: a workbook's cells are
    # typed text, so the import does not undo the CSV export's formula escape on them.
    assert _database_rows(inv) == before


def test_every_export_takes_the_filters_as_keywords_and_names_them_in_help(inv, tmp_path):
    """The exports share one filter type (``ItemFilters``); the keywords still filter and order, a misspelt one is a
    ``TypeError`` as with a plain signature, and each docstring names them for ``help()``."""
    _add_tricky(inv)
    filters = {"category": "Formulas", "sort_by": "sku", "descending": True}
    expected = list(inv.query(**filters).rows["sku"])
    assert list(inv.to_frame(**filters)["sku"]) == expected and len(expected) > 1
    assert inv.export_parquet(tmp_path / "x.parquet", **filters) == len(expected)
    assert pq.read_table(tmp_path / "x.parquet").column("sku").to_pylist() == expected
    for method in (inv.export_csv, inv.export_xlsx, inv.export_parquet, inv.export, inv.to_frame):
        with pytest.raises(TypeError, match="catgory"):
            method(tmp_path / "y.csv", catgory="Formulas") if method != inv.to_frame else method(catgory="x")
        assert "``filters``" in (method.__doc__ or "")
    assert not list(tmp_path.glob("y.*"))
