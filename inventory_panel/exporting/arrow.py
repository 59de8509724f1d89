"""Items as Arrow record batches: the typed schema shared by ``to_frame`` and the Parquet export.

Rows arrive from the database in chunks (``yield_per``) and each chunk becomes one ``RecordBatch`` at once, so no
Python list of the whole result is ever built: the Arrow buffers are all that grows. Types: ``decimal128(12, 2)``
for money (exact, as NUMERIC(12,2)), ``int64`` for whole numbers, ``string`` for text, ``timestamp[us, UTC]``
for timestamps.

pandas (``to_pandas``): money stays ``Decimal`` in an ``object`` column, as in ``Inventory.query().rows`` (exact,
and code written for a page works on a frame); whole numbers that may be empty (``minimum_stock``) are pandas'
nullable ``Int64`` rather than floats with NaN; timestamps ``datetime64[us, UTC]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, Literal

import pandas as pd
import pyarrow as pa

from ..fields import PRICE_PRECISION, PRICE_SCALE

BATCH_ROWS = 5_000  # rows per database fetch and per record batch

# What a column holds, as the service reads it off the table (``service/exports.py``): exporting never sees SQL.
ValueKind = Literal["money", "timestamp", "integer", "text"]


@dataclass(frozen=True)
class ExportColumn:
    """One exported column: its name, the kind of value it holds, and whether it may be empty."""

    name: str
    kind: ValueKind
    nullable: bool = True


ARROW_TYPES: dict[ValueKind, pa.DataType] = {
    "money": pa.decimal128(PRICE_PRECISION, PRICE_SCALE),  # exact, as NUMERIC(12,2)
    "timestamp": pa.timestamp("us", tz="UTC"),
    "integer": pa.int64(),
    "text": pa.string(),
}


def item_schema(columns: Sequence[ExportColumn]) -> pa.Schema:
    """The schema of ``columns`` (their names and types; columns that may not be empty are non-nullable fields)."""
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.kind], nullable=c.nullable) for c in columns])


def record_batches(chunks: Iterable[Sequence[Sequence[Any]]], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """One record batch per chunk of rows (tuples in ``schema`` order)."""
    width = len(schema)
    for rows in chunks:
        if not rows:
            continue
        columns = [[row[i] for row in rows] for i in range(width)]  # one chunk transposed, then dropped
        yield pa.RecordBatch.from_arrays(
            [pa.array(col, type=schema.field(i).type) for i, col in enumerate(columns)], schema=schema
        )


def to_table(batches: Iterable[pa.RecordBatch], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_batches(list(batches), schema=schema)


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """``table`` as pandas: Decimal objects for money, nullable ``Int64`` for whole numbers that may be empty."""
    frame = table.to_pandas(types_mapper=lambda t: pd.Int64Dtype() if t == pa.int64() else None)
    required = {f.name: "int64" for f in table.schema if pa.types.is_integer(f.type) and not f.nullable}
    return frame.astype(required) if required else frame


def write_parquet(batches: Iterable[pa.RecordBatch], schema: pa.Schema, target: str | Any | IO[bytes]) -> int:
    """Write ``batches`` to a Parquet file (a path or a binary file object) as they come; returns the row count."""
    import pyarrow.parquet as pq

    count = 0
    with pq.ParquetWriter(target, schema, compression="zstd") as writer:
        for batch in batches:
            writer.write_batch(batch)
            count += batch.num_rows
    return count


__all__ = [
    "ARROW_TYPES",
    "BATCH_ROWS",
    "ExportColumn",
    "ValueKind",
    "item_schema",
    "record_batches",
    "to_pandas",
    "to_table",
    "write_parquet",
]
