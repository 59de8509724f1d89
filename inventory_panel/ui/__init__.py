"""Panel user interface: ``InventoryModel`` (UI-free state) and the ``Viewer`` components composed by ``InventoryApp``.

Modules are imported on demand (``from inventory_panel.ui.app import InventoryApp``) so the Python API and the CLI
never pay for importing Panel.
"""
