"""Served-app benchmark: time to the first rows in headless Chromium, then 50 sessions flipping pages at once.

Run: ``python -m bench.bench_served`` (``--rows``, ``--backend``, ``--sessions``, ``--flips``, ``--database-url``).

One ``panel serve app.py`` process (the options ``inventory-panel serve`` uses) on a database of ``--rows`` items
loaded as in ``bench_browse`` (or an existing, migrated ``--database-url``). Measured, in one run:

1. first rows visible: a fresh headless Chromium context navigates to the app; the time until the first table
   row is visible (a new server session each time: building it, its queries, the page rendering in the browser).
   The same browser loads ``bench/baseline_page.py`` (the smallest Panel page showing those rows, served by a
   second process on the same database) alternately with the app, so the ratio app / baseline is measured under
   the same load;
2. ``--sessions`` sessions stay open, each a Bokeh client session (``bokeh.client``: the websocket protocol a
   browser speaks, without a browser's rendering, which on two cores would starve the server it measures); the
   server's resident memory before and after opening them gives the memory per session;
3. every session then flips pages by clicking the pager's "Next ›" (the same ``button_click`` event a browser
   sends), looking at each page for 2–5 s (``--think``) as a person would, all at once; a round trip is the
   click until the server's update of the "Showing …" range has arrived (the page's rows come in the same
   update). p50/p95 over all flips.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import json
import os
import pkgutil
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

import inventory_panel as ip
from bench.bench_browse import DATA, dataset, load_postgres, load_sqlite, postgres_url
from bench.chromium import CHROMIUM_ARGS, VIEWPORT
from bench.docs_section import machine_state, update_section
from bench.postgres import free_port
from inventory_panel.cli import serve_args
from inventory_panel.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
PAGE_SIZE = 25  # the app's default page size
TARGETS = {"first_rows_s": 2.0, "flip_p95_ms": 300.0, "mb_per_session": 15.0}
START_TIMEOUT = 180.0
WAIT_MS = 60_000


@dataclass
class Served:
    url: str
    process: subprocess.Popen

    def rss_mb(self) -> float:
        return psutil.Process(self.process.pid).memory_info().rss / 2**20


@contextmanager
def served(db_url: str, log_path: Path, app: Path = ROOT / "app.py") -> Iterator[Served]:
    """``panel serve <app>`` on ``db_url``, ready (its liveness endpoint answers), stopped at the end."""
    port = free_port()
    env = {
        **os.environ,
        "INVENTORY_DATABASE_URL": db_url,
        "INVENTORY_USER": "bench@example.com",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABRICKS_APP_NAME", None)
    cmd = [sys.executable, "-m", "panel", "serve", str(app), *serve_args(port, "127.0.0.1"), "--liveness"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_alive(f"http://127.0.0.1:{port}/liveness", process)
            yield Served(f"http://127.0.0.1:{port}/{app.stem}", process)
        finally:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(15)


def _wait_alive(url: str, process: subprocess.Popen) -> None:
    # The liveness endpoint, not the app: every GET of the app would build a whole session.
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"panel serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise SystemExit("panel serve did not start")


def _fmt(n: int) -> str:
    return f"{n:,}"


async def _open(browser: Any, url: str) -> tuple[Any, float]:
    """A new browser context on the app; seconds from navigation to the first table row visible."""
    context = await browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS)
    page = await context.new_page()
    start = time.perf_counter()
    await page.goto(url, wait_until="commit")
    await page.locator(".tabulator-row").first.wait_for(state="visible")
    return page, time.perf_counter() - start


async def first_rows(urls: list[str], loads: int) -> list[list[float]]:
    """Seconds to the first rows of ``loads`` fresh sessions of each URL, the URLs loaded in turn."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            for url in urls:  # the first session pays imports and caches once per process
                warm, _ = await _open(browser, url)
                await warm.context.close()
            seconds: list[list[float]] = [[] for _ in urls]
            for _ in range(loads):
                for url, times in zip(urls, seconds, strict=True):
                    page, took = await _open(browser, url)
                    times.append(took)
                    await page.context.close()
            return seconds
        finally:
            await browser.close()


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
        self.next = next(m for m in self.doc.models if type(m).__name__ == "Button" and "Next" in (m.label or ""))
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


