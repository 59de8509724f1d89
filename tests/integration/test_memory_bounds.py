"""Memory stays bounded on hostile or huge input: each case runs in its own process and its peak RSS is checked.

``tests/support/memory_probe.py`` runs the operation and reports its RSS just before (``baseline_mb``) and its peak
(``peak_mb``, ``ru_maxrss``). The bounds are fixed numbers of MB above the baseline, far below what the files
would cost if they were held in memory, so a regression that makes memory grow with the input fails here.

- rows with thousands of extra cells, imported through the CLI (each row is rejected as it is read, not kept),
  and one line of millions of cells (refused before it is split);
- a file where every row is rejected, imported through the CLI with ``--errors-out`` (the error file is streamed
  and capped, the errors table capped, the counts exact);
- uploads sent chunk by chunk as the browser sends them: one that never finishes and one larger than the limit
  (refused while they arrive), and an unfinished one whose page closes (released with the session).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.support.subprocess_run import run_module

ROOT = Path(__file__).resolve().parents[2]
FILE_MB = 40
ERROR_FILE_MB = 16  # importing.report.ERROR_FILE_MAX_CHARS, spelled out so that this file runs on older code too


def probe(*args: str) -> dict:
    result = run_module("tests.support.memory_probe", *args, cwd=ROOT, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def growth(figures: dict) -> float:
    return figures["peak_mb"] - figures["baseline_mb"]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("memory")
    made = {}
    for kind in ("wide", "rejected", "oneline"):
        made[kind] = folder / f"{kind}.csv"
        probe("write-csv", kind, str(FILE_MB), str(made[kind]))
    return made


def test_rows_with_thousands_of_extra_cells_are_rejected_as_they_are_read(files, db_url, tmp_path):
    errors_out = tmp_path / "errors.csv"
    figures = probe("cli-import", db_url, str(files["wide"]), str(errors_out))
    # Held as cells, these 40 MB took ~460 MB; cut as they are read, a few MB.
    assert growth(figures) < 60, figures
    assert figures["status"] == 1
    assert "rows read, 0 items added, 0 updated," in figures["stdout_head"]
    rows = list(csv.reader(errors_out.open(encoding="utf-8")))
    assert rows[0] == ["item_name", "category", "quantity", "unit_price", "sku", "error"]
    first = rows[1]
    # The row's own cells and its first extra cells, then the message with the real cell count.
    assert first[:2] == ["Item 0", "Tools"] and len(first) == 5 + 20 + 1
    assert first[-1].startswith("this row has 5005 cells but the header has 5")


def test_a_line_of_millions_of_cells_is_refused_before_it_is_split(files, sqlite_url):
    figures = probe("cli-import", sqlite_url, str(files["oneline"]))
    # Split into cells, this one 40 MB line took ~450 MB; it is refused when the parser would first see it.
    assert growth(figures) < 30, figures
    assert figures["status"] == 2
    assert "Line 3 is longer than 1,048,576 characters" in figures["stderr_head"], figures


def test_a_file_with_every_row_rejected_streams_a_capped_error_file(files, db_url, tmp_path):
    errors_out = tmp_path / "errors.csv"
    figures = probe("cli-import", db_url, str(files["rejected"]), str(errors_out))
    # Before: the whole error file (60 MB here, 352 MB for 200 MB) was built in memory: +210 MB for this file.
    assert growth(figures) < 120, figures
    assert figures["errors_out_bytes"] < (ERROR_FILE_MB + 1) * 1_048_576
    head = figures["stdout_head"]
    rows_read = head.split(" rows read")[0].rsplit(" ", 1)[-1]  # "576,084"
    assert f"{rows_read} rows rejected" in head  # the count stays exact
    assert "Only the first 10,000 problems are listed" in head and "The error file was cut at 16 MB" in head
    with errors_out.open(encoding="utf-8") as fh:
        last = list(csv.reader(fh))[-1]
    assert last[-1].startswith("The error file stops here:") and "more rejected rows are not in it" in last[-1]


@pytest.mark.parametrize("case", ["unfinished", "oversize"])
def test_an_upload_past_the_limit_is_refused_while_it_arrives(case):
    figures = probe("upload", case)
    # 240 MB that never finish / 48 MB sent completely, against a 16 MB limit: never more than the limit is held.
    assert growth(figures) < figures["limit_mb"] + 8, figures
    assert figures["refusal"] and "larger than 16 MB" in figures["refusal"]
    assert figures["value_names"] == []


def test_an_unfinished_upload_is_released_when_the_page_closes():
    figures = probe("upload", "close")
    assert figures["before_close_mb"] - figures["baseline_mb"] > 5, figures  # the chunks were held...
    assert figures["after_close_mb"] - figures["baseline_mb"] < 3, figures  # ...and are gone with the session


def test_one_websocket_message_cannot_announce_unbounded_buffers():
    figures = probe("message-buffers")
    # 60 buffers of 4 MB announced by one message: Bokeh collected them all (+240 MB) before anyone saw the message.
    assert growth(figures) < 20, figures
    assert figures["refused"] and "message buffers exceed" in figures["refused"]
