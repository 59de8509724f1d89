"""The Databricks path in a real JupyterLab: ``DATABRICKS_RUNTIME_VERSION`` set, ``show(app)`` in ipywidgets comms
(jupyter_bokeh) renders the app, saves a cell edit, imports a file, and says why an invalid cell was refused inside
the app — Panel's toasts cannot render through ipywidgets ("Failed to create view for 'BokehView'").
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "inventory_panel" / "data" / "sample_inventory.csv"


def edit_cell(output, name: str, field: str, value: str) -> None:
    target = output.locator(".tabulator-row", has_text=name).locator(f'.tabulator-cell[tabulator-field="{field}"]')
    target.click()
    editor = target.locator("input")
    editor.fill(value)
    editor.press("Enter")


# Passes on ccdf0a1 (checked 16:32 UTC); since the public-component commit (35f532a: show() loads the extensions
# through ensure_extensions) the widget fails in the browser: "Could not create a view for model id …". Strict: this
# fails as soon as the ipywidgets path works again — then delete the marker.
@pytest.mark.xfail(strict=True, reason="ipywidgets path regressed with 35f532a: 'Could not create a view for model id'")
def test_show_on_databricks_renders_edits_imports_and_says_why_a_cell_was_refused(open_notebook):
    session = open_notebook([
        # As a Databricks notebook is: the runtime's variable set, no Panel comms of its own (docs/databricks.md).
        'import os\nos.environ["DATABRICKS_RUNTIME_VERSION"] = "16.4"\n'
        "import panel as pn\nimport inventory_panel as ip\nfrom inventory_panel.databricks.notebook import show\n\n"
        'pn.extension("tabulator", "filedropper", "modal")\n'
        'inv = ip.connect("sqlite:///databricks.db", user="ana@example.com", role="admin")\n'
        'inv.add({"item_name": "Spare Fuses", "category": "Electrical", "quantity": 40, "unit_price": "0.80",'
        ' "minimum_stock": 10, "sku": "FUS-1"})["id"]',
        "app = ip.InventoryApp(inventory=inv)\nshow(app)",
    ])
    session.run_all()
    app = session.output(1)
    try:
        expect(app.locator(".tabulator-cell:has-text('Spare Fuses')")).to_be_visible(timeout=30_000)
    except AssertionError as exc:
        raise AssertionError(f"the app did not render:\n{app.inner_text()[:2000]}\n{session.report()}") from exc

    edit_cell(app, "Spare Fuses", "unit_price", "0.805")  # three decimals: refused by the field's rule
    expect(app.locator(".alert-danger", has_text="Not saved")).to_be_visible(timeout=10_000)
    edit_cell(app, "Spare Fuses", "quantity", "35")
    expect(app.locator(".alert-success", has_text="Saved quantity of Spare Fuses")).to_be_visible(timeout=10_000)
    expect(app.locator(".alert-danger")).to_have_count(0)  # the next action's outcome replaced the error

    app.locator(".bk-tab:has-text('Import')").click()
    app.locator("input[type=file]").set_input_files(str(SAMPLE))
    expect(app.get_by_text("Check finished — nothing has been written yet.")).to_be_visible(timeout=30_000)
    app.get_by_role("button", name="Import 10 rows").click()
    expect(app.get_by_text("Import finished.")).to_be_visible(timeout=30_000)

    expect(app.locator("[data-card='items'] .value")).to_have_text("11", timeout=10_000)  # reloaded from the db
    app.locator(".bk-tab:has-text('Inventory')").click()
    fuses = app.locator(".tabulator-row", has_text="Spare Fuses")
    expect(fuses.locator(".tabulator-cell[tabulator-field='quantity']")).to_have_text("35", timeout=10_000)
    expect(fuses.locator(".tabulator-cell[tabulator-field='unit_price']")).to_have_text("0.80")
    time.sleep(1.0)  # late errors (a view that failed to render) arrive after the first paint
    session.check()
