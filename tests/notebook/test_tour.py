"""notebooks/components_tour.ipynb in a real JupyterLab: every component alone in its cell renders, carries the
app's accent itself, and nothing goes wrong in the page or the kernel (no style sheet shared between the cells)."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
TOUR = ROOT / "notebooks" / "components_tour.ipynb"
ACCENT = "rgb(15, 118, 110)"  # styles.ACCENT, #0F766E


def test_the_tour_renders_every_component_alone_with_the_apps_accent(open_notebook):
    cells = [cell.source for cell in nbformat.read(TOUR, as_version=4).cells if cell.cell_type == "code"]
    session = open_notebook(cells)
    session.run_all(timeout=120)
    cards, editor, importer, report, low, analytics, frame, audit = (session.output(i) for i in range(1, 9))

    def shown(output):  # JupyterLab renders the cells far below lazily: bring the cell on screen first
        output.scroll_into_view_if_needed()
        return output

    expect(editor.locator(".tabulator-cell:has-text('Laptop Dell XPS 13')")).to_be_visible(timeout=30_000)
    expect(cards.locator("[data-card='items'] .value")).to_have_text("10")
    expect(shown(importer).locator(".filepond--root")).to_be_visible(timeout=15_000)
    expect(shown(low).locator(".tabulator-cell:has-text('Wireless Mouse')")).to_be_visible(timeout=15_000)
    # The last cell's delivery of 40 gloves (a write through inv) took them off the low-stock list above. How fast a
    # write reaches the cells is measured by test_components (2 s); here the cell may still be drawing under Run All.
    expect(low.locator(".tabulator-cell:has-text('Nitrile Gloves')")).to_have_count(0, timeout=10_000)
    expect(shown(audit).locator(".tabulator-cell:has-text('Imported')").first).to_be_visible(timeout=15_000)
    expect(shown(analytics).locator("canvas").first).to_be_visible(timeout=15_000)
    for output in (report, frame):
        expect(shown(output).locator(".bk-panel-models-markup-HTML").first).to_be_attached(timeout=15_000)
    # Alone, the editor's primary button still has the app's accent (the variables are on its own root).
    add = shown(editor).get_by_role("button", name="+ Add item")
    expect(add).to_have_css("background-color", ACCENT)
    time.sleep(1.0)  # late errors (a view that failed to render, a style sheet in two documents) arrive after
    session.check()
