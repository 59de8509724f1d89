"""notebooks/inventory_app.ipynb runs top to bottom in a real kernel and renders the app inline.

The kernel is the ipykernel of the interpreter running the tests (jupyter_client's native "python3" spec), so a
clean venv with the test requirements is enough.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "inventory_app.ipynb"
PANEL_MIME = "application/vnd.holoviews_exec.v0+json"


def rich_outputs(cell) -> list[dict]:
    return [out.get("data", {}) for out in cell.get("outputs", [])
            if out.get("output_type") in ("display_data", "execute_result")]


def test_the_notebook_renders_the_app_inline(tmp_path, monkeypatch):
    monkeypatch.setenv("INVENTORY_DATABASE_URL", f"sqlite:///{tmp_path / 'inventory.db'}")
    monkeypatch.setenv("INVENTORY_USER", "analyst@example.com")
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(notebook, kernel_name="python3", timeout=240, allow_errors=False,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on the first cell that fails

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert not [out for cell in code for out in cell.outputs if out.output_type == "error"]
    app_cell = next(cell for cell in code if cell.source.strip().endswith("\napp"))
    bundles = rich_outputs(app_cell)
    assert any(PANEL_MIME in data for data in bundles), f"no Panel output: {[list(d) for d in bundles]}"
    html = next(data["text/html"] for data in bundles if PANEL_MIME in data)
    assert "<script" in html  # the Bokeh document that draws the app
    loaded = next(cell for cell in code if "import_csv" in cell.source)
    assert "Loaded 10 sample items" in "".join(out.get("text", "") for out in loaded.outputs)
    driven = code[-1]
    table = next(data for data in rich_outputs(driven) if "text/plain" in data)["text/plain"]
    assert "Nitrile Gloves" in table and "Laptop" not in table  # the model, driven from Python, filtered to low


def test_the_notebook_is_stored_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
    assert notebook.metadata["kernelspec"]["name"] == "python3"
