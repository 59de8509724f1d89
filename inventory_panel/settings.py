"""Settings read from the environment, in one place (README, Configuration).

A bad value raises ``ConfigurationError`` whose message is one line naming the variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from .errors import ConfigurationError

IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
# A websocket origin as Bokeh's --allow-websocket-origin takes it: host labels (or '*'), an optional port.
ORIGIN_RE = re.compile(r"^(\*|[a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.(\*|[a-z0-9]([a-z0-9-]*[a-z0-9])?))*(:\d{1,5})?$")
Role = Literal["viewer", "editor", "admin"]
ROLES: tuple[str, ...] = ("viewer", "editor", "admin")


@dataclass(frozen=True)
class PostgresParams:
    """Connection parameters from the libpq ``PG*`` variables."""

    host: str
    port: int
    database: str
    user: str
    sslmode: str
    appname: str
    password: str | None
    endpoint: str | None  # Lakebase Autoscaling endpoint path
    instance_name: str | None  # Lakebase Provisioned instance


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    postgres: PostgresParams | None = None
    sqlite_path: str = "./inventory.db"
    schema: str = "inventory_app"
    table: str = "inventory_items"
    databricks_host: str | None = None
    workspace_id: str | None = None
    dashboard_id: str | None = None
    max_upload_mb: int = 16
    sqlite_busy_seconds: int = 5  # how long a SQLite write waits for another one's lock before "busy, try again"
    admins: frozenset[str] = field(default_factory=frozenset)
    editors: frozenset[str] = field(default_factory=frozenset)
    default_role: Role | None = None
    app_name: str | None = None  # DATABRICKS_APP_NAME: set when running as a Databricks App
    # INVENTORY_ON_BEHALF_OF_USER: in an App, Databricks API calls made for a person (the dashboard check) use the
    # OAuth token the proxy forwards for them (X-Forwarded-Access-Token) instead of the app's service principal.
    on_behalf_of_user: bool = False
    local_user: str | None = None
    # DATABRICKS_WAREHOUSE_ID: the SQL warehouse ``Inventory.import_table`` reads Unity Catalog tables through.
    warehouse_id: str | None = None

    @property
    def kind(self) -> str:
        """'url', 'postgres' or 'sqlite': which rule of section 3 picked the database."""
        if self.database_url:
            return "url"
        if self.postgres:
            return "postgres"
        return "sqlite"

    @property
    def is_databricks_app(self) -> bool:
        return bool(self.app_name)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def _identifier(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    if not IDENTIFIER_RE.match(value):
        raise ConfigurationError(
            f"{name} must be a plain SQL identifier (letters, digits, underscore; at most 63), got {value!r}"
        )
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "false", "0", "no", "off"):
        return False
    if raw in ("true", "1", "yes", "on"):
        return True
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def _emails(env: Mapping[str, str], name: str) -> frozenset[str]:
    return frozenset(e.strip().lower() for e in env.get(name, "").split(",") if e.strip())


def websocket_origins(env: Mapping[str, str], name: str = "INVENTORY_WS_ORIGINS") -> tuple[str, ...]:
    """Comma-separated origins as Bokeh matches them (``host[:port]``, ``*`` wildcards): URLs give their host."""
    origins: list[str] = []
    for raw in env.get(name, "").split(","):
        item = raw.strip().lower()
        if not item:
            continue
        host = urlsplit(item if "://" in item else f"//{item}")
        if (
            not ORIGIN_RE.match(host.netloc)
            or host.path not in ("", "/")
            or host.query
            or host.fragment
            or host.scheme not in ("", "http", "https")
        ):
            raise ConfigurationError(
                f"{name} must be comma-separated hosts such as dbc-dp-1234567890123456.cloud.databricks.com "
                f"(or https:// URLs, '*' wildcards allowed), got {raw.strip()!r}"
            )
        if host.netloc not in origins:
            origins.append(host.netloc)
    return tuple(origins)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read every setting from ``env`` (default: ``os.environ``)."""
    env = os.environ if env is None else env
    url = env.get("INVENTORY_DATABASE_URL", "").strip() or None
    postgres = None
    if not url and env.get("PGHOST", "").strip():
        postgres = PostgresParams(
            host=env["PGHOST"].strip(),
            port=_int(env, "PGPORT", 5432),
            database=env.get("PGDATABASE", "").strip() or "databricks_postgres",
            user=env.get("PGUSER", "").strip() or _missing("PGUSER", "PGHOST is set"),
            sslmode=env.get("PGSSLMODE", "").strip() or "require",
            appname=env.get("PGAPPNAME", "").strip() or "inventory_panel",
            password=env.get("PGPASSWORD") or None,
            endpoint=env.get("PGENDPOINT", "").strip() or None,
            instance_name=env.get("LAKEBASE_INSTANCE_NAME", "").strip() or None,
        )
    default_role = env.get("INVENTORY_DEFAULT_ROLE", "").strip().lower() or None
    if default_role is not None and default_role not in ROLES:
        raise ConfigurationError(f"INVENTORY_DEFAULT_ROLE must be one of viewer, editor, admin; got {default_role!r}")
    return Settings(
        database_url=url,
        postgres=postgres,
        sqlite_path=env.get("INVENTORY_SQLITE_PATH", "").strip() or "./inventory.db",
        schema=_identifier(env, "POSTGRES_SCHEMA", "inventory_app"),
        table=_identifier(env, "POSTGRES_TABLE", "inventory_items"),
        databricks_host=(env.get("DATABRICKS_HOST", "").strip().rstrip("/") or None),
        workspace_id=env.get("DATABRICKS_WORKSPACE_ID", "").strip() or None,
        dashboard_id=env.get("DASHBOARD_ID", "").strip() or None,
        max_upload_mb=_int(env, "INVENTORY_MAX_UPLOAD_MB", 16),
        sqlite_busy_seconds=_int(env, "INVENTORY_SQLITE_BUSY_SECONDS", 5),
        admins=_emails(env, "INVENTORY_ADMINS"),
        editors=_emails(env, "INVENTORY_EDITORS"),
        default_role=default_role,  # type: ignore[arg-type]
        app_name=env.get("DATABRICKS_APP_NAME", "").strip() or None,
        on_behalf_of_user=_flag(env, "INVENTORY_ON_BEHALF_OF_USER"),
        local_user=env.get("INVENTORY_USER", "").strip() or None,
        warehouse_id=env.get("DATABRICKS_WAREHOUSE_ID", "").strip() or None,
    )


def _missing(name: str, why: str) -> str:
    raise ConfigurationError(f"{name} must be set when {why}")
