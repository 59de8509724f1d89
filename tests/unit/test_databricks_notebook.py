"""How ``notebook.show`` decides where the app appears, and where it finds the driver proxy."""

from __future__ import annotations

import panel as pn
import pytest

from inventory_panel.databricks import notebook
from inventory_panel.errors import ConfigurationError

ON_DATABRICKS = {"DATABRICKS_RUNTIME_VERSION": "15.4"}
SPARK_CONF = {
    notebook.SPARK_ORG_ID: "9876543210",
    notebook.SPARK_CLUSTER_ID: "0101-abc",
    notebook.SPARK_WORKSPACE_URL: "adb-9876543210.12.azuredatabricks.net",
}


def test_mode_is_inline_off_databricks_and_chosen_by_jupyter_bokeh_on_it():
    assert notebook.choose_mode({}) == "inline"
    assert notebook.choose_mode({}, ipywidgets_ok=False) == "inline"
    assert notebook.choose_mode(ON_DATABRICKS, ipywidgets_ok=True) == "ipywidgets"
    assert notebook.choose_mode(ON_DATABRICKS, ipywidgets_ok=False) == "driver-proxy"
    # This environment has jupyter_bokeh and ipywidgets installed: detected without being told.
    assert notebook.ipywidgets_available()
    assert notebook.choose_mode(ON_DATABRICKS) == "ipywidgets"


def test_driver_context_from_the_spark_conf():
    context = notebook.driver_context({}, conf=SPARK_CONF.get)
    assert context.proxy_url(8050) == (
        "https://adb-9876543210.12.azuredatabricks.net/driver-proxy/o/9876543210/0101-abc/8050/"
    )
    assert context.websocket_origins == ["adb-9876543210.12.azuredatabricks.net"]


def test_driver_context_environment_wins_over_the_spark_conf():
    env = {"DATABRICKS_WORKSPACE_ID": "1", "DATABRICKS_CLUSTER_ID": "c-2", "DATABRICKS_HOST": "https://w.example.com"}
    context = notebook.driver_context(env, conf=SPARK_CONF.get)
    assert context.proxy_url(8051) == "https://w.example.com/driver-proxy/o/1/c-2/8051/"


def test_without_a_workspace_url_the_link_is_relative_and_any_origin_may_connect():
    context = notebook.driver_context(
        {"DATABRICKS_WORKSPACE_ID": "1", "DATABRICKS_CLUSTER_ID": "c"}, conf=lambda _key: None
    )
    assert context.proxy_url(8050) == "/driver-proxy/o/1/c/8050/"
    assert context.websocket_origins == ["*"]


def test_no_driver_proxy_without_cluster_information():
    with pytest.raises(ConfigurationError, match="DATABRICKS_CLUSTER_ID"):
        notebook.driver_context({}, conf=lambda _key: None)


def test_show_returns_the_object_in_jupyter_and_an_ipywidget_on_databricks():
    from jupyter_bokeh.widgets import BokehModel

    component = pn.pane.Markdown("hello")
    assert notebook.show(component, env={}) is component
    try:
        widget = notebook.show(component, env=ON_DATABRICKS)
        # A container holding the probe; the component's own widget comes once the probe has a view (widget_view).
        assert isinstance(widget.children[0], BokehModel)
        assert pn.config.comms == "ipywidgets"
    finally:
        pn.config.comms = "default"


def test_show_refuses_an_unknown_mode():
    with pytest.raises(ConfigurationError, match="mode must be one of"):
        notebook.show(pn.pane.Markdown("x"), mode="popup")  # type: ignore[arg-type]


def test_extra_websocket_origins_are_added_to_the_workspace_host():
    # On some clouds the browser reaches the driver proxy on a dbc-dp-… host: its websocket comes from there.
    env = {"INVENTORY_WS_ORIGINS": "https://dbc-dp-9876543210.cloud.databricks.com/, *.proxy.example.com:8443"}
    context = notebook.driver_context(env, conf=SPARK_CONF.get)
    assert context.websocket_origins == [
        "adb-9876543210.12.azuredatabricks.net",
        "dbc-dp-9876543210.cloud.databricks.com",
        "*.proxy.example.com:8443",
    ]
    assert context.proxy_url(8050).startswith("https://adb-9876543210.12.azuredatabricks.net/driver-proxy/")


def test_extra_origins_alone_when_the_workspace_url_is_unknown():
    env = {"DATABRICKS_WORKSPACE_ID": "1", "DATABRICKS_CLUSTER_ID": "c", "INVENTORY_WS_ORIGINS": "dbc-dp-1.example.com"}
    context = notebook.driver_context(env, conf=lambda _key: None)
    assert context.websocket_origins == ["dbc-dp-1.example.com"]  # no longer any origin


@pytest.mark.parametrize(
    "bad",
    ["https://dbc-dp-1.example.com/path", "two words", "ftp://x.example.com", "user@x.example.com", "x..example.com"],
)
def test_a_bad_extra_origin_is_one_line_naming_the_variable(bad):
    with pytest.raises(ConfigurationError, match=r"^INVENTORY_WS_ORIGINS must be comma-separated hosts") as caught:
        notebook.driver_context({"INVENTORY_WS_ORIGINS": bad}, conf=SPARK_CONF.get)
    assert "\n" not in str(caught.value)


def test_the_origins_match_as_bokeh_checks_them():
    from bokeh.server.util import check_allowlist

    origins = notebook.driver_context(
        {"INVENTORY_WS_ORIGINS": "*.cloud.databricks.com"}, conf=SPARK_CONF.get
    ).websocket_origins
    assert check_allowlist("dbc-dp-9876543210.cloud.databricks.com", origins)
    assert check_allowlist("adb-9876543210.12.azuredatabricks.net", origins)
    assert not check_allowlist("evil.example.com", origins)
