"""The UI's hooks (``ui/plugins.py``): Databricks plugged in by the package root, the local app without it, and the
app's own parameters for another identity or dashboard."""

from __future__ import annotations

import pytest

import inventory_panel as ip
from inventory_panel.auth import make_user
from inventory_panel.databricks import wiring
from inventory_panel.errors import ConfigurationError
from inventory_panel.settings import load_settings
from inventory_panel.ui import plugins
from inventory_panel.ui.app import InventoryApp


def test_importing_the_package_plugs_databricks_into_the_ui():
    assert plugins._session_identity is wiring.session_user
    assert plugins._notebook_identity is wiring.notebook_user
    assert isinstance(plugins.dashboard_source(), wiring.DatabricksDashboard)


def test_without_a_plug_in_the_ui_is_a_local_app():
    local = load_settings({"INVENTORY_USER": "dev@example.com"})
    assert plugins.local_session_user(local) == make_user("dev@example.com", local, source="local")
    assert plugins.local_notebook_user(local) == make_user("dev@example.com", local, source="notebook")
    nothing = plugins.NoDashboard()
    assert nothing.embed_url(local) is None and nothing.session_token(local) is None
    assert nothing.published_status(local, None).state == "not_configured"


@pytest.mark.parametrize("identify", [plugins.local_session_user, plugins.local_notebook_user])
def test_without_the_plug_in_a_databricks_app_is_refused_not_served_as_the_local_user(identify):
    # In an App only the proxy's headers say who someone is; the local user is an admin.
    app = load_settings({"DATABRICKS_APP_NAME": "lakebase-inventory", "INVENTORY_USER": "dev@example.com"})
    with pytest.raises(ConfigurationError, match="Databricks identity plug-in"):
        identify(app)


def test_a_notebook_app_asks_its_identify_hook(sqlite_url, monkeypatch):
    monkeypatch.setenv("INVENTORY_DATABASE_URL", sqlite_url)
    asked = []

    def identify(settings):
        asked.append(settings)
        return make_user("nina@example.com", settings, source="notebook")

    app = InventoryApp(identify=identify)
    try:
        assert app.inventory.user.name == "nina@example.com" and len(asked) == 1
    finally:
        app.inventory.close()


def test_the_app_hands_its_dashboard_source_to_the_dashboard_tab(sqlite_url):
    inventory = ip.connect(sqlite_url, user="admin@example.com", role="admin")
    source = plugins.NoDashboard()
    try:
        app = InventoryApp(inventory=inventory, dashboard=source)
        assert app.view("Dashboard").source is source
        assert InventoryApp(inventory=inventory).view("Dashboard").source is plugins.dashboard_source()
    finally:
        inventory.close()
