"""A write that meets another change's lock: the typed "busy, try again" error, and no frozen event loop.

The lock is held from outside the service (another process's ``BEGIN IMMEDIATE`` on SQLite, a row lock on
PostgreSQL). The service waits at most the busy timeout, then raises ``DatabaseBusyError`` having written nothing;
the CLI prints that one line and exits 2; and an app view waits in a worker thread while the event loop serving
every other session keeps running (tests/ui/test_locked_sqlite.py shows the same in Chromium).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

import inventory_panel as ip
from inventory_panel.errors import ConfigurationError
from inventory_panel.settings import load_settings
from tests.integration.test_cli import run

BUSY_MESSAGE = "The database is busy with another change; nothing was saved. Try again in a moment."


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")


@contextmanager
def sqlite_write_lock(url: str) -> Iterator[Callable[[], None]]:
    """Hold SQLite's write lock as another process's change would; yields ``release`` (callable from any thread)."""
    conn = sqlite3.connect(sqlite_path(url), isolation_level=None, timeout=0, check_same_thread=False)
    conn.execute("BEGIN IMMEDIATE")
    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            conn.execute("ROLLBACK")

    try:
        yield release
    finally:
        release()
        conn.close()


@contextmanager
def held_lock(inv: ip.Inventory, item_id: int) -> Iterator[Callable[[], None]]:
    """The lock a write of ``item_id`` must wait for: SQLite's write lock, or a PostgreSQL row lock."""
    if inv.db.dialect == "sqlite":
        with sqlite_write_lock(str(inv.db.engine.url)) as release:
            yield release
        return
    conn = inv.db.engine.connect()
    tx = conn.begin()
    conn.execute(sa.select(inv.t.items.c.id).where(inv.t.items.c.id == item_id).with_for_update())
    lock = threading.Lock()

    def release() -> None:
        with lock:
            if tx.is_active:
                tx.rollback()

    try:
        yield release
    finally:
        release()
        conn.close()


@pytest.fixture
def quick_busy(sqlite_url: str) -> Iterator[ip.Inventory]:
    """An admin on SQLite whose writes wait one second for a lock."""
    inventory = ip.connect(
        sqlite_url,
        user="admin@example.com",
        role="admin",
        settings=load_settings({"INVENTORY_SQLITE_BUSY_SECONDS": "1"}),
    )
    yield inventory
    inventory.close()


def test_the_busy_error_is_typed_and_exported():
    assert ip.DatabaseBusyError is ip.errors.DatabaseBusyError and "DatabaseBusyError" in ip.__all__
    assert issubclass(ip.DatabaseBusyError, ip.DatabaseUnavailableError)
    assert str(ip.DatabaseBusyError()) == BUSY_MESSAGE


def test_a_write_that_cannot_get_the_sqlite_lock_is_busy_after_the_timeout_and_writes_nothing(quick_busy, item_values):
    inv = quick_busy
    item = inv.add(item_values)
    audit_rows = inv.audit_log().total
    with sqlite_write_lock(str(inv.db.engine.url)):
        start = time.monotonic()
        with pytest.raises(ip.DatabaseBusyError) as caught:
            inv.adjust_stock(item["id"], 5, "delivery")
        waited = time.monotonic() - start
        with pytest.raises(ip.DatabaseBusyError):
            inv.update(item["id"], {"location": "Elsewhere"}, item["version"])
    assert str(caught.value) == BUSY_MESSAGE
    assert 0.9 < waited < 5.0, f"waited {waited:.1f} s for a 1 s busy timeout"
    assert inv.get(item["id"])["quantity"] == item["quantity"] and inv.get(item["id"])["location"] == item["location"]
    assert inv.audit_log().total == audit_rows
    assert inv.adjust_stock(item["id"], 5, "delivery")["quantity"] == item["quantity"] + 5  # free again: it works


