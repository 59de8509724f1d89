"""Apply the Alembic migrations in ``storage/migrations`` to a database (``init-db`` and app start)."""

from __future__ import annotations

import zlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from .engines import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(db: Database, connection: sa.Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["tables"] = db.tables
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(db: Database) -> None:
    """Bring the schema to the newest migration; safe when several processes start at once.

    A schema already at the newest migration is only read: every app start and CLI command connects through here,
    and taking the write lock would make them wait for (or fail on) another process's write on SQLite.
    """
    if current_revision(db) == head_revision(db):
        return
    with db.engine.connect().execution_options(write=True) as conn, conn.begin():
        if db.dialect == "postgresql":
            # Two app replicas starting together must not both create the tables.
            key = zlib.crc32(f"{db.tables.schema}.{db.tables.items.name}".encode())
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            # Only when missing: CREATE SCHEMA needs CREATE on the database even with IF NOT EXISTS, and a
            # least-privilege app role (tables owned by another role, see docs/security.md) does not have it.
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": db.tables.schema}
            ).first()
            if not exists:
                conn.execute(sa.text(f'CREATE SCHEMA "{db.tables.schema}"'))
        command.upgrade(alembic_config(db, conn), "head")


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"version_table": db.tables.version_table, "version_table_schema": db.tables.schema}
        )
        return ctx.get_current_revision()


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()
