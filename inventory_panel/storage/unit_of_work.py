"""The unit of work: one database and one actor; write transactions, reading connections, the audit writer, and
driver errors translated into the typed errors of ``errors.py`` (``faults``).

Every write of the service and of an import runs in ``transaction()``, and every audit row goes through ``audit`` on
that transaction's connection, so a change and its audit commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from . import commits
from .audit import AuditWriter
from .dialects import Backend, backend_for
from .engines import Database
from .faults import read_fault, write_fault
from .tables import Tables


class UnitOfWork:
    """Transactions and reads on ``db`` on behalf of ``actor`` (the name audit rows carry)."""

    def __init__(self, db: Database, actor: str):
        self.db = db
        self.tables: Tables = db.tables
        self.backend: Backend = backend_for(db.dialect)
        self.audit = AuditWriter(db.tables.audit, actor)

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One write transaction; SQLite takes its write lock up front.

        Waiting longer than the busy timeout for another writer's lock raises ``DatabaseBusyError``; the lock is
        taken before any statement runs, so nothing was written.
        """
        try:
            with self.db.engine.connect().execution_options(write=True) as conn, conn.begin() as tx:
                yield conn
                # THE COMMIT POINT of every write (service commands, audit rows, imports): after this line the
                # change is visible to other sessions. A hook that must run once per committed write (live refresh)
                # goes right after it; a raise before it rolls everything back.
                tx.commit()
                commits.committed(self.db)  # this process's live-update hubs hear it now (storage/commits.py)
        except DBAPIError as exc:
            fault = write_fault(exc)
            if fault is None:
                raise
            raise fault from exc

    @contextmanager
    def reading(self, *, statements: bool = False) -> Iterator[sa.Connection]:
        """A connection for reading. ``statements``: each statement on its own, with no transaction around them
        where the backend allows it (``Backend.statements``)."""
        try:
            with self.db.engine.connect() as conn:
                yield self.backend.statements(conn) if statements else conn
        except (OperationalError, InterfaceError) as exc:
            fault = read_fault(exc)
            if fault is None:
                raise
            raise fault from exc
