"""``inventory-panel databricks doctor``: check a deployed configuration end to end, with the code setup uses.

Run it as the app (its environment and its service principal's OAuth login, e.g. inside the app) or as a person
with the app's Lakebase settings and their own login: each check then also looks at the app's service principal
(``--app``) where that differs from whoever runs it:

- ``credentials`` — a Lakebase credential can be generated, it is not a personal access token (Lakebase accepts
  only OAuth tokens as passwords), and the app's service principal has ``CAN_USE`` on the project/instance;
- ``login`` — PostgreSQL accepts it;
- ``grants`` — the app's role has every privilege it needs (each missing one named) and cannot change the audit
  trail (``grants.py``);
- ``dashboard published`` / ``dashboard shared`` — ``DASHBOARD_ID`` is published, readable by the app, and shared
  (``CAN_READ``) with the app's service principal and the users group;
- ``embedding allowed`` — the workspace lets the app's domain embed dashboards;
- ``websocket origin`` — the server accepts the websocket from the app's domain (``app.yaml``'s
  ``--allow-websocket-origin`` and ``BOKEH_ALLOW_WS_ORIGIN``), and ``INVENTORY_WS_ORIGINS`` (the notebooks'
  driver-proxy origins), when set, is well formed.

One line per check, ``ok  <check>`` or ``FAIL <check>: <what to fix>``; ``run_doctor`` never raises for a failed
check. It raises ``ConfigurationError`` only when it cannot run at all (no Lakebase settings, no Databricks auth).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import yaml
from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, PermissionDenied

from ..errors import ConfigurationError, InventoryError
from ..settings import PostgresParams, Settings
from ..storage.engines import create_database
from . import grants, sharing
from .client import first_line
from .lakebase import LakebaseCredentials
from .setup import app_info

APP_YAML = Path(__file__).resolve().parents[2] / "app.yaml"
SETUP = "run `inventory-panel databricks setup`"


@dataclass(frozen=True)
class Check:
    name: str
    problem: str | None = None  # None: ok

    def __str__(self) -> str:
        return f"ok  {self.name}" if self.problem is None else f"FAIL {self.name}: {' '.join(self.problem.split())}"


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.problem is None for c in self.checks)

    def __str__(self) -> str:
        return "\n".join(str(c) for c in self.checks)


def _run(name: str, check: Callable[[], str | None]) -> Check:
    """Run one check; any error it raises becomes its failure line (one line, no traceback)."""
    try:
        return Check(name, check())
    except (InventoryError, OSError, ValueError, sa.exc.SQLAlchemyError) as exc:
        return Check(name, first_line(getattr(exc, "orig", None) or exc))


def websocket_origins(app_yaml: Path, env: Mapping[str, str]) -> list[str]:
    """The websocket origins the app's server allows: ``app.yaml``'s command plus ``BOKEH_ALLOW_WS_ORIGIN``."""
    origins = [o.strip() for o in env.get("BOKEH_ALLOW_WS_ORIGIN", "").split(",") if o.strip()]
    if app_yaml.is_file():
        command = [str(a) for a in (yaml.safe_load(app_yaml.read_text(encoding="utf-8")) or {}).get("command", [])]
        origins += [command[i + 1] for i, a in enumerate(command[:-1]) if a == "--allow-websocket-origin"]
    return origins


def lakebase_settings(settings: Settings) -> PostgresParams:
    """The Lakebase settings doctor checks, or a clear error when there are none (checked before any network call)."""
    if settings.postgres is None:
        raise ConfigurationError(
            "doctor checks a Lakebase deployment: set PGHOST, PGUSER, PGDATABASE and PGENDPOINT "
            "(or LAKEBASE_INSTANCE_NAME) as in the app's environment"
        )
    return settings.postgres


def run_doctor(
    w: WorkspaceClient,
    settings: Settings,
    *,
    app_name: str | None = None,
    users_group: str | None = None,
    app_yaml: Path = APP_YAML,
    env: Mapping[str, str] | None = None,
) -> DoctorReport:
    env = os.environ if env is None else env
    pg = lakebase_settings(settings)
    report = DoctorReport()
    app = app_info(w, app_name) if app_name else None
    principal = app.principal if app else (env.get("DATABRICKS_CLIENT_ID") or None)
    app_url = (app.url if app else None) or env.get("DATABRICKS_APP_URL") or None
    token: list[str] = []

    def credentials() -> str | None:
        if pg.password:
            return "PGPASSWORD is set: a deployed app logs in with Lakebase OAuth credentials; remove PGPASSWORD"
        try:
            value = LakebaseCredentials(pg)()  # the app's own code path
        except ConfigurationError as exc:  # e.g. a personal access token would be the password
            return str(exc)
        except InventoryError as exc:  # the workspace refused
            return f"{exc}; give the app's service principal CAN_USE on the database ({SETUP} --app <app>)"
        token.append(value)
        if principal and principal != w.config.client_id:  # a person runs doctor: does the app get one too?
            object_type, object_id = sharing.database_object(pg.endpoint, pg.instance_name)
            app_sp = sharing.Principal.service_principal(principal)
            if sharing.missing_permissions(w, object_type, object_id, [app_sp], "CAN_USE", sharing.DATABASE_LEVELS):
                return (
                    f"the app's {app_sp} has no CAN_USE on {object_type}/{object_id}, so it gets no Lakebase "
                    f"credential: {SETUP} --app <app>"
                )
        return None

    report.checks.append(_run("credentials", credentials))
    database = create_database(settings, password_provider=lambda: token[0]) if token else None

    def login() -> str | None:
        if database is None:
            return "no Lakebase credential (see credentials)"
        with database.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return None

    role = principal or pg.user  # the app's PostgreSQL role is its service principal's client ID

    def grants_check() -> str | None:
        if database is None:
            return "cannot log in (see credentials and login)"
        tables = database.tables
        with database.engine.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_tables WHERE schemaname = :s AND tablename = :t"),
                {"s": tables.schema, "t": tables.audit.name},
            ).first()
            if not exists:
                return (
                    f"the inventory tables do not exist in schema {tables.schema}: {SETUP} (or init-db) as their owner"
                )
            if not grants.role_exists(conn, role):
                return f"no PostgreSQL role {role}: add the database resource to the app, or {SETUP} --app <app>"
            found = grants.check(conn, tables, role)
        problems = []
        if found.owner:
            problems.append(
                f"{role} owns the tables and could drop the audit trigger; let another role run "
                "the migrations (docs/security.md, section 8)"
            )
        if found.missing:
            problems.append(f"{role} lacks " + ", ".join(map(str, found.missing)))
        if found.forbidden:
            problems.append(f"{role} must not have " + ", ".join(map(str, found.forbidden)))
        return "; ".join(problems) + f"; {SETUP} --app <app>" if problems else None

    report.checks.append(_run("login", login))
    report.checks.append(_run("grants", grants_check))
    if database is not None:
        database.dispose()

    dashboard_id = (settings.dashboard_id or "").strip()

    def published() -> str | None:
        if not dashboard_id:
            return (
                f"DASHBOARD_ID is not set: {SETUP} with --warehouse-id and put the DASHBOARD_ID it prints in app.yaml"
            )
        try:
            w.lakeview.get_published(dashboard_id)
        except NotFound:
            return f"dashboard {dashboard_id} is not published (or does not exist): {SETUP} --warehouse-id <id>"
        except PermissionDenied:
            return f"this identity cannot read dashboard {dashboard_id}: share it ({SETUP} --app <app>)"
        return None

    def shared() -> str | None:
        if not dashboard_id:
            return "DASHBOARD_ID is not set"
        readers = [sharing.Principal.service_principal(principal)] if principal else []
        if users_group:
            readers.append(sharing.Principal.group(users_group))
        if not readers:
            return "no app (--app) or users group (--users-group) to check the sharing for"
        try:
            missing = sharing.missing_permissions(
                w, "dashboards", dashboard_id, readers, "CAN_READ", sharing.DASHBOARD_LEVELS
            )
        except PermissionDenied:
            return f"this identity cannot read dashboard {dashboard_id}'s permissions: share it ({SETUP} --app <app>)"
        if missing:
            return "no CAN_READ for " + ", ".join(map(str, missing)) + f": {SETUP} --app <app> --users-group <group>"
        return None

    def embedding() -> str | None:
        domain = sharing.app_domain(app_url)
        if domain is None:
            return "the app's URL is unknown: pass --app <app> (or set DATABRICKS_APP_URL)"
        return sharing.Embedding.read(w).problem(domain)

    def websocket() -> str | None:
        domain = sharing.app_domain(app_url)
        if domain is None:
            return "the app's URL is unknown: pass --app <app> (or set DATABRICKS_APP_URL)"
        from bokeh.server.util import check_allowlist

        from ..settings import websocket_origins as driver_proxy_origins

        driver_proxy_origins(env)  # INVENTORY_WS_ORIGINS (notebooks' driver-proxy mode): a bad value is named here
        origins = websocket_origins(app_yaml, env)
        if check_allowlist(domain, origins):
            return None
        return (
            f"{domain} is not an allowed websocket origin ({', '.join(origins) or 'none'}): add "
            f"`--allow-websocket-origin {domain}` to app.yaml's command"
        )

    for name, check in (
        ("dashboard published", published),
        ("dashboard shared", shared),
        ("embedding allowed", embedding),
        ("websocket origin", websocket),
    ):
        report.checks.append(_run(name, check))
    return report
