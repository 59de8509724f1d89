"""Showing the app in a notebook: Jupyter, Databricks with ipywidgets, or served on the Databricks driver.

Panel renders natively in Jupyter. A Databricks notebook does not load Panel's own comms, so there ``show`` picks,
automatically:

- ``"ipywidgets"`` — Panel's ipywidgets comms through jupyter_bokeh (``pn.extension(comms="ipywidgets")``), when
  jupyter_bokeh and ipywidgets are importable;
- ``"driver-proxy"`` — otherwise the app is served by a Panel server on the driver, in a background thread, and the
  cell shows a link through the driver proxy, ``{workspace}/driver-proxy/o/{org}/{cluster}/{port}/``. The proxy strips
  that prefix before forwarding, so the server runs at ``/``; Panel serves its resources with relative URLs and
  bokehjs derives the websocket URL from the page location, so the page and its websocket both go through the proxy.
  The websocket origins allowed are the workspace's host plus ``INVENTORY_WS_ORIGINS`` (comma-separated hosts or
  URLs, ``*`` wildcards allowed): the browser may reach the driver proxy on another host than the workspace, e.g.
  ``dbc-dp-<org id>.cloud.databricks.com``, and its websocket then comes from that origin.

The org (workspace) ID, cluster ID and workspace URL come from ``DATABRICKS_WORKSPACE_ID`` / ``DATABRICKS_CLUSTER_ID``
/ ``DATABRICKS_HOST`` when set, else from the Spark conf of the notebook's session
(``spark.databricks.clusterUsageTags.clusterOwnerOrgId`` / ``…clusterId`` / ``spark.databricks.workspaceUrl``).
"""

from __future__ import annotations

import importlib.util
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any, Literal
from urllib.parse import urlsplit

from ..errors import ConfigurationError
from ..settings import websocket_origins
from .dashboard import workspace_url
from .identity import on_databricks_runtime

Mode = Literal["inline", "ipywidgets", "driver-proxy"]
MODES: tuple[str, ...] = ("inline", "ipywidgets", "driver-proxy")
SPARK_ORG_ID = "spark.databricks.clusterUsageTags.clusterOwnerOrgId"
SPARK_CLUSTER_ID = "spark.databricks.clusterUsageTags.clusterId"
SPARK_WORKSPACE_URL = "spark.databricks.workspaceUrl"
# The driver proxy refuses some ports (8787 and others used by Databricks services); this range is known to pass.
PORT_RANGE = range(8050, 8100)


def ipywidgets_available() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in ("jupyter_bokeh", "ipywidgets"))


def choose_mode(env: Mapping[str, str] | None = None, *, ipywidgets_ok: bool | None = None) -> Mode:
    """``inline`` off Databricks; on Databricks ``ipywidgets`` when jupyter_bokeh is there, else ``driver-proxy``."""
    if not on_databricks_runtime(env):
        return "inline"
    if ipywidgets_ok is None:
        ipywidgets_ok = ipywidgets_available()
    return "ipywidgets" if ipywidgets_ok else "driver-proxy"


def _spark_conf(key: str) -> str | None:
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    session = SparkSession.getActiveSession()
    if session is None:
        return None
    try:
        return session.conf.get(key, None) or None
    except Exception:  # noqa: BLE001 - Spark Connect refuses some keys; then the value is simply unknown
        return None


@dataclass(frozen=True)
class DriverContext:
    """Where the driver proxy lives: workspace (org) ID, cluster ID and the workspace URL the browser uses."""

    org_id: str
    cluster_id: str
    workspace: str | None
    extra_origins: tuple[str, ...] = ()  # INVENTORY_WS_ORIGINS: where else the browser reaches the driver proxy

    def proxy_path(self, port: int) -> str:
        return f"/driver-proxy/o/{self.org_id}/{self.cluster_id}/{port}/"

    def proxy_url(self, port: int) -> str:
        return f"{self.workspace or ''}{self.proxy_path(port)}"

    @property
    def websocket_origins(self) -> list[str]:
        """The origins Bokeh accepts (host[:port]): the workspace's and ``extra_origins``; any when neither is known."""
        origins = [urlsplit(self.workspace).netloc] if self.workspace else []
        origins += [o for o in self.extra_origins if o not in origins]
        return origins or ["*"]


