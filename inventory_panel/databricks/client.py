"""The one place a ``WorkspaceClient`` is built: from the environment, with bounded retries.

The SDK reads ``DATABRICKS_HOST`` and whichever credentials are present (an App's ``DATABRICKS_CLIENT_ID`` /
``DATABRICKS_CLIENT_SECRET``, ``DATABRICKS_TOKEN``, a notebook's runtime context, a CLI profile). Its default retry
budget is five minutes; a password provider or a UI check must not hang that long, so it is shortened here.

``workspace_client(user_token=…)`` acts on behalf of a person instead: the OAuth token the Apps proxy forwarded for
them (``X-Forwarded-Access-Token``, see ``identity.session_access_token``), with only the host taken from the
environment, so their own permissions and the app's user-authorization scopes apply.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from databricks.sdk import WorkspaceClient
from databricks.sdk.core import Config

from ..errors import ConfigurationError

RETRY_TIMEOUT_SECONDS = 45
HTTP_TIMEOUT_SECONDS = 20


def _product_version() -> str:
    """The installed package's version (from its metadata, not the package root: importing the root would make
    this module depend on everything the root imports, the UI included)."""
    try:
        return version("inventory-panel")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def first_line(exc: BaseException) -> str:
    """The gist of an SDK error: its first line, without the dump of the configuration the SDK appends."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    line = text.splitlines()[0]
    for marker in (". Config: ", " Config: ", ". Env: "):
        line = line.split(marker, 1)[0]
    return line.rstrip(". ")


def workspace_client(
    *, retry_timeout_seconds: int = RETRY_TIMEOUT_SECONDS, user_token: str | None = None
) -> WorkspaceClient:
    """A client for the workspace the environment points at; ``ConfigurationError`` when none is configured.

    With ``user_token`` it authenticates with that token only (``auth_type`` "pat": a bearer token as given), never
    with the service principal's credentials that are in the environment too.
    """
    on_behalf: dict[str, Any] = {"token": user_token, "auth_type": "pat"} if user_token else {}
    try:
        config = Config(
            product="inventory-panel",
            product_version=_product_version(),
            retry_timeout_seconds=retry_timeout_seconds,
            http_timeout_seconds=HTTP_TIMEOUT_SECONDS,
            **on_behalf,
        )
    except ValueError as exc:
        raise ConfigurationError(
            "Databricks authentication is not configured (set DATABRICKS_HOST and DATABRICKS_CLIENT_ID/"
            f"DATABRICKS_CLIENT_SECRET or DATABRICKS_TOKEN): {first_line(exc)}"
        ) from None
    return WorkspaceClient(config=config)
