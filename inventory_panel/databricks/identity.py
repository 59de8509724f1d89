"""Who is using the app: the one function every entry point asks (``resolve_user``).

Order, first match wins:

1. Running as a Databricks App (``DATABRICKS_APP_NAME`` set): the Apps proxy authenticates every request and
   forwards the person as ``X-Forwarded-Email`` / ``X-Forwarded-Preferred-Username`` / ``X-Forwarded-User``. Anywhere
   else anybody can send those headers, so they are ignored.
2. Panel's own authentication (``panel serve --basic-auth`` / ``--oauth-provider``): ``pn.state.user``.
3. A Databricks App request without identity headers (a health probe, a misconfigured proxy): an anonymous user whose
   role is that of an unknown person (viewer unless ``INVENTORY_DEFAULT_ROLE`` says otherwise) — never the
   local-admin fallback below.
4. In a notebook on Databricks (``DATABRICKS_RUNTIME_VERSION`` set): the workspace user running it.
5. Otherwise the local user: ``INVENTORY_USER`` or the login name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from ..auth import User, make_user
from ..settings import Settings

log = logging.getLogger(__name__)

FORWARDED_IDENTITY_HEADERS = ("X-Forwarded-Email", "X-Forwarded-Preferred-Username", "X-Forwarded-User")
ANONYMOUS = "anonymous"


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """Case-insensitive header lookup; list values (``pn.state.headers`` may hold them) give their first item."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if str(key).lower() == wanted:
            if isinstance(value, list | tuple):
                value = value[0] if value else None
            if isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            text = str(value).strip() if value is not None else ""
            return text or None
    return None


def forwarded_identity(headers: Mapping[str, Any] | None) -> str | None:
    """The person the Databricks Apps proxy forwarded, preferring the e-mail (roles are listed by e-mail)."""
    for name in FORWARDED_IDENTITY_HEADERS:
        value = header(headers, name)
        if value:
            return value
    return None


def on_databricks_runtime(env: Mapping[str, str] | None = None) -> bool:
    """True inside a Databricks cluster or serverless notebook."""
    env = os.environ if env is None else env
    return bool(env.get("DATABRICKS_RUNTIME_VERSION", "").strip())


def current_databricks_user(client_factory: Callable[[], Any] | None = None) -> str | None:
    """The workspace user the SDK authenticates as (``w.current_user.me()``), or None when it cannot tell."""
    from .client import first_line, workspace_client

    try:
        me = (client_factory or workspace_client)().current_user.me()
    except Exception as exc:  # noqa: BLE001 - identity lookup must never stop a notebook; fall back to local
        log.warning("Could not ask Databricks who the current user is: %s", first_line(exc))
        return None
    return me.user_name or None


def resolve_user(settings: Settings, *, headers: Mapping[str, Any] | None = None, panel_user: str | None = None,
                 notebook: bool = False, client_factory: Callable[[], Any] | None = None) -> User:
    """The acting ``User`` for one session or notebook (see the module docstring for the order)."""
    if settings.is_databricks_app:
        forwarded = forwarded_identity(headers)
        if forwarded:
            return make_user(forwarded, settings, source="databricks-app")
    if panel_user:
        return make_user(panel_user, settings, source="panel-auth")
    if settings.is_databricks_app:
        return make_user(ANONYMOUS, settings, source="databricks-app")
    if notebook:
        name = current_databricks_user(client_factory) if on_databricks_runtime() else None
        return make_user(name, settings, source="notebook")
    return make_user(None, settings, source="local")
