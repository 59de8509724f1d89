"""The file as a whole (README, CSV rules): sources, size, encoding, delimiter, header, refusals, row numbers."""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import pytest

from inventory_panel.errors import ImportRefusedError
from inventory_panel.importing.reading import CsvFile, column_letter, detect_delimiter, normalize_header

HEADER = "item_name,category,quantity,unit_price"


def opened(source, **kw) -> CsvFile:
    csv_file = CsvFile(source, **kw)
    csv_file.close()
    return csv_file


def records(source, **kw) -> list[tuple[int, list[str]]]:
    """(row number, cells) of every data record, as the importer numbers them."""
    with CsvFile(source, **kw) as csv_file:
        return [(chunk.first_row + i, r) for chunk in csv_file.chunks() for i, r in enumerate(chunk.records)]


def refused(source, **kw) -> str:
    with pytest.raises(ImportRefusedError) as caught:
        opened(source, **kw)
    return str(caught.value)


# -- sources ---------------------------------------------------------------------------------------------------


def test_path_bytes_text_and_file_objects_read_the_same(tmp_path: Path):
    text = f"{HEADER}\nDrill,Tools,3,9.99\n"
    path = tmp_path / "items.csv"
    path.write_text(text, encoding="utf-8")
    expected = [(2, ["Drill", "Tools", "3", "9.99"])]
    assert records(path) == expected
    assert records(str(path)) == expected
    assert records(text.encode()) == expected
    assert records(text) == expected
    assert records(io.BytesIO(text.encode())) == expected
    assert records(io.StringIO(text)) == expected
    with path.open("rb") as fh:
        assert records(fh) == expected
        assert not fh.closed, "a caller's file object stays open"


def test_file_name_comes_from_the_path_or_the_caller(tmp_path: Path):
    path = tmp_path / "stock.csv"
    path.write_text(f"{HEADER}\nA,B,1,1\n")
    assert opened(path).file_name == "stock.csv"
    with path.open("rb") as fh:
        assert opened(fh).file_name == "stock.csv"
    assert opened(path.read_bytes(), file_name="upload.csv").file_name == "upload.csv"
    assert opened(path.read_bytes()).file_name is None


def test_non_seekable_stream_is_copied_and_read(tmp_path: Path):
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes):
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer) -> int:
            return self._data.readinto(buffer)

    stream = io.BufferedReader(Pipe(f"{HEADER}\nA,B,1,1\n".encode()))
    assert records(stream) == [(2, ["A", "B", "1", "1"])]


def test_missing_path_is_refused(tmp_path: Path):
    assert "File not found" in refused(tmp_path / "nope.csv")
    assert "folder" in refused(tmp_path)


def test_a_single_line_str_without_delimiter_that_is_no_file_is_a_missing_path():
    assert "File not found" in refused("no-such-file.csv")


# -- size ------------------------------------------------------------------------------------------------------


def test_upload_limit_refuses_larger_input_before_reading_it():
    data = (f"{HEADER}\n" + "A,B,1,1\n" * 2000).encode()
    message = refused(data, max_bytes=1024)
    assert "limited to" in message and "CLI" in message
    assert opened(data, max_bytes=len(data)).size == len(data)


def test_upload_limit_applies_to_text_streams_too():
    text = f"{HEADER}\n" + "A,B,1,1\n" * 2000
    assert "limited to" in refused(io.StringIO(text), max_bytes=1024)


# -- encoding --------------------------------------------------------------------------------------------------


def test_utf8_bom_is_not_part_of_the_first_column_name():
    data = codecs.BOM_UTF8 + f"{HEADER}\nCafé,Bar,1,1\n".encode()
    csv_file = opened(data)
    assert csv_file.header.names[0] == "item_name"
    assert csv_file.warnings == []
    assert records(data) == [(2, ["Café", "Bar", "1", "1"])]


def test_bom_in_browser_text_is_removed():
    assert opened(f"\ufeff{HEADER}\nA,B,1,1\n").header.names[0] == "item_name"


def test_not_utf8_is_read_as_cp1252_with_a_warning():
    data = f"{HEADER}\nCafé crème,Bar,1,1\n".encode("cp1252")
    csv_file = opened(data)
    assert csv_file.encoding == "cp1252"
    assert "Windows-1252" in csv_file.warnings[0]
    assert records(data) == [(2, ["Café crème", "Bar", "1", "1"])]


def test_neither_utf8_nor_cp1252_is_refused():
    data = f"{HEADER}\n".encode() + b"A\x81\xff,B,1,1\n"
    assert "neither UTF-8 nor Windows-1252" in refused(data)


