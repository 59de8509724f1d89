"""Rewriting one marked section of ``docs/benchmarks.md`` with a benchmark's results (``--update-docs``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def update_section(name: str, heading: str, body: str) -> None:
    """Put ``body`` between ``<!-- name:start -->`` and ``<!-- name:end -->``; add a ``## heading`` if absent."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n{block}\n"
    DOCS.write_text(text, encoding="utf-8")


def load_average() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def machine_state() -> str:
    """The load average and the seconds a fixed pure-Python loop takes: the shared machine's speed varied by up to
    2× within a day, so each result says how fast the machine was when it was measured."""
    start = time.perf_counter()
    total = 0
    for i in range(10_000_000):
        total += i
    loop = time.perf_counter() - start
    return f"load average (1, 5, 15 min) {load_average()}; a 10,000,000-step Python loop {loop:.2f} s"
