"""The forged-session-token attack on the app deployed as a Databricks App, end to end (docs/security.md).

The app is started the way ``app.yaml`` starts it — its ``panel serve`` command and options, ``DATABRICKS_APP_NAME``
set, its ``env`` entries, the secret resources resolved to test values — on a SQLite file with the sample items
(identity does not depend on the database). The Apps proxy is played by the client: each request carries the
``X-Forwarded-Email`` of the person signed in, a viewer. That viewer then crafts an unsigned Bokeh session token
whose payload claims the headers of an admin (``bokeh.util.token``, as anyone can) and

- opens ``/app?bokeh-token=<forged token>`` in Chromium and, if the app appears, deletes an item through it;
- opens the app's websocket with that token directly and pulls the document it is given.

Both are refused: no page, no session, the item is still there, and no audit row names the admin. Last, the viewer
presents a genuine token — copied from the admin's own page — over their own websocket: refused too, where it would
otherwise have joined the admin's session.
"""

from __future__ import annotations

import os
import secrets
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import expect

import inventory_panel as ip
from tests.support.bokeh_session import page_token, pull_document, session_token
from tests.support.postgres import free_port
from tests.ui.conftest import VIEWPORT, AppServer, seed_sample

pytestmark = pytest.mark.ui

ROOT = Path(__file__).resolve().parents[2]
APP_YAML = yaml.safe_load((ROOT / "app.yaml").read_text(encoding="utf-8"))
ADMIN = "boss@example.com"
VIEWER = "vera@example.com"
TARGET = "Laptop Dell XPS 13"  # a sample item the forged admin tries to delete
# Values Databricks would put in for the secret resources; the database comes from INVENTORY_DATABASE_URL instead.
RESOURCES = {"cookie-secret": secrets.token_hex(32), "session-secret": secrets.token_hex(32)}


def proxied(email: str) -> dict[str, str]:
    """The identity headers the Databricks Apps proxy adds to every request of a signed-in person."""
    return {
        "X-Forwarded-Email": email,
        "X-Forwarded-Preferred-Username": email.split("@")[0],
        "X-Forwarded-User": f"{abs(hash(email)) % 10_000}@1234567890123456",
    }


def forged_token(email: str) -> str:
    """An unsigned session token for a new session whose payload claims ``email``'s proxy headers."""
    return session_token({"Host": "inventory.aws.databricksapps.com", **proxied(email)})


class DeployedApp(AppServer):
    """``app.yaml``'s command as a subprocess on 127.0.0.1, with ``app.yaml``'s env and an admin ``Inventory``."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/app"
        self.db_url = f"sqlite:///{workdir / 'inventory.db'}"
        self.log_path = workdir / "server.log"
        # Seeded by someone else, so any audit row in the admin's name comes from the attack.
        self.inventory = ip.connect(self.db_url, user="owner@example.com", role="admin")
        seed_sample(self.inventory)
        command = [part.replace("$DATABRICKS_APP_PORT", str(self.port)) for part in APP_YAML["command"]]
        assert command[:3] == ["panel", "serve", "app.py"]
        command[command.index("--address") + 1] = "127.0.0.1"
        command += ["--allow-websocket-origin", f"127.0.0.1:{self.port}"]  # the test's own origin
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("DATABRICKS_", "BOKEH_", "PANEL_", "PG", "INVENTORY_", "POSTGRES_"))
        }
        for entry in APP_YAML["env"]:
            if "value" in entry:
                env[entry["name"]] = entry["value"]
            elif entry["valueFrom"] in RESOURCES:
                env[entry["name"]] = RESOURCES[entry["valueFrom"]]
        env.update(
            DATABRICKS_APP_NAME="lakebase-inventory",
            DATABRICKS_APP_PORT=str(self.port),
            INVENTORY_DATABASE_URL=self.db_url,
            INVENTORY_ADMINS=ADMIN,
            PYTHONUNBUFFERED="1",
        )
        # Its log tail is added to a failing test's report (tests/ui/conftest.py); the proxy always names someone.
        self._start([sys.executable, "-m", *command], env, ready_headers=proxied(VIEWER))

    def target_exists(self) -> bool:
        return self.inventory.query(search=TARGET).total == 1

    def actors(self) -> set[str]:
        return set(self.inventory.audit_log(limit=1000).rows["actor"])


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeployedApp]:
    server = DeployedApp(tmp_path_factory.mktemp("deployed"))
    yield server
    log = server.log()
    server.close()
    assert "Error running application handler" not in log, log  # app.py must refuse cleanly, never raise


@pytest.fixture
def viewer_page(browser: Any) -> Iterator[Any]:
    """Chromium behind the (simulated) Apps proxy, signed in as the viewer."""
    context = browser.new_context(viewport=VIEWPORT, extra_http_headers=proxied(VIEWER))
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def test_the_proxied_viewer_is_a_viewer(deployed, viewer_page):
    """The set-up is sound: through the simulated proxy the viewer gets the app, read-only, under their name."""
    viewer_page.goto(deployed.url)
    viewer_page.locator('[data-card="items"]').wait_for()
    expect(viewer_page.locator(".who .name")).to_have_text(VIEWER)
    expect(viewer_page.locator(".who .pill")).to_have_text("viewer")


def test_a_forged_token_in_the_page_url_is_refused(deployed, viewer_page):
    response = viewer_page.goto(f"{deployed.url}?bokeh-token={forged_token(ADMIN)}")
    assert response is not None
    if response.status == 200:  # the app let the forged token in: carry the attack through, as an attacker would
        viewer_page.locator('[data-card="items"]').wait_for()
        viewer_page.locator(".tabulator-row", has_text=TARGET).locator(
            '.tabulator-cell[tabulator-field="open"]'
        ).click()
        viewer_page.get_by_role("button", name="Delete item…").click()
        viewer_page.get_by_role("button", name="Delete", exact=True).click()
        viewer_page.locator(".notyf__message").first.wait_for()
    assert deployed.target_exists(), "the viewer deleted an item with a forged admin token"
    assert ADMIN not in deployed.actors(), "an audit row names the admin the viewer impersonated"
    assert response.status == 403
    assert ADMIN not in viewer_page.content()


def test_a_forged_token_on_the_websocket_is_refused(deployed):
    ws_url = deployed.url.replace("http://", "ws://") + "/ws"
    # The same client with a token the server issued itself is let in (so a refusal below means the forgery).
    with urllib.request.urlopen(urllib.request.Request(deployed.url, headers=proxied(VIEWER)), timeout=60) as page:
        html = page.read().decode("utf-8")
    assert VIEWER in (pull_document(ws_url, page_token(html), proxied(VIEWER)) or "")

    document = pull_document(ws_url, forged_token(ADMIN), proxied(VIEWER))
    assert document is None or ADMIN not in document, "the forged token opened a session as the admin"
    assert document is None, "the forged token opened a session"
    assert deployed.target_exists()


def test_a_token_from_the_admins_page_does_not_let_the_viewer_into_the_admins_session(deployed):
    ws_url = deployed.url.replace("http://", "ws://") + "/ws"
    with urllib.request.urlopen(urllib.request.Request(deployed.url, headers=proxied(ADMIN)), timeout=60) as page:
        admins_token = page_token(page.read().decode("utf-8"))
    assert pull_document(ws_url, admins_token, proxied(VIEWER)) is None
    assert ADMIN in (pull_document(ws_url, admins_token, proxied(ADMIN)) or "")  # the admin's own websocket works
