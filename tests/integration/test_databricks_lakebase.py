"""Lakebase credentials end to end: the real databricks-sdk against the fake workspace, a real PostgreSQL whose role
password is the token the fake workspace issued, and ``inventory_panel.connect()`` reading the environment.

A connection can only succeed with the right token: any role but ``postgres`` must present its SCRAM password.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import inventory_panel as ip
from inventory_panel.databricks.lakebase import LakebaseCredentials
from inventory_panel.settings import load_settings
from tests.support.fake_workspace import FakeWorkspace, isolate_environment

pytestmark = pytest.mark.postgres

ITEM = {"item_name": "Safety Helmet", "category": "Safety", "quantity": 12, "unit_price": "24.90", "sku": "HLM-1"}


class LakebaseServer:
    """The test PostgreSQL seen as Lakebase: one login role per test whose password the test keeps in step."""

    def __init__(self, pg_server):
        url = make_url(pg_server.url)
        self.admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self.host, self.port = url.host or "127.0.0.1", url.port or 5432

    def execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(sql)

    def create_role_and_database(self, role: str, password: str) -> str:
        database = f"lb_{uuid.uuid4().hex[:10]}"
        self.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        self.execute(f'CREATE DATABASE "{database}" OWNER "{role}"')
        return database

    def set_password(self, role: str, password: str) -> None:
        self.execute(f"ALTER ROLE \"{role}\" PASSWORD '{password}'")

    def can_login(self, role: str, password: str, database: str) -> bool:
        try:
            psycopg2.connect(
                host=self.host,
                port=self.port,
                user=role,
                password=password,
                dbname=database,
                sslmode="disable",
                connect_timeout=5,
            ).close()
        except psycopg2.OperationalError:
            return False
        return True


@pytest.fixture(scope="module")
def lakebase(pg_server) -> Iterator[LakebaseServer]:
    server = LakebaseServer(pg_server)
    yield server
    server.admin.dispose()


@pytest.fixture
def workspace() -> Iterator[FakeWorkspace]:
    fake = FakeWorkspace().start()
    yield fake
    fake.close()


@pytest.fixture
def role(lakebase) -> Iterator[str]:
    name = f"sp-{uuid.uuid4()}"  # an App's Postgres role is its service principal's client ID
    yield name
    lakebase.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{name}'")


def lakebase_env(
    monkeypatch, lakebase: LakebaseServer, workspace: FakeWorkspace, role: str, database: str, **extra: str
) -> None:
    isolate_environment(monkeypatch)
    env = {
        "PGHOST": lakebase.host,
        "PGPORT": str(lakebase.port),
        "PGUSER": role,
        "PGDATABASE": database,
        "PGSSLMODE": "disable",
        **workspace.env(),
        **extra,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)


def current_user(inv: ip.Inventory) -> str:
    with inv.db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT current_user")).scalar_one()


@pytest.mark.parametrize("flavour", ["autoscaling", "provisioned"])
def test_connects_with_the_issued_lakebase_credential(flavour, lakebase, workspace, role, monkeypatch):
    database = lakebase.create_role_and_database(role, workspace.database_token.value)
    extra = (
        {"PGENDPOINT": workspace.endpoint}
        if flavour == "autoscaling"
        else {"LAKEBASE_INSTANCE_NAME": workspace.instance}
    )
    lakebase_env(monkeypatch, lakebase, workspace, role, database, **extra)

    inv = ip.connect(user="ana@example.com")
    try:
        added = inv.add(ITEM)
        assert inv.get(added["id"])["sku"] == "HLM-1"
        assert current_user(inv) == role
        assert inv.database_label.startswith("Lakebase")
    finally:
        inv.close()

    if flavour == "autoscaling":
        calls = workspace.requests("POST", "/api/2.0/postgres/credentials")
        assert [c.body["endpoint"] for c in calls] == [workspace.endpoint]
        assert not workspace.requests(path="/api/2.0/database/credentials")
    else:
        calls = workspace.requests("POST", "/api/2.0/database/credentials")
        assert [c.body["instance_names"] for c in calls] == [[workspace.instance]]
        assert not workspace.requests(path="/api/2.0/postgres/credentials")
    # Cached: the migration, the write and the reads above shared one credential.
    assert len(calls) == 1
    # The SDK authenticated as the App's service principal (OAuth M2M) and used that token on the API call.
    assert workspace.requests("POST", "/oidc/v1/token")
    assert calls[0].authorization == f"Bearer {workspace.oauth_token.value}"


def test_without_lakebase_variables_the_workspace_oauth_token_is_the_password(lakebase, workspace, role, monkeypatch):
    database = lakebase.create_role_and_database(role, workspace.oauth_token.value)
    lakebase_env(monkeypatch, lakebase, workspace, role, database)

    inv = ip.connect(user="ana@example.com")
    try:
        inv.add(ITEM)
        assert current_user(inv) == role
    finally:
        inv.close()
    assert not workspace.requests(path="/api/2.0/postgres/credentials")
    assert not workspace.requests(path="/api/2.0/database/credentials")


def _login_with_a_pat(monkeypatch, workspace: FakeWorkspace) -> None:
    monkeypatch.delenv("DATABRICKS_CLIENT_ID")
    monkeypatch.delenv("DATABRICKS_CLIENT_SECRET")
    monkeypatch.setenv("DATABRICKS_TOKEN", workspace.pat)


def test_with_a_personal_access_token_and_no_lakebase_variables_it_says_what_to_configure(
    lakebase, workspace, role, monkeypatch
):
    # Lakebase accepts only OAuth tokens: the PAT must never be sent as the password (here it would even work,
    # because this stand-in for Lakebase accepts any password it was given, so a login proves the PAT was sent).
    database = lakebase.create_role_and_database(role, workspace.pat)
    lakebase_env(monkeypatch, lakebase, workspace, role, database)
    _login_with_a_pat(monkeypatch, workspace)
    assert LakebaseCredentials(load_settings().postgres)._workspace().config.auth_type == "pat"  # the real SDK says

    with pytest.raises(ip.ConfigurationError) as caught:
        ip.connect(user="ana@example.com")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        "Lakebase accepts only OAuth tokens, but Databricks authentication here is a personal access token"
    )
    for what in ("PGENDPOINT", "LAKEBASE_INSTANCE_NAME", "databricks auth login", "DATABRICKS_CLIENT_ID"):
        assert what in message
    assert not workspace.requests(path="/oidc/v1/token")


def test_the_cli_reports_the_pat_error_in_one_line(lakebase, workspace, role, monkeypatch, capsys):
    from inventory_panel import cli

    lakebase_env(monkeypatch, lakebase, workspace, role, lakebase.create_role_and_database(role, workspace.pat))
    _login_with_a_pat(monkeypatch, workspace)
    assert cli.main(["init-db"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Lakebase accepts only OAuth tokens" in err[0], err


@pytest.mark.parametrize("variable", ["PGENDPOINT", "LAKEBASE_INSTANCE_NAME"])
def test_with_a_personal_access_token_the_lakebase_api_issues_the_credential(
    variable, lakebase, workspace, role, monkeypatch
):
    # A PAT may still call the credential API: the password is then the OAuth credential Lakebase issued.
    database = lakebase.create_role_and_database(role, workspace.database_token.value)
    target = workspace.endpoint if variable == "PGENDPOINT" else workspace.instance
    lakebase_env(monkeypatch, lakebase, workspace, role, database, **{variable: target})
    _login_with_a_pat(monkeypatch, workspace)
    inv = ip.connect(user="ana@example.com")
    try:
        assert current_user(inv) == role
    finally:
        inv.close()
    calls = [c for c in workspace.requests("POST") if c.path.endswith("/credentials")]
    assert [c.authorization for c in calls] == [f"Bearer {workspace.pat}"]


def test_rotation_new_connections_use_the_new_token_and_work_in_flight_completes(
    lakebase, workspace, role, monkeypatch
):
    workspace.token_ttl = timedelta(seconds=8)
    first = workspace.rotate_database_token()
    expires = time.monotonic() + 8
    database = lakebase.create_role_and_database(role, first)
    lakebase_env(monkeypatch, lakebase, workspace, role, database, PGENDPOINT=workspace.endpoint)
    inv = ip.connect(user="ana@example.com")
    engine = inv.db.engine
    release = threading.Event()
    try:
        item = inv.add(ITEM)
        # The credential was fetched before now, so it is due for refresh half-way from now to its expiry at the
        # latest (it is refreshed half-way through the life it had when fetched).
        due = (time.monotonic() + expires) / 2
        assert due < expires - 1, "the machine is too slow for this token lifetime"

        # A transaction in flight on a connection opened with the first token.
        started, outcome = threading.Event(), {}

        def in_flight() -> None:
            try:
                with engine.connect() as conn, conn.begin():
                    conn.execute(
                        sa.text(f"UPDATE inventory_app.inventory_items SET quantity = 99 WHERE id = {item['id']}")
                    )
                    started.set()
                    release.wait(20)
                    conn.execute(sa.text("SELECT pg_sleep(0.2)"))
                outcome["ok"] = True
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcome["error"] = exc

        worker = threading.Thread(target=in_flight)
        worker.start()
        assert started.wait(10)

        # The workspace rotates: from now on it issues a new token, and PostgreSQL only accepts that one.
        time.sleep(max(0.0, due - time.monotonic()) + 0.1)
        second = workspace.rotate_database_token()
        lakebase.set_password(role, second)
        assert not lakebase.can_login(role, first, database)

        # Hold every idle pooled connection so the pool must open a new one.
        held = [engine.connect() for _ in range(engine.pool.checkedin())]
        try:
            with engine.connect() as fresh:
                assert fresh.execute(sa.text("SELECT current_user")).scalar_one() == role
        finally:
            for conn in held:
                conn.close()

        release.set()
        worker.join(20)
        assert outcome == {"ok": True}
        assert inv.get(item["id"])["quantity"] == 99  # the in-flight transaction committed on its old connection
        assert len(workspace.requests("POST", "/api/2.0/postgres/credentials")) == 2
    finally:
        release.set()
        inv.close()


def test_lakebase_engine_requires_tls_by_default_and_pre_pings(workspace, monkeypatch):
    from inventory_panel.storage.engines import create_database

    isolate_environment(monkeypatch)
    settings = load_settings(
        {"PGHOST": "instance.database.cloud.databricks.com", "PGUSER": "sp", "PGENDPOINT": workspace.endpoint}
    )
    db = create_database(settings)
    try:
        assert db.engine.url.query["sslmode"] == "require"
        assert db.engine.url.password is None  # the password comes from the provider, per connection
        assert db.engine.pool._pre_ping
    finally:
        db.dispose()


def test_one_refresh_for_many_threads_asking_at_once(workspace, monkeypatch):
    isolate_environment(monkeypatch)
    for key, value in workspace.env().items():
        monkeypatch.setenv(key, value)
    pg = load_settings({"PGHOST": "127.0.0.1", "PGUSER": "sp", "PGENDPOINT": workspace.endpoint}).postgres
    provider = LakebaseCredentials(pg)
    tokens: list[str] = []
    barrier = threading.Barrier(16)

    def ask() -> None:
        barrier.wait()
        tokens.append(provider())

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert tokens == [workspace.database_token.value] * 16
    assert len(workspace.requests("POST", "/api/2.0/postgres/credentials")) == 1
    assert "lakebase-" not in repr(provider)  # the token never shows in logs or reprs


def test_a_failed_refresh_keeps_using_the_still_valid_token(workspace, monkeypatch):
    isolate_environment(monkeypatch)
    for key, value in workspace.env().items():
        monkeypatch.setenv(key, value)
    workspace.token_ttl = timedelta(seconds=4)
    workspace.rotate_database_token()
    pg = load_settings({"PGHOST": "127.0.0.1", "PGUSER": "sp", "LAKEBASE_INSTANCE_NAME": workspace.instance}).postgres
    provider = LakebaseCredentials(pg)
    first = provider()
    cached = provider._credential
    assert cached is not None
    time.sleep((cached.refresh_at - datetime.now(UTC)).total_seconds() + 0.1)  # due for refresh, not yet expired
    assert datetime.now(UTC) < cached.expires
    workspace.failing["/api/2.0/database/credentials"] = 403
    assert provider() == first
    del workspace.failing["/api/2.0/database/credentials"]
    second = workspace.rotate_database_token()
    assert provider() == second  # the next connection retries the refresh
    assert len(workspace.requests("POST", "/api/2.0/database/credentials")) == 3


def test_an_unknown_endpoint_fails_at_start_with_one_line_naming_the_variable(lakebase, workspace, role, monkeypatch):
    lakebase_env(
        monkeypatch, lakebase, workspace, role, "postgres", PGENDPOINT="projects/nope/branches/main/endpoints/primary"
    )
    with pytest.raises(ip.ConfigurationError) as caught:
        ip.connect()
    message = str(caught.value)
    assert "PGENDPOINT" in message and "projects/nope" in message and "\n" not in message


def test_a_refused_credential_fails_at_start_with_one_clear_line(lakebase, workspace, role, monkeypatch):
    lakebase_env(monkeypatch, lakebase, workspace, role, "postgres", LAKEBASE_INSTANCE_NAME=workspace.instance)
    workspace.failing["/api/2.0/database/credentials"] = 403
    with pytest.raises(ip.DatabaseUnavailableError) as caught:
        ip.connect()
    message = str(caught.value)
    assert "LAKEBASE_INSTANCE_NAME" in message and "refused" in message and "\n" not in message


def test_without_any_databricks_authentication_the_error_says_what_to_set(lakebase, role, monkeypatch):
    isolate_environment(monkeypatch)
    for key, value in {
        "PGHOST": lakebase.host,
        "PGPORT": str(lakebase.port),
        "PGUSER": role,
        "PGSSLMODE": "disable",
    }.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ip.ConfigurationError) as caught:
        ip.connect()
    message = str(caught.value)
    assert "DATABRICKS_HOST" in message and "\n" not in message


def test_a_token_revoked_before_its_expiry_is_replaced_on_the_next_login(lakebase, workspace, role, monkeypatch):
    first = workspace.rotate_database_token()
    database = lakebase.create_role_and_database(role, first)
    lakebase_env(monkeypatch, lakebase, workspace, role, database, PGENDPOINT=workspace.endpoint)
    inv = ip.connect(user="ana@example.com")
    try:
        inv.add(ITEM)
        # Revoked early: the cached token still looks valid for an hour, but PostgreSQL no longer accepts it.
        second = workspace.rotate_database_token()
        lakebase.set_password(role, second)
        inv.db.engine.dispose()
        assert inv.summary()["items"] == 1
        assert current_user(inv) == role
        assert len(workspace.requests("POST", "/api/2.0/postgres/credentials")) == 2
    finally:
        inv.close()
