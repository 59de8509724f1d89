"""Live updates across processes on PostgreSQL: NOTIFY on commit, LISTEN with reconnection, SQLite polls.

The writer and the listener use separate engines, as two server processes would.
"""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

import inventory_panel as ip
from inventory_panel.settings import load_settings
from inventory_panel.storage.notify import PostgresChangeListener, channel_name
from inventory_panel.ui.live import LiveHub, PollingSource, default_source

pytestmark = pytest.mark.slow  # waits on live updates across engines

ITEM = {"item_name": "Pallet", "category": "Stock", "quantity": 3, "unit_price": "5.00"}


def _connect(url: str, settings=None) -> ip.Inventory:
    return ip.connect(url, user="a@example.com", role="admin", settings=settings or load_settings({}))


def _wait_for(listener: PostgresChangeListener, last: int, deadline: float = 2.0) -> int:
    """Keep waiting (as the hub does, in short slices) until the token moves past ``last`` or ``deadline``."""
    end = time.monotonic() + deadline
    token = last
    while token == last and time.monotonic() < end:
        token = listener.wait(last, 0.2)
    return token


@pytest.fixture
def pair(pg_url):
    """A writer and a listener on one PostgreSQL database, each with its own engine (two processes)."""
    writer, reader = _connect(pg_url), _connect(pg_url)
    listener = reader.change_listener()
    yield writer, reader, listener
    listener.close()
    writer.close()
    reader.close()


@pytest.mark.postgres
def test_a_commit_in_another_process_is_announced_at_once(pair):
    writer, reader, listener = pair
    start = listener.wait(0, 0.1)  # connects and reads the current token
    assert listener.connected and start == reader.change_token()
    began = time.monotonic()
    item = writer.add(ITEM)
    assert _wait_for(listener, start) == writer.change_token()
    assert time.monotonic() - began < 2.0
    writer.adjust_stock(item["id"], 2, "delivery")
    assert _wait_for(listener, writer.change_token() - 1) == writer.change_token()


@pytest.mark.postgres
def test_a_rolled_back_write_announces_nothing(pair):
    writer, _reader, listener = pair
    start = listener.wait(0, 0.1)
    with pytest.raises(RuntimeError), writer.transaction() as conn:
        writer.record_audit(conn, "update", detail="never committed")
        raise RuntimeError("abandon")
    assert _wait_for(listener, start, deadline=1.0) == start


@pytest.mark.postgres
def test_an_import_is_one_announcement_of_its_newest_token(pair):
    writer, _reader, listener = pair
    start = listener.wait(0, 0.1)
    rows = "".join(f"Item {i},Stock,{i},1.00,SKU-{i}\n" for i in range(50))
    writer.import_csv(("item_name,category,quantity,unit_price,sku\n" + rows).encode(), mode="upsert")
    assert _wait_for(listener, start) == writer.change_token()


@pytest.mark.postgres
def test_the_listener_reconnects_and_catches_up_on_what_it_missed(pair):
    writer, _reader, listener = pair
    start = listener.wait(0, 0.1)
    listening = (
        "FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"
    )

    def count() -> int:
        with writer.db.engine.connect() as conn:  # a new transaction: pg_stat_activity is a per-transaction snapshot
            return conn.execute(sa.text(f"SELECT count(*) {listening}")).scalar_one()

    assert count() == 1
    with writer.db.engine.connect() as conn:
        conn.execute(sa.text(f"SELECT pg_terminate_backend(pid) {listening}"))
    deadline = time.monotonic() + 5
    while count() and time.monotonic() < deadline:
        time.sleep(0.05)
    writer.add(ITEM)  # announced while nobody listens: lost, unless the listener re-reads on reconnecting
    with pytest.raises(Exception):  # noqa: B017 - the driver's error for a dropped connection
        _wait_for(listener, start)
    assert not listener.connected
    assert listener.wait(start, 0.1) == writer.change_token()  # reconnected and re-read the token
    writer.add({**ITEM, "item_name": "Second"})
    assert _wait_for(listener, writer.change_token() - 1) == writer.change_token()


@pytest.mark.postgres
def test_close_releases_a_blocked_wait_and_the_connection(pair):
    _writer, _reader, listener = pair
    start = listener.wait(0, 0.1)
    returned = []
    waiter = threading.Thread(target=lambda: returned.append(listener.wait(start, 30)))
    waiter.start()
    time.sleep(0.2)
    began = time.monotonic()
    listener.close()
    waiter.join(5)
    # Unreleased, the wait would last its 30 s: the bound is far from both outcomes (a loaded machine cannot flip it).
    assert returned == [start] and time.monotonic() - began < 4.0
    assert not listener.connected


@pytest.mark.postgres
def test_each_inventory_has_its_own_channel(pg_url):
    east = _connect(pg_url, load_settings({"POSTGRES_SCHEMA": "east"}))
    west = _connect(pg_url, load_settings({"POSTGRES_SCHEMA": "west"}))
    listener = west.change_listener()
    try:
        start = listener.wait(0, 0.1)
        east.add(ITEM)
        assert _wait_for(listener, start, deadline=1.0) == start
        west.add(ITEM)
        assert _wait_for(listener, start) == west.change_token()
    finally:
        listener.close()
        east.close()
        west.close()


@pytest.mark.postgres
def test_the_live_hub_on_postgresql_hears_other_processes(pair):
    writer, reader, listener = pair
    listener.close()
    hub = LiveHub(default_source(reader))
    heard: list[int] = []
    got = threading.Event()
    hub.token = reader.change_token()
    hub.subscribe(lambda token: (heard.append(token), got.set()))
    try:
        time.sleep(0.3)  # the hub's thread is listening
        writer.add(ITEM)
        assert got.wait(2.0) and heard[-1] == writer.change_token()
        assert isinstance(hub.source, PostgresChangeListener)
    finally:
        hub.stop()


def test_sqlite_falls_back_to_polling(sqlite_url):
    inv = _connect(sqlite_url)
    try:
        assert inv.change_listener() is None
        assert isinstance(default_source(inv), PollingSource)
    finally:
        inv.close()


def test_channel_names_fit_postgresql_and_stay_distinct():
    assert channel_name("inventory_app", "inventory_items") == "inventory_app.inventory_items"
    long_a, long_b = channel_name("s" * 63, "a" * 63), channel_name("s" * 63, "b" * 63)
    assert len(long_a.encode()) <= 63 and len(long_b.encode()) <= 63 and long_a != long_b


@pytest.mark.postgres
def test_the_notify_trigger_uses_the_channel_the_listener_listens_on(pair):
    writer, _reader, listener = pair
    with writer.db.engine.connect() as conn:
        source = conn.execute(
            sa.text("SELECT prosrc FROM pg_proc WHERE proname = :n"), {"n": f"{writer.t.items.name}_audit_notify"}
        ).scalar_one()
    assert f"'{listener.channel}'" in source
