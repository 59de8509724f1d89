"""Opening the database behind ``connect``: the engine, the migrations, and one line saying why it cannot be opened."""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

from ..errors import DatabaseBusyError, DatabaseUnavailableError
from ..settings import Settings
from ..storage import migrate
from ..storage.engines import Database, create_database
from ..storage.faults import first_line, is_busy


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
