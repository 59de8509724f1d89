"""Driver errors translated into the typed errors of ``errors.py``: the one place that reads SQLSTATEs and SQLite
result codes.

Faults that are the database's state, not the statement's (a full disk, a read-only database, a lost connection, a
lock held too long by another writer), are named the same way for the unit of work, the import's raw cursor and the
CLI, from the driver error's SQLSTATE (PostgreSQL) or SQLite's result code, with the message text as a fallback for
wrappers that drop the code.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from ..errors import (
    DatabaseBusyError,
    DatabaseFullError,
    DatabaseReadOnlyError,
    DatabaseUnavailableError,
    InventoryError,
)

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


# PostgreSQL error codes that mean "the server is going away or will not let us in", not "your statement failed".
UNAVAILABLE_CODES = frozenset({"57P01", "57P02", "57P03", "57P04", "53300", "28000", "28P01"})
UNAVAILABLE_MARKERS = (
    "server closed the connection",
    "connection refused",
    "terminating connection",
    "could not connect",
    "connection already closed",
    "ssl connection has been closed",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    "password authentication failed",
    "could not translate host name",
    "no route to host",
    "network is unreachable",
    "connection timed out",
    "timeout expired",
    "ssl syscall error",
    "eof detected",
    "unable to open database file",
)
# SQLSTATEs of a transaction PostgreSQL rolled back to break a deadlock or a serialization conflict.
RETRYABLE_CODES = frozenset({"40P01", "40001"})
RETRY_MESSAGE = (
    "Another change was writing the same items at the same time, so the database stopped this import; "
    "nothing was imported. Please import the file again."
)


def is_disconnect(exc: BaseException) -> bool:
    """The connection is gone or the server refuses us (not: the statement failed)."""
    code = getattr(getattr(exc, "orig", None), "pgcode", None) or ""
    if code.startswith("08") or code in UNAVAILABLE_CODES:
        return True
    text = str(exc).lower()
    return any(s in text for s in UNAVAILABLE_MARKERS)


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY after the busy timeout) or PostgreSQL's lock_not_available."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "pgcode", None) == "55P03":
        return True
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF == 5)  # SQLITE_BUSY and its extended codes
    return "database is locked" in str(exc).lower()


def is_retryable(exc: BaseException) -> bool:
    """A deadlock victim or a serialization failure: the same work may succeed when run again."""
    return getattr(getattr(exc, "orig", None), "pgcode", None) in RETRYABLE_CODES


def write_fault(exc: DBAPIError) -> InventoryError | None:
    """The typed error for a write transaction that failed with ``exc``, or None when it is the statement's own."""
    fault = database_fault(exc)
    if fault is not None:
        return fault
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return None
    if exc.connection_invalidated or is_disconnect(exc):
        return DatabaseUnavailableError("The database connection was lost; nothing was saved. Please try again.")
    if is_busy(exc):
        return DatabaseBusyError()
    return None


def read_fault(exc: OperationalError | InterfaceError) -> InventoryError | None:
    """The typed error for a read that failed with ``exc``, or None."""
    if exc.connection_invalidated or is_disconnect(exc):
        return DatabaseUnavailableError("The database connection was lost. Please try again.")
    if is_busy(exc):
        return DatabaseBusyError(DatabaseBusyError.READ_MESSAGE)
    return None


def first_line(exc: BaseException) -> str:
    """The first line of the driver's message (what a person can read), or the error's type."""
    orig = getattr(exc, "orig", exc)
    return (str(orig).strip().splitlines() or [type(orig).__name__])[0]
