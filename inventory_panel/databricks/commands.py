"""``inventory-panel databricks setup|doctor`` and ``init-db --grant-to``: argument parsing and output.

Options default to the environment variables of the same meaning, so the command runs with the app's own
``app.yaml`` values exported. databricks-sdk is imported only when one of these commands runs.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import ConfigurationError, InventoryError
from ..settings import load_settings


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, "").strip() or default


def add_parser(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("databricks", help="set up or check a Databricks deployment (docs/databricks.md)")
    commands = d.add_subparsers(dest="databricks_command", required=True, metavar="SUBCOMMAND")

    s = commands.add_parser(
        "setup",
        help="idempotent workspace setup: role, access, catalog, tables and grants, "
        "dashboard and its sharing, embedding",
    )
    _common(s)
    s.add_argument(
        "--catalog",
        default=_env("INVENTORY_CATALOG", "lakebase_inventory"),
        help="Unity Catalog catalog to register the Lakebase database as (INVENTORY_CATALOG)",
    )
    s.add_argument(
        "--warehouse-id",
        default=_env("DATABRICKS_WAREHOUSE_ID"),
        help="SQL warehouse of the dashboard (DATABRICKS_WAREHOUSE_ID); without it: no dashboard",
    )
    s.add_argument("--dashboard-parent", default=_env("INVENTORY_DASHBOARD_PARENT", "/Shared/lakebase-inventory"))
    s.add_argument("--app-principal", help="grant to this client ID instead of the app's service principal")
    s.add_argument(
        "--approve-embedding-domain",
        action="store_true",
        help="add the app's domain to the approved embedding domains (workspace admins)",
    )

    doc = commands.add_parser("doctor", help="check a deployed configuration end to end; one line per check")
    _common(doc)
    doc.add_argument("--app-yaml", help="the app.yaml whose websocket origins to check (default: the shipped one)")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--app",
        default=_env("DATABRICKS_APP_NAME") or _env("INVENTORY_APP_NAME"),
        help="the Databricks App (DATABRICKS_APP_NAME / INVENTORY_APP_NAME)",
    )
    p.add_argument(
        "--users-group",
        default=_env("INVENTORY_USERS_GROUP"),
        help="the workspace group of the app's users, given CAN_READ on the dashboard (INVENTORY_USERS_GROUP)",
    )


def run(args: argparse.Namespace) -> int:
    from databricks.sdk.errors import DatabricksError

    from .client import first_line

    try:
        return _setup(args) if args.databricks_command == "setup" else _doctor(args)
    except DatabricksError as exc:  # e.g. the person running setup lacks a permission: one line, exit 2
        hint = (
            " (the person running setup needs the rights listed in docs/databricks.md, Permissions)"
            if args.databricks_command == "setup"
            else ""
        )
        raise InventoryError(f"Databricks refused the call: {first_line(exc)} ({type(exc).__name__}){hint}") from None


def _target(settings_database: str | None):
    from .setup import LakebaseTarget

    return LakebaseTarget(
        database=settings_database or _env("PGDATABASE", "databricks_postgres") or "",
        endpoint=_env("PGENDPOINT"),
        instance_name=_env("LAKEBASE_INSTANCE_NAME"),
    )


def _setup(args: argparse.Namespace) -> int:
    from ..storage.engines import create_database
    from .client import workspace_client
    from .setup import run_setup

    settings = load_settings()
    database = None
    if args.database_url or settings.kind != "sqlite":
        database = create_database(settings, args.database_url)
    try:
        result = run_setup(
            workspace_client(),
            _target(settings.postgres.database if settings.postgres else None),
            catalog=args.catalog,
            app_name=args.app,
            app_principal=args.app_principal,
            warehouse_id=args.warehouse_id,
            schema=settings.schema,
            table=settings.table,
            dashboard_parent=args.dashboard_parent,
            users_group=args.users_group,
            database=database,
            approve_embedding_domain=args.approve_embedding_domain,
        )
    finally:
        if database is not None:
            database.dispose()
    print(result)
    if database is None:
        print("note: tables and grants skipped: set PGHOST (or --database-url) to connect as the tables' owner")
    for step in result.problems:
        print(f"to do: {step.step}: {step.detail}", file=sys.stderr)
    return 1 if result.problems else 0


def _doctor(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .client import workspace_client
    from .doctor import APP_YAML, lakebase_settings, run_doctor

    settings = load_settings()
    lakebase_settings(settings)  # first: building the workspace client may wait on the network for a minute
    report = run_doctor(
        workspace_client(),
        settings,
        app_name=args.app,
        users_group=args.users_group,
        app_yaml=Path(args.app_yaml) if args.app_yaml else APP_YAML,
    )
    print(report)
    return 0 if report.ok else 1


def grant_after_migration(database_url: str | None, role: str) -> list[str]:
    """``init-db --grant-to ROLE``: after the migrations, give ``role`` the app's grants (PostgreSQL only)."""
    from ..storage.engines import create_database
    from .grants import apply_grants, role_exists

    database = create_database(load_settings(), database_url)
    try:
        if database.dialect != "postgresql":
            raise ConfigurationError("--grant-to needs a PostgreSQL database (grants do not exist on SQLite)")
        with database.engine.begin() as conn:
            if not role_exists(conn, role):
                raise ConfigurationError(f"--grant-to {role!r}: no such PostgreSQL role")
            return apply_grants(conn, database.tables, role)
    finally:
        database.dispose()
