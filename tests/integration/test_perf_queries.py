"""The fast read paths give exactly what the plain SQL gives: maintained totals, counts, paging, search, menus.

Each test compares the optimised answer (maintained per-category totals, id paging from either end, the SQLite
search plan, loose index scans) with a reference computed the obvious way from the items themselves, on SQLite
and on PostgreSQL, after writes of every kind (API, import, raw SQL that bypasses the app).
"""

from __future__ import annotations

import io
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command

import inventory_panel as ip
import inventory_panel.storage.dialects.postgres as postgres_backend
import inventory_panel.storage.dialects.sqlite as sqlite_backend
from inventory_panel.settings import load_settings
from inventory_panel.storage import migrate
from inventory_panel.storage.engines import create_database

pytestmark = pytest.mark.slow  # builds inventories of thousands of items

CATEGORIES = ("Tools", "Safety", "Office")
SUPPLIERS = ("Acme", None, "Bolt & Co", "acme north")


def _rows(n: int) -> str:
    lines = ["item_name,category,quantity,unit_price,supplier,location,minimum_stock,sku,description"]
    for i in range(n):
        quantity = (i * 7) % 13  # zeros, some at/below minimum, some above
        minimum = "" if i % 5 == 0 else str(i % 9)
        supplier = SUPPLIERS[i % len(SUPPLIERS)] or ""
        location = "" if i % 6 == 0 else f"Aisle {i % 4}"
        sku = f"SKU-{i:04d}" if i % 3 else ""
        lines.append(
            f"Item {i % 17:02d} {'Drill' if i % 10 == 3 else 'Box'},{CATEGORIES[i % 3]},{quantity},"
            f"{(i * 37) % 500}.{i % 100:02d},{supplier},{location},{minimum},{sku},batch {i}"
        )
    return "\n".join(lines) + "\n"


