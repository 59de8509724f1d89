"""Fixtures shared by the UI unit tests: the service on a fresh SQLite file, as an admin and as a second person.

The file starts as a copy of a migrated template (``migrated_templates`` in tests/conftest.py): the same schema,
without running the migrations for each of these tests.
"""

from __future__ import annotations

import pytest

import inventory_panel as ip


@pytest.fixture
def inv(sqlite_url, settings, migrated_templates):
    migrated_templates.prepare(sqlite_url, settings)
    inventory = ip.connect(sqlite_url, user="admin@example.com", role="admin")
    yield inventory
    inventory.close()


@pytest.fixture
def other(sqlite_url, inv):
    """A second person on the same database."""
    inventory = ip.connect(sqlite_url, user="bob@example.com", role="admin")
    yield inventory
    inventory.close()
