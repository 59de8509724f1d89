"""The embedded AI/BI dashboard: its URL carries no secret; its published state is read through the real SDK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inventory_panel.databricks.dashboard import embed_url, published_status
from inventory_panel.settings import load_settings
from tests.support.fake_workspace import FakeWorkspace, isolate_environment

DASHBOARD = "01ef0123456789abcdef0123456789ab"


@pytest.fixture
def workspace(monkeypatch) -> Iterator[FakeWorkspace]:
    isolate_environment(monkeypatch)
    fake = FakeWorkspace().start()
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    yield fake
    fake.close()


def test_embed_url_is_host_dashboard_and_workspace_only():
    settings = load_settings(
        {
            "DATABRICKS_HOST": "https://adb-1.azuredatabricks.net/",
            "DASHBOARD_ID": DASHBOARD,
            "DATABRICKS_WORKSPACE_ID": "1234567890123456",
        }
    )
    assert embed_url(settings) == (
        f"https://adb-1.azuredatabricks.net/embed/dashboardsv3/{DASHBOARD}?o=1234567890123456"
    )


def test_embed_url_accepts_a_host_without_scheme_as_databricks_apps_set_it():
    settings = load_settings({"DATABRICKS_HOST": "dbc-1.cloud.databricks.com", "DASHBOARD_ID": DASHBOARD})
    assert embed_url(settings) == f"https://dbc-1.cloud.databricks.com/embed/dashboardsv3/{DASHBOARD}"


def test_embed_url_never_carries_a_secret_even_when_secrets_are_configured():
    secrets = {
        "DATABRICKS_TOKEN": "dapi-secret-token",
        "DATABRICKS_CLIENT_SECRET": "sp-secret",
        "PGPASSWORD": "pg-secret",
        "PANEL_COOKIE_SECRET": "cookie-secret",
    }
    settings = load_settings(
        {"DATABRICKS_HOST": "https://user:pw@dbc-1.cloud.databricks.com", "DASHBOARD_ID": DASHBOARD, **secrets}
    )
    assert embed_url(settings) is None  # credentials inside the host are refused rather than passed on
    settings = load_settings(
        {
            "DATABRICKS_HOST": "https://dbc-1.cloud.databricks.com",
            "DASHBOARD_ID": DASHBOARD,
            "DATABRICKS_WORKSPACE_ID": "42",
            **secrets,
        }
    )
    url = embed_url(settings)
    assert url is not None
    assert not any(secret in url for secret in secrets.values())
    assert "token" not in url.lower() and "secret" not in url.lower()


@pytest.mark.parametrize(
    "env",
    [
        {"DASHBOARD_ID": DASHBOARD},
        {"DATABRICKS_HOST": "https://dbc-1.cloud.databricks.com"},
        {"DATABRICKS_HOST": "https://dbc-1.cloud.databricks.com", "DASHBOARD_ID": "x/../../admin"},
    ],
)
def test_no_embed_url_without_a_usable_host_and_dashboard(env):
    settings = load_settings(env)
    assert embed_url(settings) is None
    assert published_status(settings).state == "not_configured"


def test_published_status_through_the_sdk(workspace):
    settings = load_settings({"DATABRICKS_HOST": workspace.url, "DASHBOARD_ID": DASHBOARD})
    assert published_status(settings).state == "not_published"  # unknown to the workspace

    workspace.dashboards[DASHBOARD] = {"dashboard_id": DASHBOARD, "display_name": "Inventory", "update_time": "t"}
    workspace.published[DASHBOARD] = {"display_name": "Inventory", "warehouse_id": "wh"}
    # Not shared with the app's service principal: the workspace refuses it, and the status says what to do.
    status = published_status(settings)
    assert status.state == "unknown" and "no permission" in status.message and "Share dashboard" in status.message
    assert "\n" not in status.message

    workspace.grant("dashboards", DASHBOARD, "service_principal_name", workspace.client_id, "CAN_READ")
    del workspace.published[DASHBOARD]
    status = published_status(settings)
    assert (status.state, status.published) == ("not_published", False)

    workspace.published[DASHBOARD] = {"display_name": "Inventory", "warehouse_id": "wh"}
    status = published_status(settings)
    assert status.published and "Inventory" in status.message
    assert workspace.requests("GET", f"/api/2.0/lakeview/dashboards/{DASHBOARD}/published")


def test_published_status_is_unknown_rather_than_an_error_when_the_check_fails(workspace):
    settings = load_settings({"DATABRICKS_HOST": workspace.url, "DASHBOARD_ID": DASHBOARD})
    workspace.failing["/api/2.0/lakeview/"] = 403
    status = published_status(settings)
    assert status.state == "unknown" and "permission" in status.message


def test_published_status_is_unknown_without_databricks_authentication(monkeypatch):
    isolate_environment(monkeypatch)
    settings = load_settings({"DATABRICKS_HOST": "https://dbc-1.cloud.databricks.com", "DASHBOARD_ID": DASHBOARD})
    status = published_status(settings)
    assert status.state == "unknown" and "\n" not in status.message
