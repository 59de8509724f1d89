"""What differs between SQLite and PostgreSQL, one module per backend behind one interface (``base.Backend``).

Everything else in the service and the import is written once for both; a branch on the dialect's name anywhere
else is a bug. ``backend_for(name)`` gives the one ``Backend`` of a SQLAlchemy dialect name.
"""

from __future__ import annotations

from .base import Backend, BulkTarget, CheckedColumn
from .postgres import PostgresBackend
from .sqlite import SqliteBackend

_BACKENDS: dict[str, Backend] = {"sqlite": SqliteBackend(), "postgresql": PostgresBackend()}


def backend_for(dialect_name: str) -> Backend:
    """The ``Backend`` of SQLAlchemy dialect ``dialect_name`` ("sqlite" or "postgresql")."""
    try:
        return _BACKENDS[dialect_name]
    except KeyError:
        raise ValueError(f"no backend for the {dialect_name!r} dialect") from None


__all__ = ["Backend", "BulkTarget", "CheckedColumn", "backend_for"]
