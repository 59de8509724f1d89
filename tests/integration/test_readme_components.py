"""Every Python block of the README's "Notebook components" section runs, exactly as written, as the cells of one
notebook in a fresh kernel (nbclient), with no ``pn.extension`` call, and each component cell renders Panel output.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
PANEL_MIME = "application/vnd.holoviews_exec.v0+json"


def component_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Notebook components", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_component_examples_run_as_written(tmp_path, monkeypatch):
    blocks = component_blocks()
    assert len(blocks) >= 12
    shutil.copy(ROOT / "inventory_panel" / "data" / "sample_inventory.csv", tmp_path / "sample_inventory.csv")
    monkeypatch.setenv("INVENTORY_DATABASE_URL", f"sqlite:///{tmp_path / 'inventory.db'}")
    monkeypatch.setenv("INVENTORY_USER", "analyst@example.com")
    monkeypatch.delenv("DATABRICKS_RUNTIME_VERSION", raising=False)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(block) for block in blocks]
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=240,
        allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError on the first cell that fails

    for cell in notebook.cells:
        assert not [o for o in cell.outputs if o.output_type == "error" or o.get("name") == "stderr"], cell.source
        last = cell.source.strip().splitlines()[-1]
        if re.match(r"(ui\.\w+|ip\.show)\(", last):
            bundles = [o.get("data", {}) for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
            assert any(PANEL_MIME in data for data in bundles), f"no Panel output for {last!r}"
