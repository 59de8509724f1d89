"""Short garbage-collector pauses in a server that holds many sessions.

Every open session keeps tens of thousands of long-lived objects (Bokeh models, Panel components, param
watchers). Python's cyclic collector now and then walks all long-lived objects of the process; with 50 sessions
open such a full collection measured up to 1.5 s on the development machine (``bench/bench_served.py``), and no
session is answered meanwhile.

So once a session's page is built, the objects alive at that moment are moved out of the collector's reach
(``gc.freeze``). Reference counting still frees whatever is released; what freezing postpones is only the
freeing of reference cycles among those objects, which is what a closed session leaves behind. Sessions that
ended are therefore collected in one pass (unfreeze, collect, freeze again) from a process-wide periodic task
(``collect_ended_sessions``). That pass walks every object of the process, whatever the number of ended
sessions: about a second with 50 sessions open, during which no session is answered. So it waits for a quiet
moment — no event of any session handled for ``QUIET_SECONDS`` — unless ended sessions have waited
``MAX_DELAY_SECONDS`` or ``MAX_PENDING`` of them pile up (their memory: about 2 MB each).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

COLLECT_PERIOD = "5s"
QUIET_SECONDS = 1.0
MAX_DELAY_SECONDS = 600.0
MAX_PENDING = 50
TASK_NAME = "inventory_panel.collect_ended_sessions"

_lock = threading.Lock()
_ended = 0  # sessions ended since the last collection
_first_ended_at: float | None = None  # when the oldest of them ended (monotonic)
_last_busy = 0.0  # when the server last handled an event of any session (monotonic)
_watching_busy = False


def session_built() -> None:
    """Call once a session's page is built: collect its young garbage, then freeze what is alive."""
    gc.collect(1)
    gc.freeze()


def session_ended(session_context: Any) -> None:
    """Call when a session is destroyed: its objects are collected by a later ``collect_ended_sessions``."""
    global _ended, _first_ended_at
    with _lock:
        _ended += 1
        if _first_ended_at is None:
            _first_ended_at = time.monotonic()


def note_activity() -> None:
    """Call whenever the server starts or finishes handling an event (``pn.state.busy`` changes)."""
    global _last_busy
    _last_busy = time.monotonic()


def collect_ended_sessions(busy: bool = False) -> int:
    """If sessions ended and now is a good time (see the module text), make their objects collectable and collect
    them; returns how many objects were collected (0 when nothing was done). ``busy``: an event is being handled."""
    global _ended, _first_ended_at
    now = time.monotonic()
    with _lock:
        if not _ended:
            return 0
        quiet = not busy and now - _last_busy >= QUIET_SECONDS
        overdue = _ended >= MAX_PENDING or now - (_first_ended_at or now) >= MAX_DELAY_SECONDS
        if not (quiet or overdue):
            return 0
        ended, _ended, _first_ended_at = _ended, 0, None
    started = time.perf_counter()
    gc.unfreeze()
    collected = gc.collect()
    gc.freeze()
    log.info(
        "collected %d objects of %d ended sessions in %.0f ms%s",
        collected,
        ended,
        (time.perf_counter() - started) * 1000,
        "" if quiet else " (overdue: no quiet moment came)",
    )
    return collected


def manage_session() -> None:
    """Call after the current served session's page is built (``servable()`` has made its models): freeze it,
    count it when it ends, and make sure the process-wide collection task runs."""
    import panel as pn

    if pn.state.curdoc is None or pn.state.curdoc.session_context is None:
        return
    session_built()
    pn.state.on_session_destroyed(session_ended)
    global _watching_busy
    with _lock:
        watch, _watching_busy = not _watching_busy, True
    if watch:
        pn.state.param.watch(lambda _event: note_activity(), "busy")
    # The same function every time: Panel keeps the first task of a name and warns ("A separate task was already
    # scheduled") when a later session hands it a different callable, as a fresh lambda per session did.
    pn.state.schedule_task(TASK_NAME, _collect_task, period=COLLECT_PERIOD)


def _collect_task() -> None:
    """The periodic task: collect ended sessions unless the server is handling an event right now."""
    import panel as pn

    collect_ended_sessions(pn.state.busy)
