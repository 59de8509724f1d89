"""Read a Unity Catalog table for ``Inventory.import_table``: through a SQL warehouse or a Spark session.

Through a warehouse the table is read with the Statement Execution API (``w.statement_execution``): one
``SELECT`` whose result the warehouse splits into chunks, fetched one after the other and turned into Arrow record
batches as the import consumes them (``pyarrow.RecordBatchReader.from_batches`` over a generator), so at most the
chunk being read is held, never the table. ``EXTERNAL_LINKS`` + ``ARROW_STREAM`` is the default (typed columns,
up to 100 GiB); ``INLINE`` + ``JSON_ARRAY`` serves workspaces where external links are disabled (results up to
25 MiB), its text cast back to the column types the result manifest names.

Through Spark (a notebook) ``spark.table(name)`` is handed to the DataFrame import, which converts it in batches.

Row numbers are 0-based positions in the result as it is read (the warehouse's ``row_offset`` of a chunk plus the
row's place in it), the same numbering a DataFrame import uses. A ``SELECT`` without ``ORDER BY`` returns a Delta
table in its files' order, stable while the table does not change; pass ``order_by`` for numbers that are.

Names are validated and backtick-quoted part by part (``catalog.schema.table``, columns), so no name can change
the statement. Every failure is a typed ``TableReadError`` naming the table and, for a refusal, the grant needed.

Over 400 lines because both read paths (warehouse chunks and Spark) share the name validation, the type
mapping and the typed errors that name the grant needed.
"""

from __future__ import annotations

import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import (
    ConfigurationError,
    ImportRefusedError,
    InvalidArgumentError,
    TableAccessDeniedError,
    TableNotFoundError,
    TableReadError,
    WarehouseError,
)

log = logging.getLogger(__name__)

# Unity Catalog names: at most 255 characters, no period, space, slash or control character. Backticks are refused
# too, so quoting a part is wrapping it; a part may come already wrapped (`my-catalog`).
_PART_RE = re.compile(r"^[^\x00-\x20./`\x7f]{1,255}$")
_NAME_RE = re.compile(r"(`[^`]*`|[^.`]*)\.(`[^`]*`|[^.`]*)\.(`[^`]*`|[^.`]*)")
# Column names may hold spaces (Delta column mapping), never control characters or backticks.
_COLUMN_RE = re.compile(r"^[^\x00-\x1f`\x7f]{1,255}$")
DISPOSITIONS = ("EXTERNAL_LINKS", "INLINE")
WAIT_SECONDS = 10  # execute_statement waits this long server-side before returning a statement to poll
TIMEOUT_SECONDS = 600.0  # the longest an import waits for the warehouse (starting it included)
DOWNLOAD_TIMEOUT_SECONDS = 120
Progress = Callable[[str], None]
# Looked up at each call, so a test can run the polling on a clock of its own.
_clock: Callable[[], float] = time.monotonic
_sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class TableName:
    """A validated three-part name; ``quoted`` is the SQL text, ``display`` the plain ``catalog.schema.table``."""

    catalog: str
    schema: str
    table: str

    @property
    def display(self) -> str:
        return f"{self.catalog}.{self.schema}.{self.table}"

    @property
    def quoted(self) -> str:
        return ".".join(f"`{part}`" for part in (self.catalog, self.schema, self.table))


def parse_table_name(name: Any) -> TableName:
    """``catalog.schema.table`` as three identifiers (each may be backtick-quoted); else ``InvalidArgumentError``."""
    if not isinstance(name, str):
        raise InvalidArgumentError(
            {"table": f"The table must be a name catalog.schema.table, got {type(name).__name__}."}
        )
    match = _NAME_RE.fullmatch(name.strip())
    parts = [_unquote(p) for p in match.groups()] if match else []
    if len(parts) != 3 or not all(_PART_RE.match(p) for p in parts):
        raise InvalidArgumentError(
            {
                "table": (
                    f"{name!r} is not a Unity Catalog table name: write catalog.schema.table, three names of at most "
                    "255 characters without spaces, periods, slashes or backticks (a part may be wrapped in backticks)."
                )
            }
        )
    return TableName(*parts)


