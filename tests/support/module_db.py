"""One database per backend for a whole test module: the URL the module-scoped fixtures of the property, role and
hostile-input tests connect to (SQLite in a temporary folder, or a fresh database on the tests' PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import inventory_panel as ip
from inventory_panel.settings import load_settings

# The params of such a fixture: SQLite always, PostgreSQL where the ``postgres`` mark is selected.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, prefix: str) -> str:
    """A new, empty database of ``request.param``'s backend, named after ``prefix``."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp(prefix) / 'inventory.db'}"
    return request.getfixturevalue("pg_server").create_database(f"{prefix}_{uuid.uuid4().hex[:10]}")


def module_admin(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, prefix: str, user: str
) -> Iterator[ip.Inventory]:
    """The body of such a fixture: ``user`` as an admin of a new database (``module_database_url``), closed after."""
    url = module_database_url(request, tmp_path_factory, prefix)
    inventory = ip.connect(url, user=user, role="admin", settings=load_settings({}))
    yield inventory
    inventory.close()
