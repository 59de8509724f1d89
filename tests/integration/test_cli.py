"""The inventory-panel command as a user runs it: a real subprocess, real SQLite and PostgreSQL files."""

import contextlib
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.conftest import ROOT, SAMPLE_CSV
from tests.support.postgres import free_port
from tests.support.subprocess_run import run_module


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return run_module("inventory_panel.cli", *args, env=env, cwd=cwd, timeout=120)


def test_import_sample_prints_the_contract_json(db_url):
    result = run("--database-url", db_url, "import", str(SAMPLE_CSV), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == {
        "file": "sample_inventory.csv",
        "rows": 10,
        "inserted": 10,
        "updated": 0,
        "skipped": 0,
        "dry_run": False,
        "atomic": False,
        "errors": [],
        "warnings": [],
    }


def test_import_with_bad_rows_exits_1_and_writes_the_error_file(sqlite_url, tmp_path):
    source = tmp_path / "items.csv"
    source.write_text(
        "item_name,category,quantity,unit_price,colour\nDesk,Furniture,2,100,red\nChair,Furniture,-1,20,blue\n",
        encoding="utf-8",
    )
    errors_out = tmp_path / "errors.csv"
    result = run("--database-url", sqlite_url, "import", str(source), "--json", "--errors-out", str(errors_out))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert (report["rows"], report["inserted"], report["skipped"]) == (2, 1, 1)
    assert report["errors"] == [
        {"row": 3, "column": "quantity", "value": "-1", "message": "Quantity must be 0 or greater"}
    ]
    assert report["warnings"] == ["Unknown columns ignored: colour"]
    rejected = list(csv.DictReader(errors_out.open(encoding="utf-8")))
    assert rejected[0]["item_name"] == "Chair" and "Quantity must be 0 or greater" in rejected[0]["error"]


def test_refused_file_exits_2_with_error_json(sqlite_url, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_text("name,qty\nDesk,2\n", encoding="utf-8")
    result = run("--database-url", sqlite_url, "import", str(source), "--json")
    assert result.returncode == 2
    report = json.loads(result.stdout)
    assert report["inserted"] == 0 and "item_name" in report["error"]


def test_init_db_export_and_dry_run(sqlite_url, tmp_path):
    assert run("--database-url", sqlite_url, "init-db").returncode == 0
    dry = run("--database-url", sqlite_url, "import", str(SAMPLE_CSV), "--dry-run", "--json")
    assert json.loads(dry.stdout)["inserted"] == 10
    out = tmp_path / "export.csv"
    assert run("--database-url", sqlite_url, "export", "--output", str(out)).returncode == 0
    assert out.read_text(encoding="utf-8").count("\n") == 1  # dry run wrote nothing: header only
    assert run("--database-url", sqlite_url, "load-sample").returncode == 0
    stdout = run("--database-url", sqlite_url, "export", "--status", "out").stdout
    assert [r["item_name"] for r in csv.DictReader(stdout.splitlines())] == ["27-inch 4K Monitor"]


@pytest.mark.parametrize(
    "env, needle",
    [
        ({"INVENTORY_DATABASE_URL": "not a url"}, "INVENTORY_DATABASE_URL"),
        ({"INVENTORY_DATABASE_URL": "postgresql+psycopg2://u@127.0.0.1:1/x"}, "Cannot reach the database"),
        ({"INVENTORY_MAX_UPLOAD_MB": "big"}, "INVENTORY_MAX_UPLOAD_MB"),
    ],
)
def test_configuration_errors_are_one_line_not_a_traceback(env, needle, tmp_path):
    result = run("init-db", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_default_database_is_sqlite_in_the_working_directory(tmp_path):
    assert run("init-db", cwd=tmp_path).returncode == 0
    assert (tmp_path / "inventory.db").exists()


# -- failures are one line and exit 2, never a traceback ------------------------------------------------------------


def _one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + str(result.stdout), result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inventory-panel: "), result.stderr
    return lines[0]


def test_export_to_a_missing_folder_is_one_line_and_writes_nothing(db_url, tmp_path):
    target = tmp_path / "no such folder" / "items.csv"
    assert "does not exist" in _one_line(run("--database-url", db_url, "export", "--output", str(target)))
    errors_out = tmp_path / "gone" / "errors.csv"
    line = _one_line(run("--database-url", db_url, "import", str(SAMPLE_CSV), "--errors-out", str(errors_out)))
    assert "does not exist" in line
    assert run("--database-url", db_url, "export").stdout.count("\n") == 1  # refused before importing anything


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux) to simulate a full disk")
def test_export_to_a_full_disk_is_one_line(db_url):
    assert run("--database-url", db_url, "load-sample").returncode == 0
    line = _one_line(run("--database-url", db_url, "export", "--output", "/dev/full"))
    assert "No space left on device" in line and "incomplete" in line
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("INVENTORY_", "PG", "DATABRICKS_"))}
    with open("/dev/full", "w") as full:  # standard output on a full disk
        result = subprocess.run(
            [sys.executable, "-m", "inventory_panel.cli", "--database-url", db_url, "export"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
            timeout=120,
        )
    assert "standard output: No space left on device" in _one_line(result)


def test_bytes_that_are_not_utf8_in_arguments_and_file_names(db_url, tmp_path):
    """Python hands such bytes over as lone surrogates; no database can store those and stdout cannot print them."""
    cli = [sys.executable, "-m", "inventory_panel.cli", "--database-url", db_url]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVENTORY_", "PG", "DATABRICKS_"))}
    search = subprocess.run([*cli, "export", "--search", b"caf\xe9"], capture_output=True, text=True, env=env)
    assert "--search is not valid UTF-8" in _one_line(search)
    user = subprocess.run(
        [*cli, "--user", b"ana\xff@example.com", "load-sample"], capture_output=True, text=True, env=env
    )
    assert "--user is not valid UTF-8" in _one_line(user)
    source = Path(os.fsdecode(bytes(tmp_path) + b"/stock\xff.csv"))
    source.write_bytes(SAMPLE_CSV.read_bytes())
    result = subprocess.run([*cli, "import", os.fsencode(source), "--json"], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["file"] == "stock\ufffd.csv"


def test_every_typed_error_and_an_unexpected_one_are_one_line(monkeypatch, capsys, tmp_path):
    import inventory_panel.cli as cli
    from inventory_panel import errors

    raised = [
        errors.ConfigurationError("INVENTORY_X is bad"),
        errors.DatabaseUnavailableError("down"),
        errors.ValidationError({"a": "a is wrong", "b": "b is wrong"}),
        errors.NotFoundError(7),
        errors.ConflictError("changed"),
        errors.InsufficientStockError(1, 2, -3),
        errors.PermissionDeniedError("ana", "viewer", "export items"),
        errors.InvalidArgumentError({"x": "bad"}),
        errors.DatabaseBusyError(),
        RuntimeError("something\nunforeseen"),
    ]
    for exc in raised:

        def failing_connect(_args, exc=exc):
            raise exc

        monkeypatch.setattr(cli, "_connect", failing_connect)
        assert cli.main(["export", "--output", str(tmp_path / "out.csv")]) == 2, exc
        out, err = capsys.readouterr()
        assert len(err.strip().splitlines()) == 1 and err.startswith("inventory-panel: ") and not out, err


# -- serve ---------------------------------------------------------------------------------------------------------


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def test_serve_stopped_with_sigterm_leaves_no_server_holding_the_port(sqlite_url):
    """A supervisor stops `inventory-panel serve` with SIGTERM: the server itself must stop and free the port
    (a `panel serve` child of the process that got the signal survived it before, keeping the port)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVENTORY_", "PG", "DATABRICKS_", "BOKEH_"))}
    server = subprocess.Popen(
        [sys.executable, "-m", "inventory_panel.cli", "--database-url", sqlite_url, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=ROOT,
    )
    started: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 90
        while not _listening(port):
            assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        started = [psutil.Process(server.pid), *psutil.Process(server.pid).children(recursive=True)]
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
        deadline = time.monotonic() + 5
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _listening(port), "a server still holds the port after SIGTERM"
        assert not [p.pid for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    finally:
        for process in started:  # only what this test started, by pid
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        if server.poll() is None:
            server.kill()
            server.wait()
