"""The page ``tools/screenshots.py`` serves: one public component alone, as a notebook cell would show it.

``panel serve tools/screenshot_app.py`` with ``?component=<name>&theme=<light|dark>``. The database is the one
in ``INVENTORY_DATABASE_URL`` (the driver seeds it); ``SCREENSHOT_REPORT_CSV`` is the file whose check (a dry
run, nothing written) ``ValidationReport`` shows. The page holds nothing but the component (the driver gives
the page the background a notebook of that theme has).
"""

from __future__ import annotations

import os

import panel as pn

import inventory_panel as ip
from inventory_panel import ui
from inventory_panel.ui.components import EXTENSIONS

pn.extension(*EXTENSIONS, notifications=True)


def component(name: str, inventory: ip.Inventory) -> pn.viewable.Viewable:
    """The public component called ``name`` (the names of ``tools/screenshots.py``'s ``COMPONENTS``)."""
    if name == "report":
        return ui.ValidationReport(report=inventory.import_csv(os.environ["SCREENSHOT_REPORT_CSV"], dry_run=True))
    classes = {
        "editor": ui.InventoryEditor,
        "importer": ui.CsvImporter,
        "low_stock": ui.LowStock,
        "analytics": ui.Analytics,
        "cards": ui.SummaryCards,
        "dashboard": ui.DashboardFrame,
        "audit": ui.AuditLog,
        "app": ui.InventoryApp,
    }
    return classes[name](inventory=inventory)


def page() -> pn.viewable.Viewable:
    args = pn.state.session_args
    name = args.get("component", [b"editor"])[0].decode()
    inventory = pn.state.as_cached("screenshot-inventory", lambda: ip.connect(user="admin@example.com", role="admin"))
    return component(name, inventory)


page().servable(title="component")