@pytest.fixture
def filled(inv):
    report = inv.import_csv(_rows(120).encode())
    assert report.inserted == 120
    return inv


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared(request, tmp_path_factory):
    """One filled inventory per backend for the tests that only read (a database per test is the slow part)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('shared') / 'inventory.db'}"
    else:
        url = request.getfixturevalue("pg_server").create_database(f"perf_{uuid.uuid4().hex[:10]}")
    inv = ip.connect(url, user="a@example.com", role="admin", settings=load_settings({}))
    inv.import_csv(_rows(120).encode())
    _raw(inv, "UPDATE {t} SET updated_at = created_at")  # equal keys everywhere: the id must break the ties
    yield inv
    inv.close()


def _all_items(inv) -> list[dict]:
    with inv.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(inv.t.items))]


def _status(item: dict) -> str:
    if item["quantity"] == 0:
        return "out"
    if item["minimum_stock"] is not None and item["quantity"] <= item["minimum_stock"]:
        return "low"
    return "ok"


def _reference_summary(inv) -> dict:
    items = _all_items(inv)
    return {
        "items": len(items),
        "units": sum(i["quantity"] for i in items),
        "total_value": sum((i["quantity"] * i["unit_price"] for i in items), Decimal("0.00")),
        "categories": len({i["category"] for i in items}),
        "low_stock": sum(_status(i) == "low" for i in items),
        "out_of_stock": sum(_status(i) == "out" for i in items),
    }


def _raw(inv, sql: str, **params) -> None:
    """A write that bypasses the app (no audit, no version): the totals must follow it all the same."""
    table = inv.db.engine.dialect.identifier_preparer.format_table(inv.t.items)
    with inv.db.engine.begin() as conn:
        conn.execute(sa.text(sql.format(t=table)), params)


def test_summary_follows_every_kind_of_write(filled):
    inv = filled
    assert inv.summary() == _reference_summary(inv)
    page = inv.query(limit=5)
    first = page.rows.iloc[0]
    inv.update(int(first["id"]), {"category": "Brand new", "unit_price": "1234.56"}, int(first["version"]))
    inv.adjust_stock(int(page.rows.iloc[1]["id"]), 5, "delivery")
    inv.delete(int(page.rows.iloc[2]["id"]), int(page.rows.iloc[2]["version"]))
    inv.add({"item_name": "Solo", "category": "Lonely", "quantity": 0, "unit_price": "9.99", "minimum_stock": 3})
    _raw(inv, "UPDATE {t} SET minimum_stock = quantity WHERE category = 'Office'")
    _raw(inv, "UPDATE {t} SET category = 'Tools' WHERE category = 'Safety'")
    _raw(inv, "DELETE FROM {t} WHERE quantity > 10")
    assert inv.summary() == _reference_summary(inv)
    _raw(inv, "DELETE FROM {t}")
    zero = dict.fromkeys(("items", "units", "categories", "low_stock", "out_of_stock"), 0)
    assert inv.summary() == {**zero, "total_value": Decimal("0.00")}  # as test_inventory's test_empty_summary


def test_summary_is_unchanged_by_a_rolled_back_write(filled):
    before = filled.summary()
    with pytest.raises(RuntimeError), filled.transaction() as conn:
        conn.execute(filled.t.items.update().values(quantity=filled.t.items.c.quantity + 100))
        raise RuntimeError("abandon")
    assert filled.summary() == before


@pytest.mark.postgres
def test_postgres_totals_stay_exact_across_many_small_writes(pg_url):
    """More single writes than the delta rows allowed before folding: folding keeps every total exact."""
    inv = ip.connect(pg_url, user="a@example.com", role="admin", settings=load_settings({}))
    try:
        inv.import_csv(_rows(30).encode())
        for i in range(300):
            _raw(
                inv,
                "UPDATE {t} SET quantity = quantity + 1, category = :c WHERE id = :id",
                c=CATEGORIES[i % 2],
                id=1 + i % 30,
            )
        assert inv.summary() == _reference_summary(inv)
        with inv.db.engine.connect() as conn:
            deltas = conn.execute(sa.select(sa.func.count()).select_from(inv.t.stats)).scalar_one()
        assert deltas <= 256 + 3  # folded, not one row per write
    finally:
        inv.close()


def test_migration_0002_counts_items_that_existed_before_it(db_url):
    db = create_database(load_settings({}), db_url)
    try:
        with db.engine.begin() as conn:
            if db.tables.schema:
                conn.execute(sa.text(f'CREATE SCHEMA "{db.tables.schema}"'))
            command.upgrade(migrate.alembic_config(db, conn), "0001")
        now = "2024-01-01 00:00:00+00"
        with db.engine.begin() as conn:
            conn.execute(
                db.tables.items.insert(),
                [
                    {
                        "item_name": f"Old {i}",
                        "category": CATEGORIES[i % 3],
                        "quantity": i % 4,
                        "unit_price": Decimal("2.50"),
                        "minimum_stock": 2,
                        "version": 1,
                        "created_at": _aware(now),
                        "created_by": "x",
                        "updated_at": _aware(now),
                        "updated_by": "x",
                    }
                    for i in range(10)
                ],
            )
    finally:
        db.dispose()
    inv = ip.connect(db_url, user="a@example.com", role="admin", settings=load_settings({}))
    try:
        assert inv.summary() == _reference_summary(inv)
        assert inv.summary()["items"] == 10
    finally:
        inv.close()


def _aware(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text)


def _expected(inv, sort_by: str, descending: bool, keep=lambda item: True) -> list[int]:
    """Ids of the items ``keep`` accepts, in the order of one plain ORDER BY over the whole table (the reference:
    the database's own collation and NULL placement)."""
    items = inv.t.items
    column = items.c[sort_by]
    order = [column.desc(), items.c.id.desc()] if descending else [column, items.c.id]
    with inv.db.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(sa.select(items).order_by(*order))]
    return [r["id"] for r in rows if keep(r)]


