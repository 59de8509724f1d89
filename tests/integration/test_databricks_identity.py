"""Who the user is: Databricks Apps headers (only as an App), Panel auth, a Databricks notebook, local.

The session cases go through a real Panel server and ``session_user``, exactly as the app resolves each session: in
an App the identity comes from the request the proxy forwarded (the page request or the websocket upgrade), never
from the session token's payload, and a session whose id is not signed with ``BOKEH_SECRET_KEY`` is refused. The
whole attack against the served app is tests/ui/test_forged_token.py.
"""

from __future__ import annotations

import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import panel as pn
import pytest
from tornado.httputil import HTTPHeaders

from inventory_panel.auth import User
from inventory_panel.databricks.identity import (
    forwarded_identity,
    require_signed_session,
    resolve_user,
    session_secret,
    session_user,
)
from inventory_panel.errors import ConfigurationError
from inventory_panel.settings import load_settings
from tests.support.bokeh_session import page_token, pull_document, session_token
from tests.support.fake_workspace import FakeWorkspace, isolate_environment
from tests.support.panel_server import serve_locally
from tests.support.postgres import free_port

APP = {"DATABRICKS_APP_NAME": "inventory"}
FORWARDED = {
    "X-Forwarded-Email": "ana@example.com",
    "X-Forwarded-Preferred-Username": "ana",
    "X-Forwarded-User": "4242@1234567890123456",
}
BOSS = {
    "X-Forwarded-Email": "boss@example.com",
    "X-Forwarded-Preferred-Username": "boss",
    "X-Forwarded-User": "1@1234567890123456",
}
SECRET = secrets.token_hex(32)
APP_AUTH = Path(__file__).resolve().parents[2] / "inventory_panel" / "databricks" / "app_auth.py"


@pytest.fixture
def clean_env(monkeypatch) -> pytest.MonkeyPatch:
    isolate_environment(monkeypatch)
    return monkeypatch


def test_forwarded_headers_are_the_user_only_when_running_as_a_databricks_app(clean_env):
    as_app = load_settings({**APP, "INVENTORY_EDITORS": "ana@example.com"})
    locally = load_settings({"INVENTORY_USER": "dev@example.com"})

    assert resolve_user(as_app, headers=FORWARDED) == User("ana@example.com", "editor", "databricks-app")
    # Off Databricks Apps anybody can send these headers: they are ignored.
    assert resolve_user(locally, headers=FORWARDED) == User("dev@example.com", "admin", "local")


def test_header_lookup_is_case_insensitive_and_prefers_the_email(clean_env):
    settings = load_settings(APP)
    tornado_headers = HTTPHeaders({"x-forwarded-user": "4242@1", "x-forwarded-email": "bo@example.com"})
    assert resolve_user(settings, headers=tornado_headers).name == "bo@example.com"
    assert forwarded_identity({"x-forwarded-preferred-username": ["carl"], "X-Forwarded-User": "9@1"}) == "carl"
    assert forwarded_identity({"X-Forwarded-Email": "  "}) is None


def test_an_app_request_without_identity_is_anonymous_and_never_the_local_admin(clean_env):
    settings = load_settings({**APP, "INVENTORY_USER": "dev@example.com"})
    user = resolve_user(settings, headers={"Host": "inventory-1.aws.databricksapps.com"})
    assert user == User("anonymous", "viewer", "databricks-app")


def test_panel_auth_user_when_not_behind_the_apps_proxy(clean_env):
    settings = load_settings({"INVENTORY_ADMINS": "root@example.com"})
    assert resolve_user(settings, headers=FORWARDED, panel_user="root@example.com") == User(
        "root@example.com", "admin", "panel-auth"
    )
    assert resolve_user(settings, panel_user="guest").role == "viewer"


def test_notebook_on_databricks_is_the_current_workspace_user(clean_env):
    workspace = FakeWorkspace(current_user="nina@example.com").start()
    try:
        for key, value in workspace.env(DATABRICKS_RUNTIME_VERSION="15.4").items():
            clean_env.setenv(key, value)
        user = resolve_user(load_settings({"INVENTORY_EDITORS": "nina@example.com"}), notebook=True)
        assert user == User("nina@example.com", "editor", "notebook")
        assert workspace.requests("GET", "/api/2.0/preview/scim/v2/Me")
    finally:
        workspace.close()


def test_notebook_off_databricks_or_without_a_workspace_is_the_local_user(clean_env):
    settings = load_settings({"INVENTORY_USER": "dev@example.com"})
    assert resolve_user(settings, notebook=True) == User("dev@example.com", "admin", "notebook")
    clean_env.setenv("DATABRICKS_RUNTIME_VERSION", "15.4")  # on Databricks, but no workspace answers
    clean_env.setenv("DATABRICKS_HOST", f"http://127.0.0.1:{free_port()}")
    clean_env.setenv("DATABRICKS_TOKEN", "dapi-x")
    assert resolve_user(settings, notebook=True, client_factory=_broken_client).name == "dev@example.com"


