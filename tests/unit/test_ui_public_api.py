"""The public component API: lazy imports, one shared model per Inventory, inventory= or model=."""

from __future__ import annotations

import subprocess
import sys

import pytest

import inventory_panel as ip


def test_importing_the_package_and_its_ui_namespace_does_not_import_panel():
    code = (
        "import sys, inventory_panel as ip, inventory_panel.ui\n"
        "assert 'panel' not in sys.modules, 'panel imported'\n"
        "ip.ui.InventoryEditor\nassert 'panel' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_components_built_from_one_inventory_share_one_model():
    from inventory_panel import ui

    inv = ip.connect("sqlite://", user="ana@example.com", role="admin")
    parts = [
        cls(inventory=inv)
        for cls in (
            ui.InventoryEditor,
            ui.CsvImporter,
            ui.LowStock,
            ui.Analytics,
            ui.SummaryCards,
            ui.DashboardFrame,
            ui.AuditLog,
        )
    ]
    app = ip.InventoryApp(inventory=inv)
    model = ui.InventoryModel.for_inventory(inv)
    assert all(part.model is model for part in parts) and app.model is model
    assert ui.LowStock(model=model).model is model
    other = ip.connect("sqlite://", user="ana@example.com", role="admin")
    assert ui.InventoryEditor(inventory=other).model is not model
    with pytest.raises(TypeError):
        ui.LowStock()
    assert ip.show is ip.show and callable(ip.show)


def test_the_validation_report_shows_a_dry_run(tmp_path):
    from inventory_panel import ui

    inv = ip.connect("sqlite://", user="ana@example.com", role="admin")
    path = tmp_path / "items.csv"
    path.write_text("item_name,category,quantity,unit_price\nDesk,Furniture,2,10.00\nChair,Furniture,-1,5\n")
    view = ui.ValidationReport(report=inv.import_csv(path, dry_run=True))
    view.__panel__()
    assert "Check" in view.banner.object and 'data-count="rejected"' in view.counts.object
    assert view.errors.visible and list(view.errors.value["row"]) == [3]
    assert inv.summary()["items"] == 0


def test_panel_still_renders_nothing_in_a_notebook_without_pn_extension():
    """Why components call ``ensure_extensions`` (docs/workarounds.md): Panel 1.9 shows nothing until
    ``pn.extension`` ran in the kernel. When this fails, Panel loads itself and ``ensure_extensions`` can go."""
    code = (
        "import panel as pn\n"
        "from panel.config import panel_extension\n"
        "assert not panel_extension._loaded and panel_extension._loaded_extensions == []\n"
        "print(pn.pane.Markdown('x')._repr_mimebundle_())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "None"
