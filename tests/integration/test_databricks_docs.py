"""docs/databricks.md's setup and doctor commands, run as a new user would, against the fake workspace.

The ``inventory-panel`` and ``export`` lines of two walkthroughs are taken from the document itself — section 4
(without the bundle: setup creates the dashboard) and the bundle's steps 7 and 8 (the bundle deployed and shared the
dashboard) — with their ``<placeholders>`` filled in, and run in order through the CLI. ``databricks …`` lines
belong to the Databricks CLI and are not run; what they create (the app, its dashboard for the bundle) is put into
the fake workspace beforehand. The login is the fake's token instead of ``databricks auth login``, and the
database is the test server's fresh one instead of Lakebase's default ``databricks_postgres``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from inventory_panel import cli
from tests.integration.test_databricks_doctor import ALL_OK, Deployment, deployment

pytestmark = pytest.mark.postgres

DOC = Path(__file__).resolve().parents[2] / "docs" / "databricks.md"


def _blocks(section_start: str, section_end: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    start = text.index(section_start)
    body = text[start : text.index(section_end, start)]
    return re.findall(r"```bash\n(.*?)```", body, flags=re.S)


def _walk(dep: Deployment, blocks: list[str], capsys, values: dict[str, str]) -> list[list[str]]:
    """Run the ``export`` and ``inventory-panel`` lines of ``blocks``; returns each command's output lines."""
    outputs: list[list[str]] = []
    ran = []

    def fill(text: str) -> str:
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        assert "<" not in text, f"a placeholder the walkthrough does not explain: {text}"
        return text

    for line in (line.split("  #", 1)[0].strip() for block in blocks for line in block.splitlines()):
        if line.startswith("export DASHBOARD_ID=$("):  # the bundle's dashboard id, read with the Databricks CLI
            dep.monkeypatch.setenv("DASHBOARD_ID", values["<bundle dashboard id>"])
        elif line.startswith("export ") and "DATABRICKS_CONFIG_PROFILE" not in line:
            for assignment in shlex.split(fill(line))[1:]:
                name, _, value = assignment.partition("=")
                dep.monkeypatch.setenv(name, value)
        elif line.startswith("inventory-panel "):
            argv = shlex.split(fill(line))[1:]
            code = cli.main(argv)
            out = capsys.readouterr()
            lines = out.out.splitlines() + out.err.splitlines()
            assert code == 0, (line, lines)
            outputs.append(lines)
            ran.append(argv[:2])
            printed = [x.removeprefix("DASHBOARD_ID=") for x in lines if x.startswith("DASHBOARD_ID=")]
            if printed:
                values["<the printed dashboard id>"] = printed[0]
    assert ["databricks", "setup"] in ran and ["databricks", "doctor"] in ran, ran
    return outputs


def _as_new_user(dep: Deployment) -> dict[str, str]:
    """A new user's shell: only the login (the fake's token instead of an OAuth profile) and the test server's
    port and TLS mode, which a real Lakebase does not need."""
    dep.as_owner()
    dep.monkeypatch.setenv("PGPORT", str(dep.port))
    dep.monkeypatch.setenv("PGSSLMODE", "disable")
    for name in ("PGHOST", "PGUSER", "PGDATABASE", "PGENDPOINT", "DASHBOARD_ID"):
        dep.monkeypatch.delenv(name, raising=False)
    return {
        "<project>": "inventory",
        "<branch>": "main",
        "<endpoint>": "primary",
        "<endpoint host>": dep.host,
        "<your e-mail>": dep.owner,
        "<warehouse id>": "wh-123",
        "<users group>": "inventory-users",
        "databricks_postgres": dep.database,
    }


def test_section_4_setup_then_doctor_without_the_bundle(pg_server, capsys):
    with deployment(pg_server) as dep:
        dep.workspace.apps["lakebase-inventory"] = {**dep.workspace.apps["inventory"], "name": "lakebase-inventory"}
        values = _as_new_user(dep)
        outputs = _walk(dep, _blocks("## 4. Workspace setup", "## 5. Deploy"), capsys, values)
        assert outputs[-1] == ALL_OK


def test_the_bundle_walkthrough_setup_then_doctor(pg_server, capsys):
    with deployment(pg_server) as dep:
        workspace = dep.workspace
        workspace.apps["lakebase-inventory-dev"] = {**workspace.apps["inventory"], "name": "lakebase-inventory-dev"}
        # What `databricks bundle deploy` made: the dashboard, published, readable by the app and the users group.
        dashboard_id = "01f0bundle0dashboard0000000000ab"
        workspace.dashboards[dashboard_id] = {
            "dashboard_id": dashboard_id,
            "display_name": "Lakebase Inventory",
            "etag": "1",
            "update_time": "t",
        }
        workspace.published[dashboard_id] = {"display_name": "Lakebase Inventory", "warehouse_id": "wh-123"}
        workspace.grant("dashboards", dashboard_id, "service_principal_name", dep.principal, "CAN_READ")
        workspace.grant("dashboards", dashboard_id, "group_name", "users", "CAN_READ")
        values = {**_as_new_user(dep), "<bundle dashboard id>": dashboard_id}
        blocks = _blocks("**7. Set up the database side**", "**Production.**")
        outputs = _walk(dep, blocks, capsys, values)
        assert outputs[-1] == ALL_OK
