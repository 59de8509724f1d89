"""Imports: the service checks the person may import, then hands ``importing`` its port (``storage.bulk.ImportStore``
over this session's unit of work) and nothing else.

Unity Catalog tables are read by a reader the entry points plug in (``set_table_reader``; ``databricks/wiring.py``),
so the service never imports ``databricks``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypedDict

from ..errors import ConfigurationError, InvalidArgumentError
from ..importing import MODES, import_csv, import_frame
from ..storage.bulk import ImportStore
from .session import Session

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.12; only annotations use it

    from ..importing.report import ImportReport


class TableReadOptions(TypedDict, total=False):
    """How ``Inventory.import_table`` reads a table (keywords; the reader's, e.g. ``databricks/wiring.py``).

    ``warehouse_id``: the SQL warehouse (default ``DATABRICKS_WAREHOUSE_ID``); ``spark``: a Spark session instead;
    ``columns``: only these; ``order_by``: the order (stable row numbers); ``disposition``: the warehouse's result
    disposition (default ``EXTERNAL_LINKS``); ``workspace_client``: instead of the one built from the
    environment; ``timeout``: seconds the warehouse may take.
    """

    warehouse_id: str | None
    spark: Any
    columns: list[str] | None
    order_by: list[str] | None
    disposition: str
    workspace_client: Any
    timeout: float | None


# (table name, settings, reader options) -> (a frame ``importing.import_frame`` takes, the name a report shows)
TableReader = Callable[..., tuple[Any, str]]
_table_reader: TableReader | None = None


def set_table_reader(reader: TableReader | None) -> None:
    """Plug in how ``Inventory.import_table`` reads a table (the Databricks entry points plug in Unity Catalog's)."""
    global _table_reader
    _table_reader = reader


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise InvalidArgumentError({"mode": f"mode must be one of {', '.join(MODES)}, got {mode!r}"[:300]})


def import_file(
    s: Session,
    source: str | Path | bytes | IO[Any],
    mode: str = "append",
    atomic: bool = False,
    dry_run: bool = False,
    **options: Any,
) -> ImportReport:
    """A CSV file or a workbook, from a path, bytes, CSV text or a file object (``importing.import_csv``)."""
    s.require("import")
    return import_csv(ImportStore(s.uow), source, mode=mode, atomic=atomic, dry_run=dry_run, **options)


def import_dataframe(
    s: Session, frame: Any, mode: str = "append", atomic: bool = False, dry_run: bool = False, **options: Any
) -> ImportReport:
    """A DataFrame or an Arrow stream (``importing.import_frame``)."""
    s.require("import")
    return import_frame(ImportStore(s.uow), frame, mode=mode, atomic=atomic, dry_run=dry_run, **options)


def import_table(
    s: Session,
    table: str,
    mode: str,
    atomic: bool,
    dry_run: bool,
    progress: Any,
    **read_options: Unpack[TableReadOptions],
) -> ImportReport:
    """A table read by the plugged-in reader (Unity Catalog), with the rules and report of a file import."""
    unknown = sorted(set(read_options) - set(TableReadOptions.__annotations__))
    if unknown:  # as a signature naming them would say, before anything runs
        raise TypeError(f"import_table() got an unexpected keyword argument {unknown[0]!r}")
    s.require("import")  # before the warehouse runs anything for someone who may not import
    _check_mode(mode)
    if _table_reader is None:
        raise ConfigurationError(
            "No table reader is plugged in: import inventory_panel (which plugs in Unity "
            "Catalog's) before importing a table."
        )
    frame, name = _table_reader(table, s.settings, **read_options)
    return import_frame(
        ImportStore(s.uow), frame, mode=mode, atomic=atomic, dry_run=dry_run, progress=progress, file_name=name
    )
