"""The served-app benchmark runs end to end on a small SQLite inventory: real ``panel serve`` processes (the app
and the baseline page), real Chromium, Bokeh client sessions flipping pages. Its figures are not judged here."""

from __future__ import annotations

import json

from bench import bench_browse, bench_served, data_files
from tests.support import bench_data


def test_served_benchmark_measures_first_rows_flips_and_memory(tmp_path, monkeypatch, capsys):
    for module in (data_files, bench_browse, bench_served):
        monkeypatch.setattr(module, "DATA", tmp_path)
    monkeypatch.setenv("INVENTORY_GEN_CSV", bench_data.__file__)
    out = tmp_path / "served.json"
    bench_served.main(["--backend", "sqlite", "--rows", "200", "--sessions", "2", "--flips", "2",
                       "--first-loads", "1", "--think", "0.1-0.3", "--json", str(out)])
    r = json.loads(out.read_text())
    assert r["rows"] == 200 and r["sessions"] == 2
    assert len(r["first_rows_s"]["runs"]) == len(r["baseline_first_rows_s"]["runs"]) == 1
    assert r["first_rows_s"]["max"] > 0 and r["baseline_first_rows_s"]["max"] > 0
    assert r["flip_ms"]["count"] == 4 and 0 < r["flip_ms"]["p50"] <= r["flip_ms"]["max"]
    assert r["rss_mb"]["before"] > 0
    printed = capsys.readouterr().out
    assert "The app / baseline: p50" in printed and "| server memory per open session (MB) |" in printed
