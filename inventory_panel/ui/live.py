"""Live updates: a write in one session refreshes the other open sessions of the same server.

In a notebook there is no server session: ``subscribe_kernel`` runs each reload on the kernel's own event loop
(the loop that executes cells and handles the comm messages of the displayed components), once per shared model,
so a write made from Python in a later cell, or by another ``Inventory`` on the same database, shows on screen.

One ``LiveHub`` per server process and database runs one daemon thread that waits on a ``ChangeSource`` and fans
each new change token out to the subscribed sessions. Each session schedules its reload on its own Bokeh document
(``add_next_tick_callback`` is the one ``Document`` method that is safe to call from another thread), so a slow
session never delays the others, and it unsubscribes when its session is destroyed.

The source of change notifications is deliberately small (``ChangeSource.wait``): ``PollingSource`` reads
``Inventory.change_token()`` about once a second; on PostgreSQL ``Inventory.change_listener()`` (LISTEN/NOTIFY,
``storage/notify.py``) blocks in ``wait`` until a notification arrives instead, so writes made by other server
processes or app replicas show up as soon as they commit (``default_source`` picks). Writes made in this process,
through any ``Inventory`` on the same database, wake the source at once (``ChangeSource.wake``): the hub listens to
the service's commit signal (``Inventory.on_commit``, ``storage/commits.py``), so they never wait for the next poll.

In a kernel, Panel handles each displayed cell's comm messages on a thread of its own (JupyterLab 4.4+ sends comm
messages over kernel subshells); the reloads here run under the kernel's one document lock (``kernel_sync``), as
every comm message does, so two updates never interleave on a comm.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any, Protocol

from ..inventory import Inventory
from . import kernel_sync

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0


class ChangeSource(Protocol):
    """Where the hub learns that the data changed."""

    def wait(self, last_token: int, timeout: float) -> int:
        """Block until the data may have changed after ``last_token`` or ``timeout`` seconds passed (or ``close``
        was called); return the current change token (equal to ``last_token`` when nothing changed)."""

    def wake(self) -> None:
        """A write committed in this process: a blocked ``wait`` (or the next one) returns the current token now.
        Called on the writing thread; must not block."""

    def close(self) -> None:
        """Stop waiting; a blocked ``wait`` returns promptly."""


class PollingSource:
    """Reads ``Inventory.change_token()`` (the newest audit id) every ``interval`` seconds, or at once when woken."""

    def __init__(self, inventory: Inventory, interval: float = POLL_SECONDS):
        self.inventory = inventory
        self.interval = interval
        self._closed = False
        self._poke = threading.Event()  # set by wake and by close

    def wait(self, last_token: int, timeout: float) -> int:
        self._poke.wait(min(self.interval, timeout))
        # Cleared before reading: a commit signalled after this line sets it again and is read by the next wait.
        self._poke.clear()
        if self._closed:
            return last_token
        return self.inventory.change_token()

    def wake(self) -> None:
        self._poke.set()

    def close(self) -> None:
        self._closed = True
        self._poke.set()


class LiveHub:
    """Fans change tokens from one ``ChangeSource`` out to subscribers, from one daemon thread."""

    def __init__(self, source: ChangeSource, name: str = "inventory-live"):
        self.source = source
        self.stop_listening: Callable[[], None] | None = None  # ends the commit subscription (set by hub_for)
        self.token = 0
        self._subscribers: dict[int, Callable[[int], None]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._started = False

    @property
    def subscriber_count(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def subscribe(self, callback: Callable[[int], None]) -> int:
        """Call ``callback(token)`` from the hub's thread after every change; returns a key for ``unsubscribe``.

        The callback must only schedule work (it runs on the hub's thread) and must not block.
        """
        with self._lock:
            key = next(self._ids)
            self._subscribers[key] = callback
            if not self._started:
                self._started = True
                self._thread.start()
        return key

    def unsubscribe(self, key: int) -> None:
        with self._lock:
            self._subscribers.pop(key, None)

    def wake(self) -> None:
        """A write committed in this process (``Inventory.on_commit``): publish its token now, not at the next poll."""
        self.source.wake()

    def stop(self, timeout: float = 5.0) -> None:
        if self.stop_listening is not None:
            self.stop_listening()
        self._stopping.set()
        self.source.close()
        if self._started:
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                token = self.source.wait(self.token, POLL_SECONDS)
            except Exception:  # the database may be restarting: keep the thread alive, back off, log once
                failures += 1
                if failures == 1:
                    log.warning("live updates: cannot read the change token; retrying", exc_info=True)
                self._stopping.wait(min(MAX_BACKOFF_SECONDS, POLL_SECONDS * 2 ** min(failures, 5)))
                continue
            if failures:
                log.info("live updates: reading the change token works again")
                failures = 0
            if token != self.token:
                self.token = token
                self._publish(token)

    def _publish(self, token: int) -> None:
        with self._lock:
            callbacks = list(self._subscribers.values())
        log.debug("live updates: change %s for %d sessions", token, len(callbacks))
        for callback in callbacks:
            try:
                callback(token)
            except Exception:  # one broken session must not stop the others from updating
                log.exception("live updates: a subscriber failed")


_hubs: dict[str, LiveHub] = {}
_hubs_lock = threading.Lock()


def default_source(inventory: Inventory) -> ChangeSource:
    """LISTEN/NOTIFY where the database offers it (PostgreSQL), else polling the change token (SQLite)."""
    return inventory.change_listener() or PollingSource(inventory)


def hub_for(inventory: Inventory, source_factory: Callable[[Inventory], ChangeSource] = default_source) -> LiveHub:
    """The process-wide hub of ``inventory``'s database, created (with one source) on first use.

    Keyed by the database's identity, not by the ``Inventory`` or ``Database`` object: every ``Inventory`` of this
    process on the same database shares the hub, and each of their commits wakes it (``Inventory.on_commit``)."""
    key = inventory.database_key
    with _hubs_lock:
        hub = _hubs.get(key)
        if hub is None:
            hub = LiveHub(source_factory(inventory))
            hub.token = inventory.change_token()
            hub.stop_listening = inventory.on_commit(hub.wake)
            _hubs[key] = hub
        return hub


def subscribe_session(hub: LiveHub, on_change: Callable[[int], Any]) -> int | None:
    """Subscribe the current server session: ``on_change(token)`` runs on the session's own document.

    Returns the subscription key, or None outside a server session (a notebook, a test), where there is no other
    session to hear from. The subscription ends when the session is destroyed.
    """
    import panel as pn

    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:
        return None

    def schedule(token: int) -> None:  # on the hub's thread: the one Document method safe to call from there
        doc.add_next_tick_callback(partial(_run_on_document, doc, on_change, token))

    key = hub.subscribe(schedule)
    doc.on_session_destroyed(lambda _context: hub.unsubscribe(key))
    return key


def _run_on_document(doc: Any, on_change: Callable[[int], Any], token: int) -> None:
    from panel.io.state import set_curdoc

    with set_curdoc(doc):
        try:
            log.debug("live updates: session %s reloads for change %s", id(doc), token)
            on_change(token)
        except Exception:  # a failed refresh is logged; the session keeps its current data
            log.exception("live updates: refreshing a session failed")


# Models already subscribed in this kernel (one subscription per model, however many cells show it).
_kernel_models: weakref.WeakSet[Any] = weakref.WeakSet()


def subscribe_kernel(hub: LiveHub, model: Any) -> int | None:
    """In a Jupyter kernel, reload ``model`` (``external_change(token)``) on the kernel's event loop after each
    change ``hub`` sees. Returns the key, or None when not called from a running loop or already subscribed.

    The hub holds the model weakly: when the model is gone, its subscription ends at the next change. Changes seen
    while a reload is queued are folded into it (an import commits batch after batch: one reload, newest token).
    """
    kernel_sync.install()  # before the first comm message of a displayed component is handled
    if model in _kernel_models:
        return None
    try:
        loop = asyncio.get_running_loop()  # ipykernel executes cells on its asyncio loop, in the main thread
    except RuntimeError:
        return None
    ref = weakref.ref(model)
    key = 0
    pending: dict[str, int] = {}  # "token": the newest token seen and not reloaded yet (a reload is queued)
    pending_lock = threading.Lock()

    def reload() -> None:  # on the kernel's loop: Panel sends the changes through the comms from here
        with pending_lock:
            token = pending.pop("token")
        target = ref()
        if target is None:
            hub.unsubscribe(key)
            return
        try:
            # Under the kernel's document lock (comm messages are handled on other threads and update these cells
            # too), and sent as one message per cell once the reload is done.
            with kernel_sync.batched():
                target.external_change(token)
        except Exception:  # a failed refresh is logged; the cells keep their current data
            log.exception("live updates: refreshing the notebook components failed")

    def schedule(token: int) -> None:  # on the hub's thread: only hand over
        if ref() is None:
            hub.unsubscribe(key)
            return
        with pending_lock:
            queued = "token" in pending
            pending["token"] = token
        if queued:
            return
        if loop.is_closed():  # the kernel is gone
            hub.unsubscribe(key)
        else:
            loop.call_soon_threadsafe(reload)

    key = hub.subscribe(schedule)
    _kernel_models.add(model)
    return key
