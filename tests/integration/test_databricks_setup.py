"""Workspace setup against the fake workspace: the SDK calls it sends, and that a second run writes nothing.

Setup runs as a workspace admin (the fake's PAT). Also runs ``notebooks/lakebase_setup.ipynb`` in a real kernel
against the same fake workspace. ``test_databricks_doctor.py`` runs setup and doctor against PostgreSQL too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from inventory_panel.databricks import setup, sharing
from inventory_panel.databricks.client import workspace_client
from inventory_panel.errors import ConfigurationError
from inventory_panel.storage.tables import build_tables
from tests.support.fake_workspace import FakeWorkspace, isolate_environment

ROOT = Path(__file__).resolve().parents[2]
APP_SP = "11111111-2222-3333-4444-555555555555"
APP_URL = "https://inventory-1234567890123456.aws.databricksapps.com"
GROUP = "inventory-users"


@pytest.fixture
def workspace(monkeypatch) -> Iterator[FakeWorkspace]:
    isolate_environment(monkeypatch)
    fake = FakeWorkspace(app_database_grant=False).start()
    fake.apps["inventory"] = {"name": "inventory", "service_principal_client_id": APP_SP, "url": APP_URL}
    monkeypatch.setenv("DATABRICKS_HOST", fake.url)
    monkeypatch.setenv("DATABRICKS_TOKEN", fake.pat)  # a workspace admin runs setup
    yield fake
    fake.close()


def targets(workspace: FakeWorkspace) -> dict[str, setup.LakebaseTarget]:
    return {
        "autoscaling": setup.LakebaseTarget("databricks_postgres", endpoint=workspace.endpoint),
        "provisioned": setup.LakebaseTarget("databricks_postgres", instance_name=workspace.instance),
    }


def run(workspace: FakeWorkspace, target: setup.LakebaseTarget) -> setup.SetupResult:
    return setup.run_setup(
        workspace_client(),
        target,
        catalog="inventory_lb",
        app_name="inventory",
        warehouse_id="wh-123",
        dashboard_parent="/Shared/inv",
        users_group=GROUP,
        approve_embedding_domain=True,
    )


def test_autoscaling_setup_sends_the_expected_calls_and_is_idempotent(workspace):
    target = targets(workspace)["autoscaling"]
    result = run(workspace, target)

    writes = {(c.method, c.path): c for c in workspace.writes()}
    branch = "projects/inventory/branches/main"
    role = writes[("POST", f"/api/2.0/postgres/{branch}/roles")]
    assert role.query == {"role_id": APP_SP}
    assert role.body["spec"] == {
        "postgres_role": APP_SP,
        "identity_type": "SERVICE_PRINCIPAL",
        "auth_method": "LAKEBASE_OAUTH_V1",
    }
    catalog = writes[("POST", "/api/2.0/postgres/catalogs")]
    assert catalog.query == {"catalog_id": "inventory_lb"}
    assert catalog.body["spec"] == {
        "postgres_database": "databricks_postgres",
        "branch": branch,
        "create_database_if_missing": True,
    }
    access = writes[("PATCH", "/api/2.0/permissions/database-projects/inventory")]
    assert access.body == {"access_control_list": [{"service_principal_name": APP_SP, "permission_level": "CAN_USE"}]}
    _assert_dashboard_calls(workspace, writes, result)
    # Long-running operations were awaited.
    assert len(workspace.requests("GET", "/api/2.0/postgres/operations/")) == 2

    workspace.clear()
    again = run(workspace, target)
    assert workspace.writes() == []
    assert not again.changed
    assert [(s.step, s.action) for s in again.steps] == [
        ("app role", "exists"),
        ("database use", "exists"),
        ("catalog", "exists"),
        ("dashboard", "unchanged"),
        ("publish", "exists"),
        ("share", "exists"),
        ("embedding", "exists"),
    ]
    assert again.dashboard_id == result.dashboard_id


def test_provisioned_setup_sends_the_expected_calls_and_is_idempotent(workspace):
    target = targets(workspace)["provisioned"]
    result = run(workspace, target)

    writes = {(c.method, c.path): c for c in workspace.writes()}
    role = writes[("POST", f"/api/2.0/database/instances/{workspace.instance}/roles")]
    assert role.body == {"name": APP_SP, "identity_type": "SERVICE_PRINCIPAL"}
    catalog = writes[("POST", "/api/2.0/database/catalogs")]
    assert catalog.body == {
        "name": "inventory_lb",
        "database_instance_name": workspace.instance,
        "database_name": "databricks_postgres",
        "create_database_if_not_exists": True,
    }
    access = writes[("PATCH", f"/api/2.0/permissions/database-instances/{workspace.instance}")]
    assert access.body == {"access_control_list": [{"service_principal_name": APP_SP, "permission_level": "CAN_USE"}]}
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
    shared = writes[("PATCH", f"/api/2.0/permissions/dashboards/{result.dashboard_id}")].body
    assert shared == {
        "access_control_list": [
            {"service_principal_name": APP_SP, "permission_level": "CAN_READ"},
            {"group_name": GROUP, "permission_level": "CAN_READ"},
        ]
    }
    domains = writes[("PATCH", "/api/2.0/settings/types/aibi_dash_embed_ws_apprvd_domains/names/default")].body
    field_mask = "aibi_dashboard_embedding_approved_domains.approved_domains"
    assert domains == {
        "allow_missing": True,
        "field_mask": field_mask,
        "setting": {
            "aibi_dashboard_embedding_approved_domains": {
                "approved_domains": ["inventory-1234567890123456.aws.databricksapps.com"]
            },
            "etag": "0",
        },
    }


def test_a_dashboard_changed_in_the_workspace_is_put_back_and_republished(workspace):
    target = targets(workspace)["autoscaling"]
    first = run(workspace, target)
    draft = workspace.dashboards[first.dashboard_id]
    draft["serialized_dashboard"] = json.dumps({"datasets": [], "pages": []})
    workspace.clear()

    second = run(workspace, target)
    assert [(c.method, c.path) for c in workspace.writes()] == [
        ("PATCH", f"/api/2.0/lakeview/dashboards/{first.dashboard_id}"),
        ("POST", f"/api/2.0/lakeview/dashboards/{first.dashboard_id}/published"),
    ]
    assert [s.action for s in second.steps if s.step in ("dashboard", "publish")] == ["updated", "published"]
    assert json.loads(draft["serialized_dashboard"])["datasets"]


def test_setup_without_warehouse_or_app_skips_those_steps(workspace):
    result = setup.run_setup(workspace_client(), targets(workspace)["autoscaling"], catalog="inventory_lb")
    assert [s.step for s in result.steps] == ["catalog"]
    assert result.dashboard_id is None


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"app_name": "missing"}, ["missing", "does not exist"]),
        ({"target": setup.LakebaseTarget("db", endpoint="projects/x/branches/y/endpoints/z")}, ["PGENDPOINT"]),
        ({"target": setup.LakebaseTarget("db", instance_name="nope")}, ["LAKEBASE_INSTANCE_NAME", "nope"]),
    ],
)
def test_setup_errors_are_one_clear_line(workspace, kwargs, words):
    kwargs.setdefault("target", targets(workspace)["provisioned"])
    with pytest.raises(ConfigurationError) as caught:
        setup.run_setup(workspace_client(), catalog="inventory_lb", **kwargs)
    assert all(word in str(caught.value) for word in words) and "\n" not in str(caught.value)


def test_a_catalog_registering_another_database_is_refused(workspace):
    target = targets(workspace)["provisioned"]
    workspace.database_catalogs["inventory_lb"] = {
        "name": "inventory_lb",
        "database_name": "other",
        "database_instance_name": workspace.instance,
    }
    with pytest.raises(ConfigurationError, match="already registers Lakebase database 'other'"):
        setup.ensure_catalog(workspace_client(), target, "inventory_lb")


@pytest.mark.parametrize("kwargs", [{}, {"endpoint": "e", "instance_name": "i"}, {"endpoint": "not/a/path"}])
def test_lakebase_target_needs_exactly_one_valid_flavour(kwargs):
    with pytest.raises(ConfigurationError):
        setup.LakebaseTarget("db", **kwargs)


@pytest.mark.parametrize(
    ("domain", "approved", "allowed"),
    [
        ("inv-1.aws.databricksapps.com", ["inv-1.aws.databricksapps.com"], True),
        ("inv-1.aws.databricksapps.com", ["*.databricksapps.com"], True),
        ("inv-1.aws.databricksapps.com", ["https://inv-1.aws.databricksapps.com/"], True),
        ("inv-1.aws.databricksapps.com", ["INV-1.AWS.databricksapps.com"], True),
        ("inv-1.aws.databricksapps.com", ["inv-2.aws.databricksapps.com", "databricksapps.com"], False),
        ("evil-databricksapps.com", ["*.databricksapps.com"], False),
        ("inv-1.aws.databricksapps.com", [], False),
    ],
)
def test_approved_embedding_domains_match_exactly_or_by_wildcard(domain, approved, allowed):
    assert sharing.domain_allowed(domain, approved) is allowed


def test_a_workspace_denying_embedding_is_reported_and_never_changed(workspace):
    workspace.embedding_policy = "DENY_ALL_DOMAINS"
    step = setup.check_embedding(workspace_client(), APP_URL, approve=True)
    assert step.action == "missing" and "denies embedding" in step.detail and "Allow approved domains" in step.detail
    assert workspace.writes() == []
    workspace.embedding_policy = "ALLOW_ALL_DOMAINS"
    assert setup.check_embedding(workspace_client(), APP_URL).action == "exists"


def test_an_unapproved_domain_is_named_unless_setup_may_approve_it(workspace):
    workspace.approved_domains[:] = ["other.example.com"]
    step = setup.check_embedding(workspace_client(), APP_URL)
    assert step.action == "missing" and "--approve-embedding-domain" in step.detail
    assert workspace.writes() == []
    assert setup.check_embedding(workspace_client(), APP_URL, approve=True).action == "updated"
    assert workspace.approved_domains == ["other.example.com", "inventory-1234567890123456.aws.databricksapps.com"]


def test_embedding_settings_never_changed_in_the_workspace_are_their_defaults(workspace):
    workspace.embedding_settings_stored = False  # GET answers 404 until a setting is first written
    step = setup.check_embedding(workspace_client(), APP_URL)
    assert step.action == "missing" and "is not an approved embedding domain" in step.detail
    assert setup.check_embedding(workspace_client(), APP_URL, approve=True).action == "updated"
    assert workspace.approved_domains == ["inventory-1234567890123456.aws.databricksapps.com"]
    assert setup.check_embedding(workspace_client(), APP_URL).action == "exists"


def test_setup_by_someone_without_the_rights_is_one_clear_line(workspace, monkeypatch, capsys):
    from inventory_panel import cli

    workspace.admins.clear()  # the PAT's owner is no workspace admin and manages nothing
    monkeypatch.setenv("PGENDPOINT", workspace.endpoint)
    code = cli.main(["databricks", "setup", "--app", "inventory"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "PermissionDenied" in err and "no permission on database-projects inventory" in err
    assert "docs/databricks.md" in err and "Traceback" not in err


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
            e["fieldName"] for key, e in encodings.items() if key != "columns"
        ]
        assert set(used) <= names, widget["name"]


def _execute(notebook) -> str:
    from nbclient import NotebookClient

    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "notebooks")}}
    ).execute()
    return "".join(
        out.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )


def _notebook_env(workspace: FakeWorkspace, monkeypatch) -> None:
    monkeypatch.setenv("PGENDPOINT", workspace.endpoint)
    monkeypatch.setenv("INVENTORY_APP_NAME", "inventory")
    monkeypatch.setenv("DATABRICKS_WAREHOUSE_ID", "wh-123")
    monkeypatch.setenv("INVENTORY_USERS_GROUP", GROUP)


def test_the_setup_notebook_runs_against_the_workspace(workspace, monkeypatch):
    import nbformat

    _notebook_env(workspace, monkeypatch)
    text = _execute(nbformat.read(ROOT / "notebooks" / "lakebase_setup.ipynb", as_version=4))

    dashboard_id = next(iter(workspace.dashboards))
    assert f"DASHBOARD_ID={dashboard_id}" in text
    assert "lakebase_inventory.inventory_app.inventory_items" in text
    assert workspace.pg_catalogs["lakebase_inventory"]["spec"]["postgres_database"] == "databricks_postgres"
    assert workspace.published[dashboard_id]
    assert workspace.acl[("dashboards", dashboard_id)][("group_name", GROUP)] == "CAN_READ"
    # The embedding domain is not approved unless asked: the notebook says what to do.
    assert "TO DO embedding: inventory-1234567890123456.aws.databricksapps.com is not an approved" in text


# Stands in for Databricks: the runtime variable, ``dbutils`` (widgets, restartPython) and the ``%pip`` magic, all
# recording into builtins.CALLS. restartPython clears the user namespace as a restart does (dbutils survives: the
# runtime puts it back), and records whether databricks-sdk was already imported when it ran.
DATABRICKS_STAND_IN = """
import builtins, os, sys
os.environ["DATABRICKS_RUNTIME_VERSION"] = "16.4"
builtins.CALLS = []

