"""Engines for SQLite, PostgreSQL and Lakebase, resolved from settings (README, Configuration).

SQLite gets WAL, foreign keys and a busy timeout so that several threads (Panel sessions) can share one file;
write transactions take the write lock up front (``BEGIN IMMEDIATE``) so two writers never deadlock on an
upgrade from a read lock. The busy timeout is short (``Settings.sqlite_busy_seconds``): a write that cannot get
the lock in that time fails before writing anything (``DatabaseBusyError``: "busy, try again") instead of leaving
its user waiting half a minute; readers never wait for it (WAL). PostgreSQL connections are pre-pinged so a
restarted server costs one failed action, not a broken app. A password provider, when given, is asked for a
password for every new connection — this is where rotating Lakebase OAuth credentials plug in
(``set_credential_factory``, called by the entry points; storage never imports ``databricks``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError

from ..errors import ConfigurationError
from ..settings import PostgresParams, Settings
from .tables import Tables, build_tables

log = logging.getLogger(__name__)

PasswordProvider = Callable[[], str]
# Builds the password provider of PostgreSQL parameters without a password. Plugged in by the entry points
# (``databricks/wiring.py``: Lakebase OAuth), so storage never imports ``databricks``.
CredentialFactory = Callable[[PostgresParams], PasswordProvider]
_credential_factory: CredentialFactory | None = None


def set_credential_factory(factory: CredentialFactory | None) -> None:
    """Plug in how a PostgreSQL connection without ``PGPASSWORD`` gets its password (None: it cannot)."""
    global _credential_factory
    _credential_factory = factory


@dataclass
class Database:
    """An engine plus the tables it serves and a label safe to show a person (no password)."""

    engine: Engine
    tables: Tables
    label: str

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()


def parse_url(raw: str, variable: str = "INVENTORY_DATABASE_URL") -> URL:
    try:
        url = make_url(raw)
    except ArgumentError:
        raise ConfigurationError(
            f"{variable} is not a database URL (expected e.g. sqlite:///inventory.db or "
            f"postgresql+psycopg2://user@host/db), got {raw!r}"
        ) from None
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigurationError(f"{variable} must be a sqlite:// or postgresql:// URL, got {backend}://")
    if backend == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg2")
    return url


def _sqlite_engine(url: URL, busy_seconds: float) -> Engine:
    """``busy_seconds``: how long a statement waits for another connection's lock. The app's writes are single rows
    or one import, so a few seconds (the default 5) covers all but the largest imports; the person then reads
    "busy, try again" instead of waiting on (30 s before)."""
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        parent = Path(database).resolve().parent
        if not parent.is_dir():
            raise ConfigurationError(f"SQLite database folder does not exist: {parent}")
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_seconds})

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, decide when transactions begin (pysqlite's own handling is broken).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        # Temporary files (statement journals, the sorts of index builds) on disk, not in memory. In memory they
        # made a 1,000,000-row import into an empty database peak at 664 MB (the index builds after the load sort
        # every key in RAM); on disk 201 MB, and no slower (52 s -> 40 s). Measured at 130,000 rows, inserts,
        # an upsert of every row (the row triggers' statement journals) and 200 single edits took the same time
        # either way (issue 16; before the bulk writer took the totals off the row triggers, memory was 1.5-2x
        # faster).
        cur.execute("PRAGMA temp_store=FILE")
        if database not in ("", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = "IMMEDIATE" if conn.get_execution_options().get("write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _postgres_engine(url: URL, password_provider: PasswordProvider | None) -> Engine:
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_recycle=1800,
        connect_args={"connect_timeout": 10},
    )
    if password_provider is not None:
        attach_password_provider(engine, password_provider)
    return engine


def attach_password_provider(engine: Engine, provider: PasswordProvider) -> None:
    """Ask ``provider`` for the password of every new DBAPI connection (credentials that rotate).

    When the server refuses the password although the provider thought it valid (a token revoked before its
    expiry), a provider with ``invalidate()`` is asked once more for a fresh one before the login fails.
    """

    @sa.event.listens_for(engine, "do_connect")
    def _inject(dialect, _conn_rec, cargs, cparams):
        dbapi = dialect.loaded_dbapi
        cparams["password"] = provider()
        try:
            return dbapi.connect(*cargs, **cparams)
        except dbapi.OperationalError as exc:
            invalidate = getattr(provider, "invalidate", None)
            if invalidate is None or "authentication failed" not in str(exc):
                raise
            log.warning("the database refused the current credential; fetching a fresh one")
            invalidate()
            cparams["password"] = provider()
            return dbapi.connect(*cargs, **cparams)


def label_for(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return f"SQLite · {url.database or ':memory:'}"
    return f"PostgreSQL · {url.host or 'local socket'}/{url.database}"


def create_database(
    settings: Settings,
    url: str | None = None,
    password_provider: PasswordProvider | None = None,
) -> Database:
    """Build the ``Database`` for an explicit ``url`` or by the resolution order of section 3."""
    if url is None and settings.database_url:
        url = settings.database_url
    if url is not None:
        sa_url = parse_url(url)
        if sa_url.get_backend_name() == "sqlite":
            return Database(
                _sqlite_engine(sa_url, settings.sqlite_busy_seconds),
                build_tables(settings.table, None),
                label_for(sa_url),
            )
        return Database(
            _postgres_engine(sa_url, password_provider),
            build_tables(settings.table, settings.schema),
            label_for(sa_url),
        )
    if settings.postgres is not None:
        pg = settings.postgres
        sa_url = URL.create(
            "postgresql+psycopg2",
            username=pg.user,
            password=pg.password,
            host=pg.host,
            port=pg.port,
            database=pg.database,
            query={"sslmode": pg.sslmode, "application_name": pg.appname},
        )
        if pg.password is None and password_provider is None:
            if _credential_factory is None:
                raise ConfigurationError(
                    "PGPASSWORD is not set and no credential provider is plugged in: set PGPASSWORD, or open the "
                    "inventory through inventory_panel (which plugs in Lakebase's OAuth credentials)."
                )
            password_provider = _credential_factory(pg)
        engine = _postgres_engine(sa_url, password_provider)
        label = f"Lakebase · {pg.host}/{pg.database}" if pg.password is None else label_for(sa_url)
        return Database(engine, build_tables(settings.table, settings.schema), label)
    sa_url = parse_url(f"sqlite:///{settings.sqlite_path}", "INVENTORY_SQLITE_PATH")
    return Database(
        _sqlite_engine(sa_url, settings.sqlite_busy_seconds), build_tables(settings.table, None), label_for(sa_url)
    )
