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
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

import inventory_panel as ip
from bench.bench_browse import DATA, dataset, load_postgres, load_sqlite, postgres_url
from bench.chromium import CHROMIUM_ARGS, VIEWPORT
from bench.docs_section import machine_state, update_section
from bench.flip_sessions import WAIT_MS, open_and_flip
from bench.postgres import free_port
from inventory_panel.cli import serve_args
from inventory_panel.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
# first_rows_vs_baseline: the app's p50 time to its first rows over the bare one-table page's, loaded in turn in the
# same browser in the same run (issue 16).
TARGETS = {"first_rows_s": 2.0, "first_rows_vs_baseline": 1.2, "flip_p95_ms": 300.0, "mb_per_session": 15.0}
START_TIMEOUT = 180.0


@dataclass
class Served:
    url: str
    process: subprocess.Popen

    def rss_mb(self) -> float:
        """Resident memory of the server: with ``--num-procs`` the forked workers' and their parent's, summed."""
        root = psutil.Process(self.process.pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20

    def stop(self) -> None:
        """Stop the server and, with ``--num-procs``, its forked workers: Tornado's parent leaves them running."""
        try:
            workers = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            workers = []
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(15)
        for worker in workers:
            with contextlib.suppress(psutil.NoSuchProcess):
                worker.terminate()
        _gone, alive = psutil.wait_procs(workers, timeout=15)
        for worker in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                worker.kill()


@contextmanager
def served(
    db_url: str, log_path: Path, app: Path = ROOT / "app.py", num_procs: int = 1, root: Path = ROOT
) -> Iterator[Served]:
    """``panel serve <app>`` on ``db_url`` (``--num-procs`` worker processes forked by Tornado, sharing the port),
    ready (its liveness endpoint answers), stopped at the end."""
    port = free_port()
    env = {
        **os.environ,
        "INVENTORY_DATABASE_URL": db_url,
        "INVENTORY_USER": "bench@example.com",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABRICKS_APP_NAME", None)
    cmd = [sys.executable, "-m", "panel", "serve", str(app), *serve_args(port, "127.0.0.1"), "--liveness"]
    if num_procs != 1:
        cmd += ["--num-procs", str(num_procs)]
    with log_path.open("wb") as log:
        # `python -m panel` puts its working directory first on sys.path: the app's package comes from `root`.
        process = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_alive(f"http://127.0.0.1:{port}/liveness", process)
            yield Served(f"http://127.0.0.1:{port}/{app.stem}", process)
        finally:
            Served("", process).stop()


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


def measure(
    server: Served,
    baseline: Served | None,
    sessions: int,
    flips: int,
    first_loads: int,
    think: tuple[float, float],
    other: Served | None = None,
) -> dict[str, Any]:
    """First rows of the app, the bare page (and ``other``, another checkout's app) loaded in turn; then the flips."""
    results: dict[str, Any] = {}
    if baseline is not None and first_loads > 0:
        pages = [server, baseline, *([other] if other else [])]
        times = asyncio.run(first_rows([p.url for p in pages], first_loads))
        keys = ["first_rows_s", "baseline_first_rows_s", "other_first_rows_s"]
        for key, runs in zip(keys, times, strict=False):
            results[key] = {"p50": statistics.median(runs), "max": max(runs), "runs": runs}
        print(
            "  first rows visible, p50 / slowest of "
            f"{first_loads} fresh sessions each: "
            + "; ".join(f"{k} {results[k]['p50']:.2f} / {results[k]['max']:.2f} s" for k in keys if k in results),
            flush=True,
        )
        for page in pages[1:]:
            page.stop()  # not in the way of the flips
    results.update(open_and_flip(server.url, server.rss_mb, sessions, flips, think))
    return results


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
    parser.add_argument(
        "--first-loads", type=int, default=10, help="fresh sessions timed to the first rows (0: flips only)"
    )
    parser.add_argument("--num-procs", type=int, default=1, help="panel serve --num-procs (worker processes)")
    parser.add_argument(
        "--compare-checkout",
        type=Path,
        help="another checkout (`git worktree add DIR <commit>`): its app's first rows are loaded in turn with this "
        "one's and the bare page's, in the same browser (before/after a change, measured in one run)",
    )
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
    low, high = args.think.split("-", 1)
    think = (float(low), float(high))
    print(
        f"Served-app benchmark: {args.backend}, {args.rows:,} items, {args.sessions} sessions, "
        f"{args.num_procs} process(es)",
        flush=True,
    )
    load_start = machine_state()
    with (
        database(args.backend, args.rows, args.database_url) as url,
        served(url, DATA / "bench_served_server.log", num_procs=args.num_procs) as server,
        served(url, DATA / "bench_served_baseline.log", ROOT / "bench" / "baseline_page.py") as baseline,
        contextlib.ExitStack() as stack,
    ):
        other = None
        if args.compare_checkout:
            checkout = args.compare_checkout.resolve()
            log_path = DATA / "bench_served_compared.log"
            other = stack.enter_context(served(url, log_path, checkout / "app.py", root=checkout))
        results = measure(server, baseline, args.sessions, args.flips, args.first_loads, think, other)
        rows = _count(url)
    results.update(
        backend=args.backend,
        rows=rows,
        sessions=args.sessions,
        num_procs=args.num_procs,
        compared_checkout=_describe(args.compare_checkout),
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


def _describe(checkout: Path | None) -> str | None:
    """``<commit> <subject>`` of another checkout, as the docs name it."""
    if checkout is None:
        return None
    done = subprocess.run(
        ["git", "-C", str(checkout), "log", "-1", "--format=%h %s"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip()[:100] or str(checkout)


def _count(url: str) -> int:
    inv = ip.connect(url, user="bench@example.com", role="admin", settings=load_settings({}))
    try:
        return int(inv.summary()["items"])
    finally:
        inv.close()


def _verdicts(r: dict[str, Any]) -> list[tuple[str, float, float, bool]]:
    verdicts = []
    if "first_rows_s" in r:
        first, base = r["first_rows_s"], r["baseline_first_rows_s"]
        ratio = first["p50"] / base["p50"]
        verdicts += [
            (
                "first rows visible, slowest of the fresh sessions (s)",
                first["max"],
                TARGETS["first_rows_s"],
                first["max"] <= TARGETS["first_rows_s"],
            ),
            (
                "first rows, app / bare one-table page, p50 (×)",
                ratio,
                TARGETS["first_rows_vs_baseline"],
                ratio <= TARGETS["first_rows_vs_baseline"],
            ),
        ]
    return [
        *verdicts,
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
    lines = [
        f"- Baseline, loaded in turn with the app in the same browser: the smallest Panel page showing the same "
        f"25 rows (`bench/baseline_page.py`: one Tabulator, the app's Panel extensions, no page template) "
        f"p50 {base['p50']:.2f} s, slowest {base['max']:.2f} s. The app / baseline: p50 "
        f"{first['p50'] / base['p50']:.2f}×, slowest {first['max'] / base['max']:.2f}×."
    ]
    other = r.get("other_first_rows_s")
    if other:
        lines.append(
            f"- Compared, loaded in the same turns: the app of `{r.get('compared_checkout')}` p50 "
            f"{other['p50']:.2f} s, slowest {other['max']:.2f} s; its app / baseline p50 "
            f"{other['p50'] / base['p50']:.2f}×."
        )
    return lines


def _first_lines(r: dict[str, Any]) -> list[str]:
    first = r.get("first_rows_s")
    if not first:
        return []
    return [
        f"- First rows visible (fresh session each): p50 {first['p50']:.2f} s, slowest {first['max']:.2f} s "
        f"over {len(first['runs'])} loads.",
        *_baseline_lines(r),
    ]


def markdown(r: dict[str, Any], command: str) -> str:
    flips, rss = r["flip_ms"], r["rss_mb"]
    procs = r.get("num_procs", 1)
    server = "one `panel serve app.py` process" if procs == 1 else f"`panel serve app.py --num-procs {procs}`"
    lines = [
        f"Command: `{command}` — {r['backend']}, {r['rows']:,} items, {server} "
        f"(`inventory-panel serve` options); first rows in headless Chromium, the {r['sessions']} sessions as "
        f"Bokeh client sessions, all on the same machine. "
        f"Machine at start: {r['load'][0]}; at end: {r['load'][1]}.",
        "",
        *_first_lines(r),
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
