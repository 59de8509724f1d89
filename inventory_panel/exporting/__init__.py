"""Items out of the inventory in the formats people keep them in: Excel (``xlsx``), Parquet and Arrow/pandas.

``Inventory.export_xlsx``/``export_parquet``/``export``/``to_frame`` are the entry points; the modules here only
turn rows (tuples in a known column order, streamed from the database) into files or Arrow batches: CSV
(``csv_writer``, every CSV the product writes), Excel (``xlsx``), Parquet and Arrow/pandas (``arrow``).
"""

from __future__ import annotations

from pathlib import PurePath

FORMATS = ("csv", "xlsx", "parquet")
SUFFIXES = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".parquet": "parquet", ".pq": "parquet"}


def format_for(path: str | None, given: str | None = None) -> str:
    """The export format: ``given`` if set, else from the file name's extension, else ``csv`` (as before)."""
    if given is not None:
        if given not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {given!r}")
        return given
    if path:
        return SUFFIXES.get(PurePath(str(path)).suffix.lower(), "csv")
    return "csv"


__all__ = ["FORMATS", "SUFFIXES", "format_for"]
