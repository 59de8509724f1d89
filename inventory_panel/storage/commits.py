"""In-process commit signal: whoever listens to a database hears, right after it commits, every write made through
any ``Inventory`` of this process on that database.

Other processes' writes reach a listener through PostgreSQL ``NOTIFY`` or the SQLite change token (``notify.py``,
``ui/live.py``); neither is immediate for this process's own writes on SQLite (the token is polled once a second),
and two ``Inventory`` objects opened on the same database (two ``connect`` calls in one notebook) have two
``Database`` objects. So listeners are keyed by ``database_key``, the database's identity (the SQLite file, or the
PostgreSQL server and database, plus the inventory's table), not by object.

The service calls ``committed(db)`` once a write transaction has committed. A listener is a plain callable with no
arguments, called on the committing thread: it must only hand over (set an event, wake a thread), never block or
touch the database. Nothing here knows about Panel.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from .engines import Database

log = logging.getLogger(__name__)

Listener = Callable[[], None]

_listeners: dict[str, dict[int, Listener]] = {}
_ids = itertools.count(1)
_lock = threading.Lock()


def database_key(db: Database) -> str:
    """The identity of ``db``'s inventory: equal for every ``Database`` on the same data in this process."""
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        if path in ("", ":memory:") or path.startswith("file:"):
            # A private in-memory database (or a URI we don't parse): only this engine sees its data.
            where = f"sqlite-engine:{id(db.engine)}"
        else:
            where = f"sqlite:{Path(path).resolve()}"
    else:
        # Not the user nor the password: two people's connections to one database see the same data.
        where = f"{url.get_backend_name()}://{url.host or ''}:{url.port or ''}/{url.database or ''}"
    return f"{where}#{db.tables.schema or ''}.{db.tables.items.name}"


def on_commit(db: Database, listener: Listener) -> Callable[[], None]:
    """Call ``listener()`` after every write committed to ``db``'s inventory in this process; returns the function
    that stops it."""
    key = database_key(db)
    with _lock:
        ident = next(_ids)
        _listeners.setdefault(key, {})[ident] = listener

    def stop() -> None:
        with _lock:
            listeners = _listeners.get(key)
            if listeners is not None:
                listeners.pop(ident, None)
                if not listeners:
                    del _listeners[key]

    return stop


def committed(db: Database) -> None:
    """Tell ``db``'s listeners that a write transaction just committed. Never raises: the write is done."""
    if not _listeners:  # nobody listens (the CLI, a script): not even the key is worth computing
        return
    try:
        with _lock:
            listeners = list(_listeners.get(database_key(db), {}).values())
    except Exception:  # a failing signal must not turn a committed write into an error
        log.exception("live updates: cannot signal a commit")
        return
    for listener in listeners:
        try:
            listener()
        except Exception:  # one broken listener must not stop the others, nor fail the write
            log.exception("live updates: a commit listener failed")
