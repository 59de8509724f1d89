"""Database writes off the server's event loop.

Every session of a served app shares one event loop. A write can wait for the database — SQLite's write lock (up
to ``SQLITE_BUSY_TIMEOUT_SECONDS``) or a PostgreSQL row lock — and a callback waiting on the loop stops every
session: measured with one write waiting on a held SQLite lock, other sessions' page flips and new page loads took
30 s. So a view runs its write in a worker thread (``in_worker``) from an ``async`` callback; the callback resumes
on the loop, where Panel applies the widget changes it makes under the document lock, as for any async callback.

Reads stay on the loop: on SQLite in WAL mode a reader never waits for a writer, and a page is milliseconds.

The workers are few on purpose: each waiting write holds a pooled connection, and the reads on the loop must
still find one free in the pool (SQLite's holds 15) rather than wait on the pool instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

T = TypeVar("T")

WRITE_WORKERS = 8

_executor: ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _workers() -> ThreadPoolExecutor:
    global _executor
    with _executor_lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=WRITE_WORKERS, thread_name_prefix="inventory-write")
        return _executor


async def in_worker(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a worker thread; the caller's event loop serves other sessions meanwhile.

    ``fn`` must not touch Panel objects (it runs outside the session's document lock): pass it the service call.
    """
    return await asyncio.get_running_loop().run_in_executor(_workers(), partial(fn, *args, **kwargs))
