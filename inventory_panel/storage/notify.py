"""Change notifications across server processes: PostgreSQL ``LISTEN/NOTIFY`` on the inventory's change channel.

Migration 0002 makes every insert into the audit table (every write the app makes writes one, in the writing
transaction) call ``pg_notify(channel, newest audit id)``; PostgreSQL delivers it when, and only if, that
transaction commits, to every process listening. ``PostgresChangeListener`` is such a listener: one connection of
its own (taken from the engine, so rotating Lakebase credentials apply), blocking in ``wait`` until a
notification arrives, reconnecting after a failure and then re-reading the token, since notifications sent while
it was away are lost. It has the ``wait``/``wake``/``close`` shape of ``ui.live.ChangeSource``; SQLite has no such
channel and is polled instead. ``wake`` is how this process's own commits (``commits.py``) skip the round trip
through the server: a woken ``wait`` re-reads the token at once. Nothing here knows about Panel.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from .engines import Database

log = logging.getLogger(__name__)

MAX_CHANNEL = 63  # PostgreSQL identifiers (and so channel names) are at most 63 bytes
HEARTBEAT_SECONDS = 30.0


def channel_name(schema: str | None, table: str) -> str:
    """The notification channel of ``schema.table``: distinct per inventory, at most 63 bytes."""
    name = f"{schema}.{table}" if schema else table
    if len(name.encode()) <= MAX_CHANNEL:
        return name
    return f"{name.encode()[: MAX_CHANNEL - 9].decode(errors='ignore')}_{zlib.crc32(name.encode()):08x}"


class PostgresChangeListener:
    """Blocks until the inventory's data changed (a NOTIFY arrived) or a timeout passed; see the module text.

    ``read_token`` returns the current change token (``Inventory.change_token``); it is called after every
    (re)connection. Errors propagate from ``wait`` (the caller backs off and calls again, which reconnects).
    """

    def __init__(self, db: Database, read_token: Callable[[], int], heartbeat: float = HEARTBEAT_SECONDS):
        if db.dialect != "postgresql":
            raise ValueError("LISTEN/NOTIFY needs PostgreSQL")
        self.db = db
        self.channel = channel_name(db.tables.schema, db.tables.items.name)
        self.read_token = read_token
        self.heartbeat = heartbeat
        self._conn: Any = None
        self._checked = 0.0
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)  # a committing thread never waits on a full pipe (it is woken already)
        self._wake_lock = threading.Lock()  # no wake writes once close has begun (the pipe's fds are then closed)

    @property
    def connected(self) -> bool:
        return self._conn is not None

    def wait(self, last_token: int, timeout: float) -> int:
        """The newest change token once a change is announced, ``last_token`` after ``timeout`` without one."""
        with self._lock:
            if self._closed.is_set():
                return last_token
            if self._conn is None:
                self._connect()
                return max(last_token, self.read_token())
            try:
                return self._wait_connected(last_token, timeout)
            except Exception:
                self._disconnect()
                raise

    def wake(self) -> None:
        """A write committed in this process: a blocked ``wait`` (or the next one) re-reads the token at once."""
        with self._wake_lock:
            if self._closed.is_set():
                return
            with contextlib.suppress(BlockingIOError):  # the pipe is full of wake-ups: this one changes nothing
                os.write(self._wake_w, b"w")

    def close(self) -> None:
        """Stop: a blocked ``wait`` returns at once and the listening connection is closed."""
        with self._wake_lock:
            if self._closed.is_set():
                return
            self._closed.set()
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_w, b"x")
        with self._lock:
            self._disconnect()
            os.close(self._wake_r)
            os.close(self._wake_w)

    def _connect(self) -> None:
        pooled = self.db.engine.raw_connection()
        conn: Any = pooled.driver_connection  # psycopg2's connection (this listener runs on PostgreSQL only)
        # Detached: the connection leaves the pool for good and is really closed by ``_disconnect``.
        pooled.detach()
        try:
            conn.autocommit = True  # LISTEN takes effect at once, not at the end of a transaction
            with conn.cursor() as cur:
                cur.execute(f'LISTEN "{self.channel}"')
        except Exception:
            conn.close()
            raise
        self._conn = conn
        self._checked = time.monotonic()
        log.info("live updates: listening on PostgreSQL channel %s", self.channel)

    def _wait_connected(self, last_token: int, timeout: float) -> int:
        conn = self._conn
        if time.monotonic() - self._checked >= self.heartbeat:
            # A server that vanished without closing the socket is noticed here, not never.
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
            self._checked = time.monotonic()
        ready, _, _ = select.select([conn, self._wake_r], [], [], timeout)
        if self._closed.is_set():
            return last_token
        token = last_token
        if self._wake_r in ready:  # woken by a commit of this process: drain the pipe, read the token
            os.read(self._wake_r, 4096)
            token = max(token, self.read_token())
        if conn in ready:
            conn.poll()  # raises if the server closed the connection
            while conn.notifies:
                payload = conn.notifies.pop(0).payload
                token = max(token, int(payload)) if payload.isdigit() else max(token, self.read_token())
            self._checked = time.monotonic()
        return token

    def _disconnect(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # already broken: closing is best effort
                log.debug("closing the listening connection failed", exc_info=True)
            self._conn = None
