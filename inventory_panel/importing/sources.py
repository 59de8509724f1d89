"""The seam between where rows come from and the import pipeline: any tabular source with this interface.

``pipeline._Import`` consumes a ``TabularSource``: a checked header (``reading.parse_header``, so every source gets
the same header rules), warnings found while opening, and the data as ``Chunk`` s of string records, each record
one row as the CSV rules read it (cells are text; validation parses numbers from text, so every source converts
its typed values to the text form the CSV rules expect). ``Chunk.first_row`` numbers rows as the source shows them:
the spreadsheet's row numbers for CSV and Excel, the 0-based position for a DataFrame.

Implementations: ``reading.CsvFile`` (CSV text), ``excel.ExcelFile`` (.xlsx/.xls/.ods through python-calamine),
``frames.FrameSource`` (pandas, Polars, Arrow, Spark).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable

from .reading import Chunk, Header


@runtime_checkable
class TabularSource(Protocol):
    """What the import pipeline needs from a source of rows."""

    #: The name shown in the report and the audit ("stock.xlsx", "<pandas DataFrame>"), or None.
    file_name: str | None
    #: The header row, checked by ``reading.parse_header``.
    header: Header
    #: Findings about the source as a whole (encoding guessed, hidden rows, merged cells, …).
    warnings: list[str]
    #: The delimiter of the error file (the CSV's own; a comma for other sources).
    delimiter: str
    #: What the audit calls this import: "CSV", "Excel", "DataFrame".
    kind: str
    #: Whether cells may carry the CSV export's formula escape (a leading quote) to undo. Only CSV text does: a
    #: workbook's cells and a frame's values are typed, so their text is taken as it is.
    formula_escaped: bool

    def chunks(self) -> Iterator[Chunk]:
        """The data rows in chunks (blank rows may be included: validation drops them, keeping the numbering)."""
        ...

    @property
    def fraction(self) -> float:
        """How much of the source has been read, 0 to 1 (for the progress bar)."""
        ...

    def close(self) -> None:
        """Release what the source opened."""
        ...
