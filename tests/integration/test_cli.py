"""The inventory-panel command as a user runs it: a real subprocess, real SQLite and PostgreSQL files."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_CSV


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("INVENTORY_", "PG", "DATABRICKS_"))}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "inventory_panel.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=120)


def test_import_sample_prints_the_contract_json(db_url):
    result = run("--database-url", db_url, "import", str(SAMPLE_CSV), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == {"file": "sample_inventory.csv", "rows": 10, "inserted": 10, "updated": 0, "skipped": 0,
                      "dry_run": False, "atomic": False, "errors": [], "warnings": []}


def test_import_with_bad_rows_exits_1_and_writes_the_error_file(sqlite_url, tmp_path):
    source = tmp_path / "items.csv"
    source.write_text("item_name,category,quantity,unit_price,colour\n"
                      "Desk,Furniture,2,100,red\n"
                      "Chair,Furniture,-1,20,blue\n", encoding="utf-8")
    errors_out = tmp_path / "errors.csv"
    result = run("--database-url", sqlite_url, "import", str(source), "--json", "--errors-out", str(errors_out))
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert (report["rows"], report["inserted"], report["skipped"]) == (2, 1, 1)
    assert report["errors"] == [{"row": 3, "column": "quantity", "value": "-1",
                                 "message": "quantity must be 0 or greater"}]
    assert report["warnings"] == ["Unknown columns ignored: colour"]
    rejected = list(csv.DictReader(errors_out.open(encoding="utf-8")))
    assert rejected[0]["item_name"] == "Chair" and "quantity must be 0 or greater" in rejected[0]["error"]


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


@pytest.mark.parametrize("env, needle", [
    ({"INVENTORY_DATABASE_URL": "not a url"}, "INVENTORY_DATABASE_URL"),
    ({"INVENTORY_DATABASE_URL": "postgresql+psycopg2://u@127.0.0.1:1/x"}, "Cannot reach the database"),
    ({"INVENTORY_MAX_UPLOAD_MB": "big"}, "INVENTORY_MAX_UPLOAD_MB"),
])
def test_configuration_errors_are_one_line_not_a_traceback(env, needle, tmp_path):
    result = run("init-db", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert needle in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_default_database_is_sqlite_in_the_working_directory(tmp_path):
    assert run("init-db", cwd=tmp_path).returncode == 0
    assert (tmp_path / "inventory.db").exists()
