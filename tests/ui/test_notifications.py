"""The notification policy in Chromium (issue 15; ui/notify.py): what only a browser shows — an error stays
beside the thing that failed and the next result replaces it on screen, the refused fields are marked, and a
success toast covers none of the controls the person needs next (at 1280 and 800 px).

One served app and one Chromium for the module (conftest); each test works on its own items.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import open_app

pytestmark = pytest.mark.ui

# Records each toast's box once it has come to rest (after its entry animation): a toast goes after a few seconds,
# so its box is caught on arrival instead of by a test that may be slow to look on a loaded machine.
TOAST_BOXES = """
window.__toastBoxes = [];
const record = (el) => {
    if (el.__recorded || !el.isConnected) return;
    el.__recorded = true;
    const r = el.getBoundingClientRect();
    window.__toastBoxes.push({x: r.x, y: r.y, width: r.width, height: r.height, text: el.textContent});
};
new MutationObserver(() => {
    for (const el of document.querySelectorAll('.notyf__toast:not([data-watched])')) {
        el.setAttribute('data-watched', '1');
        el.addEventListener('animationend', () => record(el), {once: true});
        setTimeout(() => record(el), 1000);  // no animation (reduced motion): at rest by then
    }
}).observe(document, {childList: true, subtree: true});
"""
CONTROLS = "button:visible, input:visible, select:visible, textarea:visible"


def cell(page: Any, name: str, field: str) -> Any:
    return page.locator(".tabulator-row", has_text=name).locator(f'.tabulator-cell[tabulator-field="{field}"]')


def edit_cell(page: Any, name: str, field: str, value: str) -> None:
    target = cell(page, name, field)
    target.click()
    editor = target.locator("input")
    editor.fill(value)
    editor.press("Enter")


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


def covered_controls(page: Any, toast: dict[str, float]) -> list[str]:
    """The visible controls of the page that ``toast``'s box lies over."""
    hits = []
    for control in page.locator(CONTROLS).all():
        box = control.bounding_box()
        if box and box["width"] > 0 and box["height"] > 0 and overlaps(toast, box):
            hits.append(control.evaluate("e => e.outerHTML.slice(0, 120)"))
    return hits


@pytest.mark.parametrize("width", [1280, 800])
def test_a_refused_form_marks_its_fields_and_the_success_toast_covers_no_control(served_app, new_page, width):
    page = new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.add_init_script(TOAST_BOXES)
    open_app(page, served_app)
    page.get_by_role("button", name="+ Add item").click()
    page.get_by_role("button", name="Add item", exact=True).click()

    # The error stays beside the form, naming the fields by their labels; the refused inputs are marked.
    notice = page.locator(".alert-danger:visible")
    expect(notice).to_contain_text("Correct the marked fields")
    expect(notice).to_contain_text("Item name is required")
    expect(notice).not_to_contain_text("item_name")
    marked = page.locator(".invalid input:visible")
    expect(marked).to_have_count(4)  # item name, category, quantity, unit price
    colours = page.locator(".invalid input:visible").first.evaluate("e => getComputedStyle(e).borderColor")
    plain = page.get_by_label("Supplier").evaluate("e => getComputedStyle(e).borderColor")
    assert colours != plain
    expect(page.locator(".notyf__toast")).to_have_count(0)  # no error toast over the form

    name = f"Notified item {width}"
    page.get_by_label("Item name *").fill(name)
    expect(marked).to_have_count(3)  # typing in a marked field takes its mark away
    page.get_by_label("Category *").fill("Notices")
    page.get_by_label("Quantity *").fill("3")
    page.get_by_label("Unit price *").fill("1.50")
    page.get_by_role("button", name="Add item", exact=True).click()

    # The success replaces the error: a brief toast, no notice and no mark left.
    expect(page.locator(".notyf__message", has_text=f"Added {name}.")).to_be_visible()
    expect(page.locator(".alert-danger:visible")).to_have_count(0)
    expect(page.locator(".invalid input:visible")).to_have_count(0)
    page.wait_for_function("window.__toastBoxes.length > 0")
    (toast,) = page.evaluate("window.__toastBoxes")
    # The controls as they are once the toast has gone by itself (brief), none of them moving under the count.
    expect(page.locator(".notyf__toast")).to_have_count(0)
    assert covered_controls(page, toast) == []
    # Decisive whatever is scrolled under it: the toast lies within the title bar, which stays on top.
    header = page.locator("#header").bounding_box()
    assert header is not None and toast["y"] + toast["height"] <= header["y"] + header["height"], (toast, header)


def test_a_new_result_replaces_the_old_error_beside_the_table(served_app, page):
    inventory = served_app.inventory
    for name, sku in (("Replace me A", "NTF-A"), ("Replace me B", "NTF-B")):
        inventory.add({"item_name": name, "category": "Notices", "quantity": 4, "unit_price": "2.00", "sku": sku})
    open_app(page, served_app)
    page.get_by_placeholder("Search", exact=False).first.fill("Replace me")
    expect(page.locator(".tabulator-row")).to_have_count(2)
    errors = page.locator(".alert-danger:visible")

    edit_cell(page, "Replace me A", "unit_price", "1.234")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("Unit price may have at most 2 decimal places")

    edit_cell(page, "Replace me A", "sku", "NTF-B")  # a SKU in use: said to be taken, not an edit conflict
    expect(errors).to_contain_text("SKU 'NTF-B' is already used by another item. Enter a different SKU.")
    expect(errors).to_have_count(1)  # the new error replaced the old one
    expect(errors).not_to_contain_text("decimal places")
    expect(page.locator(".alert-warning:visible")).to_have_count(0)

    edit_cell(page, "Replace me A", "quantity", "5")
    expect(page.locator(".notyf__message", has_text="Saved quantity of Replace me A.")).to_be_visible()
    expect(errors).to_have_count(0)  # and the success replaced the error
