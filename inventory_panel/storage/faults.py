"""Database faults that are the database's state, not the statement's: a full disk, a read-only database.

The service, the import's raw COPY cursor and the CLI all name them the same way, from the driver error's SQLSTATE
(PostgreSQL) or SQLite's result code, with the message text as a fallback for wrappers that drop the code.
"""

from __future__ import annotations

from ..errors import DatabaseFullError, DatabaseReadOnlyError, DatabaseUnavailableError

SQLITE_READONLY = 8
SQLITE_FULL = 13
PG_DISK_FULL = "53100"  # disk_full (PostgreSQL's "could not extend file")
PG_READ_ONLY = "25006"  # read_only_sql_transaction


def database_fault(exc: BaseException) -> DatabaseUnavailableError | None:
    """The typed error for a full or read-only database behind ``exc`` (SQLAlchemy or DB-API), else None."""
    orig = getattr(exc, "orig", None) or exc
    detail = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    code = getattr(orig, "pgcode", None) or ""
    sqlite_code = getattr(orig, "sqlite_errorcode", None)
    primary = sqlite_code & 0xFF if isinstance(sqlite_code, int) else None
    text = detail.lower()
    if code == PG_DISK_FULL or primary == SQLITE_FULL or "database or disk is full" in text:
        return DatabaseFullError(detail)
    if code == PG_READ_ONLY or primary == SQLITE_READONLY or "readonly database" in text:
        return DatabaseReadOnlyError(detail)
    return None
