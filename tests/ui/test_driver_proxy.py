"""The notebook's driver-proxy path, in real Chromium, through a reverse proxy that behaves like Databricks'.

Databricks forwards ``/driver-proxy/o/{org}/{cluster}/{port}/<rest>`` (HTTP and websocket) to
``localhost:{port}/<rest>`` on the driver, stripping the prefix. ``DriverProxy`` below does the same on
127.0.0.1. The app is started exactly as a notebook on a cluster without jupyter_bokeh would (``notebook.show``
in ``driver-proxy`` mode) and the page is loaded through the proxy: it must render, open its websocket through the
proxy and round-trip an interaction (a sort done in the database).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator

import panel as pn
import pytest
from playwright.sync_api import expect
from tornado import httpclient, httpserver, web, websocket
from tornado.ioloop import IOLoop

import inventory_panel as ip
from inventory_panel.databricks import notebook
from tests.support.postgres import free_port

pytestmark = pytest.mark.ui

ORG, CLUSTER = "1234567890123456", "0101-123456-abcdefgh"
PREFIX = re.compile(r"^/driver-proxy/o/[^/]+/[^/]+/(\d+)(/.*)?$")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "content-encoding",
    "proxy-authorization",
    "te",
    "trailer",
    "host",
}


def _upstream(path: str) -> tuple[int, str]:
    match = PREFIX.match(path)
    if not match:
        raise web.HTTPError(404)
    return int(match.group(1)), match.group(2) or "/"


class ProxyHTTP(web.RequestHandler):
    """Forwards one HTTP request to the driver port, prefix stripped, like the driver proxy."""

    SUPPORTED_METHODS = ("GET", "POST", "HEAD")

    async def _forward(self) -> None:
        port, rest = _upstream(self.request.path)
        url = f"http://127.0.0.1:{port}{rest}" + (f"?{self.request.query}" if self.request.query else "")
        headers = {k: v for k, v in self.request.headers.get_all() if k.lower() not in HOP_BY_HOP}
        self.application.settings["log"].append(("http", self.request.path, rest))
        response = await httpclient.AsyncHTTPClient().fetch(
            url,
            method=self.request.method,
            headers=headers,
            follow_redirects=False,
            raise_error=False,
            body=self.request.body if self.request.method == "POST" else None,
            decompress_response=True,
        )
        self.set_status(response.code)
        for key, value in response.headers.get_all():
            if key.lower() not in HOP_BY_HOP:
                self.add_header(key, value)
        if response.body:
            self.write(response.body)

    get = post = head = _forward


class ProxyWebSocket(websocket.WebSocketHandler):
    """Pumps websocket frames both ways between the browser and the driver port."""

    upstream: websocket.WebSocketClientConnection | None = None

    def check_origin(self, origin: str) -> bool:
        return True  # the real proxy authenticates the workspace user; the origin check is the app's

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return subprotocols[0] if subprotocols else None  # bokeh sends ["bokeh", <session token>]

    async def open(self, *_args: str) -> None:
        port, rest = _upstream(self.request.path)
        self.application.settings["log"].append(("ws", self.request.path, rest))
        protocols = [p.strip() for p in self.request.headers.get("Sec-WebSocket-Protocol", "").split(",") if p]
        request = httpclient.HTTPRequest(
            f"ws://127.0.0.1:{port}{rest}" + (f"?{self.request.query}" if self.request.query else ""),
            headers={"Origin": self.request.headers.get("Origin", "")},
        )
        self.upstream = await websocket.websocket_connect(request, subprotocols=protocols)
        IOLoop.current().add_callback(self._pump_upstream)

    async def _pump_upstream(self) -> None:
        assert self.upstream is not None
        while True:
            message = await self.upstream.read_message()
            if message is None:
                self.close()
                return
            await self.write_message(message, binary=isinstance(message, bytes))

    async def on_message(self, message: str | bytes) -> None:
        if self.upstream is not None:
            await self.upstream.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        if self.upstream is not None:
            self.upstream.close()


class DriverProxy:
    """The reverse proxy on 127.0.0.1, on its own IO loop thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self.log: list[tuple[str, str, str]] = []
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(asyncio.new_event_loop())
            self.loop = IOLoop.current()
            app = web.Application(
                [(r"/driver-proxy/.*/ws", ProxyWebSocket), (r"/driver-proxy/.*", ProxyHTTP)], log=self.log
            )
            self.server = httpserver.HTTPServer(app)
            self.server.listen(self.port, "127.0.0.1")
            ready.set()
            self.loop.start()

        self.thread = threading.Thread(target=run, name="driver-proxy", daemon=True)
        self.thread.start()
        ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.loop.add_callback(self.server.stop)
        self.loop.add_callback(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def proxy() -> Iterator[DriverProxy]:
    server = DriverProxy()
    yield server
    server.close()


@pytest.fixture
def on_a_cluster(proxy, monkeypatch) -> None:
    """A notebook on a classic cluster; the browser reaches its workspace (and driver proxy) at ``proxy.url``."""
    for name in ("DATABRICKS_CLIENT_ID", "DATABRICKS_CLIENT_SECRET", "DATABRICKS_TOKEN", "DATABRICKS_APP_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABRICKS_RUNTIME_VERSION", "15.4")
    monkeypatch.setenv("DATABRICKS_WORKSPACE_ID", ORG)
    monkeypatch.setenv("DATABRICKS_CLUSTER_ID", CLUSTER)
    monkeypatch.setenv("DATABRICKS_HOST", proxy.url)
    proxy.log.clear()


def _assert_everything_went_through_the_proxy(proxy: DriverProxy, port: int) -> None:
    kinds = {kind for kind, _path, _rest in proxy.log}
    assert kinds == {"http", "ws"}, proxy.log  # the page, its resources and its websocket
    assert all(path.startswith(f"/driver-proxy/o/{ORG}/{CLUSTER}/{port}/") for _kind, path, _rest in proxy.log)


def test_the_inventory_app_from_a_notebook_works_through_the_driver_proxy(proxy, on_a_cluster, page, tmp_path):
    inventory = ip.connect(f"sqlite:///{tmp_path / 'inventory.db'}", user="nina@example.com", role="admin")
    inventory.add(
        {
            "item_name": "Torque Wrench",
            "category": "Tools",
            "quantity": 2,
            "unit_price": "89.00",
            "minimum_stock": 5,
            "supplier": "Acme Tools",
            "sku": "TW-1",
        }
    )
    inventory.add(
        {
            "item_name": "Safety Gloves",
            "category": "Safety",
            "quantity": 400,
            "unit_price": "3.20",
            "minimum_stock": 50,
            "sku": "SG-1",
        }
    )
    assert notebook.choose_mode(ipywidgets_ok=False) == "driver-proxy"
    shown = notebook.show(inventory, mode="driver-proxy", address="127.0.0.1", port=free_port())
    errors: list[str] = []
    try:
        assert shown.url == f"{proxy.url}/driver-proxy/o/{ORG}/{CLUSTER}/{shown.port}/"
        assert f'href="{shown.url}"' in shown._repr_html_()  # what the notebook cell shows
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(shown.url)
        page.locator('[data-card="items"]').wait_for()
        names = page.locator('.tabulator-row .tabulator-cell[tabulator-field="item_name"]')
        expect(names).to_have_text(["Safety Gloves", "Torque Wrench"])  # sorted by name
        # Sorting happens in the database: the click goes to the server and the new page comes back, both over
        # the websocket through the proxy.
        page.locator('.tabulator-col[tabulator-field="quantity"] .tabulator-col-title').click()
        expect(names).to_have_text(["Torque Wrench", "Safety Gloves"])
    finally:
        shown.stop()
        inventory.close()
    _assert_everything_went_through_the_proxy(proxy, shown.port)
    assert not errors, errors


def _websocket_refused(port: int, origin: str) -> bool:
    """Whether the Panel server on ``port`` refuses a websocket from ``origin`` (HTTP 403, before any session)."""

    async def connect() -> bool:
        request = httpclient.HTTPRequest(f"ws://127.0.0.1:{port}/ws", headers={"Origin": origin})
        try:
            conn = await websocket.websocket_connect(request, subprotocols=["bokeh", "not-a-token"])
        except httpclient.HTTPClientError as exc:
            return exc.code == 403
        conn.close()
        return False

    result: list[bool] = []  # in a thread of its own: Playwright's sync API runs an event loop in this one
    worker = threading.Thread(target=lambda: result.append(asyncio.run(connect())))
    worker.start()
    worker.join(30)
    return result[0]


def test_a_driver_proxy_on_another_host_needs_inventory_ws_origins(proxy, on_a_cluster, page, tmp_path, monkeypatch):
    """The browser reaches the driver proxy on a host that is not the workspace's (a ``dbc-dp-…`` host).

    Here the workspace is ``https://dbc-1234….cloud.databricks.com`` while the page and its websocket come from the
    proxy at 127.0.0.1: refused until that origin is listed in ``INVENTORY_WS_ORIGINS``, then the app works.
    """
    monkeypatch.setenv("DATABRICKS_HOST", "https://dbc-1234567890123456.cloud.databricks.com")
    proxy_origin = f"http://127.0.0.1:{proxy.port}"
    monkeypatch.delenv("INVENTORY_WS_ORIGINS", raising=False)
    refused = notebook.show(pn.pane.Markdown("hello"), mode="driver-proxy", address="127.0.0.1", port=free_port())
    try:
        assert _websocket_refused(refused.port, proxy_origin)
    finally:
        refused.stop()

    monkeypatch.setenv("INVENTORY_WS_ORIGINS", proxy_origin)
    inventory = ip.connect(f"sqlite:///{tmp_path / 'inventory.db'}", user="nina@example.com", role="admin")
    inventory.add(
        {"item_name": "Torque Wrench", "category": "Tools", "quantity": 2, "unit_price": "89.00", "sku": "TW-1"}
    )
    inventory.add(
        {"item_name": "Safety Gloves", "category": "Safety", "quantity": 400, "unit_price": "3.20", "sku": "SG-1"}
    )
    shown = notebook.show(inventory, mode="driver-proxy", address="127.0.0.1", port=free_port())
    errors: list[str] = []
    try:
        assert shown.url.startswith("https://dbc-1234567890123456.cloud.databricks.com/driver-proxy/")
        assert not _websocket_refused(shown.port, proxy_origin)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{proxy.url}/driver-proxy/o/{ORG}/{CLUSTER}/{shown.port}/")
        names = page.locator('.tabulator-row .tabulator-cell[tabulator-field="item_name"]')
        expect(names).to_have_text(["Safety Gloves", "Torque Wrench"])
        page.locator('.tabulator-col[tabulator-field="quantity"] .tabulator-col-title').click()
        expect(names).to_have_text(["Torque Wrench", "Safety Gloves"])  # the websocket round trip works
    finally:
        shown.stop()
        inventory.close()
    _assert_everything_went_through_the_proxy(proxy, shown.port)
    assert not errors, errors
