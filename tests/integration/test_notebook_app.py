"""notebooks/ runs top to bottom in a real kernel: the app notebook (Jupyter inline, and Databricks' ipywidgets path
with ``DATABRICKS_RUNTIME_VERSION`` set) and the components tour, one component per cell.

The kernel is the ipykernel of the interpreter running the tests (jupyter_client's native "python3" spec), so a
clean venv with the test requirements is enough.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "inventory_app.ipynb"
TOUR = ROOT / "notebooks" / "components_tour.ipynb"
PANEL_MIME = "application/vnd.holoviews_exec.v0+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def rich_outputs(cell) -> list[dict]:
    return [
        out.get("data", {})
        for out in cell.get("outputs", [])
        if out.get("output_type") in ("display_data", "execute_result")
    ]


def run(path: Path, workdir: Path) -> list:
    """Execute the notebook as stored, in ``workdir``; fails on a cell's error or a traceback the kernel logged."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=240, allow_errors=False, resources={"metadata": {"path": str(workdir)}}
    )
    client.execute()  # raises CellExecutionError on the first cell that fails
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not [out for cell in code for out in cell.outputs if out.output_type == "error"]
    logged = "".join(out.get("text", "") for cell in code for out in cell.outputs if out.get("name") == "stderr")
    assert "Traceback" not in logged and "already in a doc" not in logged, logged
    return code


@pytest.mark.parametrize("databricks", [False, True], ids=["jupyter", "databricks-ipywidgets"])
def test_the_notebook_renders_the_app_inline(tmp_path, monkeypatch, databricks):
    monkeypatch.setenv("INVENTORY_DATABASE_URL", f"sqlite:///{tmp_path / 'inventory.db'}")
    monkeypatch.setenv("INVENTORY_USER", "analyst@example.com")
    if databricks:  # no dbutils in this kernel: the %pip and restart cells skip themselves
        monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "16.4")
    else:
        monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    code = run(NOTEBOOK, tmp_path)

    app_cell = next(cell for cell in code if "show(app)" in cell.source)
    bundles = rich_outputs(app_cell)
    if databricks:  # ip.show chose Panel's ipywidgets comms: the cell shows a jupyter_bokeh widget
        assert any(WIDGET_MIME in data for data in bundles), f"no widget: {[list(d) for d in bundles]}"
    else:
        assert any(PANEL_MIME in data for data in bundles), f"no Panel output: {[list(d) for d in bundles]}"
        html = next(data["text/html"] for data in bundles if PANEL_MIME in data)
        assert "<script" in html  # the Bokeh document that draws the app
    loaded = next(cell for cell in code if "import_csv" in cell.source)
    assert "Loaded 10 sample items" in "".join(out.get("text", "") for out in loaded.outputs)
    driven = code[-1]
    table = next(data for data in rich_outputs(driven) if "text/plain" in data)["text/plain"]
    assert "Nitrile Gloves" in table and "Laptop" not in table  # the model, driven from Python, filtered to low


def test_the_tour_shows_one_component_per_cell_and_a_write_from_python(tmp_path):
    code = run(TOUR, tmp_path)
    assert "Loaded 10 sample items" in "".join(out.get("text", "") for out in code[0].outputs)
    shown = [cell for cell in code if re.search(r"\n?\w+\((inventory=inv|report=dry)\)$", cell.source.rstrip())]
    names = [cell.source.rstrip().rsplit("\n", 1)[-1].split("(")[0] for cell in shown]
    assert names == [
        "SummaryCards",
        "InventoryEditor",
        "CsvImporter",
        "ValidationReport",
        "LowStock",
        "Analytics",
        "DashboardFrame",
        "AuditLog",
    ]
    for cell in shown:
        bundles = rich_outputs(cell)
        assert any(PANEL_MIME in data for data in bundles), f"{cell.source}: {[list(d) for d in bundles]}"
    dry_run = next(cell for cell in code if "dry_run=True" in cell.source)
    assert "1 row(s) would be added, 3 problem(s) found" in "".join(out.get("text", "") for out in dry_run.outputs)
    sample = ROOT / "inventory_panel" / "data" / "sample_inventory.csv"
    units = sum(int(row["quantity"]) for row in csv.DictReader(sample.open()))
    written = rich_outputs(code[-1])[0]["text/plain"]
    assert f"'units': {units + 40}" in written


@pytest.mark.parametrize("path", [NOTEBOOK, TOUR], ids=lambda p: p.name)
def test_the_notebooks_are_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    assert notebook.metadata["kernelspec"]["name"] == "python3"
