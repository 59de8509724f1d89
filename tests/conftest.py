"""Shared fixtures: a real PostgreSQL server for the session and an ``inv`` on SQLite and on PostgreSQL.

``INVENTORY_TEST_POSTGRES_URL`` points the suite at another server instead of the embedded one.

Under pytest-xdist (``make test`` runs ``-n 3 --dist loadfile``) each worker is a process of its own: its own
PostgreSQL server (``pg_server``, on a free port in its own folder), its own temporary folders and its own served
apps and JupyterLab (free ports). A module's tests run on one worker, so a module-scoped fixture (a served app, a
JupyterLab, a Chromium, a module's test database) is set up once, as in a serial run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import inventory_panel as ip
from inventory_panel.settings import load_settings
from tests.support.migrated import MigratedTemplates

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CSV = ROOT / "inventory_panel" / "data" / "sample_inventory.csv"


class ExternalPostgres:
    """An ``INVENTORY_TEST_POSTGRES_URL`` server: tests that stop/restart the server skip on it."""

    def __init__(self, url: str):
        self.url = url
        self.port = None

    def create_database(self, name: str) -> str:
        import sqlalchemy as sa

        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def execute(self, sql: str) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
        engine.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    external = os.environ.get("INVENTORY_TEST_POSTGRES_URL")
    if external:
        yield ExternalPostgres(external)
        return
    from tests.support.postgres import PostgresServer

    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty PostgreSQL database for one test."""
    return pg_server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'inventory.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'inventory.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def settings():
    return load_settings({})


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> MigratedTemplates:
    """Migrated databases to copy for each test (tests/support/migrated.py), made on first use."""
    return MigratedTemplates(tmp_path_factory.mktemp("templates"))


@pytest.fixture
def inv(
    db_url: str, settings, migrated_templates: MigratedTemplates, request: pytest.FixtureRequest
) -> Iterator[ip.Inventory]:
    """An admin ``Inventory`` on a fresh database, once on SQLite and once on PostgreSQL.

    The database starts as a copy of a migrated template (the same schema the migrations make, without running them
    for every test)."""
    pg_server = request.getfixturevalue("pg_server") if db_url.startswith("postgresql") else None
    migrated_templates.prepare(db_url, settings, pg_server)
    inventory = ip.connect(db_url, user="admin@example.com", role="admin", settings=settings)
    yield inventory
    inventory.close()


@pytest.fixture
def item_values() -> dict[str, object]:
    return {
        "item_name": "Safety Helmet",
        "category": "Safety Equipment",
        "quantity": 12,
        "unit_price": "24.90",
        "supplier": "Safety First Inc.",
        "location": "Safety Locker",
        "minimum_stock": 5,
        "sku": "HLM-1",
    }
