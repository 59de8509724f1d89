"""Databases that start migrated: the schema is built once per test session, then copied for each test.

Running the Alembic migrations costs ~0.5 s per database (more on a loaded 2-core machine), and several hundred
tests start from a freshly migrated database. ``MigratedTemplates`` migrates one template per backend and
settings (schema and table names) through ``ip.connect``, the code under test, then gives each test a copy:

- SQLite: the closed template file copied with ``sqlite3``'s backup API (a consistent copy, whatever the journal);
- PostgreSQL: the test's empty database recreated with ``CREATE DATABASE … TEMPLATE`` (a file copy in the server).

A copy is the same database the migrations would have made, so ``ip.connect`` on it finds the schema at the newest
revision and only reads it. The migrations themselves are tested from empty databases in test_migrations.py and
by every test that connects to its own fresh database (the CLI, app and notebook tests).
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg2
import sqlalchemy as sa

import inventory_panel as ip
from inventory_panel.settings import Settings


class MigratedTemplates:
    """One migrated template per (backend, schema, table); ``prepare(url, settings)`` makes ``url`` a copy of it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._sqlite: dict[tuple[str, str], Path] = {}
        self._postgres: dict[tuple[str, str], str] = {}

    def prepare(self, url: str, settings: Settings, pg_server: Any = None) -> None:
        """Make the new database at ``url`` a migrated one: a copy of the template (made on first use).

        ``pg_server`` (conftest's ``pg_server``) holds PostgreSQL databases; without it they are left as they are.
        """
        sa_url = sa.make_url(url)
        key = (settings.schema, settings.table)
        if sa_url.get_backend_name() == "sqlite":
            target = Path(sa_url.database or "")
            if target.exists():  # something wrote there already: leave it to the migrations
                return
            if key not in self._sqlite:
                self._sqlite[key] = self._make_sqlite(settings)
            source, copy = sqlite3.connect(self._sqlite[key]), sqlite3.connect(target)
            try:
                source.backup(copy)
            finally:
                copy.close()
                source.close()
            return
        if pg_server is None:
            return
        if key not in self._postgres:
            self._postgres[key] = self._make_postgres(pg_server, settings)
        name = sa_url.database
        pg_server.execute(f'DROP DATABASE "{name}"')
        self._create_from(pg_server, name, self._postgres[key])

    def _make_sqlite(self, settings: Settings) -> Path:
        path = self.folder / f"template-{uuid.uuid4().hex[:8]}.db"
        ip.connect(f"sqlite:///{path}", user="admin@example.com", role="admin", settings=settings).close()
        return path

    def _make_postgres(self, pg_server: Any, settings: Settings) -> str:
        name = f"template_{uuid.uuid4().hex[:12]}"
        url = pg_server.create_database(name)
        ip.connect(url, user="admin@example.com", role="admin", settings=settings).close()
        return name

    def _create_from(self, pg_server: Any, name: str, template: str) -> None:
        # The template's last session may still be ending on the server right after close(); CREATE DATABASE
        # refuses a template that anyone is connected to, so wait for it briefly.
        deadline = time.monotonic() + 10
        while True:
            try:
                pg_server.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
                return
            except (psycopg2.Error, sa.exc.DBAPIError) as exc:
                if "being accessed by other users" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
