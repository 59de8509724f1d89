"""Spark DataFrames in through a real local pyspark session (issue 17): the CSV's reports, batches, never collected.

One session for the module (``local[2]``; it needs Java, which ``make test`` installs: Makefile target ``java``).
Starting it takes 10-40 s on the shared machine, so the cases share it.
"""

from __future__ import annotations

import pytest

from inventory_panel.importing import frames
from tests.integration.test_import_sources import CASES, _run, as_arrow, comparable


@pytest.fixture(scope="module")
def spark():
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # a pinned test dependency (requirements-dev.txt): never a silent skip
        pytest.fail("pyspark is missing: run `make .venv/.installed`")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("inventory-import-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def never_whole(monkeypatch, spark):
    """Collecting a Spark DataFrame whole (collect, toPandas, toArrow) fails the test."""
    frame_type = type(spark.range(1))

    def refuse(*_args, **_kwargs):
        raise AssertionError("a Spark DataFrame must never be collected whole")

    for name in ("collect", "toPandas", "toArrow"):
        monkeypatch.setattr(frame_type, name, refuse)


@pytest.mark.parametrize(
    "case", ["numbers stored as text", "decimals that are floats", "huge ints", "duplicate skus", "extra columns"]
)
def test_a_spark_frame_gives_the_csv_report(inv, spark, case):
    inv.add({"item_name": "Existing", "category": "Tools", "quantity": 1, "unit_price": "1", "sku": "OLD-1"})
    header, rows = CASES[case]
    frame = spark.createDataFrame(as_arrow(header, rows).to_pandas())
    reference = comparable(_run(inv, "csv", header, rows), 0)
    report = inv.import_frame(frame, dry_run=True)
    assert report.file == "<Spark DataFrame>"
    assert comparable(report, 2) == reference


def test_spark_rows_come_in_batches_numbered_by_position(inv, spark, monkeypatch, never_whole):
    monkeypatch.setattr(frames, "BATCH_ROWS", 100)
    data = [(f"Item {i}", "Tools", i % 7, 1.25, f"S-{i % 240}") for i in range(250)]  # S-0..S-9 again from row 240
    frame = spark.createDataFrame(
        data, "item_name string, category string, quantity long, unit_price double, sku string"
    )  # two partitions (local[2]), in the list's order
    assert frame.rdd.getNumPartitions() == 2
    sizes = []
    original = frames.FrameSource.chunks

    def chunks(self):
        for chunk in original(self):
            sizes.append(len(chunk.records))
            yield chunk

    monkeypatch.setattr(frames.FrameSource, "chunks", chunks)
    report = inv.import_frame(frame)
    assert sizes == [100, 100, 50]
    assert (report.rows, report.inserted, report.skipped) == (250, 240, 10)
    assert [(e["row"], e["message"]) for e in report.errors.to_dict("records")] == [
        (240 + i, f"sku is repeated in this file (first used on row {i})") for i in range(10)
    ]
