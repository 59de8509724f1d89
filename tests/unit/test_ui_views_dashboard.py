"""DashboardView without a server: the iframe when configured (escaped, sandboxed, no token), otherwise a guide
naming the three variables; the publish check runs off the event loop."""

from __future__ import annotations

import asyncio

import pytest

import inventory_panel as ip
from inventory_panel.databricks.wiring import DatabricksDashboard
from inventory_panel.settings import Settings, load_settings
from inventory_panel.ui import dashboard_view, plugins
from inventory_panel.ui.dashboard_view import DashboardView, iframe_html
from inventory_panel.ui.model import InventoryModel
from inventory_panel.ui.plugins import DashboardStatus

CONFIGURED = {
    "DATABRICKS_HOST": "https://adb-123.4.azuredatabricks.net",
    "DATABRICKS_WORKSPACE_ID": "123",
    "DASHBOARD_ID": "01ef0123456789abcdef",
}


class Answering(DatabricksDashboard):
    """The Databricks dashboard (URL and guide from the settings) whose workspace answers ``status``, with a session
    token ``token``; records the token each check carried."""

    def __init__(self, status: DashboardStatus | None, token: str | None = None):
        self.status, self.token, self.asked = status, token, []

    def session_token(self, settings: Settings) -> str | None:
        return self.token

    def published_status(self, settings: Settings, user_token: str | None) -> DashboardStatus:
        self.asked.append(user_token)
        assert self.status is not None, "the workspace was asked"
        return self.status


@pytest.fixture
def make_view(sqlite_url):
    made = []

    def make(env, status=None, source=None):
        inventory = ip.connect(sqlite_url, user="admin@example.com", role="admin", settings=load_settings(env))
        made.append(inventory)
        return DashboardView(
            model=InventoryModel(inventory=inventory),
            active=False,
            source=source or (Answering(status) if status is not None else None),
        )

    yield make
    for inventory in made:
        inventory.close()


def test_without_configuration_it_explains_the_three_variables(make_view):
    view = make_view({})
    html = view._layout[0].object
    assert view.url is None
    for name in ("DATABRICKS_HOST", "DATABRICKS_WORKSPACE_ID", "DASHBOARD_ID", "docs/databricks.md", "app.yaml"):
        assert name in html
    assert html.count("Not set") == 3 and "<iframe" not in html


def test_partial_configuration_shows_what_is_set_escaped(make_view):
    view = make_view({"DATABRICKS_HOST": "https://x.cloud.databricks.com", "DASHBOARD_ID": "<script>x</script>"})
    html = view._layout[0].object
    assert html.count("Not set") == 1 and "https://x.cloud.databricks.com" in html
    assert "<script>" not in html and "&lt;script&gt;" in html  # the value and the problem sentence are escaped


def test_configured_it_embeds_the_dashboard_sandboxed_without_a_token(make_view):
    view = make_view({**CONFIGURED, "DATABRICKS_TOKEN": "dapi-secret"})
    html = view.frame.object
    assert 'src="https://adb-123.4.azuredatabricks.net/embed/dashboardsv3/01ef0123456789abcdef?o=123"' in html
    assert 'sandbox="allow-scripts allow-same-origin' in html and "dapi-secret" not in html
    assert "01ef0123456789abcdef" in view._layout[0][0].object


def test_iframe_escapes_the_url_and_refuses_other_schemes():
    assert 'src="https://h/x?a=1&amp;b=&quot;&gt;"' in iframe_html('https://h/x?a=1&b=">')
    with pytest.raises(ValueError):
        iframe_html("javascript:alert(1)")


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (DashboardStatus("published", "Dashboard is published."), False),
        (DashboardStatus("not_published", "Dashboard <x> is not published: publish it."), True),
    ],
)
def test_publish_check_runs_when_shown_and_reports_problems(make_view, status, shown):
    view = make_view(CONFIGURED, status=status)
    assert view.status is None  # hidden: the workspace was not asked
    asyncio.run(view.check_published())
    assert view.status == status
    assert view.notice.visible is shown
    if shown:
        assert "Dashboard &lt;x&gt; is not published" in view.notice.object


def test_showing_the_view_starts_the_check_once(make_view, monkeypatch):
    calls = []
    view = make_view(CONFIGURED, status=DashboardStatus("unknown", "Could not check."))
    monkeypatch.setattr(dashboard_view.pn.state, "execute", lambda callback: calls.append(callback))
    view.active = True
    view.active = False
    view.active = True
    assert calls == [view.check_published]


def test_an_unanswerable_check_reads_calmly_with_details_in_the_log(make_view, caplog):
    view = make_view(CONFIGURED, status=DashboardStatus("unknown", "HTTPSConnectionPool(host=…): Max retries"))
    with caplog.at_level("INFO", logger="inventory_panel.ui.dashboard_view"):
        asyncio.run(view.check_published())
    assert "could not be asked whether this dashboard is published" in view.notice.object
    assert "HTTPSConnectionPool" not in view.notice.object and "HTTPSConnectionPool" in caplog.text


def test_on_behalf_of_the_user_the_check_gets_the_session_s_token(make_view):
    # The token is read while the view is built (in the session), then handed to the check in its worker thread.
    source = Answering(DashboardStatus("published", ""), token="user-token")
    view = make_view(CONFIGURED, source=source)
    asyncio.run(view.check_published())
    assert source.asked == ["user-token"] and view.status.published
    assert "user-token" not in view.frame.object  # never put in the page


def test_the_databricks_dashboard_is_what_the_package_plugs_in(make_view):
    # Importing inventory_panel plugs Databricks in (databricks/wiring.py); the view takes it unless given another.
    assert isinstance(plugins.dashboard_source(), DatabricksDashboard)
    assert isinstance(make_view(CONFIGURED).source, DatabricksDashboard)


def test_without_a_plug_in_there_is_nothing_to_embed(make_view):
    view = make_view(CONFIGURED, source=plugins.NoDashboard())
    assert view.url is None and "<iframe" not in view._layout[0].object
    assert plugins.NOT_PLUGGED_IN in view._layout[0].object
