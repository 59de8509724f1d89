"""SQL warehouses and Unity Catalog tables for the fake workspace: the Statement Execution API, as databricks-sdk 0.162
calls it, plus a separate "cloud storage" server for the external links of results.

``FakeSqlWarehouse(workspace).install()`` adds its routes to a started or unstarted ``FakeWorkspace`` (the only
coupling: it prepends to the workspace's route list, so ``fake_workspace.py`` itself is unchanged):

- ``POST /api/2.0/sql/statements`` (execute), ``GET /api/2.0/sql/statements/{id}`` (poll),
  ``GET /api/2.0/sql/statements/{id}/result/chunks/{n}`` (a chunk), ``POST /api/2.0/sql/statements/{id}/cancel``.

It behaves like the real API where the client can tell: request checks (``ARROW_STREAM`` only with
``EXTERNAL_LINKS``, ``wait_timeout`` 0s or 5s-50s) answer HTTP 400 ``INVALID_PARAMETER_VALUE``; an unknown
warehouse HTTP 404 ``RESOURCE_DOES_NOT_EXIST``; a principal without ``CAN_USE`` on the warehouse HTTP 403
``PERMISSION_DENIED``. A statement is ``PENDING`` while its warehouse starts (``start_polls`` polls for a stopped
warehouse), then ``SUCCEEDED`` with a manifest (schema, ``total_chunk_count``, ``total_row_count``, ``chunks``)
and the first chunk, or ``FAILED`` with ``status.error`` (``error_code``, ``message``) and ``sql_state`` as
Databricks SQL fails: ``[TABLE_OR_VIEW_NOT_FOUND]`` (42P01), ``[INSUFFICIENT_PERMISSIONS]`` (42501) naming the
missing ``USE CATALOG`` / ``USE SCHEMA`` / ``SELECT``, ``[PARSE_SYNTAX_ERROR]`` (42601) for any statement that is
not ``SELECT <quoted columns or *> FROM `c`.`s`.`t` [ORDER BY <quoted columns>]``. Inline chunks carry
``data_array`` (values as text, ``null`` for NULL) and ``next_chunk_index`` on the result; external-link chunks an
``external_links`` entry (``next_chunk_index`` on the link) whose URL, on another port, serves the chunk as an Arrow
IPC stream, refuses a request that carries an ``Authorization`` header (as cloud storage does for a presigned
URL), answers 403 once it expired (``link_ttl``; the chunk endpoint hands out a fresh link), and is made only when
it is downloaded (``downloads`` records each one, in order).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa

from tests.support.fake_workspace import ApiError, FakeWorkspace
from tests.support.local_http import start_local_server, stop_local_server

_QUOTED = r"`[^`]+`"
SELECT_RE = re.compile(
    rf"SELECT (\*|{_QUOTED}(?:, {_QUOTED})*) FROM ({_QUOTED})\.({_QUOTED})\.({_QUOTED})"
    rf"(?: ORDER BY ({_QUOTED}(?:, {_QUOTED})*))?"
)
TYPE_NAMES = {
    pa.string(): "STRING",
    pa.int32(): "INT",
    pa.int64(): "LONG",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
}


@dataclass
class Statement:
    statement_id: str
    who: str
    disposition: str
    format: str
    polls_left: int
    state: str = "PENDING"
    result: pa.Table | None = None
    error: tuple[str, str, str] | None = None  # error_code, message, sql_state


@dataclass
class FakeSqlWarehouse:
    workspace: FakeWorkspace
    warehouse_id: str = "abcdef0123456789"
    chunk_rows: int = 1000  # rows per result chunk
    start_polls: int = 0  # polls a statement stays PENDING (a stopped warehouse starting)
    fail_start: bool = False  # the warehouse fails to start: statements end FAILED
    link_ttl: timedelta = timedelta(minutes=15)  # how long an external link stays valid
    tables: dict[tuple[str, str, str], pa.Table] = field(default_factory=dict)
    # (securable kind, name) -> principals: ("catalog", c) USE CATALOG, ("schema", "c.s") USE SCHEMA,
    # ("table", "c.s.t") SELECT; ("warehouse", id) CAN_USE.
    privileges: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    statements: dict[str, Statement] = field(default_factory=dict)
    downloads: list[tuple[str, int]] = field(default_factory=list)  # (statement id, chunk index), in order
    cancelled: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._links: dict[str, tuple[str, int, datetime]] = {}  # link token -> statement, chunk, expiry
        self._storage: ThreadingHTTPServer | None = None
        self.grant("warehouse", self.warehouse_id, "users")

    # -- set-up -----------------------------------------------------------------------------------------------

    def install(self) -> FakeSqlWarehouse:
        """Register the routes with the workspace and start the storage server for external links."""
        r = re.compile
        self.workspace._routes[:0] = [
            ("POST", r(r"/api/2\.0/sql/statements/?"), self._execute),
            ("GET", r(r"/api/2\.0/sql/statements/([^/]+)"), self._get),
            ("GET", r(r"/api/2\.0/sql/statements/([^/]+)/result/chunks/(\d+)"), self._chunk),
            ("POST", r(r"/api/2\.0/sql/statements/([^/]+)/cancel"), self._cancel),
        ]
        self._start_storage()
        return self

    def close(self) -> None:
        stop_local_server(self._storage)
        self._storage = None

    def add_table(self, name: str, data: pa.Table, readers: tuple[str, ...] = ("users",)) -> None:
        """A table ``catalog.schema.table``; ``readers`` (principals or groups) get every privilege reading takes."""
        catalog, schema, table = name.split(".")
        self.tables[(catalog, schema, table)] = data
        for principal in readers:
            self.grant("catalog", catalog, principal)
            self.grant("schema", f"{catalog}.{schema}", principal)
            self.grant("table", name, principal)

    def grant(self, kind: str, name: str, principal: str) -> None:
        self.privileges.setdefault((kind, name), set()).add(principal)

    def revoke(self, kind: str, name: str, principal: str) -> None:
        self.privileges.get((kind, name), set()).discard(principal)

    def _has(self, who: str, kind: str, name: str) -> bool:
        holders = self.privileges.get((kind, name), set())
        return who in holders or any(who in self.workspace.groups.get(g, set()) for g in holders)

    # -- Statement Execution API ------------------------------------------------------------------------------

    def _execute(self, *, body: Any, who: str, **_: Any) -> tuple[int, Any]:
        disposition = body.get("disposition", "INLINE")
        fmt = body.get("format", "JSON_ARRAY")
        if fmt == "ARROW_STREAM" and disposition != "EXTERNAL_LINKS":
            raise ApiError(
                400, "INVALID_PARAMETER_VALUE", "ARROW_STREAM format is only supported with EXTERNAL_LINKS disposition"
            )
        wait = body.get("wait_timeout", "10s")
        seconds = int(wait[:-1]) if re.fullmatch(r"\d+s", wait) else -1
        if seconds != 0 and not 5 <= seconds <= 50:
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"wait_timeout must be 0s or between 5s and 50s: {wait}")
        warehouse = body.get("warehouse_id")
        if warehouse != self.warehouse_id:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Warehouse {warehouse} does not exist.")
        if who not in self.workspace.admins and not self._has(who, "warehouse", warehouse):
            raise ApiError(
                403, "PERMISSION_DENIED", f"User {who} does not have permission to use warehouse {warehouse}."
            )
        statement = Statement(f"01ef-{uuid.uuid4().hex}", who, disposition, fmt, self.start_polls)
        with self._lock:
            self.statements[statement.statement_id] = statement
        self._run(statement, body.get("statement", ""))
        if seconds and statement.polls_left == 0:
            statement.state = "FAILED" if statement.error else "SUCCEEDED"
        return 200, self._response(statement)

    def _run(self, statement: Statement, sql: str) -> None:
        """Decide the outcome now (the data is read lazily, chunk by chunk, when the client asks for it)."""
        if self.fail_start:
            statement.error = (
                "INTERNAL_ERROR",
                f"Warehouse {self.warehouse_id} failed to start: cluster launch failed (quota exceeded).",
                "XX000",
            )
            return
        match = SELECT_RE.fullmatch(sql)
        if not match:
            statement.error = (
                "BAD_REQUEST",
                f"[PARSE_SYNTAX_ERROR] Syntax error at or near {sql[:40]!r}. SQLSTATE: 42601",
                "42601",
            )
            return
        columns, catalog, schema, table, order = match.groups()
        catalog, schema, table = (p.strip("`") for p in (catalog, schema, table))
        who = statement.who
        for kind, name, privilege, label in (
            ("catalog", catalog, "USE CATALOG", "Catalog"),
            ("schema", f"{catalog}.{schema}", "USE SCHEMA", "Schema"),
            ("table", f"{catalog}.{schema}.{table}", "SELECT", "Table"),
        ):
            if kind == "table" and (catalog, schema, table) not in self.tables:
                break
            if not self._has(who, kind, name):
                statement.error = (
                    "BAD_REQUEST",
                    f"[INSUFFICIENT_PERMISSIONS] Insufficient privileges:\nUser "
                    f"does not have {privilege} on {label} '{name}'. SQLSTATE: 42501",
                    "42501",
                )
                return
        data = self.tables.get((catalog, schema, table))
        if data is None:
            statement.error = (
                "BAD_REQUEST",
                f"[TABLE_OR_VIEW_NOT_FOUND] The table or view `{catalog}`.`{schema}`."
                f"`{table}` cannot be found. Verify the spelling and correctness of "
                "the schema and catalog. SQLSTATE: 42P01",
                "42P01",
            )
            return
        if columns != "*":
            names = [c.strip("`") for c in columns.split(", ")]
            missing = [c for c in names if c not in data.column_names]
            if missing:
                statement.error = (
                    "BAD_REQUEST",
                    f"[UNRESOLVED_COLUMN.WITH_SUGGESTION] A column with name "
                    f"`{missing[0]}` cannot be resolved. SQLSTATE: 42703",
                    "42703",
                )
                return
            data = data.select(names)
        if order:
            data = data.sort_by([(c.strip("`"), "ascending") for c in order.split(", ")])
        statement.result = data

    def _statement(self, statement_id: str, who: str) -> Statement:
        with self._lock:
            statement = self.statements.get(statement_id)
        if statement is None or statement.who != who:
            raise ApiError(404, "RESOURCE_DOES_NOT_EXIST", f"Statement {statement_id} not found.")
        return statement

    def _get(self, statement_id: str, *, who: str, **_: Any) -> tuple[int, Any]:
        statement = self._statement(statement_id, who)
        if statement.state in ("PENDING", "RUNNING"):
            if statement.polls_left > 0:
                statement.polls_left -= 1
                statement.state = "PENDING" if statement.polls_left > 1 else "RUNNING"
            else:
                statement.state = "FAILED" if statement.error else "SUCCEEDED"
        return 200, self._response(statement)

    def _cancel(self, statement_id: str, *, who: str, **_: Any) -> tuple[int, Any]:
        statement = self._statement(statement_id, who)
        if statement.state in ("PENDING", "RUNNING"):
            statement.state = "CANCELED"
        self.cancelled.append(statement_id)
        return 200, {}

    def _chunk(self, statement_id: str, index: str, *, who: str, **_: Any) -> tuple[int, Any]:
        statement = self._statement(statement_id, who)
        if statement.state != "SUCCEEDED":
            raise ApiError(
                400,
                "INVALID_PARAMETER_VALUE",
                f"Statement {statement_id} has no result to fetch (state {statement.state}).",
            )
        chunk = int(index)
        if not 0 <= chunk < self._chunk_count(statement):
            raise ApiError(400, "INVALID_PARAMETER_VALUE", f"Chunk index {chunk} is out of range.")
        return 200, self._result(statement, chunk)

    # -- responses --------------------------------------------------------------------------------------------

    def _chunk_count(self, statement: Statement) -> int:
        rows = statement.result.num_rows if statement.result is not None else 0
        return -(-rows // self.chunk_rows)

    def _response(self, statement: Statement) -> dict[str, Any]:
        out: dict[str, Any] = {"statement_id": statement.statement_id, "status": {"state": statement.state}}
        if statement.state == "FAILED" and statement.error:
            code, message, sql_state = statement.error
            out["status"].update(error={"error_code": code, "message": message}, sql_state=sql_state)
        if statement.state == "SUCCEEDED":
            out["manifest"] = self._manifest(statement)
            if self._chunk_count(statement):
                out["result"] = self._result(statement, 0)
        return out

    def _manifest(self, statement: Statement) -> dict[str, Any]:
        data = statement.result
        assert data is not None
        columns = []
        for position, f in enumerate(data.schema):
            column: dict[str, Any] = {"name": f.name, "position": position}
            if pa.types.is_decimal(f.type):
                column.update(
                    type_name="DECIMAL",
                    type_precision=f.type.precision,
                    type_scale=f.type.scale,
                    type_text=f"DECIMAL({f.type.precision},{f.type.scale})",
                )
            else:
                column.update(type_name=TYPE_NAMES[f.type], type_text=TYPE_NAMES[f.type])
            columns.append(column)
        count = self._chunk_count(statement)
        chunks = [
            {
                "chunk_index": i,
                "row_offset": i * self.chunk_rows,
                "row_count": min(self.chunk_rows, data.num_rows - i * self.chunk_rows),
            }
            for i in range(count)
        ]
        return {
            "format": statement.format,
            "schema": {"column_count": len(columns), "columns": columns},
            "total_chunk_count": count,
            "total_row_count": data.num_rows,
            "chunks": chunks,
            "truncated": False,
        }

    def _result(self, statement: Statement, chunk: int) -> dict[str, Any]:
        assert statement.result is not None
        offset = chunk * self.chunk_rows
        rows = min(self.chunk_rows, statement.result.num_rows - offset)
        following = chunk + 1 if chunk + 1 < self._chunk_count(statement) else None
        base: dict[str, Any] = {"chunk_index": chunk, "row_offset": offset, "row_count": rows}
        if statement.disposition == "INLINE":
            part = statement.result.slice(offset, rows)
            base["data_array"] = [[_text(v) for v in row.values()] for row in part.to_pylist()]
            if following is not None:
                base.update(
                    next_chunk_index=following,
                    next_chunk_internal_link=f"/api/2.0/sql/statements/{statement.statement_id}"
                    f"/result/chunks/{following}",
                )
            return base
        token = secrets.token_urlsafe(16)
        expires = datetime.now(UTC) + self.link_ttl
        with self._lock:
            self._links[token] = (statement.statement_id, chunk, expires)
        link = {
            **base,
            "byte_count": rows * 64,
            "external_link": f"{self.storage_url}/results/{token}",
            "expiration": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        if following is not None:
            link.update(
                next_chunk_index=following,
                next_chunk_internal_link=(
                    f"/api/2.0/sql/statements/{statement.statement_id}/result/chunks/{following}"
                ),
            )
        return {"external_links": [link]}

    # -- cloud storage for external links ---------------------------------------------------------------------

    @property
    def storage_url(self) -> str:
        assert self._storage is not None, "install() first"
        return f"http://127.0.0.1:{self._storage.server_address[1]}"

    def _start_storage(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                return

            def do_GET(self) -> None:
                status, payload, kind = fake._download(self.path, self.headers.get("Authorization"))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._storage = start_local_server(Handler, "fake-storage")

    def _download(self, path: str, authorization: str | None) -> tuple[int, bytes, str]:
        if authorization:
            return (
                400,
                b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>",
                "application/xml",
            )
        with self._lock:
            entry = self._links.get(path.rsplit("/", 1)[-1])
        if entry is None or entry[2] <= datetime.now(UTC):
            return (
                403,
                b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                "application/xml",
            )
        statement_id, chunk, _ = entry
        with self._lock:
            statement = self.statements[statement_id]
            self.downloads.append((statement_id, chunk))
        assert statement.result is not None
        # Made now, from the table's rows of this chunk only: the stream is what the client downloads.
        part = statement.result.slice(chunk * self.chunk_rows, self.chunk_rows)
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, part.schema) as writer:
            for batch in part.to_batches(max_chunksize=max(1, self.chunk_rows // 2)):
                writer.write_batch(batch)
        return 200, sink.getvalue().to_pybytes(), "application/vnd.apache.arrow.stream"


def _text(value: Any) -> str | None:
    """A value as ``JSON_ARRAY`` formats it: text, ``true``/``false``, or null."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value) if not isinstance(value, float) else json.dumps(value)
