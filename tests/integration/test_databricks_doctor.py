"""``inventory-panel databricks setup`` then ``doctor``, end to end: the real databricks-sdk against the
permission-aware fake workspace, and the real PostgreSQL of the suite standing in for Lakebase.

The app's service principal starts with nothing: a PostgreSQL role without grants (as Lakebase creates it), no
``CAN_USE`` on the Lakebase project, no access to the dashboard. The person running setup (the PAT, a workspace
admin) logs in to PostgreSQL as the tables' owner. After setup, the service principal — doctor and the app run
with its OAuth login, as a deployed app does — can get a credential, log in, read, write and audit, and still
cannot change the audit trail. A second setup sends no write to the workspace and leaves every grant as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError

import inventory_panel as ip
from inventory_panel import cli
from inventory_panel.databricks import grants
from inventory_panel.storage.tables import build_tables
from tests.support.fake_workspace import FakeWorkspace, isolate_environment

pytestmark = pytest.mark.postgres

APP = "inventory"
APP_URL = "https://inventory-1234567890123456.aws.databricksapps.com"
GROUP = "inventory-users"
ITEM = {"item_name": "Safety Helmet", "category": "Safety", "quantity": 12, "unit_price": "24.90", "sku": "HLM-1"}

# What ``databricks doctor`` prints for a deployment that is all set (docs/databricks.md shows it too).
ALL_OK = [
    "ok  credentials",
    "ok  login",
    "ok  grants",
    "ok  dashboard published",
    "ok  dashboard shared",
    "ok  embedding allowed",
    "ok  websocket origin",
]


@dataclass
class Deployment:
    """One workspace, one Lakebase database, the owner and the app's roles, and how to run commands as each."""

    workspace: FakeWorkspace
    admin: sa.Engine
    host: str
    port: int
    database: str
    owner: str
    monkeypatch: pytest.MonkeyPatch

    @property
    def principal(self) -> str:
        return self.workspace.client_id

    def _env(self, user: str, **extra: str) -> None:
        isolate_environment(self.monkeypatch)
        env = {
            "DATABRICKS_HOST": self.workspace.url,
            "PGHOST": self.host,
            "PGPORT": str(self.port),
            "PGDATABASE": self.database,
            "PGUSER": user,
            "PGSSLMODE": "disable",
            "PGENDPOINT": self.workspace.endpoint,
            **extra,
        }
        for key, value in env.items():
            self.monkeypatch.setenv(key, value)

    def as_owner(self, dashboard_id: str = "") -> None:
        """The person running setup: a PAT of a workspace admin, and the tables' owner in PostgreSQL."""
        self._env(self.owner, DATABRICKS_TOKEN=self.workspace.pat, DASHBOARD_ID=dashboard_id)

    def as_app(self, dashboard_id: str = "") -> None:
        """The deployed app's environment: its service principal's OAuth login, its own PostgreSQL role."""
        self._env(
            self.principal,
            DATABRICKS_CLIENT_ID=self.workspace.client_id,
            DATABRICKS_CLIENT_SECRET=self.workspace.client_secret,
            DATABRICKS_APP_NAME=APP,
            DASHBOARD_ID=dashboard_id,
        )

    def sql(self, statement: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(statement)

    def db_sql(self, statement: str) -> None:
        """Run ``statement`` as the superuser in the deployment's database (take a grant away, give it back)."""
        engine = sa.create_engine(self.admin.url.set(database=self.database), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(statement)
        finally:
            engine.dispose()

    def acl(self) -> dict[str, str]:
        """Every ACL in the inventory schema (the schema's own included), to compare before and after."""
        engine = sa.create_engine(self.admin.url.set(database=self.database))
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text(
                        "SELECT c.relname, c.relacl::text FROM pg_class c "
                        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'inventory_app' UNION ALL "
                        "SELECT nspname, nspacl::text FROM pg_namespace WHERE nspname = 'inventory_app'"
                    )
                ).all()
        finally:
            engine.dispose()
        return dict(rows)


def run(capsys, *argv: str) -> tuple[int, list[str]]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out.splitlines() + out.err.splitlines()


def setup_args(*extra: str) -> list[str]:
    return ["databricks", "setup", "--app", APP, "--warehouse-id", "wh-123", "--users-group", GROUP, *extra]


DOCTOR = ["databricks", "doctor", "--app", APP, "--users-group", GROUP]


@contextmanager
def deployment(pg_server) -> Iterator[Deployment]:
    workspace = FakeWorkspace(app_database_grant=False).start()
    workspace.apps[APP] = {"name": APP, "service_principal_client_id": workspace.client_id, "url": APP_URL}
    workspace.groups[GROUP] = set()
    url = make_url(pg_server.url)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    database, owner = f"dep_{uuid.uuid4().hex[:10]}", f"owner_{uuid.uuid4().hex[:8]}"
    token = workspace.database_token.value  # the fake issues one Lakebase credential; both roles accept it
    with pytest.MonkeyPatch.context() as monkeypatch:
        dep = Deployment(workspace, admin, url.host or "127.0.0.1", url.port or 5432, database, owner, monkeypatch)
        dep.sql(f"CREATE ROLE \"{owner}\" LOGIN PASSWORD '{token}'")
        dep.sql(f'CREATE DATABASE "{database}" OWNER "{owner}"')
        # What Lakebase creates for the app's service principal: a login role with no privileges at all.
        dep.sql(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{dep.principal}') THEN "
            f'CREATE ROLE "{dep.principal}" LOGIN; END IF; END $$'
        )
        dep.sql(f"ALTER ROLE \"{dep.principal}\" PASSWORD '{token}'")
        try:
            yield dep
        finally:
            dep.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")
            workspace.close()
            admin.dispose()


@pytest.fixture
def fresh(pg_server) -> Iterator[Deployment]:
    with deployment(pg_server) as dep:
        yield dep


def test_setup_makes_the_app_work_from_a_principal_with_no_grants_and_is_idempotent(fresh, capsys):
    dep = fresh
    dep.as_app()
    code, lines = run(capsys, *DOCTOR)
    assert code == 1
    assert any(line.startswith("FAIL credentials:") and "CAN_USE" in line for line in lines), lines

    dep.as_owner()
    code, lines = run(capsys, *setup_args("--approve-embedding-domain"))
    assert code == 0, lines
    dashboard_id = next(iter(dep.workspace.dashboards))
    assert f"DASHBOARD_ID={dashboard_id}" in lines
    # The workspace grants, as the Permissions API and the settings API hold them.
    assert dep.workspace.level_of(dep.principal, "database-projects", dep.workspace.project) == 0  # CAN_USE
    acl = dep.workspace.acl[("dashboards", dashboard_id)]
    assert acl[("service_principal_name", dep.principal)] == "CAN_READ"
    assert acl[("group_name", GROUP)] == "CAN_READ"
    assert dep.workspace.approved_domains == [APP_URL.removeprefix("https://")]

    dep.as_app(dashboard_id)
    code, lines = run(capsys, *DOCTOR)
    assert lines == ALL_OK
    assert code == 0

    # The app, as its service principal: reads, writes, audits; the audit trail stays append-only for it.
    inv = ip.connect(user="ed@example.com", role="editor")
    try:
        item = inv.add(ITEM)
        inv.update(item["id"], {"quantity": 3}, version=1)
        inv.adjust_stock(item["id"], 2, "delivery")
        assert inv.get(item["id"])["quantity"] == 5
        with inv.db.engine.connect() as conn:
            assert conn.execute(sa.text("SELECT current_user")).scalar_one() == dep.principal
        audit = f'"{inv.t.audit.schema}"."{inv.t.audit.name}"'
        for statement in (f"UPDATE {audit} SET actor = 'x'", f"DELETE FROM {audit}", f"TRUNCATE {audit}"):
            with pytest.raises(DatabaseError, match="permission denied"), inv.db.engine.begin() as conn:
                conn.exec_driver_sql(statement)
        with inv.db.engine.connect() as conn:
            actions = conn.execute(sa.text(f"SELECT action FROM {audit} ORDER BY id")).scalars().all()
        assert actions == ["add", "update", "adjust"]
    finally:
        inv.close()

    # A second setup changes nothing: no write to the workspace, the same PostgreSQL grants.
    before = dep.acl()
    dep.as_owner()
    dep.workspace.clear()
    code, lines = run(capsys, *setup_args())
    assert code == 0, lines
    assert dep.workspace.writes() == []
    assert dep.acl() == before
    actions = {line[15:25].strip() for line in lines if not line.startswith("DASHBOARD_ID=")}  # Step.__str__
    assert actions == {"exists", "unchanged"}, lines


# -- each missing grant is named by doctor ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def deployed(pg_server) -> Iterator[tuple[Deployment, str]]:
    """One deployment set up once; each test below takes one grant away, runs doctor, and gives it back."""
    with deployment(pg_server) as dep:
        dep.as_owner()
        assert cli.main(setup_args("--approve-embedding-domain")) == 0
        dashboard_id = next(iter(dep.workspace.dashboards))
        dep.as_app(dashboard_id)
        yield dep, dashboard_id


def _privileges() -> list[grants.Privilege]:
    tables = build_tables("inventory_items", "inventory_app")
    seqs = [
        f"{t}_id_seq"
        for t in ("inventory_items", "inventory_items_movements", "inventory_items_audit", "inventory_items_stats")
    ]
    need, _ = grants.wanted(tables, seqs)
    return need


def _doctor_lines(capsys) -> list[str]:
    code, lines = run(capsys, *DOCTOR)
    assert code == (0 if all(line.startswith("ok  ") for line in lines) else 1)
    return lines


def test_the_deployment_is_all_ok(deployed, capsys):
    assert all(line.startswith("ok  ") for line in _doctor_lines(capsys))


@pytest.mark.parametrize("privilege", _privileges(), ids=str)
def test_doctor_names_each_missing_postgres_grant(deployed, capsys, privilege):
    dep, _ = deployed
    dep.db_sql(privilege.sql("REVOKE", dep.principal))
    try:
        lines = _doctor_lines(capsys)
    finally:
        dep.db_sql(privilege.sql("GRANT", dep.principal))
    failed = [line for line in lines if line.startswith("FAIL")]
    assert len(failed) == 1 and failed[0].startswith("FAIL grants:"), lines
    assert f"lacks {privilege}" in failed[0] or f", {privilege}" in failed[0]
    assert failed[0].count(" on ") == 1  # that one privilege, no other
    assert _doctor_lines(capsys)[2] == "ok  grants"


def test_doctor_refuses_a_principal_that_may_change_the_audit(deployed, capsys):
    dep, _ = deployed
    audit = '"inventory_app"."inventory_items_audit"'
    dep.db_sql(f'GRANT DELETE ON {audit} TO "{dep.principal}"')
    try:
        lines = _doctor_lines(capsys)
    finally:
        dep.db_sql(f'REVOKE DELETE ON {audit} FROM "{dep.principal}"')
    assert (
        "FAIL grants: " in lines[2]
        and 'must not have DELETE on table "inventory_app"."inventory_items_audit"' in lines[2]
    )


@pytest.mark.parametrize(
    ("take_away", "failing", "words"),
    [
        (
            lambda dep, dash: dep.workspace.revoke("database-projects", dep.workspace.project, dep.principal),
            ["credentials", "login", "grants"],
            ["CAN_USE", "setup"],
        ),
        (
            lambda dep, dash: dep.workspace.revoke("dashboards", dash, dep.principal),
            ["dashboard published", "dashboard shared"],
            ["cannot read dashboard", "share"],
        ),
        (
            lambda dep, dash: dep.workspace.revoke("dashboards", dash, GROUP),
            ["dashboard shared"],
            [f"no CAN_READ for group {GROUP}"],
        ),
        (
            lambda dep, dash: dep.workspace.approved_domains.clear(),
            ["embedding allowed"],
            ["not an approved embedding domain", "--approve-embedding-domain"],
        ),
        (
            lambda dep, dash: setattr(dep.workspace, "embedding_policy", "DENY_ALL_DOMAINS"),
            ["embedding allowed"],
            ["denies embedding"],
        ),
        (lambda dep, dash: dep.workspace.published.pop(dash), ["dashboard published"], ["is not published"]),
    ],
    ids=["database-use", "dashboard-app", "dashboard-group", "embedding-domain", "embedding-policy", "unpublished"],
)
def test_doctor_names_each_missing_workspace_grant(deployed, capsys, take_away, failing, words):
    dep, dashboard_id = deployed
    acl = {k: dict(v) for k, v in dep.workspace.acl.items()}
    domains, policy = list(dep.workspace.approved_domains), dep.workspace.embedding_policy
    published = dict(dep.workspace.published)
    take_away(dep, dashboard_id)
    try:
        lines = _doctor_lines(capsys)
    finally:
        dep.workspace.acl = acl
        dep.workspace.approved_domains[:] = domains
        dep.workspace.embedding_policy = policy
        dep.workspace.published.update(published)
    failed = {line.split(":", 1)[0].removeprefix("FAIL "): line for line in lines if line.startswith("FAIL")}
    assert sorted(failed) == sorted(failing), lines
    assert all(word in failed[failing[0]] for word in words), failed
    assert all(line.startswith("ok  ") for line in _doctor_lines(capsys))


def test_doctor_run_by_a_person_checks_the_app_principal_too(deployed, capsys):
    dep, dashboard_id = deployed
    dep.as_owner(dashboard_id)
    try:
        assert all(line.startswith("ok  ") for line in _doctor_lines(capsys))
        dep.workspace.revoke("database-projects", dep.workspace.project, dep.principal)
        dep.db_sql(f'REVOKE SELECT ON "inventory_app"."inventory_items" FROM "{dep.principal}"')
        lines = _doctor_lines(capsys)
    finally:
        dep.workspace.grant(
            "database-projects", dep.workspace.project, "service_principal_name", dep.principal, "CAN_USE"
        )
        dep.db_sql(f'GRANT SELECT ON "inventory_app"."inventory_items" TO "{dep.principal}"')
        dep.as_app(dashboard_id)
    # The person's own credential and login work; what the app lacks is named all the same.
    assert lines[0].startswith(
        f"FAIL credentials: the app's service principal {dep.principal} has no CAN_USE on database-projects/inventory"
    )
    assert lines[1] == "ok  login"
    assert lines[2].startswith(f'FAIL grants: {dep.principal} lacks SELECT on table "inventory_app"."inventory_items"')


def test_doctor_names_a_websocket_origin_the_app_yaml_does_not_allow(deployed, capsys, tmp_path):
    app_yaml = tmp_path / "app.yaml"
    app_yaml.write_text("command: [panel, serve, app.py, --allow-websocket-origin, 'other.example.com']\n")
    code, lines = run(capsys, *DOCTOR, "--app-yaml", str(app_yaml))
    assert code == 1
    assert lines[-1].startswith("FAIL websocket origin: inventory-1234567890123456.aws.databricksapps.com is not")
    assert "--allow-websocket-origin" in lines[-1]


def test_doctor_names_a_malformed_driver_proxy_origin(deployed, capsys):
    dep, _ = deployed
    dep.monkeypatch.setenv("INVENTORY_WS_ORIGINS", "https://dbc-dp-1.cloud.databricks.com/some/path")
    try:
        code, lines = run(capsys, *DOCTOR)
    finally:
        dep.monkeypatch.delenv("INVENTORY_WS_ORIGINS")
    assert code == 1 and lines[-1].startswith("FAIL websocket origin: INVENTORY_WS_ORIGINS must be")


def test_doctor_says_a_personal_access_token_would_be_the_password(deployed, capsys):
    dep, dashboard_id = deployed
    dep.as_owner(dashboard_id)  # a PAT login
    dep.monkeypatch.delenv("PGENDPOINT")  # nothing to generate a Lakebase credential for: the login's own token
    try:
        code, lines = run(capsys, *DOCTOR)
    finally:
        dep.as_app(dashboard_id)
    assert code == 1
    assert lines[0].startswith(
        "FAIL credentials: Lakebase accepts only OAuth tokens, but Databricks authentication "
        "here is a personal access token"
    )
    assert "CAN_USE" not in lines[0]  # the fix is an OAuth login or PGENDPOINT, not a permission
    assert lines[1].startswith("FAIL login")


def test_doctor_cannot_run_without_lakebase_settings(monkeypatch, capsys):
    isolate_environment(monkeypatch)
    monkeypatch.setenv("DATABRICKS_HOST", "https://dbc-1.cloud.databricks.com")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-x")
    # Refused before any workspace client exists: building one for an unreachable host waits a minute on retries.
    from inventory_panel.databricks import client

    def no_client(*_args, **_kwargs):
        raise AssertionError("the workspace was contacted before the settings were checked")

    monkeypatch.setattr(client, "workspace_client", no_client)
    code, lines = run(capsys, *DOCTOR)
    assert code == 2 and len(lines) == 1 and "PGHOST" in lines[0]


# -- init-db --grant-to: the grants re-applied after the migrations -------------------------------------------------


def test_init_db_as_the_owner_grants_the_app_role_after_migrating(fresh, capsys):
    dep = fresh
    owner_url = str(dep.admin.url.set(database=dep.database).render_as_string(hide_password=False))
    dep.as_owner()
    code, lines = run(capsys, "--database-url", owner_url, "init-db", "--grant-to", dep.principal)
    assert code == 0 and lines[-1].startswith(f"Grants for {dep.principal}: ") and "granted" in lines[-1], lines
    before = dep.acl()
    code, lines = run(capsys, "--database-url", owner_url, "init-db", "--grant-to", dep.principal)
    assert code == 0 and lines[-1] == f"Grants for {dep.principal}: unchanged"
    assert dep.acl() == before
    # A privilege lost (or a table a new migration added) is granted again by the next init-db.
    dep.db_sql(f'REVOKE INSERT ON "inventory_app"."inventory_items_audit" FROM "{dep.principal}"')
    code, lines = run(capsys, "--database-url", owner_url, "init-db", "--grant-to", dep.principal)
    assert code == 0 and "1 privileges" in lines[-1]
    assert dep.acl() == before


def test_init_db_grant_to_an_unknown_role_or_on_sqlite_is_one_line(fresh, capsys, tmp_path):
    dep = fresh
    owner_url = str(dep.admin.url.set(database=dep.database).render_as_string(hide_password=False))
    code, lines = run(capsys, "--database-url", owner_url, "init-db", "--grant-to", "nobody-here")
    assert code == 2 and lines[-1] == "inventory-panel: --grant-to 'nobody-here': no such PostgreSQL role"
    code, lines = run(capsys, "--database-url", f"sqlite:///{tmp_path / 'x.db'}", "init-db", "--grant-to", "x")
    assert code == 2 and "needs a PostgreSQL database" in lines[-1]


def test_the_setup_notebook_grants_the_same_and_doctor_is_all_ok(fresh, capsys):
    """The notebook runs the same setup: with PGHOST it migrates as the person and grants the app."""
    import nbformat
    from nbclient import NotebookClient

    dep = fresh
    dep.as_owner()
    for name, value in {
        "INVENTORY_APP_NAME": APP,
        "DATABRICKS_WAREHOUSE_ID": "wh-123",
        "INVENTORY_USERS_GROUP": GROUP,
        "APPROVE_EMBEDDING_DOMAIN": "true",
    }.items():
        dep.monkeypatch.setenv(name, value)
    root = Path(__file__).resolve().parents[2]
    notebook = nbformat.read(root / "notebooks" / "lakebase_setup.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(root / "notebooks")}}
    ).execute()
    text = "".join(out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", []))
    assert "grants         granted" in text and "TO DO" not in text, text

    dep.as_app(next(iter(dep.workspace.dashboards)))
    code, lines = run(capsys, *DOCTOR)
    assert code == 0 and all(line.startswith("ok  ") for line in lines), lines
