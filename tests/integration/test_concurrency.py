"""No lost updates: racing edits (optimistic locking), racing stock deltas (atomic SQL), racing SKUs (a unique
constraint), on real SQLite and a real PostgreSQL, with real threads released together by a barrier.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

import inventory_panel as ip
from inventory_panel.auth import User
from inventory_panel.errors import ConflictError


@pytest.fixture
def other_process(inv: ip.Inventory, settings) -> Iterator[ip.Inventory]:
    """A second app replica: the same database through its own engine and connection pool."""
    url = inv.db.engine.url.render_as_string(hide_password=False)
    second = ip.connect(url, user="bob@example.com", role="editor", settings=settings)
    yield second
    second.close()


def _race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released at the same instant; returns each result or the exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test inspects
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _audit_actions(inv: ip.Inventory, item_id: int) -> list[str]:
    with inv.db.engine.connect() as conn:
        a = inv.t.audit
        return list(conn.execute(sa.select(a.c.action).where(a.c.item_id == item_id).order_by(a.c.id)).scalars())


def test_two_sessions_editing_the_same_item_exactly_one_wins(inv, other_process, item_values):
    alice = inv.as_user(User("alice@example.com", "editor"))
    for round_ in range(8):
        item = alice.add({**item_values, "sku": f"RACE-{round_}"})
        opened = item["version"]  # both people opened the edit form on the same version
        results = _race(lambda i=item, v=opened: alice.update(i["id"], {"unit_price": "30.00"}, version=v),
                        lambda i=item, v=opened: other_process.update(i["id"], {"location": "Dock 9"}, version=v))
        winners = [r for r in results if isinstance(r, dict)]
        losers = [r for r in results if isinstance(r, ConflictError)]
        assert len(winners) == 1 and len(losers) == 1, results
        won = winners[0]
        # The loser is told what the item looks like now, so they can redo their change on top of it.
        assert losers[0].current["version"] == won["version"] == opened + 1
        assert {k: losers[0].current[k] for k in ("unit_price", "location")} == {
            k: won[k] for k in ("unit_price", "location")}
        loser_is_alice = isinstance(results[0], ConflictError)
        retry = (alice.update(item["id"], {"unit_price": "30.00"}, version=won["version"]) if loser_is_alice
                 else other_process.update(item["id"], {"location": "Dock 9"}, version=won["version"]))
        final = inv.get(item["id"])
        assert retry["version"] == final["version"] == opened + 2
        assert (final["unit_price"], final["location"]) == (Decimal("30.00"), "Dock 9")  # nothing lost
        assert _audit_actions(inv, item["id"]) == ["add", "update", "update"]


def test_n_threads_adjusting_stock_sum_up_exactly(inv, other_process, item_values):
    item = inv.add({**item_values, "quantity": 1000})
    rng = random.Random(6)
    threads, per_thread = 8, 15
    plans = [[rng.choice([-7, -3, -1, 1, 2, 5, 11]) for _ in range(per_thread)] for _ in range(threads)]
    sessions = [(inv if i % 2 else other_process).as_user(User(f"picker{i}@example.com", "editor"))
                for i in range(threads)]

    def worker(session: ip.Inventory, deltas: list[int]) -> int:
        for delta in deltas:
            session.adjust_stock(item["id"], delta, "concurrent pick")
        return len(deltas)

    results = _race(*(lambda s=s, p=p: worker(s, p) for s, p in zip(sessions, plans, strict=True)))
    assert results == [per_thread] * threads
    expected = 1000 + sum(sum(p) for p in plans)
    final = inv.get(item["id"])
    assert final["quantity"] == expected
    assert final["version"] == 1 + threads * per_thread  # every delta bumped the version once
    with inv.db.engine.connect() as conn:
        m = inv.t.movements
        moved = conn.execute(sa.select(sa.func.count(), sa.func.sum(m.c.delta)).where(m.c.item_id == item["id"])).one()
        chain = conn.execute(sa.select(m.c.delta, m.c.quantity_after).where(m.c.item_id == item["id"])
                             .order_by(m.c.id)).all()
    assert tuple(moved) == (threads * per_thread, expected - 1000)
    # In the order they were written, each movement starts where the previous one ended: none saw a stale quantity.
    starts = [after - delta for delta, after in chain]
    assert starts == [1000, *(after for _delta, after in chain[:-1])] and chain[-1][1] == expected
    assert _audit_actions(inv, item["id"]).count("adjust") == threads * per_thread


def test_an_edit_after_a_concurrent_adjustment_is_a_conflict_not_an_overwrite(inv, other_process, item_values):
    item = inv.add(item_values)  # quantity 12, version 1: Alice opens the edit form now
    other_process.adjust_stock(item["id"], -5, "issued")  # meanwhile Bob issues 5 units
    with pytest.raises(ConflictError) as exc:
        inv.update(item["id"], {"quantity": 20, "unit_price": "26.00"}, version=item["version"])
    assert exc.value.current["quantity"] == 7 and "bob@example.com" in str(exc.value)
    assert inv.get(item["id"])["quantity"] == 7  # Bob's movement was not overwritten by Alice's stale form


def test_two_sessions_adding_the_same_sku_one_gets_a_conflict(inv, other_process, item_values):
    results = _race(lambda: inv.add({**item_values, "item_name": "From Alice"}),
                    lambda: other_process.add({**item_values, "item_name": "From Bob"}))
    winners = [r for r in results if isinstance(r, dict)]
    losers = [r for r in results if isinstance(r, ConflictError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert "HLM-1" in str(losers[0])
    assert inv.query().rows["item_name"].tolist() == [winners[0]["item_name"]]


def test_delete_racing_an_edit_never_resurrects_or_half_applies(inv, other_process, item_values):
    item = inv.add(item_values)
    results = _race(lambda: inv.delete(item["id"], version=1),
                    lambda: other_process.update(item["id"], {"quantity": 3}, version=1))
    outcomes = sorted(type(r).__name__ for r in results)
    # Either the delete won (the edit finds the item gone) or the edit won (the delete sees a newer version).
    assert outcomes in (["NoneType", "NotFoundError"], ["ConflictError", "dict"]), results
    remaining = inv.query().total
    assert remaining == (0 if outcomes[0] == "NoneType" else 1)
