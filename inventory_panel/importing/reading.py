"""Opening a CSV upload: what the source is, its size, encoding, delimiter and header; then records in chunks.

Everything that makes the *file as a whole* unusable is found here, before a row is written, and raised as
``ImportRefusedError`` with a message a person can act on: too large, empty, binary (NUL bytes, a known image or
archive signature), neither UTF-8 nor Windows-1252, no recognisable header, missing or duplicated columns.

The source is read twice when it is a file: a fast byte pass (NUL bytes, UTF-8 validity) and then the CSV parse.
Non-seekable streams are copied to a temporary file first, so memory stays bounded whatever the size. The parse
keeps memory bounded too: a physical line longer than ``MAX_LINE_CHARS`` refuses the file before it is split into
cells, a row with many more cells than the header is cut as it is read (``WideRecord`` keeps what the report
needs: the cell count and the first extra cells), and a chunk ends after about ``CHUNK_BYTES`` characters.

Row numbers are the ones a spreadsheet shows: every CSV record is one row, blank lines included (they are shown as
empty rows), and a quoted cell spanning several lines is still one row. The header is the first non-blank record
(row 1 when the file does not start with blank lines).

Over 400 lines because every way a file as a whole can be unusable is checked here, before the first row,
with its own message; the checks share the one byte pass and parse.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import ImportRefusedError
from ..fields import FIELD_BY_NAME, FIELD_NAMES, REQUIRED_FIELDS, replace_surrogates
from ..words import plural
from .report import ERROR_COLUMN

MAX_COLUMNS = 1000
BLOCK_BYTES = 1 << 20
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}
# Chunks hold about this much input (in characters), so memory stays bounded even when rows are very wide.
CHUNK_BYTES = 4 << 20
# A physical line this long is not a spreadsheet row: split into cells it could take ~20x its size in memory.
MAX_LINE_CHARS = 1 << 20
# Cells past the header's width kept of a row that has too many: enough to show and fix the row, and a row of
# thousands of extra cells costs no more than a normal one.
KEPT_EXTRA_CELLS = 20
MAX_CHUNK_ROWS = 10_000
FIRST_CHUNK_ROWS = 1_000

SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe", "UTF-16 text (save it as 'CSV UTF-8' instead)"),
    (b"\xfe\xff", "UTF-16 text (save it as 'CSV UTF-8' instead)"),
    (b"PK\x03\x04", "a ZIP archive (not an Excel or OpenDocument workbook)"),
    (b"PK\x05\x06", "a ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
)
LINE_BREAK = re.compile(r"\r\n|\r|\n")
LINE_TEXT = re.compile(r"[^ \t,;\r\n]")  # a character that makes a line more than a blank line


def normalize_header(cell: str) -> str:
    """ "Item Name" -> "item_name": trimmed, lower-cased, spaces and hyphens turned into underscores."""
    return cell.strip().lower().replace(" ", "_").replace("-", "_")


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: how a spreadsheet names a column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _columns_refusal(cells: list[str], positions: dict[str, int], missing: list[str], unknown: list[str]) -> str:
    """Why a header row was refused: the missing required columns and the ones not recognised, and what to do.

    A first row with no column of ours that holds a number (or a single cell) is data, not a header at all."""
    expected = f"The first row must name the columns ({', '.join(FIELD_NAMES)})"
    if not positions and (len([c for c in cells if c.strip()]) <= 1 or any(_is_number(c) for c in cells)):
        return f"No header row found: {expected[0].lower()}{expected[1:]}. Download the template to see the layout."
    head = f"Missing required {plural(len(missing), 'column')}: {', '.join(missing)}."
    if unknown:
        shown = [name if len(name) <= 40 else name[:40] + "…" for name in unknown[:10]]
        more = f" and {len(unknown) - 10:,} more" if len(unknown) > 10 else ""
        head += f" Not recognised: {', '.join(shown)}{more}."
    return f"{head} {expected}: rename the columns as the template names them and upload the file again."


def _is_number(cell: str) -> bool:
    try:
        float(cell.strip().replace(",", ""))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Header:
    """The header row: cells as in the file, their normalised names and where each item field is."""

    cells: list[str]
    names: list[str]
    positions: dict[str, int]
    unknown: list[str]
    unnamed: list[int]
    error_position: int | None

    @property
    def width(self) -> int:
        return len(self.cells)


def parse_header(cells: list[str], mode: str) -> Header:
    """Check the header row and locate the fields; refuse the file when columns are missing or duplicated."""
    if len(cells) > MAX_COLUMNS:
        raise ImportRefusedError(
            f"The header has {len(cells)} columns; at most {MAX_COLUMNS} are accepted. An inventory file needs "
            f"the columns {', '.join(FIELD_NAMES)}."
        )
    names = [normalize_header(c) for c in cells]
    first_seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if not name:
            continue
        if name in first_seen:
            raise ImportRefusedError(
                f"The column {name} appears twice (columns {column_letter(first_seen[name])} and "
                f"{column_letter(position)}); remove one of them and upload again."
            )
        first_seen[name] = position
    positions = {name: pos for name, pos in first_seen.items() if name in FIELD_BY_NAME}
    unknown = [
        cells[pos].strip()
        for pos, name in enumerate(names)
        if name and name not in FIELD_BY_NAME and name != ERROR_COLUMN
    ]
    missing = [f for f in REQUIRED_FIELDS if f not in positions]
    if missing:
        raise ImportRefusedError(_columns_refusal(cells, positions, missing, unknown))
    if mode == "upsert" and "sku" not in positions:
        raise ImportRefusedError(
            "Upsert matches rows to items by sku, but the file has no sku column. Add a sku column, "
            "or import with the append mode."
        )
    unnamed = [pos for pos, name in enumerate(names) if not name]
    return Header(cells, names, positions, unknown, unnamed, first_seen.get(ERROR_COLUMN))


class WideRecord(list[str]):
    """A record cut to the header's width plus ``KEPT_EXTRA_CELLS`` cells; ``cells`` is how many it really had."""

    __slots__ = ("cells",)

    def __init__(self, record: list[str], keep: int):
        super().__init__(record[:keep])
        self.cells = len(record)


