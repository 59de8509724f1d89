"""A small fake Databricks workspace: a real HTTP server on 127.0.0.1 that the real ``databricks-sdk`` talks to.

It answers what the app and the setup code call, in the shapes databricks-sdk 0.162 sends and parses:

- host metadata and OAuth M2M: ``/.well-known/databricks-config``, ``/oidc/.well-known/oauth-authorization-server``,
  ``/oidc/v1/token`` (client credentials, HTTP basic auth);
- Lakebase credentials: ``POST /api/2.0/postgres/credentials`` (Autoscaling) and ``POST /api/2.0/database/credentials``
  (Provisioned);
- current user (SCIM ``Me``), apps (``GET /api/2.0/apps/{name}``), workspace ``get-status``/``mkdirs``;
- Lakebase Autoscaling roles and catalogs (long-running operations), Provisioned instances, instance roles and
  database catalogs;
- Lakeview dashboards: create, get, update, publish, get published;
- object permissions (``/api/2.0/permissions/{type}/{id}``: ``dashboards``, ``database-projects``,
  ``database-instances``) and the AI/BI embedding settings (access policy, approved domains).

Every API call must carry a bearer token the server issued (or the configured PAT). Tokens can be rotated; every
request is recorded so tests can assert which calls were made and that a second setup run creates nothing.

Permissions are modelled as a real workspace enforces them: the PAT belongs to ``current_user``, a workspace admin;
OAuth tokens belong to the service principal ``client_id`` (the app). A non-admin gets HTTP 403
``PERMISSION_DENIED`` (the SDK raises ``PermissionDenied``) from

- a Lakebase credential without ``CAN_USE`` on the project (``database-projects/<project>``, Autoscaling) or the
  instance (``database-instances/<name>``, Provisioned) — what the app's database resource grants;
- a dashboard's draft or published version without ``CAN_READ`` on ``dashboards/<id>`` (``CAN_EDIT`` to change or
  publish it), and its permissions without ``CAN_MANAGE`` to change them;
- changing a workspace setting (admins only).

``app_database_grant=True`` (the default) starts with the service principal holding ``CAN_USE`` on the project
and instance, as on a workspace where the app's database resource was added; pass False to start from nothing.
"""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.local_http import start_local_server, stop_local_server

Route = tuple[str, re.Pattern[str], Callable[..., tuple[int, Any]]]


@dataclass(frozen=True)
class Call:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str | None