# -- hostile and empty input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty"),
        (codecs.BOM_UTF8, "empty"),
        (b"\n\n  \n", "empty"),
        (b"\n,,\n;;\n", "only blank lines"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "PNG image"),
        (b"PK\x03\x04\x14\x00\x06\x00", "ZIP archive (not an Excel"),  # a workbook is told apart before (excel.py)
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "Excel 97-2003"),
        (b"%PDF-1.7\n", "PDF"),
        ("item_name,category\n".encode("utf-16"), "UTF-16"),
        (f"{HEADER}\nA\x00,B,1,1\n".encode(), "NUL bytes"),
    ],
)
def test_files_that_are_not_csv_text_are_refused(data: bytes, words: str):
    assert words in refused(data)


def test_first_line_over_a_megabyte_is_refused():
    assert "longer than 1 MB" in refused(b"x" * (1 << 20) + b"\n" + b"A,B,1,1\n")


def test_ten_thousand_columns_are_refused():
    header = HEADER + "," + ",".join(f"c{i}" for i in range(10_000))
    assert "10004 columns" in refused(header + "\n")


def test_unclosed_quote_running_past_the_cell_limit_is_refused_with_the_line():
    data = f'{HEADER}\nA,B,1,1\nC,"D,2,2\n' + "x" * 200_000 + "\n"
    with pytest.raises(ImportRefusedError, match=r"Line \d+: a cell is longer than .* never closed"):
        records(data)


# -- delimiter -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_detected(delimiter: str):
    text = delimiter.join(["item_name", "category", "quantity", "unit_price", "description"]) + "\n"
    text += delimiter.join(["Drill", "Tools", "3", "9,99" if delimiter != "," else "9.99", '"a; b, c"']) + "\n"
    csv_file = opened(text)
    assert csv_file.delimiter == delimiter
    assert records(text)[0][1][4] == "a; b, c"


def test_delimiter_with_most_known_names_wins_over_one_that_splits_more():
    assert detect_delimiter("item_name;category;quantity;unit_price;notes, remarks, more, cells") == ";"


def test_quoted_cells_hold_delimiters_quotes_and_newlines():
    text = f'{HEADER},description\n"Drill, cordless",Tools,3,9.99,"line 1\nline 2 ""quoted"""\n'
    assert records(text) == [(2, ["Drill, cordless", "Tools", "3", "9.99", 'line 1\nline 2 "quoted"'])]


# -- header ----------------------------------------------------------------------------------------------------


def test_headers_are_trimmed_lowercased_and_underscored():
    assert normalize_header("  Item Name ") == "item_name"
    assert normalize_header("Unit-Price") == "unit_price"
    assert normalize_header("MINIMUM STOCK") == "minimum_stock"
    csv_file = opened(" Item Name ,CATEGORY,Quantity,Unit-Price,Minimum Stock\nA,B,1,1,2\n")
    assert set(csv_file.header.positions) == {"item_name", "category", "quantity", "unit_price", "minimum_stock"}


def test_missing_required_columns_refuse_the_file_and_name_them():
    message = refused("item_name,category,description\nA,B,C\n")
    assert "quantity" in message and "unit_price" in message and "Missing required columns" in message


def test_a_file_without_any_known_column_is_told_to_start_with_a_header():
    assert "No header row found" in refused("Drill,Tools,3,9.99\n")


def test_duplicated_column_refuses_the_file_naming_both_columns():
    message = refused("item_name,category,quantity,unit_price,Item Name\nA,B,1,1,A\n")
    assert "item_name appears twice" in message and "columns A and E" in message


def test_unknown_columns_are_listed_and_blank_header_cells_ignored():
    csv_file = opened(f"{HEADER},Colour,,notes,error\nA,B,1,1,red,,n,\n")
    assert csv_file.header.unknown == ["Colour", "notes"]


def test_upsert_needs_a_sku_column():
    assert "no sku column" in refused(f"{HEADER}\nA,B,1,1\n", mode="upsert")


def test_column_letters_are_spreadsheet_letters():
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]


# -- rows ------------------------------------------------------------------------------------------------------


def test_row_numbers_count_blank_lines_and_multiline_cells_once():
    text = f'\n{HEADER},description\nA,B,1,1,x\n\nC,D,2,2,"two\nlines"\nE,F,3,3,y\r\nG,H,4,4,z'
    with CsvFile(text) as csv_file:
        assert csv_file.header_row == 2
        got = [
            (chunk.first_row + i, r[0] if r else None)
            for chunk in csv_file.chunks()
            for i, r in enumerate(chunk.records)
        ]
    assert got == [(3, "A"), (4, None), (5, "C"), (6, "E"), (7, "G")]


def test_large_files_come_in_bounded_chunks():
    text = HEADER + "\n" + "Drill,Tools,3,9.99\n" * 25_000
    with CsvFile(text) as csv_file:
        sizes = [len(chunk.records) for chunk in csv_file.chunks()]
        assert csv_file.fraction == 1.0
    assert sum(sizes) == 25_000
    assert sizes[0] == 1_000 and max(sizes) <= 10_000 and len(sizes) >= 3
