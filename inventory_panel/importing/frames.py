"""DataFrames as an import source: pandas, Polars, PyArrow tables and readers, Arrow PyCapsule streams, Spark.

``FrameSource`` is a ``sources.TabularSource``: column names go through the same header rules as a file's header
row, values become the text the CSV rules read (``values.py``: vectorised through ``pyarrow.compute`` per column,
the Python rule only for object columns and the odd value), and the rows reach the pipeline in chunks of at most
``BATCH_ROWS`` rows, so the same validation, report, error file, write path and audit apply.

Row numbers are the frame's own positions, 0-based (the first row is row 0, whatever the pandas index says); the
report's ``file`` names the kind of frame ("<pandas DataFrame>") unless the caller gives a name.

How each kind is read, without copying it whole:
- pandas: ``BATCH_ROWS`` rows at a time (``iloc``), each column through Arrow, object columns value by value.
- Polars and anything with ``__arrow_c_stream__``: ``pyarrow.RecordBatchReader.from_stream``, batch by batch.
- PyArrow ``Table`` / ``RecordBatch`` / ``RecordBatchReader``: batch by batch.
- Spark: ``toLocalIterator()`` (one partition at a time on the driver), ``BATCH_ROWS`` rows at a time; never
  ``collect()`` or a whole ``toArrow()``. Only when a Spark-like object has no ``toLocalIterator`` is its
  ``toArrow()`` used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import pandas as pd
import pyarrow as pa

from .reading import MAX_CHUNK_ROWS, Chunk, parse_header
from .values import arrow_texts, cell_text

BATCH_ROWS = MAX_CHUNK_ROWS
Columns = list[list[str]]  # one batch: the text cells of each column


def _pandas_column(series: pd.Series) -> list[str]:
    if series.dtype == object:
        return list(map(cell_text, series.tolist()))
    try:
        return arrow_texts(pa.array(series, from_pandas=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return list(map(cell_text, series.tolist()))


def _pandas_batches(frame: pd.DataFrame, rows: int) -> Iterator[Columns]:
    for start in range(0, len(frame), rows):
        part = frame.iloc[start : start + rows]
        yield [_pandas_column(part.iloc[:, j]) for j in range(part.shape[1])]


def _arrow_batches(batches: Iterable[pa.RecordBatch], rows: int) -> Iterator[Columns]:
    for batch in batches:
        for start in range(0, batch.num_rows, rows):
            part = batch.slice(start, rows)
            yield [arrow_texts(column) for column in part.columns]


def _row_batches(rows_iter: Iterator[Any], width: int, rows: int) -> Iterator[Columns]:
    while part := list(islice(rows_iter, rows)):
        yield [list(map(cell_text, column)) for column in zip(*part, strict=True)] if width else []


def _is_spark(frame: Any) -> bool:
    return type(frame).__module__.startswith("pyspark") or (
        hasattr(frame, "toLocalIterator") and hasattr(frame, "columns")
    )


def _reader(frame: Any, rows: int) -> tuple[list[str], Iterator[Columns], int | None, str]:
    """Column names, the batches of text columns, the row count when known, and the frame's label."""
    if isinstance(frame, pd.DataFrame):
        return [str(c) for c in frame.columns], _pandas_batches(frame, rows), len(frame), "<pandas DataFrame>"
    if isinstance(frame, pa.RecordBatch):
        frame = pa.Table.from_batches([frame])
    if isinstance(frame, pa.Table):
        return frame.schema.names, _arrow_batches(frame.to_batches(), rows), frame.num_rows, "<Arrow Table>"
    if isinstance(frame, pa.RecordBatchReader):
        return frame.schema.names, _arrow_batches(frame, rows), None, "<Arrow RecordBatchReader>"
    if _is_spark(frame):
        names = [str(c) for c in frame.columns]
        if hasattr(frame, "toLocalIterator"):
            return names, _row_batches(iter(frame.toLocalIterator()), len(names), rows), None, "<Spark DataFrame>"
        table = frame.toArrow()
        return table.schema.names, _arrow_batches(table.to_batches(), rows), table.num_rows, "<Spark DataFrame>"
    if hasattr(frame, "__arrow_c_stream__"):
        reader = pa.RecordBatchReader.from_stream(frame)
        module = type(frame).__module__.split(".")[0]
        label = "<Polars DataFrame>" if module == "polars" else f"<{type(frame).__name__}>"
        total = frame.height if module == "polars" and hasattr(frame, "height") else None
        return reader.schema.names, _arrow_batches(reader, rows), total, label
    raise TypeError(
        f"cannot import from {type(frame).__name__}: give a pandas, Polars or Spark DataFrame, a PyArrow "
        "Table or RecordBatchReader, or an object with the Arrow PyCapsule interface (__arrow_c_stream__)"
    )


class FrameSource:
    """A DataFrame opened for import (a ``sources.TabularSource``); iterate :meth:`chunks` once."""

    kind = "DataFrame"
    formula_escaped = False
    delimiter = ","

    def __init__(
        self, frame: Any, *, mode: str = "append", file_name: str | None = None, batch_rows: int | None = None
    ):
        names, self._batches, self._total, label = _reader(frame, batch_rows or BATCH_ROWS)
        self.file_name: str | None = file_name or label  # as TabularSource declares it (always set here)
        self.warnings: list[str] = []
        self.header = parse_header([str(n) for n in names], mode)
        self._done = 0

    def chunks(self) -> Iterator[Chunk]:
        for columns in self._batches:
            records = list(map(list, zip(*columns, strict=True)))
            if not records:
                continue
            first = self._done
            self._done += len(records)
            yield Chunk(records, first)

    @property
    def fraction(self) -> float:
        return min(1.0, self._done / self._total) if self._total else 0.0

    def close(self) -> None:
        self._batches = iter(())

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
