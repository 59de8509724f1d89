"""Writes made in this process reach the live-update hub at once (``Inventory.on_commit``, ``storage/commits.py``),
on SQLite and PostgreSQL.

The hub here polls only every ``SLOW_POLL`` seconds (and on PostgreSQL does not LISTEN), so nothing but the
in-process commit signal can bring a write to a subscriber within ``FAST``: without it these tests time out.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import inventory_panel as ip
from inventory_panel.settings import load_settings
from inventory_panel.ui import kernel_sync, live
from inventory_panel.ui.model import InventoryModel

SLOW_POLL = 30.0  # seconds between two reads of the change token: far longer than any wait below
FAST = 0.25  # a write made in this process reaches a subscriber within this (measured: a few milliseconds)
ITEM = {"item_name": "Pallet", "category": "Stock", "quantity": 3, "unit_price": "5.00", "minimum_stock": 1}


def connect(url: str, user: str = "a@example.com") -> ip.Inventory:
    return ip.connect(url, user=user, role="admin")


@pytest.fixture
def slow_hub(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[live.LiveHub]:
    """The process-wide hub of ``db_url``, polling every SLOW_POLL seconds and never listening for NOTIFY."""
    monkeypatch.setattr(live, "POLL_SECONDS", SLOW_POLL)
    owner = connect(db_url)
    hub = live.hub_for(owner, source_factory=lambda inventory: live.PollingSource(inventory, interval=SLOW_POLL))
    yield hub
    hub.stop()
    live._hubs.pop(owner.database_key, None)
    owner.close()


class Heard:
    """A hub subscriber that records the tokens and when each came."""

    def __init__(self) -> None:
        self.tokens: list[int] = []
        self.times: list[float] = []
        self.event = threading.Event()

    def __call__(self, token: int) -> None:
        self.tokens.append(token)
        self.times.append(time.monotonic())
        self.event.set()

    def wait_for(self, token: int, since: float, seconds: float = FAST) -> float:
        """Seconds from ``since`` (when the write returned) until ``token`` (or a newer one) was heard, 0 if it was
        heard before the write returned; fails after ``seconds``."""
        while not (self.tokens and self.tokens[-1] >= token):
            remaining = seconds - (time.monotonic() - since)
            assert remaining > 0, f"token {token} not heard within {seconds} s (heard {self.tokens})"
            self.event.wait(remaining)
            self.event.clear()
        first = next(at for tok, at in zip(self.tokens, self.times, strict=True) if tok >= token)
        return max(0.0, first - since)


def test_a_write_through_a_second_inventory_reaches_a_subscriber_at_once(db_url, slow_hub):
    heard = Heard()
    slow_hub.subscribe(heard)
    other = connect(db_url, user="b@example.com")  # its own Database object and engine, as a second connect is
    try:
        assert live.hub_for(other) is slow_hub  # one hub per database, whichever Inventory asks
        delays = []

        def heard_after(write) -> None:  # the write, then how long after it returned its token was heard
            write()
            returned = time.monotonic()
            delays.append(heard.wait_for(other.change_token(), returned))

        item: dict = {}
        heard_after(lambda: item.update(other.add(ITEM)))
        heard_after(lambda: other.adjust_stock(item["id"], -3, "issued"))
        heard_after(lambda: other.as_user(other.user).update(item["id"], {"quantity": 7}, item["version"] + 1))
        csv = b"item_name,category,quantity,unit_price,sku\nBolt,Stock,5,0.10,B-1\n"
        heard_after(lambda: other.import_csv(csv))
        assert other.query(search="B-1").total == 1
        print("heard after", ", ".join(f"{d * 1000:.1f} ms" for d in delays))
    finally:
        other.close()


def test_a_rolled_back_or_refused_write_signals_nothing(db_url, slow_hub):
    heard = Heard()
    slow_hub.subscribe(heard)
    other = connect(db_url)
    try:
        with pytest.raises(RuntimeError), other.transaction() as conn:
            other.record_audit(conn, "update", detail="never committed")
            raise RuntimeError("abandon")
        with pytest.raises(ip.ValidationError):
            other.add({**ITEM, "quantity": -1})
        time.sleep(FAST)
        assert heard.tokens == []
    finally:
        other.close()


def test_a_broken_listener_neither_fails_the_write_nor_silences_the_others(sqlite_url):
    inventory = connect(sqlite_url)
    calls: list[str] = []

    def broken() -> None:
        raise RuntimeError("a dead subscriber")

    stops = [inventory.on_commit(broken), inventory.on_commit(lambda: calls.append("ok"))]
    try:
        inventory.add(ITEM)
        assert calls == ["ok"]
    finally:
        for stop in stops:
            stop()
        inventory.close()
    inventory.add({**ITEM, "item_name": "Crate"})  # nobody listens any more
    assert calls == ["ok"]


def test_the_database_key_names_the_data_not_the_object(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    absolute = connect(f"sqlite:///{tmp_path / 'a.db'}")
    relative = connect("sqlite:///a.db")
    elsewhere = connect(f"sqlite:///{tmp_path / 'b.db'}")
    other_table = ip.connect(
        f"sqlite:///{tmp_path / 'a.db'}",
        user="a@example.com",
        role="admin",
        settings=load_settings({"POSTGRES_TABLE": "tools"}),
    )
    memory, memory_too = connect("sqlite://"), connect("sqlite://")
    try:
        assert absolute.database_key == relative.database_key
        assert len({i.database_key for i in (absolute, elsewhere, other_table, memory, memory_too)}) == 5
    finally:
        for inventory in (absolute, relative, elsewhere, other_table, memory, memory_too):
            inventory.close()


def test_a_kernel_model_reloads_on_its_loop_after_a_write_elsewhere_in_the_process(db_url, slow_hub, monkeypatch):
    """The notebook path: ``subscribe_kernel`` reloads the shared model on the kernel's loop, under its lock."""
    monkeypatch.setattr(kernel_sync, "install", lambda: None)  # Panel's comms are not in play here
    reader = connect(db_url)
    writer = connect(db_url)
    model = InventoryModel.for_inventory(reader)
    held: list[bool] = []
    model.param.watch(lambda _e: held.append(kernel_sync.LOCK._is_owned()), "data_version")  # type: ignore[attr-defined]

    async def kernel() -> float:
        assert live.subscribe_kernel(slow_hub, model) is not None
        began = time.monotonic()
        await asyncio.to_thread(writer.add, ITEM)  # a write by another Inventory, from another thread
        while model.total == 0 and time.monotonic() - began < FAST * 4:
            await asyncio.sleep(0.005)
        return time.monotonic() - began

    try:
        seconds = asyncio.run(kernel())
        assert model.total == 1 and model.change_token == writer.change_token()
        assert seconds < FAST * 4 and held == [True]
        print(f"model reloaded {seconds * 1000:.0f} ms after the write began")
    finally:
        writer.close()
        reader.close()
