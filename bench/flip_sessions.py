"""Many people flipping pages at once: Bokeh client sessions on a served app (``bench_served``, ``bench_scale_out``).

Each ``Session`` is a Bokeh client session (``bokeh.client``: the websocket protocol a browser speaks, without a
browser's rendering, which on two cores would starve the server it measures). ``open_and_flip`` opens them one after
another, as people arrive, measures the server's memory per session, then has every session click the pager's
"Next ›" (the same ``button_click`` event a browser sends), looking at each page for ``think`` seconds, all at once.
A round trip is the click until the server's update of the "Showing …" range has arrived (the page's rows come in
the same update).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import pkgutil
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

PAGE_SIZE = 25  # the app's default page size
WAIT_MS = 60_000


def _fmt(n: int) -> str:
    return f"{n:,}"


class Session:
    """One app session driven over the Bokeh websocket protocol, as a browser would, minus the rendering."""

    def __init__(self, url: str):
        from bokeh.client import pull_session
        from tornado.ioloop import IOLoop

        self.loop = IOLoop()
        self.client = pull_session(url=url, io_loop=self.loop)
        self.doc = self.client.document
        # Every model came from the server: events must refer to them by id, not resend them.
        self.doc.models.flush_synced()
        self.next: Any = next(
            m for m in self.doc.models if type(m).__name__ == "Button" and "Next" in (getattr(m, "label", "") or "")
        )
        self.range = next(m for m in self.doc.models if "Showing" in str(getattr(m, "text", "")))
        self._shown = ""
        self._changed = threading.Condition()
        self.doc.on_change(self._on_change)
        # The client's IOLoop only runs inside its blocking calls; this thread keeps it running (reading the
        # server's updates, sending our events) until the connection closes.
        threading.Thread(target=self.client._loop_until_closed, daemon=True).start()

    def _on_change(self, event: Any) -> None:
        if getattr(event, "model", None) is self.range and getattr(event, "attr", None) == "text":
            with self._changed:
                self._shown = str(event.new)
                self._changed.notify_all()

    def flip(self, expected: str) -> float:
        """Click "Next ›"; milliseconds until the range ``expected`` is shown."""
        from bokeh.events import ButtonClick

        start = time.perf_counter()
        self.loop.add_callback(lambda: self.doc.callbacks.send_event(ButtonClick(self.next)))
        with self._changed:
            if not self._changed.wait_for(lambda: expected in self._shown, timeout=WAIT_MS / 1000):
                raise TimeoutError(f"the page did not turn to {expected!r} (shows {self._shown[:80]!r})")
        return (time.perf_counter() - start) * 1000

    def close(self) -> None:
        self.loop.add_callback(self.client.close)


def _flips(
    session: Session, flips: int, think: tuple[float, float], seed: float, timeline: list[tuple[float, float]]
) -> list[float]:
    rng = random.Random(seed)
    times = []
    for k in range(1, flips + 1):
        time.sleep(rng.uniform(*think))
        sent = time.perf_counter()
        times.append(session.flip(f"Showing {_fmt(k * PAGE_SIZE + 1)}–"))
        timeline.append((sent, times[-1]))
    return times


def register_panel_models() -> None:
    """Make every Panel Bokeh model and the app's own known to the client, which must rebuild the session's document."""
    import panel.models

    for module in pkgutil.iter_modules(panel.models.__path__):
        with contextlib.suppress(ImportError):
            importlib.import_module(f"panel.models.{module.name}")
    # The app's own ReactiveHTML components (the summary cards) define their Bokeh models when their classes are
    # created: without them the client cannot rebuild the document ("can't resolve type ...").
    importlib.import_module("inventory_panel.ui.app")


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def open_and_flip(
    url: str, rss_mb: Callable[[], float], sessions: int, flips: int, think: tuple[float, float]
) -> dict[str, Any]:
    """Open ``sessions`` sessions on ``url``, measure the server's memory (``rss_mb``), flip; close them."""
    register_panel_models()
    time.sleep(2)
    before = rss_mb()
    opened = [Session(url) for _ in range(sessions)]  # one after another, as people arrive
    # The clients' own documents are long-lived too: without this, this process's full garbage collections
    # (measured up to 1.5 s with 50 documents) would be counted as the server's latency.
    gc.collect()
    gc.freeze()
    time.sleep(2)
    after = rss_mb()
    per_session = (after - before) / sessions
    print(
        f"  server memory: {before:.0f} MB -> {after:.0f} MB with {sessions} sessions open "
        f"({per_session:.1f} MB per session)",
        flush=True,
    )
    seeds = random.Random(7)
    started = time.perf_counter()
    timeline: list[tuple[float, float]] = []
    try:
        with ThreadPoolExecutor(max_workers=sessions) as pool:
            results = list(pool.map(lambda s: _flips(s, flips, think, seeds.random(), timeline), opened))
    finally:
        elapsed = time.perf_counter() - started
        peak = rss_mb()
        for session in opened:
            session.close()
        gc.unfreeze()
    flips_ms = [t for r in results for t in r]
    windows: dict[int, list[float]] = {}
    for sent, ms in timeline:
        windows.setdefault(int((sent - started) // 5), []).append(ms)
    by_window = [
        {"from_s": 5 * w, "flips": len(v), "p50": pct(v, 0.5), "p95": pct(v, 0.95)} for w, v in sorted(windows.items())
    ]
    print(
        "  flips by 5-second window (sent at, count, p50/p95 ms): "
        + "; ".join(f"{w['from_s']}s {w['flips']} {w['p50']:.0f}/{w['p95']:.0f}" for w in by_window),
        flush=True,
    )
    print(
        f"  page flips: {len(flips_ms)} in {elapsed:.1f} s by {sessions} sessions at once: "
        f"p50 {pct(flips_ms, 0.5):.0f} ms, p95 {pct(flips_ms, 0.95):.0f} ms, max {max(flips_ms):.0f} ms",
        flush=True,
    )
    return {
        "rss_mb": {"before": before, "with_sessions": after, "after_flips": peak},
        "mb_per_session": per_session,
        "flip_ms": {
            "p50": pct(flips_ms, 0.5),
            "p95": pct(flips_ms, 0.95),
            "max": max(flips_ms),
            "count": len(flips_ms),
            "seconds": elapsed,
            "by_window": by_window,
        },
    }