@pytest.mark.parametrize(
    ("sort_by", "descending"),
    [("item_name", False), ("unit_price", True), ("supplier", False), ("minimum_stock", True)],
)
def test_every_page_equals_the_slice_of_the_fully_sorted_items(shared, sort_by, descending):
    expected = _expected(shared, sort_by, descending)
    seen = []
    for offset in range(0, 120, 25):  # pages in both halves: the back half is read from the other end
        page = shared.query(sort_by=sort_by, descending=descending, offset=offset, limit=25)
        assert page.total == 120
        assert list(page.rows["id"]) == expected[offset : offset + 25]
        seen += list(page.rows["id"])
    assert seen == expected
    assert shared.query(offset=120).rows.empty and shared.query(offset=500).total == 120


@pytest.mark.parametrize(
    "filters",
    [
        {"category": "Tools"},
        {"status": "low"},
        {"status": "out"},
        {"status": "ok"},
        {"category": "Safety", "status": "low"},
        {"location": "Aisle 2"},
        {"location": "Aisle 1", "status": "ok"},
        {"search": "drill"},
        {"search": "ACME"},
        {"search": "sku-00"},
        {"search": "Drill", "category": "Office"},
    ],
)
def test_counts_and_pages_of_filters_match_the_items(shared, filters):
    def keep(item: dict) -> bool:
        if "category" in filters and item["category"] != filters["category"]:
            return False
        if "location" in filters and item["location"] != filters["location"]:
            return False
        if "status" in filters and _status(item) != filters["status"]:
            return False
        if "search" in filters:
            needle = filters["search"].lower()
            return any(needle in (item[f] or "").lower() for f in ("item_name", "sku", "supplier", "description"))
        return True

    expected = _expected(shared, "item_name", False, keep)
    assert expected  # each case selects something
    first = shared.query(**filters, limit=7)
    last = shared.query(**filters, offset=max(0, len(expected) - 7), limit=7)
    assert first.total == last.total == len(expected)
    assert list(first.rows["id"]) == expected[:7]
    assert list(last.rows["id"]) == expected[-7:]


def test_search_never_matches_across_two_fields(inv):
    inv.add({"item_name": "Red", "category": "Paint", "quantity": 1, "unit_price": "1.00", "supplier": "Box Co"})
    assert inv.query(search="red").total == 1
    assert inv.query(search="Box Co").total == 1
    assert inv.query(search="redbox").total == 0 and inv.query(search="red box").total == 0
    assert inv.query(search="%").total == 0 and inv.query(search="_").total == 0


@pytest.mark.parametrize("sample", [3, 10_000])
def test_sqlite_search_plans_agree(tmp_path, sample, monkeypatch):
    """Rare terms (all matches collected) and common ones (sort index walked) give the same pages and totals."""
    monkeypatch.setattr(sqlite_backend, "SEARCH_SAMPLE", sample)
    inv = ip.connect(f"sqlite:///{tmp_path / 'x.db'}", user="a@example.com", role="admin", settings=load_settings({}))
    try:
        inv.import_csv(io.BytesIO(_rows(120).encode()))
        page = inv.query(search="drill", sort_by="unit_price", descending=True, offset=5, limit=4)
        expected = _expected(inv, "unit_price", True, lambda i: "drill" in i["item_name"].lower())
        assert page.total == len(expected) == 12
        assert list(page.rows["id"]) == expected[5:9]
    finally:
        inv.close()


@pytest.mark.parametrize("sample", [3, 10_000])
@pytest.mark.parametrize("search", ["drill", "Item 0", "SKU-00"])
def test_search_plans_agree_on_both_databases(shared, sample, search, monkeypatch):
    """All matches collected in one statement (a sample larger than the matches) or the sort index walked (a
    smaller one) give the same page and total, for a word, a phrase and a substring search."""
    monkeypatch.setattr(sqlite_backend, "SEARCH_SAMPLE", sample)
    monkeypatch.setattr(postgres_backend, "SEARCH_SAMPLE", sample)
    needle = search.lower()
    keep = lambda i: any(needle in (i[f] or "").lower() for f in ("item_name", "sku", "supplier", "description"))  # noqa: E731
    expected = _expected(shared, "unit_price", True, keep)
    page = shared.query(search=search, sort_by="unit_price", descending=True, offset=2, limit=5)
    assert len(expected) > 3 and page.total == len(expected)
    assert list(page.rows["id"]) == expected[2:7]


