"""Lakebase OAuth credentials as PostgreSQL passwords (README, Configuration).

Lakebase accepts a Databricks OAuth token as the password of a role; a token lasts about an hour. The engine asks
the provider built here for a password for every *new* connection (SQLAlchemy ``do_connect``, see
``storage.engines.attach_password_provider``). Open connections are never touched: PostgreSQL checks the password
only at login, so work in flight is not disturbed when the token changes and the pool is never rebuilt.

Which credential, first match wins:

- ``PGENDPOINT`` (Lakebase Autoscaling endpoint path) -> ``w.postgres.generate_database_credential(endpoint=…)``
- ``LAKEBASE_INSTANCE_NAME`` (Lakebase Provisioned) -> ``w.database.generate_database_credential(instance_names=…)``
- neither -> the workspace OAuth token of the identity the SDK authenticates as (an App's service principal, the
  notebook user, a developer's ``databricks auth login``). Lakebase accepts only OAuth tokens as passwords: when that
  identity logs in with anything else (a personal access token, ``auth_type`` "pat"), the provider refuses with one
  ``ConfigurationError`` line saying what to configure instead of sending a token Lakebase would reject.

The token is cached and replaced ahead of its expiry (five minutes before, or half-way for short-lived tokens).
One thread refreshes while the others keep using the still-valid token; if a refresh fails while the cached token
is still valid, that token is used and the refresh is retried on the next connection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from databricks.sdk import WorkspaceClient
from databricks.sdk.errors import NotFound, PermissionDenied, Unauthenticated
from google.protobuf.timestamp_pb2 import Timestamp

from ..errors import ConfigurationError, DatabaseUnavailableError
from ..settings import PostgresParams
from .client import first_line, workspace_client

log = logging.getLogger(__name__)

REFRESH_MARGIN = timedelta(minutes=5)
DEFAULT_LIFETIME = timedelta(hours=1)  # what Lakebase issues when a response carries no expiry
# What to configure when the workspace login gives no OAuth token (the one-line ConfigurationError).
NO_OAUTH_HELP = (
    "set PGENDPOINT (Lakebase Autoscaling endpoint path) or LAKEBASE_INSTANCE_NAME "
    "(Lakebase Provisioned), or log in with OAuth: `databricks auth login` (a person) or "
    "DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET (a service principal's OAuth M2M)"
)


@dataclass(frozen=True)
class Credential:
    """A token and when it stops working (aware UTC)."""

    token: str
    issued: datetime
    expires: datetime

    @property
    def refresh_at(self) -> datetime:
        lifetime = self.expires - self.issued
        return self.expires - min(REFRESH_MARGIN, lifetime / 2)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _parse_rfc3339(value: str | None) -> datetime | None:
    if not value:
        return None
    stamp = Timestamp()
    stamp.FromJsonString(value)  # handles "Z", offsets and nanoseconds, which fromisoformat does not
    return stamp.ToDatetime(tzinfo=UTC)


class LakebaseCredentials:
    """A thread-safe password provider: ``provider()`` returns a token valid for a new connection."""

    def __init__(self, pg: PostgresParams):
        self.pg = pg
        if pg.endpoint:
            self.flavour, self.variable, self.target = "autoscaling", "PGENDPOINT", pg.endpoint
        elif pg.instance_name:
            self.flavour, self.variable, self.target = "provisioned", "LAKEBASE_INSTANCE_NAME", pg.instance_name
        else:
            self.flavour, self.variable, self.target = "workspace-token", "DATABRICKS_HOST", "workspace OAuth token"
        self._client: WorkspaceClient | None = None
        self._credential: Credential | None = None
        self._refresh_lock = threading.Lock()

    def __repr__(self) -> str:  # never shows the token
        return f"LakebaseCredentials({self.flavour}: {self.target})"

    def __call__(self) -> str:
        cached = self._credential
        now = _utcnow()
        if cached is not None and now < cached.refresh_at:
            return cached.token
        still_valid = cached is not None and now < cached.expires
        # While one thread refreshes, the others keep using a token that still works instead of queueing.
        if not self._refresh_lock.acquire(blocking=not still_valid):
            assert cached is not None
            return cached.token
        try:
            current = self._credential
            if current is not None and _utcnow() < current.refresh_at:
                return current.token  # refreshed by another thread while this one waited
            try:
                fresh = self._fetch()
            except (DatabaseUnavailableError, ConfigurationError) as exc:
                if current is not None and _utcnow() < current.expires:
                    log.warning("Lakebase credential refresh failed, using the current one until it expires: %s", exc)
                    return current.token
                raise
            self._credential = fresh
            log.info("Lakebase credential (%s) refreshed; valid until %s", self.flavour, fresh.expires.isoformat())
            return fresh.token
        finally:
            self._refresh_lock.release()

    def invalidate(self) -> None:
        """Forget the cached token (the server refused it): the next call fetches a new one."""
        with self._refresh_lock:
            self._credential = None

    # -- fetching -----------------------------------------------------------------------------------------------

    def _workspace(self) -> WorkspaceClient:
        if self._client is None:
            self._client = workspace_client()
        return self._client

    def _fetch(self) -> Credential:
        w = self._workspace()
        issued = _utcnow()
        try:
            if self.flavour == "autoscaling":
                cred = w.postgres.generate_database_credential(endpoint=self.target)
                expires = cred.expire_time.ToDatetime(tzinfo=UTC) if cred.expire_time else None
                token = cred.token
            elif self.flavour == "provisioned":
                db_cred = w.database.generate_database_credential(instance_names=[self.target])
                expires, token = _parse_rfc3339(db_cred.expiration_time), db_cred.token
            else:
                token, expires = self._workspace_token(w)
        except NotFound as exc:
            raise ConfigurationError(
                f"{self.variable} {self.target!r} does not exist in the workspace: {first_line(exc)}"
            ) from None
        except (Unauthenticated, PermissionDenied) as exc:
            raise DatabaseUnavailableError(
                f"Databricks refused a Lakebase credential for {self.target} ({self.variable}): {first_line(exc)}"
            ) from None
        except (OSError, ValueError) as exc:  # SDK API errors are OSErrors; auth/config problems are ValueErrors
            raise DatabaseUnavailableError(
                f"Could not get a Lakebase credential for {self.target} ({self.variable}): {first_line(exc)}"
            ) from None
        if not token:
            raise DatabaseUnavailableError(f"Databricks returned no Lakebase credential for {self.target}")
        if expires is None or expires <= issued:
            expires = issued + DEFAULT_LIFETIME
        return Credential(token=token, issued=issued, expires=expires)

    @staticmethod
    def _workspace_token(w: WorkspaceClient) -> tuple[str, datetime | None]:
        try:
            token = w.config.oauth_token()
        except ValueError:
            # Not an OAuth login (e.g. a personal access token): Lakebase would refuse that token as a password.
            kind = "a personal access token" if w.config.auth_type == "pat" else f"{w.config.auth_type!r}"
            raise ConfigurationError(
                f"Lakebase accepts only OAuth tokens, but Databricks authentication here is {kind}: {NO_OAUTH_HELP}"
            ) from None
        expiry = token.expiry
        if expiry is not None and expiry.tzinfo is None:
            expiry = expiry.astimezone(UTC)  # the SDK stamps a naive local time
        return token.access_token, expiry


def credential_provider(pg: PostgresParams) -> Callable[[], str]:
    """The password provider for ``pg`` (no ``PGPASSWORD``): see the module docstring."""
    return LakebaseCredentials(pg)
