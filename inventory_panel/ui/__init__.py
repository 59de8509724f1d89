"""Panel user interface: ``InventoryModel`` (UI-free state) and the ``Viewer`` components composed by ``InventoryApp``.

Modules are imported on demand (``from inventory_panel.ui.app import InventoryApp``) so the Python API and the CLI
never pay for importing Panel.

The public components (``InventoryEditor``, ``CsvImporter``, ``ValidationReport``, ``LowStock``, ``Analytics``,
``SummaryCards``, ``DashboardFrame``, ``AuditLog``, ``InventoryApp``) and ``InventoryModel`` are attributes of this
package, imported on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_PUBLIC = {
    "InventoryEditor": "components",
    "CsvImporter": "components",
    "ValidationReport": "components",
    "LowStock": "components",
    "Analytics": "components",
    "SummaryCards": "components",
    "DashboardFrame": "components",
    "AuditLog": "components",
    "InventoryApp": "app",
    "InventoryModel": "model",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(import_module(f".{_PUBLIC[name]}", __name__), name)
    raise AttributeError(name)
