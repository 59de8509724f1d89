"""How an audit entry's stored changes read for a person: "Quantity: 3 → 5; Location: A → B".

The one description of changes, used by the item history (``Inventory.history``) and the audit log view. An audit
entry stores its changes as JSON, ``{field: [old, new]}``; an import batch stores its counts (``{"rows": 3, …}``)
in ``detail``. Domain only: no database, no UI.
"""

from __future__ import annotations

import json
from typing import Any

from .fields import FIELD_BY_NAME


def describe_changes(changes: Any, action: str | None = None, limit: int | None = None) -> str:
    """The stored JSON of an entry as a person reads it, cut to ``limit`` characters when given.

    An added item has no old values, so only the new ones are listed; a missing value reads "(empty)".
    """
    if not isinstance(changes, str) or not changes:  # None, or NaN where pandas filled a missing value
        return ""
    try:
        data = json.loads(changes)
    except ValueError:
        return cut(changes, limit)
    if not isinstance(data, dict):
        return cut(str(data), limit)
    parts = []
    for key, value in data.items():
        label = FIELD_BY_NAME[key].label if key in FIELD_BY_NAME else key
        if isinstance(value, list) and len(value) == 2 and action == "add":
            parts.append(f"{label}: {_plain(value[1])}")
        elif isinstance(value, list) and len(value) == 2:
            parts.append(f"{label}: {_plain(value[0])} → {_plain(value[1])}")
        else:
            parts.append(f"{label}: {_plain(value)}")
    return cut("; ".join(parts), limit)


def describe_detail(detail: Any, limit: int | None = None) -> str:
    """The free-text detail of an entry; a JSON object (an import's counts) reads like the changes."""
    if not isinstance(detail, str):  # None, or NaN where pandas filled a missing value
        return ""
    return describe_changes(detail, limit=limit) if detail.startswith("{") else cut(detail, limit)


def describe_entry(changes: Any, detail: Any, action: str | None = None) -> str:
    """Changes and detail in one line, as the item history shows an entry: "Quantity: 3 → 5 (detail)"."""
    text, note = describe_changes(changes, action), describe_detail(detail)
    if not text:
        return note
    return f"{text} ({note})" if note else text


def cut(text: str, limit: int | None) -> str:
    """``text`` of at most ``limit`` characters, an ellipsis marking a cut."""
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _plain(value: Any) -> str:
    return "(empty)" if value is None or value == "" else str(value)
