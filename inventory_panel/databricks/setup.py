"""Workspace setup, run once and again after each upgrade (``inventory-panel databricks setup`` and
``notebooks/lakebase_setup.ipynb`` call ``run_setup``); every step is idempotent.

Each step reads first and creates or changes only what is missing or different, so running it again is safe and
sends no writes when nothing changed:

1. ``ensure_app_role`` — a Postgres role for the app's service principal that logs in with Databricks OAuth (the same
   as ``SELECT databricks_create_role('<client id>', 'SERVICE_PRINCIPAL')`` in SQL).
2. ``ensure_database_access`` — ``CAN_USE`` for the service principal on the Lakebase project/instance, without
   which the workspace refuses it a database credential (``sharing.py``).
3. ``ensure_catalog`` — the Lakebase database registered as a Unity Catalog catalog (the database is created if it
   is missing), so ``{catalog}.{POSTGRES_SCHEMA}.{POSTGRES_TABLE}`` is queryable from Databricks SQL, near real time,
   without copying. Querying it needs a *serverless* SQL warehouse.
4. ``ensure_tables_and_grants`` — the migrations, run as the person running setup (who then owns the tables), and
   the app's PostgreSQL grants on the schema, tables and sequences (``grants.py``).
5. ``ensure_dashboard`` — the AI/BI dashboard whose definition ships in this package (``inventory.lvdash.json``),
   pointed at the inventory tables of step 3, created or updated, and published; ``ensure_dashboard_sharing`` then
   gives ``CAN_READ`` to the service principal and the app's users group.
6. ``check_embedding`` — the workspace allows embedding dashboards in the app's domain (optionally approves it).

Both Lakebase flavours are handled: Autoscaling (``PGENDPOINT`` -> ``w.postgres``) and Provisioned
(``LAKEBASE_INSTANCE_NAME`` -> ``w.database``).

Over 400 lines because it holds the six idempotent setup steps in their run order, each a read then the
smallest write; grants, sharing and the dashboard definition are already their own modules.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from databricks.sdk import WorkspaceClient
from databricks.sdk.common.lro import LroOptions
from databricks.sdk.errors import NotFound
from databricks.sdk.service import dashboards as lv
from databricks.sdk.service import database as db
from databricks.sdk.service import postgres as pgapi

from ..errors import ConfigurationError
from ..settings import Settings
from ..storage.engines import Database
from ..storage.migrate import upgrade
from . import grants, sharing

DASHBOARD_DEFINITION = Path(__file__).with_name("inventory.lvdash.json")
SHIPPED_TABLE_RE = re.compile(r"\bFROM (inventory_items(?:_movements)?)\b")  # the file's own table names
DEFAULT_DASHBOARD_PARENT = "/Shared/lakebase-inventory"
DEFAULT_DASHBOARD_NAME = "Lakebase Inventory"
ENDPOINT_RE = re.compile(r"^projects/[^/]+/branches/[^/]+/endpoints/[^/]+$")
ROLE_ID_RE = re.compile(r"^[a-z0-9-]{4,63}$")
WAIT = LroOptions(timeout=timedelta(minutes=20))

Action = Literal["created", "exists", "updated", "unchanged", "published", "granted", "missing"]


@dataclass(frozen=True)
class LakebaseTarget:
    """The Lakebase database the app uses: an Autoscaling endpoint or a Provisioned instance, and a database name."""

    database: str
    endpoint: str | None = None
    instance_name: str | None = None

    def __post_init__(self) -> None:
        if bool(self.endpoint) == bool(self.instance_name):
            raise ConfigurationError(
                "Set exactly one of PGENDPOINT (Lakebase Autoscaling) and LAKEBASE_INSTANCE_NAME (Lakebase Provisioned)"
            )
        if self.endpoint and not ENDPOINT_RE.match(self.endpoint):
            raise ConfigurationError(
                f"PGENDPOINT must look like projects/<p>/branches/<b>/endpoints/<e>, got {self.endpoint!r}"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> LakebaseTarget:
        pg = settings.postgres
        if pg is None:
            raise ConfigurationError("PGHOST must be set to the Lakebase host for the workspace setup")
        return cls(database=pg.database, endpoint=pg.endpoint, instance_name=pg.instance_name)

    @property
    def autoscaling(self) -> bool:
        return self.endpoint is not None

    @property
    def branch(self) -> str:
        """``projects/<p>/branches/<b>`` of an Autoscaling endpoint."""
        assert self.endpoint is not None
        return self.endpoint.rsplit("/endpoints/", 1)[0]


@dataclass(frozen=True)
class Step:
    """What one setup step found or did."""

    step: str
    target: str
    action: Action
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.step:<14} {self.action:<10} {self.target}" + (f"  ({self.detail})" if self.detail else "")


@dataclass
class SetupResult:
    steps: list[Step] = field(default_factory=list)
    dashboard_id: str | None = None

    @property
    def changed(self) -> bool:
        return any(s.action not in ("exists", "unchanged", "missing") for s in self.steps)

    @property
    def problems(self) -> list[Step]:
        """Steps setup could not complete itself (their detail says what a person must do)."""
        return [s for s in self.steps if s.action == "missing"]

    def __str__(self) -> str:
        lines = [str(s) for s in self.steps]
        if self.dashboard_id:
            lines.append(f"DASHBOARD_ID={self.dashboard_id}")
        return "\n".join(lines)


def check_target(w: WorkspaceClient, target: LakebaseTarget) -> None:
    """Fail with one line naming the variable when the Lakebase branch or instance does not exist."""
    try:
        if target.autoscaling:
            w.postgres.get_branch(target.branch)
        else:
            assert target.instance_name is not None
            w.database.get_database_instance(target.instance_name)
    except NotFound:
        variable, value = (
            ("PGENDPOINT", target.endpoint) if target.autoscaling else ("LAKEBASE_INSTANCE_NAME", target.instance_name)
        )
        raise ConfigurationError(
            f"{variable} {value!r}: no such Lakebase {'branch' if target.autoscaling else 'instance'} in this workspace"
        ) from None


# -- 1.-2. the app's Postgres role and its use of the database ------------------------------------------------------


@dataclass(frozen=True)
class AppInfo:
    """What setup and doctor need of a Databricks App: its service principal's client ID and its URL."""

    name: str
    principal: str
    url: str | None