def _register_panel_models() -> None:
    """Make every Panel Bokeh model known to the client, which must rebuild the session's document."""
    import panel.models

    for module in pkgutil.iter_modules(panel.models.__path__):
        with contextlib.suppress(ImportError):
            importlib.import_module(f"panel.models.{module.name}")


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def measure(
    server: Served, baseline: Served, sessions: int, flips: int, first_loads: int, think: tuple[float, float]
) -> dict[str, Any]:
    loads, base = asyncio.run(first_rows([server.url, baseline.url], first_loads))
    print(
        f"  first rows visible: p50 {statistics.median(loads):.2f} s, max {max(loads):.2f} s "
        f"({first_loads} fresh sessions); baseline page p50 {statistics.median(base):.2f} s, "
        f"max {max(base):.2f} s",
        flush=True,
    )
    baseline.process.terminate()  # not in the way of the flips
    baseline.process.wait(15)
    _register_panel_models()
    time.sleep(2)
    before = server.rss_mb()
    opened = [Session(server.url) for _ in range(sessions)]  # one after another, as people arrive
    # The clients' own documents are long-lived too: without this, this process's full garbage collections
    # (measured up to 1.5 s with 50 documents) would be counted as the server's latency.
    gc.collect()
    gc.freeze()
    time.sleep(2)
    after = server.rss_mb()
    per_session = (after - before) / sessions
    print(
        f"  server memory: {before:.0f} MB -> {after:.0f} MB with {sessions} sessions open "
        f"({per_session:.1f} MB per session)",
        flush=True,
    )
    seeds = random.Random(7)
    started = time.perf_counter()
    timeline: list[tuple[float, float]] = []
    with ThreadPoolExecutor(max_workers=sessions) as pool:
        results = list(pool.map(lambda s: _flips(s, flips, think, seeds.random(), timeline), opened))
    elapsed = time.perf_counter() - started
    flips_ms = [t for r in results for t in r]
    windows: dict[int, list[float]] = {}
    for sent, ms in timeline:
        windows.setdefault(int((sent - started) // 5), []).append(ms)
    by_window = [
        {"from_s": 5 * w, "flips": len(v), "p50": _pct(v, 0.5), "p95": _pct(v, 0.95)}
        for w, v in sorted(windows.items())
    ]
    print(
        "  flips by 5-second window (sent at, count, p50/p95 ms): "
        + "; ".join(f"{w['from_s']}s {w['flips']} {w['p50']:.0f}/{w['p95']:.0f}" for w in by_window),
        flush=True,
    )
    print(
        f"  page flips: {len(flips_ms)} in {elapsed:.1f} s by {sessions} sessions at once: "
        f"p50 {_pct(flips_ms, 0.5):.0f} ms, p95 {_pct(flips_ms, 0.95):.0f} ms, max {max(flips_ms):.0f} ms",
        flush=True,
    )
    peak = server.rss_mb()
    return {
        "first_rows_s": {"p50": statistics.median(loads), "max": max(loads), "runs": loads},
        "baseline_first_rows_s": {"p50": statistics.median(base), "max": max(base), "runs": base},
        "rss_mb": {"before": before, "with_sessions": after, "after_flips": peak},
        "mb_per_session": per_session,
        "flip_ms": {
            "p50": _pct(flips_ms, 0.5),
            "p95": _pct(flips_ms, 0.95),
            "max": max(flips_ms),
            "count": len(flips_ms),
            "seconds": elapsed,
            "by_window": by_window,
        },
    }


@contextmanager
def database(backend: str, rows: int, url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    if backend == "postgresql" and os.environ.get("INVENTORY_BENCH_PG_BIN"):
        print(f"  PostgreSQL binaries: {os.environ['INVENTORY_BENCH_PG_BIN']}", flush=True)
    csv_path = dataset(rows)
    start = time.perf_counter()
    if backend == "sqlite":
        path = DATA / f"served_{rows}.db"
        load_sqlite(csv_path, path).close()
        print(f"  loaded {rows:,} rows into SQLite in {time.perf_counter() - start:.0f} s", flush=True)
        yield f"sqlite:///{path}"
        return
    with postgres_url() as pg:
        load_postgres(csv_path, pg).close()
        print(f"  loaded {rows:,} rows into PostgreSQL in {time.perf_counter() - start:.0f} s", flush=True)
        yield pg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--database-url", help="an already loaded and migrated database (skips loading)")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--flips", type=int, default=10, help="page flips per session")
    parser.add_argument("--first-loads", type=int, default=10, help="fresh sessions timed to the first rows")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument(
        "--update-docs", action="store_true", help="rewrite the Served app section of docs/benchmarks.md"
    )
    parser.add_argument(
        "--think",
        default="2-5",
        help="seconds a person looks at a page before the next flip, drawn uniformly from MIN-MAX (default 2-5)",
    )
    args = parser.parse_args(argv)
    think = tuple(float(x) for x in args.think.split("-", 1))
    print(f"Served-app benchmark: {args.backend}, {args.rows:,} items, {args.sessions} sessions", flush=True)
    load_start = machine_state()
    with (
        database(args.backend, args.rows, args.database_url) as url,
        served(url, DATA / "bench_served_server.log") as server,
        served(url, DATA / "bench_served_baseline.log", ROOT / "bench" / "baseline_page.py") as baseline,
    ):
        results = measure(server, baseline, args.sessions, args.flips, args.first_loads, think)
        rows = _count(url)
    results.update(
        backend=args.backend,
        rows=rows,
        sessions=args.sessions,
        flips=args.flips,
        think=think,
        targets=TARGETS,
        load=[load_start, machine_state()],
    )
    pg_bin = os.environ.get("INVENTORY_BENCH_PG_BIN") if args.backend == "postgresql" else None
    command = (
        (f"INVENTORY_BENCH_PG_BIN={pg_bin} " if pg_bin else "")
        + "python -m bench.bench_served "
        + " ".join(argv if argv is not None else sys.argv[1:])
    )
    section = markdown(results, command.strip())
    print("\n" + section)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    if args.update_docs:
        update_section("bench_served", "Served app", section)
    return 0 if all(ok for _name, _value, _target, ok in _verdicts(results)) else 1


def _count(url: str) -> int:
    inv = ip.connect(url, user="bench@example.com", role="admin", settings=load_settings({}))
    try:
        return int(inv.summary()["items"])
    finally:
        inv.close()


def _verdicts(r: dict[str, Any]) -> list[tuple[str, float, float, bool]]:
    return [
        (
            "first rows visible, slowest of the fresh sessions (s)",
            r["first_rows_s"]["max"],
            TARGETS["first_rows_s"],
            r["first_rows_s"]["max"] <= TARGETS["first_rows_s"],
        ),
        (
            f"page flip p95 with {r['sessions']} sessions (ms)",
            r["flip_ms"]["p95"],
            TARGETS["flip_p95_ms"],
            r["flip_ms"]["p95"] <= TARGETS["flip_p95_ms"],
        ),
        (
            "server memory per open session (MB)",
            r["mb_per_session"],
            TARGETS["mb_per_session"],
            r["mb_per_session"] <= TARGETS["mb_per_session"],
        ),
    ]


def _baseline_lines(r: dict[str, Any]) -> list[str]:
    base = r.get("baseline_first_rows_s")
    if not base:
        return []
    first = r["first_rows_s"]
    return [
        f"- Baseline, loaded in turn with the app in the same browser: the smallest Panel page showing the same "
        f"25 rows (`bench/baseline_page.py`: one Tabulator, the app's Panel extensions, no page template) "
        f"p50 {base['p50']:.2f} s, slowest {base['max']:.2f} s. The app / baseline: p50 "
        f"{first['p50'] / base['p50']:.2f}×, slowest {first['max'] / base['max']:.2f}×."
    ]


def markdown(r: dict[str, Any], command: str) -> str:
    first, flips, rss = r["first_rows_s"], r["flip_ms"], r["rss_mb"]
    lines = [
        f"Command: `{command}` — {r['backend']}, {r['rows']:,} items, one `panel serve app.py` process "
        f"(`inventory-panel serve` options); first rows in headless Chromium, the {r['sessions']} sessions as "
        f"Bokeh client sessions, all on the same machine. "
        f"Machine at start: {r['load'][0]}; at end: {r['load'][1]}.",
        "",
        f"- First rows visible (fresh session each): p50 {first['p50']:.2f} s, slowest {first['max']:.2f} s "
        f"over {len(first['runs'])} loads.",
        *_baseline_lines(r),
        f"- Server RSS: {rss['before']:.0f} MB before, {rss['with_sessions']:.0f} MB with {r['sessions']} "
        f"sessions open ({r['mb_per_session']:.1f} MB per session), {rss['after_flips']:.0f} MB after the flips.",
        f"- Page flips: {flips['count']} by {r['sessions']} sessions at once ({r['flips']} each, "
        f"{r['think'][0]:g}–{r['think'][1]:g} s apart) in {flips['seconds']:.0f} s: p50 {flips['p50']:.0f} ms, "
        f"p95 {flips['p95']:.0f} ms, "
        f"max {flips['max']:.0f} ms.",
    ]
    if flips.get("by_window"):
        lines.append(
            "- The same flips by when they were sent (5-second windows from the start; every session "
            f"flips first {r['think'][0]:g}–{r['think'][1]:g} s after the start, so the first windows hold a "
            "burst): "
            + "; ".join(
                f"{w['from_s']}–{w['from_s'] + 5} s: {w['flips']} flips, p50 {w['p50']:.0f} / p95 {w['p95']:.0f} ms"
                for w in flips["by_window"]
            )
            + "."
        )
    lines += ["", "| Target | Measured | Target | |", "|---|---:|---:|---|"]
    for name, value, target, ok in _verdicts(r):
        verdict = "met" if ok else f"**missed** ({value / target:.1f}×)"
        lines.append(f"| {name} | {value:.2f} | ≤ {target:g} | {verdict} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
