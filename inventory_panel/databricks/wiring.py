"""Databricks plugged into the layers that must not import it: the Lakebase credential provider into
``storage.engines``, the Unity Catalog table reader into ``service.imports``, and into the UI (``ui/plugins.py``)
who a served session's or a notebook's person is (``identity.py``) and the AI/BI dashboard (``dashboard.py``).

``plug_in()`` is called by the package's entry (``inventory_panel/__init__.py``, which ``ip.connect``, the CLI,
``serve`` and the notebook helpers all go through). It imports nothing heavy: databricks-sdk is loaded only when a
Lakebase credential or a Unity Catalog table is first asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..auth import User
from ..service.imports import set_table_reader
from ..settings import PostgresParams, Settings
from ..storage.engines import set_credential_factory
from ..ui import plugins as ui_plugins
from ..ui.plugins import DashboardStatus

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.12; only annotations use it

    from ..service.imports import TableReadOptions


def lakebase_credentials(pg: PostgresParams) -> Callable[[], str]:
    """The password provider of a PostgreSQL connection without ``PGPASSWORD``: Lakebase OAuth (``lakebase.py``)."""
    from .lakebase import credential_provider

    return credential_provider(pg)


def read_uc_table(table: str, settings: Settings, **options: Unpack[TableReadOptions]) -> tuple[Any, str]:
    """Unity Catalog table ``catalog.schema.table`` as a frame the import reads, and its display name; see
    ``Inventory.import_table`` and ``uc_import.py``."""
    from . import uc_import

    name = uc_import.parse_table_name(table)
    kind, reader = uc_import.resolve_reader(
        warehouse_id=options.get("warehouse_id"), spark=options.get("spark"), settings_warehouse=settings.warehouse_id
    )
    columns, order_by, timeout = options.get("columns"), options.get("order_by"), options.get("timeout")
    if kind == "spark":
        return uc_import.spark_table(reader, name, columns, order_by), name.display
    client = options.get("workspace_client")
    if client is None:
        from .client import workspace_client as build_client

        client = build_client()
    frame = uc_import.WarehouseTable(
        client,
        name,
        reader,
        columns=columns,
        order_by=order_by,
        disposition=options.get("disposition", "EXTERNAL_LINKS"),
        timeout=uc_import.TIMEOUT_SECONDS if timeout is None else timeout,
    ).reader()
    return frame, name.display


def session_user(settings: Settings) -> User:
    """The person behind the current served session: Apps headers, Panel's sign-in or the local user."""
    from .identity import session_user as identity_of_session

    return identity_of_session(settings)


def notebook_user(settings: Settings) -> User:
    """The person running the notebook: on Databricks the workspace user, else the local user."""
    from .identity import resolve_user

    return resolve_user(settings, notebook=True)


class DatabricksDashboard:
    """The Dashboard view's source (``ui.plugins.DashboardSource``): the AI/BI dashboard of the settings."""

    def embed_url(self, settings: Settings) -> str | None:
        from .dashboard import embed_url

        return embed_url(settings)

    def configuration_problem(self, settings: Settings) -> str | None:
        from .dashboard import configuration_problem

        return configuration_problem(settings)

    def session_token(self, settings: Settings) -> str | None:
        """On behalf of the user: the token the Apps proxy forwarded for this session (``identity.py``)."""
        from .identity import session_access_token

        return session_access_token(settings)

    def published_status(self, settings: Settings, user_token: str | None) -> DashboardStatus:
        from .dashboard import published_status

        return published_status(settings, user_token)


def plug_in() -> None:
    """Plug Databricks in: Lakebase credentials for PostgreSQL without a password, Unity Catalog for tables, the
    person behind a session or notebook and the dashboard for the UI."""
    set_credential_factory(lakebase_credentials)
    set_table_reader(read_uc_table)
    ui_plugins.plug_in(session_identity=session_user, notebook_identity=notebook_user, dashboard=DatabricksDashboard())
