"""Fixtures for browser tests: the app served by ``panel serve app.py`` and a headless Chromium.

``app_server_factory`` starts ``panel serve app.py`` (with the CLI's own ``serve_args``) on a free port against a
temporary database, waits until it answers, and always kills it at the end of the module. ``served_app`` is one
such server with the sample items, shared by a module's tests. ``browser`` is one Chromium per module; ``page``
is a fresh 1280×800 context per test, ``new_page`` makes more (a second person in the same app).
"""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import inventory_panel as ip
from bench.chromium import CHROMIUM_ARGS, VIEWPORT
from inventory_panel.cli import serve_args
from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CSV = ROOT / "inventory_panel" / "data" / "sample_inventory.csv"
START_TIMEOUT = 90.0
# Generous waits: CI machines (2 cores, several suites at once) can be slow; a passing check returns at once.
expect.set_options(timeout=15_000)


def seed_sample(inventory: ip.Inventory) -> int:
    """Add the rows of sample_inventory.csv one by one (independent of the CSV importer under test elsewhere)."""
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        inventory.add(row)
    return len(rows)


RUNNING: list[AppServer] = []  # the servers alive now, for the failure report below


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """When a browser test fails, add each running server's thread stacks and recent log to the report."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    for server in list(RUNNING):
        if server.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(server.process.pid, signal.SIGUSR1)  # app.py registers faulthandler for it
            time.sleep(1.0)
        tail = "\n".join(server.log().splitlines()[-300:])
        report.sections.append((f"panel serve on port {server.port} (log tail)", tail))


class AppServer:
    """One ``panel serve app.py`` subprocess on 127.0.0.1 and an admin ``Inventory`` on the same database."""

    def __init__(self, db_url: str, log_path: Path, env: dict[str, str] | None = None):
        self.db_url = db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/app"
        self.log_path = log_path
        self.inventory = ip.connect(db_url, user="admin@example.com", role="admin")
        # Not a Databricks App unless a test says so: the local user (INVENTORY_USER) is then an admin.
        full_env = {k: v for k, v in os.environ.items() if k != "DATABRICKS_APP_NAME"}
        full_env.update(
            {
                "INVENTORY_DATABASE_URL": db_url,
                "INVENTORY_USER": "tester@example.com",
                "PYTHONUNBUFFERED": "1",
                **(env or {}),
            }
        )
        cmd = [sys.executable, "-m", "panel", "serve", str(ROOT / "app.py"), *serve_args(self.port, "127.0.0.1")]
        self._start(cmd, full_env)

    def _start(self, cmd: list[str], env: dict[str, str], ready_headers: dict[str, str] | None = None) -> None:
        """Run ``cmd`` in its own process group, logging to ``log_path``, and wait until the page answers."""
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        RUNNING.append(self)
        try:
            self._wait_until_ready(ready_headers or {})
        except BaseException:
            self.close()
            raise

    def _wait_until_ready(self, headers: dict[str, str]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        request = urllib.request.Request(self.url, headers=headers)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"panel serve exited with {self.process.returncode}:\n{self.log()}")
            try:
                # The first page builds a whole session; on a loaded machine that can take a while.
                with urllib.request.urlopen(request, timeout=max(1.0, deadline - time.monotonic())) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.25)
        raise RuntimeError(f"panel serve did not answer within {START_TIMEOUT:.0f} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def close(self) -> None:
        if self in RUNNING:
            RUNNING.remove(self)
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log.close()
        self.inventory.close()


@pytest.fixture(scope="module")
def app_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., AppServer]]:
    """``make(db_url=None, env=None, seed=False)``: a served app on a fresh SQLite file unless ``db_url`` is given."""
    servers: list[AppServer] = []

    def make(db_url: str | None = None, env: dict[str, str] | None = None, seed: bool = False) -> AppServer:
        workdir = tmp_path_factory.mktemp("app")
        db_url = db_url or f"sqlite:///{workdir / 'inventory.db'}"
        if seed:
            seeder = ip.connect(db_url, user="admin@example.com", role="admin")
            try:
                seed_sample(seeder)
            finally:
                seeder.close()
        server = AppServer(db_url, workdir / "server.log", env)
        servers.append(server)
        return server

    yield make
    broken = []
    for server in servers:
        log = server.log()
        server.close()
        # app.py failing after the page was made (say, in its session hooks) leaves the page working: catch it here.
        if "Error running application handler" in log:
            broken.append(log[log.index("Error running application handler") :][:3000])
    assert not broken, "app.py raised in a session:\n" + "\n".join(broken)


@pytest.fixture(scope="module")
def served_app(app_server_factory: Callable[..., AppServer]) -> AppServer:
    """The app with the ten sample items, shared by the tests of one module."""
    return app_server_factory(seed=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[[], Any]]:
    """Make pages, each in its own browser context (its own app session); all closed after the test."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Any]) -> Any:
    return new_page()


def open_app(page: Any, server: AppServer) -> Any:
    """Load the app and wait until its first data is on screen (the summary cards are rendered with data)."""
    page.goto(server.url)
    page.locator('[data-card="items"]').wait_for()
    return page
