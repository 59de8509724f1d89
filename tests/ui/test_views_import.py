"""The Import view in real Chromium against ``panel serve app.py``: upload a CSV with good and bad rows, read the
preview, confirm, compare the counts with the database and the table, download the error file.

One served app (sample data) for the module; each test imports its own rows (distinct SKUs), so order is free.
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
TIMEOUT_MS = 30_000


def open_import(page, server):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    open_app(page, server)
    page.locator(".bk-tab", has_text=re.compile(r"^Import$")).click()
    expect(page.get_by_text("Import items from CSV")).to_be_visible()
    return dialogs


def write_csv(tmp_path: Path, name: str, rows: list[list[str]]) -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["item_name", "category", "quantity", "unit_price", "location", "sku"])
        writer.writerows(rows)
    return path


def items_with_sku_prefix(inventory, prefix: str) -> list[dict]:
    rows = inventory.query(search=prefix, limit=100).rows
    return rows[rows["sku"].fillna("").str.startswith(prefix)].to_dict("records")


def test_upload_preview_confirm_and_error_file(served_app, page, tmp_path):
    inventory = served_app.inventory
    source = write_csv(
        tmp_path,
        "delivery.csv",
        [
            ["Cordless Drill", "Tools", "12", "89.90", "Warehouse A", "IMP-1"],
            ["Safety Goggles", "Safety Equipment", "-3", "7.50", "Safety Locker", "IMP-2"],
            [XSS, "Tools", "4", "12.00", "Dock 3", "IMP-3"],
            ["Pallet Jack", "Tools", "1.5", "450.00", "Warehouse B", "IMP-4"],
            ["Label Printer", "Electronics", "4", "abc", "IT Storage Room", "IMP-5"],
        ],
    )
    dialogs = open_import(page, served_app)
    expect(page.get_by_text("16 MB", exact=True)).to_be_visible()  # the upload limit is shown
    before = inventory.summary()["items"]

    page.locator("input[type=file]").set_input_files(str(source))
    expect(page.get_by_text("Check finished — nothing has been written yet.")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator('[data-count="to-add"] .value')).to_have_text("2")
    expect(page.locator('[data-count="rejected"] .value')).to_have_text("3")
    problems = page.locator(".tabulator-row", has=page.locator('.tabulator-cell[tabulator-field="message"]'))
    expect(problems).to_have_count(3)
    expect(problems.nth(0)).to_contain_text("Quantity must be 0 or greater")
    expect(problems.nth(1)).to_contain_text("Quantity must be a whole number")
    expect(problems.nth(2)).to_contain_text("abc")
    assert [problems.nth(i).locator('[tabulator-field="row"]').inner_text() for i in range(3)] == ["3", "5", "6"]
    assert inventory.summary()["items"] == before  # nothing written before the person confirms

    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.get_by_text("Import finished.")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator('[data-count="added"] .value')).to_have_text("2")
    expect(page.locator('[data-count="rejected"] .value')).to_have_text("3")
    imported = items_with_sku_prefix(inventory, "IMP-")
    assert sorted(r["item_name"] for r in imported) == sorted(["Cordless Drill", XSS])
    assert inventory.summary()["items"] == before + 2

    with page.expect_download() as download:
        page.get_by_role("button", name="Download error file").click()
    assert download.value.suggested_filename == "import_errors.csv"
    rejected = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert [r["sku"] for r in rejected] == ["IMP-2", "IMP-4", "IMP-5"]
    assert rejected[0]["error"] == "Quantity must be 0 or greater"

    # The items table shows what was imported, the hostile name as text.
    page.locator(".bk-tab", has_text=re.compile(r"^Inventory$")).click()
    search = page.get_by_placeholder(re.compile("Search name"))
    search.fill("IMP-")
    names = page.locator('.tabulator-row .tabulator-cell[tabulator-field="item_name"]')
    expect(names).to_have_count(2)
    assert sorted(names.all_inner_texts()) == sorted(["Cordless Drill", XSS])
    assert dialogs == []


def test_a_refused_file_is_explained_and_nothing_is_written(served_app, page, tmp_path):
    inventory = served_app.inventory
    source = tmp_path / "shirts.csv"
    source.write_text("colour,size\nred,XL\n", encoding="utf-8")
    open_import(page, served_app)
    before = inventory.change_token()
    page.locator("input[type=file]").set_input_files(str(source))
    expect(page.get_by_text("the file was refused; nothing was imported.")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text(re.compile("item_name")).first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile("^Import \\d"))).to_have_count(0)
    assert inventory.change_token() == before


def test_template_download(served_app, page):
    open_import(page, served_app)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download template").click()
    header = Path(download.value.path()).read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",")[:4] == ["item_name", "category", "quantity", "unit_price"]


def picker_states(page) -> list[int]:
    """FilePond's status of each file in the picker (5: processing complete, 3: processing), read from its API."""
    return page.locator(".filepond--root").evaluate("root => FilePond.find(root).getFiles().map(f => f.status)")


