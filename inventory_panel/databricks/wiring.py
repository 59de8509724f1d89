"""Databricks plugged into the layers that must not import it: the Lakebase credential provider into
``storage.engines`` and the Unity Catalog table reader into ``service.imports``.

``plug_in()`` is called by the package's entry (``inventory_panel/__init__.py``, which ``ip.connect``, the CLI,
``serve`` and the notebook helpers all go through). It imports nothing heavy: databricks-sdk is loaded only when a
Lakebase credential or a Unity Catalog table is first asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..service.imports import set_table_reader
from ..settings import PostgresParams, Settings
from ..storage.engines import set_credential_factory


def lakebase_credentials(pg: PostgresParams) -> Callable[[], str]:
    """The password provider of a PostgreSQL connection without ``PGPASSWORD``: Lakebase OAuth (``lakebase.py``)."""
    from .lakebase import credential_provider

    return credential_provider(pg)


def read_uc_table(table: str, settings: Settings, *, warehouse_id: str | None = None, spark: Any = None,
                  columns: list[str] | None = None, order_by: list[str] | None = None,
                  disposition: str = "EXTERNAL_LINKS", workspace_client: Any = None,
                  timeout: float | None = None) -> tuple[Any, str]:
    """Unity Catalog table ``catalog.schema.table`` as a frame the import reads, and its display name; see
    ``Inventory.import_table`` and ``uc_import.py``."""
    from . import uc_import

    name = uc_import.parse_table_name(table)
    kind, reader = uc_import.resolve_reader(warehouse_id=warehouse_id, spark=spark,
                                            settings_warehouse=settings.warehouse_id)
    if kind == "spark":
        return uc_import.spark_table(reader, name, columns, order_by), name.display
    if workspace_client is None:
        from .client import workspace_client as build_client

        workspace_client = build_client()
    frame = uc_import.WarehouseTable(
        workspace_client, name, reader, columns=columns, order_by=order_by, disposition=disposition,
        timeout=uc_import.TIMEOUT_SECONDS if timeout is None else timeout).reader()
    return frame, name.display


def plug_in() -> None:
    """Plug Databricks in: Lakebase credentials for PostgreSQL without a password, Unity Catalog for tables."""
    set_credential_factory(lakebase_credentials)
    set_table_reader(read_uc_table)
