"""``show`` on Databricks switches to ipywidgets comms without publishing Panel's loader a second time.

Every ``pn.extension`` call in a kernel publishes Panel 1.9.4's BokehJS loader again. In the browser that second
loader, when it starts while the first one is still loading (a notebook run with Run All), sets ``window.Bokeh`` to
undefined and loads BokehJS and Panel once more; jupyter_bokeh's view of the ipywidget ``show`` returns in the same
cell calls ``window.Bokeh.require`` when it is created and fails ("Could not create a view for model id"). The
JupyterLab side of this is ``tests/notebook/test_databricks_path.py``; here the kernel side, in a subprocess with an
IPython shell that records what is published (Panel's extension state is per process).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# A stand-in kernel: what Panel asks of IPython to decide it is in a notebook, and a record of display_data.
KERNEL = """
import builtins, json, types
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
shell.kernel = types.SimpleNamespace(comm_manager=types.SimpleNamespace(register_target=lambda *a, **k: None))
published = []
shell.display_pub.publish = lambda data, metadata=None, **kw: published.append(data)
builtins.__IPYTHON__ = True
builtins.get_ipython = lambda: shell
import panel as pn

def loaders():
    # Panel's loader: the JavaScript that injects the BokehJS/Panel bundles into the page.
    return sum("_bokeh_onload_callbacks" in str(d.get("application/javascript", "")) for d in published)

pn.extension("tabulator", "filedropper", "modal")  # the notebook's first cell (docs/databricks.md)
first = loaders()
published.clear()
"""


def run(code: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", KERNEL + code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]  # the result, whatever else printed
    assert lines, f"no result:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(lines[-1])


def test_show_switches_to_ipywidgets_comms_without_loading_bokehjs_again() -> None:
    result = run("""
from inventory_panel.databricks.notebook import show
widget = show(pn.pane.Markdown("x"), mode="ipywidgets")
probe = type(widget.children[0]).__name__  # show's container holds the probe first (databricks/widget_view.py)
print(json.dumps({"first": first, "again": loaders(), "comms": pn.config.comms, "widget": probe}))
""")
    assert result["first"] == 1  # the stand-in kernel sees Panel's loader
    assert result == {"first": 1, "again": 0, "comms": "ipywidgets", "widget": "BokehModel"}


def test_panel_still_loads_bokehjs_again_on_every_extension_call() -> None:
    """Why ``ensure_extensions`` sets ``pn.config.comms`` itself once the extensions are loaded (docs/workarounds.md).
    When this fails, a second ``pn.extension(comms=...)`` no longer publishes the loader and the workaround can go."""
    result = run("""
pn.extension(comms="ipywidgets")
print(json.dumps({"first": first, "again": loaders()}))
""")
    assert result == {"first": 1, "again": 1}
