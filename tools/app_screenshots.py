"""Screenshots of every screen of the served app at 1280 and 800 px, light and dark: ``python tools/screenshots.py``
(``--screens``), as ``app_<screen>_<width>_<theme>.png``.

``panel serve app.py`` (the app as deployed, in its page template) on the database ``tools/screenshots.py`` seeds;
each width and theme is one browser page that visits the six tabs, the import's preview of a file with good and bad
rows, an opened item, its delete dialog and the new-item form. Every screen is also put through the layout check
(``tools/layout_check.py``): a control that cannot be reached, a label cut off or two controls on top of each other
fail the run (exit status 2), as do page and console errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.layout_check import settled_problems

WIDTHS = (1280, 800)
HEIGHT = 800
MAX_HEIGHT = 4000
# How tall the page's content is: the page's own height, or that of the template's scrolling main area.
CONTENT_HEIGHT = """() => {
  let h = document.documentElement.scrollHeight;
  for (const el of document.querySelectorAll('*')) {
    const s = getComputedStyle(el);
    if ((s.overflowY === 'auto' || s.overflowY === 'scroll') && el.scrollHeight > el.clientHeight + 1) {
      h = Math.max(h, el.getBoundingClientRect().top + el.scrollHeight + 8);
    }
  }
  return Math.ceil(h);
}"""  # a full-page shot stops here (the 100-row page of a big inventory would be very tall)


@dataclass
class Screen:
    """One screen: how to get there from the previous one, and what shows once it is there."""

    name: str
    go: Callable[[Any, Path], None]
    ready: str  # a selector, visible once the screen has rendered


def tab(title: str) -> Callable[[Any, Path], None]:
    return lambda page, _csv: page.locator(".bk-tab", has_text=re.compile(f"^{title}$")).click()


def visible(page: Any, selector: str) -> Any:
    return page.locator(f"{selector} >> visible=true").first


def upload(page: Any, csv: Path) -> None:
    tab("Import")(page, csv)
    visible(page, ".filepond--root").wait_for()
    page.locator("input[type=file]").set_input_files(str(csv))


def open_item(page: Any, _csv: Path) -> None:
    tab("Inventory")(page, _csv)
    visible(page, '.tabulator-cell[tabulator-field="open"]').click()


SCREENS = (
    Screen("inventory", tab("Inventory"), ".tabulator-row"),
    Screen("import", tab("Import"), ".filepond--root"),
    Screen("import_preview", upload, r"button:text-matches('^Import \\d')"),
    Screen("low_stock", tab("Low stock"), ".tabulator-row"),
    Screen("analytics", tab("Analytics"), "canvas"),
    Screen("dashboard", tab("Dashboard"), ".guide"),
    Screen("audit", tab("Audit"), ".tabulator-row"),
    Screen("item", open_item, "button:has-text('Delete item')"),
    Screen("delete_dialog", lambda page, _csv: visible(page, "button:has-text('Delete item')").click(), "text=Keep it"),
    Screen(
        "new_item",
        lambda page, _csv: (
            visible(page, "button:has-text('Keep it')").click(),
            visible(page, "button:has-text('Add item')").click(),
        ),
        "text=New item",
    ),
)


@dataclass
class AppShot:
    screen: str
    width: int
    theme: str
    path: Path
    errors: list[str]


def shoot_app(
    browser: Any,
    url: str,
    csv: Path,
    out: Path,
    settle: Callable[[Any], None],
    optimise: Callable[[Path], None],
    widths: Iterable[int] = WIDTHS,
    themes: Iterable[str] = ("light", "dark"),
    timeout_ms: int = 30_000,
) -> list[AppShot]:
    """Every screen of ``SCREENS`` at each of ``widths`` in each of ``themes``; ``settle`` waits until a page has
    stopped changing, ``optimise`` shrinks a PNG."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    shots: list[AppShot] = []
    for width in widths:
        for theme in themes:
            context = browser.new_context(
                viewport={"width": width, "height": HEIGHT}, device_scale_factor=1, color_scheme=theme
            )
            context.set_default_timeout(timeout_ms)
            errors: list[str] = []
            try:
                page = context.new_page()
                page.on("pageerror", lambda exc, errors=errors: errors.append(f"page error: {exc}"))
                page.on(
                    "console",
                    lambda msg, errors=errors: (
                        errors.append(f"console error: {msg.text}") if msg.type == "error" else None
                    ),
                )
                page.goto(f"{url}?theme={'dark' if theme == 'dark' else 'default'}")
                visible(page, '[data-card="items"]').wait_for()
                for screen in SCREENS:
                    found: list[str] = []
                    try:
                        screen.go(page, csv)
                        visible(page, screen.ready).wait_for()
                    except PlaywrightTimeout:
                        found.append(f"{screen.ready!r} never became visible")
                    settle(page)
                    found += settled_problems(page)
                    path = out / f"app_{screen.name}_{width}_{theme}.png"
                    # The template scrolls its main area, not the page: the window is made as tall as that area's
                    # content for the shot (a full-page shot would stop at the window's bottom), then put back.
                    height = min(int(page.evaluate(CONTENT_HEIGHT)), MAX_HEIGHT)
                    page.set_viewport_size({"width": width, "height": max(height, HEIGHT)})
                    settle(page)
                    page.screenshot(
                        path=str(path), clip={"x": 0, "y": 0, "width": width, "height": max(height, HEIGHT)}
                    )
                    page.set_viewport_size({"width": width, "height": HEIGHT})
                    optimise(path)
                    shots.append(AppShot(screen.name, width, theme, path, found + errors[:]))
                    errors.clear()
            finally:
                context.close()
    return shots
