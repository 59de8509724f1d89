"""The seams of issue 13 used as seams: the import runs against a fake port (no database, no service), and storage
takes its PostgreSQL credentials from whatever the entry points plug in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

import inventory_panel  # noqa: F401 - the package entry plugs Databricks in
from inventory_panel.databricks import wiring
from inventory_panel.errors import ConfigurationError
from inventory_panel.importing import import_csv
from inventory_panel.settings import load_settings
from inventory_panel.storage import engines


class FakeStore:
    """An in-memory ``importing.writing.ItemStore``: items by sku, and what the import asked for."""

    def __init__(self, items: dict[str, dict[str, Any]]):
        self.items = items
        self.calls: list[str] = []
        self.inserted: list[dict[str, Any]] = []

    def existing(self, skus: list[str], *, full: bool) -> dict[str, dict[str, Any]]:
        return {s: self.items[s] for s in skus if s in self.items}

    def insert(self, columns: Any, index: np.ndarray) -> None:
        values = {name: column.values(index) for name, column in columns.items()}
        self.inserted += [dict(zip(values, row, strict=True)) for row in zip(*values.values(), strict=True)]

    def update(self, ids: Any, columns: Any, index: np.ndarray) -> None:
        self.calls.append(f"update {list(ids)}")

    def movements(self, item_ids: Any, deltas: Any, after: Any) -> None:
        self.calls.append(f"movements {list(item_ids)} {list(deltas)}")

    def audit_updates(self, item_ids: Any, changes: Any) -> None:
        self.calls.append(f"audit_updates {list(changes)}")

    def audit_inserts(self) -> None:
        self.calls.append("audit_inserts")

    def audit_batch(self, counts: dict[str, Any]) -> None:
        self.calls.append(f"audit_batch {counts['inserted']}+{counts['updated']}")


class FakeTarget:
    def __init__(self, store: FakeStore):
        self.store = store
        self.opened: list[str] = []

    @contextmanager
    def writing(self, fields: list[str], batch_id: str, reason: str) -> Iterator[FakeStore]:
        self.opened.append(f"writing {fields}")
        yield self.store

    @contextmanager
    def checking(self, fields: list[str], batch_id: str, reason: str) -> Iterator[FakeStore]:
        self.opened.append("checking")
        yield self.store


def test_an_import_runs_against_any_port_without_a_database_or_a_service():
    store = FakeStore(
        {
            "S-1": {
                "id": 7,
                "version": 1,
                "sku": "S-1",
                "item_name": "Old",
                "category": "Tools",
                "quantity": 2,
                "unit_price": Decimal("2.00"),
            }
        }
    )
    target = FakeTarget(store)
    csv = "item_name,category,quantity,unit_price,sku\nNew,Tools,3,1.5,S-2\nOld,Tools,5,2,S-1\nBad,Tools,x,1,S-3\n"
    report = import_csv(target, csv, mode="upsert")
    assert (report.inserted, report.updated, report.skipped) == (1, 1, 1)
    assert target.opened == ["writing ['item_name', 'category', 'quantity', 'unit_price', 'sku']"]
    assert store.inserted == [
        {"item_name": "New", "category": "Tools", "quantity": 3, "unit_price": 150, "sku": "S-2"}
    ]  # storage form: money in cents
    assert store.calls == [
        "update [7]",
        "movements [7] [3]",
        "audit_updates [{'quantity': [2, 5]}]",
        "audit_inserts",
        "audit_batch 1+1",
    ]


def test_a_dry_run_only_checks_through_the_port():
    target = FakeTarget(FakeStore({}))
    report = import_csv(target, "item_name,category,quantity,unit_price\nA,Tools,1,1\n", dry_run=True)
    assert report.inserted == 1 and target.opened == ["checking"] and target.store.inserted == []


def _lakebase_settings():
    return load_settings({"PGHOST": "instance.database.cloud.databricks.com", "PGUSER": "sp", "PGDATABASE": "db"})


def test_the_package_entry_plugs_in_the_lakebase_credentials():
    assert engines._credential_factory is wiring.lakebase_credentials


def test_storage_asks_the_plugged_in_factory_for_postgres_credentials(monkeypatch):
    asked = []

    def factory(pg):
        asked.append(pg)
        return lambda: "secret"

    monkeypatch.setattr(engines, "_credential_factory", None)
    engines.set_credential_factory(factory)
    db = engines.create_database(_lakebase_settings())
    try:
        assert [pg.host for pg in asked] == ["instance.database.cloud.databricks.com"]
        assert db.engine.url.password is None  # the password comes from the provider, per connection
    finally:
        db.dispose()


def test_without_a_credential_provider_storage_says_what_to_do(monkeypatch):
    monkeypatch.setattr(engines, "_credential_factory", None)
    with pytest.raises(ConfigurationError, match="PGPASSWORD is not set and no credential provider is plugged in"):
        engines.create_database(_lakebase_settings())
