"""The editor and the importer shot in a real JupyterLab 4 (``python tools/screenshots.py --lab``).

Uses the notebook tests' harness (``tests/notebook/lab.py``): ``jupyter lab`` in a subprocess with a private
configuration, headless Chromium, Bokeh's and Panel's CDN files answered from the installed wheels (no network).
Each component is the last expression of its own cell, as the README shows it, in JupyterLab's light theme and in
its dark one; the PNG is the cell's output area: ``component_<name>_jupyterlab_<light|dark>.png``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tools.screenshots import ROOT, ScreenshotError, Shot, optimise, seed

CELLS = {
    "editor": "ui.InventoryEditor(inventory=inv)",
    "importer": "ui.CsvImporter(inventory=inv)",
}
READY = {"editor": ".tabulator-row", "importer": ".filepond--root"}
LAB_THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}


def set_lab_theme(lab: Any, theme: str) -> None:
    """Choose JupyterLab's theme in the server's private settings (read when a page loads; where
    ``tests.notebook.lab.JupyterLab`` keeps them)."""
    settings = lab.root.parent / f"{lab.root.name}-jupyter" / "settings"
    path = settings / "@jupyterlab" / "apputils-extension" / "themes.jupyterlab-settings"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"theme": LAB_THEMES[theme]}))


def shoot_lab(
    out: Path, components: Iterable[str], themes: Iterable[str] = tuple(LAB_THEMES), chromium: str = "/usr/bin/chromium"
) -> list[Shot]:
    from playwright.sync_api import sync_playwright

    from tests.notebook.lab import JupyterLab

    names, shots = list(components), []
    with tempfile.TemporaryDirectory(prefix="lab-shots-") as tmp, sync_playwright() as playwright:
        work = Path(tmp)
        db_url = f"sqlite:///{work / 'inventory.db'}"
        seed(db_url)
        root = work / "lab"
        root.mkdir()
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        lab = JupyterLab(
            root,
            browser,
            env={"INVENTORY_DATABASE_URL": db_url, "PYTHONPATH": str(ROOT), "INVENTORY_USER": "admin@example.com"},
        )
        try:
            for theme in themes:
                set_lab_theme(lab, theme)
                setup = (
                    "import inventory_panel as ip\nfrom inventory_panel import ui\n\n"
                    f"inv = ip.connect({db_url!r}, user='admin@example.com', role='admin')"
                )
                session = lab.open([setup, *(CELLS[name] for name in names)])
                try:
                    session.run_all(timeout=120)
                    for index, name in enumerate(names, start=1):
                        output = session.output(index)
                        output.scroll_into_view_if_needed()
                        errors: list[str] = []
                        try:
                            output.locator(READY[name]).first.wait_for(state="visible", timeout=30_000)
                        except Exception as exc:  # noqa: BLE001 - Playwright's timeout: recorded as a failure
                            errors.append(f"{READY[name]!r} never became visible in JupyterLab ({exc})")
                        session.page.wait_for_timeout(800)  # the last layout pass after the data arrives
                        path = out / f"component_{name}_jupyterlab_{theme}.png"
                        output.screenshot(path=str(path))
                        optimise(path)
                        problems = {k: v for k, v in session.problems().items() if v}
                        if problems:
                            errors.append(json.dumps(problems)[:2000])
                        shots.append(Shot(name, f"jupyterlab {theme}", path, errors, 0))
                finally:
                    session.close()
        finally:
            lab.close()
            browser.close()
    failed = [f"{shot.component} ({shot.theme}): {'; '.join(shot.errors)}" for shot in shots if shot.errors]
    if failed:
        raise ScreenshotError("\n".join(failed))
    return shots
