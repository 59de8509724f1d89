"""Screenshots of each public component alone, in the light and the dark theme: ``python tools/screenshots.py``.

Each component of ``inventory_panel.ui`` (README, "Notebook components") is served alone by ``panel serve
tools/screenshot_app.py`` on a fresh SQLite database holding the sample rows (plus a few stock moves, so the
audit log and the history have something to show) and shot in headless Chromium at 1280 px wide, in the light
and the dark theme, as ``component_<name>_<light|dark>.png`` (default folder ``docs/screenshots``). PNGs are
palette-quantised: screenshots of flat UI lose nothing visible and shrink several times.

A shot fails (exit status 2, one line per failure) when the page raises, logs a console error, the
component's own content does not become visible (a component that fails to render is never saved as a picture
of a blank page), or a table's columns run past the table's right edge (cut off there, though the page does not
scroll).

Then (unless ``--no-screens``) every screen of the served app, ``panel serve app.py``: each tab, the import's
preview, an item, its delete dialog and the new-item form, at 1280 and 800 px in both themes, as
``app_<screen>_<width>_<theme>.png``, each put through the layout check (tools/app_screenshots.py,
tools/layout_check.py). ``--lab`` also shoots the editor and the importer in a real JupyterLab, light and dark
theme, with the notebook tests' harness (``tools/lab_screenshots.py``).

Needs the dev requirements (Playwright; Chromium at ``/usr/bin/chromium`` or ``--chromium``).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the repository's package, not an installed copy
    sys.path.insert(0, str(ROOT))

import inventory_panel as ip  # noqa: E402  (after the path fix above)
from inventory_panel.cli import serve_args  # noqa: E402
from tools.process_group import process_group  # noqa: E402

SAMPLE_CSV = ROOT / "inventory_panel" / "data" / "sample_inventory.csv"
APP = Path(__file__).with_name("screenshot_app.py")
OUT = ROOT / "docs" / "screenshots"
WIDTH = 1280
HEIGHT = 800
THEMES = ("light", "dark")
# Notebook page backgrounds the component sits on (JupyterLab's light and dark themes).
PAGE_BACKGROUND = {"light": "#ffffff", "dark": "#111111"}

# name -> (what the component is, CSS selector of its own content: visible once it has rendered with data).
COMPONENTS: dict[str, tuple[str, str]] = {
    "editor": ("InventoryEditor", ".tabulator-row"),
    "importer": ("CsvImporter", ".filepond--root"),
    "report": ("ValidationReport", ".counts"),
    "low_stock": ("LowStock", ".tabulator-row"),
    "analytics": ("Analytics", "canvas"),
    "cards": ("SummaryCards", '[data-card="items"]'),
    "dashboard": ("DashboardFrame", ".guide"),
    "audit": ("AuditLog", ".tabulator-row"),
    "app": ("InventoryApp", '[data-card="items"]'),
}
LAB_COMPONENTS = ("editor", "importer")

# A file for ValidationReport's check: rows to add, one to update (same SKU), rejected cells and a warning.
REPORT_CSV = """item_name,category,quantity,unit_price,supplier,location,minimum_stock,sku,colour
USB-C Docking Station,Electronics,12,189.00,Tech Supplier Co.,IT Storage Room,4,ELC-DOCK-C,grey
Standing Desk Frame,Furniture,3,420.00,Office Furniture Ltd.,Warehouse A,2,FUR-DESK-STD,black
Laptop Dell XPS 13,Electronics,10,1249.99,Dell Inc.,IT Storage Room,5,ELC-XPS13,silver
Printer Paper A4,Office Supplies,-5,4.50,Paper & Co.,Supply Closet,20,OFF-PAPER-A4,white
Whiteboard Markers,Office Supplies,40,twelve,Paper & Co.,Supply Closet,10,OFF-MARK-4,
,Electronics,2,15.00,Tech Supplier Co.,Warehouse A,1,ELC-CABLE-HDMI,
"""


class ScreenshotError(RuntimeError):
    """A component did not render (page error, console error, or its content never became visible)."""


@dataclass
class Shot:
    component: str
    theme: str
    path: Path
    errors: list[str]
    scroll_width: int  # the page's width with the component on it: more than WIDTH means it scrolls sideways


def seed(db_url: str) -> None:
    """The sample rows and a few stock moves (so the audit log and low-stock list are not empty)."""
    inventory = ip.connect(db_url, user="admin@example.com", role="admin")
    try:
        with SAMPLE_CSV.open(encoding="utf-8", newline="") as fh:  # row by row: the importer is shot, not used
            for row in csv.DictReader(fh):
                inventory.add(row)
        rows = inventory.query(search="Wireless Mouse").rows
        if len(rows):
            inventory.adjust_stock(int(rows.iloc[0]["id"]), -1, "issued to room 4.12")
        rows = inventory.query(search="Office Chair").rows
        if len(rows):
            inventory.adjust_stock(int(rows.iloc[0]["id"]), 4, "delivery from Office Furniture Ltd.")
    finally:
        inventory.close()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def serve(db_url: str, report_csv: Path, log_path: Path, timeout: float = 90.0, app: Path = APP) -> Iterator[str]:
    """``panel serve tools/screenshot_app.py`` (or ``app``) on a free port; yields its URL, kills the process group
    at the end."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABRICKS_APP_NAME", "DATABRICKS_RUNTIME_VERSION")}
    env.update(
        {
            "INVENTORY_DATABASE_URL": db_url,
            "INVENTORY_USER": "admin@example.com",
            "SCREENSHOT_REPORT_CSV": str(report_csv),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        }
    )
    url = f"http://127.0.0.1:{port}/{app.stem}"
    cmd = [sys.executable, "-m", "panel", "serve", str(app), *serve_args(port, "127.0.0.1")]
    with log_path.open("wb") as log, process_group(cmd, cwd=ROOT, env=env, log=log) as process:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise ScreenshotError(f"panel serve exited with {process.returncode}: see {log_path}")
            try:
                with urllib.request.urlopen(f"{url}?component=cards", timeout=30) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise ScreenshotError(f"panel serve did not answer within {timeout:.0f} s: see {log_path}")
            time.sleep(0.25)
        yield url


