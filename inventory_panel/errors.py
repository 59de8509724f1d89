"""Typed errors raised by the service; every entry point (UI, CLI, notebook) turns them into a clear message."""

from __future__ import annotations

from typing import Any


class InventoryError(Exception):
    """Base of every error a person is meant to read."""


class ConfigurationError(InventoryError):
    """A setting is missing or malformed; the message names the variable."""


class DatabaseUnavailableError(InventoryError):
    """The database cannot be reached (down, restarting, bad credentials)."""


class DatabaseBusyError(DatabaseUnavailableError):
    """Another change holds the database's write lock longer than a write waits for it (SQLite's busy timeout).

    Raised before anything is written (the write lock is taken first), so nothing is half-done: try again.
    """

    WRITE_MESSAGE = "The database is busy with another change; nothing was saved. Try again in a moment."
    READ_MESSAGE = "The database is busy with another change. Try again in a moment."

    def __init__(self, message: str = WRITE_MESSAGE):
        super().__init__(message)


class DatabaseFullError(DatabaseUnavailableError):
    """The database's disk has no room left (SQLite SQLITE_FULL, PostgreSQL 53100): the write was rolled back."""

    MESSAGE = "The database is full (no space left on its disk); nothing was saved."

    def __init__(self, detail: str = ""):
        super().__init__(f"{self.MESSAGE} ({detail})" if detail else self.MESSAGE)


class DatabaseReadOnlyError(DatabaseUnavailableError):
    """The database accepts no writes (a read-only file or replica; SQLite SQLITE_READONLY, PostgreSQL 25006)."""

    MESSAGE = "The database is read-only; nothing was saved."

    def __init__(self, detail: str = ""):
        super().__init__(f"{self.MESSAGE} ({detail})" if detail else self.MESSAGE)


class ValidationError(InventoryError):
    """User input broke a field rule. ``errors`` maps field name -> message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(self.errors.values()) or "invalid input")


class NotFoundError(InventoryError):
    """The item does not exist (any more)."""

    def __init__(self, item_id: int):
        self.item_id = item_id
        super().__init__(f"Item {item_id} does not exist; it may have been deleted by someone else.")


class ConflictError(InventoryError):
    """The row changed since the caller read it (stale ``version``) or a unique value is taken.

    ``current`` holds the row as it is now, so the caller can show it and let the person decide.
    """

    def __init__(self, message: str, current: dict[str, Any] | None = None):
        self.current = current
        super().__init__(message)


class DuplicateValueError(ConflictError):
    """A value that must be unique (the SKU) is already another item's: not a concurrent edit, nothing to compare.

    ``field`` names the field, ``value`` the value that is taken.
    """

    def __init__(self, field: str, label: str, value: str):
        self.field, self.value = field, value
        super().__init__(f"{label} {value!r} is already used by another item. Enter a different {label}.")


class InsufficientStockError(InventoryError):
    """A stock adjustment would take the quantity below zero."""

    def __init__(self, item_id: int, available: int, delta: int):
        self.item_id, self.available, self.delta = item_id, available, delta
        units = f"{-delta:,} {'unit' if -delta == 1 else 'units'}"
        super().__init__(
            f"Cannot remove {units}: only {available:,} in stock. Remove at most {max(available, 0):,}, "
            "or receive stock first."
        )


class PermissionDeniedError(InventoryError):
    """The acting user's role does not allow the operation."""

    NEXT_STEP = "Ask an administrator for a role that allows it."

    def __init__(self, user: str, role: str, action: str):
        self.user, self.role, self.action = user, role, action
        super().__init__(f"{user} ({role}) may not {action}. {self.NEXT_STEP}")


class ImportRefusedError(InventoryError):
    """The CSV file as a whole was refused (nothing written): wrong columns, not text, too large, …"""


class InvalidArgumentError(ValidationError, ValueError):
    """A Python API call got an argument of the wrong type or out of range (``query(limit="10x")``, ``add(None)``).

    A ``ValidationError`` (``errors`` names the argument), so every entry point shows it as one clear line, and a
    ``ValueError``, which is what such calls raised before.
    """


class TableReadError(ImportRefusedError):
    """A Unity Catalog table could not be read for an import (nothing was written); ``table`` names it."""

    def __init__(self, message: str, table: str | None = None):
        self.table = table
        super().__init__(message)


class TableNotFoundError(TableReadError):
    """The table does not exist (or the name is misspelt)."""


class TableAccessDeniedError(TableReadError):
    """Unity Catalog or the SQL warehouse refused the reader; the message names the grant that is missing."""


class WarehouseError(TableReadError):
    """The SQL warehouse is unknown, failed to start, failed or cancelled the statement, or took too long."""
