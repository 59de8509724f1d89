"""The Excel downloads in real Chromium: the Export menu's "Excel (.xlsx)" gives the filtered view, typed; the
Import view's "Excel template" is the template workbook. With ``INVENTORY_SCREENSHOTS=DIR`` the views are also
saved as PNGs."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect
from python_calamine import CalamineWorkbook

from inventory_panel.fields import FIELD_NAMES
from tests.ui.conftest import open_app

pytestmark = pytest.mark.ui


def _shoot(page, name: str) -> None:
    folder = os.environ.get("INVENTORY_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=False)


def test_the_export_menu_downloads_the_filtered_view_as_excel_or_csv(served_app, page):
    open_app(page, served_app)
    page.get_by_role("combobox").filter(has_text="All categories").select_option(label="Electronics")
    expected = served_app.inventory.to_frame(category="Electronics")
    expect(page.locator(".tabulator-row")).to_have_count(len(expected))  # the table shows the filtered view
    page.get_by_role("button", name="Export").click()
    expect(page.get_by_text("Excel (.xlsx)")).to_be_visible()
    _shoot(page, "inventory-export.png")
    with page.expect_download() as download:
        page.get_by_text("Excel (.xlsx)").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    rows = CalamineWorkbook.from_path(download.value.path()).get_sheet_by_index(0).to_python()
    assert rows[0] == list(FIELD_NAMES)
    assert sorted(r[0] for r in rows[1:]) == sorted(expected["item_name"])
    prices = {r[0]: Decimal(repr(r[3])) for r in rows[1:]}
    assert prices == dict(zip(expected["item_name"], expected["unit_price"], strict=True))
    page.get_by_role("button", name="Export").click()
    with page.expect_download() as download:
        page.get_by_text("CSV (.csv)").click()
    assert download.value.suggested_filename.endswith(".csv")
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(FIELD_NAMES) and len(lines) == len(expected) + 1


def test_the_import_view_offers_the_excel_template(served_app, page):
    open_app(page, served_app)
    page.locator(".bk-tab", has_text="Import").click()
    expect(page.get_by_role("button", name="Excel template")).to_be_visible()
    _shoot(page, "import-templates.png")
    with page.expect_download() as download:
        page.get_by_role("button", name="Excel template").click()
    assert download.value.suggested_filename == "inventory_template.xlsx"
    book = CalamineWorkbook.from_path(download.value.path())
    assert book.sheet_names == ["Items", "Columns"]
    assert book.get_sheet_by_index(0).to_python()[0] == list(FIELD_NAMES)
