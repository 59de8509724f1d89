"""``inventory-panel export --format csv|xlsx|parquet`` and ``inventory-panel template`` as a user runs them."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys

import pyarrow.parquet as pq
from python_calamine import CalamineWorkbook

from inventory_panel.fields import FIELD_NAMES
from inventory_panel.importing.template import template_csv
from tests.conftest import SAMPLE_CSV
from tests.integration.test_cli import run


def _load(db_url: str) -> None:
    assert run("--database-url", db_url, "import", str(SAMPLE_CSV)).returncode == 0


def test_export_format_from_the_extension_or_the_option(db_url, tmp_path):
    _load(db_url)
    xlsx = tmp_path / "items.xlsx"
    result = run("--database-url", db_url, "export", "--output", str(xlsx), "--status", "ok")
    assert result.returncode == 0, result.stderr
    rows = CalamineWorkbook.from_path(str(xlsx)).get_sheet_by_index(0).to_python()
    assert rows[0] == list(FIELD_NAMES) and len(rows) > 1
    assert all(isinstance(r[2], float) and isinstance(r[3], float) for r in rows[1:])  # numbers, not text
    parquet = tmp_path / "items.bin"
    result = run("--database-url", db_url, "export", "--output", str(parquet), "--format", "parquet")
    assert result.returncode == 0, result.stderr
    assert pq.read_table(parquet).num_rows == 10 and "Exported 10 items" in result.stderr


def test_a_binary_export_goes_to_a_pipe_but_not_to_a_terminal(sqlite_url):
    _load(sqlite_url)
    piped = subprocess.run(
        [sys.executable, "-m", "inventory_panel.cli", "--database-url", sqlite_url, "export", "--format", "parquet"],
        capture_output=True,
        timeout=120,
    )
    assert piped.returncode == 0, piped.stderr
    assert pq.read_table(io.BytesIO(piped.stdout)).num_rows == 10
    main, terminal = pty.openpty()
    try:
        shown = subprocess.run(
            [sys.executable, "-m", "inventory_panel.cli", "--database-url", sqlite_url, "export", "--format", "xlsx"],
            stdout=terminal,
            stderr=subprocess.PIPE,
            timeout=120,
        )
        os.set_blocking(main, False)
        try:
            written = os.read(main, 65536)
        except BlockingIOError:
            written = b""
    finally:
        os.close(main)
        os.close(terminal)
    assert shown.returncode == 2
    assert shown.stderr.decode().count("\n") == 1 and "--output" in shown.stderr.decode()
    assert written == b""  # not a byte of the workbook reached the terminal


def test_xlsx_export_to_a_full_disk_is_one_line_without_traceback(sqlite_url):
    _load(sqlite_url)
    for fmt in ("xlsx", "parquet"):
        result = run("--database-url", sqlite_url, "export", "--output", "/dev/full", "--format", fmt)
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "No space left" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_template_command_writes_csv_or_xlsx(tmp_path):
    result = run("template")
    assert result.returncode == 0 and result.stdout == template_csv()
    target = tmp_path / "template.xlsx"
    result = run("template", "--output", str(target))
    assert result.returncode == 0, result.stderr
    assert CalamineWorkbook.from_path(str(target)).sheet_names == ["Items", "Columns"]
    result = run("template", "--output", str(tmp_path / "t.parquet"))
    assert result.returncode == 2 and "csv or xlsx" in result.stderr
