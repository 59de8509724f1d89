"""Reads: pages of items (filtered, sorted and paged in SQL), one item, headline figures, value lists, an item's
history and the audit trail."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..changes import describe_entry
from ..errors import InvalidArgumentError, NotFoundError
from ..storage.audit import item_names_at
from ..storage.dialects.base import count_select
from ..storage.queries import (
    Filters,
    distinct_select,
    order_by,
    page_ids,
    page_rows,
    searches_words,
    seek_condition,
    select_items,
    stats_count,
    summary_select,
    where_clause,
)
from ..storage.types import CENTS
from .arguments import check_descending, check_id, page_key, whole_number
from .model import ItemSelection, Page, items_frame
from .session import Session

AUDIT_COLUMNS = ["id", "at", "actor", "action", "item_id", "changes", "batch_id", "detail"]
# A page of the audit log adds the item's name as it was at each entry (storage.audit.item_names_at).
AUDIT_PAGE_COLUMNS = [*AUDIT_COLUMNS[:5], "item_name", *AUDIT_COLUMNS[5:]]


def query(
    s: Session,
    selection: ItemSelection,
    offset: int,
    limit: int,
    after: tuple[Any, int] | None,
    before: tuple[Any, int] | None,
    count_limit: int | None,
) -> Page:
    """``Inventory.query``: see there."""
    s.require("read")
    offset = whole_number("offset", offset, 0)
    limit = whole_number("limit", limit, 1, 10_000)
    count_limit = None if count_limit is None else whole_number("count_limit", count_limit, 0)
    sort_by, descending = selection.sort_by, check_descending(selection.descending)
    if after is not None and before is not None:
        raise InvalidArgumentError({"after": "give after or before, not both"})
    after, before = page_key("after", after), page_key("before", before)
    t, backend = s.tables, s.backend
    filters = selection.filters
    conds = where_clause(t, filters, backend)
    ids = page_ids(t, conds, sort_by, descending)
    cap = max(count_limit, offset + limit) if count_limit is not None and filters.search else None
    exact = True
    with s.uow.reading(statements=True) as conn:
        total, ids = _count(conn, s, filters, conds, ids, offset + limit, cap, (sort_by, descending))
        if total == 0 and searches_words(t, filters, backend):
            # Nothing begins with these words; the text may be part of a word: search it as a substring.
            conds = where_clause(t, filters, backend, words=False)
            ids = page_ids(t, conds, sort_by, descending)
            total, ids = _count(conn, s, filters, conds, ids, offset + limit, cap, (sort_by, descending))
        if cap is not None and total > cap:
            total, exact = cap, False
        rows: list[sa.Row[Any]] | Any
        if after is not None or before is not None:
            back = before is not None
            seek = seek_condition(t, sort_by, descending != back, after or before, backend)  # type: ignore[arg-type]
            near = ids.where(seek).order_by(None).order_by(*order_by(t, sort_by, descending != back))
            rows = conn.execute(page_rows(t, near.limit(limit), sort_by, descending)).all()
        elif offset >= total:
            rows = []
        elif offset > total // 2 and exact:
            # Past the middle, count from the other end: skipping fewer rows reads fewer index entries.
            tail = ids.order_by(None).order_by(*order_by(t, sort_by, not descending))
            tail = tail.offset(max(0, total - offset - limit)).limit(min(limit, total - offset))
            rows = conn.execute(page_rows(t, tail, sort_by, descending)).all()
        else:
            rows = conn.execute(page_rows(t, ids.offset(offset).limit(limit), sort_by, descending)).all()
    rows = list(rows)
    first = (_sort_value(rows[0], sort_by), rows[0].id) if rows else None
    last = (_sort_value(rows[-1], sort_by), rows[-1].id) if rows else None
    return Page(items_frame(rows), total, offset, limit, first, last, total_exact=exact)


def _count(
    conn: sa.Connection,
    s: Session,
    filters: Filters,
    conds: list[sa.ColumnElement[bool]],
    ids: sa.Select,
    reach: int,
    cap: int | None,
    order: tuple[str, bool],
) -> tuple[int, sa.Select]:
    """How many items match (up to ``cap``, or more) and the select of the page's ids (a search plan may narrow it)."""
    t, backend = s.tables, s.backend
    plan = backend.search_plan(conn, t, conds, reach, cap) if filters.search else None
    if plan is not None:
        total, found = plan
        if found is not None:  # every match in hand: the page is sorted from their ids alone
            ids = page_ids(t, [t.items.c.id.in_(found)], *order)
        return total, ids
    count = stats_count(t, filters)
    if count is None:
        count = count_select(t, conds, cap)
    return int(conn.execute(count).scalar_one()), ids