def test_the_file_chip_is_complete_when_the_server_has_the_file(served_app, page, tmp_path):
    """FilePond's default minimum upload duration kept the chip at "Uploading 58%" for up to 1.5 s after the server
    had the whole file, and longer on a busy page, while the check's results were on screen (issue 15). Read at the
    server's first answer to the upload (the check's step line), without waiting."""
    source = write_csv(tmp_path, "chip.csv", [["Chip Clip", "Tools", "1", "1.00", "Dock 1", "CHIP-1"]])
    open_import(page, served_app)
    page.locator("input[type=file]").set_input_files(str(source))
    expect(page.get_by_text(re.compile("Checking the file|Would import"))).to_be_visible(timeout=TIMEOUT_MS)
    assert picker_states(page) == [5]
    expect(page.get_by_text("Check finished — nothing has been written yet.")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(".filepond--item .filepond--file-status-main")).to_have_text("Upload complete")


def test_choose_another_file_empties_the_picker(served_app, page, tmp_path):
    """After a refused file, "Choose another file" leaves no old file in the picker (issue 15)."""
    source = tmp_path / "wrong.csv"
    source.write_text("colour,size\nred,XL\n", encoding="utf-8")
    open_import(page, served_app)
    page.locator("input[type=file]").set_input_files(str(source))
    expect(page.get_by_text("the file was refused; nothing was imported.")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(".filepond--item")).to_have_count(1)
    page.get_by_role("button", name="Choose another file").click()
    expect(page.locator(".filepond--item")).to_have_count(0, timeout=TIMEOUT_MS)
    expect(page.get_by_text("the file was refused; nothing was imported.")).to_be_hidden()
    # The next file is checked as usual (the emptied picker takes a new one).
    good = write_csv(tmp_path, "again.csv", [["Hex Key", "Tools", "3", "2.00", "Dock 2", "AGAIN-1"]])
    page.locator("input[type=file]").set_input_files(str(good))
    expect(page.get_by_text("Check finished — nothing has been written yet.")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.locator(".filepond--item")).to_have_count(1)


def test_a_normal_session_leaves_no_reference_already_known_in_the_log(served_app, page, tmp_path):
    """Issue 15's log noise: the page re-sent the file picker it had received with the Import tab, and the server
    logged "BokehUserWarning: reference already known" (``ui/served/session_sync.py``). A session that opens the
    app, checks a file and cancels leaves none (nor do the module's other sessions before it)."""
    source = write_csv(tmp_path, "quiet.csv", [["Quiet Fan", "Tools", "2", "30.00", "Dock 4", "QUIET-1"]])
    open_import(page, served_app)
    page.locator("input[type=file]").set_input_files(str(source))
    expect(page.get_by_text("Check finished — nothing has been written yet.")).to_be_visible(timeout=TIMEOUT_MS)
    page.locator(".bk-btn", has_text="Cancel").click()
    expect(page.get_by_text("Check finished — nothing has been written yet.")).to_be_hidden()
    log = served_app.log()
    assert "WebSocket connection opened" in log
    assert "reference already known" not in log
