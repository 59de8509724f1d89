"""Workspace setup against the fake workspace: the SDK calls it sends, and that a second run writes nothing.

Also runs ``notebooks/lakebase_setup.ipynb`` in a real kernel against the same fake workspace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from inventory_panel.databricks import setup
from inventory_panel.databricks.client import workspace_client
from inventory_panel.errors import ConfigurationError
from inventory_panel.storage.tables import build_tables
from tests.support.fake_workspace import FakeWorkspace, isolate_environment

ROOT = Path(__file__).resolve().parents[2]
APP_SP = "11111111-2222-3333-4444-555555555555"
SUPPLIERS = setup.ReferenceTable.parse("main.reference.suppliers:supplier_id")


@pytest.fixture
def workspace(monkeypatch) -> Iterator[FakeWorkspace]:
    isolate_environment(monkeypatch)
    fake = FakeWorkspace().start()
    fake.apps["inventory"] = {"name": "inventory", "service_principal_client_id": APP_SP}
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    yield fake
    fake.close()


def targets(workspace: FakeWorkspace) -> dict[str, setup.LakebaseTarget]:
    return {"autoscaling": setup.LakebaseTarget("databricks_postgres", endpoint=workspace.endpoint),
            "provisioned": setup.LakebaseTarget("databricks_postgres", instance_name=workspace.instance)}


def run(workspace: FakeWorkspace, target: setup.LakebaseTarget) -> setup.SetupResult:
    return setup.run_setup(workspace_client(), target, catalog="inventory_lb", app_name="inventory",
                           reference_tables=(SUPPLIERS,), warehouse_id="wh-123", dashboard_parent="/Shared/inv")


def test_autoscaling_setup_sends_the_expected_calls_and_is_idempotent(workspace):
    target = targets(workspace)["autoscaling"]
    result = run(workspace, target)

    writes = {(c.method, c.path): c for c in workspace.writes()}
    branch = "projects/inventory/branches/main"
    role = writes[("POST", f"/api/2.0/postgres/{branch}/roles")]
    assert role.query == {"role_id": APP_SP}
    assert role.body["spec"] == {"postgres_role": APP_SP, "identity_type": "SERVICE_PRINCIPAL",
                                 "auth_method": "LAKEBASE_OAUTH_V1"}
    catalog = writes[("POST", "/api/2.0/postgres/catalogs")]
    assert catalog.query == {"catalog_id": "inventory_lb"}
    assert catalog.body["spec"] == {"postgres_database": "databricks_postgres", "branch": branch,
                                    "create_database_if_missing": True}
    synced = writes[("POST", "/api/2.0/postgres/synced_tables")]
    assert synced.query == {"synced_table_id": "inventory_lb.reference.suppliers"}
    assert synced.body["spec"]["source_table_full_name"] == "main.reference.suppliers"
    assert synced.body["spec"]["primary_key_columns"] == ["supplier_id"]
    assert synced.body["spec"]["scheduling_policy"] == "TRIGGERED"
    _assert_dashboard_calls(workspace, writes, result)
    # Long-running operations were awaited.
    assert len(workspace.requests("GET", "/api/2.0/postgres/operations/")) == 3

    workspace.clear()
    again = run(workspace, target)
    assert workspace.writes() == []
    assert not again.changed
    assert [s.action for s in again.steps] == ["exists", "exists", "exists", "unchanged", "exists"]
    assert again.dashboard_id == result.dashboard_id


def test_provisioned_setup_sends_the_expected_calls_and_is_idempotent(workspace):
    target = targets(workspace)["provisioned"]
    result = run(workspace, target)

    writes = {(c.method, c.path): c for c in workspace.writes()}
    role = writes[("POST", f"/api/2.0/database/instances/{workspace.instance}/roles")]
    assert role.body == {"name": APP_SP, "identity_type": "SERVICE_PRINCIPAL"}
    catalog = writes[("POST", "/api/2.0/database/catalogs")]
    assert catalog.body == {"name": "inventory_lb", "database_instance_name": workspace.instance,
                            "database_name": "databricks_postgres", "create_database_if_not_exists": True}
    synced = writes[("POST", "/api/2.0/database/synced_tables")]
    assert synced.body["name"] == "inventory_lb.reference.suppliers"
    assert synced.body["logical_database_name"] == "databricks_postgres"
    assert synced.body["spec"]["new_pipeline_spec"] == {"storage_catalog": "main", "storage_schema": "reference"}
    _assert_dashboard_calls(workspace, writes, result)

    workspace.clear()
    again = run(workspace, target)
    assert workspace.writes() == []
    assert not again.changed


def _assert_dashboard_calls(workspace: FakeWorkspace, writes, result: setup.SetupResult) -> None:
    assert writes[("POST", "/api/2.0/workspace/mkdirs")].body == {"path": "/Shared/inv"}
    created = writes[("POST", "/api/2.0/lakeview/dashboards")].body
    assert created["display_name"] == "Lakebase Inventory" and created["parent_path"] == "/Shared/inv"
    assert created["warehouse_id"] == "wh-123"
    sql = " ".join(line for ds in json.loads(created["serialized_dashboard"])["datasets"] for line in ds["queryLines"])
    assert "`inventory_lb`.`inventory_app`.`inventory_items`" in sql
    assert "`inventory_lb`.`inventory_app`.`inventory_items_movements`" in sql
    published = writes[("POST", f"/api/2.0/lakeview/dashboards/{result.dashboard_id}/published")].body
    assert published == {"embed_credentials": True, "warehouse_id": "wh-123"}
    assert workspace.published[result.dashboard_id]["warehouse_id"] == "wh-123"
    assert f"DASHBOARD_ID={result.dashboard_id}" in str(result)


def test_a_dashboard_changed_in_the_workspace_is_put_back_and_republished(workspace):
    target = targets(workspace)["autoscaling"]
    first = run(workspace, target)
    draft = workspace.dashboards[first.dashboard_id]
    draft["serialized_dashboard"] = json.dumps({"datasets": [], "pages": []})
    workspace.clear()

    second = run(workspace, target)
    assert [(c.method, c.path) for c in workspace.writes()] == [
        ("PATCH", f"/api/2.0/lakeview/dashboards/{first.dashboard_id}"),
        ("POST", f"/api/2.0/lakeview/dashboards/{first.dashboard_id}/published")]
    assert [s.action for s in second.steps][-2:] == ["updated", "published"]
    assert json.loads(draft["serialized_dashboard"])["datasets"]


def test_setup_without_warehouse_or_app_skips_those_steps(workspace):
    result = setup.run_setup(workspace_client(), targets(workspace)["autoscaling"], catalog="inventory_lb")
    assert [s.step for s in result.steps] == ["catalog"]
    assert result.dashboard_id is None


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"app_name": "missing"}, ["missing", "does not exist"]),
    ({"target": setup.LakebaseTarget("db", endpoint="projects/x/branches/y/endpoints/z")}, ["PGENDPOINT"]),
    ({"target": setup.LakebaseTarget("db", instance_name="nope")}, ["LAKEBASE_INSTANCE_NAME", "nope"]),
])
def test_setup_errors_are_one_clear_line(workspace, kwargs, words):
    kwargs.setdefault("target", targets(workspace)["provisioned"])
    with pytest.raises(ConfigurationError) as caught:
        setup.run_setup(workspace_client(), catalog="inventory_lb", **kwargs)
    assert all(word in str(caught.value) for word in words) and "\n" not in str(caught.value)


def test_a_catalog_registering_another_database_is_refused(workspace):
    target = targets(workspace)["provisioned"]
    workspace.database_catalogs["inventory_lb"] = {"name": "inventory_lb", "database_name": "other",
                                                   "database_instance_name": workspace.instance}
    with pytest.raises(ConfigurationError, match="already registers Lakebase database 'other'"):
        setup.ensure_catalog(workspace_client(), target, "inventory_lb")


@pytest.mark.parametrize("kwargs", [{}, {"endpoint": "e", "instance_name": "i"}, {"endpoint": "not/a/path"}])
def test_lakebase_target_needs_exactly_one_valid_flavour(kwargs):
    with pytest.raises(ConfigurationError):
        setup.LakebaseTarget("db", **kwargs)


def test_reference_table_parameters():
    assert setup.parse_reference_tables("") == ()
    parsed = setup.parse_reference_tables("main.ref.suppliers:id, main.ref.sites:region+code")
    assert [(r.source, r.primary_key) for r in parsed] == [("main.ref.suppliers", ("id",)),
                                                           ("main.ref.sites", ("region", "code"))]
    with pytest.raises(ConfigurationError):
        setup.ReferenceTable.parse("suppliers:id")
    with pytest.raises(ConfigurationError):
        setup.ReferenceTable.parse("main.ref.suppliers")


def test_the_shipped_dashboard_is_consistent_with_the_inventory_tables():
    definition = json.loads(setup.dashboard_definition("cat", "inventory_app", "stock"))
    tables = build_tables("stock", "inventory_app")
    columns = {c.name for t in (tables.items, tables.movements) for c in t.columns}
    datasets = {ds["name"]: " ".join(ds["queryLines"]) for ds in definition["datasets"]}
    aliases = {name: set(re.findall(r"\bAS (\w+)", sql)) for name, sql in datasets.items()}
    for name, sql in datasets.items():
        assert re.search(r"FROM `cat`\.`inventory_app`\.`stock(_movements)?`", sql), name
    widgets = [item["widget"] for page in definition["pages"] for item in page["layout"]]
    assert widgets
    for widget in widgets:
        for query in widget["queries"]:
            dataset = query["query"]["datasetName"]
            assert dataset in datasets
            names = {f["name"] for f in query["query"]["fields"]}
            for f in query["query"]["fields"]:
                for column in re.findall(r"`(\w+)`", f["expression"]):
                    assert column in columns | aliases[dataset], (widget["name"], column)
        encodings = widget["spec"]["encodings"]
        used = [e["fieldName"] for e in encodings.get("columns", [])] + [
            e["fieldName"] for key, e in encodings.items() if key != "columns"]
        assert set(used) <= names, widget["name"]


def test_the_setup_notebook_runs_against_the_workspace(workspace, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("PGENDPOINT", workspace.endpoint)
    monkeypatch.setenv("INVENTORY_APP_NAME", "inventory")
    monkeypatch.setenv("DATABRICKS_WAREHOUSE_ID", "wh-123")
    monkeypatch.setenv("INVENTORY_REFERENCE_TABLES", "main.reference.suppliers:supplier_id")
    notebook = nbformat.read(ROOT / "notebooks" / "lakebase_setup.ipynb", as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()

    text = "".join(out.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []))
    dashboard_id = next(iter(workspace.dashboards))
    assert f"DASHBOARD_ID={dashboard_id}" in text
    assert "lakebase_inventory.inventory_app.inventory_items" in text
    assert workspace.pg_catalogs["lakebase_inventory"]["spec"]["postgres_database"] == "databricks_postgres"
    assert "lakebase_inventory.reference.suppliers" in workspace.pg_synced_tables
    assert workspace.published[dashboard_id]
