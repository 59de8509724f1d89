"""Faults against a real PostgreSQL that is stopped, crashed and restarted during the tests.

The module runs its own server (not the session's ``pg_server``) so stopping it disturbs no other test. Every
failed action must say so with a ``DatabaseUnavailableError`` (one clear sentence) and leave nothing half-written;
the next action after the server is back must simply work.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import inventory_panel as ip
from inventory_panel.auth import make_user
from inventory_panel.cli import main as cli_main
from inventory_panel.errors import DatabaseFullError, DatabaseReadOnlyError, DatabaseUnavailableError
from inventory_panel.inventory import Inventory
from inventory_panel.settings import load_settings
from inventory_panel.storage import migrate
from inventory_panel.storage.audit import AuditWriter
from inventory_panel.storage.engines import create_database
from tests.conftest import SAMPLE_CSV
from tests.support.postgres import PostgresServer, free_port

pytestmark = pytest.mark.postgres

ITEM = {"item_name": "Pallet jack", "category": "Equipment", "quantity": 4, "unit_price": "310.00", "sku": "PJ-1"}


@pytest.fixture(scope="module")
def server() -> Iterator[PostgresServer]:
    srv = PostgresServer()
    # The shared test server trades durability for speed (asynchronous commit); a crash test needs what was
    # committed to survive a crash, exactly as on a production server.
    srv.execute("ALTER SYSTEM SET synchronous_commit TO on")
    srv.execute("SELECT pg_reload_conf()")
    yield srv
    srv.close()


@pytest.fixture
def running(server: PostgresServer) -> Iterator[PostgresServer]:
    """The module's server, guaranteed up at the start and at the end of the test whatever the test did to it."""
    _ensure_up(server)
    yield server
    _ensure_up(server)


def _ensure_up(server: PostgresServer) -> None:
    try:
        server.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - down (or crashed): bring it back for the next test
        server.start()


@pytest.fixture
def inv(running: PostgresServer) -> Iterator[Inventory]:
    url = running.create_database(f"f_{uuid.uuid4().hex[:10]}")
    inventory = ip.connect(url, user="ops@example.com", role="admin", settings=load_settings({}))
    yield inventory
    inventory.close()


def _snapshot(server: PostgresServer, inv: Inventory) -> dict[str, Any]:
    """Rows of every table, read through a brand-new connection (not the app's pool)."""
    engine = sa.create_engine(inv.db.engine.url)
    with engine.connect() as conn:
        data = {
            t.name: sorted(tuple(r) for r in conn.execute(sa.select(t)))
            for t in (inv.t.items, inv.t.movements, inv.t.audit)
        }
    engine.dispose()
    return data


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text
    return text


def test_restart_between_actions_is_invisible(running, inv):
    item = inv.add(ITEM)
    assert inv.query().total == 1  # the pool now holds connections to the old server process
    running.restart()
    assert inv.query().total == 1  # pre-ping noticed the dead connections and opened fresh ones
    assert inv.adjust_stock(item["id"], 2, "delivery")["quantity"] == 6


def test_while_the_server_is_down_every_action_says_so_and_the_next_one_works(running, inv):
    item = inv.add(ITEM)
    running.stop()
    with pytest.raises(DatabaseUnavailableError) as read_error:
        inv.query()
    with pytest.raises(DatabaseUnavailableError) as write_error:
        inv.adjust_stock(item["id"], 5, "delivery")
    with pytest.raises(DatabaseUnavailableError):
        inv.update(item["id"], {"quantity": 1}, version=item["version"])
    assert "try again" in _one_line(read_error.value)
    assert "nothing was saved" in _one_line(write_error.value)
    running.start()
    assert inv.get(item["id"])["quantity"] == 4  # none of the refused writes happened
    assert inv.adjust_stock(item["id"], 5, "delivery")["quantity"] == 9  # and the retry works first time


