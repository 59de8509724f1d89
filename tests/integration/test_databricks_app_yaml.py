"""``app.yaml`` deploys as is: its command is one ``panel serve`` accepts, and its env is what the app reads.

It also signs session ids (the forged-token attack of docs/security.md needs unsigned ones), and an App started
without the signing secret — by app.yaml's command or by ``inventory-panel serve`` — refuses to start with one line
naming ``BOKEH_SECRET_KEY``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from bokeh.server.util import check_allowlist
from panel.command.serve import Serve

import inventory_panel.cli as cli
import inventory_panel.settings as settings_module
from inventory_panel.limits import UPLOAD_CHUNK_BYTES, WEBSOCKET_MESSAGE_BYTES
from inventory_panel.settings import load_settings
from inventory_panel.ui.upload import CHUNK_BYTES
from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
APP_YAML = yaml.safe_load((ROOT / "app.yaml").read_text(encoding="utf-8"))
DOCS = (ROOT / "docs" / "databricks.md").read_text(encoding="utf-8")
# Read by Panel itself (panel/config.py): the secret that signs its cookies; by Bokeh (bokeh/settings.py) and
# inventory_panel/databricks/identity.py: the secret that signs session ids.
PANEL_VARIABLES = {"PANEL_COOKIE_SECRET", "BOKEH_SECRET_KEY"}


def serve_args(port: str = "8000") -> argparse.Namespace:
    """The command as Databricks runs it: ``$DATABRICKS_APP_PORT`` substituted, parsed by ``panel serve``."""
    command = [part.replace("$DATABRICKS_APP_PORT", port) for part in APP_YAML["command"]]
    assert command[:2] == ["panel", "serve"]
    parser = argparse.ArgumentParser()
    Serve(parser=parser)
    return parser.parse_args(command[2:])


def variables_settings_reads() -> set[str]:
    source = Path(settings_module.__file__).read_text(encoding="utf-8")
    return set(re.findall(r'env(?:\.get\(|\[)"([A-Z_]+)"', source)) | set(
        re.findall(r'_(?:int|identifier|emails|flag)\(env, "([A-Z_]+)"', source)
    )


def test_command_serves_app_py_on_the_apps_port_on_all_interfaces():
    args = serve_args()
    assert args.files == ["app.py"]
    assert (ROOT / "app.py").is_file()
    assert args.port == 8000 and "$DATABRICKS_APP_PORT" in APP_YAML["command"]
    assert args.address == "0.0.0.0"
    assert args.use_xheaders


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("lakebase-inventory-1234567890123456.aws.databricksapps.com", True),
        ("lakebase-inventory-1234567890123456.11.azure.databricksapps.com", True),
        ("lakebase-inventory-1234567890123456.gcp.databricksapps.com:443", True),
        ("evil.example.com", False),
        ("databricksapps.com.evil.example.com", False),
        ("localhost:8000", False),
    ],
)
def test_websocket_accepts_the_apps_domain_only(origin, allowed):
    assert check_allowlist(origin, serve_args().allow_websocket_origin) is allowed


def test_websocket_messages_hold_one_upload_chunk_and_no_more_than_the_cli_allows():
    # An upload arrives in binary chunks of a fixed size, so the limit does not grow with INVENTORY_MAX_UPLOAD_MB.
    assert serve_args().websocket_max_message_size == WEBSOCKET_MESSAGE_BYTES
    assert UPLOAD_CHUNK_BYTES < WEBSOCKET_MESSAGE_BYTES <= UPLOAD_CHUNK_BYTES + 2 * 1_048_576
    assert CHUNK_BYTES == UPLOAD_CHUNK_BYTES


def test_every_env_entry_is_read_by_the_app_and_has_one_source():
    known = variables_settings_reads() | PANEL_VARIABLES
    assert {"PGENDPOINT", "POSTGRES_SCHEMA", "DASHBOARD_ID", "INVENTORY_ADMINS"} <= known  # the scan works
    assert "PANEL_COOKIE_SECRET" in Path(importlib.import_module("panel.config").__file__).read_text(encoding="utf-8")
    assert '"BOKEH_SECRET_KEY"' in Path(importlib.import_module("bokeh.settings").__file__).read_text(encoding="utf-8")
    names = [entry["name"] for entry in APP_YAML["env"]]
    assert len(names) == len(set(names))
    for entry in APP_YAML["env"]:
        assert set(entry) in ({"name", "value"}, {"name", "valueFrom"}), entry
        assert entry["name"] in known, f"{entry['name']} is not read by the app"
        if "value" in entry:
            assert isinstance(entry["value"], str), f"{entry['name']}: quote the value"


def test_no_secret_is_written_in_app_yaml_and_secrets_come_from_resources():
    names = {entry["name"] for entry in APP_YAML["env"]}
    assert not names & {"PGPASSWORD", "DATABRICKS_TOKEN", "DATABRICKS_CLIENT_SECRET", "INVENTORY_DATABASE_URL"}
    by_name = {entry["name"]: entry for entry in APP_YAML["env"]}
    assert by_name["PANEL_COOKIE_SECRET"] == {"name": "PANEL_COOKIE_SECRET", "valueFrom": "cookie-secret"}
    assert by_name["BOKEH_SECRET_KEY"] == {"name": "BOKEH_SECRET_KEY", "valueFrom": "session-secret"}
    assert by_name["PGENDPOINT"] == {"name": "PGENDPOINT", "valueFrom": "postgres"}


def test_every_value_from_resource_key_is_documented():
    for entry in APP_YAML["env"]:
        if "valueFrom" in entry:
            key = entry["valueFrom"]
            assert re.search(rf"\|\s*`{re.escape(key)}`\s*\|", DOCS), f"resource key {key} missing from the docs"
            assert f"valueFrom: {key}" in DOCS


def test_the_env_loads_into_lakebase_settings_as_databricks_would_run_it():
    # Databricks resolves valueFrom and adds the database resource's PG* variables and its own.
    env = {e["name"]: e.get("value", f"<{e.get('valueFrom')}>") for e in APP_YAML["env"]}
    env.update(
        PGENDPOINT="projects/inv/branches/main/endpoints/primary",
        PGHOST="instance.database.cloud.databricks.com",
        PGPORT="5432",
        PGDATABASE="databricks_postgres",
        PGUSER="7f1c2e3a-0b4d-4c5e-9f60-7a8b9c0d1e2f",
        PGSSLMODE="require",
        DATABRICKS_APP_NAME="lakebase-inventory",
        DATABRICKS_HOST="https://dbc-1.cloud.databricks.com",
        DATABRICKS_WORKSPACE_ID="1234567890123456",
    )
    settings = load_settings(env)
    assert settings.kind == "postgres" and settings.is_databricks_app
    assert settings.postgres is not None
    assert settings.postgres.password is None  # so the Lakebase credential provider is used
    assert settings.postgres.endpoint == "projects/inv/branches/main/endpoints/primary"
    assert settings.postgres.sslmode == "require"
    assert (settings.schema, settings.table) == ("inventory_app", "inventory_items")
    assert settings.default_role == "viewer" and settings.max_upload_mb == 16


def test_the_command_signs_session_ids_and_guards_websockets():
    args = serve_args()
    assert args.session_ids == "signed"
    assert args.auth_module == "inventory_panel/databricks/app_auth.py" and (ROOT / args.auth_module).is_file()


def _start(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABRICKS_", "BOKEH_", "INVENTORY_", "PG"))}
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**base, "DATABRICKS_APP_NAME": "lakebase-inventory", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("how", ["app.yaml", "inventory-panel serve"])
def test_an_app_without_the_session_secret_refuses_to_start(how, tmp_path):
    port = str(free_port())
    if how == "app.yaml":
        command = [sys.executable, "-m", *[p.replace("$DATABRICKS_APP_PORT", port) for p in APP_YAML["command"]]]
    else:
        command = [sys.executable, "-m", "inventory_panel.cli", "serve", "--port", port]
    done = _start(command, {"INVENTORY_DATABASE_URL": f"sqlite:///{tmp_path / 'inventory.db'}"})
    lines = done.stderr.strip().splitlines()
    assert done.returncode != 0
    assert len(lines) == 1 and "BOKEH_SECRET_KEY" in lines[0], done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_inventory_panel_serve_signs_session_ids_when_it_has_the_secret(monkeypatch, tmp_path):
    started: list[list[str]] = []
    # `serve` becomes `panel serve` (execve) or waits for it (elsewhere): record the command instead.
    monkeypatch.setattr(cli.subprocess, "call", lambda cmd, env: started.append(cmd) or 0)
    monkeypatch.setattr(cli.os, "execve", lambda path, cmd, env: started.append(cmd))
    monkeypatch.setenv("INVENTORY_DATABASE_URL", f"sqlite:///{tmp_path / 'inventory.db'}")
    monkeypatch.setenv("DATABRICKS_APP_NAME", "lakebase-inventory")
    monkeypatch.setenv("BOKEH_SECRET_KEY", "s" * 64)
    assert cli.main(["serve", "--port", "8123"]) == 0
    command = " ".join(started[0])
    assert "--session-ids signed" in command
    assert f"--auth-module {ROOT / 'inventory_panel' / 'databricks' / 'app_auth.py'}" in command
    monkeypatch.setenv("BOKEH_SECRET_KEY", "short")
    assert cli.main(["serve", "--port", "8123"]) == 2  # a short secret is refused as well
    assert len(started) == 1
