"""Short garbage-collector pauses in a server that holds many sessions.

Every open session keeps tens of thousands of long-lived objects (Bokeh models, Panel components, param
watchers). Python's cyclic collector now and then walks all long-lived objects of the process; with 50 sessions
open such a full collection measured up to 1.5 s on the development machine (``bench/bench_served.py``), and no
session is answered meanwhile.

So once a session's page is built, the objects alive at that moment are moved out of the collector's reach
(``gc.freeze``). Reference counting still frees whatever is released; what freezing postpones is only the
freeing of reference cycles among those objects, which is what a closed session leaves behind. Sessions that
ended are therefore collected in one pass from a process-wide periodic task (``collect_ended_sessions``), at most
once per ``COLLECT_PERIOD``: unfreeze, collect, freeze again.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

COLLECT_PERIOD = "60s"
TASK_NAME = "inventory_panel.collect_ended_sessions"

_lock = threading.Lock()
_ended = 0  # sessions ended since the last collection


def session_built() -> None:
    """Call once a session's page is built: collect its young garbage, then freeze what is alive."""
    gc.collect(1)
    gc.freeze()


def session_ended(session_context: Any) -> None:
    """Call when a session is destroyed: its objects are collected by the next ``collect_ended_sessions``."""
    global _ended
    with _lock:
        _ended += 1


def collect_ended_sessions() -> int:
    """If sessions ended since the last call, make their objects collectable and collect them; returns how many
    objects were collected (0 when there was nothing to do)."""
    global _ended
    with _lock:
        if not _ended:
            return 0
        ended, _ended = _ended, 0
    started = time.perf_counter()
    gc.unfreeze()
    collected = gc.collect()
    gc.freeze()
    log.info("collected %d objects of %d ended sessions in %.0f ms", collected, ended,
             (time.perf_counter() - started) * 1000)
    return collected


def manage_session() -> None:
    """Call after the current served session's page is built (``servable()`` has made its models): freeze it,
    count it when it ends, and make sure the process-wide collection task runs."""
    import panel as pn

    if pn.state.curdoc is None or pn.state.curdoc.session_context is None:
        return
    session_built()
    pn.state.on_session_destroyed(session_ended)
    pn.state.schedule_task(TASK_NAME, collect_ended_sessions, period=COLLECT_PERIOD)
