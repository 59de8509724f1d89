"""The app shell without a server: composition by role, header, summary cards, filters, empty state with sample
data, export, the start-up error page, notifications and the live-update hub."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import threading
import time
from decimal import Decimal

import pandas as pd
import panel as pn
import pytest

import inventory_panel as ip
from inventory_panel.ui import live, notify
from inventory_panel.ui.app import InventoryApp
from inventory_panel.ui.empty_state import SAMPLE_CSV, load_sample_data
from inventory_panel.ui.filters import FilterBar
from inventory_panel.ui.header import header_html
from inventory_panel.ui.inventory_view import InventoryView
from inventory_panel.ui.model import InventoryModel
from inventory_panel.ui.startup_error import startup_error_page
from inventory_panel.ui.summary import card_data


def connect_as(sqlite_url, role):
    return ip.connect(sqlite_url, user=f"{role}@example.com", role=role)


def add(inv, name, **extra):
    values = {"item_name": name, "category": "Tools", "quantity": 5, "unit_price": "2.50", **extra}
    return inv.add(values)


@pytest.mark.parametrize(
    ("role", "tabs"),
    [
        ("viewer", ["Inventory", "Low stock", "Analytics", "Dashboard"]),
        ("editor", ["Inventory", "Import", "Low stock", "Analytics", "Dashboard"]),
        ("admin", ["Inventory", "Import", "Low stock", "Analytics", "Dashboard", "Audit"]),
    ],
)
def test_tabs_follow_the_role(sqlite_url, inv, role, tabs):
    inventory = connect_as(sqlite_url, role)
    app = InventoryApp(inventory=inventory)
    assert app.titles == tabs
    assert app.inventory_view.add_button.visible is (role != "viewer")
    inventory.close()


def test_the_app_renders_inline_and_in_a_template(inv):
    add(inv, "Anvil")
    app = InventoryApp(inventory=inv)
    assert isinstance(app.__panel__(), pn.Column)
    template = app.template()
    assert isinstance(template, pn.template.FastListTemplate) and template.theme_toggle
    assert app.model.total == 1


def test_views_are_built_when_first_shown_and_told_when_they_are_hidden(inv, monkeypatch):
    queried = []
    monkeypatch.setattr(
        inv,
        "low_stock",
        lambda *a, **k: queried.append(1) or pd.DataFrame(columns=[*ip.inventory.ITEM_COLUMNS, "shortage"]),
    )
    app = InventoryApp(inventory=inv)
    assert list(app.views) == ["Inventory"] and not queried  # a new session builds only what it shows
    assert [len(slot) for slot in app.tabs] == [1, 0, 0, 0, 0, 0]
    app.show("Low stock")
    low_stock = app.views["Low stock"]
    assert low_stock.active is True and queried == [1] and len(app.tabs[2]) == 1
    app.show("Analytics")
    assert low_stock.active is False and app.views["Analytics"].active is True
    app.show("Low stock")
    assert app.views["Low stock"] is low_stock  # built once
    assert app.view("Audit").active is False  # built on request while hidden: told so
    app.show("No such tab")
    assert app.tabs.active == app.titles.index("Low stock")


def test_the_empty_state_offers_the_sample_data_and_leads_to_import(inv):
    app = InventoryApp(inventory=inv)
    view = app.inventory_view
    assert view.showing_empty
    view.empty.import_button.clicks += 1
    assert app.tabs.active == app.titles.index("Import")
    view.empty.sample_button.clicks += 1
    with SAMPLE_CSV.open(encoding="utf-8") as fh:
        expected = sum(1 for _ in csv.DictReader(fh))
    assert app.model.total == expected and app.model.summary["items"] == expected
    assert not view.showing_empty


def test_the_empty_state_add_button_opens_the_form(inv):
    view = InventoryView(model=InventoryModel(inventory=inv))
    view.empty.add_button.clicks += 1
    assert view.panel.mode == "add" and not view.showing_empty and view.table.compact


def test_a_viewer_gets_no_action_on_an_empty_inventory(sqlite_url, inv):
    viewer = connect_as(sqlite_url, "viewer")
    view = InventoryView(model=InventoryModel(inventory=viewer))
    assert not (view.empty.sample_button.visible or view.empty.add_button.visible or view.empty.import_button.visible)
    assert "Ask an editor or an administrator" in view.empty._message.object
    viewer.close()


def test_loading_sample_data_failing_is_reported(inv, monkeypatch, caplog):
    model = InventoryModel(inventory=inv)
    monkeypatch.setattr(inv, "import_csv", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    assert asyncio.run(load_sample_data(model)) is None
    assert "Loading the sample data failed because of an unexpected error" in caplog.text
    assert model.total == 0


def test_export_writes_the_filtered_view(inv):
    add(inv, "Anvil", category="Metal")
    add(inv, "=cmd|' /C calc'!A0", category="Metal")
    add(inv, "Brush", category="Paint")
    view = InventoryView(model=InventoryModel(inventory=inv))
    view.model.category = "Metal"
    rows = list(csv.DictReader(io.StringIO(view.export_button.callback().read().decode("utf-8"))))
    assert [r["item_name"] for r in rows] == ["'=cmd|' /C calc'!A0", "Anvil"]
    assert view.export_button.filename.startswith("inventory-") and view.export_button.filename.endswith(".csv")


def test_filters_and_model_stay_in_step(inv):
    add(inv, "Anvil", category="Metal", location="Shed")
    add(inv, "Brush", category="Paint")
    model = InventoryModel(inventory=inv)
    bar = FilterBar(model=model)
    assert list(bar.category.options) == ["All categories", "Metal", "Paint"]
    bar.category.value = "Paint"
    assert model.category == "Paint" and model.total == 1 and bar.clear.visible
    bar.search.value_input = "bru"
    assert model.search == "bru" and model.total == 1
    model.status = "low"
    assert bar.status.value == "low"
    bar.clear.clicks += 1
    assert (model.category, model.search, model.status) == (None, "", None) and bar.category.value == ""
    assert not bar.clear.visible
    # The box's typed text follows the model too: typing what it held before the clear filters again.
    assert bar.search.value_input == ""
    bar.search.value_input = "bru"
    assert model.search == "bru" and model.total == 1
    model.search = ""
    add(inv, "Chalk", category="Stone")
    model.changed()
    assert "Stone" in bar.category.options


def test_filter_menus_draw_their_all_choice(inv):
    """The drawn menus show "All …" at first: a value missing from the options draws a blank menu."""
    add(inv, "Anvil", category="Metal", location="Shed")
    bar = FilterBar(model=InventoryModel(inventory=inv))
    for widget, label in (
        (bar.category, "All categories"),
        (bar.location, "All locations"),
        (bar.status, "Any stock status"),
    ):
        drawn = widget.get_root()
        assert dict(drawn.options)[drawn.value] == label
    bar.model.category = "Metal"
    assert bar.category.value == "Metal"


def test_summary_cards_show_formatted_figures():
    cards = card_data(
        {
            "items": 1234,
            "units": 5,
            "total_value": Decimal("20914.1"),
            "categories": 4,
            "low_stock": 2,
            "out_of_stock": 1,
        }
    )
    values = {card["key"]: card["value"] for card in cards}
    assert values["items"] == "1,234" and values["total_value"] == "20,914.10"
    # Three cards filter the table (issue 15); the low and out cards say what they count.
    assert {card["key"]: card["filter"] for card in cards if card["filter"]} == {
        "items": "all",
        "low_stock": "low",
        "out_of_stock": "out",
    }
    assert [card["css"] for card in cards][-2:] == ["low", "out"]


def test_the_header_names_user_role_and_database_escaped(sqlite_url):
    inventory = ip.connect(sqlite_url, user="<b>eve</b>@example.com", role="editor")
    html = header_html(inventory)
    assert "&lt;b&gt;eve&lt;/b&gt;@example.com" in html and ">editor<" in html
    assert inventory.database_label in html or "SQLite" in html
    inventory.close()


def test_the_start_up_error_page_explains_without_a_traceback():
    page = startup_error_page(ip.ConfigurationError("INVENTORY_MAX_UPLOAD_MB must be a whole number, got 'x'"))
    assert "INVENTORY_MAX_UPLOAD_MB must be a whole number" in page.object and "Fix the setting" in page.object
    page = startup_error_page(ip.DatabaseUnavailableError("Cannot reach the database (PostgreSQL · h/db)"))
    assert "Cannot reach the database" in page.object and "reload this page" in page.object
    page = startup_error_page(KeyError("secret internals"))
    assert "secret internals" not in page.object and "server log" in page.object


def test_notify_logs_every_message_and_report_error_turns_failures_into_sentences(caplog):
    caplog.set_level(logging.INFO, "inventory_panel.ui")
    notify.notify("success", "Saved.")
    assert "notify success: Saved." in caplog.text
    with pytest.raises(ValueError):
        notify.notify("shout", "no such kind")
    assert notify.report_error("Adding", ip.ValidationError({"quantity": "bad"})) == "Adding failed: bad"
    assert "notify error: Adding failed: bad" in caplog.text
    try:
        1 / 0  # noqa: B018 - raised for its traceback
    except ZeroDivisionError as exc:
        notify.report_error("Adding", exc)
    assert "Adding failed because of an unexpected error. Try again; the details are in the server log." in caplog.text
    assert "ZeroDivisionError" in caplog.text  # the traceback is in the log, not in the message


class FakeSource:
    """A change source driven by the test."""

    def __init__(self):
        self.token = 0
        self.fail = False
        self.closed = threading.Event()

    def wait(self, last_token, timeout):
        self.closed.wait(0.01)
        if self.fail:
            raise ConnectionError("database restarting")
        return self.token

    def close(self):
        self.closed.set()


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_the_hub_fans_changes_out_and_survives_failures(monkeypatch):
    monkeypatch.setattr(live, "POLL_SECONDS", 0.01)
    source = FakeSource()
    hub = live.LiveHub(source)
    seen: list[int] = []
    key = hub.subscribe(seen.append)

    def broken(_token):
        raise RuntimeError("a dead session")

    hub.subscribe(broken)
    try:
        source.token = 5
        assert wait_for(lambda: seen == [5])
        source.fail = True
        time.sleep(0.1)
        source.fail, source.token = False, 6
        assert wait_for(lambda: seen == [5, 6], seconds=10)
        hub.unsubscribe(key)
        source.token = 7
        assert wait_for(lambda: hub.token == 7)
        assert seen == [5, 6] and hub.subscriber_count == 1
    finally:
        hub.stop()
    assert source.closed.is_set()


def test_one_hub_per_database_and_no_subscription_outside_a_server(inv):
    hub = live.hub_for(inv)
    assert live.hub_for(inv.as_user(inv.user)) is hub  # every session of the process shares it
    assert hub.token == inv.change_token()
    assert live.subscribe_session(hub, lambda _token: None) is None  # no server session here
    assert hub.subscriber_count == 0


def test_a_load_failure_is_shown_with_a_way_to_try_again(inv, monkeypatch):
    add(inv, "Anvil")
    view = InventoryView(model=InventoryModel(inventory=inv))
    assert not view.problem.shown and not view.retry_button.visible

    def unavailable(*_args, **_kwargs):
        raise ip.DatabaseUnavailableError("The database connection was lost. Please try again.")

    monkeypatch.setattr(inv, "change_token", unavailable)
    view.model.changed()
    assert view.problem.shown and view.problem.lines == ["The database connection was lost. Please try again."]
    assert view.retry_button.visible and view.table.table.value["item_name"].tolist() == ["Anvil"]
    monkeypatch.undo()
    view.retry_button.clicks += 1
    assert not view.problem.shown and not view.retry_button.visible


def test_a_served_session_that_ends_writes_the_count_of_the_denials_it_held_back(sqlite_url, inv, monkeypatch):
    """A viewer's session past the audited burst of denials: the rest are counted, and written when it ends."""
    from types import SimpleNamespace

    from bokeh.document import Document
    from panel.io.state import set_curdoc

    from inventory_panel.inventory import DENIAL_BURST, Inventory
    from inventory_panel.ui import serve

    monkeypatch.setenv("INVENTORY_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("INVENTORY_DEFAULT_ROLE", "viewer")
    pn.state.cache.pop(serve.CACHE_KEY, None)
    sessions: list[Inventory] = []
    as_user = Inventory.as_user
    monkeypatch.setattr(Inventory, "as_user", lambda self, user: sessions.append(as_user(self, user)) or sessions[-1])
    doc = Document()
    try:
        with set_curdoc(doc):
            serve.session_page()
        (session,) = sessions
        assert session.user.role == "viewer"
        for _ in range(DENIAL_BURST + 7):
            with pytest.raises(ip.PermissionDeniedError):
                session.delete(1, 1)

        def denied():
            return inv.audit_log(action="denied", limit=100).rows

        assert len(denied()) == DENIAL_BURST
        for callback in list(doc.session_destroyed_callbacks):  # what Bokeh does when the session ends
            callback(SimpleNamespace(id="ended", _document=doc))
        rows = denied()
        assert len(rows) == DENIAL_BURST + 1
        assert "7 more times" in rows.iloc[0]["detail"]
    finally:
        cached = pn.state.cache.pop(serve.CACHE_KEY, None)
        if cached is not None:
            cached.close()


def test_a_summary_card_filters_the_table_and_shows_the_inventory_tab(inv):
    app = InventoryApp(inventory=inv, live=False)
    app.show("Analytics")
    app.model.search = "drill"
    app.cards._pane.picked = "low:1"  # what the browser sends when the Low stock card is pressed
    assert app.titles[app.tabs.active] == "Inventory"
    assert (app.model.status, app.model.search) == ("low", "")
    app.cards._pane.picked = "all:2"
    assert app.model.status is None