def optimise(path: Path) -> None:
    """Palette-quantise the PNG in place: the file gets about 2.5 times smaller. Maximum coverage keeps every
    colour within 5 levels of the shot; median cut turned the small red out-of-stock figure brown."""
    from PIL import Image

    with Image.open(path) as image:
        quantised = image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE
        )
    quantised.save(path, optimize=True)


def settle(page: Any) -> None:
    """Wait until the page has stopped changing: no pending Bokeh/Panel work and two frames drawn."""
    with contextlib.suppress(Exception):  # a page that keeps fetching is shot anyway; the checks say if it broke
        page.wait_for_load_state("networkidle", timeout=10_000)
    page.wait_for_timeout(600)  # charts and tables finish their last layout pass after the data arrives
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


# The bounding box of the document's root view (the component), and the page's scroll width.
ROOT_BOX = """() => {
  const views = window.Bokeh && Bokeh.index ? Object.values(Bokeh.index) : [];
  const el = views.length ? views[0].el : null;
  if (!el) return null;
  const r = el.getBoundingClientRect();
  return {bottom: r.bottom + window.scrollY, height: r.height, scrollWidth: document.documentElement.scrollWidth};
}"""


# How far the widest table's columns run past its own box (Tabulator scrolls inside it, so the page does not get
# wider: a column cut off at the right edge shows only here).
TABLE_OVERFLOW = """() => {
  let worst = 0;
  const walk = root => {
    for (const el of root.querySelectorAll(".tabulator-tableholder")) {
      if (el.clientWidth > 0) worst = Math.max(worst, el.scrollWidth - el.clientWidth);
    }
    for (const el of root.querySelectorAll("*")) if (el.shadowRoot) walk(el.shadowRoot);
  };
  walk(document);
  return worst;
}"""


