"""The embedded Databricks AI/BI dashboard: its iframe URL and whether it is published.

The embed URL is ``{host}/embed/dashboardsv3/{id}?o={workspace_id}``: the viewer's own Databricks browser session
authorises it, so no token is ever put in the URL (the app this replaces leaked a service principal's token that
way). The workspace must list the app's domain under the approved embedding domains (docs/databricks.md).

``published_status`` asks the SDK (``w.lakeview.get_published``) and always returns a status, never raises: the UI
shows it next to the iframe. On behalf of the user (``INVENTORY_ON_BEHALF_OF_USER``) it asks with the person's own
token, so the answer is what they may see; without one it asks as the app's service principal.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import quote, urlsplit

from ..settings import Settings
from ..ui.plugins import DashboardStatus  # the Dashboard view's port (ui/plugins.py) declares what it is told

log = logging.getLogger(__name__)

DASHBOARD_ID_RE = re.compile(r"^[0-9A-Za-z-]{8,64}$")


def workspace_url(host: str | None) -> str | None:
    """``DATABRICKS_HOST`` as an origin URL (Apps may set it without a scheme); None when it is not a URL."""
    if not host:
        return None
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"https://{host}"
    parts = urlsplit(host)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.username or parts.password:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def embed_url(settings: Settings) -> str | None:
    """The iframe URL of the configured dashboard, or None when ``DATABRICKS_HOST``/``DASHBOARD_ID`` are not set."""
    base = workspace_url(settings.databricks_host)
    dashboard_id = (settings.dashboard_id or "").strip()
    if not base or not dashboard_id or not DASHBOARD_ID_RE.match(dashboard_id):
        return None
    url = f"{base}/embed/dashboardsv3/{quote(dashboard_id, safe='')}"
    workspace_id = (settings.workspace_id or "").strip()
    if workspace_id.isdigit():
        url += f"?o={workspace_id}"
    return url


def configuration_problem(settings: Settings) -> str | None:
    """Why no embed URL can be built, as a sentence for the Dashboard view; None when it can."""
    if not settings.dashboard_id:
        return "Set DASHBOARD_ID to the ID of a published AI/BI dashboard to show it here."
    if not DASHBOARD_ID_RE.match(settings.dashboard_id.strip()):
        return f"DASHBOARD_ID {settings.dashboard_id!r} does not look like a dashboard ID."
    if not workspace_url(settings.databricks_host):
        return "Set DATABRICKS_HOST to the workspace URL (https://…) to embed the dashboard."
    return None


def published_status(settings: Settings, user_token: str | None = None) -> DashboardStatus:
    """Ask the workspace whether the configured dashboard is published; never raises.

    ``user_token``: ask as that person (``identity.session_access_token``), not as the app's service principal.
    """
    problem = configuration_problem(settings)
    if problem:
        return DashboardStatus("not_configured", problem)
    from databricks.sdk.errors import NotFound, PermissionDenied  # the SDK is imported only when it is needed

    from .client import first_line, workspace_client

    dashboard_id = (settings.dashboard_id or "").strip()
    try:
        client = workspace_client(retry_timeout_seconds=10, user_token=user_token)
        published = client.lakeview.get_published(dashboard_id)
    except NotFound:
        return DashboardStatus(
            "not_published",
            f"Dashboard {dashboard_id} is not published (or does not exist): publish it in Databricks, then reload.",
        )
    except PermissionDenied as exc:
        whose = "with your own Databricks permissions" if user_token else "no permission"
        # The app's service principal needs CAN_READ on the dashboard: say how it gets it.
        fix = (
            "" if user_token else (f" Share dashboard {dashboard_id} with the app (inventory-panel databricks setup).")
        )
        return DashboardStatus("unknown", f"Cannot check the dashboard ({whose}): {first_line(exc)}.{fix}")
    except Exception as exc:  # noqa: BLE001 - the UI must show the iframe even when the check cannot run
        log.info("dashboard publish check failed: %s", first_line(exc))
        return DashboardStatus("unknown", f"Could not check whether the dashboard is published: {first_line(exc)}")
    name = f" “{published.display_name}”" if published.display_name else ""
    return DashboardStatus("published", f"Dashboard{name} is published.")