def cell_count(record: list[str]) -> int:
    """How many cells the row had in the file (a ``WideRecord`` was cut while it was read)."""
    return record.cells if isinstance(record, WideRecord) else len(record)


@dataclass
class Chunk:
    """Consecutive CSV records; ``first_row`` is the spreadsheet row number of ``records[0]``."""

    records: list[list[str]]
    first_row: int


class _TextAsBytes(io.RawIOBase):
    """A text stream read as UTF-8 bytes (text file objects are copied through this into a temporary file)."""

    def __init__(self, text: IO[str]):
        self._text = text
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = self._text.read(BLOCK_BYTES // 4)
            if not chunk:
                return 0
            self._pending = chunk.encode("utf-8", "replace")
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _too_large(size: int, max_bytes: int) -> ImportRefusedError:
    return ImportRefusedError(
        f"The file is {size / 1_048_576:.1f} MB; uploads are limited to {max_bytes / 1_048_576:.0f} MB "
        "(INVENTORY_MAX_UPLOAD_MB). Import larger files with the inventory-panel CLI or the Python API."
    )


def _is_content(text: str) -> bool:
    """A str source is CSV content (what a browser upload gives) rather than a path when it has a line break,
    or when it names no existing file but contains a delimiter."""
    if not text or "\n" in text or "\r" in text:
        return True
    if Path(text).is_file():
        return False
    return any(d in text for d in DELIMITERS)


def _copy_to_temp(stream: IO[bytes], max_bytes: int | None, stack: ExitStack) -> IO[bytes]:
    spool = stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115 - closed by the stack
    total = 0
    while block := stream.read(BLOCK_BYTES):
        total += len(block)
        if max_bytes is not None and total > max_bytes:
            raise _too_large(total, max_bytes)
        spool.write(block)
    spool.seek(0)
    return spool


def _binary_source(source: Any, max_bytes: int | None, stack: ExitStack) -> tuple[IO[bytes], str | None, bool]:
    """A seekable binary stream positioned at the data, the file's base name if any, and whether we own it."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), None, True
    if isinstance(source, str) and _is_content(source):
        return io.BytesIO(source.encode("utf-8", "replace")), None, True
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            return stack.enter_context(path.open("rb")), path.name, True
        except FileNotFoundError:
            raise ImportRefusedError(f"File not found: {source}") from None
        except IsADirectoryError:
            raise ImportRefusedError(f"{source} is a folder, not a CSV file.") from None
        except PermissionError:
            raise ImportRefusedError(f"No permission to read {source}.") from None
    if hasattr(source, "read"):
        name = getattr(source, "name", None)
        name = Path(name).name if isinstance(name, str) else None
        if isinstance(source.read(0), str):
            return _copy_to_temp(io.BufferedReader(_TextAsBytes(source)), max_bytes, stack), name, True
        if source.seekable():
            return source, name, False
        return _copy_to_temp(source, max_bytes, stack), name, True
    raise TypeError(f"cannot import from {type(source).__name__}; give a path, bytes, str or a file object")


def _stream_size(stream: IO[bytes]) -> int:
    start = stream.tell()
    end = stream.seek(0, io.SEEK_END)
    stream.seek(start)
    return end - start


def _check_bytes(stream: IO[bytes], start: int) -> tuple[str, int, list[str]]:
    """One pass over the bytes: refuse binaries, choose the encoding. Returns (encoding, data offset, warnings)."""
    stream.seek(start)
    head = stream.read(BLOCK_BYTES)
    for signature, what in SIGNATURES:
        if head.startswith(signature):
            raise ImportRefusedError(f"This is not a CSV file: it looks like {what}.")
    skip = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    decoder = codecs.getincrementaldecoder("utf-8")()
    block, offset, utf8_error = head[skip:], skip, None
    while block:
        if b"\x00" in block:
            raise ImportRefusedError(
                "The file contains NUL bytes, so it is not CSV text (is it a spreadsheet, an image or UTF-16 "
                "text?). Save it as 'CSV UTF-8' and upload that."
            )
        if utf8_error is None:
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                utf8_error = offset + exc.start
        offset += len(block)
        block = stream.read(BLOCK_BYTES)
    if utf8_error is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_error = offset
    if utf8_error is None:
        return "utf-8", start + skip, []
    stream.seek(start + skip)
    while block := stream.read(BLOCK_BYTES):
        try:
            block.decode("cp1252")
        except UnicodeDecodeError:
            raise ImportRefusedError(
                "The file is neither UTF-8 nor Windows-1252 text. Save it as 'CSV UTF-8' and upload that."
            ) from None
    return (
        "cp1252",
        start + skip,
        [
            f"The file is not valid UTF-8 (first bad byte at position {utf8_error}), so it was read as Windows-1252 "
            "(cp1252). Check accented characters, or save the file as 'CSV UTF-8'."
        ],
    )


def _first_line(stream: IO[bytes], start: int, encoding: str) -> str:
    """The first non-blank line (the header), whatever number of blank lines comes before it; one block and the
    line being read are held at a time."""
    stream.seek(start)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    pending, printable = "", False
    while True:
        block = stream.read(BLOCK_BYTES)
        text = pending + decoder.decode(block, final=not block)
        printable = printable or bool(text.strip())
        found = LINE_TEXT.search(text)
        if found is None:  # blank lines only: keep the last one, which the next block may continue
            pending = text[max(text.rfind("\n"), text.rfind("\r")) + 1 :]
        else:
            begin = max(text.rfind("\n", 0, found.start()), text.rfind("\r", 0, found.start())) + 1
            end = LINE_BREAK.search(text, found.start())
            if end is not None or not block:
                return text[begin : end.start() if end else len(text)]
            pending = text[begin:]
        if not block:
            raise ImportRefusedError(
                "The file has no header row: it contains only blank lines." if printable else "The file is empty."
            )
        if len(pending) >= BLOCK_BYTES:
            raise ImportRefusedError(
                "The first line is longer than 1 MB, so this does not look like a CSV file with a header row."
            )


def detect_delimiter(line: str) -> str:
    """The delimiter (comma, semicolon or tab) that splits ``line`` into the most known column names."""

    def score(delimiter: str) -> tuple[int, int, int]:
        try:
            cells = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error:
            cells = []
        known = sum(normalize_header(c) in FIELD_BY_NAME for c in cells)
        return known, len(cells), -DELIMITERS.index(delimiter)

    return max(DELIMITERS, key=score)


def is_blank(record: list[str]) -> bool:
    return not any(cell.strip() for cell in record)


class CsvFile:
    """An opened, checked CSV source (a ``sources.TabularSource``). Iterate :meth:`chunks` once; :meth:`close`
    releases what it opened."""

    kind = "CSV"
    formula_escaped = True

    def __init__(
        self, source: Any, *, mode: str = "append", max_bytes: int | None = None, file_name: str | None = None
    ):
        self._stack = ExitStack()
        try:
            self._open(source, mode, max_bytes, file_name)
        except BaseException:
            self._stack.close()
            raise

    def _open(self, source: Any, mode: str, max_bytes: int | None, file_name: str | None) -> None:
        stream, name, owned = _binary_source(source, max_bytes, self._stack)
        # Shown, audited and stored: bytes of the name that are not UTF-8 become U+FFFD instead of breaking those.
        self.file_name = replace_surrogates(str(file_name or name)) if file_name or name else None
        self._stream = stream
        self._start = stream.tell()
        self.size = _stream_size(stream)
        if max_bytes is not None and self.size > max_bytes:
            raise _too_large(self.size, max_bytes)
        if self.size == 0:
            raise ImportRefusedError("The file is empty.")
        self.encoding, data_start, self.warnings = _check_bytes(stream, self._start)
        self.delimiter = detect_delimiter(_first_line(stream, data_start, self.encoding))
        stream.seek(data_start)
        self._text = io.TextIOWrapper(stream, encoding=self.encoding, newline="")
        # A caller's stream stays open: detach the wrapper from it instead of closing it.
        self._stack.callback(self._text.close if owned else self._text.detach)
        # strict: a quote that is never closed refuses the file instead of swallowing every later row into one cell.
        self._chars = 0  # characters handed to the parser so far
        self._reader = csv.reader(self._lines(), delimiter=self.delimiter, strict=True)
        self.next_row = 1
        header_cells = self._read_header()
        self.header = parse_header(header_cells, mode)
        self.header_row = self.next_row - 1

    def _lines(self) -> Iterator[str]:
        """The physical lines for the CSV parser, refusing one longer than ``MAX_LINE_CHARS`` before it is split."""
        readline = self._text.readline
        while line := readline(MAX_LINE_CHARS):
            if len(line) == MAX_LINE_CHARS and line[-1] not in "\r\n":
                raise ImportRefusedError(
                    f"Line {self._reader.line_num + 1} is longer than {MAX_LINE_CHARS:,} characters, so this is not a "
                    "CSV file a spreadsheet wrote (are the line breaks missing?). Nothing was imported."
                )
            self._chars += len(line)
            yield line

    def _read_header(self) -> list[str]:
        try:
            for record in self._reader:
                self.next_row += 1
                if not is_blank(record):
                    return record
        except csv.Error as exc:
            raise self._parse_error(exc) from None
        raise ImportRefusedError("The file has no header row: it contains only blank lines.")

    def _parse_error(self, exc: csv.Error) -> ImportRefusedError:
        line = self._reader.line_num
        if "field larger than field limit" in str(exc):
            return ImportRefusedError(
                f'Line {line}: a cell is longer than {csv.field_size_limit()} characters, or a quote (") opened '
                "there is never closed. Nothing was imported."
            )
        if "unexpected end of data" in str(exc):
            return ImportRefusedError(
                f'A quote (") opened in a cell is never closed: it runs to the end of the file (line {line}). '
                "Nothing was imported."
            )
        return ImportRefusedError(f"Line {line}: the file cannot be read as CSV ({exc}). Nothing was imported.")

    def _read(self, rows: int) -> list[list[str]]:
        """Up to ``rows`` records, fewer once about ``CHUNK_BYTES`` characters are read; wide rows cut as they come."""
        keep = self.header.width + KEPT_EXTRA_CELLS
        end = self._chars + CHUNK_BYTES
        records: list[list[str]] = []
        append = records.append
        try:
            for record in self._reader:
                append(record if len(record) <= keep else WideRecord(record, keep))
                if len(records) >= rows or self._chars >= end:
                    break
        except csv.Error as exc:
            raise self._parse_error(exc) from None
        return records

    def chunks(self) -> Iterator[Chunk]:
        """The data records in chunks sized to hold about ``CHUNK_BYTES`` of input each."""
        rows = FIRST_CHUNK_ROWS
        while True:
            before = self.position
            first = self.next_row
            records = self._read(rows)
            if not records:
                return
            self.next_row += len(records)
            yield Chunk(records, first)
            per_row = max((self.position - before) / len(records), 1.0)
            rows = int(min(MAX_CHUNK_ROWS, max(100, CHUNK_BYTES / per_row)))

    @property
    def position(self) -> int:
        """Bytes consumed so far (approximate: the text layer reads ahead)."""
        try:
            return self._stream.tell() - self._start
        except (OSError, ValueError):
            return 0

    @property
    def fraction(self) -> float:
        return min(1.0, self.position / self.size) if self.size else 1.0

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
