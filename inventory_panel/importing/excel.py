"""Spreadsheets as an import source: .xlsx (and .xls, .ods) through python-calamine, with the CSV's rules.

python-calamine binds calamine, a well-kept Rust reader of Excel and OpenDocument files: fast (a 100,000-row sheet
in well under a second, see docs/benchmarks.md) and no hand-written parser of ours. ``ExcelFile`` is a
``sources.TabularSource``: the header row goes through ``reading.parse_header`` and every cell becomes the text
the CSV rules read (``values.cell_text``), so validation, report, error file (CSV, comma-separated), write path
and audit are those of a CSV import.

What a workbook's features become (tests/integration/test_import_excel.py):
- the sheet: the first one in the workbook, or ``sheet=`` by name; unknown names are refused, listing the sheets.
- row numbers: the spreadsheet's. The header is the first non-blank row (its row number as shown); blank rows are
  skipped but keep their numbers.
- dates (cells with a date format) are ISO text: kept as text in a text column, rejected as not a number in a number
  column. A date typed in a cell without a date format is the serial number Excel stores (e.g. 45659).
- formulas: the value the spreadsheet saved with the file (its cached value) is imported. A formula saved without
  one (written by a program, never recalculated) reads as an empty cell, and a warning says how many there were.
- merged cells: the value is in the top-left cell; the other cells of the range are empty. A warning says the
  sheet has merged ranges.
- hidden rows are imported like visible ones (a hidden row is still data); a warning says how many were hidden.
  Hidden columns likewise are read. Hidden sheets count as sheets (the first sheet may be a hidden one).
- empty columns after the header's last named column are ignored; a value in such a column makes that row one
  with too many cells, as in a CSV.
- numbers: Excel stores every number as a float: 5.0 is 5, 12.5 is 12.50, 12.499999 is rejected (more than two
  decimals), -0 is 0, a huge number is out of range; numbers stored as text are read as in a CSV; TRUE/FALSE
  are rejected in number columns (``values.py`` has the full list).

Limits, each refused with one clear ``ImportRefusedError`` before a cell is read: the file's size (the app's
``max_bytes``), the number of sheets (``MAX_SHEETS``), the cells of the sheet from its ``<dimension>`` or, when a
file has none, its loaded size (``MAX_CELLS``), and zip bombs: the container's entries, their total uncompressed
size (``MAX_UNCOMPRESSED_BYTES``) and each large entry's compression ratio (``MAX_RATIO``), from ``zipfile``'s
``infolist`` before anything is decompressed. Memory: calamine holds the one sheet (bounded by ``MAX_CELLS``) and
its rows reach the pipeline in chunks of ``MAX_CHUNK_ROWS``.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from typing import IO, Any
from xml.etree import ElementTree

import python_calamine as calamine

from ..errors import ImportRefusedError
from ..fields import replace_surrogates
from ..words import count_of
from .reading import MAX_CHUNK_ROWS, Chunk, CsvFile, _binary_source, _stream_size, _too_large, is_blank, parse_header
from .values import cell_text

MAX_SHEETS = 200
MAX_CELLS = 5_000_000  # ~600,000 rows of 8 columns; calamine keeps ~50 bytes a cell while the sheet is read
MAX_ZIP_ENTRIES = 10_000
MAX_UNCOMPRESSED_BYTES = 1 << 30
MAX_RATIO = 200  # deflate on real sheets: 5-30x; a zip bomb: ~1000x
RATIO_FROM_BYTES = 1 << 20  # small entries can have any ratio: they cannot hurt
SCAN_BLOCK = 1 << 20
SCAN_OVERLAP = 4096

OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_SIGNATURE = b"PK\x03\x04"
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
DIMENSION = re.compile(rb'<dimension\s+ref="\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?"')
HIDDEN_ROW = re.compile(rb'<row\b[^>]{0,2000}?\bhidden="(?:1|true)"')
UNCACHED_FORMULA = re.compile(rb"</f></c>|<f\b[^>]{0,2000}?/></c>")
EXTENSIONS = (".xlsx", ".xlsm", ".xls", ".ods")


def workbook_format(stream: IO[bytes]) -> str | None:
    """ "xlsx", "xls" or "ods" when the bytes (from the current position) are such a workbook, else None.

    By content, not by name: a zip is a workbook only when it has the workbook parts; any other zip, and every
    other binary, is left to the CSV reader, which refuses it.
    """
    start = stream.tell()
    head = stream.read(8)
    stream.seek(start)
    if head == OLE_SIGNATURE:
        return "xls"
    if not head.startswith(ZIP_SIGNATURE):
        return None
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" in names:
                return "xlsx"
            if "mimetype" in names and "content.xml" in names:
                info = archive.getinfo("mimetype")
                if info.file_size < 200 and archive.read(info).strip() == ODS_MIMETYPE:
                    return "ods"
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None
    finally:
        stream.seek(start)
    return None


def _column_number(letters: bytes) -> int:
    number = 0
    for c in letters:
        number = number * 26 + c - 64
    return number


def _check_container(archive: zipfile.ZipFile) -> None:
    """Refuse a zip bomb from the entries' declared sizes, before anything is decompressed."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise ImportRefusedError(f"The workbook holds {len(infos):,} parts; at most {MAX_ZIP_ENTRIES:,} are accepted.")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > RATIO_FROM_BYTES and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise ImportRefusedError(
                f"The workbook looks like a zip bomb: its part {info.filename} unpacks from "
                f"{info.compress_size:,} to {info.file_size:,} bytes (more than {MAX_RATIO}x). Nothing was imported."
            )
    if total > MAX_UNCOMPRESSED_BYTES:
        raise ImportRefusedError(
            f"The workbook unpacks to {total / 1_048_576:,.0f} MB; at most {MAX_UNCOMPRESSED_BYTES // 1_048_576:,} MB "
            "are accepted. Split it, or save the sheet as CSV."
        )


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML part in an .xlsx, from xl/workbook.xml and its relationships."""
    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return {}
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{PKG_REL_NS}Relationship")}
    parts = {}
    for sheet in workbook.iter(f"{MAIN_NS}sheet"):
        target = targets.get(sheet.get(f"{REL_NS}id"), "")
        parts[sheet.get("name", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return parts


def _scan_sheet(archive: zipfile.ZipFile, part: str) -> tuple[int | None, int, int]:
    """(cells of the sheet's ``<dimension>`` or None, hidden rows, formulas without a cached value), in one
    streamed pass over the sheet's XML (its size was checked by ``_check_container``)."""
    cells = None
    hidden = uncached = 0
    tail = b""
    with archive.open(part) as xml:
        first = True
        while block := xml.read(SCAN_BLOCK):
            text = tail + block
            if first:
                found = DIMENSION.search(text)
                if found:
                    top, bottom = int(found[2]), int(found[4] or found[2])
                    left, right = _column_number(found[1]), _column_number(found[3] or found[1])
                    cells = (bottom - top + 1) * (right - left + 1)
                first = False
            # A match that ends inside the tail was counted with the previous block.
            hidden += sum(m.end() > len(tail) for m in HIDDEN_ROW.finditer(text))
            uncached += sum(m.end() > len(tail) for m in UNCACHED_FORMULA.finditer(text))
            tail = text[-SCAN_OVERLAP:]
    return cells, hidden, uncached


def open_file(
    source: Any,
    stack: ExitStack,
    *,
    mode: str = "append",
    max_bytes: int | None = None,
    file_name: str | None = None,
    sheet: str | None = None,
) -> CsvFile | ExcelFile:
    """The source opened as what its content is: a workbook (xlsx, xls, ods) or CSV text; ``stack`` closes it."""
    stream, name, _owned = _binary_source(source, max_bytes, stack)
    if workbook_format(stream) is not None:
        return stack.enter_context(
            ExcelFile(stream, mode=mode, max_bytes=max_bytes, file_name=file_name or name, sheet=sheet)
        )
    if sheet is not None:
        raise ImportRefusedError(f"sheet={sheet!r} was given, but this is a CSV file, not a workbook with sheets.")
    return stack.enter_context(CsvFile(stream, mode=mode, max_bytes=max_bytes, file_name=file_name or name))


class ExcelFile:
    """An opened, checked workbook sheet (a ``sources.TabularSource``); iterate :meth:`chunks` once."""

    kind = "Excel"
    formula_escaped = False
    delimiter = ","

    def __init__(
        self,
        source: Any,
        *,
        mode: str = "append",
        max_bytes: int | None = None,
        file_name: str | None = None,
        sheet: str | None = None,
        max_cells: int | None = None,
    ):
        self._stack = ExitStack()
        try:
            self._open(source, mode, max_bytes, file_name, sheet, max_cells)
        except BaseException:
            self._stack.close()
            raise

    def _open(
        self,
        source: Any,
        mode: str,
        max_bytes: int | None,
        file_name: str | None,
        sheet: str | None,
        max_cells: int | None,
    ) -> None:
        max_cells = MAX_CELLS if max_cells is None else max_cells
        stream, name, _owned = _binary_source(source, max_bytes, self._stack)
        self.file_name = replace_surrogates(str(file_name or name)) if file_name or name else None
        size = _stream_size(stream)
        if max_bytes is not None and size > max_bytes:
            raise _too_large(size, max_bytes)
        self.format = workbook_format(stream)
        if self.format is None:
            raise ImportRefusedError("This is not an Excel (.xlsx, .xls) or OpenDocument (.ods) workbook.")
        self.warnings: list[str] = []
        hidden = uncached = 0
        known_cells = None
        start = stream.tell()
        if self.format in ("xlsx", "ods"):
            try:
                archive = self._stack.enter_context(zipfile.ZipFile(stream))
            except zipfile.BadZipFile:
                raise ImportRefusedError("The workbook is damaged: its zip container cannot be read.") from None
            _check_container(archive)
        try:
            stream.seek(start)
            workbook = self._stack.enter_context(calamine.CalamineWorkbook.from_filelike(stream))
        except calamine.PasswordError:
            raise ImportRefusedError("The workbook is password-protected; save it without a password.") from None
        except (calamine.CalamineError, ValueError, OSError) as exc:
            raise ImportRefusedError(f"The workbook cannot be read ({str(exc)[:200]}).") from None
        names = workbook.sheet_names
        if len(names) > MAX_SHEETS:
            raise ImportRefusedError(f"The workbook has {len(names):,} sheets; at most {MAX_SHEETS} are accepted.")
        if not names:
            raise ImportRefusedError("The workbook has no sheets.")
        if sheet is None:
            sheet = names[0]
        elif sheet not in names:
            raise ImportRefusedError(
                f"The workbook has no sheet named {sheet!r}; its sheets are: {', '.join(repr(n) for n in names[:20])}."
            )
        self.sheet = sheet
        if self.format == "xlsx":
            part = _sheet_parts(archive).get(sheet)
            if part in archive.namelist():
                known_cells, hidden, uncached = _scan_sheet(archive, part)
        if known_cells is not None and known_cells > max_cells:
            raise self._too_many_cells(known_cells, max_cells)
        try:
            data = workbook.get_sheet_by_name(sheet)
        except calamine.CalamineError as exc:
            raise ImportRefusedError(f"The sheet {sheet!r} cannot be read ({str(exc)[:200]}).") from None
        if data.height * data.width > max_cells:  # files without a <dimension>: refused before any cell is converted
            raise self._too_many_cells(data.height * data.width, max_cells)
        self._height = data.end[0] + 1 if data.end else 1
        merged = data.merged_cell_ranges or []
        if merged:
            self.warnings.append(
                f"The sheet has {count_of(len(merged), 'merged cell range')}: a merged cell's value "
                "is read from its top-left cell; the other cells of the range are empty."
            )
        if hidden:
            self.warnings.append(f"Hidden rows were imported like the visible ones ({count_of(hidden, 'hidden row')}).")
        if uncached:
            self.warnings.append(
                "Formulas without a saved value were read as empty cells "
                f"({count_of(uncached, 'formula')}; "
                "the file was written by a program and never recalculated in a spreadsheet)."
            )
        # iter_rows starts at the sheet's first row (row 1), so positions are the spreadsheet's row numbers.
        self._rows = data.iter_rows()
        self.next_row = 1
        header = self._read_header()
        self.header_row = self.next_row - 1
        self.header = parse_header(header, mode)

    def _too_many_cells(self, cells: int, max_cells: int) -> ImportRefusedError:
        return ImportRefusedError(
            f"The sheet {self.sheet!r} has {cells:,} cells; at most {max_cells:,} are accepted. Split it, or save it "
            "as CSV and import that with the CLI or the Python API."
        )

    def _read_header(self) -> list[str]:
        for row in self._rows:
            self.next_row += 1
            cells = _trimmed(list(map(cell_text, row)))
            if not is_blank(cells):
                return cells
        raise ImportRefusedError(
            f"The sheet {self.sheet!r} is empty."
            if self.next_row == 1
            else f"The sheet {self.sheet!r} has no header row: it contains only blank rows."
        )

    def chunks(self) -> Iterator[Chunk]:
        width = self.header.width
        while True:
            first = self.next_row
            records = []
            for row in self._rows:
                cells = list(map(cell_text, row))
                # Empty columns after the header's width are ignored; a value there is a row with too many cells.
                records.append(cells[:width] if len(cells) <= width or is_blank(cells[width:]) else _trimmed(cells))
                if len(records) >= MAX_CHUNK_ROWS:
                    break
            if not records:
                return
            self.next_row += len(records)
            yield Chunk(records, first)

    @property
    def fraction(self) -> float:
        return min(1.0, (self.next_row - 1) / self._height)

    def close(self) -> None:
        self._rows = iter(())
        self._stack.close()

    def __enter__(self) -> ExcelFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _trimmed(cells: list[str]) -> list[str]:
    """``cells`` without its trailing empty cells (a sheet's used range is wider than its data)."""
    end = len(cells)
    while end and not cells[end - 1].strip():
        end -= 1
    return cells[:end]