@dataclass
class IssuedToken:
    value: str
    expires: datetime


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        self.status, self.code, self.message = status, code, message
        super().__init__(message)


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class FakeWorkspace:
    """Start with ``FakeWorkspace().start()``; ``url`` is the ``DATABRICKS_HOST`` to use."""

    workspace_id: str = "1234567890123456"
    client_id: str = "7f1c2e3a-0b4d-4c5e-9f60-7a8b9c0d1e2f"
    client_secret: str = "fake-client-secret"
    pat: str = "dapi-fake-personal-access-token"
    current_user: str = "ana@example.com"
    token_ttl: timedelta = timedelta(hours=1)
    endpoint: str = "projects/inventory/branches/main/endpoints/primary"  # a Lakebase Autoscaling endpoint
    instance: str = "inventory-instance"  # a Lakebase Provisioned instance
    app_database_grant: bool = True
    calls: list[Call] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._oauth_issued: set[str] = set()
        self.database_token = IssuedToken("", datetime.now(UTC))
        self.oauth_token = IssuedToken("", datetime.now(UTC))
        self.rotate_database_token()
        self.rotate_oauth_token()
        self.failing: dict[str, int] = {}  # path prefix -> HTTP status to answer with (fault injection)
        # Resources, keyed as the REST API names them.
        self.apps: dict[str, dict[str, Any]] = {}
        self.instances: dict[str, dict[str, Any]] = {
            self.instance: {"name": self.instance, "state": "AVAILABLE", "pg_version": "16"}
        }
        self.instance_roles: dict[tuple[str, str], dict[str, Any]] = {}
        self.database_catalogs: dict[str, dict[str, Any]] = {}
        self.endpoints: set[str] = {self.endpoint}
        self.branches: set[str] = {self.endpoint.rsplit("/endpoints/", 1)[0]}
        self.pg_roles: dict[str, list[dict[str, Any]]] = {}
        self.pg_catalogs: dict[str, dict[str, Any]] = {}
        self.operations: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.published: dict[str, dict[str, Any]] = {}
        self.workspace_objects: dict[str, dict[str, Any]] = {"/": {"object_type": "DIRECTORY", "path": "/"}}
        self.admins: set[str] = {self.current_user}
        self.groups: dict[str, set[str]] = {"users": {self.current_user}}
        # (object type, object id) -> {(principal kind, name): permission level}; kinds as the API names them.
        self.acl: dict[tuple[str, str], dict[tuple[str, str], str]] = {}
        if self.app_database_grant:
            self.grant("database-projects", self.project, "service_principal_name", self.client_id, "CAN_USE")
            self.grant("database-instances", self.instance, "service_principal_name", self.client_id, "CAN_USE")
        self.embedding_policy = "ALLOW_APPROVED_DOMAINS"
        self.approved_domains: list[str] = []
        self.setting_etags: dict[str, int] = {}
        self.embedding_settings_stored = True  # False: the settings were never changed, and GET answers 404
        self._routes = self._build_routes()
        self._server: ThreadingHTTPServer | None = None

    @property
    def project(self) -> str:
        """The Lakebase Autoscaling project id of ``endpoint`` (its permissions object id)."""
        return self.endpoint.split("/")[1]

    # -- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> FakeWorkspace:
        workspace = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:  # keep test output clean
                return

            def do_GET(self) -> None:
                workspace._handle(self, "GET")

            def do_POST(self) -> None:
                workspace._handle(self, "POST")

            def do_PATCH(self) -> None:
                workspace._handle(self, "PATCH")

            def do_DELETE(self) -> None:
                workspace._handle(self, "DELETE")

        self._server = start_local_server(Handler, "fake-workspace")
        return self

    def close(self) -> None:
        stop_local_server(self._server)
        self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake workspace first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for an app running as this workspace's service principal (OAuth M2M)."""
        return {
            "DATABRICKS_HOST": self.url,
            "DATABRICKS_CLIENT_ID": self.client_id,
            "DATABRICKS_CLIENT_SECRET": self.client_secret,
            **extra,
        }

    # -- tokens ---------------------------------------------------------------------------------------------------

    def rotate_database_token(self) -> str:
        """Issue a new Lakebase credential from now on; the caller makes PostgreSQL accept it (ALTER ROLE)."""
        with self._lock:
            return self._rotate_database_locked()

    def rotate_oauth_token(self) -> str:
        """Issue a new workspace OAuth token from now on (earlier ones stay valid for API calls until restart)."""
        with self._lock:
            return self._rotate_oauth_locked()

    def _rotate_database_locked(self) -> str:
        self.database_token = IssuedToken(f"lakebase-{secrets.token_hex(16)}", datetime.now(UTC) + self.token_ttl)
        return self.database_token.value

    def _rotate_oauth_locked(self) -> str:
        self.oauth_token = IssuedToken(f"oauth-{secrets.token_hex(16)}", datetime.now(UTC) + self.token_ttl)
        self._oauth_issued.add(self.oauth_token.value)
        return self.oauth_token.value

    def _current_database_token(self) -> IssuedToken:
        # A credential asked for after the last one expired is a new one, as on a real workspace.
        if self.database_token.expires <= datetime.now(UTC):
            self._rotate_database_locked()
        return self.database_token

    def _current_oauth_token(self) -> IssuedToken:
        if self.oauth_token.expires <= datetime.now(UTC):
            self._rotate_oauth_locked()
        return self.oauth_token

    # -- recording ------------------------------------------------------------------------------------------------

    def requests(self, method: str | None = None, path: str | None = None) -> list[Call]:
        """Recorded calls, optionally only one method and/or paths starting with ``path``."""
        with self._lock:
            calls = list(self.calls)
        return [
            c for c in calls if (method is None or c.method == method) and (path is None or c.path.startswith(path))
        ]

    def writes(self) -> list[Call]:
        """Calls that create or change something (not token or credential requests)."""
        return [
            c
            for c in self.requests()
            if c.method != "GET"
            and not c.path.startswith(("/oidc/", "/api/2.0/postgres/credentials", "/api/2.0/database/credentials"))
        ]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- HTTP plumbing --------------------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        content_type = handler.headers.get("Content-Type") or ""
        if not raw:
            body: Any = None
        elif "json" in content_type:
            body = json.loads(raw)
        else:
            body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        auth = handler.headers.get("Authorization")
        with self._lock:
            self.calls.append(Call(method, parts.path, query, body, auth))
        try:
            status, payload = self._dispatch(method, parts.path, query, body, auth)
        except ApiError as exc:
            status, payload = exc.status, {"error_code": exc.code, "message": exc.message}
        data = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _dispatch(self, method: str, path: str, query: dict[str, str], body: Any, auth: str | None) -> tuple[int, Any]:
        for prefix, status in self.failing.items():
            if path.startswith(prefix):
                raise ApiError(
                    status,
                    "TEMPORARILY_UNAVAILABLE" if status >= 500 else "PERMISSION_DENIED",
                    f"injected failure for {prefix}",
                )
        for verb, pattern, action in self._routes:
            match = pattern.fullmatch(path)
            if verb == method and match:
                who = self._check_bearer(auth) if path.startswith("/api/") else ""
                return action(*match.groups(), query=query, body=body or {}, auth=auth, who=who)
        raise ApiError(404, "ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")

    def _check_bearer(self, auth: str | None) -> str:
        """The principal the token belongs to: the PAT is ``current_user``'s, OAuth tokens the app's."""
        token = (auth or "").removeprefix("Bearer ").strip()
        with self._lock:
            if token == self.pat:
                return self.current_user
            if token in self._oauth_issued:
                return self.client_id
        raise ApiError(401, "UNAUTHENTICATED", "Invalid access token.")

    def _build_routes(self) -> list[Route]:
        r = re.compile
        return [
            ("GET", r(r"/\.well-known/databricks-config"), self._host_metadata),
            ("GET", r(r"/oidc/\.well-known/oauth-authorization-server"), self._oidc_discovery),
            ("POST", r(r"/oidc/v1/token"), self._oidc_token),
            ("POST", r(r"/api/2\.0/postgres/credentials"), self._postgres_credential),
            ("POST", r(r"/api/2\.0/database/credentials"), self._database_credential),
            ("GET", r(r"/api/2\.0/preview/scim/v2/Me"), self._me),
            ("GET", r(r"/api/2\.0/apps/([^/]+)"), self._get_app),
            ("GET", r(r"/api/2\.0/workspace/get-status"), self._get_status),
            ("POST", r(r"/api/2\.0/workspace/mkdirs"), self._mkdirs),
            # Lakebase Provisioned
            ("GET", r(r"/api/2\.0/database/instances/([^/]+)"), self._get_instance),
            ("GET", r(r"/api/2\.0/database/instances/([^/]+)/roles/([^/]+)"), self._get_instance_role),
            ("POST", r(r"/api/2\.0/database/instances/([^/]+)/roles"), self._create_instance_role),
            ("GET", r(r"/api/2\.0/database/catalogs/([^/]+)"), self._get_database_catalog),
            ("POST", r(r"/api/2\.0/database/catalogs"), self._create_database_catalog),
            # Lakebase Autoscaling
            ("GET", r(r"/api/2\.0/postgres/(projects/[^/]+/branches/[^/]+)"), self._get_branch),
            ("GET", r(r"/api/2\.0/postgres/(projects/[^/]+/branches/[^/]+)/roles"), self._list_pg_roles),
            ("POST", r(r"/api/2\.0/postgres/(projects/[^/]+/branches/[^/]+)/roles"), self._create_pg_role),
            ("GET", r(r"/api/2\.0/postgres/catalogs/([^/]+)"), self._get_pg_catalog),
            ("POST", r(r"/api/2\.0/postgres/catalogs"), self._create_pg_catalog),
            ("GET", r(r"/api/2\.0/postgres/(operations/[^/]+)"), self._get_operation),
            # Lakeview
            ("POST", r(r"/api/2\.0/lakeview/dashboards"), self._create_dashboard),
            ("GET", r(r"/api/2\.0/lakeview/dashboards/([^/]+)"), self._get_dashboard),
            ("PATCH", r(r"/api/2\.0/lakeview/dashboards/([^/]+)"), self._update_dashboard),
            ("POST", r(r"/api/2\.0/lakeview/dashboards/([^/]+)/published"), self._publish_dashboard),
            ("GET", r(r"/api/2\.0/lakeview/dashboards/([^/]+)/published"), self._get_published),
            # Permissions and settings
            ("GET", r(r"/api/2\.0/permissions/([a-z-]+)/([^/]+)"), self._get_permissions),
            ("PATCH", r(r"/api/2\.0/permissions/([a-z-]+)/([^/]+)"), self._update_permissions),
            (
                "GET",
                r(
                    r"/api/2\.0/settings/types/(aibi_dash_embed_ws_acc_policy|aibi_dash_embed_ws_apprvd_domains)"
                    r"/names/default"
                ),
                self._get_setting,
            ),
            (
                "PATCH",
                r(
                    r"/api/2\.0/settings/types/(aibi_dash_embed_ws_acc_policy|aibi_dash_embed_ws_apprvd_domains)"
                    r"/names/default"
                ),
                self._update_setting,
            ),
        ]

    # -- auth endpoints -------------------------------------------------------------------------------------------

    def _host_metadata(self, **_: Any) -> tuple[int, Any]:
        return 200, {"oidc_endpoint": f"{self.url}/oidc", "workspace_id": self.workspace_id}

    def _oidc_discovery(self, **_: Any) -> tuple[int, Any]:
        return 200, {
            "authorization_endpoint": f"{self.url}/oidc/v1/authorize",
            "token_endpoint": f"{self.url}/oidc/v1/token",
        }

    def _oidc_token(self, *, body: Any, auth: str | None, **_: Any) -> tuple[int, Any]:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if auth != f"Basic {expected}" or body.get("grant_type") != "client_credentials":
            raise ApiError(401, "invalid_client", "Client authentication failed")
        with self._lock:
            token = self._current_oauth_token()
            expires_in = max(int((token.expires - datetime.now(UTC)).total_seconds()), 1)
            return 200, {
                "access_token": token.value,
                "token_type": "Bearer",
                "expires_in": expires_in,
                "scope": body.get("scope", "all-apis"),
            }

    # -- credentials ----------------------------------------------------------------------------------------------

    def _postgres_credential(self, *, body: Any, who: str, **_: Any) -> tuple[int, Any]:
        endpoint = body.get("endpoint", "")
        if not re.fullmatch(r"projects/[^/]+/branches/[^/]+/endpoints/[^/]+", endpoint):
            raise ApiError(
                400, "INVALID_PARAMETER_VALUE", f"endpoint must be projects/*/branches/*/endpoints/*, got {endpoint!r}"
            )
        if endpoint not in self.endpoints:
            raise ApiError(404, "NOT_FOUND", f"Endpoint '{endpoint}' not found")
        project = endpoint.split("/")[1]
        self._require_use(who, "database-projects", project, f"project '{project}'")
        return self._database_token("expire_time")

    def _database_credential(self, *, body: Any, who: str, **_: Any) -> tuple[int, Any]:
        names = body.get("instance_names") or []
        if not names:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "instance_names must not be empty")
        missing = [n for n in names if n not in self.instances]
        if missing:
            raise ApiError(404, "NOT_FOUND", f"Database instance '{missing[0]}' not found")
        for name in names:
            self._require_use(who, "database-instances", name, f"database instance '{name}'")
        return self._database_token("expiration_time")

    def _require_use(self, who: str, object_type: str, object_id: str, what: str) -> None:
        self._require(who, object_type, object_id, "CAN_USE", f"User does not have CAN_USE permission on {what}.")

    def _database_token(self, expiry_field: str) -> tuple[int, Any]:
        """The current database token; the two credential APIs name its expiry differently."""
        with self._lock:
            token = self._current_database_token()
            return 200, {"token": token.value, expiry_field: _rfc3339(token.expires)}

    # -- workspace ------------------------------------------------------------------------------------------------

    def _me(self, **_: Any) -> tuple[int, Any]:
        return 200, {"id": "1001", "userName": self.current_user, "displayName": "Ana", "active": True}

    def _get_app(self, name: str, **_: Any) -> tuple[int, Any]:
        if name not in self.apps:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"App {name} does not exist.")
        return 200, self.apps[name]

    def _get_status(self, *, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        path = query.get("path", "")
        if path not in self.workspace_objects:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
        return 200, self.workspace_objects[path]

    def _mkdirs(self, *, body: Any, **_: Any) -> tuple[int, Any]:
        path = body["path"].rstrip("/")
        parts = path.split("/")
        for i in range(2, len(parts) + 1):
            sub = "/".join(parts[:i])
            self.workspace_objects.setdefault(sub, {"object_type": "DIRECTORY", "path": sub})
        return 200, {}

    # -- Lakebase Provisioned -------------------------------------------------------------------------------------

    def _get_instance(self, name: str, **_: Any) -> tuple[int, Any]:
        if name not in self.instances:
            raise ApiError(404, "NOT_FOUND", f"Database instance '{name}' not found")
        return 200, self.instances[name]

    def _get_instance_role(self, instance: str, name: str, **_: Any) -> tuple[int, Any]:
        if (instance, name) not in self.instance_roles:
            raise ApiError(404, "NOT_FOUND", f"Role '{name}' not found in instance '{instance}'")
        return 200, self.instance_roles[(instance, name)]

    def _create_instance_role(self, instance: str, *, body: Any, **_: Any) -> tuple[int, Any]:
        self._get_instance(instance)
        key = (instance, body["name"])
        if key in self.instance_roles:
            raise ApiError(409, "ALREADY_EXISTS", f"Role '{body['name']}' already exists")
        self.instance_roles[key] = {**body, "instance_name": instance}
        return 200, self.instance_roles[key]

    def _get_database_catalog(self, name: str, **_: Any) -> tuple[int, Any]:
        if name not in self.database_catalogs:
            raise ApiError(404, "NOT_FOUND", f"Catalog '{name}' not found")
        return 200, self.database_catalogs[name]

    def _create_database_catalog(self, *, body: Any, **_: Any) -> tuple[int, Any]:
        self._get_instance(body["database_instance_name"])
        if body["name"] in self.database_catalogs:
            raise ApiError(409, "ALREADY_EXISTS", f"Catalog '{body['name']}' already exists")
        self.database_catalogs[body["name"]] = {**body, "uid": uuid.uuid4().hex}
        return 200, self.database_catalogs[body["name"]]

    # -- Lakebase Autoscaling -------------------------------------------------------------------------------------

    def _get_branch(self, branch: str, **_: Any) -> tuple[int, Any]:
        if branch not in self.branches:
            raise ApiError(404, "NOT_FOUND", f"Branch '{branch}' not found")
        return 200, {"name": branch}

    def _list_pg_roles(self, branch: str, **_: Any) -> tuple[int, Any]:
        self._get_branch(branch)
        return 200, {"roles": self.pg_roles.get(branch, [])}

    def _operation(self, resource: dict[str, Any]) -> tuple[int, Any]:
        name = f"operations/{uuid.uuid4().hex}"
        self.operations[name] = {"name": name, "done": True, "response": resource}
        return 200, {"name": name, "done": False}

    def _create_pg_role(self, branch: str, *, body: Any, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        self._get_branch(branch)
        spec = body.get("spec") or {}
        postgres_role = spec.get("postgres_role")
        if any((r["status"]["postgres_role"] == postgres_role) for r in self.pg_roles.get(branch, [])):
            raise ApiError(409, "ALREADY_EXISTS", f"Role '{postgres_role}' already exists")
        role_id = query.get("role_id") or uuid.uuid4().hex[:12]
        role = {
            "name": f"{branch}/roles/{role_id}",
            "parent": branch,
            "spec": spec,
            "status": {
                "postgres_role": postgres_role,
                "identity_type": spec.get("identity_type"),
                "auth_method": spec.get("auth_method"),
                "role_id": role_id,
            },
        }
        self.pg_roles.setdefault(branch, []).append(role)
        return self._operation(role)

    def _get_pg_catalog(self, catalog_id: str, **_: Any) -> tuple[int, Any]:
        if catalog_id not in self.pg_catalogs:
            raise ApiError(404, "NOT_FOUND", f"Catalog '{catalog_id}' not found")
        return 200, self.pg_catalogs[catalog_id]

    def _create_pg_catalog(self, *, body: Any, query: dict[str, str], **_: Any) -> tuple[int, Any]:
        catalog_id = query["catalog_id"]
        if catalog_id in self.pg_catalogs:
            raise ApiError(409, "ALREADY_EXISTS", f"Catalog '{catalog_id}' already exists")
        spec = body.get("spec") or {}
        self._get_branch(spec.get("branch", ""))
        catalog = {
            "name": f"catalogs/{catalog_id}",
            "catalog_id": catalog_id,
            "spec": spec,
            "status": {"branch": spec.get("branch"), "postgres_database": spec.get("postgres_database")},
        }
        self.pg_catalogs[catalog_id] = catalog
        return self._operation(catalog)

    def _get_operation(self, name: str, **_: Any) -> tuple[int, Any]:
        if name not in self.operations:
            raise ApiError(404, "NOT_FOUND", f"Operation '{name}' not found")
        return 200, self.operations[name]

    # -- Lakeview -------------------------------------------------------------------------------------------------

    def _create_dashboard(self, *, body: Any, who: str, **_: Any) -> tuple[int, Any]:
        parent = body.get("parent_path", "").rstrip("/")
        if parent not in self.workspace_objects:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Parent path {parent} does not exist")
        path = f"{parent}/{body['display_name']}.lvdash.json"
        if path in self.workspace_objects:
            raise ApiError(409, "RESOURCE_ALREADY_EXISTS", f"Node named '{body['display_name']}' already exists")
        json.loads(body["serialized_dashboard"])  # a real workspace refuses a definition that is not JSON
        dashboard_id = uuid.uuid4().hex
        now = _rfc3339(datetime.now(UTC))
        self.dashboards[dashboard_id] = {
            **body,
            "dashboard_id": dashboard_id,
            "path": path,
            "etag": "1",
            "lifecycle_state": "ACTIVE",
            "create_time": now,
            "update_time": now,
        }
        self.workspace_objects[path] = {"object_type": "DASHBOARD", "path": path, "resource_id": dashboard_id}
        self.grant("dashboards", dashboard_id, self._kind(who), who, "CAN_MANAGE")  # the creator manages it
        return 200, self.dashboards[dashboard_id]

    def _dashboard(self, dashboard_id: str, who: str, level: str) -> dict[str, Any]:
        if dashboard_id not in self.dashboards:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Dashboard {dashboard_id} does not exist.")
        self._require(
            who,
            "dashboards",
            dashboard_id,
            level,
            f"User {who} does not have {level} permission on dashboard {dashboard_id}.",
        )
        return self.dashboards[dashboard_id]

    def _get_dashboard(self, dashboard_id: str, *, who: str, **_: Any) -> tuple[int, Any]:
        return 200, self._dashboard(dashboard_id, who, "CAN_READ")

    def _update_dashboard(self, dashboard_id: str, *, body: Any, who: str, **_: Any) -> tuple[int, Any]:
        current = self._dashboard(dashboard_id, who, "CAN_EDIT")
        current.update({k: v for k, v in body.items() if k in ("serialized_dashboard", "warehouse_id", "display_name")})
        current["etag"] = str(int(current["etag"]) + 1)
        current["update_time"] = _rfc3339(datetime.now(UTC))
        return 200, current

    def _publish_dashboard(self, dashboard_id: str, *, body: Any, who: str, **_: Any) -> tuple[int, Any]:
        current = self._dashboard(dashboard_id, who, "CAN_EDIT")
        self.published[dashboard_id] = {
            "display_name": current["display_name"],
            "warehouse_id": body.get("warehouse_id") or current.get("warehouse_id"),
            "embed_credentials": body.get("embed_credentials", False),
            "revision_create_time": current["update_time"],
        }
        return 200, self.published[dashboard_id]

    def _get_published(self, dashboard_id: str, *, who: str, **_: Any) -> tuple[int, Any]:
        self._dashboard(dashboard_id, who, "CAN_READ")
        if dashboard_id not in self.published:
            raise ApiError(404, "NOT_FOUND", f"Dashboard {dashboard_id} is not published.")
        return 200, self.published[dashboard_id]

    # -- permissions ----------------------------------------------------------------------------------------------

    LEVELS: ClassVar[dict[str, tuple[str, ...]]] = {  # lowest first; what each object type accepts
        "dashboards": ("CAN_READ", "CAN_RUN", "CAN_EDIT", "CAN_MANAGE"),
        "database-projects": ("CAN_USE", "CAN_MANAGE"),
        "database-instances": ("CAN_USE", "CAN_MANAGE"),
    }
    PRINCIPAL_KINDS = ("user_name", "group_name", "service_principal_name")

    def grant(self, object_type: str, object_id: str, kind: str, name: str, level: str) -> None:
        """Give ``name`` (a ``user_name``, ``group_name`` or ``service_principal_name``) ``level`` on an object."""
        self.acl.setdefault((object_type, object_id), {})[(kind, name)] = level

    def revoke(self, object_type: str, object_id: str, name: str) -> None:
        entries = self.acl.get((object_type, object_id), {})
        for key in [k for k in entries if k[1] == name]:
            del entries[key]

    def _kind(self, who: str) -> str:
        return "service_principal_name" if who == self.client_id else "user_name"

    def level_of(self, who: str, object_type: str, object_id: str) -> int:
        """The rank of ``who``'s highest permission on the object (its groups' included); -1 for none."""
        order = self.LEVELS[object_type]
        if who in self.admins:
            return len(order) - 1
        entries = self.acl.get((object_type, object_id), {})
        mine = [
            level
            for (kind, name), level in entries.items()
            if name == who or (kind == "group_name" and who in self.groups.get(name, set()))
        ]
        return max((order.index(level) for level in mine), default=-1)

    def _require(self, who: str, object_type: str, object_id: str, level: str, message: str) -> None:
        if self.level_of(who, object_type, object_id) < self.LEVELS[object_type].index(level):
            raise ApiError(403, "PERMISSION_DENIED", message)

    def _object(self, object_type: str, object_id: str) -> None:
        known = {
            "dashboards": self.dashboards,
            "database-instances": self.instances,
            "database-projects": {b.split("/")[1] for b in self.branches},
        }
        if object_type not in known:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Unknown object type {object_type}")
        if object_id not in known[object_type]:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"{object_type} {object_id} does not exist.")

    def _permissions(self, object_type: str, object_id: str) -> dict[str, Any]:
        acl = [
            {kind: name, "all_permissions": [{"permission_level": level, "inherited": False}]}
            for (kind, name), level in sorted(self.acl.get((object_type, object_id), {}).items())
        ]
        return {
            "object_id": f"/{object_type}/{object_id}",
            "object_type": object_type.rstrip("s"),
            "access_control_list": acl,
        }

    def _get_permissions(self, object_type: str, object_id: str, *, who: str, **_: Any) -> tuple[int, Any]:
        self._object(object_type, object_id)
        self._require(
            who,
            object_type,
            object_id,
            self.LEVELS[object_type][0],
            f"User {who} has no permission on {object_type} {object_id}.",
        )
        return 200, self._permissions(object_type, object_id)

    def _update_permissions(
        self, object_type: str, object_id: str, *, body: Any, who: str, **_: Any
    ) -> tuple[int, Any]:
        self._object(object_type, object_id)
        self._require(
            who,
            object_type,
            object_id,
            "CAN_MANAGE",
            f"User {who} does not have CAN_MANAGE permission on {object_type} {object_id}.",
        )
        entries = body.get("access_control_list") or []
        for entry in entries:
            kinds = [k for k in self.PRINCIPAL_KINDS if entry.get(k)]
            level = entry.get("permission_level")
            if len(kinds) != 1:
                raise ApiError(400, "INVALID_PARAMETER_VALUE", "Exactly one principal per access control entry")
            if level not in self.LEVELS[object_type]:
                raise ApiError(
                    400, "INVALID_PARAMETER_VALUE", f"Permission level {level} is not valid for {object_type}"
                )
        for entry in entries:
            kind = next(k for k in self.PRINCIPAL_KINDS if entry.get(k))
            self.grant(object_type, object_id, kind, entry[kind], entry["permission_level"])
        return 200, self._permissions(object_type, object_id)

    # -- settings -------------------------------------------------------------------------------------------------

    def _setting(self, name: str) -> dict[str, Any]:
        etag = str(self.setting_etags.get(name, 0))
        if name == "aibi_dash_embed_ws_acc_policy":
            value = {"aibi_dashboard_embedding_access_policy": {"access_policy_type": self.embedding_policy}}
        else:
            value = {"aibi_dashboard_embedding_approved_domains": {"approved_domains": list(self.approved_domains)}}
        return {**value, "setting_name": "default", "etag": etag}

    def _get_setting(self, name: str, **_: Any) -> tuple[int, Any]:
        if name not in self.setting_etags and not self.embedding_settings_stored:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Setting {name} does not exist")  # never changed
        return 200, self._setting(name)

    def _update_setting(self, name: str, *, body: Any, who: str, **_: Any) -> tuple[int, Any]:
        if who not in self.admins:
            raise ApiError(403, "PERMISSION_DENIED", "Only workspace admins can change workspace settings.")
        if body.get("allow_missing") is not True or not body.get("field_mask"):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", "allow_missing must be true and field_mask set")
        setting = body.get("setting") or {}
        if setting.get("etag") is not None and setting["etag"] != str(self.setting_etags.get(name, 0)):
            raise ApiError(409, "RESOURCE_CONFLICT", "etag does not match the current setting")
        if name == "aibi_dash_embed_ws_acc_policy":
            self.embedding_policy = setting["aibi_dashboard_embedding_access_policy"]["access_policy_type"]
        else:
            if self.embedding_policy != "ALLOW_APPROVED_DOMAINS":
                raise ApiError(
                    400,
                    "INVALID_PARAMETER_VALUE",
                    "The approved domains list can't be mutated when the access policy is not ALLOW_APPROVED_DOMAINS",
                )
            domains = (setting.get("aibi_dashboard_embedding_approved_domains") or {}).get("approved_domains")
            self.approved_domains = list(domains or [])
        self.setting_etags[name] = self.setting_etags.get(name, 0) + 1
        return 200, self._setting(name)


ISOLATED_PREFIXES = (
    "DATABRICKS_",
    "PG",
    "INVENTORY_",
    "LAKEBASE_",
    "POSTGRES_",
    "DASHBOARD_",
    "ARM_",
    "AZURE_",
    "GOOGLE_",
)


def isolate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every variable the app or the SDK reads, so a test sees only what it sets (no CLI profile either)."""
    for name in list(os.environ):
        if name.startswith(ISOLATED_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", "/nonexistent/databrickscfg")
