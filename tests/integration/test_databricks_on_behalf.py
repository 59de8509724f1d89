"""On behalf of the user: with ``INVENTORY_ON_BEHALF_OF_USER`` on, a Databricks App asks the workspace about the
dashboard with the OAuth token the Apps proxy forwarded for the person (``X-Forwarded-Access-Token``), taken from
the request that opened the session — never from the session token's payload. Without the header, with the option
off (the default) or outside an App, the app's service principal asks.

Each case is a real Panel server session (signed session ids, as in an App) whose app resolves the token as the
Dashboard view does and asks the fake workspace through the real databricks-sdk; the fake records which bearer token
each call carried.
"""

from __future__ import annotations

import secrets
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import panel as pn
import pytest

from inventory_panel.databricks.dashboard import published_status
from inventory_panel.databricks.identity import session_access_token
from inventory_panel.errors import ConfigurationError
from inventory_panel.settings import load_settings
from tests.support.bokeh_session import session_token
from tests.support.fake_workspace import FakeWorkspace, isolate_environment
from tests.support.panel_server import serve_locally

SECRET = secrets.token_hex(32)
DASHBOARD_ID = "01ef0123456789abcdef0123456789ab"
FORWARDED = {"X-Forwarded-Email": "ana@example.com", "X-Forwarded-Preferred-Username": "ana"}
PUBLISHED_PATH = f"/api/2.0/lakeview/dashboards/{DASHBOARD_ID}/published"


@pytest.fixture
def workspace(monkeypatch) -> Iterator[FakeWorkspace]:
    isolate_environment(monkeypatch)
    fake = FakeWorkspace().start()
    yield fake
    fake.close()


@pytest.fixture
def app_env(workspace, monkeypatch):
    """The environment of a deployed App with this workspace; ``app_env(**extra)`` sets more."""

    def set_env(**extra: str) -> dict[str, str]:
        env = workspace.env(
            DATABRICKS_APP_NAME="lakebase-inventory",
            BOKEH_SECRET_KEY=SECRET,
            DATABRICKS_WORKSPACE_ID=workspace.workspace_id,
            DASHBOARD_ID=DASHBOARD_ID,
            **extra,
        )
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return env

    return set_env


@pytest.fixture
def serve() -> Iterator:
    servers = []

    def start(app) -> str:
        server, url = serve_locally(app, sign_sessions=True, secret_key=SECRET.encode())
        servers.append(server)
        return url

    yield start
    for server in servers:
        server.stop()


def checking_app(env: dict[str, str], seen: list[Any]):
    """A Panel app that, per session, resolves the user token and checks the dashboard, as the Dashboard view does."""
    settings = load_settings(env)

    def app():
        token = session_access_token(settings)
        seen.append((token, published_status(settings, token)))
        return pn.pane.Markdown("checked")

    return app


def open_session(url: str, headers: dict[str, str]) -> None:
    request = urllib.request.Request(url, headers=headers)
    for _ in range(100):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                assert response.status == 200
                return
        except urllib.error.HTTPError:
            raise
        except OSError:
            threading.Event().wait(0.05)
    raise AssertionError(f"{url} did not answer")


def bearer_of_the_check(workspace: FakeWorkspace) -> str:
    (call,) = workspace.requests("GET", PUBLISHED_PATH)
    return (call.authorization or "").removeprefix("Bearer ")


def user_token(workspace: FakeWorkspace) -> str:
    """A token of the person (ana@example.com), as the proxy forwards it; the fake accepts it as hers."""
    return workspace.pat


def test_the_check_uses_the_forwarded_user_token(workspace, app_env, serve):
    env = app_env(INVENTORY_ON_BEHALF_OF_USER="true")
    seen: list[Any] = []
    open_session(serve(checking_app(env, seen)), {**FORWARDED, "X-Forwarded-Access-Token": user_token(workspace)})
    assert [token for token, _status in seen] == [user_token(workspace)]
    assert bearer_of_the_check(workspace) == user_token(workspace)
    assert not workspace.requests(path="/oidc/v1/token")  # the service principal never logged in


def test_without_the_header_the_service_principal_checks(workspace, app_env, serve):
    env = app_env(INVENTORY_ON_BEHALF_OF_USER="true")
    seen: list[Any] = []
    open_session(serve(checking_app(env, seen)), FORWARDED)
    assert [token for token, _status in seen] == [None]
    assert workspace.requests("POST", "/oidc/v1/token")  # OAuth M2M as the app's service principal
    assert bearer_of_the_check(workspace) == workspace.oauth_token.value


