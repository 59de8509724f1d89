"""Commands: add, update, delete and adjust stock. Each checks the user's role, runs in one transaction of the unit
of work and writes its audit rows (and stock movements) in that same transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..errors import ConflictError, DuplicateValueError, InsufficientStockError, ValidationError
from ..fields import (
    FIELD_BY_NAME,
    FIELD_NAMES,
    MAX_INT,
    has_control_chars,
    has_surrogates,
    normalize_text,
    parse_record,
)
from ..storage.types import utcnow
from .arguments import as_int, check_id, fields_mapping, whole_number
from .reads import fetch_item
from .session import Session

MOVEMENT_KINDS = ("receive", "issue", "count")
MAX_REASON = 500


def add(s: Session, values: dict[str, Any]) -> dict[str, Any]:
    """Add one item; returns it as stored (with ``id`` and ``version``)."""
    s.require("add")
    clean, errors = parse_record(dict(fields_mapping("values", values)))
    if errors:
        raise ValidationError(errors)
    now, actor, items = utcnow(), s.user.name, s.tables.items
    with _unique_sku(clean.get("sku")), s.uow.transaction() as conn:
        item_id = conn.execute(
            items.insert()
            .values(**clean, version=1, created_at=now, created_by=actor, updated_at=now, updated_by=actor)
            .returning(items.c.id)
        ).scalar_one()
        s.uow.audit.record(
            conn, "add", item_id=item_id, changes={k: [None, v] for k, v in clean.items() if v is not None}
        )
        return fetch_item(s, conn, item_id)


def update(s: Session, item_id: int, changes: dict[str, Any], version: int) -> dict[str, Any]:
    """Change some fields of an item read at ``version``; a stale version raises ``ConflictError``."""
    s.require("edit")
    item_id, version = check_id(item_id), whole_number("version", version)
    clean, errors = parse_record(dict(fields_mapping("changes", changes)), partial=True)
    if errors:
        raise ValidationError(errors)
    items = s.tables.items
    with _unique_sku(clean.get("sku")), s.uow.transaction() as conn:
        current = _fetch_at_version(
            s, conn, item_id, version, "your change was not saved. Review the current values and try again."
        )
        diff = {k: [current[k], v] for k, v in clean.items() if current[k] != v}
        if not diff:
            return current
        updated = conn.execute(
            items.update()
            .where(items.c.id == item_id, items.c.version == version)
            .values(
                **{k: v[1] for k, v in diff.items()}, version=version + 1, updated_at=utcnow(), updated_by=s.user.name
            )
        ).rowcount
        if updated != 1:
            raise ConflictError(
                "The item changed while saving; nothing was saved. Please retry.", fetch_item(s, conn, item_id)
            )
        if "quantity" in diff:
            old, new = diff["quantity"]
            _movement(s, conn, item_id, new - old, new, "count", "edited quantity")
        s.uow.audit.record(conn, "update", item_id=item_id, changes=diff)
        return fetch_item(s, conn, item_id)


def delete(s: Session, item_id: int, version: int) -> None:
    """Delete an item read at ``version``; the audit keeps the deleted row."""
    s.require("delete")
    item_id, version = check_id(item_id), whole_number("version", version)
    items = s.tables.items
    with s.uow.transaction() as conn:
        current = _fetch_at_version(s, conn, item_id, version, "it was not deleted.")
        conn.execute(items.delete().where(items.c.id == item_id, items.c.version == version))
        s.uow.audit.record(
            conn, "delete", item_id=item_id, changes={k: current[k] for k in ("id", *FIELD_NAMES, "version")}
        )


def _fetch_at_version(s: Session, conn: sa.Connection, item_id: int, version: int, outcome: str) -> dict[str, Any]:
    """The item, locked for this transaction, if it is still at ``version``; else ``ConflictError`` ending with
    ``outcome`` (what became of the person's operation)."""
    current = fetch_item(s, conn, item_id, lock=True)
    if current["version"] != version:
        raise ConflictError(
            f"{current['item_name']!s} was changed by {current['updated_by']} since you opened it; {outcome}", current
        )
    return current


def _check_reason(reason: Any) -> str:
    reason = str(reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "give a reason for the adjustment"})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"the reason must be at most {MAX_REASON} characters"})
    if has_surrogates(reason):
        raise ValidationError({"reason": "the reason must be valid text: it contains a broken character"})
    if has_control_chars(reason):
        raise ValidationError({"reason": "the reason must not contain control characters"})
    return normalize_text(reason)


def adjust_stock(s: Session, item_id: int, delta: int, reason: str, kind: str | None = None) -> dict[str, Any]:
    """Add (receive) or remove (issue) units atomically; the quantity can never go below zero.

    The delta is applied in SQL (``quantity = quantity + delta``), so concurrent adjustments all count.
    """
    s.require("adjust")
    item_id = check_id(item_id)
    number = as_int(delta)
    if number is None or number == 0 or abs(number) > MAX_INT:
        raise ValidationError({"delta": f"the adjustment must be a whole number other than 0, at most {MAX_INT}"})
    delta = number
    reason = _check_reason(reason)
    kind = kind or ("receive" if delta > 0 else "issue")
    if kind not in MOVEMENT_KINDS:
        raise ValidationError({"kind": f"kind must be one of {', '.join(MOVEMENT_KINDS)}"})
    items = s.tables.items
    # Computed as BIGINT so that a sum beyond the INTEGER column is refused here rather than overflowing.
    after_expr = sa.cast(items.c.quantity, sa.BigInteger()) + sa.literal(delta, sa.BigInteger())
    with s.uow.transaction() as conn:
        row = conn.execute(
            items.update()
            .where(items.c.id == item_id, after_expr >= 0, after_expr <= MAX_INT)
            .values(
                quantity=items.c.quantity + delta,
                version=items.c.version + 1,
                updated_at=utcnow(),
                updated_by=s.user.name,
            )
            .returning(items.c.quantity)
        ).first()
        if row is None:
            current = fetch_item(s, conn, item_id)
            if current["quantity"] + delta > MAX_INT:
                raise ValidationError({"delta": f"the quantity would exceed {MAX_INT}"})
            raise InsufficientStockError(item_id, current["quantity"], delta)
        after = int(row[0])
        _movement(s, conn, item_id, delta, after, kind, reason)
        s.uow.audit.record(conn, "adjust", item_id=item_id, changes={"quantity": [after - delta, after]}, detail=reason)
        return fetch_item(s, conn, item_id)


def _movement(
    s: Session, conn: sa.Connection, item_id: int, delta: int, after: int, kind: str, reason: str | None
) -> None:
    conn.execute(
        s.tables.movements.insert().values(
            item_id=item_id,
            delta=delta,
            quantity_after=after,
            kind=kind,
            reason=reason,
            actor=s.user.name,
            at=utcnow(),
            batch_id=None,
        )
    )


@contextmanager
def _unique_sku(sku: str | None) -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        if sku and "sku" in str(exc.orig).lower():
            raise DuplicateValueError("sku", FIELD_BY_NAME["sku"].label, sku) from exc
        raise
