"""DataFrames in (issue 17): every kind of frame, row positions, batches, Spark without collecting, the value rules.

Real Spark is tested in test_import_spark.py (a local pyspark session); here a stand-in with the interface the
import uses (``columns`` and ``toLocalIterator()`` with rows as tuples, or ``toArrow()`` alone; ``collect()`` fails
the test if it is ever called) checks batching precisely and the ``toArrow()``-only fallback, without a JVM.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from inventory_panel.errors import ImportRefusedError
from inventory_panel.importing import frames
from inventory_panel.importing.values import arrow_texts, cell_text

COLUMNS = ["item_name", "category", "quantity", "unit_price", "sku"]


def items(n: int, start: int = 0) -> dict[str, list]:
    return {
        "item_name": [f"Item {i}" for i in range(start, start + n)],
        "category": ["Tools"] * n,
        "quantity": list(range(n)),
        "unit_price": [1.25] * n,
        "sku": [f"S-{i}" for i in range(start, start + n)],
    }


class CapsuleOnly:
    """An object that only speaks the Arrow PyCapsule stream interface."""

    def __init__(self, table: pa.Table):
        self._table = table

    def __arrow_c_stream__(self, requested_schema=None):
        return self._table.__arrow_c_stream__(requested_schema)


class SparkStandIn:
    """What the import uses of a Spark DataFrame; ``pulled`` counts the rows handed out so far."""

    def __init__(self, data: dict[str, list], *, local_iterator: bool = True):
        self.columns = list(data)
        self._rows = list(zip(*data.values(), strict=True))
        self.pulled = 0
        self.high_water = 0  # the most rows handed out before the import had stored what it got
        if not local_iterator:
            self.toLocalIterator = None  # type: ignore[assignment]
            del self.toLocalIterator

    def toLocalIterator(self):
        for row in self._rows:
            self.pulled += 1
            yield row

    def toArrow(self):
        return pa.table({c: [r[i] for r in self._rows] for i, c in enumerate(self.columns)})

    def collect(self):
        raise AssertionError("a Spark DataFrame must never be collected whole")


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow", "batch", "reader", "capsule"])
def test_every_frame_kind_imports_with_0_based_rows_and_its_name(inv, kind):
    data = items(3)
    data["quantity"] = [1, -1, 2]
    table = pa.table(data)
    frame = {
        "pandas": lambda: pd.DataFrame(data),
        "polars": lambda: pl.DataFrame(data),
        "arrow": lambda: table,
        "batch": lambda: table.to_batches()[0],
        "reader": table.to_reader,
        "capsule": lambda: CapsuleOnly(table),
    }
    report = inv.import_frame(frame[kind]())
    assert (report.rows, report.inserted, report.skipped) == (3, 2, 1)
    assert report.errors.to_dict("records") == [
        {"row": 1, "column": "quantity", "value": "-1", "message": "Quantity must be 0 or greater"}
    ]
    names = {
        "pandas": "<pandas DataFrame>",
        "polars": "<Polars DataFrame>",
        "arrow": "<Arrow Table>",
        "batch": "<Arrow Table>",
        "reader": "<Arrow RecordBatchReader>",
        "capsule": "<CapsuleOnly>",
    }
    assert report.file == names[kind]
    added = inv.audit_log(action="add").rows
    assert set(added["detail"]) == {f"DataFrame import of {names[kind]}"}


def test_rows_are_positions_not_the_pandas_index_and_span_batches(inv, monkeypatch):
    monkeypatch.setattr(frames, "BATCH_ROWS", 1000)
    data = items(2500)
    data["sku"][2100] = "S-5"  # repeats row 5, two batches later
    frame = pd.DataFrame(data, index=range(10_000, 12_500))
    report = inv.import_frame(frame, file_name="stock frame")
    assert (report.rows, report.inserted, report.skipped, report.file) == (2500, 2499, 1, "stock frame")
    assert report.errors.to_dict("records") == [
        {"row": 2100, "column": "sku", "value": "S-5", "message": "sku is repeated in this file (first used on row 5)"}
    ]


def test_spark_is_read_in_batches_through_to_local_iterator_never_collected(inv, monkeypatch):
    monkeypatch.setattr(frames, "BATCH_ROWS", 100)
    spark = SparkStandIn(items(450))
    seen = []
    original = frames.FrameSource.chunks

    def chunks(self):
        for chunk in original(self):
            seen.append((chunk.first_row, len(chunk.records), spark.pulled))
            yield chunk

    monkeypatch.setattr(frames.FrameSource, "chunks", chunks)
    report = inv.import_frame(spark)
    assert (report.rows, report.inserted, report.file) == (450, 450, "<Spark DataFrame>")
    # Each chunk was made from at most one batch more than it holds: the rows were pulled as they were needed.
    assert [(first, size) for first, size, _ in seen] == [(0, 100), (100, 100), (200, 100), (300, 100), (400, 50)]
    assert all(pulled <= first + size + 1 for first, size, pulled in seen)


def test_spark_without_a_local_iterator_goes_through_to_arrow(inv):
    report = inv.import_frame(SparkStandIn(items(3), local_iterator=False))
    assert (report.inserted, report.file) == (3, "<Spark DataFrame>")


def test_column_names_follow_the_header_rules(inv):
    frame = pd.DataFrame({"Item Name": ["A"], "CATEGORY": ["T"], "quantity": [1], "Unit-Price": [1.5], 7: ["x"]})
    report = inv.import_frame(frame)
    assert report.inserted == 1 and report.warnings == ["Unknown columns ignored: 7"]
    with pytest.raises(ImportRefusedError, match="Missing required column: unit_price"):
        inv.import_frame(pd.DataFrame({"item_name": ["A"], "category": ["T"], "quantity": [1]}))
    with pytest.raises(ImportRefusedError, match="no data rows"):
        inv.import_frame(pd.DataFrame({c: [] for c in COLUMNS}))


def test_object_columns_follow_the_value_rules(inv):
    frame = pd.DataFrame(
        {
            "item_name": ["A", "B", "C", "D", "E", "F"],
            "category": ["T", dt.date(2025, 1, 31), pd.NA, "T", np.int64(5), True],
            "quantity": [np.int64(3), np.float64(4.0), 1, "7", pd.NaT, np.bool_(True)],
            "unit_price": [Decimal("12.50"), 0.1 + 0.2, Decimal("-0.00"), "3", 1, 1],
            "sku": ["K-1", "K-2", "K-3", "K-4", "K-5", "K-6"],
        }
    )
    report = inv.import_frame(frame, dry_run=True)
    assert [(e["row"], e["column"], e["value"], e["message"]) for e in report.errors.to_dict("records")] == [
        (1, "unit_price", "0.30000000000000004", "Unit price may have at most 2 decimal places"),
        (2, "category", "", "Category is required"),
        (4, "quantity", "", "Quantity is required"),
        (5, "quantity", "TRUE", "Quantity must be a whole number such as 5"),
    ]
    assert report.inserted == 2


def test_unsupported_objects_are_a_type_error(inv):
    with pytest.raises(TypeError, match="give a pandas, Polars or Spark DataFrame"):
        inv.import_frame([{"item_name": "A"}])


FLOATS = [
    0.0,
    -0.0,
    5.0,
    12.5,
    12.499999,
    0.1 + 0.2,
    1e-05,
    2.675,
    1e16,
    1e20,
    1.5e300,
    -3.25,
    2.0**53,
    2.0**53 + 2,
    float("inf"),
    float("-inf"),
    123456789.125,
    1 / 3,
]


def test_arrow_and_python_print_every_float_alike():
    assert arrow_texts(pa.array(FLOATS)) == [cell_text(f) for f in FLOATS]
    assert arrow_texts(pa.array(FLOATS, type=pa.float32())) == [cell_text(float(np.float32(f))) for f in FLOATS]
    assert [cell_text(f) for f in (5.0, -0.0, 12.5, 1e-05, 1e20)] == [
        "5",
        "0",
        "12.5",
        "0.00001",
        "100000000000000000000",
    ]


def test_arrow_columns_of_every_usual_type_become_the_csv_text():
    assert arrow_texts(pa.array([1, None, -(2**63)])) == ["1", "", "-9223372036854775808"]
    assert arrow_texts(pa.array([True, False, None])) == ["TRUE", "FALSE", ""]
    assert arrow_texts(pa.array([Decimal("12.50"), Decimal("-0.00"), None])) == ["12.50", "0", ""]
    assert arrow_texts(pa.array(["a", None], type=pa.string_view())) == ["a", ""]
    assert arrow_texts(pa.array(["x", "y", "x"]).dictionary_encode()) == ["x", "y", "x"]
    assert arrow_texts(pa.array([dt.date(2025, 1, 31), None])) == ["2025-01-31", ""]
    assert arrow_texts(pa.array([dt.datetime(2025, 1, 31, 8, 30)])) == ["2025-01-31T08:30:00"]
    assert arrow_texts(pa.array([None, None])) == ["", ""]
    assert arrow_texts(pa.array([float("nan"), None, 1.0])) == ["", "", "1"]