def test_reads_do_not_wait_for_a_held_sqlite_write_lock(sqlite_url, item_values):
    # A read that took the write lock would wait the whole busy timeout (5 s) and fail: the bound is half of it,
    # far from both outcomes, so a loaded machine cannot flip it (checked: it fails when reads BEGIN IMMEDIATE).
    inv = ip.connect(
        sqlite_url,
        user="admin@example.com",
        role="admin",
        settings=load_settings({"INVENTORY_SQLITE_BUSY_SECONDS": "5"}),
    )
    try:
        inv.add(item_values)
        with sqlite_write_lock(str(inv.db.engine.url)):
            start = time.monotonic()
            assert inv.query().total == 1 and inv.summary()["items"] == 1
            assert time.monotonic() - start < 2.5  # WAL: a reader never waits for the writer
    finally:
        inv.close()


def test_the_busy_timeout_is_a_setting_applied_to_every_sqlite_connection(sqlite_url):
    with pytest.raises(ConfigurationError, match="INVENTORY_SQLITE_BUSY_SECONDS"):
        load_settings({"INVENTORY_SQLITE_BUSY_SECONDS": "soon"})
    assert load_settings({}).sqlite_busy_seconds == 5
    inv = ip.connect(sqlite_url, settings=load_settings({"INVENTORY_SQLITE_BUSY_SECONDS": "7"}))
    try:
        with inv.reading() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 7000
    finally:
        inv.close()


@pytest.mark.postgres
def test_a_lock_timeout_on_postgresql_is_the_same_busy_error(pg_url, item_values):
    inv = ip.connect(pg_url, user="admin@example.com", role="admin")
    try:
        item = inv.add(item_values)
        inv.db.engine.dispose()
        sa.event.listen(
            inv.db.engine, "connect", lambda dbapi_conn, _rec: dbapi_conn.cursor().execute("SET lock_timeout = '300ms'")
        )
        with held_lock(inv, item["id"]), pytest.raises(ip.DatabaseBusyError, match="nothing was saved"):
            inv.update(item["id"], {"location": "Elsewhere"}, item["version"])
        assert inv.get(item["id"])["location"] == item["location"]
    finally:
        inv.close()


def test_the_cli_prints_one_busy_line_and_exits_2(sqlite_url, tmp_path):
    assert run("--database-url", sqlite_url, "init-db").returncode == 0
    source = tmp_path / "items.csv"
    source.write_text("item_name,category,quantity,unit_price\nDesk,Furniture,2,100\n", encoding="utf-8")
    with sqlite_write_lock(sqlite_url):
        result = run("--database-url", sqlite_url, "import", str(source), env={"INVENTORY_SQLITE_BUSY_SECONDS": "1"})
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"inventory-panel: {BUSY_MESSAGE}\n"
    inv = ip.connect(sqlite_url)
    try:
        assert inv.query().total == 0
    finally:
        inv.close()


def test_a_view_waits_for_the_lock_in_a_worker_while_the_event_loop_keeps_serving(inv, item_values):
    """The stock adjustment of one session waits for a held lock; the loop every session shares keeps ticking."""
    from inventory_panel.ui.model import InventoryModel
    from inventory_panel.ui.stock import StockAdjustment

    item = inv.add(item_values)
    stock = StockAdjustment(model=InventoryModel(inventory=inv), item_id=item["id"])
    stock.amount.value = 3
    stock.reason.param.update(value="delivery", value_input="delivery")
    hold = 1.5  # seconds the lock is held after the adjustment starts

    async def scenario() -> tuple[bool, float, list[float]]:
        ticks: list[float] = []

        async def ticker() -> None:  # what serving other sessions needs: the loop's turn every few ms
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.02)

        task = asyncio.create_task(ticker())
        await asyncio.sleep(0.1)
        with held_lock(inv, item["id"]) as release:
            threading.Timer(hold, release).start()  # from another thread: a blocked loop could not release it
            start = time.monotonic()
            outcome = stock.apply()
            # Awaited when the view writes off the loop; before the fix apply() wrote on the loop and returned a bool.
            applied = await outcome if inspect.isawaitable(outcome) else outcome
            waited = time.monotonic() - start
        await asyncio.sleep(0.1)
        task.cancel()
        return applied, waited, ticks

    applied, waited, ticks = asyncio.run(scenario())
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert applied is True and inv.get(item["id"])["quantity"] == item["quantity"] + 3
    assert waited >= hold - 0.1, f"the adjustment did not wait for the lock ({waited:.2f} s)"
    assert max(gaps) < 0.5, f"the event loop stalled for {max(gaps):.2f} s while the write waited"