def _sort_value(row: sa.Row[Any], sort_by: str) -> Any:
    return row.quantity * row.unit_price if sort_by == "value" else getattr(row, sort_by)


def fetch_item(s: Session, conn: sa.Connection, item_id: Any, *, lock: bool = False) -> dict[str, Any]:
    """Item ``item_id`` on ``conn`` as a dict (locked until the transaction ends with ``lock``), or NotFoundError."""
    item_id = check_id(item_id)
    stmt = select_items(s.tables).where(s.tables.items.c.id == item_id)
    if lock:
        stmt = s.backend.lock_rows(stmt)
    row = conn.execute(stmt).first()
    if row is None:
        raise NotFoundError(item_id)
    return dict(row._mapping)


def get(s: Session, item_id: int) -> dict[str, Any]:
    s.require("read")
    with s.uow.reading() as conn:
        return fetch_item(s, conn, item_id)


def summary(s: Session) -> dict[str, Any]:
    """Headline figures in one SQL pass: items, units, total value, categories, low stock, out of stock."""
    s.require("read")
    with s.uow.reading(statements=True) as conn:
        row = conn.execute(summary_select(s.tables)).one()
    return {
        "items": int(row.items),
        "units": int(row.units),
        "total_value": (Decimal(int(row.value_cents)) * CENTS).quantize(CENTS),
        "categories": int(row.categories),
        "low_stock": int(row.low_stock),
        "out_of_stock": int(row.out_of_stock),
    }


def distinct_values(s: Session, column: str) -> list[str]:
    """Sorted distinct non-empty values of ``category``, ``location`` or ``supplier`` (for filter menus)."""
    s.require("read")
    if column not in ("category", "location", "supplier"):
        raise ValueError(f"no value list for {column!r}")
    with s.uow.reading() as conn:
        return [v for (v,) in conn.execute(distinct_select(s.tables, column))]


def change_token(s: Session) -> int:
    """A number that grows with every write (the newest audit id): cheap to poll for live updates."""
    with s.uow.reading(statements=True) as conn:
        return int(conn.execute(sa.select(sa.func.max(s.tables.audit.c.id))).scalar() or 0)


def history(s: Session, item_id: int) -> pd.DataFrame:
    """Stock movements and audit entries of one item, newest first: at, actor, what, detail."""
    s.require("read")
    item_id = check_id(item_id)
    m, a = s.tables.movements, s.tables.audit
    with s.uow.reading() as conn:
        moves = conn.execute(sa.select(m).where(m.c.item_id == item_id)).all()
        audits = conn.execute(sa.select(a).where(a.c.item_id == item_id)).all()
    entries = [
        {
            "at": r.at,
            "actor": r.actor,
            "what": f"stock {r.kind}",
            "detail": f"{r.delta:+d} → {r.quantity_after}" + (f" ({r.reason})" if r.reason else ""),
        }
        for r in moves
    ]
    entries += [
        {"at": r.at, "actor": r.actor, "what": r.action, "detail": describe_entry(r.changes, r.detail, r.action)}
        for r in audits
        if r.action != "adjust"
    ]
    frame = pd.DataFrame(entries, columns=["at", "actor", "what", "detail"])
    return frame.sort_values("at", ascending=False, kind="stable").reset_index(drop=True)


def audit_log(s: Session, offset: int = 0, limit: int = 100, action: str | None = None) -> Page:
    """The audit trail, newest first (admins only)."""
    s.require("audit")
    a = s.tables.audit
    conds = [a.c.action == action] if action else []
    with s.uow.reading() as conn:
        total = int(conn.execute(sa.select(sa.func.count()).select_from(a).where(*conds)).scalar_one())
        rows = conn.execute(sa.select(a).where(*conds).order_by(a.c.id.desc()).offset(offset).limit(limit)).all()
        names = item_names_at(conn, a, [(r.id, r.item_id) for r in rows if r.item_id is not None])
    entries = [{**r._mapping, "item_name": names.get(r.id)} for r in rows]
    return Page(pd.DataFrame(entries, columns=AUDIT_PAGE_COLUMNS), total, offset, limit)
