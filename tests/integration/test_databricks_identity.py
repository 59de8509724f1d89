"""Who the user is: Databricks Apps headers (only as an App), Panel auth, a Databricks notebook, local.

The header cases go through a real Panel server: the identity is resolved from ``pn.state.headers`` of the session,
exactly as the app does per session.
"""

from __future__ import annotations

import threading
import urllib.request
from collections.abc import Iterator

import panel as pn
import pytest
from tornado.httputil import HTTPHeaders

from inventory_panel.auth import User
from inventory_panel.databricks.identity import forwarded_identity, resolve_user
from inventory_panel.settings import load_settings
from tests.support.fake_workspace import FakeWorkspace, isolate_environment
from tests.support.postgres import free_port

APP = {"DATABRICKS_APP_NAME": "inventory"}
FORWARDED = {"X-Forwarded-Email": "ana@example.com", "X-Forwarded-Preferred-Username": "ana",
             "X-Forwarded-User": "4242@1234567890123456"}


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
        "root@example.com", "admin", "panel-auth")
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


def session_identity_app(settings, users: list[User]):
    """A Panel app that records the user resolved for each session, as the inventory app does."""

    def app():
        users.append(resolve_user(settings, headers=pn.state.headers, panel_user=pn.state.user))
        return pn.pane.Markdown(users[-1].name)

    return app


@pytest.fixture
def serve() -> Iterator:
    servers = []

    def start(app) -> str:
        port = free_port()
        servers.append(pn.serve(app, port=port, address="127.0.0.1", show=False, threaded=True, verbose=False))
        return f"http://127.0.0.1:{port}/"

    yield start
    for server in servers:
        server.stop()


def _open_session(url: str, headers: dict[str, str]) -> None:
    request = urllib.request.Request(url, headers=headers)
    for _ in range(100):
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
                return
        except OSError:
            threading.Event().wait(0.05)
    raise AssertionError(f"{url} did not answer")


@pytest.mark.parametrize(("env", "expected"), [
    (APP, User("ana@example.com", "viewer", "databricks-app")),
    ({"INVENTORY_USER": "dev@example.com"}, User("dev@example.com", "admin", "local")),
])
def test_identity_from_the_headers_of_a_real_panel_session(env, expected, serve, clean_env):
    users: list[User] = []
    _open_session(serve(session_identity_app(load_settings(env), users)), FORWARDED)
    assert users == [expected]