def app_info(w: WorkspaceClient, app_name: str) -> AppInfo:
    """The app's service principal client ID (its Postgres role name) and URL, from ``w.apps.get``."""
    try:
        app = w.apps.get(app_name)
    except NotFound:
        raise ConfigurationError(f"Databricks App {app_name!r} does not exist; create it first") from None
    if not app.service_principal_client_id:
        raise ConfigurationError(f"Databricks App {app_name!r} has no service principal yet; start it once")
    return AppInfo(app_name, app.service_principal_client_id, app.url)


def ensure_database_access(w: WorkspaceClient, target: LakebaseTarget, principal: str) -> Step:
    """``CAN_USE`` on the Lakebase project/instance for ``principal`` (needed to generate a database credential)."""
    object_type, object_id = sharing.database_object(target.endpoint, target.instance_name)
    granted = sharing.grant(
        w, object_type, object_id, [sharing.Principal.service_principal(principal)], "CAN_USE", sharing.DATABASE_LEVELS
    )
    return Step("database use", f"{object_type}/{object_id}", "granted" if granted else "exists", principal)


def ensure_app_role(
    w: WorkspaceClient, target: LakebaseTarget, principal: str, identity_type: str = "SERVICE_PRINCIPAL"
) -> Step:
    """A Postgres role named ``principal`` that logs in with Databricks OAuth tokens."""
    if target.autoscaling:
        for role in w.postgres.list_roles(target.branch):
            names = {getattr(role.status, "postgres_role", None), getattr(role.spec, "postgres_role", None)}
            if principal in names:
                return Step("app role", principal, "exists", role.name or "")
        spec = pgapi.RoleRoleSpec(
            postgres_role=principal,
            identity_type=pgapi.RoleIdentityType(identity_type),
            auth_method=pgapi.RoleAuthMethod.LAKEBASE_OAUTH_V1,
        )
        role_id = principal if ROLE_ID_RE.match(principal) else None
        created = w.postgres.create_role(target.branch, pgapi.Role(spec=spec), role_id=role_id).wait(WAIT)
        return Step("app role", principal, "created", created.name or "")
    assert target.instance_name is not None
    try:
        w.database.get_database_instance_role(target.instance_name, principal)
        return Step("app role", principal, "exists", target.instance_name)
    except NotFound:
        pass
    w.database.create_database_instance_role(
        target.instance_name,
        db.DatabaseInstanceRole(name=principal, identity_type=db.DatabaseInstanceRoleIdentityType(identity_type)),
    )
    return Step("app role", principal, "created", target.instance_name)


# -- 3. the Unity Catalog catalog over the Lakebase database ----------------------------------------------------


