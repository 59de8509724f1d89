"""Scale-out: two ``panel serve`` processes on one database, a browser on each, stay consistent.

A write made through one server process reaches the sessions of the other one — on PostgreSQL by LISTEN/NOTIFY
(each process listens; ``storage/notify.py``), on SQLite by each process polling the database's change token
(``ui/live.py``, ``PollingSource``) — and what the other process then shows comes from the database, not from
anything it cached: the edited cell, the new item, the summary cards. Two processes of ``panel serve --num-procs 2``
(Tornado's forked workers) are two such processes: nothing is shared between them but the database.
"""

from __future__ import annotations

import time
import uuid

import pytest
from playwright.sync_api import expect

from tests.ui.conftest import open_app
from tests.ui.test_app_inventory import cell, edit_cell, row, toast

pytestmark = [pytest.mark.ui, pytest.mark.slow]  # two servers and two browsers per database

LIVE_TIMEOUT_MS = 10_000  # about two seconds is the aim; a busy 2-core CI machine needs slack


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def two_servers(request, app_server_factory, tmp_path_factory):
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_server").create_database(f"scale_{uuid.uuid4().hex[:10]}")
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('scale') / 'inventory.db'}"
    return request.param, app_server_factory(db_url=url, seed=True), app_server_factory(db_url=url)


def test_a_change_in_one_process_shows_in_the_other(two_servers, new_page):
    backend, one, two = two_servers
    alice, bob = open_app(new_page(), one), open_app(new_page(), two)
    name = "Safety Helmet EN 397"
    edit_cell(alice, name, "quantity", "77")
    expect(toast(alice, f"Saved quantity of {name}.")).to_be_visible()
    saved = time.monotonic()
    expect(cell(bob, name, "quantity")).to_have_text("77", timeout=LIVE_TIMEOUT_MS)
    print(f"edit on server one visible on server two after {time.monotonic() - saved:.2f} s")

    items = one.inventory.summary()["items"]
    two.inventory.add({"item_name": "Scale-out Pallet", "category": "Logistics", "quantity": 3, "unit_price": "12.00"})
    expect(alice.locator('[data-card="items"] .value')).to_have_text(str(items + 1), timeout=LIVE_TIMEOUT_MS)
    expect(bob.locator('[data-card="items"] .value')).to_have_text(str(items + 1), timeout=LIVE_TIMEOUT_MS)
    expect(row(alice, "Scale-out Pallet")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    if backend == "postgresql":  # each process heard it over LISTEN/NOTIFY, not by polling
        for server in (one, two):
            assert "listening on PostgreSQL channel" in server.log()
