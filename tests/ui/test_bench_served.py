"""The served-app benchmark runs end to end on a small SQLite inventory: real ``panel serve`` processes (the app
and the baseline page), real Chromium, Bokeh client sessions flipping pages. Its figures are not judged here.

It runs in its own process, as ``python -m bench.bench_served``: the benchmark's client imports every Panel model
(to rebuild the sessions' documents), and Panel then ships the scripts of all of them — Perspective's WebAssembly
among them — with every page a later test serves from the test process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import bench_data

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # a benchmark smoke run


def test_served_benchmark_measures_first_rows_flips_and_memory(tmp_path):
    out = tmp_path / "served.json"
    env = {**os.environ, "INVENTORY_BENCH_DATA": str(tmp_path), "INVENTORY_GEN_CSV": bench_data.__file__}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.bench_served",
            "--backend",
            "sqlite",
            "--rows",
            "200",
            "--sessions",
            "2",
            "--flips",
            "2",
            "--first-loads",
            "1",
            "--think",
            "0.1-0.3",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.exists(), done.stdout[-3000:] + done.stderr[-3000:]  # exit code 1 also means "a target missed"
    r = json.loads(out.read_text())
    assert r["rows"] == 200 and r["sessions"] == 2
    assert len(r["first_rows_s"]["runs"]) == len(r["baseline_first_rows_s"]["runs"]) == 1
    assert r["first_rows_s"]["max"] > 0 and r["baseline_first_rows_s"]["max"] > 0
    assert r["flip_ms"]["count"] == 4 and 0 < r["flip_ms"]["p50"] <= r["flip_ms"]["max"]
    assert r["rss_mb"]["before"] > 0
    assert "The app / baseline: p50" in done.stdout and "| server memory per open session (MB) |" in done.stdout