def ensure_catalog(w: WorkspaceClient, target: LakebaseTarget, catalog: str) -> Step:
    """Register ``target.database`` as the UC catalog ``catalog`` (creating the database if it is missing)."""
    if target.autoscaling:
        try:
            found = w.postgres.get_catalog(f"catalogs/{catalog}")
        except NotFound:
            spec = pgapi.CatalogCatalogSpec(
                postgres_database=target.database, branch=target.branch, create_database_if_missing=True
            )
            w.postgres.create_catalog(pgapi.Catalog(spec=spec), catalog).wait(WAIT)
            return Step("catalog", catalog, "created", f"{target.branch}/{target.database}")
        registered = (found.status.postgres_database if found.status else None) or (
            found.spec.postgres_database if found.spec else None
        )
    else:
        assert target.instance_name is not None
        try:
            existing = w.database.get_database_catalog(catalog)
        except NotFound:
            w.database.create_database_catalog(
                db.DatabaseCatalog(
                    name=catalog,
                    database_instance_name=target.instance_name,
                    database_name=target.database,
                    create_database_if_not_exists=True,
                )
            )
            return Step("catalog", catalog, "created", f"{target.instance_name}/{target.database}")
        registered = existing.database_name
    if registered and registered != target.database:
        raise ConfigurationError(
            f"Catalog {catalog!r} already registers Lakebase database {registered!r}, not {target.database!r}; "
            "choose another catalog name"
        )
    return Step("catalog", catalog, "exists", target.database)


# -- 4. tables and PostgreSQL grants -----------------------------------------------------------------------------


def ensure_tables_and_grants(database: Database, principal: str) -> Step:
    """Run the migrations as the connected (owner) role, then grant ``principal`` what the app needs."""
    if database.dialect != "postgresql":
        raise ConfigurationError(
            "The app's grants need the PostgreSQL (Lakebase) database: set PGHOST or INVENTORY_DATABASE_URL to it"
        )
    upgrade(database)
    with database.engine.begin() as conn:
        if not grants.role_exists(conn, principal):
            return Step(
                "grants",
                principal,
                "missing",
                "no such PostgreSQL role: add the database resource to the app (or run setup with --app) first",
            )
        statements = grants.apply_grants(conn, database.tables, principal)
    target = f"{database.tables.schema}.*"
    return Step(
        "grants",
        target,
        "granted" if statements else "unchanged",
        f"{len(statements)} privileges for {principal}" if statements else principal,
    )


# -- 5. the AI/BI dashboard -------------------------------------------------------------------------------------


def _quote(*parts: str) -> str:
    return ".".join(f"`{p.replace('`', '``')}`" for p in parts)


def dashboard_definition(catalog: str, schema: str, table: str) -> str:
    """The shipped dashboard, its datasets pointed at the inventory tables in ``catalog``.

    The file names its tables unqualified (``FROM inventory_items``) so that the bundle (``databricks.yml``) deploys it
    as is, with ``dataset_catalog``/``dataset_schema``; here they become fully qualified names of ``table``.
    """
    definition = json.loads(DASHBOARD_DEFINITION.read_text(encoding="utf-8"))
    names = {
        "inventory_items": _quote(catalog, schema, table),
        "inventory_items_movements": _quote(catalog, schema, f"{table}_movements"),
    }
    for dataset in definition.get("datasets", []):
        dataset["queryLines"] = [
            SHIPPED_TABLE_RE.sub(lambda m: f"FROM {names[m.group(1)]}", line) for line in dataset.get("queryLines", [])
        ]
    return json.dumps(definition, separators=(",", ":"))