def test_off_by_default_the_header_is_not_used(workspace, app_env, serve):
    env = app_env()
    assert load_settings(env).on_behalf_of_user is False
    seen: list[Any] = []
    open_session(serve(checking_app(env, seen)), {**FORWARDED, "X-Forwarded-Access-Token": user_token(workspace)})
    assert [token for token, _status in seen] == [None]
    assert bearer_of_the_check(workspace) == workspace.oauth_token.value


def test_outside_an_app_nobody_s_header_is_a_token(workspace, app_env, serve, monkeypatch):
    # Anywhere but behind the Apps proxy, anybody can send the header.
    env = app_env(INVENTORY_ON_BEHALF_OF_USER="true")
    del env["DATABRICKS_APP_NAME"]
    monkeypatch.delenv("DATABRICKS_APP_NAME")
    seen: list[Any] = []
    open_session(serve(checking_app(env, seen)), {**FORWARDED, "X-Forwarded-Access-Token": user_token(workspace)})
    assert [token for token, _status in seen] == [None]
    assert bearer_of_the_check(workspace) == workspace.oauth_token.value


def test_a_token_in_the_session_payload_is_not_the_request_s(workspace, app_env, serve):
    """A session token whose payload claims a user token (signed: one the server issued) does not make it one."""
    env = app_env(INVENTORY_ON_BEHALF_OF_USER="true")
    seen: list[Any] = []
    url = serve(checking_app(env, seen))
    claimed = {**FORWARDED, "X-Forwarded-Access-Token": user_token(workspace)}
    open_session(f"{url}?bokeh-token={urllib.parse.quote(session_token(claimed, SECRET))}", FORWARDED)
    assert [token for token, _status in seen] == [None]
    assert bearer_of_the_check(workspace) == workspace.oauth_token.value


def test_the_user_token_is_refused_on_its_own_terms(workspace, app_env):
    # A token the workspace does not accept is reported as the person's, not silently replaced by the app's.
    settings = load_settings(app_env(INVENTORY_ON_BEHALF_OF_USER="true"))
    workspace.failing[PUBLISHED_PATH] = 403
    status = published_status(settings, "some-user-token")
    assert status.state == "unknown" and "with your own Databricks permissions" in status.message
    assert bearer_of_the_check(workspace) == "some-user-token"
    assert not workspace.requests(path="/oidc/v1/token")


@pytest.mark.parametrize(
    ("raw", "expected"), [("", False), ("false", False), ("0", False), ("TRUE", True), ("yes", True), ("1", True)]
)
def test_the_option_reads_true_or_false(raw, expected):
    assert load_settings({"INVENTORY_ON_BEHALF_OF_USER": raw}).on_behalf_of_user is expected


def test_a_bad_value_of_the_option_is_one_line():
    with pytest.raises(ConfigurationError, match=r"^INVENTORY_ON_BEHALF_OF_USER must be true or false, got 'maybe'$"):
        load_settings({"INVENTORY_ON_BEHALF_OF_USER": "maybe"})


def test_the_person_s_own_rights_decide_what_the_check_says(workspace, app_env, serve):
    """Against the permission-aware fake: the person's token sees what they may see, the app's what it may."""
    workspace.admins.clear()
    workspace.dashboards[DASHBOARD_ID] = {"dashboard_id": DASHBOARD_ID, "display_name": "Inventory"}
    workspace.published[DASHBOARD_ID] = {"display_name": "Inventory", "embed_credentials": True}
    person = workspace.current_user  # whose token user_token() is
    env = app_env(INVENTORY_ON_BEHALF_OF_USER="true")
    seen: list[Any] = []
    url = serve(checking_app(env, seen))
    with_token = {**FORWARDED, "X-Forwarded-Access-Token": user_token(workspace)}

    workspace.grant("dashboards", DASHBOARD_ID, "user_name", person, "CAN_READ")  # shared with her, not the app
    open_session(url, with_token)
    open_session(url, FORWARDED)  # no user token: the app's service principal asks
    workspace.revoke("dashboards", DASHBOARD_ID, person)
    workspace.grant("dashboards", DASHBOARD_ID, "service_principal_name", workspace.client_id, "CAN_READ")
    open_session(url, with_token)  # shared with the app only: she cannot see it, and the app does not vouch
    open_session(url, FORWARDED)

    assert [(token is not None, status.state) for token, status in seen] == [
        (True, "published"),
        (False, "unknown"),
        (True, "unknown"),
        (False, "published"),
    ]
    assert "with your own Databricks permissions" in seen[2][1].message