def driver_context(
    env: Mapping[str, str] | None = None,
    *,
    conf: Callable[[str], str | None] = _spark_conf,
    org_id: str | None = None,
    cluster_id: str | None = None,
) -> DriverContext:
    """Find the org, cluster and workspace URL (arguments, then environment, then Spark conf), and the extra
    websocket origins (``INVENTORY_WS_ORIGINS``)."""
    env = os.environ if env is None else env
    org = org_id or env.get("DATABRICKS_WORKSPACE_ID", "").strip() or conf(SPARK_ORG_ID)
    cluster = cluster_id or env.get("DATABRICKS_CLUSTER_ID", "").strip() or conf(SPARK_CLUSTER_ID)
    if not org or not cluster:
        raise ConfigurationError(
            "Cannot find this cluster's driver proxy (no workspace/cluster ID): set DATABRICKS_WORKSPACE_ID and "
            "DATABRICKS_CLUSTER_ID, or run on a classic Databricks cluster (serverless has no driver proxy)"
        )
    workspace = workspace_url(env.get("DATABRICKS_HOST") or conf(SPARK_WORKSPACE_URL))
    return DriverContext(
        org_id=str(org), cluster_id=str(cluster), workspace=workspace, extra_origins=websocket_origins(env)
    )


def _port_is_free(address: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((address, port))
        except OSError:
            return False
        return True


def free_port(address: str = "0.0.0.0", candidates: range = PORT_RANGE) -> int:
    for port in candidates:
        if _port_is_free(address, port):
            return port
    raise ConfigurationError(f"No free port between {candidates.start} and {candidates.stop - 1} on the driver")


def _wait_listening(address: str, port: int, timeout: float) -> None:
    host = "127.0.0.1" if address in ("0.0.0.0", "") else address
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Panel server did not start on port {port}") from None
            time.sleep(0.05)


@dataclass
class DriverProxyApp:
    """A Panel server on the driver; displays as a link through the driver proxy. ``stop()`` ends it."""

    url: str
    port: int
    server: Any = field(repr=False)

    def stop(self) -> None:
        self.server.stop()

    def _repr_html_(self) -> str:
        href = escape(self.url, quote=True)
        return (
            f'<p>The inventory app is running on the driver: <a href="{href}" target="_blank" '
            f'rel="noopener">open it</a> <code>{escape(self.url)}</code></p>'
        )


def serve_on_driver(
    app: Any,
    *,
    port: int | None = None,
    address: str = "0.0.0.0",
    context: DriverContext | None = None,
    title: str = "Lakebase Inventory",
    timeout: float = 30.0,
) -> DriverProxyApp:
    """Serve ``app`` (a Panel object or a function returning one) on the driver, behind the driver proxy."""
    import panel as pn

    context = context or driver_context()
    port = port or free_port(address)
    server = pn.serve(
        app,
        port=port,
        address=address,
        websocket_origin=context.websocket_origins,
        show=False,
        threaded=True,
        title=title,
        verbose=False,
    )
    _wait_listening(address, port, timeout)
    return DriverProxyApp(url=context.proxy_url(port), port=port, server=server)


def _as_viewable(obj: Any, *, per_session: bool = False) -> Any:
    """An ``Inventory`` becomes an ``InventoryApp`` (served: a new one for every browser session)."""
    from ..inventory import Inventory

    if not isinstance(obj, Inventory):
        return obj
    from ..ui.app import InventoryApp

    if per_session:
        return lambda: InventoryApp(inventory=obj)
    return InventoryApp(inventory=obj)


def show(
    obj: Any,
    *,
    mode: Mode | None = None,
    port: int | None = None,
    address: str = "0.0.0.0",
    env: Mapping[str, str] | None = None,
) -> Any:
    """Display ``obj`` (an ``InventoryApp``, any Panel object, or an ``Inventory``) in this notebook.

    Returns what the cell should show: the Panel object (Jupyter), an ipywidget (Databricks with jupyter_bokeh) or a
    ``DriverProxyApp`` link (Databricks without it). ``mode`` overrides the automatic choice.
    """
    chosen = mode or choose_mode(env)
    if chosen not in MODES:
        raise ConfigurationError(f"mode must be one of {', '.join(MODES)}; got {chosen!r}")
    if chosen == "driver-proxy":
        return serve_on_driver(
            _as_viewable(obj, per_session=True), port=port, address=address, context=driver_context(env)
        )
    from ..ui.components import ensure_extensions

    if chosen == "inline":
        ensure_extensions()  # before Jupyter renders it: the tables, drop area and dialogs need their JS
        return _as_viewable(obj)
    from .widget_view import probed_widget

    ensure_extensions(comms="ipywidgets")  # first: building the view asks which comms are in use
    return probed_widget(_as_viewable(obj))