def _contains(actual: Any, wanted: Any) -> bool:
    """True when ``actual`` holds everything in ``wanted`` (the workspace adds its own keys to a definition)."""
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(k in actual and _contains(actual[k], v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(wanted)
            and all(_contains(a, b) for a, b in zip(actual, wanted, strict=True))
        )
    return actual == wanted


def _same_definition(current: str | None, wanted: str) -> bool:
    try:
        return current is not None and _contains(json.loads(current), json.loads(wanted))
    except ValueError:
        return False


def ensure_dashboard(
    w: WorkspaceClient,
    *,
    catalog: str,
    schema: str,
    table: str,
    warehouse_id: str,
    parent_path: str = DEFAULT_DASHBOARD_PARENT,
    display_name: str = DEFAULT_DASHBOARD_NAME,
    embed_credentials: bool = True,
) -> tuple[list[Step], str]:
    """Create or update the dashboard at ``parent_path/display_name`` and publish it; returns its ID too."""
    definition = dashboard_definition(catalog, schema, table)
    parent_path = parent_path.rstrip("/")
    steps: list[Step] = []
    try:
        w.workspace.get_status(parent_path)
    except NotFound:
        w.workspace.mkdirs(parent_path)
    path = f"{parent_path}/{display_name}.lvdash.json"
    try:
        dashboard_id = w.workspace.get_status(path).resource_id
    except NotFound:
        dashboard_id = None
    if dashboard_id is None:
        created = w.lakeview.create(
            lv.Dashboard(
                display_name=display_name,
                parent_path=parent_path,
                serialized_dashboard=definition,
                warehouse_id=warehouse_id,
            )
        )
        dashboard_id = created.dashboard_id
        if not dashboard_id:
            raise ConfigurationError(f"The workspace created dashboard {path} but returned no ID")
        steps.append(Step("dashboard", path, "created", dashboard_id))
        draft_changed = True
    else:
        current = w.lakeview.get(dashboard_id)
        draft_changed = not (
            _same_definition(current.serialized_dashboard, definition) and current.warehouse_id == warehouse_id
        )
        if draft_changed:
            w.lakeview.update(
                dashboard_id,
                lv.Dashboard(
                    display_name=display_name,
                    serialized_dashboard=definition,
                    warehouse_id=warehouse_id,
                    etag=current.etag,
                ),
            )
        steps.append(Step("dashboard", path, "updated" if draft_changed else "unchanged", dashboard_id))
    try:
        published = w.lakeview.get_published(dashboard_id)
        up_to_date = (
            not draft_changed
            and published.warehouse_id == warehouse_id
            and bool(published.embed_credentials) == embed_credentials
        )
    except NotFound:
        up_to_date = False
    if up_to_date:
        steps.append(Step("publish", path, "exists", dashboard_id))
    else:
        w.lakeview.publish(dashboard_id, embed_credentials=embed_credentials, warehouse_id=warehouse_id)
        steps.append(Step("publish", path, "published", dashboard_id))
    return steps, dashboard_id


def ensure_dashboard_sharing(w: WorkspaceClient, dashboard_id: str, principals: list[sharing.Principal]) -> Step:
    """``CAN_READ`` on the dashboard for the app's service principal and its users group."""
    granted = sharing.grant(w, "dashboards", dashboard_id, principals, "CAN_READ", sharing.DASHBOARD_LEVELS)
    return Step(
        "share",
        f"dashboards/{dashboard_id}",
        "granted" if granted else "exists",
        ", ".join(str(p) for p in (granted or principals)),
    )


# -- 6. embedding ------------------------------------------------------------------------------------------------


def check_embedding(w: WorkspaceClient, app_url: str | None, approve: bool = False) -> Step:
    """Whether the workspace lets the dashboard be embedded in the app's domain; ``approve`` adds the domain."""
    domain = sharing.app_domain(app_url)
    if domain is None:
        return Step("embedding", "(no app URL)", "missing", "the app has no URL yet: deploy it, then run setup again")
    embedding = sharing.Embedding.read(w)
    problem = embedding.problem(domain)
    if problem is None:
        return Step("embedding", domain, "exists")
    if approve and embedding.policy == "ALLOW_APPROVED_DOMAINS":
        sharing.approve_domain(w, embedding, domain)
        return Step("embedding", domain, "updated", "added to the approved embedding domains")
    return Step("embedding", domain, "missing", problem)


# -- all steps --------------------------------------------------------------------------------------------------


def run_setup(
    w: WorkspaceClient,
    target: LakebaseTarget,
    *,
    catalog: str,
    app_name: str | None = None,
    app_principal: str | None = None,
    warehouse_id: str | None = None,
    schema: str = "inventory_app",
    table: str = "inventory_items",
    dashboard_parent: str = DEFAULT_DASHBOARD_PARENT,
    dashboard_name: str = DEFAULT_DASHBOARD_NAME,
    embed_credentials: bool = True,
    users_group: str | None = None,
    database: Database | None = None,
    approve_embedding_domain: bool = False,
) -> SetupResult:
    """Every step in order. Without an app the role, access, grants and embedding steps are skipped; without a
    SQL warehouse the dashboard; without ``database`` (a connection as the tables' owner) the tables and grants."""
    result = SetupResult()
    check_target(w, target)
    app = app_info(w, app_name) if app_name else None
    principal = app_principal or (app.principal if app else None)
    if principal:
        result.steps.append(ensure_app_role(w, target, principal))
        result.steps.append(ensure_database_access(w, target, principal))
    result.steps.append(ensure_catalog(w, target, catalog))
    if database is not None and principal:
        result.steps.append(ensure_tables_and_grants(database, principal))
    if warehouse_id:
        steps, result.dashboard_id = ensure_dashboard(
            w,
            catalog=catalog,
            schema=schema,
            table=table,
            warehouse_id=warehouse_id,
            parent_path=dashboard_parent,
            display_name=dashboard_name,
            embed_credentials=embed_credentials,
        )
        result.steps.extend(steps)
        readers = [sharing.Principal.service_principal(principal)] if principal else []
        if users_group:
            readers.append(sharing.Principal.group(users_group))
        if readers:
            result.steps.append(ensure_dashboard_sharing(w, result.dashboard_id, readers))
    if app is not None:
        result.steps.append(check_embedding(w, app.url, approve_embedding_domain))
    return result