def test_connection_killed_in_the_middle_of_a_write_saves_nothing(running, inv, monkeypatch):
    item = inv.add(ITEM)
    before = _snapshot(running, inv)
    original = AuditWriter.record  # every audit row goes through the unit of work's audit writer

    def kill_then_audit(self, conn, *args, **kwargs):
        # The item row is already updated inside the transaction when the server drops the connection.
        running.execute(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{inv.db.engine.url.database}' AND pid <> pg_backend_pid()"
        )
        return original(self, conn, *args, **kwargs)

    monkeypatch.setattr(AuditWriter, "record", kill_then_audit)
    with pytest.raises(DatabaseUnavailableError, match="nothing was saved"):
        inv.adjust_stock(item["id"], 5, "delivery")
    monkeypatch.undo()
    assert _snapshot(running, inv) == before
    assert inv.adjust_stock(item["id"], 5, "delivery")["quantity"] == 9


def test_server_crash_in_the_middle_of_a_write_saves_nothing(running, inv, monkeypatch):
    item = inv.add(ITEM)
    before = _snapshot(running, inv)
    original = AuditWriter.record  # every audit row goes through the unit of work's audit writer

    def crash_then_audit(self, conn, *args, **kwargs):
        running.stop("immediate")  # like a power cut: no clean shutdown, recovery from the WAL on start
        return original(self, conn, *args, **kwargs)

    monkeypatch.setattr(AuditWriter, "record", crash_then_audit)
    with pytest.raises(DatabaseUnavailableError, match="nothing was saved"):
        inv.update(item["id"], {"unit_price": "1.00", "location": "Yard"}, version=item["version"])
    monkeypatch.undo()
    running.start()
    assert _snapshot(running, inv) == before
    assert inv.update(item["id"], {"location": "Yard"}, version=item["version"])["version"] == 2