def _unquote(part: str) -> str:
    return part[1:-1] if len(part) >= 2 and part[0] == part[-1] == "`" else part


def quote_columns(columns: Sequence[str] | None, what: str = "columns") -> list[str]:
    """Backtick-quoted column names (``InvalidArgumentError`` for anything that is not a plain name)."""
    if columns is None:
        return []
    if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
        raise InvalidArgumentError({what: f"{what} must be a list of column names."})
    bad = [c for c in columns if not _COLUMN_RE.match(c)]
    if bad or not columns:
        raise InvalidArgumentError(
            {
                what: f"{what} must be column names without backticks or control characters, "
                f"got {bad[0] if bad else 'an empty list'!r}."
            }
        )
    return [f"`{c}`" for c in columns]


def select_statement(
    table: TableName, columns: Sequence[str] | None = None, order_by: Sequence[str] | None = None
) -> str:
    """The one statement an import runs: every part of it quoted."""
    cols = ", ".join(quote_columns(columns)) or "*"
    order = ", ".join(quote_columns(order_by, "order_by"))
    return f"SELECT {cols} FROM {table.quoted}" + (f" ORDER BY {order}" if order else "")


# -- errors -------------------------------------------------------------------------------------------------------


def _grants(table: TableName) -> str:
    """The Unity Catalog privileges reading a table takes."""
    return (
        f"reading it takes USE CATALOG on {table.catalog}, USE SCHEMA on {table.catalog}.{table.schema} and "
        f"SELECT on {table.display}"
    )


def classify_failure(
    table: TableName, message: str, sql_state: str | None = None, *, reader: str = "the SQL warehouse"
) -> TableReadError:
    """The typed error of a failed read, from Databricks' error class (``[TABLE_OR_VIEW_NOT_FOUND]``) or SQLSTATE."""
    gist = " ".join(message.split())[:500] or "no message"  # Databricks' messages run over several lines
    if (
        sql_state == "42P01"
        or "TABLE_OR_VIEW_NOT_FOUND" in message
        or "SCHEMA_NOT_FOUND" in message
        or "NO_SUCH_CATALOG" in message
        or "CATALOG_NOT_FOUND" in message
    ):
        return TableNotFoundError(
            f"The table {table.display} does not exist, or is not visible to you (a missing USE CATALOG or "
            f"USE SCHEMA hides it); nothing was imported. ({gist})",
            table.display,
        )
    if sql_state == "42501" or "INSUFFICIENT_PERMISSIONS" in message or "PERMISSION_DENIED" in message:
        return TableAccessDeniedError(
            f"You may not read {table.display}: {_grants(table)} (GRANT SELECT ON TABLE {table.quoted} TO "
            f"`<you>`); nothing was imported. ({gist})",
            table.display,
        )
    return WarehouseError(f"{reader} could not read {table.display}; nothing was imported: {gist}", table.display)


def _sdk_error(exc: Exception, table: TableName, warehouse_id: str) -> TableReadError:
    """An HTTP-level refusal of the Statement Execution API (the SDK's typed errors) as a ``TableReadError``."""
    from databricks.sdk.errors import NotFound, PermissionDenied

    from .client import first_line

    if isinstance(exc, PermissionDenied):
        return TableAccessDeniedError(
            f"You may not use the SQL warehouse {warehouse_id} to read {table.display}: ask for CAN USE on the "
            f"warehouse (and {_grants(table)}); nothing was imported. ({first_line(exc)})",
            table.display,
        )
    if isinstance(exc, NotFound):
        return WarehouseError(
            f"The SQL warehouse {warehouse_id} was not found (check DATABRICKS_WAREHOUSE_ID or warehouse_id=); "
            f"nothing was imported. ({first_line(exc)})",
            table.display,
        )
    return WarehouseError(
        f"Databricks refused to read {table.display} through the SQL warehouse {warehouse_id}; "
        f"nothing was imported: {first_line(exc)} ({type(exc).__name__})",
        table.display,
    )


