"""Opening the database behind ``connect``: the engine, the migrations, and one line saying why it cannot be opened."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError, SQLAlchemyError

from ..errors import DatabaseBusyError, DatabaseUnavailableError
from ..settings import Settings
from ..storage import migrate
from ..storage.engines import Database, create_database
from ..storage.faults import database_fault, first_line, is_busy


def open_database(settings: Settings, url: str | None = None, *, migrate_schema: bool = True) -> Database:
    """The database of ``url`` or the settings, migrated to the newest schema unless ``migrate_schema`` is False."""
    db = create_database(settings, url)
    if not migrate_schema:
        return db
    try:
        migrate.upgrade(db)
    except (OperationalError, InterfaceError) as exc:
        db.dispose()
        if is_busy(exc):  # another change holds the lock a migration needs: "busy", not "cannot reach"
            raise DatabaseBusyError() from exc
        raise DatabaseUnavailableError(f"Cannot reach the database ({db.label}): {first_line(exc)}") from exc
    except ProgrammingError as exc:
        # Typically a role without the privileges the schema needs (docs/security.md): one line, not a traceback.
        db.dispose()
        raise DatabaseUnavailableError(f"Cannot prepare the inventory tables in {db.label}: {first_line(exc)}") from exc
    return db


def database_error_message(exc: BaseException) -> str | None:
    """One line for a database error the service did not type, for the CLI's last resort: a full disk and a
    read-only database by name, anything else as the driver's first line. None when ``exc`` is no database error.

    SQLAlchemy's errors, and the driver's own from the import's raw cursor (sqlite3, psycopg2), count: the CLI sees
    none of these types itself (it never imports the database side).
    """
    if not (isinstance(exc, (SQLAlchemyError, sqlite3.Error)) or type(exc).__module__.startswith("psycopg2")):
        return None
    fault = database_fault(exc)
    if fault is not None:
        return str(fault)
    orig = getattr(exc, "orig", None) or exc
    first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return f"The database refused the operation; nothing was saved. ({first})"
