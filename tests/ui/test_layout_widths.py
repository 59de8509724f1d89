"""Layout at 1920, 1280, 1024, 800 and 390 px (issue 15): every control of every tab and of the item panel can be
reached, none is cut off, none overlaps another.

One served app (the sample items, as the local admin: every tab), one Chromium and one page for the module: it
visits the six tabs, opens an item, its delete dialog and the new-item form, and on each screen resizes the window to
each width and runs the geometry check (``tools/layout_check.LAYOUT_CHECK``, one ``page.evaluate``). The check is
repeated while the layout still changes (Bokeh lays a view out in a few passes after it appears): a sound layout
passes at once, a broken one is reported once its findings have stood for 2 s.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import open_app
from tools.layout_check import settled_problems

pytestmark = pytest.mark.ui

WIDTHS = (1920, 1280, 1024, 800, 390)  # the widths: desktop, laptop, small laptop, tablet, phone
HEIGHT = 800
# What each tab shows once its view has rendered with data (visible, in the active tab).
TABS = {
    "Inventory": ".tabulator-row",
    "Import": ".filepond--root",
    "Low stock": ".tabulator-row",
    "Analytics": "canvas",
    "Dashboard": ".guide",
    "Audit": ".tabulator-row",
}
NAME_MIN_WIDTH = 150  # the Item name column stays readable: a product name, not "Lap…"
SETTLE_SECONDS = 15.0
STABLE_SECONDS = 2.0


def layout_problems(page: Any) -> list[str]:
    return settled_problems(page, SETTLE_SECONDS, STABLE_SECONDS)


def visible(page: Any, selector: str) -> Any:
    return page.locator(f"{selector} >> visible=true").first


def name_column_width(page: Any) -> float:
    return float(visible(page, '.tabulator-col[tabulator-field="item_name"]').evaluate("e => e.offsetWidth"))


@pytest.fixture(scope="module")
def app(served_app: Any) -> Any:
    # An item low on stock with a long name: the low-stock list and the table must keep it readable.
    served_app.inventory.add(
        {
            "item_name": "Ergonomic keyboard with numeric keypad and wrist rest",
            "category": "Electronics",
            "quantity": 1,
            "unit_price": "79.90",
            "minimum_stock": 5,
            "location": "IT Storage Room",
            "supplier": "Tech Supplier Co.",
        }
    )
    return served_app


def check(page: Any, screen: str, found: list[str], extra: Any = None) -> None:
    """The geometry check of ``screen`` at each of ``WIDTHS`` (the window resized: one page load for all)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        lines = layout_problems(page) + (extra(page, width) if extra else [])
        found += [f"{screen} at {width} px: {line}" for line in lines]


def table_extras(page: Any, _width: int) -> list[str]:
    """Our pager under the table, never Tabulator's own, without Previous/Next for a single page; a readable name."""
    lines = []
    if page.locator(".tabulator-paginator >> visible=true").count():
        lines.append("Tabulator's own pager is shown instead of ours")
    if page.locator("button >> visible=true", has_text=re.compile("Previous|Next")).count():
        lines.append("Previous/Next are shown for a single page")
    if name_column_width(page) < NAME_MIN_WIDTH:
        lines.append(f"the Item name column is {name_column_width(page):.0f} px wide")
    return lines


def tabs_in_sight(page: Any, width: int) -> list[str]:
    """Every tab in sight without scrolling: Bokeh's tab bar scrolls sideways without a scroll bar."""
    tabs = page.locator(".bk-tab")
    expect(tabs).to_have_count(len(TABS))
    off = [t.inner_text() for t in tabs.all() if t.evaluate("e => e.getBoundingClientRect().right") > width]
    return [f"tabs out of sight: {', '.join(off)}"] if off else []


def test_every_screen_fits_at_every_width(app: Any, page: Any) -> None:
    open_app(page, app)
    found: list[str] = []
    for title, content in TABS.items():
        page.locator(".bk-tab", has_text=re.compile(f"^{title}$")).click()
        expect(visible(page, content)).to_be_visible(timeout=30_000)
        extras = {"Inventory": table_extras, "Low stock": table_extras, "Audit": tabs_in_sight}.get(title)
        check(page, title, found, extras)
    page.locator(".bk-tab", has_text=re.compile("^Inventory$")).click()
    visible(page, '.tabulator-cell[tabulator-field="open"]').click()
    expect(visible(page, "button:has-text('Delete item')")).to_be_visible()
    check(page, "item panel", found, table_extras)
    visible(page, "button:has-text('Delete item')").click()
    expect(visible(page, "button:has-text('Keep it')")).to_be_visible()
    check(page, "delete dialog", found)
    visible(page, "button:has-text('Keep it')").click()
    visible(page, "button:has-text('Add item')").click()
    expect(visible(page, "text=New item")).to_be_visible()
    check(page, "new-item form", found)
    assert not found, "\n".join(found)