def _broken_client():
    raise OSError("connection refused")


def test_a_header_sent_twice_is_no_identity(clean_env):
    # The proxy sets each identity header once; a second copy was added by someone else.
    twice = HTTPHeaders()
    twice.add("X-Forwarded-Email", "boss@example.com")
    twice.add("X-Forwarded-Email", "ana@example.com")
    assert forwarded_identity(twice) is None
    assert resolve_user(load_settings(APP), headers=twice) == User("anonymous", "viewer", "databricks-app")


def test_in_an_app_panel_auth_cookies_do_not_count(clean_env):
    # Behind the Apps proxy a cookie-borne Panel user (e.g. "guest") is not the proxy's word.
    assert resolve_user(load_settings(APP), panel_user="root@example.com") == User(
        "anonymous", "viewer", "databricks-app"
    )


def test_an_app_needs_a_strong_session_secret(clean_env):
    with pytest.raises(ConfigurationError, match=r"^BOKEH_SECRET_KEY is not set"):
        session_secret({})
    with pytest.raises(ConfigurationError, match=r"^BOKEH_SECRET_KEY must be at least 32 characters, got 6$"):
        session_secret({"BOKEH_SECRET_KEY": "secret"})
    assert session_secret({"BOKEH_SECRET_KEY": SECRET}) == SECRET


def test_only_session_ids_signed_with_the_secret_pass(clean_env):
    from bokeh.util.token import generate_session_id

    env = {"BOKEH_SECRET_KEY": SECRET}
    require_signed_session(generate_session_id(secret_key=SECRET.encode(), signed=True), env)
    for session_id in (
        generate_session_id(signed=False),
        generate_session_id(secret_key=b"x" * 32, signed=True),
        "",
        None,
    ):
        with pytest.raises(ConfigurationError, match="session ids are not signed"):
            require_signed_session(session_id, env)


def session_identity_app(settings, users: list[User | Exception]):
    """A Panel app that records the user resolved for each session, as the inventory app does."""

    def app():
        try:
            users.append(session_user(settings))
        except ConfigurationError as exc:
            users.append(exc)
            return pn.pane.Markdown(str(exc))
        return pn.pane.Markdown(users[-1].name)

    return app


@pytest.fixture
def serve() -> Iterator:
    """``start(app, signed=False, guarded=False)``: the URL of ``app`` served in this process.

    ``signed``: signed session ids; ``guarded``: app.yaml's auth module (``inventory_panel/databricks/app_auth.py``).
    """
    servers = []

    def start(app, signed: bool = False, guarded: bool = False) -> str:
        signing = {"sign_sessions": True, "secret_key": SECRET.encode()} if signed else {}
        if guarded:  # as app.yaml's --auth-module
            from bokeh.server.auth_provider import AuthModule

            signing["auth_provider"] = AuthModule(str(APP_AUTH))
        server, url = serve_locally(app, **signing)
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.stop()


def _open_session(url: str, headers: dict[str, str], status: int = 200) -> None:
    request = urllib.request.Request(url, headers=headers)
    for _ in range(100):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == status
                return
        except urllib.error.HTTPError as exc:
            assert exc.code == status, exc
            return
        except OSError:
            threading.Event().wait(0.05)
    raise AssertionError(f"{url} did not answer")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({**APP, "BOKEH_SECRET_KEY": SECRET}, User("ana@example.com", "viewer", "databricks-app")),
        ({"INVENTORY_USER": "dev@example.com"}, User("dev@example.com", "admin", "local")),
    ],
)
def test_identity_of_a_real_panel_session(env, expected, serve, clean_env):
    for key, value in env.items():
        clean_env.setenv(key, value)
    users: list[User | Exception] = []
    _open_session(serve(session_identity_app(load_settings(env), users), signed="BOKEH_SECRET_KEY" in env), FORWARDED)
    assert users == [expected]


def test_an_app_session_is_who_the_proxy_forwarded_not_who_the_token_names(serve, clean_env):
    """A validly signed token naming the admin — one the admin was issued — used by ana over her own requests.

    The session is created by ana's page request, or by her websocket upgrade: either way it is ana.
    """
    env = {**APP, "BOKEH_SECRET_KEY": SECRET, "INVENTORY_ADMINS": "boss@example.com"}
    for key, value in env.items():
        clean_env.setenv(key, value)
    users: list[User | Exception] = []
    url = serve(session_identity_app(load_settings(env), users), signed=True)
    _open_session(f"{url}?bokeh-token={urllib.parse.quote(session_token(BOSS, SECRET))}", FORWARDED)
    document = pull_document(url.replace("http://", "ws://") + "ws", session_token(BOSS, SECRET), FORWARDED)
    assert document is not None and "ana@example.com" in document
    ana = User("ana@example.com", "viewer", "databricks-app")
    assert users == [ana, ana]