def _csv(rows: int) -> bytes:
    lines = ["item_name,category,quantity,unit_price,sku"]
    lines += [f"Bolt M{i},Hardware,{i % 50},0.{i % 90 + 10},B-{i}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_server_crash_in_the_middle_of_an_import_leaves_nothing_half_written(running, inv):
    inv.add(ITEM)
    before = _snapshot(running, inv)
    stages: list[str] = []

    def progress(stage: str, _fraction: float, _message: str) -> None:
        stages.append(stage)
        if stage == "write" and stages.count("write") == 1:
            running.stop("immediate")  # the first chunk is written (uncommitted) when the server dies

    with pytest.raises(DatabaseUnavailableError) as exc:
        inv.import_csv(_csv(3000), progress=progress, file_name="bolts.csv")
    assert "nothing was saved" in _one_line(exc.value)
    running.start()
    assert _snapshot(running, inv) == before
    report = inv.import_csv(_csv(3000), file_name="bolts.csv")  # the same file again, now complete
    assert report.inserted == 3000 and inv.summary()["items"] == 3001


CRASHING_IMPORT = """
import os, sys, time
import inventory_panel as ip
from inventory_panel.settings import load_settings

inv = ip.connect(sys.argv[1], user="ops@example.com", role="admin", settings=load_settings({}))

def progress(stage, fraction, message):
    if stage == "write":
        print("WRITING", flush=True)
        time.sleep(60)  # killed here, in the middle of the import's transaction

inv.import_csv(sys.argv[2], progress=progress)
"""


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_killed_import_process_leaves_nothing_half_written(running, backend, tmp_path):
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'inventory.db'}"
    else:
        url = running.create_database(f"k_{uuid.uuid4().hex[:10]}")
    inv = ip.connect(url, user="ops@example.com", role="admin", settings=load_settings({}))
    inv.add(ITEM)
    source = tmp_path / "bolts.csv"
    source.write_bytes(_csv(3000))
    script = tmp_path / "crash.py"
    script.write_text(CRASHING_IMPORT)
    child = subprocess.Popen(
        [sys.executable, str(script), url, str(source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        assert child.stdout.readline().strip() == "WRITING", child.stderr.read()
        child.send_signal(signal.SIGKILL)  # a crash: no exception handler, no rollback by the client
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert inv.summary()["items"] == 1
    assert inv.audit_log().total == 1  # only the add: no import batch, no half of one
    assert inv.import_csv(source).inserted == 3000  # the SQLite write lock / PG row locks were released
    inv.close()


def test_connect_to_an_unreachable_database_is_one_clear_line():
    url = f"postgresql+psycopg2://app@127.0.0.1:{free_port()}/inventory"
    with pytest.raises(DatabaseUnavailableError) as exc:
        ip.connect(url, user="ops@example.com", settings=load_settings({}))
    message = _one_line(exc.value)
    assert message.startswith("Cannot reach the database (PostgreSQL · 127.0.0.1/inventory)")
    assert "Connection refused" in message


def test_cli_against_a_stopped_server_exits_2_with_one_line(running, inv, capsys, tmp_path):
    url = inv.db.engine.url.render_as_string(hide_password=False)
    running.stop()
    status = cli_main(["--database-url", url, "export", "--output", str(tmp_path / "out.csv")])
    out, err = capsys.readouterr()
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inventory-panel: Cannot reach the database"), err
    assert "Traceback" not in out + err and not (tmp_path / "out.csv").exists()


def test_wrong_password_is_reported_as_unavailable_not_as_a_traceback(running):
    running.execute(
        "DO $$ BEGIN CREATE ROLE wrongpw LOGIN PASSWORD 'right'; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
    )
    with pytest.raises(DatabaseUnavailableError) as exc:
        ip.connect(running.url_for("wrongpw", "wrong"), user="ops@example.com", settings=load_settings({}))
    assert "password authentication failed" in _one_line(exc.value)


def test_a_restart_with_an_expired_credential_fails_clearly_then_recovers_with_a_fresh_one(running):
    """Lakebase tokens expire: after a restart every connection logs in again with whatever the provider gives.

    (Rotation itself, against the fake workspace, is covered in test_databricks_lakebase.py; this is the fault
    side: an expired token after a restart is a clear "unavailable", and the fresh one heals the running app.)
    """
    role, database = f"sp_{uuid.uuid4().hex[:8]}", f"lb_{uuid.uuid4().hex[:8]}"
    tokens = {"current": "token-1"}
    running.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'token-1'")
    running.execute(f"CREATE DATABASE {database} OWNER {role}")
    issued: list[str] = []

    def provider() -> str:
        issued.append(tokens["current"])
        return tokens["current"]

    settings = load_settings({})
    url = f"postgresql+psycopg2://{role}@127.0.0.1:{running.port}/{database}"  # no password in the URL
    db = create_database(settings, url, password_provider=provider)
    migrate.upgrade(db)
    inv = Inventory(db, make_user("sp@example.com", settings, role="editor"), settings)
    item = inv.add(ITEM)

    # The credential expires (the server only accepts the new one) and the server restarts, dropping every session.
    running.execute(f"ALTER ROLE {role} PASSWORD 'token-2'")
    running.restart()
    with pytest.raises(DatabaseUnavailableError) as exc:
        inv.adjust_stock(item["id"], 1, "after the restart")
    assert "nothing was saved" in _one_line(exc.value)

    tokens["current"] = "token-2"  # the provider refreshes its credential
    assert inv.adjust_stock(item["id"], 1, "after the refresh")["quantity"] == 5
    assert issued[0] == "token-1" and issued[-1] == "token-2"
    assert inv.get(item["id"])["quantity"] == 5  # the refused adjustment was not applied on the side
    inv.close()


# -- a full disk and a read-only database through the CLI: one line, exit 2, nothing saved ------------------------


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INVENTORY_", "PG", "DATABRICKS_"))}
    return subprocess.run(
        [sys.executable, "-m", "inventory_panel.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )


def _one_cli_line(status: int, err: str) -> str:
    assert status == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inventory-panel: "), err
    return lines[0]


def _items(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        schema = "" if url.startswith("sqlite") else "inventory_app."
        count = conn.execute(sa.text(f"SELECT count(*) FROM {schema}inventory_items")).scalar_one()
    engine.dispose()
    return count


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_read_only_database_is_one_line_and_nothing_is_saved(running, backend, tmp_path):
    if backend == "sqlite":
        path = tmp_path / "inventory.db"
        ip.connect(f"sqlite:///{path}", settings=load_settings({})).close()
        # mode=ro: the read-only path SQLite takes for a file it may not write, which chmod cannot give root.
        url = f"sqlite:///file:{path}?mode=ro&uri=true"
        check_url = f"sqlite:///{path}"
    else:
        name = f"ro_{uuid.uuid4().hex[:10]}"
        url = check_url = running.create_database(name)
        ip.connect(url, settings=load_settings({})).close()
        # What a read replica or a database set read-only answers: SQLSTATE 25006 for every write.
        running.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    result = _cli("--database-url", url, "import", str(SAMPLE_CSV))
    assert "The database is read-only; nothing was saved." in _one_cli_line(result.returncode, result.stderr)
    # The API names it too, for a single write and for an import.
    inv = ip.connect(url, settings=load_settings({}), migrate_schema=False)
    try:
        with pytest.raises(DatabaseReadOnlyError, match="The database is read-only; nothing was saved"):
            inv.add(ITEM)
        with pytest.raises(DatabaseReadOnlyError):
            inv.import_csv(SAMPLE_CSV)
    finally:
        inv.close()
    assert _items(check_url) == 0


def _mount_tiny_tmpfs(folder: Path) -> None:
    folder.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"a full disk on PostgreSQL needs a 1 MB tmpfs, and mount failed: {result.stderr.strip()}")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_full_database_disk_is_one_line_and_nothing_is_saved(running, backend, tmp_path, monkeypatch, capsys):
    source = tmp_path / "bolts.csv"  # 20,000 rows, 2.5 MB of text: more than the 1 MB tablespace below
    source.write_text(
        "item_name,category,quantity,unit_price,description\n"
        + "".join(f"Bolt {i},Hardware,1,0.10,{'zinc plated ' * 10}\n" for i in range(20_000))
    )
    if backend == "sqlite":
        from inventory_panel.storage import engines

        url = f"sqlite:///{tmp_path / 'inventory.db'}"
        ip.connect(url, settings=load_settings({})).close()
        original = engines._sqlite_engine

        def no_room_to_grow(*args: Any, **kwargs: Any) -> sa.Engine:
            engine = original(*args, **kwargs)

            @sa.event.listens_for(engine, "connect")
            def _cap(dbapi_conn: Any, _record: Any) -> None:
                # The file may not grow past its size now (max_page_count is raised to the current page count):
                # the next page SQLite needs fails with SQLITE_FULL, "database or disk is full", as on a full disk.
                dbapi_conn.execute("PRAGMA max_page_count = 1")

            return engine

        monkeypatch.setattr(engines, "_sqlite_engine", no_room_to_grow)
        status = cli_main(["--database-url", url, "import", str(source)])
        line = _one_cli_line(status, capsys.readouterr().err)
        assert "The database is full (no space left on its disk); nothing was saved." in line
        inv = ip.connect(url, settings=load_settings({}), migrate_schema=False)
        try:
            with pytest.raises(DatabaseFullError):
                inv.import_csv(source)
            added = 0
            with pytest.raises(DatabaseFullError):  # single writes too, once the pages' free room is used up
                for i in range(100):
                    inv.add({**ITEM, "sku": f"PJ-{i}", "description": "zinc plated " * 150})
                    added += 1
        finally:
            inv.close()
        monkeypatch.undo()
        assert _items(url) == added  # the import wrote nothing, the add that met the full disk neither
        return
    name = f"full_{uuid.uuid4().hex[:10]}"
    url = running.create_database(name)
    ip.connect(url, settings=load_settings({})).close()
    folder = running.root / f"tiny_{name}"
    _mount_tiny_tmpfs(folder)
    try:
        shutil.chown(folder, user="pgserver")  # the server's system user (tests/support/postgres.py, as root)
        running.execute(f"CREATE TABLESPACE {name} LOCATION '{folder}'")
        running.execute(f"ALTER TABLE inventory_app.inventory_items SET TABLESPACE {name}", database=name)
        result = _cli("--database-url", url, "import", str(source))
        # 53100 "could not extend file", raised by the import's COPY: named, not "connection lost"
        assert "The database is full (no space left on its disk)" in _one_cli_line(result.returncode, result.stderr)
        inv = ip.connect(url, settings=load_settings({}), migrate_schema=False)
        try:
            with pytest.raises(DatabaseFullError):
                inv.import_csv(source)
        finally:
            inv.close()
        assert _items(url) == 0
    finally:
        with contextlib.suppress(Exception):
            running.execute("ALTER TABLE inventory_app.inventory_items SET TABLESPACE pg_default", database=name)
            running.execute(f"DROP TABLESPACE {name}")
        subprocess.run(["umount", str(folder)], check=False)
