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
