"""The audit writer: every audit row the service and the import write goes through here, on the caller's connection,
so it commits or rolls back with the change it describes (one transaction per user operation)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from .types import utcnow


def jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it: money as exact decimal text, timestamps as ISO 8601."""
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def changes_json(changes: dict[str, Any] | None) -> str | None:
    return None if changes is None else json.dumps(changes, default=jsonable, ensure_ascii=False)


class AuditWriter:
    """Audit rows of one actor in ``audit`` (the table of this database's ``Tables``)."""

    def __init__(self, audit: sa.Table, actor: str):
        self.audit = audit
        self.actor = actor

    def record(
        self,
        conn: sa.Connection,
        action: str,
        *,
        item_id: int | None = None,
        changes: dict[str, Any] | None = None,
        batch_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        """One audit row, stamped now."""
        conn.execute(
            self.audit.insert().values(
                at=utcnow(),
                actor=self.actor,
                action=action,
                item_id=item_id,
                changes=changes_json(changes),
                batch_id=batch_id,
                detail=detail,
            )
        )

    def record_many(
        self,
        conn: sa.Connection,
        action: str,
        item_ids: Sequence[int],
        changes: Sequence[dict[str, Any]],
        *,
        at: datetime,
        batch_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        """One row per item (``changes[i]`` for ``item_ids[i]``), all stamped ``at``: one executemany."""
        if item_ids:
            conn.execute(
                self.audit.insert(),
                [
                    {
                        "at": at,
                        "actor": self.actor,
                        "action": action,
                        "item_id": i,
                        "changes": changes_json(c),
                        "batch_id": batch_id,
                        "detail": detail,
                    }
                    for i, c in zip(item_ids, changes, strict=True)
                ],
            )


def item_names_at(conn: sa.Connection, audit: sa.Table, entries: Sequence[tuple[int, int]]) -> dict[int, str]:
    """For each ``(audit id, item id)``: the item's name as it was right after that entry (the new name of a rename,
    the deleted item's name for a delete), from the item's own audit history.

    No column holds it: every entry that sets a name already records it — an add (``[null, name]``), a rename
    (``[old, new]``) and a delete (the row) — so the name at any entry is the one the item's latest such entry up
    to it set. One query over the items' entries (``ix_<table>_audit_item``) that mention ``item_name``. An entry
    before any of them (an item added outside the app) gets no name.
    """
    if not entries:
        return {}
    item_ids = sorted({item for _entry, item in entries})
    upto = max(entry for entry, _item in entries)
    rows = conn.execute(
        sa.select(audit.c.id, audit.c.item_id, audit.c.changes)
        .where(audit.c.item_id.in_(item_ids), audit.c.id <= upto, audit.c.changes.like('%"item_name"%'))
        .order_by(audit.c.item_id, audit.c.id)
    ).all()
    named: dict[int, list[tuple[int, str]]] = {}  # item id -> (entry id, name set there), in entry order
    for entry_id, item_id, changes in rows:
        name = _name_in(changes)
        if name is not None:
            named.setdefault(int(item_id), []).append((int(entry_id), name))
    names = {}
    for entry_id, item_id in entries:
        known = [name for at, name in named.get(item_id, []) if at <= entry_id]
        if known:
            names[entry_id] = known[-1]
    return names


def _name_in(changes: str | None) -> str | None:
    """The name an entry's changes set: the new value of ``[old, new]``, or the value itself (a deleted row)."""
    try:
        value = json.loads(changes or "").get("item_name")
    except (ValueError, AttributeError):
        return None
    if isinstance(value, list):
        value = value[-1] if value else None
    return None if value is None else str(value)
