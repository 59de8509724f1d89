"""Low stock, Analytics, Audit and Dashboard in real Chromium against ``panel serve app.py``.

Two served apps: the sample data as the local admin, and an editor's app with a dashboard configured. The
views are checked for what they show (order, charts, escaping) and who may see them (the audit log: admins only).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import open_app

pytestmark = pytest.mark.ui

XSS = "<img src=x onerror=alert(1)>"
DASHBOARD_ENV = {
    "INVENTORY_DEFAULT_ROLE": "editor",
    "INVENTORY_ADMINS": "someone-else@example.com",
    "DATABRICKS_HOST": "https://adb-123.4.azuredatabricks.net",
    "DATABRICKS_WORKSPACE_ID": "123",
    "DASHBOARD_ID": "01ef0123456789abcdef",
}


def open_tab(page, server, title: str) -> list[str]:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_app(page, server)
    page.locator(".bk-tab", has_text=re.compile(f"^{title}$")).click()
    return dialogs


def tab_titles(page) -> list[str]:
    return [t.strip() for t in page.locator(".bk-tab").all_inner_texts()]


@pytest.fixture(scope="module")
def hostile_item(served_app):
    """An item named like an attack, low on stock, so it shows in every view."""
    return served_app.inventory.add(
        {
            "item_name": XSS,
            "category": XSS,
            "quantity": 1,
            "unit_price": "99999.00",
            "minimum_stock": 30,
            "location": XSS,
            "supplier": XSS,
        }
    )


@pytest.fixture(scope="module")
def editor_app(app_server_factory):
    return app_server_factory(env=DASHBOARD_ENV, seed=True)


def test_low_stock_is_sorted_by_shortage_with_suppliers(served_app, hostile_item, page):
    dialogs = open_tab(page, served_app, "Low stock")
    expected = served_app.inventory.low_stock()
    names = page.locator('.tabulator-row .tabulator-cell[tabulator-field="item_name"]')
    expect(names).to_have_count(len(expected))
    assert names.all_inner_texts() == list(expected["item_name"])
    shortages = [int(s) for s in page.locator('.tabulator-row [tabulator-field="shortage"]').all_inner_texts()]
    assert shortages == sorted(shortages, reverse=True) and shortages[0] == 29
    first = page.locator(".tabulator-row").first
    expect(first.locator('[tabulator-field="supplier"]')).to_have_text(XSS)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download reorder list").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert sorted(r["item_name"] for r in rows) == sorted(expected["item_name"])
    assert dialogs == []


def test_analytics_draws_four_charts(served_app, hostile_item, page):
    dialogs = open_tab(page, served_app, "Analytics")
    for heading in (
        "Stock value by category",
        "Items by stock status",
        "Top 10 items by value",
        "Units in stock by location",
    ):
        expect(page.get_by_text(heading)).to_be_visible()
    canvases = page.locator(".bk-Canvas canvas")
    expect(canvases.first).to_be_visible()
    assert canvases.count() >= 4
    sizes = [canvases.nth(i).evaluate("c => [c.width, c.height]") for i in range(canvases.count())]
    assert all(w > 200 and h > 200 for w, h in sizes)
    assert dialogs == []


def test_audit_log_for_admins(served_app, hostile_item, page):
    dialogs = open_tab(page, served_app, "Audit")
    assert "Audit" in tab_titles(page)
    expect(page.get_by_text("Audit log", exact=True)).to_be_visible()
    newest = served_app.inventory.audit_log(limit=1).rows.iloc[0]
    first = page.locator(".tabulator-row").first
    expect(first.locator('[tabulator-field="actor"]')).to_have_text(newest["actor"])
    page.get_by_role("combobox").filter(has_text="All actions").select_option(label="Added")
    expect(page.locator(".tabulator-row").first.locator('[tabulator-field="action"]')).to_have_text("Added")
    expect(page.get_by_text(re.compile(r"^Showing 1–\d+ of \d+"))).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert rows and {r["action"] for r in rows} == {"add"}
    assert dialogs == []


def test_editors_see_no_audit_tab_and_the_configured_dashboard(editor_app, page):
    open_app(page, editor_app)
    titles = tab_titles(page)
    assert "Audit" not in titles and "Dashboard" in titles and "Import" in titles
    page.locator(".bk-tab", has_text=re.compile("^Dashboard$")).click()
    frame = page.locator("iframe[title='Databricks AI/BI dashboard']")
    expect(frame).to_have_attribute(
        "src", "https://adb-123.4.azuredatabricks.net/embed/dashboardsv3/01ef0123456789abcdef?o=123"
    )
    assert "allow-scripts" in frame.get_attribute("sandbox")


def test_dashboard_without_configuration_explains_it(served_app, page):
    open_tab(page, served_app, "Dashboard")
    expect(page.get_by_text("Connect a Databricks AI/BI dashboard")).to_be_visible()
    for name in ("DATABRICKS_HOST", "DATABRICKS_WORKSPACE_ID", "DASHBOARD_ID"):
        expect(page.locator("td code", has_text=re.compile(f"^{name}$"))).to_be_visible()
    expect(page.locator("iframe")).to_have_count(0)