def test_an_app_session_with_an_unsigned_id_is_refused(serve, clean_env):
    """Served without ``--session-ids signed`` (or without the secret), an App gives nobody an identity."""
    env = {**APP, "BOKEH_SECRET_KEY": SECRET}
    for key, value in env.items():
        clean_env.setenv(key, value)
    users: list[User | Exception] = []
    url = serve(session_identity_app(load_settings(env), users))
    _open_session(url, FORWARDED)
    clean_env.delenv("BOKEH_SECRET_KEY")
    _open_session(url, FORWARDED)
    assert [str(u) for u in users] == [
        "session ids are not signed: a Databricks App must be served with --session-ids signed and "
        "BOKEH_SECRET_KEY set (see app.yaml)",
        "BOKEH_SECRET_KEY is not set: a Databricks App must sign its session ids with a secret "
        "(add the session-secret resource, see docs/databricks.md)",
    ]


def test_a_forged_token_is_refused_by_a_signing_server(serve, clean_env):
    for key, value in {**APP, "BOKEH_SECRET_KEY": SECRET}.items():
        clean_env.setenv(key, value)
    users: list[User | Exception] = []
    url = serve(session_identity_app(load_settings(APP), users), signed=True)
    _open_session(f"{url}?bokeh-token={session_token(BOSS)}", FORWARDED, status=403)
    assert pull_document(url.replace("http://", "ws://") + "ws", session_token(BOSS), FORWARDED) is None
    assert users == []


def _page(url: str, headers: dict[str, str]) -> str:
    """The app page for a person (waiting for the server to listen)."""
    for _ in range(100):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as response:
                return response.read().decode("utf-8")
        except urllib.error.URLError as exc:
            if not isinstance(exc.reason, ConnectionRefusedError):
                raise
            threading.Event().wait(0.05)
    raise AssertionError(f"{url} did not answer")


def test_a_token_copied_from_another_persons_page_does_not_join_their_session(serve, clean_env):
    """boss opens the app; ana presents the token from boss's page over her own proxied websocket: refused."""
    env = {**APP, "BOKEH_SECRET_KEY": SECRET, "INVENTORY_ADMINS": "boss@example.com"}
    for key, value in env.items():
        clean_env.setenv(key, value)
    users: list[User | Exception] = []
    url = serve(session_identity_app(load_settings(env), users), signed=True, guarded=True)
    ws_url = url.replace("http://", "ws://") + "ws"
    boss_token = page_token(_page(url, BOSS))
    assert users == [User("boss@example.com", "admin", "databricks-app")]

    assert pull_document(ws_url, boss_token, FORWARDED) is None  # ana with boss's token
    assert pull_document(ws_url, boss_token, {}) is None  # nobody (no identity headers) with boss's token
    assert "boss@example.com" in (pull_document(ws_url, boss_token, BOSS) or "")  # boss himself gets in
    # ana's own page and websocket work as ever
    ana_token = page_token(_page(url, FORWARDED))
    assert "ana@example.com" in (pull_document(ws_url, ana_token, FORWARDED) or "")


def test_the_auth_hook_lets_page_requests_through_and_names_the_sender(clean_env):
    from inventory_panel.databricks.identity import request_user

    assert request_user(SimpleNamespace(request=SimpleNamespace(headers=HTTPHeaders(FORWARDED)))) == "ana@example.com"
    assert request_user(SimpleNamespace(request=SimpleNamespace(headers=HTTPHeaders()))) == "anonymous"
    malformed = HTTPHeaders({**FORWARDED, "Sec-WebSocket-Protocol": "bokeh, not-a-token"})
    assert request_user(SimpleNamespace(request=SimpleNamespace(headers=malformed))) == "ana@example.com"


def test_bokeh_still_hides_the_real_request_behind_the_token_payload():
    """docs/workarounds.md, "Bokeh: the request that opened a session": fails when the workaround can go or breaks.

    ``session_context.request.headers`` are the token payload's; the real request is only the private ``_request``.
    If Bokeh starts answering ``headers`` from the real request, the workaround can go; if ``_request`` goes away,
    ``session_request_headers`` must change (until then every App user would be anonymous).
    """
    from bokeh.server.contexts import _RequestProxy
    from tornado.httputil import HTTPServerRequest, RequestStartLine

    from inventory_panel.databricks.identity import session_request_headers

    headers = HTTPHeaders({"Host": "inventory.aws.databricksapps.com", **FORWARDED})
    real = HTTPServerRequest(start_line=RequestStartLine("GET", "/app", "HTTP/1.1"), headers=headers)
    proxy = _RequestProxy(real, headers=dict(BOSS), cookies={}, arguments={})
    assert proxy.headers["X-Forwarded-Email"] == "boss@example.com"  # the payload's word
    assert proxy._request is real
    assert forwarded_identity(session_request_headers(SimpleNamespace(request=proxy))) == "ana@example.com"
