"""No lost updates: racing edits (optimistic locking), racing stock deltas (atomic SQL), racing SKUs (a unique
constraint), on real SQLite and a real PostgreSQL, with real threads released together by a barrier; and eight
writers at once keep every maintained total exact, never reuse an id and leave one audit row per write.
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
from inventory_panel import stock_status
from inventory_panel.auth import User
from inventory_panel.errors import ConflictError, DatabaseBusyError, InsufficientStockError


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
        results = _race(
            lambda i=item, v=opened: alice.update(i["id"], {"unit_price": "30.00"}, version=v),
            lambda i=item, v=opened: other_process.update(i["id"], {"location": "Dock 9"}, version=v),
        )
        winners = [r for r in results if isinstance(r, dict)]
        losers = [r for r in results if isinstance(r, ConflictError)]
        assert len(winners) == 1 and len(losers) == 1, results
        won = winners[0]
        # The loser is told what the item looks like now, so they can redo their change on top of it.
        assert losers[0].current["version"] == won["version"] == opened + 1
        assert {k: losers[0].current[k] for k in ("unit_price", "location")} == {
            k: won[k] for k in ("unit_price", "location")
        }
        loser_is_alice = isinstance(results[0], ConflictError)
        retry = (
            alice.update(item["id"], {"unit_price": "30.00"}, version=won["version"])
            if loser_is_alice
            else other_process.update(item["id"], {"location": "Dock 9"}, version=won["version"])
        )
        final = inv.get(item["id"])
        assert retry["version"] == final["version"] == opened + 2
        assert (final["unit_price"], final["location"]) == (Decimal("30.00"), "Dock 9")  # nothing lost
        assert _audit_actions(inv, item["id"]) == ["add", "update", "update"]


def test_n_threads_adjusting_stock_sum_up_exactly(inv, other_process, item_values):
    item = inv.add({**item_values, "quantity": 1000})
    rng = random.Random(6)
    threads, per_thread = 8, 15
    plans = [[rng.choice([-7, -3, -1, 1, 2, 5, 11]) for _ in range(per_thread)] for _ in range(threads)]
    sessions = [
        (inv if i % 2 else other_process).as_user(User(f"picker{i}@example.com", "editor")) for i in range(threads)
    ]

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
        chain = conn.execute(
            sa.select(m.c.delta, m.c.quantity_after).where(m.c.item_id == item["id"]).order_by(m.c.id)
        ).all()
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
    results = _race(
        lambda: inv.add({**item_values, "item_name": "From Alice"}),
        lambda: other_process.add({**item_values, "item_name": "From Bob"}),
    )
    winners = [r for r in results if isinstance(r, dict)]
    losers = [r for r in results if isinstance(r, ConflictError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert "HLM-1" in str(losers[0])
    assert inv.query().rows["item_name"].tolist() == [winners[0]["item_name"]]


def test_delete_racing_an_edit_never_resurrects_or_half_applies(inv, other_process, item_values):
    item = inv.add(item_values)
    results = _race(
        lambda: inv.delete(item["id"], version=1), lambda: other_process.update(item["id"], {"quantity": 3}, version=1)
    )
    outcomes = sorted(type(r).__name__ for r in results)
    # Either the delete won (the edit finds the item gone) or the edit won (the delete sees a newer version).
    assert outcomes in (["NoneType", "NotFoundError"], ["ConflictError", "dict"]), results
    remaining = inv.query().total
    assert remaining == (0 if outcomes[0] == "NoneType" else 1)


# -- eight writers, exact totals ------------------------------------------------------------------------------------

WRITERS = 8
CATEGORIES = ("Tools", "Safety", "Office")


def _writer(session: ip.Inventory, seed: int, operations: int, shared: list[int]) -> dict[str, Any]:
    """A random mix of add, update, adjust_stock and delete that crosses the low/out thresholds and moves items
    between categories; returns what it wrote: ``writes`` (each one an audit row) and the ids it was given."""
    rng = random.Random(seed)
    mine: dict[int, int] = {}  # id -> version of the items this writer added and has not deleted
    added: list[int] = []
    writes = 0
    for _ in range(operations):
        try:
            writes += _write(session, rng, mine, added, shared)
        except DatabaseBusyError:  # SQLite busy past its timeout: nothing was saved, the person retries
            continue
    return {"writes": writes, "added": added}


def _write(session: ip.Inventory, rng: random.Random, mine: dict[int, int], added: list[int], shared: list[int]) -> int:
    """One random write; returns how many audited writes it made (0 or 1)."""
    roll = rng.random()
    if not mine or roll < 0.25:
        item = session.add(
            {
                "item_name": f"W {rng.randrange(10**6)}",
                "category": rng.choice(CATEGORIES),
                "quantity": rng.randrange(0, 6),
                "unit_price": f"{rng.randrange(1, 5000) / 100:.2f}",
                "minimum_stock": rng.choice([None, 0, 2, 4]),
            }
        )
        mine[item["id"]] = item["version"]
        added.append(item["id"])
        return 1
    item_id = max(mine) if roll < 0.4 else rng.choice(list(mine))
    if roll < 0.4:  # delete, most often the newest item: what SQLite's id reuse needs
        session.delete(item_id, version=mine[item_id])
        del mine[item_id]
        return 1
    if roll < 0.65:
        changes = {
            "category": rng.choice(CATEGORIES),
            "quantity": rng.randrange(0, 6),
            "unit_price": f"{rng.randrange(1, 5000) / 100:.2f}",
            "minimum_stock": rng.choice([None, 1, 3]),
        }
        item = session.update(item_id, changes, version=mine[item_id])
        wrote = item["version"] != mine[item_id]  # an update that changed nothing writes nothing
        mine[item_id] = item["version"]
        return int(wrote)
    # Adjust one of this writer's items or a shared one, which every writer adjusts at once.
    target = rng.choice(shared) if roll < 0.8 else item_id
    try:
        item = session.adjust_stock(target, rng.choice([-3, -1, 1, 2]), "concurrent count")
    except InsufficientStockError:
        return 0
    if target in mine:
        mine[target] = item["version"]
    return 1


def _recount(inv: ip.Inventory) -> tuple[dict[str, Any], dict[str, tuple[Decimal, int, int]], dict[str, int]]:
    """The figures recomputed in Python from every item row: the summary, value/items/units per category and
    the number of items per status."""
    items = inv.t.items
    with inv.db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(items.c.category, items.c.quantity, items.c.unit_price, items.c.minimum_stock)
        ).all()
    per_category: dict[str, tuple[Decimal, int, int]] = {}
    status = {"low": 0, "out": 0, "ok": 0}
    for category, quantity, price, minimum in rows:
        value, count, units = per_category.get(category, (Decimal("0.00"), 0, 0))
        per_category[category] = (value + quantity * price, count + 1, units + quantity)
        status[stock_status.status_of(quantity, minimum)] += 1
    summary = {
        "items": len(rows),
        "units": sum(r.quantity for r in rows),
        "total_value": sum((v for v, _c, _u in per_category.values()), Decimal("0.00")),
        "categories": len(per_category),
        "low_stock": status["low"],
        "out_of_stock": status["out"],
    }
    return summary, per_category, status


def test_eight_writers_keep_every_total_exact_and_never_reuse_an_id(inv, settings, item_values):
    """Eight writers, each with its own engine (its own app replica), on one database. On PostgreSQL the
    maintained totals are delta rows folded together by whichever writer finds too many (more than 256): the
    writers here make enough statements for many folds, some of them at the same time."""
    shared = [
        inv.add({**item_values, "sku": f"SHARED-{i}", "category": CATEGORIES[i % 3], "quantity": 400})["id"]
        for i in range(3)
    ]
    url = inv.db.engine.url.render_as_string(hide_password=False)
    sessions = [ip.connect(url, user=f"writer{i}@example.com", role="admin", settings=settings) for i in range(WRITERS)]
    try:
        results = _race(*(lambda s=s, i=i: _writer(s, i, 160, shared) for i, s in enumerate(sessions)))
    finally:
        for session in sessions:
            session.close()
    failures = [r for r in results if isinstance(r, Exception)]
    assert not failures, failures

    summary, per_category, status = _recount(inv)
    assert inv.summary() == summary
    by_category = {
        r["category"]: (r["value"], r["items"], r["units"]) for r in inv.value_by_category().to_dict("records")
    }
    assert by_category == per_category
    for name in ("low", "out", "ok"):
        assert inv.query(status=name, limit=1).total == status[name], name
    assert inv.query(limit=1).total == summary["items"]
    for category in CATEGORIES:
        assert inv.query(category=category, limit=1).total == per_category.get(category, (0, 0, 0))[1], category

    with inv.db.engine.connect() as conn:
        delta_rows = conn.execute(sa.select(sa.func.count()).select_from(inv.t.stats)).scalar_one()
    assert delta_rows <= 256 + 2 * len(CATEGORIES)  # PostgreSQL folded its delta rows (one per statement) meanwhile

    added = [item_id for r in results for item_id in r["added"]]
    assert len(added) == len(set(added)), "an id was given to two items"
    a = inv.t.audit
    with inv.db.engine.connect() as conn:
        audit_rows = conn.execute(sa.select(sa.func.count()).select_from(a).where(a.c.action != "denied")).scalar()
        add_ids = list(conn.execute(sa.select(a.c.item_id).where(a.c.action == "add")).scalars())
    assert audit_rows == len(shared) + sum(r["writes"] for r in results)
    assert len(add_ids) == len(set(add_ids)), "the audit shows two adds of one id"
