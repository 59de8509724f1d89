"""Starting the served app: an empty inventory's first page and its one-click sample data, and a database that
cannot be reached (a clear page, no traceback)."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.support.postgres import free_port
from tests.ui.conftest import open_app

pytestmark = pytest.mark.ui


def test_an_empty_inventory_offers_the_sample_data(app_server_factory, page):
    server = app_server_factory()
    page.goto(server.url)
    expect(page.get_by_text("Your inventory is empty")).to_be_visible()
    expect(page.locator('[data-card="items"] .value')).to_have_text("0")
    page.get_by_role("button", name="Load sample data").click()
    expect(page.locator(".notyf__message", has_text="Loaded 10 sample items.")).to_be_visible()
    expect(page.locator(".tabulator-row")).to_have_count(10)
    expect(page.locator('[data-card="items"] .value')).to_have_text("10")
    expect(page.get_by_text("Your inventory is empty")).to_be_hidden()
    assert server.inventory.summary()["items"] == 10


def test_an_unreachable_database_gives_a_page_that_says_so(app_server_factory, page):
    unreachable = f"postgresql+psycopg2://inventory:secret@127.0.0.1:{free_port()}/inventory"
    server = app_server_factory(env={"INVENTORY_DATABASE_URL": unreachable})
    page.goto(server.url)
    problem = page.locator(".problem")
    expect(problem).to_contain_text("The inventory is not available")
    expect(problem).to_contain_text("Cannot reach the database")
    expect(problem).to_contain_text("Check that the database is running")
    assert "Traceback" not in problem.inner_text() and "secret" not in problem.inner_text()


@pytest.mark.postgres
def test_on_postgresql_edits_persist_and_reach_other_sessions(app_server_factory, pg_server, new_page):
    server = app_server_factory(db_url=pg_server.create_database(f"ui_{uuid.uuid4().hex[:12]}"), seed=True)
    first, second = open_app(new_page(), server), open_app(new_page(), server)
    quantity = first.locator(".tabulator-row", has_text="Safety Helmet EN 397").locator(
        '.tabulator-cell[tabulator-field="quantity"]'
    )
    quantity.click()
    quantity.locator("input").fill("44")
    quantity.locator("input").press("Enter")
    expect(first.locator(".notyf__message", has_text="Saved quantity of Safety Helmet EN 397.")).to_be_visible()
    assert server.inventory.query(search="Safety Helmet").rows.iloc[0]["quantity"] == 44
    expect(
        second.locator(".tabulator-row", has_text="Safety Helmet EN 397").locator(
            '.tabulator-cell[tabulator-field="quantity"]'
        )
    ).to_have_text("44", timeout=10_000)
    server.inventory.add({"item_name": "From another process", "category": "Misc", "quantity": 1, "unit_price": "1"})
    expect(second.locator(".tabulator-row", has_text="From another process")).to_be_visible(timeout=10_000)
