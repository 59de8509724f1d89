"""The Databricks path in a real JupyterLab: ``DATABRICKS_RUNTIME_VERSION`` set, ``show(app)`` in ipywidgets comms
(jupyter_bokeh) renders the app, saves a cell edit, imports a file, and says why an invalid cell was refused inside
the app — Panel's toasts cannot render through ipywidgets ("Failed to create view for 'BokehView'").

``show`` must not publish Panel's BokehJS loader a second time: run while the first cell's load is still under way
(Run All), that loader clears ``window.Bokeh`` and loads BokehJS and Panel again (docs/workarounds.md: "every
pn.extension() call loads BokehJS again"). And the widget must wait for that first load: jupyter_bokeh's view of it
fails for good if it is created before Panel's models are in the page (docs/workarounds.md: "jupyter_bokeh 4.1.0").
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "inventory_panel" / "data" / "sample_inventory.csv"
PANEL_JS = re.compile(r"^https://cdn\.holoviz\.org/panel/[^/]+/dist/panel(\.min)?\.js$")


def first_cell(db: str) -> str:
    """As a Databricks notebook is: the runtime's variable set, no Panel comms of its own (docs/databricks.md); a
    database of the test's own (the lab's root directory is shared by the module's tests)."""
    return (
        'import os\nos.environ["DATABRICKS_RUNTIME_VERSION"] = "16.4"\n'
        "import panel as pn\nimport inventory_panel as ip\nfrom inventory_panel.databricks.notebook import show\n\n"
        'pn.extension("tabulator", "filedropper", "modal")\n'
        f'inv = ip.connect("sqlite:///{db}", user="ana@example.com", role="admin")\n'
        'inv.add({"item_name": "Spare Fuses", "category": "Electrical", "quantity": 40, "unit_price": "0.80",'
        ' "minimum_stock": 10, "sku": "FUS-1"})["id"]'
    )


SHOW = "app = ip.InventoryApp(inventory=inv)\nshow(app)"
PLAIN_WIDGET = 'pn.ipywidget(pn.pane.Markdown("plain widget"))'  # without show's probe


def edit_cell(output, name: str, field: str, value: str) -> None:
    target = output.locator(".tabulator-row", has_text=name).locator(f'.tabulator-cell[tabulator-field="{field}"]')
    target.click()
    editor = target.locator("input")
    editor.fill(value)
    editor.press("Enter")


def test_show_on_databricks_renders_edits_imports_and_says_why_a_cell_was_refused(open_notebook):
    session = open_notebook([first_cell("databricks.db"), SHOW])
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
    # The next action's outcome replaced the error (hidden alerts, e.g. the view's load-problem notice, don't count).
    expect(app.locator(".alert-danger:visible")).to_have_count(0)

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


def test_show_draws_the_app_once_bokehjs_has_loaded_and_loads_it_once(open_notebook):
    """Run All while the first cell's panel.min.js is still on its way (held back here until ``show``'s cell has
    its output): the widget's view cannot be created yet (jupyter_bokeh's ``BokehView`` needs Panel's models the
    moment it is made, and never tries again), so ``show`` sends a container whose probe is tried again until the
    page can draw it; then the app and a second ``show`` draw. panel.min.js is requested once: ``show`` only switches
    the comms (a second request, the sign of a reload under the widget, is held back, so it would keep
    ``window.Bokeh`` cleared and fail the widgets)."""
    session = open_notebook(
        [first_cell("databricks-reload.db"), SHOW, "show(ip.ui.SummaryCards(inventory=inv))", PLAIN_WIDGET]
    )
    requests: list[str] = []
    held: list[Any] = []

    def panel_js(route: Any) -> None:
        requests.append(route.request.url)
        held.append(route)

    session.page.route(PANEL_JS, panel_js)
    app, cards = session.output(1), session.output(2)
    try:
        session.run_all()  # the kernel has run every cell; the page has BokehJS but not yet Panel's models
        assert len(requests) == 1, requests
        time.sleep(2.0)  # the probe's first view fails meanwhile, and is tried again
        assert app.locator(".tabulator").count() == 0
        held.pop(0).fallback()  # the first load goes on: answered from the wheel by the harness
        try:
            expect(app.locator(".tabulator-cell:has-text('Spare Fuses')")).to_be_visible(timeout=30_000)
            expect(cards.locator("[data-card='items'] .value")).to_have_text("1", timeout=30_000)
        except AssertionError as exc:
            raise AssertionError(
                f"a widget did not render ({len(requests)} requests for panel.min.js):\n"
                f"{app.inner_text()[:1000]}\n{session.report()}"
            ) from exc
    finally:
        for route in held:  # let a reload finish, so the page closes cleanly either way
            route.fallback()
    time.sleep(1.0)
    assert len(requests) == 1, f"BokehJS was loaded again: {requests}"
    # Why the probe: Panel's own ipywidget, shown in the same run, never draws (docs/workarounds.md, "jupyter_bokeh
    # 4.1.0"). When this fails, jupyter_bokeh tries again by itself and ``widget_view`` can go.
    plain = session.output(3)
    expect(plain).to_contain_text("Click to show javascript error", timeout=10_000)
    assert "plain widget" not in plain.inner_text()
    # The probe's failed views are the expected console errors here; anything else is a problem.
    session.console_errors[:] = [e for e in session.console_errors if "Could not create a view for model id" not in e]
    session.check()
