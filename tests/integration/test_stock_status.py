"""One stock-status rule (``inventory_panel/stock_status.py``): the Python predicate, the SQL expression and the
database's own totals and indexes give every item the same status, on SQLite and on PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

from inventory_panel import stock_status
from inventory_panel.storage.tables import build_tables

# Every case the rule distinguishes: out (with and without a minimum), low (below and at the minimum, a minimum of 0
# never makes a positive quantity low), in stock (above, without a minimum).
GRID = [(q, m) for q in (0, 1, 4, 5, 6) for m in (None, 0, 1, 5)]


def test_the_python_predicate_and_the_sql_expression_agree(db_url):
    engine = sa.create_engine(db_url)
    items = build_tables("probe").items  # the items table's columns, nothing else created
    try:
        with engine.begin() as conn:
            probe = sa.Table(
                "status_probe",
                sa.MetaData(),
                sa.Column("id", sa.Integer(), primary_key=True),
                sa.Column("quantity", items.c.quantity.type, nullable=False),
                sa.Column("minimum_stock", items.c.minimum_stock.type, nullable=True),
            )
            probe.create(conn)
            conn.execute(
                probe.insert(), [{"id": i, "quantity": q, "minimum_stock": m} for i, (q, m) in enumerate(GRID)]
            )
            in_sql = dict(conn.execute(sa.select(probe.c.id, stock_status.status_case(probe))).all())
            by_condition = {
                status: set(
                    conn.execute(sa.select(probe.c.id).where(stock_status.status_condition(probe, status))).scalars()
                )
                for status in stock_status.STATUSES
            }
            short = set(conn.execute(sa.select(probe.c.id).where(stock_status.short_condition(probe))).scalars())
            surplus = dict(conn.execute(sa.select(probe.c.id, stock_status.surplus(probe))).all())
    finally:
        engine.dispose()
    in_python = {i: stock_status.status_of(q, m) for i, (q, m) in enumerate(GRID)}
    assert in_sql == in_python
    assert by_condition == {s: {i for i, v in in_python.items() if v == s} for s in stock_status.STATUSES}
    assert short == {i for i, v in in_python.items() if v != "ok"}
    assert surplus == {i: q - (m or 0) for i, (q, m) in enumerate(GRID)}
    assert set(stock_status.LABELS) == set(stock_status.STATUSES)


def test_the_maintained_totals_and_the_filters_count_what_the_rule_says(inv):
    """The totals kept by the migrations' triggers (their frozen copy of the rule) and the status filter (the live
    rule, through the partial index) agree with the Python predicate: a changed rule needs a new migration."""
    for i, (q, m) in enumerate(GRID):
        inv.add(
            {"item_name": f"Item {i}", "category": "Tools", "quantity": q, "unit_price": "1.00", "minimum_stock": m}
        )
    expected = {s: sum(stock_status.status_of(q, m) == s for q, m in GRID) for s in stock_status.STATUSES}
    summary = inv.summary()
    assert (summary["low_stock"], summary["out_of_stock"]) == (expected["low"], expected["out"])
    assert {s: inv.query(status=s).total for s in stock_status.STATUSES} == expected
    assert {s: len(inv.query(status=s, search="Item").rows) for s in stock_status.STATUSES} == expected
    assert len(inv.low_stock(limit=None)) == expected["low"] + expected["out"]