def _statements(inv, run) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    sa.event.listen(inv.db.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        sa.event.remove(inv.db.engine, "before_cursor_execute", record)
    return seen


@pytest.mark.postgres
def test_a_phrase_search_reads_the_word_index_once(pg_url):
    """PostgreSQL: the phrase's matches (fewer than the sample) come from one statement; the page is sorted from
    their ids, without the search condition (so without a second scan of the word index)."""
    inv = ip.connect(pg_url, user="a@example.com", role="admin", settings=load_settings({}))
    try:
        inv.import_csv(_rows(120).encode())
        statements = _statements(inv, lambda: inv.query(search="Item 0", count_limit=1000))
        assert sum("to_tsvector" in sql for sql in statements) == 1, statements
        assert not any("count(" in sql for sql in statements), statements
    finally:
        inv.close()


def test_more_matches_than_the_sample_and_the_cap_need_no_count(shared, monkeypatch):
    """When the sample ends with more matches than the app's cap, the capped count is known: no count statement."""
    monkeypatch.setattr(sqlite_backend, "SEARCH_SAMPLE", 20)
    monkeypatch.setattr(postgres_backend, "SEARCH_SAMPLE", 20)
    statements = _statements(shared, lambda: shared.query(search="Box", count_limit=10, limit=5))
    page = shared.query(search="Box", count_limit=10, limit=5)
    assert page.total == 10 and not page.total_exact
    assert not any("count(" in sql.lower() for sql in statements), statements


def test_filter_menus_match_distinct_values(filled):
    for column in ("category", "location", "supplier"):
        col = filled.t.items.c[column]
        with filled.db.engine.connect() as conn:
            reference = list(conn.execute(sa.select(col).where(col.is_not(None)).distinct().order_by(col)).scalars())
        assert filled.distinct_values(column) == reference
    _raw(filled, "DELETE FROM {t} WHERE category = 'Office'")
    assert filled.distinct_values("category") == ["Safety", "Tools"]


def test_aggregates_match_plain_sql(filled):
    inv = filled
    _raw(inv, "UPDATE {t} SET location = NULL WHERE id % 7 = 0")
    items = _all_items(inv)
    by_category: dict[str, list] = {}
    for i in items:
        entry = by_category.setdefault(i["category"], [Decimal("0.00"), 0, 0])
        entry[0] += i["quantity"] * i["unit_price"]
        entry[1] += 1
        entry[2] += i["quantity"]
    expected = sorted(([c, *v] for c, v in by_category.items()), key=lambda r: (-r[1], r[0]))
    assert [list(r) for r in inv.value_by_category().itertuples(index=False)] == expected
    statuses = [_status(i) for i in items]
    assert list(inv.stock_status_counts()["items"]) == [statuses.count(s) for s in ("ok", "low", "out")]
    by_location: dict[str, list[int]] = {}
    for i in items:
        entry = by_location.setdefault(i["location"] or "(no location)", [0, 0])
        entry[0] += i["quantity"]
        entry[1] += 1
    expected_locations = sorted(([loc, *v] for loc, v in by_location.items()), key=lambda r: (-r[1], r[0]))
    assert [list(r) for r in inv.quantity_by_location().itertuples(index=False)] == expected_locations
    short = [i for i in items if _status(i) in ("low", "out")]
    short.sort(key=lambda i: (-((i["minimum_stock"] or 0) - i["quantity"]), i["item_name"], i["id"]))
    assert list(inv.low_stock()["id"]) == [i["id"] for i in short]


@pytest.mark.parametrize("sort_by", ["supplier", "minimum_stock", "value", "updated_at"])
@pytest.mark.parametrize("descending", [False, True])
def test_keyset_flips_give_the_offset_pages(shared, sort_by, descending):
    """Walking forward with ``after`` and back with ``before`` visits exactly the pages ``offset`` gives,
    NULLs included wherever the database sorts them."""
    by_offset = [shared.query(sort_by=sort_by, descending=descending, offset=o, limit=9) for o in range(0, 120, 9)]
    page = by_offset[0]
    for expected in by_offset[1:]:
        page = shared.query(
            sort_by=sort_by, descending=descending, offset=expected.offset, limit=9, after=page.last_key
        )
        assert list(page.rows["id"]) == list(expected.rows["id"]) and page.total == 120
    for expected in reversed(by_offset[:-1]):
        page = shared.query(
            sort_by=sort_by, descending=descending, offset=expected.offset, limit=9, before=page.first_key
        )
        assert list(page.rows["id"]) == list(expected.rows["id"])
    assert shared.query(sort_by=sort_by, descending=descending, after=by_offset[-1].last_key).rows.empty


def test_keyset_with_filters_and_search(shared):
    for filters in ({"status": "low"}, {"search": "drill"}, {"category": "Tools", "location": "Aisle 1"}):
        pages = [shared.query(**filters, offset=o, limit=3) for o in (0, 3, 6)]
        assert shared.query(**filters, offset=3, limit=3, after=pages[0].last_key).rows.equals(pages[1].rows)
        assert shared.query(**filters, offset=3, limit=3, before=pages[2].first_key).rows.equals(pages[1].rows)
    with pytest.raises(ValueError):
        shared.query(after=(1, 1), before=(1, 1))


@pytest.mark.parametrize("sample", [3, 10_000])  # on SQLite: both search plans
def test_a_search_counts_up_to_the_limit_past_the_page(shared, sample, monkeypatch):
    monkeypatch.setattr(sqlite_backend, "SEARCH_SAMPLE", sample)
    exact = shared.query(search="box", limit=5)
    assert exact.total_exact and exact.total == 108  # 'Box' items: 120 minus the 12 drills
    capped = shared.query(search="box", limit=5, count_limit=20)
    assert (capped.total, capped.total_exact) == (20, False)  # "more than 20"
    assert capped.rows.equals(exact.rows)  # the page itself is the same
    deep = shared.query(search="box", offset=40, limit=5, count_limit=20)
    assert (deep.total, deep.total_exact) == (45, False)  # counted past the page shown: a next page exists
    assert list(deep.rows["id"]) == list(shared.query(search="box", offset=40, limit=5).rows["id"])
    few = shared.query(search="drill", limit=5, count_limit=20)
    assert (few.total, few.total_exact) == (12, True)  # under the limit: exact
    at_limit = shared.query(search="drill", limit=5, count_limit=12)
    assert (at_limit.total, at_limit.total_exact) == (12, True)  # exactly the limit is still exact
    tools = shared.query(category="Tools", limit=5, count_limit=20)
    assert (tools.total, tools.total_exact) == (40, True)  # only searches stop counting


def test_sqlite_low_stock_walks_the_shortage_index(tmp_path):
    """The Low stock view's query reads the short items in index order: no sort of every short item."""
    inv = ip.connect(f"sqlite:///{tmp_path / 'x.db'}", user="a@example.com", role="admin", settings=load_settings({}))
    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):
        if "shortage" in statement:
            statements.append((statement, parameters))

    try:
        inv.import_csv(io.BytesIO(_rows(120).encode()))
        sa.event.listen(inv.db.engine, "before_cursor_execute", capture)
        expected = list(inv.low_stock(limit=None)["id"])
        assert list(inv.low_stock(limit=5)["id"]) == expected[:5] and len(expected) > 5
        statement, parameters = statements[-1]
        with inv.db.engine.connect() as conn:
            plan = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
        assert "ix_inventory_items_shortage" in plan and "TEMP B-TREE" not in plan, plan
    finally:
        sa.event.remove(inv.db.engine, "before_cursor_execute", capture)
        inv.close()
