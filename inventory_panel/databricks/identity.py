"""Who is using the app: the one function every entry point asks (``resolve_user``).

Order, first match wins:

1. Running as a Databricks App (``DATABRICKS_APP_NAME`` set): the Apps proxy authenticates every request and
   forwards the person as ``X-Forwarded-Email`` / ``X-Forwarded-Preferred-Username`` / ``X-Forwarded-User``. Anywhere
   else anybody can send those headers, so they are ignored. In an App nothing else counts (no Panel auth), and a
   request without identity headers (a health probe, a misconfigured proxy) is an anonymous user whose role is that
   of an unknown person (viewer unless ``INVENTORY_DEFAULT_ROLE`` says otherwise) — never the local admin.
2. Panel's own authentication (``panel serve --basic-auth`` / ``--oauth-provider``): ``pn.state.user``.
3. In a notebook on Databricks (``DATABRICKS_RUNTIME_VERSION`` set): the workspace user running it.
4. Otherwise the local user: ``INVENTORY_USER`` or the login name.

A served session (``session_user``) in an App takes the headers from the HTTP request that opened the session as it
reached the server — the page request or the websocket upgrade, both stamped by the proxy — and never from
``pn.state.headers``: Bokeh fills those from the session token's payload, which a client can write itself. The
session must also carry a session id signed with ``BOKEH_SECRET_KEY`` (``--session-ids signed``), or it is refused;
and a websocket that would join a session opened by someone else is refused (``request_user``, Bokeh's auth hook,
installed by ``--auth-module inventory_panel/databricks/app_auth.py``): docs/security.md, "Identity in a Databricks
App".
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from ..auth import User, make_user
from ..errors import ConfigurationError
from ..settings import Settings

log = logging.getLogger(__name__)

FORWARDED_IDENTITY_HEADERS = ("X-Forwarded-Email", "X-Forwarded-Preferred-Username", "X-Forwarded-User")
# The person's own OAuth token, forwarded by the Apps proxy when the app has user authorization (user_api_scopes).
ACCESS_TOKEN_HEADER = "X-Forwarded-Access-Token"
ANONYMOUS = "anonymous"
SECRET_VARIABLE = "BOKEH_SECRET_KEY"
# Session id -> the (lower-case) identity the proxy forwarded on the request that created the session, in this
# server process; entries leave with their session.
_SESSION_OWNERS: dict[str, str] = {}
# Bokeh warns below 32 characters; a secret resource made as docs/databricks.md says has 64 hex digits.
MIN_SECRET_LENGTH = 32


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """Case-insensitive header lookup; list values (``pn.state.headers`` may hold them) give their first item.

    A header sent more than once on a real request (tornado ``HTTPHeaders``) gives None: the proxy sets identity
    headers once, so a second copy means someone else added one, and neither can be trusted.
    """
    if not headers:
        return None
    get_list = getattr(headers, "get_list", None)
    if get_list is not None and len(get_list(name)) > 1:
        log.warning("request carries %s more than once; ignored", name)
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


def resolve_user(
    settings: Settings,
    *,
    headers: Mapping[str, Any] | None = None,
    panel_user: str | None = None,
    notebook: bool = False,
    client_factory: Callable[[], Any] | None = None,
) -> User:
    """The acting ``User`` for one session or notebook (see the module docstring for the order).

    In an App, ``headers`` must be those of a request the proxy forwarded (``session_request_headers``).
    """
    if settings.is_databricks_app:
        # Behind the Apps proxy only the proxy says who someone is; Panel's cookies are not its word.
        return make_user(forwarded_identity(headers) or ANONYMOUS, settings, source="databricks-app")
    if panel_user:
        return make_user(panel_user, settings, source="panel-auth")
    if notebook:
        name = current_databricks_user(client_factory) if on_databricks_runtime() else None
        return make_user(name, settings, source="notebook")
    return make_user(None, settings, source="local")


def session_secret(env: Mapping[str, str] | None = None) -> str:
    """``BOKEH_SECRET_KEY``, which signs the session ids of a Databricks App; ``ConfigurationError`` if unusable."""
    env = os.environ if env is None else env
    secret = env.get(SECRET_VARIABLE, "")
    if not secret.strip():
        raise ConfigurationError(
            f"{SECRET_VARIABLE} is not set: a Databricks App must sign its session ids with a secret "
            "(add the session-secret resource, see docs/databricks.md)"
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"{SECRET_VARIABLE} must be at least {MIN_SECRET_LENGTH} characters, got {len(secret)}"
        )
    return secret


def require_signed_session(session_id: str | None, env: Mapping[str, str] | None = None) -> str:
    """Refuse (``ConfigurationError``) a session whose id is not signed with ``BOKEH_SECRET_KEY``; returns the id.

    With signing on, Bokeh admits only ids it signed itself, so a valid signature here shows that this server checks
    signatures (``--session-ids signed``); a server started without it hands out unsigned ids and accepts any token.
    """
    from bokeh.util.token import check_session_id_signature

    secret = session_secret(env).encode("utf-8")
    if not session_id or not check_session_id_signature(session_id, secret_key=secret, signed=True):
        raise ConfigurationError(
            f"session ids are not signed: a Databricks App must be served with --session-ids signed and "
            f"{SECRET_VARIABLE} set (see app.yaml)"
        )
    return session_id


def session_request_headers(session_context: Any) -> Mapping[str, Any]:
    """The headers of the HTTP request that opened this Bokeh session, as they reached the server.

    ``session_context.request.headers`` (and ``pn.state.headers``) come from the session token's payload; the
    request itself is the page request or the websocket upgrade that created the session, which the Apps proxy
    stamps with the person it signed in. Bokeh 3.9 keeps it only in the private ``_request`` of its request proxy
    (docs/workarounds.md); without it the result is empty, i.e. an anonymous user, never the payload's word.
    """
    proxy = getattr(session_context, "request", None)
    request = getattr(proxy, "_request", None)
    headers = getattr(request, "headers", None)
    if headers is None:
        log.warning("the request that opened this session is not available; acting as %s", ANONYMOUS)
        return {}
    return headers


def session_user(settings: Settings) -> User:
    """The person behind the current Panel server session."""
    import panel as pn

    if settings.is_databricks_app:
        context = pn.state.curdoc.session_context if pn.state.curdoc else None
        session_id = require_signed_session(getattr(context, "id", None))
        user = resolve_user(settings, headers=session_request_headers(context))
        _SESSION_OWNERS[session_id] = user.name.lower()
        pn.state.on_session_destroyed(_forget_owner)
        return user
    return resolve_user(settings, panel_user=pn.state.user)


def _forget_owner(session_context: Any) -> None:
    _SESSION_OWNERS.pop(session_context.id, None)


def request_user(handler: Any) -> str | None:
    """Bokeh's ``get_user`` auth hook in an App: who sent this request, or None to refuse a websocket upgrade.

    A Bokeh session accepts any websocket that presents its token; the token is in the page of the person who
    opened the session. Whoever else presents it (a copied page, a leaked URL) would join that person's session
    and act as them. So a websocket upgrade for a session that exists here is let through only for the person
    the proxy forwarded when the session was created (a refusal is a 403 before the handshake). Page requests
    are never refused: a request without identity headers is the anonymous viewer of ``resolve_user``.
    """
    from bokeh.util.token import get_session_id

    identity = forwarded_identity(handler.request.headers) or ANONYMOUS
    protocols = [part.strip() for part in handler.request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    if len(protocols) != 2:
        return identity  # not a Bokeh websocket upgrade (or one Bokeh refuses itself)
    try:
        session_id = get_session_id(protocols[1])
    except Exception:  # noqa: BLE001 - a malformed token: Bokeh refuses it after the handshake
        return identity
    owner = _SESSION_OWNERS.get(session_id)
    if owner is not None and owner != identity.lower():
        log.warning(
            "refused a websocket to a session opened by someone else (session %s…, sent by %s)",
            str(session_id)[:8],
            identity,
        )
        return None
    return identity


def session_access_token(settings: Settings) -> str | None:
    """On behalf of the user: the OAuth token the Apps proxy forwarded for the person behind this session.

    Only in an App with ``INVENTORY_ON_BEHALF_OF_USER`` on, and only from the request that opened the session (as
    for the identity headers: never ``pn.state.headers``, which the session token's payload fills). None otherwise —
    no user authorization configured, a request without the header — and the caller then acts as the app's service
    principal. Call it while the session is being created (the view's ``__init__``); the token stays on the server.
    """
    if not (settings.is_databricks_app and settings.on_behalf_of_user):
        return None
    import panel as pn

    context = pn.state.curdoc.session_context if pn.state.curdoc else None
    token = header(session_request_headers(context), ACCESS_TOKEN_HEADER) if context is not None else None
    if token is None:
        log.info("no %s on this session's request: acting as the app's service principal", ACCESS_TOKEN_HEADER)
    return token
