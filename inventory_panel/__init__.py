"""Lakebase Inventory: inventory management for teams on Databricks, as Panel components over SQLAlchemy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .databricks.wiring import plug_in as _plug_in_databricks
from .errors import (
    ConfigurationError,
    ConflictError,
    DatabaseBusyError,
    DatabaseFullError,
    DatabaseReadOnlyError,
    DatabaseUnavailableError,
    ImportRefusedError,
    InsufficientStockError,
    InvalidArgumentError,
    InventoryError,
    NotFoundError,
    PermissionDeniedError,
    TableAccessDeniedError,
    TableNotFoundError,
    TableReadError,
    ValidationError,
    WarehouseError,
)
from .fields import FIELDS
from .inventory import Inventory, Page, connect

# The package is the entry of ip.connect, the CLI, serve and the notebook helpers: Databricks (Lakebase credentials,
# Unity Catalog tables) is plugged in here, so storage and the service never import it (databricks/wiring.py).
_plug_in_databricks()

if TYPE_CHECKING:
    from . import ui
    from .databricks.notebook import show
    from .ui.app import InventoryApp

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Panel is imported only when the UI is asked for, so the Python API and CLI start fast.
    if name == "InventoryApp":
        from .ui.app import InventoryApp

        return InventoryApp
    if name == "ui":  # the components (ip.ui.InventoryEditor, ...); importing the package itself needs no Panel
        from importlib import import_module

        return import_module(".ui", __name__)  # not `from . import ui`: that asks this __getattr__ again
    if name == "show":  # one call for Databricks and Jupyter (ipywidgets comms or the driver proxy, as detected)
        from .databricks.notebook import show

        return show
    raise AttributeError(name)


__all__ = [
    "FIELDS",
    "ConfigurationError",
    "ConflictError",
    "DatabaseBusyError",
    "DatabaseFullError",
    "DatabaseReadOnlyError",
    "DatabaseUnavailableError",
    "ImportRefusedError",
    "InsufficientStockError",
    "InvalidArgumentError",
    "Inventory",
    "InventoryApp",
    "InventoryError",
    "NotFoundError",
    "Page",
    "PermissionDeniedError",
    "TableAccessDeniedError",
    "TableNotFoundError",
    "TableReadError",
    "ValidationError",
    "WarehouseError",
    "connect",
    "show",
    "ui",
]