def shoot(browser: Any, url: str, name: str, theme: str, out: Path, timeout_ms: int = 30_000) -> Shot:
    """One component in one theme: loaded, checked, shot down to the component's bottom edge, optimised."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(
        viewport={"width": WIDTH, "height": HEIGHT},
        device_scale_factor=1,
        color_scheme="dark" if theme == "dark" else "light",
    )
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        page.on("console", lambda msg: errors.append(f"console error: {msg.text}") if msg.type == "error" else None)
        page.goto(f"{url}?component={name}&theme={'dark' if theme == 'dark' else 'default'}")
        selector = COMPONENTS[name][1]
        try:
            page.locator(selector).first.wait_for(state="visible", timeout=timeout_ms)
        except PlaywrightTimeout:
            errors.append(f"{selector!r} never became visible")
        page.add_style_tag(content=f"html, body {{ background: {PAGE_BACKGROUND[theme]}; margin: 0; }}")
        settle(page)
        box = page.evaluate(ROOT_BOX)
        if box is None or box["height"] < 8:
            errors.append("the component's root element has no size")
            box = {"bottom": HEIGHT, "height": 0, "scrollWidth": WIDTH}
        overflow = page.evaluate(TABLE_OVERFLOW)
        if overflow > 1:  # a pixel of rounding is not a cut-off column
            errors.append(f"a table's columns are {overflow} px wider than the table: the last one is cut off")
        if box["scrollWidth"] > WIDTH:  # wider than the page: it scrolls sideways (told, not a failure)
            print(f"note: {name} ({theme}) is {box['scrollWidth']} px wide at {WIDTH} px", file=sys.stderr)
        # The component and a margin under it, not the empty rest of the window.
        height = min(int(box["bottom"]) + 10, 6000)
        page.set_viewport_size({"width": WIDTH, "height": max(height, HEIGHT)})
        path = out / f"component_{name}_{theme}.png"
        page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": WIDTH, "height": height})
        optimise(path)
        return Shot(name, theme, path, errors, int(box["scrollWidth"]))
    finally:
        context.close()


def run(
    out: Path = OUT,
    components: Iterable[str] = tuple(COMPONENTS),
    themes: Iterable[str] = THEMES,
    chromium: str = "/usr/bin/chromium",
    workdir: Path | None = None,
    timeout_ms: int = 30_000,
    screens: bool = False,
) -> list[Any]:
    """Shoot ``components`` in ``themes`` into ``out`` (and with ``screens`` every screen of the served app,
    tools/app_screenshots.py); raise ``ScreenshotError`` listing every failed shot. ``timeout_ms``: how long a
    component may take to show its content."""
    from playwright.sync_api import sync_playwright

    from tools.app_screenshots import shoot_app

    out.mkdir(parents=True, exist_ok=True)
    names, theme_list = list(components), list(themes)
    unknown = sorted(set(names) - set(COMPONENTS)) + sorted(set(theme_list) - set(THEMES))
    if unknown:
        raise ScreenshotError(f"unknown component or theme: {', '.join(unknown)}")
    with contextlib.ExitStack() as stack:
        work = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="screenshots-")))
        db_url = f"sqlite:///{work / 'inventory.db'}"
        seed(db_url)
        report_csv = work / "incoming_items.csv"
        report_csv.write_text(REPORT_CSV, encoding="utf-8")
        url = stack.enter_context(serve(db_url, report_csv, work / "server.log"))
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        stack.callback(browser.close)
        shots: list[Any] = [shoot(browser, url, name, theme, out, timeout_ms) for name in names for theme in theme_list]
        if screens:
            app = stack.enter_context(serve(db_url, report_csv, work / "app.log", app=ROOT / "app.py"))
            shots += shoot_app(
                browser, app, report_csv, out, settle, optimise, themes=theme_list, timeout_ms=timeout_ms
            )
    failed = [f"{shot.path.name}: {'; '.join(shot.errors)}" for shot in shots if shot.errors]
    if failed:
        raise ScreenshotError("\n".join(failed))
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder of the PNGs (default docs/screenshots)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(COMPONENTS),
        default=list(COMPONENTS),
        help="components to shoot (default all)",
    )
    parser.add_argument("--themes", nargs="+", choices=THEMES, default=list(THEMES))
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable")
    parser.add_argument("--lab", action="store_true", help="also shoot the editor and the importer in JupyterLab")
    parser.add_argument(
        "--no-screens", action="store_true", help="only the components, not every screen of the served app"
    )
    args = parser.parse_args(argv)
    try:
        shots = run(args.out, args.only, args.themes, args.chromium, screens=not args.no_screens)
        if args.lab:
            from tools.lab_screenshots import shoot_lab

            shots += shoot_lab(args.out, LAB_COMPONENTS)
    except ScreenshotError as exc:
        print(f"screenshots failed: {exc}", file=sys.stderr)
        return 2
    for shot in shots:
        print(f"{shot.path} ({shot.path.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