# -- through a SQL warehouse --------------------------------------------------------------------------------------

_TYPES: dict[str, pa.DataType] = {
    "STRING": pa.string(),
    "CHAR": pa.string(),
    "BYTE": pa.int8(),
    "SHORT": pa.int16(),
    "INT": pa.int32(),
    "LONG": pa.int64(),
    "FLOAT": pa.float32(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
}


def manifest_schema(manifest: Any) -> pa.Schema:
    """The Arrow schema of a result manifest's columns (types Arrow has no twin for stay text)."""
    fields = []
    for column in sorted(manifest.schema.columns or [], key=lambda c: c.position or 0):
        kind = column.type_name.value if column.type_name is not None else "STRING"
        if kind == "DECIMAL":
            dtype = pa.decimal128(column.type_precision or 38, column.type_scale or 0)
        else:
            dtype = _TYPES.get(kind, pa.string())
        fields.append(pa.field(column.name, dtype))
    return pa.schema(fields)


def _json_batch(rows: list[list[str | None]], schema: pa.Schema) -> pa.RecordBatch:
    """A ``JSON_ARRAY`` chunk (every value text or null) as a batch of the manifest's types."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    arrays = []
    for field, values in zip(schema, columns, strict=True):
        text = pa.array(values, pa.string())
        try:
            arrays.append(pc.cast(text, field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            arrays.append(text)  # a form Arrow cannot parse (an odd timestamp): validation reads the text
    return pa.RecordBatch.from_arrays(arrays, names=schema.names)


class WarehouseTable:
    """One ``SELECT`` of a table through a SQL warehouse; ``reader()`` streams its rows chunk by chunk."""

    def __init__(
        self,
        client: Any,
        table: TableName,
        warehouse_id: str,
        *,
        columns: Sequence[str] | None = None,
        order_by: Sequence[str] | None = None,
        disposition: str = "EXTERNAL_LINKS",
        timeout: float = TIMEOUT_SECONDS,
        progress: Progress | None = None,
    ):
        if disposition not in DISPOSITIONS:
            raise InvalidArgumentError({"disposition": f"disposition must be one of {', '.join(DISPOSITIONS)}."})
        self.client, self.table, self.warehouse_id = client, table, warehouse_id
        self.statement = select_statement(table, columns, order_by)
        self.disposition, self.timeout = disposition, timeout
        self.progress = progress or (lambda message: log.info("%s", message))
        self.statement_id: str | None = None

    def reader(self) -> pa.RecordBatchReader:
        """Run the statement, wait for it, and return its rows as a stream (the first chunk is fetched now)."""
        from databricks.sdk.errors import DatabricksError
        from databricks.sdk.service.sql import (
            Disposition,
            ExecuteStatementRequestOnWaitTimeout,
            Format,
        )

        inline = self.disposition == "INLINE"
        try:
            response = self.client.statement_execution.execute_statement(
                statement=self.statement,
                warehouse_id=self.warehouse_id,
                disposition=Disposition.INLINE if inline else Disposition.EXTERNAL_LINKS,
                format=Format.JSON_ARRAY if inline else Format.ARROW_STREAM,
                wait_timeout=f"{WAIT_SECONDS}s",
                on_wait_timeout=ExecuteStatementRequestOnWaitTimeout.CONTINUE,
            )
            self.statement_id = response.statement_id
            response = self._wait(response)
        except DatabricksError as exc:
            raise _sdk_error(exc, self.table, self.warehouse_id) from None
        manifest = response.manifest
        if manifest is None or manifest.schema is None:
            raise WarehouseError(
                f"The SQL warehouse returned no result description for {self.table.display}; nothing was imported.",
                self.table.display,
            )
        if manifest.truncated:
            raise WarehouseError(
                f"The SQL warehouse truncated the result of {self.table.display} (over its size "
                "limit); nothing was imported. Import it in parts with columns=.",
                self.table.display,
            )
        schema = manifest_schema(manifest)
        batches = self._batches(response.result, schema, manifest.total_chunk_count or 0)
        first = next(batches, None)
        if first is not None:
            # An Arrow result's own types are the truth (its first batch); the manifest only guessed them.
            schema = first.schema
        self.progress(
            f"{self.table.display}: {manifest.total_row_count or 0} rows in {manifest.total_chunk_count or 0} chunks"
        )
        return pa.RecordBatchReader.from_batches(schema, _chain(first, batches, schema))

    def _wait(self, response: Any) -> Any:
        """Poll until the statement ends, at most ``timeout`` seconds in all; cancel it when that runs out."""
        from databricks.sdk.service.sql import StatementState

        started = _clock()
        delay = 0.5
        while response.status is not None and response.status.state in (StatementState.PENDING, StatementState.RUNNING):
            waited = _clock() - started
            if waited >= self.timeout:
                self._cancel()
                raise WarehouseError(
                    f"The SQL warehouse {self.warehouse_id} did not finish reading {self.table.display} within "
                    f"{self.timeout:g} s (the statement was {response.status.state.value}; a stopped warehouse "
                    "takes minutes to start); it was cancelled and nothing was imported.",
                    self.table.display,
                )
            self.progress(f"{self.table.display}: statement {response.status.state.value.lower()} ({waited:.0f} s)")
            _sleep(min(delay, max(self.timeout - waited, 0)))
            delay = min(delay * 2, 5.0)
            response = self.client.statement_execution.get_statement(self.statement_id)
        state = response.status.state if response.status is not None else None
        if state == StatementState.SUCCEEDED:
            return response
        error = response.status.error if response.status is not None else None
        message = (error.message or "") if error is not None else ""
        if state == StatementState.FAILED:
            raise classify_failure(self.table, message, response.status.sql_state)
        ended = state.value if state else "without a state"
        raise WarehouseError(
            f"The statement reading {self.table.display} ended {ended} "
            f"(cancelled on the warehouse?); nothing was imported. {message}".rstrip(),
            self.table.display,
        )

    def _cancel(self) -> None:
        try:
            self.client.statement_execution.cancel_execution(self.statement_id)
        except Exception:  # the timeout is the error to report; cancelling is best effort
            log.warning("could not cancel statement %s", self.statement_id, exc_info=True)

    def _batches(self, result: Any, schema: pa.Schema, total_chunks: int) -> Iterator[pa.RecordBatch]:
        """Every chunk in order, one at a time: fetched, yielded batch by batch, then let go."""
        from databricks.sdk.errors import DatabricksError

        while result is not None:
            links = result.external_links or []
            if links:
                for link in links:
                    yield from self._download(link)
                next_index = links[-1].next_chunk_index
            else:
                if result.data_array:
                    yield _json_batch(result.data_array, schema)
                next_index = result.next_chunk_index
            result = None
            if next_index is not None:
                self.progress(f"{self.table.display}: chunk {next_index + 1} of {total_chunks}")
                try:
                    result = self.client.statement_execution.get_statement_result_chunk_n(self.statement_id, next_index)
                except DatabricksError as exc:
                    raise _sdk_error(exc, self.table, self.warehouse_id) from None

    def _download(self, link: Any) -> Iterator[pa.RecordBatch]:
        """One external link's Arrow stream. No Databricks credential goes with it: the URL carries its own.

        A link lives at most 15 minutes; one refused as expired (HTTP 403) is asked for again once, fresh.
        """
        try:
            try:
                data = self._fetch(link)
            except urllib.error.HTTPError as exc:
                if exc.code != 403:
                    raise
                link = self._fresh_link(link)
                data = self._fetch(link)
        except OSError as exc:  # HTTPError, URLError, timeouts, resets
            raise self._download_failed(link, exc) from None
        try:
            stream = pa.ipc.open_stream(pa.py_buffer(data))
            yield from stream
        except pa.ArrowInvalid as exc:
            raise WarehouseError(
                f"Chunk {link.chunk_index} of {self.table.display} is not an Arrow stream "
                f"({exc}); nothing was imported.",
                self.table.display,
            ) from None

    def _fetch(self, link: Any) -> bytes:
        request = urllib.request.Request(link.external_link, headers=dict(link.http_headers or {}))
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_SECONDS) as response:
            return response.read()

    def _fresh_link(self, link: Any) -> Any:
        from databricks.sdk.errors import DatabricksError

        try:
            result = self.client.statement_execution.get_statement_result_chunk_n(self.statement_id, link.chunk_index)
        except DatabricksError as exc:
            raise _sdk_error(exc, self.table, self.warehouse_id) from None
        if not result.external_links:
            raise WarehouseError(
                f"The SQL warehouse gave no link for chunk {link.chunk_index} of "
                f"{self.table.display}; nothing was imported.",
                self.table.display,
            )
        return result.external_links[0]

    def _download_failed(self, link: Any, exc: OSError) -> WarehouseError:
        # The URL is a credential: the message names the chunk, never the link.
        return WarehouseError(
            f"Downloading chunk {link.chunk_index} of {self.table.display} failed "
            f"({type(exc).__name__}: {getattr(exc, 'code', '') or 'no answer'}); nothing was "
            "imported.",
            self.table.display,
        )


def _chain(first: pa.RecordBatch | None, rest: Iterator[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    if first is None:
        return
    yield first
    del first
    for batch in rest:
        # Chunks of one result agree on types; a nullability flag may differ, which the reader would refuse.
        yield batch if batch.schema.equals(schema) else batch.cast(schema)


# -- choosing the reader ------------------------------------------------------------------------------------------


def active_spark_session() -> Any | None:
    """The notebook's Spark session, if pyspark is importable and one is active."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        return None
    try:
        return SparkSession.getActiveSession()
    except Exception:  # noqa: BLE001 - a broken pyspark install is "no session", the warehouse is still there
        return None


def spark_table(
    spark: Any, table: TableName, columns: Sequence[str] | None = None, order_by: Sequence[str] | None = None
) -> Any:
    """``spark.table(name)`` (quoted), its columns selected; Spark's analysis errors as typed ones."""
    quoted_columns = quote_columns(columns)
    quoted_order = quote_columns(order_by, "order_by")
    try:
        frame = spark.table(table.quoted)
        if quoted_columns:
            frame = frame.select(*quoted_columns)
        if quoted_order:
            frame = frame.orderBy(*quoted_order)
        return frame
    except ImportRefusedError:
        raise
    except Exception as exc:  # noqa: BLE001 - pyspark's AnalysisException and friends, classified by their text
        raise classify_failure(table, str(exc), getattr(exc, "getSqlState", lambda: None)(), reader="Spark") from None


def resolve_reader(*, warehouse_id: str | None, spark: Any, settings_warehouse: str | None) -> tuple[str, Any]:
    """('spark', session) or ('warehouse', id): explicit arguments first, then the notebook's session, then the
    ``DATABRICKS_WAREHOUSE_ID`` setting."""
    if warehouse_id is not None and spark is not None:
        raise InvalidArgumentError({"spark": "Pass warehouse_id= or spark=, not both."})
    if warehouse_id is not None:
        if not isinstance(warehouse_id, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", warehouse_id):
            raise InvalidArgumentError({"warehouse_id": f"{warehouse_id!r} is not a SQL warehouse id."})
        return "warehouse", warehouse_id
    if spark is not None:
        return "spark", spark
    session = active_spark_session()
    if session is not None:
        return "spark", session
    if settings_warehouse:
        return "warehouse", settings_warehouse
    raise ConfigurationError(
        "Reading a Unity Catalog table needs a SQL warehouse or a Spark session: set "
        "DATABRICKS_WAREHOUSE_ID, or pass warehouse_id= or spark="
    )
