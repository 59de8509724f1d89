"""Tests that tell when a registered workaround of Panel / Bokeh / CPython behaviour can go (docs/workarounds.md).

Each test asserts the library behaviour the workaround exists for; it fails once the library changes, which is
the signal to re-measure and remove (or adapt) the workaround.
"""

from __future__ import annotations

import gc
import time
import types

import panel as pn
from bokeh.application.handlers import document_lifecycle
from bokeh.document import Document
from panel.io.state import set_curdoc, state


def _served(doc: Document) -> pn.template.FastListTemplate:
    template = pn.template.FastListTemplate(title="t", main=[pn.pane.Markdown("x")])  # Panel's default indicator
    with set_curdoc(doc):
        template.server_doc(doc)
    return template


def test_panel_busy_indicator_is_still_process_wide():
    """Workaround: the app's template has ``busy_indicator=None`` (ui/app.py). Panel 1.9.4 keeps one process-wide
    ``pn.state.busy`` and a class-level list of indicators: an event of one session sets the spinner of every open
    session (two updates per event per session). When this fails — an event of session A leaves session B's
    indicator alone — Panel scopes busy per session and the indicator can come back."""
    saved = list(state._indicators)
    state._indicators.clear()
    try:
        a, b = Document(), Document()
        template_a, template_b = _served(a), _served(b)
        seen_by_b: list[bool] = []
        template_b.busy_indicator.param.watch(lambda event: seen_by_b.append(event.new), "value")
        with set_curdoc(a):
            state._add_busy_event("event-of-session-a")
            state._remove_busy_event("event-of-session-a")
        assert template_a.busy_indicator in state._indicators
        assert seen_by_b == [True, False], "Panel no longer shows one session's event in another: see workarounds.md"
    finally:
        state._indicators[:] = saved


def test_bokeh_still_runs_a_full_collection_when_a_session_with_destroy_callbacks_closes(monkeypatch):
    """The gc.freeze policy (ui/gc_pauses.py) registers ``on_session_destroyed``; Bokeh 3.9.2 then runs a full
    ``gc.collect()`` at every session close (and Panel schedules another, debounced, ``panel.io.document``). With
    the sessions' objects frozen those collections are cheap and free nothing of them; the policy's own pass
    (``collect_ended_sessions``) does. When this fails, Bokeh stopped collecting on close: re-measure a close."""
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr(gc, "collect", lambda *args: calls.append(args) or 0)
    document = types.SimpleNamespace(session_destroyed_callbacks={lambda context: None})
    document_lifecycle._on_session_destroyed(types.SimpleNamespace(_document=document))
    assert calls == [()], "Bokeh no longer collects when a session closes: see docs/workarounds.md"


def test_a_full_collection_still_walks_every_long_lived_object():
    """The gc.freeze policy exists because CPython's full collection walks every tracked object: with 50 sessions
    open that was up to 1.5 s with nothing answered. Frozen objects are skipped. When this fails (a full collection
    no longer costs in proportion to the old objects), the policy can go: re-run bench/bench_served.py without it."""
    hoard = [[i] for i in range(400_000)]  # long-lived containers, as sessions' models and watchers are
    gc.collect()

    def full_collection_seconds() -> float:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            gc.collect()
            best = min(best, time.perf_counter() - started)
        return best

    walked = full_collection_seconds()
    gc.freeze()
    try:
        frozen = full_collection_seconds()
    finally:
        gc.unfreeze()
    del hoard
    assert walked > 5 * frozen, (walked, frozen)


def test_select_still_drops_a_none_value_from_its_first_render():
    """docs/workarounds.md, "a widget's None value is left out of its first render": when this fails, FilterBar's
    menus can use None for their "all" choice again."""
    import panel as pn

    root = pn.widgets.Select(options={"All": None, "Tools": "Tools"}, value=None).get_root()
    assert root.value == "" and "" not in dict(root.options)
