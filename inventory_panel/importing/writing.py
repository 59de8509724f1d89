"""The port through which an import reads and writes the database: what the pipeline needs, nothing more.

The service hands ``pipeline`` an ``ImportTarget`` (``storage.bulk.ImportStore`` over its unit of work), checks the
person's permission first, and the import never sees the service, its transactions or its tables. Everything that
differs between SQLite and PostgreSQL (COPY, locks, the advisory lock that makes imports into one table take turns)
is behind this port, in ``storage``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np

from .validation import Column


class ItemStore(Protocol):
    """The database side of one import, inside its one transaction (or its reading connection for a dry run)."""

    def existing(self, skus: list[str], *, full: bool) -> dict[str, dict[str, Any]]:
        """Items whose sku is in ``skus``: their id, version and fields when ``full`` (locked when writing)."""
        ...

    def insert(self, columns: Mapping[str, Column], index: np.ndarray) -> None:
        """Insert rows ``index`` of the checked ``columns`` (one per field the source has)."""
        ...

    def update(self, ids: Sequence[int], columns: Mapping[str, Column], index: np.ndarray) -> None:
        """Set the fields the source has (sku excepted) of items ``ids`` from rows ``index``; version + 1."""
        ...

    def movements(self, item_ids: Sequence[int], deltas: Sequence[int], after: Sequence[int]) -> None:
        """Stock movements of kind ``import`` for quantities an upsert changed."""
        ...

    def audit_updates(self, item_ids: Sequence[int], changes: Sequence[dict[str, list[Any]]]) -> None:
        """One ``update`` audit row per changed item, old -> new per changed field."""
        ...

    def audit_inserts(self) -> None:
        """One ``add`` audit row per item this import inserted."""
        ...

    def audit_batch(self, counts: dict[str, Any]) -> None:
        """The ``import`` audit row with the batch's counts."""
        ...


class ImportTarget(Protocol):
    """Where an import goes: a store in a write transaction, or one for a dry run that writes nothing."""

    def writing(self, fields: list[str], batch_id: str, reason: str) -> AbstractContextManager[ItemStore]:
        """A store in one write transaction: committed when the block ends, rolled back when it raises."""
        ...

    def checking(self, fields: list[str], batch_id: str, reason: str) -> AbstractContextManager[ItemStore]:
        """A store for a dry run: lookups only, nothing locked or written."""
        ...
