"""Security of the UI: hostile text renders as text everywhere, and a viewer cannot write even by forcing widgets.

Two parts:
- component tests (no browser): a viewer's session whose hidden or disabled widgets are forced anyway — a button
  clicked programmatically, a cell edit event sent for a read-only table, a gated view unlocked — must change
  nothing; the service refuses, the denial is audited and the person is told;
- browser tests (real Chromium against ``panel serve app.py``): script-bearing text in every field, in the user
  name and in a stock reason shows up literally in the table, the item panel, the form, the history, the toasts,
  the confirmation, the low-stock list and the header, and never runs; and a viewer who re-enables the disabled
  "Apply" button in the browser's own Bokeh document and clicks it still changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

import inventory_panel as ip
from inventory_panel.auth import User
from inventory_panel.settings import load_settings
from inventory_panel.ui.audit_view import AuditView
from inventory_panel.ui.importer import ImportView
from inventory_panel.ui.item_panel import ItemPanel
from inventory_panel.ui.model import InventoryModel
from inventory_panel.ui.table import ItemsTable
from tests.ui.conftest import open_app

VIEWER = User("vera@example.com", "viewer", "panel-auth")
PAYLOAD = "window.__xss=(window.__xss||0)+1"
HOSTILE = {
    "item_name": f'<img src=x onerror="{PAYLOAD}">',
    "category": "<script>window.__xss=1</script>",
    "description": f'"><img src=x onerror="{PAYLOAD}">',
    "supplier": "<b>Tom</b> &amp; <i>Jerry</i>",
    "location": f"<svg onload={PAYLOAD}>",
    "sku": "<i>SKU</i>",
}
REASON = f'<img src=x onerror="{PAYLOAD}"> delivery'
HOSTILE_USER = f'<img src=x onerror="{PAYLOAD}">@example.com'


# -- a viewer forcing writes through the components (no browser) ---------------------------------------------------


@pytest.fixture
def shop(tmp_path) -> Iterator[tuple[ip.Inventory, ip.Inventory, dict[str, Any]]]:
    """(admin, viewer) on one SQLite database with one item."""
    admin = ip.connect(
        f"sqlite:///{tmp_path / 'inventory.db'}", user="admin@example.com", role="admin", settings=load_settings({})
    )
    item = admin.add(
        {"item_name": "Pallet jack", "category": "Equipment", "quantity": 4, "unit_price": "310.00", "sku": "PJ-1"}
    )
    yield admin, admin.as_user(VIEWER), item
    admin.close()


def _fingerprint(inv: ip.Inventory) -> Any:
    with inv.db.engine.connect() as conn:
        return (conn.execute(sa.select(inv.t.items)).all(), conn.execute(sa.select(inv.t.movements)).all())


def _denials(inv: ip.Inventory) -> list[tuple[str, str]]:
    rows = inv.audit_log(action="denied").rows
    return list(zip(rows["actor"], rows["detail"], strict=True))


def _told(caplog: pytest.LogCaptureFixture, words: str) -> bool:
    return any(words in record.getMessage() for record in caplog.records)


@pytest.fixture
def caplog_ui(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="inventory_panel")
    return caplog


def test_viewer_forcing_a_cell_edit_in_the_read_only_table_changes_nothing(shop, caplog_ui):
    admin, viewer, _item = shop
    table = ItemsTable(model=InventoryModel(inventory=viewer))
    before = _fingerprint(admin)
    # What the browser would send if someone re-enabled the editor: an edit event for row 0, quantity -> 999.
    frame = table.table.value.copy()
    frame.iloc[0, frame.columns.get_loc("quantity")] = 999
    table.table.value = frame
    table._on_edit(SimpleNamespace(row=0, column="quantity", value=999, old=4))
    assert _fingerprint(admin) == before
    assert _denials(admin) == [("vera@example.com", "edit refused for role viewer")]
    assert _told(caplog_ui, "vera@example.com (viewer) may not edit items.")


def test_viewer_forcing_the_hidden_form_buttons_changes_nothing(shop, caplog_ui):
    admin, viewer, item = shop
    model = InventoryModel(inventory=viewer)
    panel = ItemPanel(model=model)
    model.selected_id = item["id"]
    form = panel.form
    assert all(w.disabled for w in form.inputs.values()) and not form.save_button.visible  # hidden, not trusted
    before = _fingerprint(admin)

    form.inputs["unit_price"].param.update(value="1.00", value_input="1.00")  # forced past the disabled input
    form.save_button.clicks += 1  # edit
    assert not panel.delete_button.visible
    panel.confirm_button.clicks += 1  # delete, although the button was never shown
    panel.stock.reason.param.update(value="forced", value_input="forced")
    panel.stock.apply_button.clicks += 1  # stock adjustment with a disabled button
    panel.open_add()
    for name, value in {"item_name": "Sneaky", "category": "X", "quantity": "1", "unit_price": "1"}.items():
        panel.form.inputs[name].param.update(value=value, value_input=value)
    panel.form.save_button.clicks += 1  # add

    assert _fingerprint(admin) == before
    assert sorted(detail for _actor, detail in _denials(admin)) == [
        "add refused for role viewer",
        "adjust refused for role viewer",
        "delete refused for role viewer",
        "edit refused for role viewer",
    ]
    assert {actor for actor, _detail in _denials(admin)} == {"vera@example.com"}
    for words in ("may not edit items", "may not delete items", "may not adjust stock", "may not add items"):
        assert _told(caplog_ui, words), words


def test_viewer_forcing_an_import_changes_nothing(shop, caplog_ui):
    admin, viewer, _item = shop
    view = ImportView(model=InventoryModel(inventory=viewer))
    assert not view.allowed  # no file dropper is even built for a viewer
    data = b"item_name,category,quantity,unit_price\nSneaky,X,1,1\n"
    before = _fingerprint(admin)
    view.load(data, "sneaky.csv")  # as if a file had been dropped: the check (a dry run) is refused
    assert view.report is None
    # As if the preview had been reached anyway (a genuine preview, made by an admin) and "Import" clicked.
    view.param.update(step="preview", report=admin.import_csv(data, dry_run=True))
    asyncio.run(view.confirm())
    assert view.step != "done"
    assert _fingerprint(admin) == before
    assert _denials(admin) == [("vera@example.com", "import refused for role viewer")] * 2
    assert _told(caplog_ui, "may not import CSV files")


def test_viewer_unlocking_the_audit_view_sees_no_entry(shop, caplog_ui):
    admin, viewer, _item = shop
    view = AuditView(model=InventoryModel(inventory=viewer))
    assert not view.allowed and view.rows is None
    view.allowed = True  # bypass the view's own gate: the service still refuses
    view.reload()
    assert view.rows is None and view.total == 0
    assert _denials(admin) == [("vera@example.com", "audit refused for role viewer")]
    assert _told(caplog_ui, "may not view the audit log")


# -- in the browser -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_app(app_server_factory):
    """A served app whose local user (an admin) has a script-bearing name, with one script-bearing item."""
    server = app_server_factory(env={"INVENTORY_USER": HOSTILE_USER})
    server.inventory.add({**HOSTILE, "quantity": 2, "unit_price": "1.50", "minimum_stock": 5})
    return server


# Records every toast as the page rendered it (toasts vanish after a few seconds, so they are caught on arrival).
TOAST_RECORDER = """
window.__toasts = [];
new MutationObserver(() => {
    for (const el of document.querySelectorAll('.notyf__message:not([data-seen])')) {
        el.setAttribute('data-seen', '1');
        window.__toasts.push({html: el.innerHTML, text: el.textContent});
    }
}).observe(document, {childList: true, subtree: true});
"""


def _watch_for_script(page: Any) -> list[str]:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.add_init_script(TOAST_RECORDER)
    return dialogs


def _toasts(page: Any, containing: str) -> list[dict[str, str]]:
    return [t for t in page.evaluate("window.__toasts") if containing in t["text"]]


def _open_tab(page: Any, title: str) -> None:
    page.locator(".bk-tab", has_text=re.compile(f"^{re.escape(title)}$")).click()


def _assert_inert(page: Any, dialogs: list[str]) -> None:
    assert page.evaluate("window.__xss") is None, "a script from user data ran"
    assert dialogs == []
    # Playwright's CSS engine pierces the open shadow roots Bokeh renders into.
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("svg[onload]").count() == 0
    assert page.locator("script", has_text="window.__xss").count() == 0


@pytest.mark.ui
def test_script_bearing_text_renders_as_text_everywhere(hostile_app, page):
    name = HOSTILE["item_name"]
    dialogs = _watch_for_script(page)
    open_app(page, hostile_app)
    expect(page.get_by_text(HOSTILE_USER, exact=True).first).to_be_visible()  # the header's user name

    row = page.locator(".tabulator-row", has_text=name)
    expect(row.locator('.tabulator-cell[tabulator-field="item_name"]')).to_have_text(name)
    expect(row.locator('.tabulator-cell[tabulator-field="category"]')).to_have_text(HOSTILE["category"])
    expect(row.locator('.tabulator-cell[tabulator-field="supplier"]')).to_have_text(HOSTILE["supplier"])

    row.locator('.tabulator-cell[tabulator-field="open"]').click()
    expect(page.locator(".title", has_text=name)).to_be_visible()  # the item panel's title
    expect(page.get_by_label("Item name *")).to_have_value(name)
    expect(page.get_by_label("Description")).to_have_value(HOSTILE["description"])

    page.get_by_role("button", name="Delete item…").click()
    expect(page.get_by_text(f"Delete {name}?")).to_be_visible()  # the confirmation quotes the name as text
    page.get_by_role("button", name="Keep it").click()

    page.get_by_role("button", name="Stock", exact=True).click()
    page.get_by_label("Units").fill("3")
    page.get_by_label("Reason *").fill(REASON)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_function("window.__toasts.some(t => t.text.startsWith('Received'))")
    (toast,) = _toasts(page, "Received")
    # The toast library sets innerHTML: the name must arrive escaped and read back as the literal text.
    assert name in toast["text"] and "&lt;img" in toast["html"]

    page.get_by_role("button", name="History").click()
    expect(page.get_by_text(REASON).first).to_be_visible()

    _open_tab(page, "Low stock")
    expect(page.locator(".tabulator-cell", has_text=name).first).to_be_visible()
    _open_tab(page, "Audit")
    expect(page.locator(".tabulator-cell", has_text=REASON).first).to_be_visible()
    _open_tab(page, "Analytics")
    expect(page.locator(".bk-Canvas canvas").first).to_be_visible()
    _assert_inert(page, dialogs)


@pytest.mark.ui
def test_viewer_forcing_a_disabled_button_in_the_browser_changes_nothing(app_server_factory, page):
    server = app_server_factory(env={"INVENTORY_DEFAULT_ROLE": "viewer"})  # tester@example.com is a viewer
    item = server.inventory.add(
        {"item_name": "Forklift", "category": "Equipment", "quantity": 7, "unit_price": "99.00"}
    )
    page.add_init_script(TOAST_RECORDER)
    open_app(page, server)
    page.locator(".tabulator-row", has_text="Forklift").locator('.tabulator-cell[tabulator-field="open"]').click()
    page.get_by_role("button", name="Stock", exact=True).click()
    apply = page.get_by_role("button", name="Apply")
    expect(apply).to_be_disabled()
    # An attacker edits the page: enable the widget in the browser's Bokeh document (the change syncs to the
    # server like any property edit) and click it.
    page.evaluate("""() => {
        for (const doc of Bokeh.documents) {
            for (const model of doc._all_models.values()) {
                if (model.label === "Apply" || model.label === "Reason *" || model.title === "Reason *") {
                    model.disabled = false;
                }
            }
        }
    }""")
    expect(apply).to_be_enabled()
    page.get_by_label("Reason *").fill("forced by devtools")
    apply.click()
    # The refusal stays beside the stock form (ui/notify.py's policy: errors are not toasts).
    expect(page.locator(".alert-danger:visible")).to_contain_text("may not adjust stock")
    assert server.inventory.get(item["id"])["quantity"] == 7
    denial = server.inventory.audit_log(action="denied").rows.iloc[0]
    assert (denial["actor"], denial["detail"]) == ("tester@example.com", "adjust refused for role viewer")
