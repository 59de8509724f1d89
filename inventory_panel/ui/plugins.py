"""What the UI asks of a platform it must not import: who the person behind a session or a notebook is, and the
embedded dashboard (where it is, and whether it is published).

The UI declares these hooks; Databricks plugs into them from the package's entry (``databricks/wiring.py``,
``plug_in()``, called by ``inventory_panel/__init__.py``, which ``serve``, the notebook helpers, ``ip.connect`` and
the CLI all go through), as it plugs Lakebase into storage and Unity Catalog into the service. So the UI never
imports ``inventory_panel.databricks``. Without a plug-in the UI behaves as a local app: the person is Panel's own
sign-in or the login name, and there is no dashboard to embed (the Dashboard tab explains how to configure one).
Running as a Databricks App without the plug-in is refused rather than served as the local user.

This module imports no Panel at import time: the package's entry imports it to plug in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from ..auth import User, make_user
from ..errors import ConfigurationError
from ..settings import Settings

Identify = Callable[[Settings], User]
State = Literal["published", "not_published", "unknown", "not_configured"]
NOT_PLUGGED_IN = "No dashboard integration is available in this installation."


@dataclass(frozen=True)
class DashboardStatus:
    """Whether the dashboard can be shown: ``state`` and a sentence for a person."""

    state: State
    message: str

    @property
    def published(self) -> bool:
        return self.state == "published"


class DashboardSource(Protocol):
    """The embedded dashboard, as the Dashboard view asks for it (``databricks.wiring.DatabricksDashboard``)."""

    def embed_url(self, settings: Settings) -> str | None:
        """The iframe URL, or None when none can be built (never carrying a token)."""

    def configuration_problem(self, settings: Settings) -> str | None:
        """Why no embed URL can be built, as a sentence; None when it can."""

    def session_token(self, settings: Settings) -> str | None:
        """The person's own token for the publish check, read while the session is built (None: the app's own)."""

    def published_status(self, settings: Settings, user_token: str | None) -> DashboardStatus:
        """Whether the dashboard is published (may take seconds: called in a worker thread); never raises."""


class NoDashboard:
    """No platform plugged in: nothing to embed."""

    def embed_url(self, settings: Settings) -> str | None:
        return None

    def configuration_problem(self, settings: Settings) -> str | None:
        return NOT_PLUGGED_IN

    def session_token(self, settings: Settings) -> str | None:
        return None

    def published_status(self, settings: Settings, user_token: str | None) -> DashboardStatus:
        return DashboardStatus("not_configured", NOT_PLUGGED_IN)


def _refuse_app(settings: Settings) -> None:
    # Behind the Apps proxy only the proxy's word says who someone is; without the plug-in that reads it, the local
    # user (an admin) must not be what a served session falls back to.
    if settings.is_databricks_app:
        raise ConfigurationError(
            "running as a Databricks App needs the Databricks identity plug-in (inventory_panel/databricks/wiring.py)"
        )


def local_session_user(settings: Settings) -> User:
    """A served session without a platform: Panel's own sign-in (``pn.state.user``), else the local user."""
    _refuse_app(settings)
    import panel as pn

    if pn.state.user:
        return make_user(pn.state.user, settings, source="panel-auth")
    return make_user(None, settings, source="local")


def local_notebook_user(settings: Settings) -> User:
    """A notebook without a platform: the local user (``INVENTORY_USER`` or the login name)."""
    _refuse_app(settings)
    return make_user(None, settings, source="notebook")


_session_identity: Identify = local_session_user
_notebook_identity: Identify = local_notebook_user
_dashboard: DashboardSource = NoDashboard()


def plug_in(
    *,
    session_identity: Identify | None = None,
    notebook_identity: Identify | None = None,
    dashboard: DashboardSource | None = None,
) -> None:
    """Plug a platform in (what is not given stays as it is)."""
    global _session_identity, _notebook_identity, _dashboard
    _session_identity = session_identity or _session_identity
    _notebook_identity = notebook_identity or _notebook_identity
    _dashboard = dashboard or _dashboard


def session_user(settings: Settings) -> User:
    """The person behind the current Panel server session (call it while the session is being built)."""
    return _session_identity(settings)


def notebook_user(settings: Settings) -> User:
    """The person running this notebook."""
    return _notebook_identity(settings)


def dashboard_source() -> DashboardSource:
    """The embedded dashboard plugged in (``NoDashboard`` without one)."""
    return _dashboard
