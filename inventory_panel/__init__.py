"""Lakebase Inventory: inventory management for teams on Databricks, as Panel components over SQLAlchemy."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import (
    ConfigurationError,
    ConflictError,
    DatabaseBusyError,
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

if TYPE_CHECKING:
    from .ui.app import InventoryApp

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # Panel is imported only when the UI is asked for, so the Python API and CLI start fast.
    if name == "InventoryApp":
        from .ui.app import InventoryApp

        return InventoryApp
    raise AttributeError(name)


__all__ = [
    "FIELDS", "ConfigurationError", "ConflictError", "DatabaseBusyError", "DatabaseUnavailableError",
    "ImportRefusedError", "InsufficientStockError", "InvalidArgumentError", "Inventory", "InventoryApp",
    "InventoryError", "NotFoundError", "Page", "PermissionDeniedError", "TableAccessDeniedError",
    "TableNotFoundError", "TableReadError", "ValidationError", "WarehouseError", "connect",
]
