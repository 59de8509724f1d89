"""The ``Inventory`` service: the one object behind the app, the notebook API and the CLI.

Every operation checks the acting user's role, runs in one transaction and writes its audit rows in that same
transaction. Reads page, sort and filter in SQL. Nothing here knows about Panel.
"""

from __future__ import annotations

import csv
import json
import logging
import operator
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.exc import InterfaceError as SAInterfaceError

from .auth import ACTION_WORDS, User, make_user
from .errors import (
    ConflictError,
    DatabaseBusyError,
    DatabaseUnavailableError,
    InsufficientStockError,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from .fields import (
    FIELD_BY_NAME,
    FIELD_NAMES,
    MAX_INT,
    has_control_chars,
    has_surrogates,
    normalize_text,
    parse_record,
)
from .settings import Settings, load_settings
from .storage import migrate
from .storage.engines import Database, create_database
from .storage.faults import database_fault
from .storage.notify import PostgresChangeListener
from .storage.queries import (
    Filters,
    category_totals_select,
    distinct_select,
    order_by,
    page_ids,
    page_rows,
    seek_condition,
    select_items,
    stats_count,
    status_condition,
    summary_select,
    value_expr,
    where_clause,
)
from .storage.tables import Tables
from .storage.types import CENTS, utcnow

if TYPE_CHECKING:
    from .importing.report import ImportReport

log = logging.getLogger(__name__)

ITEM_COLUMNS = ("id", *FIELD_NAMES, "version", "created_at", "created_by", "updated_at", "updated_by", "status")
MOVEMENT_KINDS = ("receive", "issue", "count")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
ESCAPED_PREFIXES = (*FORMULA_PREFIXES, "'")
MAX_REASON = 500
NO_LOCATION = "(no location)"
SQLITE_SEARCH_SAMPLE = 2_000  # matches a search on SQLite collects before it trusts the sort index (a bound list)
# What the app passes as ``query(count_limit=…)``: a search counts at most this many matches (past the page shown).
SEARCH_COUNT_LIMIT = 1_000
DENIAL_WINDOW = 60.0  # seconds: denials of one action in one session past the burst are coalesced over this long
DENIAL_BURST = 3  # denials of one action audited one by one per window (a person retrying a button or two)


@dataclass
class _DenialWindow:
    """Denials of one action in one session since ``start`` (monotonic seconds)."""

    start: float
    written: int = 0  # audited one by one
    held: int = 0  # counted, not yet written


@dataclass(frozen=True)
class Page:
    """One page of items: ``rows`` (a DataFrame of ``ITEM_COLUMNS``) and ``total`` matching the filters."""

    rows: pd.DataFrame
    total: int
    offset: int
    limit: int
    # (sort value, id) of the first and last row: ``query(after=page.last_key)`` is the next page and
    # ``query(before=page.first_key)`` the previous one, found by an index range scan however deep they are.
    first_key: tuple[Any, int] | None = None
    last_key: tuple[Any, int] | None = None
    # False when a search stopped counting (``query(count_limit=…)``): there are more than ``total`` matches.
    total_exact: bool = True


def escape_formula(value: Any) -> Any:
    """Prefix text a spreadsheet would run as a formula with a quote (OWASP CSV injection).

    Text that starts with a quote already gets one more, so the escape can be undone exactly: the import removes
    one quote before a formula character or a quote (``importing.validation.unescape_cell``), and a stored
    ``'=1+1`` exports as ``''=1+1`` and imports as ``'=1+1`` again.
    """
    if isinstance(value, str) and value.startswith(ESCAPED_PREFIXES):
        return "'" + value
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _items_frame(rows: list[sa.Row]) -> pd.DataFrame:
    # From tuples, in ITEM_COLUMNS order: four times quicker than from dicts plus a cast (a page is built on every
    # page flip). Prices are Decimal objects, so the column is of dtype object (as every column of an empty page).
    if rows and tuple(rows[0]._fields) != ITEM_COLUMNS:
        raise ValueError(f"item rows must have the columns {ITEM_COLUMNS}, got {rows[0]._fields}")
    return pd.DataFrame([tuple(r) for r in rows], columns=list(ITEM_COLUMNS))


class Inventory:
    """Service object. Create with :func:`connect`."""

    def __init__(self, db: Database, user: User, settings: Settings):
        self.db = db
        self.user = user
        self.settings = settings
        self.t = db.tables
        self._denials: dict[str, _DenialWindow] = {}  # action -> this session's current denial window
        self._denial_lock = threading.Lock()
        self._clock: Callable[[], float] = time.monotonic

    # -- plumbing -----------------------------------------------------------------------------------------------

    @property
    def database_label(self) -> str:
        return self.db.label

    def as_user(self, user: User) -> Inventory:
        """The same database, acting as another user (one per app session)."""
        return Inventory(self.db, user, self.settings)

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One write transaction; SQLite takes its write lock up front.

        Waiting longer than the busy timeout for another writer's lock raises ``DatabaseBusyError``; the lock is
        taken before any statement runs, so nothing was written.
        """
        try:
            with self.db.engine.connect().execution_options(write=True) as conn, conn.begin():
                yield conn
        except DBAPIError as exc:
            fault = database_fault(exc)
            if fault is not None:
                raise fault from exc
            if not isinstance(exc, (OperationalError, SAInterfaceError)):
                raise
            if exc.connection_invalidated or _is_disconnect(exc):
                raise DatabaseUnavailableError(
                    "The database connection was lost; nothing was saved. Please try again.") from exc
            if _is_busy(exc):
                raise DatabaseBusyError() from exc
            raise

    @contextmanager
    def reading(self, *, statements: bool = False) -> Iterator[sa.Connection]:
        """A connection for reading. ``statements``: each statement on its own, with no transaction around them
        (PostgreSQL): what READ COMMITTED gives anyway, minus the BEGIN and ROLLBACK round trips (a page flip is
        a few milliseconds of SQL; two more round trips to a remote Lakebase are a good part of it)."""
        try:
            with self.db.engine.connect() as conn:
                if statements and self.db.dialect == "postgresql":
                    conn = conn.execution_options(isolation_level="AUTOCOMMIT")
                yield conn
        except (OperationalError, SAInterfaceError) as exc:
            if exc.connection_invalidated or _is_disconnect(exc):
                raise DatabaseUnavailableError("The database connection was lost. Please try again.") from exc
            if _is_busy(exc):
                raise DatabaseBusyError(DatabaseBusyError.READ_MESSAGE) from exc
            raise

    def require(self, action: str) -> None:
        """Raise ``PermissionDeniedError`` (and audit the denial) unless the user may do ``action``.

        Denials are audited per action and session (this object): the first ``DENIAL_BURST`` of a
        ``DENIAL_WINDOW`` each get a row; the rest of that window are counted and written as one row with
        ``{"count": n}`` at the next denial after the window, or by ``flush_denials`` (``close`` calls it).
        A script clicking a refused button 15 times a second thus writes a few rows a minute, not 15 a second,
        and the rows still add up to every denial. The error is raised every time.
        """
        if self.user.can(action):
            return
        with self._denial_lock:
            window = self._denials.get(action)
            now = self._clock()
            rows: list[tuple[str, int]] = []
            if window is None or now - window.start >= DENIAL_WINDOW:
                if window is not None and window.held:
                    rows.append((action, window.held))
                window = self._denials[action] = _DenialWindow(now)
            if window.written < DENIAL_BURST:
                window.written += 1
                rows.append((action, 0))
            else:
                window.held += 1
            self._audit_denials(rows)
        raise PermissionDeniedError(self.user.name, self.user.role, ACTION_WORDS.get(action, action))

    def flush_denials(self) -> None:
        """Write the counts of denials still held back (end of a session)."""
        with self._denial_lock:
            rows = [(action, w.held) for action, w in self._denials.items() if w.held]
            self._denials.clear()
            self._audit_denials(rows)

    def _audit_denials(self, rows: list[tuple[str, int]]) -> None:
        """One ``denied`` row per (action, held count): 0 is a single denial, n > 0 that many coalesced ones."""
        if not rows:
            return
        try:
            with self.transaction() as conn:
                for action, held in rows:
                    detail = f"{action} refused for role {self.user.role}"
                    if held:
                        self.record_audit(conn, "denied", changes={"count": held},
                                          detail=f"{detail}: {held} more times within {DENIAL_WINDOW:g} s")
                    else:
                        self.record_audit(conn, "denied", detail=detail)
        except Exception:
            log.exception("could not audit a permission denial")

    def record_audit(self, conn: sa.Connection, action: str, *, item_id: int | None = None,
                     changes: dict[str, Any] | None = None, batch_id: str | None = None,
                     detail: str | None = None) -> None:
        conn.execute(self.t.audit.insert().values(
            at=utcnow(), actor=self.user.name, action=action, item_id=item_id,
            changes=None if changes is None else json.dumps(changes, default=_jsonable, ensure_ascii=False),
            batch_id=batch_id, detail=detail))

    def change_token(self) -> int:
        """A number that grows with every write (the newest audit id): cheap to poll for live updates."""
        with self.reading(statements=True) as conn:
            return int(conn.execute(sa.select(sa.func.max(self.t.audit.c.id))).scalar() or 0)

    def change_listener(self) -> PostgresChangeListener | None:
        """A source that blocks until another process announces a change (PostgreSQL LISTEN/NOTIFY), or None on
        SQLite, where ``change_token`` is polled instead."""
        if self.db.dialect != "postgresql":
            return None
        return PostgresChangeListener(self.db, self.change_token)

    # -- reads --------------------------------------------------------------------------------------------------

    def query(self, search: str | None = None, category: str | None = None, location: str | None = None,
              status: str | None = None, sort_by: str = "item_name", descending: bool = False,
              offset: int = 0, limit: int = 50, after: tuple[Any, int] | None = None,
              before: tuple[Any, int] | None = None, count_limit: int | None = None) -> Page:
        """One page of items matching the filters, sorted in the database.

        ``offset`` counts rows from the start. Flipping from a page to the next or previous one, pass that
        page's ``last_key`` as ``after`` or its ``first_key`` as ``before`` (and the new page's offset, which is
        only reported back): the rows then come from a seek in the sort index instead of skipping ``offset`` rows.

        ``count_limit``: a search stops counting its matches past ``max(count_limit, offset + limit)``; if there
        are more, ``total`` is that number and ``total_exact`` False ("more than …"). Counting every match of a
        common word means reading every matching row; the other filters are counted exactly either way (from the
        maintained totals or an index).
        """
        self.require("read")
        offset = _whole_number("offset", offset, 0)
        limit = _whole_number("limit", limit, 1, 10_000)
        count_limit = None if count_limit is None else _whole_number("count_limit", count_limit, 0)
        if not isinstance(descending, (bool, np.bool_)):
            raise InvalidArgumentError({"descending": f"descending must be True or False, got {descending!r}"[:300]})
        descending = bool(descending)
        if after is not None and before is not None:
            raise InvalidArgumentError({"after": "give after or before, not both"})
        after, before = _page_key("after", after), _page_key("before", before)
        filters = Filters(search, category, location, status)
        conds = where_clause(self.t, filters, self.db.dialect)
        ids = page_ids(self.t, conds, sort_by, descending)
        cap = max(count_limit, offset + limit) if count_limit is not None and filters.search else None
        exact = True
        with self.reading(statements=True) as conn:
            if filters.search and self.db.dialect == "sqlite":
                total, ids = _sqlite_search_plan(conn, self.t, conds, ids, offset + limit, cap)
            else:
                count = stats_count(self.t, filters)
                if count is None:
                    count = _count_select(self.t, conds, cap)
                total = int(conn.execute(count).scalar_one())
            if cap is not None and total > cap:
                total, exact = cap, False
            if after is not None or before is not None:
                back = before is not None
                seek = seek_condition(self.t, sort_by, descending != back, after or before, self.db.dialect)
                near = ids.where(seek).order_by(None).order_by(*order_by(self.t, sort_by, descending != back))
                rows = conn.execute(page_rows(self.t, near.limit(limit), sort_by, descending)).all()
            elif offset >= total:
                rows = []
            elif offset > total // 2 and exact:
                # Past the middle, count from the other end: skipping fewer rows reads fewer index entries.
                tail = ids.order_by(None).order_by(*order_by(self.t, sort_by, not descending))
                tail = tail.offset(max(0, total - offset - limit)).limit(min(limit, total - offset))
                rows = conn.execute(page_rows(self.t, tail, sort_by, descending)).all()
            else:
                rows = conn.execute(page_rows(self.t, ids.offset(offset).limit(limit), sort_by, descending)).all()
        keys = [(_sort_value(r, sort_by), r.id) for r in (rows[:1] + rows[-1:])]
        return Page(_items_frame(rows), total, offset, limit, *(keys or [None, None]), total_exact=exact)

    def get(self, item_id: int) -> dict[str, Any]:
        self.require("read")
        with self.reading() as conn:
            return self._get(conn, item_id)

    def _get(self, conn: sa.Connection, item_id: int, *, lock: bool = False) -> dict[str, Any]:
        item_id = _check_id(item_id)
        stmt = select_items(self.t).where(self.t.items.c.id == item_id)
        if lock and self.db.dialect == "postgresql":
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None:
            raise NotFoundError(item_id)
        return dict(row._mapping)

    def summary(self) -> dict[str, Any]:
        """Headline figures in one SQL pass: items, units, total value, categories, low stock, out of stock."""
        self.require("read")
        with self.reading(statements=True) as conn:
            row = conn.execute(summary_select(self.t)).one()
        return {"items": int(row.items), "units": int(row.units),
                "total_value": (Decimal(int(row.value_cents)) * CENTS).quantize(CENTS),
                "categories": int(row.categories), "low_stock": int(row.low_stock),
                "out_of_stock": int(row.out_of_stock)}

    def distinct_values(self, column: str) -> list[str]:
        """Sorted distinct non-empty values of ``category``, ``location`` or ``supplier`` (for filter menus)."""
        self.require("read")
        if column not in ("category", "location", "supplier"):
            raise ValueError(f"no value list for {column!r}")
        with self.reading() as conn:
            return [v for (v,) in conn.execute(distinct_select(self.t, column))]

    def low_stock(self, limit: int | None = 500) -> pd.DataFrame:
        """Items at or below their minimum (or out of stock), largest shortage first, with suppliers.

        ``limit``: at most this many (the largest shortages); None for all of them. ``summary()`` counts them all
        (``low_stock + out_of_stock``) without reading them.
        """
        self.require("read")
        items = self.t.items
        # A literal 0, as in the index's expression: with a bound parameter SQLite cannot match the ORDER BY to the
        # shortage index and sorted every short item (3.5 s for 52,000 of a million on the development machine).
        zero = sa.literal_column("0")
        shortage = (sa.func.coalesce(items.c.minimum_stock, zero) - items.c.quantity).label("shortage")
        # "out or low" spelled as the two status conditions, each of which an index answers (the quantity index,
        # the partial low-stock index), so only the short-stocked items are read and sorted, not every item.
        # Ordered by surplus ascending (= shortage descending), the key of the partial index of short items.
        surplus = items.c.quantity - sa.func.coalesce(items.c.minimum_stock, zero)
        stmt = (select_items(self.t).add_columns(shortage)
                .where(sa.or_(status_condition(items, "out"), status_condition(items, "low")))
                .order_by(surplus, items.c.item_name, items.c.id).limit(limit))
        with self.reading() as conn:
            rows = conn.execute(stmt).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=[*ITEM_COLUMNS, "shortage"]).astype(
            {"unit_price": object})

    def value_by_category(self) -> pd.DataFrame:
        """Value, items and units per category, most valuable first (from the maintained per-category totals)."""
        self.require("read")
        with self.reading() as conn:
            rows = conn.execute(category_totals_select(self.t)).all()
        return pd.DataFrame(
            [(r.category, (Decimal(int(r.value_cents)) * CENTS).quantize(CENTS), int(r.items), int(r.units))
             for r in rows], columns=["category", "value", "items", "units"]).astype({"value": object})

    def stock_status_counts(self) -> pd.DataFrame:
        """Items per stock status: ok, low, out (from the maintained per-category totals)."""
        summary = self.summary()
        low, out = summary["low_stock"], summary["out_of_stock"]
        return pd.DataFrame({"status": ["ok", "low", "out"], "items": [summary["items"] - low - out, low, out]})

    def top_items_by_value(self, n: int = 10) -> pd.DataFrame:
        self.require("read")
        items = self.t.items
        value = value_expr(items).label("value")
        stmt = (sa.select(items.c.id, items.c.item_name, items.c.category, items.c.quantity, items.c.unit_price,
                          value).order_by(value.desc(), items.c.id).limit(n))
        return self._frame(stmt, ["id", "item_name", "category", "quantity", "unit_price", "value"])

    def quantity_by_location(self) -> pd.DataFrame:
        self.require("read")
        items = self.t.items
        # Grouped by the bare column, which the (location, quantity) index yields in order without a sort; the
        # few groups are labelled and ordered here.
        stmt = (sa.select(items.c.location, sa.func.sum(items.c.quantity).label("units"),
                          sa.func.count().label("items")).group_by(items.c.location))
        frame = self._frame(stmt, ["location", "units", "items"])
        frame["location"] = frame["location"].fillna(NO_LOCATION)
        frame = frame.groupby("location", as_index=False, sort=False)[["units", "items"]].sum()
        return frame.sort_values(["units", "location"], ascending=[False, True], kind="stable").reset_index(drop=True)

    def _frame(self, stmt: sa.Select, columns: list[str]) -> pd.DataFrame:
        with self.reading() as conn:
            rows = conn.execute(stmt).all()
        frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
        return frame.astype({c: object for c in ("value", "unit_price") if c in columns})

    def history(self, item_id: int) -> pd.DataFrame:
        """Stock movements and audit entries of one item, newest first: at, actor, what, detail."""
        self.require("read")
        item_id = _check_id(item_id)
        m, a = self.t.movements, self.t.audit
        with self.reading() as conn:
            moves = conn.execute(sa.select(m).where(m.c.item_id == item_id)).all()
            audits = conn.execute(sa.select(a).where(a.c.item_id == item_id)).all()
        entries = [{"at": r.at, "actor": r.actor, "what": f"stock {r.kind}",
                    "detail": f"{r.delta:+d} → {r.quantity_after}" + (f" ({r.reason})" if r.reason else "")}
                   for r in moves]
        entries += [{"at": r.at, "actor": r.actor, "what": r.action, "detail": _describe_changes(r.changes, r.detail)}
                    for r in audits if r.action != "adjust"]
        frame = pd.DataFrame(entries, columns=["at", "actor", "what", "detail"])
        return frame.sort_values("at", ascending=False, kind="stable").reset_index(drop=True)

    def audit_log(self, offset: int = 0, limit: int = 100, action: str | None = None) -> Page:
        """The audit trail, newest first (admins only)."""
        self.require("audit")
        a = self.t.audit
        conds = [a.c.action == action] if action else []
        with self.reading() as conn:
            total = int(conn.execute(sa.select(sa.func.count()).select_from(a).where(*conds)).scalar_one())
            rows = conn.execute(sa.select(a).where(*conds).order_by(a.c.id.desc()).offset(offset).limit(limit)).all()
        cols = ["id", "at", "actor", "action", "item_id", "changes", "batch_id", "detail"]
        return Page(pd.DataFrame([dict(r._mapping) for r in rows], columns=cols), total, offset, limit)

    def export_audit_csv(self, path_or_buffer: str | Path | IO[str], action: str | None = None) -> int:
        """Write the audit trail (oldest first) as CSV for admins, streaming; returns the number of rows.

        Actors, details and changed values are user-supplied text, so formula-like cells are escaped too.
        """
        self.require("audit")
        a = self.t.audit
        cols = ("id", "at", "actor", "action", "item_id", "changes", "batch_id", "detail")
        stmt = sa.select(*(a.c[c] for c in cols)).where(*([a.c.action == action] if action else [])).order_by(a.c.id)
        with _open_text(path_or_buffer) as out, self.reading() as conn:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(cols)
            count = 0
            for row in conn.execution_options(yield_per=5000).execute(stmt):
                writer.writerow(["" if v is None else escape_formula(_jsonable(v) if not isinstance(v, str) else v)
                                 for v in row])
                count += 1
        return count

    # -- writes -------------------------------------------------------------------------------------------------

    def add(self, values: dict[str, Any]) -> dict[str, Any]:
        """Add one item; returns it as stored (with ``id`` and ``version``)."""
        self.require("add")
        clean, errors = parse_record(_fields_mapping("values", values))
        if errors:
            raise ValidationError(errors)
        now = utcnow()
        with self._unique_sku(clean.get("sku")), self.transaction() as conn:
            item_id = conn.execute(self.t.items.insert().values(
                **clean, version=1, created_at=now, created_by=self.user.name, updated_at=now,
                updated_by=self.user.name).returning(self.t.items.c.id)).scalar_one()
            self.record_audit(conn, "add", item_id=item_id, changes={k: [None, v] for k, v in clean.items()
                                                                     if v is not None})
            return self._get(conn, item_id)

    def update(self, item_id: int, changes: dict[str, Any], version: int) -> dict[str, Any]:
        """Change some fields of an item read at ``version``; a stale version raises ``ConflictError``."""
        self.require("edit")
        item_id, version = _check_id(item_id), _whole_number("version", version)
        clean, errors = parse_record(_fields_mapping("changes", changes), partial=True)
        if errors:
            raise ValidationError(errors)
        with self._unique_sku(clean.get("sku")), self.transaction() as conn:
            current = self._get(conn, item_id, lock=True)
            if current["version"] != version:
                raise ConflictError(
                    f"{current['item_name']!s} was changed by {current['updated_by']} since you opened it; "
                    "your change was not saved. Review the current values and try again.", current)
            diff = {k: [current[k], v] for k, v in clean.items() if current[k] != v}
            if not diff:
                return current
            updated = conn.execute(
                self.t.items.update()
                .where(self.t.items.c.id == item_id, self.t.items.c.version == version)
                .values(**{k: v[1] for k, v in diff.items()}, version=version + 1, updated_at=utcnow(),
                        updated_by=self.user.name)).rowcount
            if updated != 1:
                raise ConflictError("The item changed while saving; nothing was saved. Please retry.",
                                    self._get(conn, item_id))
            if "quantity" in diff:
                old, new = diff["quantity"]
                self._movement(conn, item_id, new - old, new, "count", "edited quantity")
            self.record_audit(conn, "update", item_id=item_id, changes=diff)
            return self._get(conn, item_id)

    def delete(self, item_id: int, version: int) -> None:
        """Delete an item read at ``version``; the audit keeps the deleted row."""
        self.require("delete")
        item_id, version = _check_id(item_id), _whole_number("version", version)
        with self.transaction() as conn:
            current = self._get(conn, item_id, lock=True)
            if current["version"] != version:
                raise ConflictError(
                    f"{current['item_name']!s} was changed by {current['updated_by']} since you opened it; "
                    "it was not deleted.", current)
            conn.execute(self.t.items.delete().where(self.t.items.c.id == item_id,
                                                     self.t.items.c.version == version))
            self.record_audit(conn, "delete", item_id=item_id,
                              changes={k: current[k] for k in ("id", *FIELD_NAMES, "version")})

    def adjust_stock(self, item_id: int, delta: int, reason: str, kind: str | None = None) -> dict[str, Any]:
        """Add (receive) or remove (issue) units atomically; the quantity can never go below zero.

        The delta is applied in SQL (``quantity = quantity + delta``), so concurrent adjustments all count.
        """
        self.require("adjust")
        item_id = _check_id(item_id)
        number = _as_int(delta)
        if number is None or number == 0 or abs(number) > MAX_INT:
            raise ValidationError({"delta": f"the adjustment must be a whole number other than 0, at most {MAX_INT}"})
        delta = number
        reason = str(reason or "").strip()
        if not reason:
            raise ValidationError({"reason": "give a reason for the adjustment"})
        if len(reason) > MAX_REASON:
            raise ValidationError({"reason": f"the reason must be at most {MAX_REASON} characters"})
        if has_surrogates(reason):
            raise ValidationError({"reason": "the reason must be valid text: it contains a broken character"})
        if has_control_chars(reason):
            raise ValidationError({"reason": "the reason must not contain control characters"})
        reason = normalize_text(reason)
        kind = kind or ("receive" if delta > 0 else "issue")
        if kind not in MOVEMENT_KINDS:
            raise ValidationError({"kind": f"kind must be one of {', '.join(MOVEMENT_KINDS)}"})
        items = self.t.items
        # Computed as BIGINT so that a sum beyond the INTEGER column is refused here rather than overflowing.
        after_expr = sa.cast(items.c.quantity, sa.BigInteger()) + sa.literal(delta, sa.BigInteger())
        with self.transaction() as conn:
            row = conn.execute(
                items.update()
                .where(items.c.id == item_id, after_expr >= 0, after_expr <= MAX_INT)
                .values(quantity=items.c.quantity + delta, version=items.c.version + 1,
                        updated_at=utcnow(), updated_by=self.user.name)
                .returning(items.c.quantity)).first()
            if row is None:
                current = self._get(conn, item_id)
                if current["quantity"] + delta > MAX_INT:
                    raise ValidationError({"delta": f"the quantity would exceed {MAX_INT}"})
                raise InsufficientStockError(item_id, current["quantity"], delta)
            after = int(row[0])
            self._movement(conn, item_id, delta, after, kind, reason)
            self.record_audit(conn, "adjust", item_id=item_id, changes={"quantity": [after - delta, after]},
                              detail=reason)
            return self._get(conn, item_id)

    def _movement(self, conn: sa.Connection, item_id: int, delta: int, after: int, kind: str,
                  reason: str | None, batch_id: str | None = None) -> None:
        conn.execute(self.t.movements.insert().values(
            item_id=item_id, delta=delta, quantity_after=after, kind=kind, reason=reason, actor=self.user.name,
            at=utcnow(), batch_id=batch_id))

    @contextmanager
    def _unique_sku(self, sku: str | None) -> Iterator[None]:
        try:
            yield
        except IntegrityError as exc:
            if sku and "sku" in str(exc.orig).lower():
                raise ConflictError(f"SKU {sku!r} is already used by another item.") from exc
            raise

    # -- files --------------------------------------------------------------------------------------------------

    def _export_select(self, columns: list[sa.ColumnElement[Any]], search: str | None, category: str | None,
                       location: str | None, status: str | None, sort_by: str, descending: bool) -> sa.Select:
        """``columns`` of the items matching the filters, in the order asked (the same rules as ``query``)."""
        if not isinstance(descending, (bool, np.bool_)):
            raise InvalidArgumentError({"descending": f"descending must be True or False, got {descending!r}"[:300]})
        conds = where_clause(self.t, Filters(search, category, location, status), self.db.dialect)
        return sa.select(*columns).where(*conds).order_by(*order_by(self.t, sort_by, bool(descending)))

    def _stream(self, conn: sa.Connection, stmt: sa.Select, batch: int = 5000) -> Iterator[list[sa.Row]]:
        """The rows of ``stmt`` in lists of ``batch`` (a server-side cursor on PostgreSQL: never all at once)."""
        yield from conn.execution_options(yield_per=batch).execute(stmt).partitions()

    def export_csv(self, path_or_buffer: str | Path | IO[str], search: str | None = None,
                   category: str | None = None, location: str | None = None, status: str | None = None,
                   sort_by: str = "item_name", descending: bool = False) -> int:
        """Write the filtered items as CSV (importable again), streaming; returns the number of rows."""
        self.require("export")
        stmt = self._export_select([self.t.items.c[n] for n in FIELD_NAMES], search, category, location, status,
                                   sort_by, descending)
        with _open_text(path_or_buffer) as out, self.reading() as conn:
            # RFC 4180 line ends: the writer then also quotes cells holding a lone CR, which readers split on.
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(FIELD_NAMES)
            count = 0
            for rows in self._stream(conn, stmt):
                for row in rows:
                    writer.writerow(["" if v is None else escape_formula(v if isinstance(v, str) else str(v))
                                     for v in row])
                count += len(rows)
        return count

    def export_xlsx(self, path_or_buffer: str | Path | IO[bytes], search: str | None = None,
                    category: str | None = None, location: str | None = None, status: str | None = None,
                    sort_by: str = "item_name", descending: bool = False) -> int:
        """Write the filtered items as an Excel workbook (the CSV's columns, typed: numbers, money ``#,##0.00``,
        text never run as a formula; header frozen, autofilter), streaming; returns the number of rows.

        The file is written when every row has been read: a failure before (the database, more rows than a sheet
        holds) leaves ``path_or_buffer`` untouched. See ``exporting/xlsx.py``.
        """
        from .exporting.xlsx import write_items

        self.require("export")
        stmt = self._export_select([self.t.items.c[n] for n in FIELD_NAMES], search, category, location, status,
                                   sort_by, descending)
        with self.reading() as conn:
            return write_items(_fs_path(path_or_buffer), (row for rows in self._stream(conn, stmt) for row in rows))

    def export_parquet(self, path_or_buffer: str | Path | IO[bytes], search: str | None = None,
                       category: str | None = None, location: str | None = None, status: str | None = None,
                       sort_by: str = "item_name", descending: bool = False) -> int:
        """Write the filtered items as Parquet, one row group per batch read from the database; returns the number
        of rows. Every column of ``query().rows`` (id, fields, version, timestamps in UTC, status), typed as in
        ``to_frame(as_arrow=True)``: ``decimal128(12, 2)`` money, ``int64``, strings, ``timestamp[us, UTC]``."""
        from .exporting.arrow import item_schema, record_batches, write_parquet

        self.require("export")
        columns = list(select_items(self.t).selected_columns)
        stmt = self._export_select(columns, search, category, location, status, sort_by, descending)
        schema = item_schema(columns)
        with self.reading() as conn:
            return write_parquet(record_batches(self._stream(conn, stmt), schema), schema, _fs_path(path_or_buffer))

    def export(self, path_or_buffer: str | Path | IO[Any], format: str | None = None, **filters: Any) -> int:
        """Export the filtered items as ``format`` (``csv``, ``xlsx``, ``parquet``; default: from the file name's
        extension, else CSV); ``filters`` as ``export_csv``. Returns the number of rows."""
        from .exporting import format_for

        name = str(path_or_buffer) if isinstance(path_or_buffer, (str, Path)) else None
        try:
            kind = format_for(name, format)
        except ValueError as exc:
            raise InvalidArgumentError({"format": str(exc)}) from None
        writer = {"csv": self.export_csv, "xlsx": self.export_xlsx, "parquet": self.export_parquet}[kind]
        return writer(path_or_buffer, **filters)

    def to_frame(self, search: str | None = None, category: str | None = None, location: str | None = None,
                 status: str | None = None, sort_by: str = "item_name", descending: bool = False,
                 limit: int | None = None, as_arrow: bool = False) -> pd.DataFrame | Any:
        """The filtered items (the columns of ``query().rows``) as a pandas DataFrame, or with ``as_arrow`` a
        ``pyarrow.Table``; at most ``limit`` of them (None: all).

        Read from the database in batches, each turned into an Arrow record batch at once: only what is returned is
        held. pandas types: ``unit_price`` is ``object`` holding ``Decimal`` (exact, as in ``query().rows``),
        ``minimum_stock`` nullable ``Int64``, timestamps ``datetime64[us, UTC]``; Arrow types as
        ``export_parquet``.
        """
        from .exporting.arrow import item_schema, record_batches, to_pandas, to_table

        self.require("export")
        limit = None if limit is None else _whole_number("limit", limit, 0)
        columns = list(select_items(self.t).selected_columns)
        stmt = self._export_select(columns, search, category, location, status, sort_by, descending)
        if limit is not None:
            stmt = stmt.limit(limit)
        schema = item_schema(columns)
        with self.reading() as conn:
            table = to_table(record_batches(self._stream(conn, stmt), schema), schema)
        return table if as_arrow else to_pandas(table)

    def import_csv(self, source: str | Path | bytes | IO[Any], mode: str = "append", atomic: bool = False,
                   dry_run: bool = False, **options: Any) -> ImportReport:
        """Import a CSV file or a workbook (.xlsx, .xls, .ods: told apart by content) from a path, bytes or a file
        object; see README, CSV rules for the rules and ``importing/excel.py`` for workbooks."""
        from .importing import import_csv

        return import_csv(self, source, mode=mode, atomic=atomic, dry_run=dry_run, **options)

    def import_file(self, source: str | Path | bytes | IO[Any], sheet: str | None = None, mode: str = "append",
                    atomic: bool = False, dry_run: bool = False, **options: Any) -> ImportReport:
        """Import a CSV file or a workbook sheet (the first, or ``sheet`` by name): ``import_csv`` under its
        general name."""
        from .importing import import_csv

        return import_csv(self, source, mode=mode, atomic=atomic, dry_run=dry_run, sheet=sheet, **options)

    def import_frame(self, frame: Any, mode: str = "append", atomic: bool = False, dry_run: bool = False,
                     **options: Any) -> ImportReport:
        """Import a DataFrame (pandas, Polars, Spark), a PyArrow Table / RecordBatchReader or any object with
        ``__arrow_c_stream__``, with the rules and report of a file import; row numbers are its 0-based positions."""
        from .importing import import_frame

        return import_frame(self, frame, mode=mode, atomic=atomic, dry_run=dry_run, **options)

    def import_table(self, table: str, mode: str = "append", atomic: bool = False, dry_run: bool = False, *,
                     warehouse_id: str | None = None, spark: Any = None, columns: list[str] | None = None,
                     order_by: list[str] | None = None, disposition: str = "EXTERNAL_LINKS",
                     workspace_client: Any = None, timeout: float | None = None,
                     progress: Any = None) -> ImportReport:
        """Import a Unity Catalog table ``catalog.schema.table`` with the rules and report of a file import.

        Read through a SQL warehouse (``warehouse_id`` or ``DATABRICKS_WAREHOUSE_ID``; chunk by chunk, never whole)
        or a Spark session (``spark``, or the notebook's active one); see ``databricks/uc_import.py``. Row numbers
        are 0-based positions in the result (``order_by`` makes them stable). ``workspace_client`` replaces the
        one built from the environment (e.g. a person's own token).
        """
        from .databricks import uc_import
        from .importing import MODES, import_frame

        self.require("import")  # before the warehouse runs anything for someone who may not import
        if mode not in MODES:
            raise InvalidArgumentError({"mode": f"mode must be one of {', '.join(MODES)}, got {mode!r}"[:300]})
        name = uc_import.parse_table_name(table)
        kind, reader = uc_import.resolve_reader(warehouse_id=warehouse_id, spark=spark,
                                                settings_warehouse=self.settings.warehouse_id)
        if kind == "spark":
            frame = uc_import.spark_table(reader, name, columns, order_by)
        else:
            if workspace_client is None:
                from .databricks.client import workspace_client as build_client

                workspace_client = build_client()
            frame = uc_import.WarehouseTable(
                workspace_client, name, reader, columns=columns, order_by=order_by, disposition=disposition,
                timeout=uc_import.TIMEOUT_SECONDS if timeout is None else timeout).reader()
        return import_frame(self, frame, mode=mode, atomic=atomic, dry_run=dry_run, progress=progress,
                            file_name=name.display)

    def template_csv(self) -> str:
        from .importing.template import template_csv

        return template_csv()

    def template_xlsx(self) -> bytes:
        """The import template as an Excel workbook: required columns marked, a validation hint per column."""
        from .importing.template import template_xlsx

        return template_xlsx()

    def close(self) -> None:
        self.flush_denials()
        self.db.dispose()

    def __repr__(self) -> str:
        return f"<Inventory {self.db.label} as {self.user.name} ({self.user.role})>"


def _describe_changes(changes: str | None, detail: str | None) -> str:
    if not changes:
        return detail or ""
    data = json.loads(changes)
    parts = []
    for key, value in data.items():
        if isinstance(value, list) and len(value) == 2:
            parts.append(f"{FIELD_BY_NAME[key].label if key in FIELD_BY_NAME else key}: {value[0]} → {value[1]}")
        else:
            parts.append(f"{key}: {value}")
    text = "; ".join(parts)
    return f"{text} ({detail})" if detail else text


# PostgreSQL error codes that mean "the server is going away or will not let us in", not "your statement failed".
UNAVAILABLE_CODES = frozenset({"57P01", "57P02", "57P03", "57P04", "53300", "28000", "28P01"})
UNAVAILABLE_MARKERS = (
    "server closed the connection", "connection refused", "terminating connection", "could not connect",
    "connection already closed", "ssl connection has been closed", "the database system is shutting down",
    "the database system is starting up", "the database system is in recovery mode", "password authentication failed",
    "could not translate host name", "no route to host", "network is unreachable", "connection timed out",
    "timeout expired", "ssl syscall error", "eof detected", "unable to open database file",
)


def _sort_value(row: sa.Row, sort_by: str) -> Any:
    return row.quantity * row.unit_price if sort_by == "value" else getattr(row, sort_by)


def _count_select(tables: Tables, conds: list[sa.ColumnElement[bool]], cap: int | None) -> sa.Select:
    """Count the matching items; with ``cap``, stop after ``cap + 1`` (enough to know there are more)."""
    if cap is None:
        return sa.select(sa.func.count()).select_from(tables.items).where(*conds)
    capped = sa.select(sa.literal(1)).select_from(tables.items).where(*conds).limit(cap + 1).subquery()
    return sa.select(sa.func.count()).select_from(capped)


def _sqlite_search_plan(conn: sa.Connection, tables: Tables, conds: list[sa.ColumnElement[bool]], ids: sa.Select,
                        reach: int, cap: int | None) -> tuple[int, sa.Select]:
    """Total and page ids of a search on SQLite, which has no index for substrings and no statistics to choose.

    Walking the sort index checks rows in sort order, one random read each: quick when matches are dense, ruinous
    (every row read at random) when they are rare. So one table scan collects the first matches: when it ends
    with few of them (a rare term), they are all there is, and the page is sorted from them; when it stops early
    with many, walking the index is the quick way to the page and only the count still reads every row.
    """
    few = min(8 * reach, SQLITE_SEARCH_SAMPLE)
    found = conn.execute(sa.select(tables.items.c.id).where(*conds).limit(few + 1)).scalars().all()
    if len(found) <= few:
        return len(found), ids.where(tables.items.c.id.in_(found))
    total = conn.execute(_count_select(tables, conds, cap)).scalar_one()
    return int(total), ids


def _is_disconnect(exc: Exception) -> bool:
    code = getattr(getattr(exc, "orig", None), "pgcode", None) or ""
    if code.startswith("08") or code in UNAVAILABLE_CODES:
        return True
    text = str(exc).lower()
    return any(s in text for s in UNAVAILABLE_MARKERS)


def _is_busy(exc: Exception) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY after the busy timeout) or PostgreSQL's lock_not_available."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "pgcode", None) == "55P03":
        return True
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == 5  # SQLITE_BUSY and its extended codes
    return "database is locked" in str(exc).lower()


def _as_int(value: Any) -> int | None:
    """``value`` as an int when it is a whole-number type (int, or a numpy integer from ``query().rows``), else
    None. A bool is not a number here, and neither is a float or text: "1" and 1.0 are not ids or counts."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _check_id(item_id: Any) -> int:
    """``item_id`` as an int; an id no row can have (not an integer, or beyond BIGINT) is "not found", not a
    driver error. The int matters: drivers cannot bind numpy integers."""
    number = _as_int(item_id)
    if number is None or not 0 < number < 2**63:
        raise NotFoundError(item_id)
    return number


def _whole_number(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """A whole-number argument as an int, or ``InvalidArgumentError`` naming it."""
    number = _as_int(value)
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        bounds = {(True, True): f" between {low} and {high}", (True, False): f" of at least {low}"}.get(
            (low is not None, high is not None), "")
        raise InvalidArgumentError({name: f"{name} must be a whole number{bounds}, got {value!r}"[:300]})
    return number


def _page_key(name: str, key: Any) -> tuple[Any, int] | None:
    """A page's ``first_key``/``last_key`` (sort value, id), or ``InvalidArgumentError``."""
    if key is None:
        return None
    if isinstance(key, (tuple, list)) and len(key) == 2 and (ident := _as_int(key[1])) is not None:
        return key[0], ident
    raise InvalidArgumentError({name: f"{name} must be a page's first_key or last_key (sort value, id), "
                                      f"got {key!r}"[:300]})


def _fields_mapping(name: str, values: Any) -> Mapping[str, Any]:
    """``values`` of ``add``/``update``: a mapping of field name to value, or ``InvalidArgumentError``."""
    if not isinstance(values, Mapping):
        raise InvalidArgumentError({name: f"{name} must be a mapping of field name to value (a dict), "
                                          f"got {type(values).__name__}"})
    return values


def _fs_path(target: str | Path | IO[Any]) -> str | IO[Any]:
    """A path as ``str`` (what XlsxWriter and PyArrow take), a file object as it is."""
    return str(target) if isinstance(target, Path) else target


@contextmanager
def _open_text(target: str | Path | IO[str]) -> Iterator[IO[str]]:
    if isinstance(target, (str, Path)):
        with open(target, "w", newline="", encoding="utf-8") as fh:
            yield fh
    else:
        yield target


def connect(url: str | None = None, *, user: str | None = None, role: str | None = None,
            settings: Settings | None = None, migrate_schema: bool = True, source: str = "local") -> Inventory:
    """Open the inventory: ``url`` or the environment (README, Configuration); migrations applied by default."""
    settings = settings or load_settings()
    db = create_database(settings, url)
    if migrate_schema:
        try:
            migrate.upgrade(db)
        except (OperationalError, SAInterfaceError) as exc:
            db.dispose()
            if _is_busy(exc):  # another change holds the lock a migration needs: "busy", not "cannot reach"
                raise DatabaseBusyError() from exc
            raise DatabaseUnavailableError(f"Cannot reach the database ({db.label}): {_first_line(exc)}") from exc
        except ProgrammingError as exc:
            # Typically a role without the privileges the schema needs (docs/security.md): one line, not a traceback.
            db.dispose()
            raise DatabaseUnavailableError(
                f"Cannot prepare the inventory tables in {db.label}: {_first_line(exc)}") from exc
    return Inventory(db, make_user(user, settings, source=source, role=role), settings)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", exc)
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]


__all__ = ["Inventory", "Page", "connect", "escape_formula"]