def _pip(line):
    builtins.CALLS.append(["pip", line])

get_ipython().register_magic_function(_pip, "line", "pip")

class _Widgets:  # methods import what they use: the restart below empties the notebook's namespace
    values = {}
    def text(self, name, default):
        import builtins
        builtins.CALLS.append(["widget", name])
        self.values.setdefault(name, default)
    def get(self, name):
        return self.values[name]

class _Library:
    def restartPython(self):
        import builtins, sys
        builtins.CALLS.append(["restartPython", any(m.startswith("databricks.sdk") for m in sys.modules)])
        get_ipython().reset(new_session=False)

class _DBUtils:
    widgets, library = _Widgets(), _Library()

builtins.dbutils = _DBUtils()
"""


def test_the_setup_notebook_installs_then_restarts_python_before_importing_the_sdk(workspace, monkeypatch):
    import nbformat

    _notebook_env(workspace, monkeypatch)
    notebook = nbformat.read(ROOT / "notebooks" / "lakebase_setup.ipynb", as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    restart = next(c for c in code if "restartPython" in c.source)
    statements = [
        line.strip() for line in restart.source.splitlines() if line.strip() and not line.strip().startswith("#")
    ]
    assert statements[-1].startswith("dbutils.library.restartPython()")  # its own cell: nothing else runs there
    assert all(s.startswith(("if ", "dbutils.library.restartPython()")) for s in statements)
    assert code.index(restart) == code.index(next(c for c in code if '"pip"' in c.source)) + 1

    notebook.cells.insert(0, nbformat.v4.new_code_cell(DATABRICKS_STAND_IN))
    notebook.cells.append(nbformat.v4.new_code_cell("import builtins, json; print('CALLS=' + json.dumps(CALLS))"))
    text = _execute(notebook)

    calls = json.loads(text.rsplit("CALLS=", 1)[1].splitlines()[0])
    assert calls[0] == ["pip", "install --quiet -r ../requirements.txt"]
    assert calls[1] == ["restartPython", False]  # installed, restarted, and only then the SDK is imported
    assert {name for kind, name in calls[2:] if kind == "widget"} >= {"PGENDPOINT", "INVENTORY_APP_NAME"}
    assert f"DASHBOARD_ID={next(iter(workspace.dashboards))}" in text
